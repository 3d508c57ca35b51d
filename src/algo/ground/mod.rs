//! Ground classification: noise flagging, then one of the ground filters on the last and single
//! returns, written back as LAS classes (2 ground, 7 noise, 1 the rest).
//!
//! * [`noise`]: statistical outlier removal (k nearest neighbours) and isolated voxels (class 7);
//! * [`smrf`]: the Simple Morphological Filter (Pingel et al. 2013);
//! * [`csf`]: the Cloth Simulation Filter (Zhang et al. 2016);
//! * [`auto`]: the default, which measures the data (terrain slope and roughness, density,
//!   canopy, objects) and sets the filter up from it;
//! * [`eval`]: Type I / Type II / total error and Cohen's kappa against reference labels.
//!
//! The entry point is [`classify_ground`], configured by a [`GroundConfig`] (the `[ground]`
//! section of the run configuration):
//!
//! ```toml
//! [ground]
//! method = "auto"          # or "csf", "smrf", or a table: [ground.method.smrf] slope = 0.2
//! last_returns = true      # only last and single returns can be ground (lidR's default)
//! keep_classes = false     # keep existing non-ground classes instead of resetting them to 1
//! [ground.noise]
//! method = "ivf"           # none | sor | ivf | both
//! ```
//!
//! See also: `crate::algo::terrain` (DTM and height normalisation from the ground points).

pub mod auto;
pub mod csf;
pub mod eval;
pub mod noise;
pub mod smrf;
pub mod surface;

pub use auto::Auto;
pub use csf::{Csf, CsfMoves};
pub use noise::{Ivf, NoiseConfig, NoiseMethod, Sor};
pub use smrf::Smrf;
pub use surface::{CellGrid, Shape, Surface};

use crate::points::{class, flag, PointCloud};
use crate::{Error, Result};

/// What a ground filter returns for the points it was given.
#[derive(Debug, Clone, Default)]
pub struct FilterOutput {
    /// `true` for bare-earth points, in input order.
    pub ground: Vec<bool>,
    /// The filter's bare-earth surface (SMRF: provisional DEM; CSF: the cloth), if any.
    pub surface: Option<Surface>,
}

impl FilterOutput {
    /// The output for no points.
    pub fn empty() -> Self {
        FilterOutput::default()
    }
}

/// The ground filter and its parameters.
///
/// In TOML either a name (`method = "smrf"`, the method's defaults) or a table naming the
/// method with its parameters (`[ground.method.csf]` then `cloth_resolution_m = 0.5`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroundMethod {
    /// Chooses method and parameters from the data (the default).
    Auto(Auto),
    /// Cloth Simulation Filter.
    Csf(Csf),
    /// Simple Morphological Filter.
    Smrf(Smrf),
}

impl Default for GroundMethod {
    fn default() -> Self {
        GroundMethod::Auto(Auto::default())
    }
}

