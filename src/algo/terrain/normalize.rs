//! Height normalization: height above ground `HAG = z − ground(x, y)` for every point.
//!
//! The ground elevation comes either from a [`GroundSurface`] built from the cloud's own ground
//! points (TIN by default, or kNN-IDW; exact at ground points) or from a DTM raster by bilinear
//! interpolation between cell centres ([`GroundReference`]). The result is written either as the
//! points' `z` (a normalized copy, [`HagOutput::Z`]) or as a new `f64` extra-bytes dimension
//! [`HAG_NAME`] = `HeightAboveGround` ([`HagOutput::ExtraBytes`]), `z` left as it was.
//!
//! Choices, stated:
//! * ground points get `z − surface(x, y)` like lidR, which with the TIN (or IDW) is exactly
//!   `0.0` at every ground point, since the surface passes through them; the exceptions are
//!   ground points sharing their `(x, y)` with a lower ground point (merged away, see
//!   [`super::dedupe_lowest`]), which get their height above it. From a DTM raster ground
//!   points get the raster's residual, not 0;
//! * points below the surface keep their negative height (lidR does the same); clamp or
//!   classify them as noise downstream if needed;
//! * points where the surface is undefined (no ground within `rmax_m`, or outside / on nodata of
//!   the DTM raster) cannot be normalized: by default that is an error naming how many (lidR's
//!   `na.rm = FALSE`); with `drop_unnormalized` they are removed with a warning (lidR's
//!   `na.rm = TRUE`). No NaN is ever written.
//!
//! Parameters ([`NormalizeOptions`], config section `[normalize]`): `method = "tin"`,
//! `ground_classes = [2]`, `[normalize.tin]`, `[normalize.idw]` (lidR defaults), `dtm` (a DTM
//! raster to use instead), `as_extra_bytes = false`, `drop_unnormalized = false`,
//! `format = "laz"`.
//!
//! References: lidR `normalize_height(las, tin())`; PDAL `filters.hag_delaunay`,
//! `filters.hag_dem`; LAStools `lasheight`.
//!
//! See also: [`super::dtm`], [`super::tin`].

use super::{DtmMethod, GroundSurface, Idw, SurfaceKind, Tin};
use crate::points::PointCloud;
use crate::raster::Raster;
use crate::{Error, Result};
use rayon::prelude::*;
use std::path::PathBuf;

/// Name of the extra-bytes dimension holding the height above ground.
pub const HAG_NAME: &str = "HeightAboveGround";

/// Normalization options (config section `[normalize]`). Defaults: lidR
/// `normalize_height(las, tin())`, ground class 2, heights written as `z`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeOptions {
    /// `tin` or `idw` (ignored when `dtm` is given).
    pub method: SurfaceKind,
    /// Classes taken as ground (2; add 9 for water surfaces).
    pub ground_classes: Vec<u8>,
    /// TIN parameters.
    pub tin: Tin,
    /// IDW parameters.
    pub idw: Idw,
    /// A DTM raster to subtract (bilinear) instead of a surface from the ground points.
    pub dtm: Option<PathBuf>,
    /// Write the height as the extra-bytes dimension `HeightAboveGround` instead of as `z`.
    pub as_extra_bytes: bool,
    /// Remove points that cannot be normalized instead of failing.
    pub drop_unnormalized: bool,
    /// Output format for folder outputs: `laz` or `las`.
    pub format: String,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions {
            method: SurfaceKind::Tin,
            ground_classes: super::DEFAULT_GROUND_CLASSES.to_vec(),
            tin: Tin::default(),
            idw: Idw::default(),
            dtm: None,
            as_extra_bytes: false,
            drop_unnormalized: false,
            format: "laz".to_string(),
        }
    }
}

impl NormalizeOptions {
    /// The configured surface method with its parameters.
    pub fn method(&self) -> DtmMethod {
        self.method.with(self.tin, self.idw)
    }

    /// How heights are written.
    pub fn output(&self) -> HagOutput {
        if self.as_extra_bytes {
            HagOutput::ExtraBytes
        } else {
            HagOutput::Z
        }
    }

    /// Checks the options are usable.
    pub fn validate(&self) -> Result<()> {
        if self.ground_classes.is_empty() && self.dtm.is_none() {
            return Err(Error::Config("normalize: ground_classes is empty".into()));
        }
        if self.format != "laz" && self.format != "las" {
            return Err(Error::Config(format!(
                "normalize: format must be laz or las, got '{}'",
                self.format
            )));
        }
        self.method().validate()
    }
}

