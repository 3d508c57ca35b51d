//! INTERIM: height above ground from a TIN of the ground-classified points, for the tree
//! commands until the terrain module (issue 3) provides the project's normalization; it will
//! then be replaced by it and removed. Not part of the public API.
//!
//! Ground points (class 2) are triangulated (Delaunay, [`spade`]); a point's height is its z
//! minus the TIN's linear interpolation under it. Outside the TIN's convex hull, and inside
//! triangles whose circumcircle is wider than [`MAX_CIRCUMRADIUS_M`] (the slivers along the
//! hull and across large gaps), the ground is the inverse-distance mean of the 3 nearest
//! ground points (lidR's `tin()` extrapolates with `knnidw(3, 1)` too). Dropping wide triangles
//! keeps heights independent of the chunking: a Delaunay triangle whose circumcircle lies in
//! the buffer is the same whether or not points beyond the buffer exist, while the hull's
//! slivers depend on the whole point set.
//!
//! [`HeightSource`] / [`HeightsConfig`] (the `[heights]` configuration section) say where the
//! tree commands take heights from; they move to the terrain module with it.
//!
//! See also: [`crate::algo::canopy`].

use crate::points::{class, KdIndex2, PointCloud};
use crate::{Error, Result};
use spade::{
    DelaunayTriangulation, HasPosition, HierarchyHintGenerator, Point2, PositionInTriangulation,
    Triangulation,
};

/// Triangles with a wider circumcircle are not interpolated (see the module doc).
pub const MAX_CIRCUMRADIUS_M: f64 = 10.0;

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
    // A hierarchy of hints makes each lookup O(log n) whatever the order of the points.
    let tin: DelaunayTriangulation<G, (), (), (), HierarchyHintGenerator<f64>> =
        DelaunayTriangulation::bulk_load(ground.clone())
            .map_err(|e| Error::data("ground TIN", format!("{e:?}")))?;
    let idw = |x: f64, y: f64| -> f64 {
        let nn = kd.nearest(x, y, 3);
        let (mut sw, mut sz) = (0.0, 0.0);
        for &(j, d) in &nn {
            if d < 1e-9 {
                return ground[j].z;
            }
            sw += 1.0 / d;
            sz += ground[j].z / d;
        }
        if sw > 0.0 {
            sz / sw
        } else {
            f64::NAN
        }
    };
    let r2max = MAX_CIRCUMRADIUS_M * MAX_CIRCUMRADIUS_M;
    let mut out = Vec::with_capacity(cloud.len());
    for i in 0..cloud.len() {
        let (x, y) = (cloud.x[i], cloud.y[i]);
        let q = Point2::new(x, y);
        let gz = match tin.locate(q) {
            PositionInTriangulation::OnVertex(v) => tin.vertex(v).data().z,
            PositionInTriangulation::OnFace(f) => {
                let face = tin.face(f);
                if face.circumcircle().1 > r2max {
                    idw(x, y)
                } else {
                    let w = face.barycentric_interpolation(q);
                    let v = face.vertices();
                    w[0] * v[0].data().z + w[1] * v[1].data().z + w[2] * v[2].data().z
                }
            }
            PositionInTriangulation::OnEdge(e) => {
                let e = tin.directed_edge(e);
                let [a, b] = e.vertices();
                let (pa, pb) = (a.position(), b.position());
                let l2 = (pb.x - pa.x).powi(2) + (pb.y - pa.y).powi(2);
                if l2 > 4.0 * r2max {
                    idw(x, y)
                } else {
                    let t = if l2 > 0.0 {
                        ((x - pa.x) * (pb.x - pa.x) + (y - pa.y) * (pb.y - pa.y)) / l2
                    } else {
                        0.0
                    };
                    a.data().z + t * (b.data().z - a.data().z)
                }
            }
            _ => idw(x, y),
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
        for (hi, &cl) in h.iter().zip(&c.classification) {
            if cl == class::GROUND {
                worst = worst.max(hi.abs());
            }
        }
        assert!(worst < 1e-9, "ground height {worst}");
        let hmax = h.iter().cloned().fold(f64::MIN, f64::max);
        let tmax = trees.iter().map(|t| t.height_m).fold(f64::MIN, f64::max);
        assert!((hmax - tmax).abs() < 0.5, "{hmax} vs {tmax}");
    }
}
