//! Vegetation classes from height above ground: ASPRS low (3), medium (4) and high (5)
//! vegetation.
//!
//! A point whose class is in [`VegetationParams::reclassify`] (by default created 0,
//! unclassified 1 and the three vegetation classes themselves) gets
//! * 3 (low vegetation) when `h < low_max_m`,
//! * 4 (medium vegetation) when `low_max_m <= h < medium_max_m`,
//! * 5 (high vegetation) when `h >= medium_max_m`.
//!
//! Every other class — ground 2, building 6, noise 7 and 18, water 9, and anything a provider
//! uses for its own purposes — is left untouched. Points whose height is not finite keep their
//! class and are counted in [`VegetationStats::no_height`].
//!
//! Parameters and defaults: `low_max_m = 0.5`, `medium_max_m = 2.0` (the usual ASPRS-style
//! breaks used by national LiDAR programmes, e.g. IGN LiDAR HD and the USGS base
//! specification's suggested vegetation split; there is no single published standard).
//! Points *below* ground (negative height, from DTM error) are low vegetation: no separate
//! class exists for them and they are not ground by the provider's classification.
//!
//! Heights come as a slice (one per point), so the caller chooses their source (a DTM, a TIN
//! of ground points, or an already normalized Z).
//!
//! See also: [`crate::algo::canopy`] (canopy height model from the same heights).

use crate::points::class;
use crate::{Error, Result};

/// Height breaks of the vegetation classes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VegetationParams {
    /// Upper bound (exclusive) of low vegetation, metres above ground.
    pub low_max_m: f64,
    /// Upper bound (exclusive) of medium vegetation, metres above ground.
    pub medium_max_m: f64,
    /// Classes that may be rewritten (others are kept).
    pub reclassify: Vec<u8>,
}

impl Default for VegetationParams {
    fn default() -> Self {
        VegetationParams {
            low_max_m: 0.5,
            medium_max_m: 2.0,
            reclassify: vec![
                class::CREATED,
                class::UNCLASSIFIED,
                class::LOW_VEGETATION,
                class::MEDIUM_VEGETATION,
                class::HIGH_VEGETATION,
            ],
        }
    }
}

impl VegetationParams {
    /// Checks the breaks are finite and increasing.
    pub fn validate(&self) -> Result<()> {
        if !(self.low_max_m.is_finite()
            && self.medium_max_m.is_finite()
            && self.low_max_m < self.medium_max_m)
        {
            return Err(Error::Config(format!(
                "vegetation breaks must be finite and increasing (low_max_m {} < medium_max_m {})",
                self.low_max_m, self.medium_max_m
            )));
        }
        Ok(())
    }
}

/// How many points went where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct VegetationStats {
    pub low: u64,
    pub medium: u64,
    pub high: u64,
    /// Points whose class was not in the reclassify list.
    pub kept: u64,
    /// Reclassifiable points without a finite height (class kept).
    pub no_height: u64,
}

/// Rewrites `classification` in place from `height_m` (one height per point).
pub fn classify_vegetation(
    classification: &mut [u8],
    height_m: &[f64],
    p: &VegetationParams,
) -> Result<VegetationStats> {
    p.validate()?;
    if classification.len() != height_m.len() {
        return Err(Error::data(
            "classifying vegetation",
            format!(
                "{} classes but {} heights",
                classification.len(),
                height_m.len()
            ),
        ));
    }
    let mut can = [false; 256];
    for &c in &p.reclassify {
        can[c as usize] = true;
    }
    let mut s = VegetationStats::default();
    for (c, &h) in classification.iter_mut().zip(height_m) {
        if !can[*c as usize] {
            s.kept += 1;
        } else if !h.is_finite() {
            s.no_height += 1;
        } else if h < p.low_max_m {
            *c = class::LOW_VEGETATION;
            s.low += 1;
        } else if h < p.medium_max_m {
            *c = class::MEDIUM_VEGETATION;
            s.medium += 1;
        } else {
            *c = class::HIGH_VEGETATION;
            s.high += 1;
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_and_protected_classes() {
        let mut c = vec![1, 1, 1, 1, 2, 6, 7, 9, 5, 0, 1];
        let h = vec![
            -0.2,
            0.49,
            0.5,
            2.0,
            10.0,
            10.0,
            10.0,
            10.0,
            0.1,
            1.0,
            f64::NAN,
        ];
        let s = classify_vegetation(&mut c, &h, &VegetationParams::default()).unwrap();
        assert_eq!(c, vec![3, 3, 4, 5, 2, 6, 7, 9, 3, 4, 1]);
        assert_eq!(
            s,
            VegetationStats {
                low: 3,
                medium: 2,
                high: 1,
                kept: 4,
                no_height: 1
            }
        );
    }

    #[test]
    fn bad_breaks_and_lengths_are_errors() {
        let mut c = vec![1u8; 2];
        let p = VegetationParams {
            low_max_m: 3.0,
            medium_max_m: 2.0,
            ..Default::default()
        };
        assert!(classify_vegetation(&mut c, &[1.0, 2.0], &p).is_err());
        assert!(classify_vegetation(&mut c, &[1.0], &VegetationParams::default()).is_err());
    }
}