impl GroundMethod {
    /// The method's name: `auto`, `csf` or `smrf`.
    pub fn name(&self) -> &'static str {
        match self {
            GroundMethod::Auto(_) => "auto",
            GroundMethod::Csf(_) => "csf",
            GroundMethod::Smrf(_) => "smrf",
        }
    }

    /// The method called `name` with its default parameters.
    pub fn from_name(name: &str) -> Result<GroundMethod> {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Ok(GroundMethod::Auto(Auto::default())),
            "csf" => Ok(GroundMethod::Csf(Csf::default())),
            "smrf" => Ok(GroundMethod::Smrf(Smrf::default())),
            other => Err(Error::Config(format!(
                "unknown ground method '{other}' (expected auto, csf or smrf)"
            ))),
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        match self {
            GroundMethod::Auto(a) => a.validate(),
            GroundMethod::Csf(c) => c.validate(),
            GroundMethod::Smrf(s) => s.validate(),
        }
    }

    /// Runs the filter on the points `(x, y, z)` (the candidates). Returns its output and a
    /// one-line description of what ran (for [`GroundReport::method`]).
    pub fn run(&self, x: &[f64], y: &[f64], z: &[f64]) -> Result<(FilterOutput, String)> {
        match self {
            GroundMethod::Auto(a) => a.classify(x, y, z),
            GroundMethod::Csf(c) => Ok((c.classify(x, y, z)?, format!("csf {c:?}"))),
            GroundMethod::Smrf(s) => Ok((s.classify(x, y, z)?, format!("smrf {s:?}"))),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum TaggedMethod {
    Auto(Auto),
    Csf(Csf),
    Smrf(Smrf),
}

impl<'de> serde::Deserialize<'de> for GroundMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = GroundMethod;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "\"auto\", \"csf\", \"smrf\" or a table { auto | csf | smrf = { ... } }",
                )
            }
            fn visit_str<E: serde::de::Error>(
                self,
                s: &str,
            ) -> std::result::Result<Self::Value, E> {
                GroundMethod::from_name(s).map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let t: TaggedMethod = serde::Deserialize::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(match t {
                    TaggedMethod::Auto(a) => GroundMethod::Auto(a),
                    TaggedMethod::Csf(c) => GroundMethod::Csf(c),
                    TaggedMethod::Smrf(s) => GroundMethod::Smrf(s),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// The `[ground]` section: how ground is classified.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroundConfig {
    /// The filter (default: auto).
    pub method: GroundMethod,
    /// Only last and single returns can be ground (true, as lidR's `last_returns = TRUE` and
    /// PDAL's `returns = "last,only"`).
    pub last_returns: bool,
    /// Keep existing classes other than ground (and unclassified) on non-ground points instead
    /// of setting them to 1; existing noise (7, 18) is then also kept out of the filter.
    pub keep_classes: bool,
    /// Noise flagging before the filter.
    pub noise: NoiseConfig,
}

impl Default for GroundConfig {
    fn default() -> Self {
        GroundConfig {
            method: GroundMethod::default(),
            last_returns: true,
            keep_classes: false,
            noise: NoiseConfig::default(),
        }
    }
}

impl GroundConfig {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        self.method.validate()?;
        self.noise.validate()
    }
}

/// What [`classify_ground`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GroundReport {
    /// Points in the cloud.
    pub n_points: usize,
    /// Points given to the ground filter.
    pub n_candidates: usize,
    /// Points classified ground.
    pub n_ground: usize,
    /// Points classified noise (class 7), including kept earlier noise.
    pub n_noise: usize,
    /// What ran, with the parameters it used (for `auto`: the ones it chose).
    pub method: String,
    /// Seconds spent in the ground filter itself (candidates in memory → ground flags).
    pub filter_s: f64,
    /// Conditions worth a user's attention (also logged as warnings).
    pub warnings: Vec<String>,
    /// The filter's bare-earth surface, if it made one.
    #[serde(skip)]
    pub surface: Option<Surface>,
}

impl GroundReport {
    fn warn(&mut self, msg: String) {
        log::warn!("{msg}");
        self.warnings.push(msg);
    }
}

/// Largest share of points the noise filter may flag before its flags are dismissed.
const MAX_NOISE_SHARE: f64 = 0.2;

fn is_noise_class(c: u8) -> bool {
    c == class::NOISE || c == class::HIGH_NOISE
}