/// Where the ground elevation comes from.
pub enum GroundReference<'a> {
    /// A surface built from ground points.
    Surface(&'a GroundSurface),
    /// A DTM raster, interpolated bilinearly between cell centres.
    Raster(&'a Raster<f64>),
}

impl GroundReference<'_> {
    /// Ground elevation under each point, `None` where undefined.
    fn ground_at(&self, x: &[f64], y: &[f64]) -> Vec<Option<f64>> {
        match self {
            GroundReference::Surface(s) => s.z_at_many(x, y),
            GroundReference::Raster(r) => x
                .par_iter()
                .zip(y)
                .map(|(&a, &b)| r.bilinear(a, b).filter(|v| v.is_finite()))
                .collect(),
        }
    }
}

/// How the height above ground is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HagOutput {
    /// Replace `z` by the height (a normalized copy).
    Z,
    /// Add (or overwrite) the `f64` extra-bytes dimension [`HAG_NAME`].
    ExtraBytes,
}

/// Heights above ground of points `(x, y, z)`: `(hag, ok)`, with `ok[i] = false` (and
/// `hag[i] = 0`) where the ground is undefined.
pub fn height_above_ground(
    x: &[f64],
    y: &[f64],
    z: &[f64],
    reference: &GroundReference,
) -> (Vec<f64>, Vec<bool>) {
    let g = reference.ground_at(x, y);
    g.iter()
        .zip(z)
        .map(|(g, &z)| match g {
            Some(g) if (z - g).is_finite() => (z - g, true),
            _ => (0.0, false),
        })
        .unzip()
}

/// What [`normalize`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NormalizeReport {
    /// Points normalized (and kept).
    pub n_normalized: usize,
    /// Points removed because the ground under them is undefined (`drop_unnormalized`).
    pub n_dropped: usize,
}

