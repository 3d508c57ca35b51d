//! Where the vegetation, CHM and tree commands take each point's height above ground from
//! (the `[heights]` configuration section, `--heights` on the command line).
//!
//! * `auto` (default): the `HeightAboveGround` extra-bytes dimension when the file has one
//!   (written by `landcarbon normalize --as-extra-bytes`), else the ground surface of the
//!   chunk's own ground points, else Z as it is (with a warning: the data must then already be
//!   normalized);
//! * `ground` (alias `ground-tin`): the ground surface of the terrain module
//!   ([`crate::algo::terrain`]) built from the ground classes and method of the `[normalize]`
//!   section (lidR `tin()` by default: Delaunay TIN of class 2, kNN-IDW outside the hull),
//!   exactly as `landcarbon normalize` does it, and independent of the chunking;
//! * `z`: Z is already the height (normalized files such as lidR's MixedConifer);
//! * `dim:NAME`: an extra-bytes dimension.
//!
//! Points where the ground is undefined (no ground point within the IDW reach) get a NaN
//! height here; the canopy code skips them and vegetation classification leaves their class.
//!
//! See also: [`crate::algo::terrain::normalize`].

use crate::algo::terrain::{ground_mask, CloudGround, NormalizeOptions, HAG_NAME};
use crate::points::PointCloud;
use crate::{Error, Result};

/// The height source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HeightSource {
    /// `HeightAboveGround` if present, else the ground surface, else Z.
    #[default]
    Auto,
    /// Z is already height above ground.
    Z,
    /// The terrain module's ground surface of the chunk's ground points.
    Ground,
    /// An extra-bytes dimension holding heights.
    Dim(String),
}

impl std::str::FromStr for HeightSource {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let l = s.to_ascii_lowercase();
        match l.as_str() {
            "auto" => Ok(HeightSource::Auto),
            "z" => Ok(HeightSource::Z),
            "ground" | "ground-tin" | "ground_tin" | "tin" => Ok(HeightSource::Ground),
            _ if l.starts_with("dim:") && s.len() > 4 => Ok(HeightSource::Dim(s[4..].to_string())),
            _ => Err(format!(
                "unknown height source '{s}' (auto, z, ground or dim:NAME)"
            )),
        }
    }
}

impl std::fmt::Display for HeightSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeightSource::Auto => write!(f, "auto"),
            HeightSource::Z => write!(f, "z"),
            HeightSource::Ground => write!(f, "ground"),
            HeightSource::Dim(n) => write!(f, "dim:{n}"),
        }
    }
}

/// The `[heights]` configuration section: `source = "auto" | "z" | "ground" | "dim:NAME"`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeightsConfig {
    #[serde(with = "source_serde")]
    pub source: HeightSource,
}

mod source_serde {
    use super::HeightSource;
    pub fn serialize<S: serde::Serializer>(h: &HeightSource, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&h.to_string())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<HeightSource, D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Heights above the ground surface of `cloud`'s own ground points (classes and method of
/// `normalize`); NaN where the surface is undefined.
pub fn heights_from_ground(cloud: &PointCloud, normalize: &NormalizeOptions) -> Result<Vec<f64>> {
    normalize.validate()?;
    let mask = ground_mask(cloud, &normalize.ground_classes);
    let g = CloudGround::build(cloud, &mask, &normalize.method())?.z_under(cloud);
    let mut n_undefined = 0usize;
    let h: Vec<f64> = g
        .into_iter()
        .zip(&cloud.z)
        .map(|(g, &z)| match g {
            Some(g) => z - g,
            None => {
                n_undefined += 1;
                f64::NAN
            }
        })
        .collect();
    if n_undefined > 0 {
        log::warn!(
            "{n_undefined} of {} points have no ground within reach: no height, left out of the canopy",
            cloud.len()
        );
    }
    Ok(h)
}

/// Heights above ground of every point of `cloud` from `source` (see the module doc).
pub fn heights(
    cloud: &PointCloud,
    source: &HeightSource,
    normalize: &NormalizeOptions,
) -> Result<Vec<f64>> {
    match source {
        HeightSource::Z => Ok(cloud.z.clone()),
        HeightSource::Ground => heights_from_ground(cloud, normalize),
        HeightSource::Dim(name) => cloud.extra.get_f64(name).ok_or_else(|| {
            Error::data(
                cloud
                    .meta
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "height above ground".into()),
                format!("no extra-bytes dimension '{name}' to read heights above ground from"),
            )
        }),
        HeightSource::Auto => {
            if let Some(h) = cloud.extra.get_f64(HAG_NAME) {
                return Ok(h);
            }
            let n_ground = ground_mask(cloud, &normalize.ground_classes)
                .iter()
                .filter(|g| **g)
                .count();
            if n_ground > 0 {
                heights_from_ground(cloud, normalize)
            } else {
                log::warn!(
                    "{}: no {HAG_NAME} dimension and no ground point (classes {:?}): using Z as height above ground",
                    cloud
                        .meta
                        .path
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "points".into()),
                    normalize.ground_classes
                );
                Ok(cloud.z.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::class;
    use crate::synth::{generate, SynthParams};

    #[test]
    fn synthetic_heights_from_the_ground_surface() {
        let p = SynthParams {
            size_m: [40.0, 40.0],
            ..Default::default()
        };
        let (c, trees) = generate(&p);
        let h = heights(&c, &HeightSource::Auto, &NormalizeOptions::default()).unwrap();
        // Ground points are at 0 (the TIN passes through them); the tallest crown return is
        // close to the tallest tree.
        for (hi, &cl) in h.iter().zip(&c.classification) {
            if cl == class::GROUND {
                assert!(hi.abs() < 1e-9, "ground height {hi}");
            }
        }
        let hmax = h.iter().cloned().fold(f64::MIN, f64::max);
        let tmax = trees.iter().map(|t| t.height_m).fold(f64::MIN, f64::max);
        assert!((hmax - tmax).abs() < 0.5, "{hmax} vs {tmax}");
        // Z and a named dimension.
        assert_eq!(
            heights(&c, &HeightSource::Z, &NormalizeOptions::default()).unwrap(),
            c.z
        );
        let mut d = c.clone();
        d.extra.set_f64(HAG_NAME, &h, "hag");
        let back = heights(&d, &HeightSource::Auto, &NormalizeOptions::default()).unwrap();
        assert_eq!(back, h);
        assert!(heights(
            &c,
            &"dim:nope".parse().unwrap(),
            &NormalizeOptions::default()
        )
        .is_err());
        assert_eq!(
            "ground-tin".parse::<HeightSource>(),
            Ok(HeightSource::Ground)
        );
    }
}