/// Classifies ground in `cloud`: class 2 for ground, 7 for noise, 1 for the rest (or, with
/// `keep_classes`, the existing class when it is neither ground nor unclassified). No other
/// attribute changes.
///
/// Degenerate inputs get a warning in the report and a sensible result: no last returns (all
/// returns are then candidates), fewer than 3 candidates (all of them ground), all points at one
/// height (all ground); an empty cloud is returned unchanged.
pub fn classify_ground(cloud: &mut PointCloud, cfg: &GroundConfig) -> Result<GroundReport> {
    cfg.validate()?;
    let n = cloud.len();
    let mut report = GroundReport {
        n_points: n,
        method: cfg.method.name().to_string(),
        ..Default::default()
    };
    if n == 0 {
        report.warn("ground: the point cloud is empty; nothing to classify".into());
        return Ok(report);
    }
    // Column-wise passes (zipped, no per-point bounds checks): these per-point preliminaries
    // cost as much as a quarter of the filter otherwise.
    let finite: Vec<bool> = cloud
        .x
        .iter()
        .zip(&cloud.y)
        .zip(&cloud.z)
        .map(|((x, y), z)| x.is_finite() && y.is_finite() && z.is_finite())
        .collect();

    // 1. Noise.
    let mut noise: Vec<bool> = if cfg.keep_classes {
        cloud
            .classification
            .iter()
            .map(|&c| is_noise_class(c))
            .collect()
    } else {
        vec![false; n]
    };
    let detected = noise::detect(&cfg.noise, &cloud.x, &cloud.y, &cloud.z, &finite)?;
    let n_detected = detected.iter().filter(|&&d| d).count();
    let n_finite = finite.iter().filter(|&&f| f).count();
    if n_detected as f64 > MAX_NOISE_SHARE * n_finite as f64 {
        // Noise is rare by definition: this many flags means the data is too sparse (or too
        // small) for the noise filter's scale, not that it is noise.
        report.warn(format!(
            "ground: the noise filter flagged {n_detected} of {n_finite} points, more than noise can be; the data is too sparse for it, so no point is flagged"
        ));
    } else {
        for (f, d) in noise.iter_mut().zip(&detected) {
            *f |= d;
        }
    }

    // Noise detection and the filter are the long steps: a cancelled job stops in between.
    crate::job::check()?;

    // 2. Candidates.
    let is_usable: Vec<bool> = finite
        .iter()
        .zip(&noise)
        .zip(&cloud.flags)
        .map(|((&f, &noise), &fl)| f && !noise && fl & flag::WITHHELD == 0)
        .collect();
    let usable = |i: usize| is_usable[i];
    let mut cand: Vec<usize> = if cfg.last_returns {
        (0..n)
            .zip(cloud.last_returns())
            .filter(|&(i, l)| l && usable(i))
            .map(|(i, _)| i)
            .collect()
    } else {
        (0..n).filter(|&i| usable(i)).collect()
    };
    if cand.is_empty() && cfg.last_returns {
        cand = (0..n).filter(|&i| usable(i)).collect();
        if !cand.is_empty() {
            report.warn(format!(
                "ground: none of the {n} points is a last or single return (return numbers look invalid); using all returns"
            ));
        }
    }
    report.n_candidates = cand.len();

    // 3. Filter.
    let mut is_ground = vec![false; n];
    if cand.is_empty() {
        report.warn(format!(
            "ground: no point of {n} can be ground (all noise, withheld or non-finite)"
        ));
    } else {
        let (x, y, z) = (&cloud.x[..n], &cloud.y[..n], &cloud.z[..n]);
        let x: Vec<f64> = cand.iter().map(|&i| x[i]).collect();
        let y: Vec<f64> = cand.iter().map(|&i| y[i]).collect();
        let z: Vec<f64> = cand.iter().map(|&i| z[i]).collect();
        let (zlo, zhi) = z
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if cand.len() < 3 {
            report.warn(format!(
                "ground: only {} candidate points; all of them are taken as ground",
                cand.len()
            ));
            for &i in &cand {
                is_ground[i] = true;
            }
        } else if zhi - zlo < 1e-6 {
            report.warn(format!(
                "ground: all {} candidate points lie at one height ({zlo}); all are taken as ground",
                cand.len()
            ));
            for &i in &cand {
                is_ground[i] = true;
            }
        } else {
            let t0 = std::time::Instant::now();
            let (out, what) = cfg.method.run(&x, &y, &z)?;
            report.filter_s = t0.elapsed().as_secs_f64();
            report.method = what;
            for (k, &i) in cand.iter().enumerate() {
                is_ground[i] = out.ground[k];
            }
            report.surface = out.surface;
            let ng = out.ground.iter().filter(|&&g| g).count();
            if ng == 0 {
                report.warn(format!(
                    "ground: the filter found no ground among {} candidates",
                    cand.len()
                ));
            }
        }
    }

    // 4. Classes.
    for ((c, &ground), &noise) in cloud.classification.iter_mut().zip(&is_ground).zip(&noise) {
        *c = if ground {
            class::GROUND
        } else if noise {
            class::NOISE
        } else if cfg.keep_classes
            && !matches!(*c, class::CREATED | class::UNCLASSIFIED | class::GROUND)
        {
            *c
        } else {
            class::UNCLASSIFIED
        };
    }
    report.n_ground = is_ground.iter().filter(|&&g| g).count();
    report.n_noise = noise.iter().filter(|&&g| g).count();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate, SynthParams};

    fn cloud_from(pts: &[(f64, f64, f64)]) -> PointCloud {
        let (mut c, _) = generate(&SynthParams {
            size_m: [1.0, 1.0],
            pulses_per_m2: 0.0,
            ..SynthParams::default()
        });
        for &(x, y, z) in pts {
            c.x.push(x);
            c.y.push(y);
            c.z.push(z);
            c.intensity.push(100);
            c.return_number.push(1);
            c.number_of_returns.push(1);
            c.classification.push(1);
            c.flags.push(0);
            c.scanner_channel.push(0);
            c.scan_angle_deg.push(0.0);
            c.user_data.push(7);
            c.point_source_id.push(3);
            c.is_buffer.push(false);
            if let Some(g) = &mut c.gps_time {
                g.push(0.0);
            }
        }
        c
    }

    #[test]
    fn synthetic_forest_ground_is_found_and_only_classes_change() {
        let (truth, _) = generate(&SynthParams::default());
        for method in [
            GroundMethod::default(),
            GroundMethod::Smrf(Smrf::default()),
            GroundMethod::Csf(Csf::default()),
        ] {
            let mut c = truth.clone();
            let cfg = GroundConfig {
                method: method.clone(),
                ..GroundConfig::default()
            };
            let rep = classify_ground(&mut c, &cfg).unwrap();
            let e =
                eval::Confusion::from_classes(&truth.classification, &c.classification).unwrap();
            // Measured: total error 0.00 % (auto, smrf) and 0.01 % (csf) on this easy scene
            // (10 pulses/m², 150 trees/ha, smooth terrain).
            assert!(
                e.total() < 0.002,
                "{}: total error {:.4}",
                method.name(),
                e.total()
            );
            assert_eq!(rep.n_points, truth.len());
            assert!(rep.surface.is_some() && rep.filter_s >= 0.0);
            assert_eq!(
                (c.x == truth.x, c.y == truth.y, c.z == truth.z),
                (true, true, true)
            );
            assert_eq!(c.intensity, truth.intensity);
            assert_eq!(c.return_number, truth.return_number);
            assert_eq!(c.gps_time, truth.gps_time);
            assert!(c.classification.iter().all(|&k| k == 1 || k == 2 || k == 7));
        }
    }

    #[test]
    fn keep_classes_keeps_other_classes_and_noise() {
        let (mut c, _) = generate(&SynthParams {
            size_m: [40.0, 40.0],
            ..SynthParams::default()
        });
        // Mark some canopy points as buildings (6) and one as noise (7).
        let canopy: Vec<usize> = (0..c.len()).filter(|&i| c.classification[i] == 5).collect();
        for &i in &canopy[..10] {
            c.classification[i] = 6;
        }
        c.classification[canopy[10]] = 7;
        let mut kept = c.clone();
        classify_ground(
            &mut kept,
            &GroundConfig {
                keep_classes: true,
                ..GroundConfig::default()
            },
        )
        .unwrap();
        for &i in &canopy[..10] {
            assert_eq!(kept.classification[i], 6);
        }
        assert_eq!(kept.classification[canopy[10]], 7);
        let mut reset = c.clone();
        classify_ground(&mut reset, &GroundConfig::default()).unwrap();
        assert!(canopy[..11].iter().all(|&i| reset.classification[i] == 1));
    }

    #[test]
    fn degenerate_inputs_warn_and_give_sensible_classes() {
        let cfg = GroundConfig::default();
        // Empty.
        let mut c = cloud_from(&[]);
        let r = classify_ground(&mut c, &cfg).unwrap();
        assert_eq!((r.n_points, r.warnings.len()), (0, 1));
        // Two points: both ground.
        let mut c = cloud_from(&[(0.0, 0.0, 10.0), (1.0, 1.0, 10.5)]);
        let r = classify_ground(&mut c, &cfg).unwrap();
        assert_eq!(c.classification, vec![2, 2]);
        assert!(!r.warnings.is_empty());
        // A flat roof alone (all at one height): all ground, with a warning.
        let pts: Vec<_> = (0..400)
            .map(|i| ((i % 20) as f64, (i / 20) as f64, 25.0))
            .collect();
        let mut c = cloud_from(&pts);
        let r = classify_ground(&mut c, &cfg).unwrap();
        assert!(c.classification.iter().all(|&k| k == 2));
        assert!(r.warnings.iter().any(|w| w.contains("one height")));
        // No last return (every point says "return 1 of 2"): all returns are used, with a warning.
        let pts: Vec<_> = (0..400)
            .map(|i| {
                (
                    (i % 20) as f64,
                    (i / 20) as f64,
                    5.0 + 0.01 * (i % 7) as f64,
                )
            })
            .collect();
        let mut c = cloud_from(&pts);
        c.number_of_returns.iter_mut().for_each(|n| *n = 2);
        let r = classify_ground(&mut c, &cfg).unwrap();
        assert!(r.warnings.iter().any(|w| w.contains("last")));
        assert!(c.classification.iter().filter(|&&k| k == 2).count() > 390);
        // A handful of scattered points: the noise filter would flag them all; it is dismissed.
        let pts = [
            (0.0, 0.0, 1.0),
            (30.0, 0.0, 1.2),
            (0.0, 30.0, 0.9),
            (30.0, 30.0, 1.1),
            (15.0, 15.0, 1.0),
        ];
        let mut c = cloud_from(&pts);
        let r = classify_ground(&mut c, &cfg).unwrap();
        assert_eq!(r.n_noise, 0);
        assert!(c.classification.iter().all(|&k| k == 2));
        // Every surface is finite.
        for m in [
            GroundMethod::default(),
            GroundMethod::Csf(Csf::default()),
            GroundMethod::Smrf(Smrf::default()),
        ] {
            let mut c = cloud_from(&pts);
            let r = classify_ground(
                &mut c,
                &GroundConfig {
                    method: m,
                    ..cfg.clone()
                },
            )
            .unwrap();
            if let Some(s) = r.surface {
                assert!(s.z.iter().all(|v| v.is_finite()));
            }
        }
    }

    #[test]
    fn method_parses_from_a_name_or_a_table() {
        #[derive(serde::Deserialize)]
        struct W {
            ground: GroundConfig,
        }
        let w: W = toml::from_str("[ground]\nmethod = \"csf\"\n").unwrap();
        assert_eq!(w.ground.method, GroundMethod::Csf(Csf::default()));
        let w: W = toml::from_str("[ground.method.smrf]\nslope = 0.3\n").unwrap();
        assert_eq!(
            w.ground.method,
            GroundMethod::Smrf(Smrf {
                slope: 0.3,
                ..Smrf::default()
            })
        );
        assert!(toml::from_str::<W>("[ground.method.smrf]\nslop = 0.3\n").is_err());
        assert!(toml::from_str::<W>("[ground]\nmethod = \"pmf\"\n").is_err());
        let w: W = toml::from_str("[ground]\n").unwrap();
        assert_eq!(w.ground, GroundConfig::default());
        // Round trip.
        let cfg = GroundConfig {
            method: GroundMethod::Csf(Csf {
                rigidness: 1,
                ..Csf::default()
            }),
            ..GroundConfig::default()
        };
        #[derive(serde::Serialize, serde::Deserialize)]
        struct W2 {
            ground: GroundConfig,
        }
        let text = toml::to_string(&W2 {
            ground: cfg.clone(),
        })
        .unwrap();
        let back: W2 = toml::from_str(&text).unwrap();
        assert_eq!(back.ground, cfg);
    }
}
