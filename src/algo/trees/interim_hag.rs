//! INTERIM: height above ground from a TIN of the ground-classified points, for the tree
//! commands until the terrain module (issue 3) provides the project's normalization; it will
//! then be replaced by it and removed. Not part of the public API.
//!
//! Ground points (class 2) are triangulated (Delaunay, [`spade`]); a point's height is its z
//! minus the TIN's linear interpolation under it, or minus the nearest ground point's z
//! outside the TIN's convex hull (lidR's `tin()` extrapolates with kNN-IDW instead).
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