/// Normalizes every point of `cloud` against `reference`, writing heights as `output`.
///
/// Points where the ground is undefined make this fail (naming how many), unless
/// `drop_unnormalized`, in which case they are removed from `cloud` with a warning.
pub fn normalize(
    cloud: &mut PointCloud,
    reference: &GroundReference,
    output: HagOutput,
    drop_unnormalized: bool,
) -> Result<NormalizeReport> {
    let (hag, ok) = height_above_ground(&cloud.x, &cloud.y, &cloud.z, reference);
    let n_bad = ok.iter().filter(|o| !**o).count();
    let mut hag = hag;
    if n_bad > 0 {
        if !drop_unnormalized {
            return Err(Error::data(
                "normalize",
                format!(
                    "{n_bad} of {} points have no ground within reach (no ground point within rmax, or outside the DTM); \
                     use drop_unnormalized (--drop-unnormalized) to remove them",
                    cloud.len()
                ),
            ));
        }
        log::warn!(
            "normalize: removing {n_bad} of {} points that have no ground within reach",
            cloud.len()
        );
        cloud.retain_mask(&ok);
        hag = hag
            .into_iter()
            .zip(&ok)
            .filter_map(|(h, &k)| k.then_some(h))
            .collect();
    }
    match output {
        HagOutput::Z => cloud.z = hag,
        HagOutput::ExtraBytes => cloud
            .extra
            .set_f64(HAG_NAME, &hag, "height above ground (m)"),
    }
    Ok(NormalizeReport {
        n_normalized: cloud.len(),
        n_dropped: n_bad,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Grid;
    use crate::synth::{crown_height, generate, SynthParams};

    fn scene() -> (PointCloud, SynthParams, Vec<crate::synth::SynthTree>) {
        let p = SynthParams {
            size_m: [60.0, 60.0],
            pulses_per_m2: 8.0,
            ..SynthParams::default()
        };
        let (c, t) = generate(&p);
        (c, p, t)
    }

    #[test]
    fn ground_points_are_zero_and_tree_tops_recovered() {
        let (mut cloud, p, trees) = scene();
        let mask = super::super::ground_mask(&cloud, &[2]);
        let s = GroundSurface::from_cloud(&cloud, &mask, &DtmMethod::default()).unwrap();
        let before = cloud.clone();
        let r = normalize(
            &mut cloud,
            &GroundReference::Surface(&s),
            HagOutput::Z,
            false,
        )
        .unwrap();
        assert_eq!(r.n_dropped, 0);
        assert_eq!(r.n_normalized, before.len());
        // Ground points: exactly 0, except the few that share their (x, y) (1 cm grid) with a
        // lower ground point: their height above it (≤ 6 cm, twice the synthetic noise).
        let mut above = 0;
        for i in (0..cloud.len()).filter(|&i| mask[i]) {
            assert!((0.0..=0.061).contains(&cloud.z[i]), "{}", cloud.z[i]);
            above += (cloud.z[i] != 0.0) as usize;
        }
        assert!(
            above * 1000 < cloud.len(),
            "{above} ground points above the TIN"
        );
        // Crown points: HAG vs the true crown surface (noise ±3 cm + ground surface error).
        let mut worst_apex: f64 = 0.0;
        let mut checked = 0;
        for t in trees.iter().filter(|t| {
            t.x > p.origin[0] + 5.0
                && t.x < p.origin[0] + 55.0
                && t.y > p.origin[1] + 5.0
                && t.y < p.origin[1] + 55.0
        }) {
            // Highest return within 0.3 m of the apex.
            let top = (0..cloud.len())
                .filter(|&i| !mask[i])
                .filter(|&i| (before.x[i] - t.x).hypot(before.y[i] - t.y) < 0.3)
                .max_by(|&a, &b| cloud.z[a].total_cmp(&cloud.z[b]));
            let Some(i) = top else { continue };
            let d = (before.x[i] - t.x).hypot(before.y[i] - t.y);
            // True height of that return: crown surface over the apex's ground, minus the
            // terrain under the return.
            let truth =
                t.ground_z + crown_height(t, d).unwrap() - p.terrain_z(before.x[i], before.y[i]);
            worst_apex = worst_apex.max((cloud.z[i] - truth).abs());
            checked += 1;
        }
        assert!(checked >= 5, "only {checked} trees checked");
        assert!(worst_apex < 0.08, "apex height error {worst_apex} m");
    }

    #[test]
    fn extra_bytes_output_keeps_z() {
        let (mut cloud, _, _) = scene();
        let mask = super::super::ground_mask(&cloud, &[2]);
        let s = GroundSurface::from_cloud(&cloud, &mask, &DtmMethod::default()).unwrap();
        let z0 = cloud.z.clone();
        normalize(
            &mut cloud,
            &GroundReference::Surface(&s),
            HagOutput::ExtraBytes,
            false,
        )
        .unwrap();
        assert_eq!(cloud.z, z0);
        let hag = cloud.extra.get_f64(HAG_NAME).unwrap();
        assert_eq!(hag.len(), cloud.len());
        assert!(hag.iter().all(|h| h.is_finite()));
        assert!(hag.iter().cloned().fold(0.0, f64::max) > 8.0);
    }

    #[test]
    fn from_a_dtm_raster_and_unreachable_points() {
        let (mut cloud, p, _) = scene();
        let mask = super::super::ground_mask(&cloud, &[2]);
        // A raster that covers only the western half.
        let core = [
            p.origin[0],
            p.origin[1],
            p.origin[0] + 30.0,
            p.origin[1] + 60.0,
        ];
        let grid = Grid::covering_centres(&core, 1.0);
        let dtm = super::super::dtm(&cloud, &mask, grid, &DtmMethod::default()).unwrap();
        let mut c2 = cloud.clone();
        let e = normalize(&mut c2, &GroundReference::Raster(&dtm), HagOutput::Z, false);
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("no ground within reach"));
        let r = normalize(
            &mut cloud,
            &GroundReference::Raster(&dtm),
            HagOutput::Z,
            true,
        )
        .unwrap();
        assert!(r.n_dropped > 0 && r.n_normalized > 0);
        assert!(cloud.x.iter().all(|&x| x < p.origin[0] + 30.0 + 1e-9));
        // Ground points from a 1 m raster: within a few cm of 0.
        let worst = (0..cloud.len())
            .filter(|&i| cloud.classification[i] == 2)
            .map(|i| cloud.z[i].abs())
            .fold(0.0, f64::max);
        assert!(worst < 0.15, "ground residual from the raster {worst}");
        assert!(cloud.z.iter().all(|z| z.is_finite()));
    }
}
