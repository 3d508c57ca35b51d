//! INTERIM: height above ground from a TIN of the ground-classified points, for the tree
//! commands until the terrain module (issue 3) provides the project's normalization; it will
//! then be replaced by it and removed. Not part of the public API.
//!
//! Ground points (class 2) are triangulated (Delaunay, [`spade`]); a point's height is its z
//! minus the TIN's linear interpolation under it, or minus the nearest ground point's z
//! outside the TIN's convex hull (lidR's `tin()` extrapolates with kNN-IDW instead).
//!
//! [`HeightSource`] / [`HeightsConfig`] (the `[heights]` configuration section) say where the
//! tree commands take heights from; they move to the terrain module with it.
//!
//! See also: [`crate::algo::canopy`].

use crate::points::{class, KdIndex2, PointCloud};
use crate::{Error, Result};
use spade::{DelaunayTriangulation, FloatTriangulation, HasPosition, Point2, Triangulation};

#[derive(Debug, Clone, Copy)]
struct G {
    x: f64,
    y: f64,
    z: f64,
}

impl HasPosition for G {
    type Scalar = f64;
    fn position(&self) -> Point2<f64> {
        Point2::new(self.x, self.y)
    }
}

/// Height above the ground TIN of every point of `cloud`.
pub fn heights_from_ground_tin(cloud: &PointCloud) -> Result<Vec<f64>> {
    let ground: Vec<G> = (0..cloud.len())
        .filter(|&i| cloud.classification[i] == class::GROUND)
        .map(|i| G {
            x: cloud.x[i],
            y: cloud.y[i],
            z: cloud.z[i],
        })
        .collect();
    if ground.len() < 3 {
        return Err(Error::data(
            "height above ground",
            format!(
                "{} ground points (class 2); at least 3 are needed for a ground TIN — \
                 classify ground first, or pass heights that are already normalized",
                ground.len()
            ),
        ));
    }
    let gx: Vec<f64> = ground.iter().map(|g| g.x).collect();
    let gy: Vec<f64> = ground.iter().map(|g| g.y).collect();
    let kd = KdIndex2::new(&gx, &gy);
    let tin: DelaunayTriangulation<G> = DelaunayTriangulation::bulk_load(ground.clone())
        .map_err(|e| Error::data("ground TIN", format!("{e:?}")))?;
    let bary = tin.barycentric();
    let mut out = Vec::with_capacity(cloud.len());
    for i in 0..cloud.len() {
        let (x, y) = (cloud.x[i], cloud.y[i]);
        let gz = match bary.interpolate(|v| v.data().z, Point2::new(x, y)) {
            Some(z) => z,
            None => kd
                .nearest(x, y, 1)
                .first()
                .map(|&(j, _)| ground[j].z)
                .unwrap_or(f64::NAN),
        };
        out.push(cloud.z[i] - gz);
    }
    Ok(out)
}

/// Where the tree commands take heights above ground from (the `[heights]` section).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HeightSource {
    /// The `HeightAboveGround` extra-bytes dimension if present, else a TIN of the ground
    /// points (class 2) if there are at least 3, else Z as it is (with a warning).
    #[default]
    Auto,
    /// Z is already height above ground (normalized data).
    Z,
    /// A TIN of the ground points (class 2).
    GroundTin,
    /// An extra-bytes dimension holding heights (`dim:NAME`).
    Dim(String),
}

impl std::str::FromStr for HeightSource {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let l = s.to_ascii_lowercase();
        match l.as_str() {
            "auto" => Ok(HeightSource::Auto),
            "z" => Ok(HeightSource::Z),
            "ground-tin" | "ground_tin" | "tin" => Ok(HeightSource::GroundTin),
            _ if l.starts_with("dim:") && s.len() > 4 => Ok(HeightSource::Dim(s[4..].to_string())),
            _ => Err(format!(
                "unknown height source '{s}' (auto, z, ground-tin or dim:NAME)"
            )),
        }
    }
}

impl std::fmt::Display for HeightSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeightSource::Auto => write!(f, "auto"),
            HeightSource::Z => write!(f, "z"),
            HeightSource::GroundTin => write!(f, "ground-tin"),
            HeightSource::Dim(n) => write!(f, "dim:{n}"),
        }
    }
}

/// The `[heights]` configuration section: `source = "auto" | "z" | "ground-tin" | "dim:NAME"`.
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

/// Heights above ground of every point of `cloud` from `source`.
pub fn heights(cloud: &PointCloud, source: &HeightSource) -> Result<Vec<f64>> {
    match source {
        HeightSource::Z => Ok(cloud.z.clone()),
        HeightSource::GroundTin => heights_from_ground_tin(cloud),
        HeightSource::Dim(name) => cloud.extra.get_f64(name).ok_or_else(|| {
            Error::data(
                "height above ground",
                format!("no extra-bytes dimension '{name}'"),
            )
        }),
        HeightSource::Auto => {
            if let Some(h) = cloud.extra.get_f64("HeightAboveGround") {
                return Ok(h);
            }
            let n_ground = cloud
                .classification
                .iter()
                .filter(|&&c| c == class::GROUND)
                .count();
            if n_ground >= 3 {
                heights_from_ground_tin(cloud)
            } else {
                log::warn!(
                    "no HeightAboveGround dimension and {n_ground} ground points: using Z as height above ground"
                );
                Ok(cloud.z.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate, SynthParams};

    #[test]
    fn synthetic_crown_heights_are_recovered() {
        let p = SynthParams {
            size_m: [40.0, 40.0],
            ..Default::default()
        };
        let (c, trees) = generate(&p);
        let h = heights_from_ground_tin(&c).unwrap();
        // Ground points have ~0 height; the tallest crown point is close to the tallest tree.
        let mut worst = 0.0f64;
        for i in 0..c.len() {
            if c.classification[i] == class::GROUND {
                worst = worst.max(h[i].abs());
            }
        }
        assert!(worst < 1e-9, "ground height {worst}");
        let hmax = h.iter().cloned().fold(f64::MIN, f64::max);
        let tmax = trees.iter().map(|t| t.height_m).fold(f64::MIN, f64::max);
        assert!((hmax - tmax).abs() < 0.5, "{hmax} vs {tmax}");
    }
}
