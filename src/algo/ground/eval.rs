//! Accuracy of a ground classification against reference labels, with the definitions of the
//! ISPRS filter test (Sithole & Vosselman 2004):
//!
//! * Type I error = reference ground classified as object / reference ground;
//! * Type II error = reference object classified as ground / reference object;
//! * total error = all misclassified points / all points;
//! * Cohen's kappa from the 2 × 2 table: `(p_o − p_e) / (1 − p_e)`.
//!
//! A point is "ground" when its class is 2, "object" otherwise (ISPRS reference files use 0 for
//! objects; noise, class 7, is object). Rates with an empty denominator are 0; kappa is 1 when
//! both labelings put every point in the same single class and 0 when chance agreement is total
//! otherwise, so no figure is ever NaN.
//!
//! Reference: Sithole, G., Vosselman, G., 2004. Experimental comparison of filter algorithms for
//! bare-Earth extraction from airborne laser scanning point clouds. ISPRS J. Photogramm. Remote
//! Sens. 59, 85–101.
//!
//! See also: `landcarbon eval ground` (the command line over two LAS/LAZ files).

use crate::points::class;
use crate::{Error, Result};

/// The 2 × 2 table of reference (rows) against classified (columns) ground / object counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Confusion {
    /// Reference ground, classified ground.
    pub ground_ground: u64,
    /// Reference ground, classified object (Type I errors).
    pub ground_object: u64,
    /// Reference object, classified ground (Type II errors).
    pub object_ground: u64,
    /// Reference object, classified object.
    pub object_object: u64,
}

impl Confusion {
    /// Counts agreement between reference and classified class codes, point by point.
    pub fn from_classes(reference: &[u8], classified: &[u8]) -> Result<Confusion> {
        if reference.len() != classified.len() {
            return Err(Error::data(
                "ground evaluation",
                format!(
                    "the reference has {} points but the classification {}",
                    reference.len(),
                    classified.len()
                ),
            ));
        }
        let mut c = Confusion::default();
        for (&r, &k) in reference.iter().zip(classified) {
            match (r == class::GROUND, k == class::GROUND) {
                (true, true) => c.ground_ground += 1,
                (true, false) => c.ground_object += 1,
                (false, true) => c.object_ground += 1,
                (false, false) => c.object_object += 1,
            }
        }
        Ok(c)
    }

    /// All points.
    pub fn n(&self) -> u64 {
        self.ground_ground + self.ground_object + self.object_ground + self.object_object
    }

    fn ratio(a: u64, b: u64) -> f64 {
        if b == 0 {
            0.0
        } else {
            a as f64 / b as f64
        }
    }

    /// Type I error (fraction of reference ground rejected).
    pub fn type1(&self) -> f64 {
        Self::ratio(self.ground_object, self.ground_ground + self.ground_object)
    }

    /// Type II error (fraction of reference objects accepted as ground).
    pub fn type2(&self) -> f64 {
        Self::ratio(self.object_ground, self.object_ground + self.object_object)
    }

    /// Total error (fraction of all points misclassified).
    pub fn total(&self) -> f64 {
        Self::ratio(self.ground_object + self.object_ground, self.n())
    }

    /// Cohen's kappa.
    pub fn kappa(&self) -> f64 {
        let n = self.n() as f64;
        if n == 0.0 {
            return 0.0;
        }
        let po = (self.ground_ground + self.object_object) as f64 / n;
        let ref_g = (self.ground_ground + self.ground_object) as f64;
        let ref_o = (self.object_ground + self.object_object) as f64;
        let cls_g = (self.ground_ground + self.object_ground) as f64;
        let cls_o = (self.ground_object + self.object_object) as f64;
        let pe = (ref_g * cls_g + ref_o * cls_o) / (n * n);
        if (1.0 - pe).abs() < 1e-15 {
            return if po == 1.0 { 1.0 } else { 0.0 };
        }
        (po - pe) / (1.0 - pe)
    }
}

/// The figures of one evaluation, ready to print or serialise.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroundScores {
    pub n_points: u64,
    pub confusion: Confusion,
    pub type1: f64,
    pub type2: f64,
    pub total: f64,
    pub kappa: f64,
}

impl From<Confusion> for GroundScores {
    fn from(c: Confusion) -> Self {
        GroundScores {
            n_points: c.n(),
            confusion: c,
            type1: c.type1(),
            type2: c.type2(),
            total: c.total(),
            kappa: c.kappa(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_match_hand_computation() {
        // 80 reference ground (70 kept, 10 lost), 20 object (5 accepted, 15 rejected).
        let mut r = vec![2u8; 80];
        r.extend(vec![0u8; 20]);
        let mut k = vec![2u8; 70];
        k.extend(vec![1u8; 10]);
        k.extend(vec![2u8; 5]);
        k.extend(vec![7u8; 15]);
        let c = Confusion::from_classes(&r, &k).unwrap();
        assert_eq!(
            c,
            Confusion {
                ground_ground: 70,
                ground_object: 10,
                object_ground: 5,
                object_object: 15
            }
        );
        assert!((c.type1() - 0.125).abs() < 1e-12);
        assert!((c.type2() - 0.25).abs() < 1e-12);
        assert!((c.total() - 0.15).abs() < 1e-12);
        // po = 0.85; pe = (80·75 + 20·25) / 100² = 0.65; kappa = 0.2 / 0.35.
        assert!((c.kappa() - 0.2 / 0.35).abs() < 1e-12);
    }

    #[test]
    fn degenerate_tables_give_numbers_not_nan() {
        let c = Confusion::from_classes(&[2, 2, 2], &[2, 2, 2]).unwrap();
        assert_eq!(
            (c.type1(), c.type2(), c.total(), c.kappa()),
            (0.0, 0.0, 0.0, 1.0)
        );
        let c = Confusion::from_classes(&[], &[]).unwrap();
        assert_eq!(c.kappa(), 0.0);
        assert!(Confusion::from_classes(&[2], &[2, 1]).is_err());
    }
}
