//! k-nearest-neighbour inverse-distance weighting (kNN-IDW) of ground elevations.
//!
//! The elevation at `(x, y)` is `Σ wᵢ zᵢ / Σ wᵢ` with `wᵢ = 1 / dᵢ^p` over the `k` ground points
//! nearest to `(x, y)` in the plane that lie within `rmax_m` of it. Where no ground point lies
//! within `rmax_m` the surface is undefined (`None`; a DTM cell gets nodata, never NaN). A query
//! that falls exactly on a ground point returns that point's elevation.
//!
//! Parameters and defaults ([`Idw::default`]): `k = 10`, `power = 2`, `rmax_m = 50` — lidR's
//! `knnidw(k = 10, p = 2, rmax = 50)`. The TIN ([`super::tin`]) extrapolates outside its convex
//! hull with lidR's `tin()` choice, [`Idw::TIN_EXTRAPOLATION`] = `knnidw(k = 3, p = 1, rmax = 50)`.
//!
//! Departures from lidR: ground points sharing the same `(x, y)` are merged first, keeping the
//! lowest `z` (see [`super::dedupe_lowest`]), so duplicates do not count twice. Neighbours at equal
//! distance are ordered by `(x, y)` and the weighted sum runs in that order, so a value does not
//! depend on the order the points were read in or on which tile a chunk came from: a chunked
//! DTM equals the single-file DTM bit for bit.
//!
//! Reference: Shepard, D. (1968), *A two-dimensional interpolation function for
//! irregularly-spaced data*, ACM '68; lidR `knnidw()` (Roussel et al. 2020).
//!
//! See also: [`super::tin`] (Delaunay TIN, the default), [`super::normalize`].

use crate::{Error, Result};
use kiddo::{ImmutableKdTree, SquaredEuclidean};
use std::num::NonZero;

/// kNN-IDW parameters. Defaults: lidR `knnidw(k = 10, p = 2, rmax = 50)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Idw {
    /// Number of nearest ground points used.
    pub k: usize,
    /// Power of the inverse distance (`w = 1 / d^power`; 0 = plain mean).
    pub power: f64,
    /// Only ground points within this distance are used (metres, CRS units).
    pub rmax_m: f64,
}

impl Default for Idw {
    fn default() -> Self {
        Idw {
            k: 10,
            power: 2.0,
            rmax_m: 50.0,
        }
    }
}

impl Idw {
    /// lidR `tin()`'s extrapolation outside the convex hull: `knnidw(k = 3, p = 1, rmax = 50)`.
    pub const TIN_EXTRAPOLATION: Idw = Idw {
        k: 3,
        power: 1.0,
        rmax_m: 50.0,
    };

    /// Checks the parameters are usable.
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::Config("idw: k must be at least 1".into()));
        }
        if !(self.power.is_finite() && self.power >= 0.0) {
            return Err(Error::Config(format!(
                "idw: power must be finite and >= 0, got {}",
                self.power
            )));
        }
        if !(self.rmax_m.is_finite() && self.rmax_m > 0.0) {
            return Err(Error::Config(format!(
                "idw: rmax_m must be finite and > 0, got {}",
                self.rmax_m
            )));
        }
        Ok(())
    }
}

/// Extra neighbours fetched beyond `k` so that ties at the k-th distance are broken by `(x, y)`
/// rather than by the k-d tree's layout.
const TIE_SLACK: usize = 4;

/// A kNN-IDW surface over a set of ground points.
pub struct IdwSurface {
    /// Ground points `[x, y, z]`, unique in `(x, y)`, sorted by `(x, y)`.
    pts: Vec<[f64; 3]>,
    tree: ImmutableKdTree<f64, 2>,
    params: Idw,
}

impl IdwSurface {
    /// Builds the surface from points that are already unique in `(x, y)` and sorted by
    /// `(x, y)` (as [`super::dedupe_lowest`] returns them).
    pub fn from_unique(pts: Vec<[f64; 3]>, params: Idw) -> Result<IdwSurface> {
        params.validate()?;
        if pts.is_empty() {
            return Err(Error::data("idw", "no ground points to interpolate"));
        }
        Ok(Self::from_unique_checked(pts, params))
    }

    /// [`Self::from_unique`] for points and parameters the caller has already checked
    /// (non-empty, valid).
    pub(super) fn from_unique_checked(pts: Vec<[f64; 3]>, params: Idw) -> IdwSurface {
        let xy: Vec<[f64; 2]> = pts.iter().map(|p| [p[0], p[1]]).collect();
        let tree = ImmutableKdTree::new_from_slice(&xy);
        IdwSurface { pts, tree, params }
    }

    /// Builds the surface from raw ground coordinates (merging `(x, y)` duplicates, lowest `z`).
    pub fn new(x: &[f64], y: &[f64], z: &[f64], params: Idw) -> Result<IdwSurface> {
        Self::from_unique(super::dedupe_lowest(x, y, z), params)
    }

    /// The parameters.
    pub fn params(&self) -> &Idw {
        &self.params
    }

    /// Number of (unique) ground points.
    pub fn len(&self) -> usize {
        self.pts.len()
    }

    /// `true` when the surface has no point (never, once built).
    pub fn is_empty(&self) -> bool {
        self.pts.is_empty()
    }

    /// Interpolated elevation at `(x, y)`, `None` when no ground point lies within `rmax_m`.
    pub fn z_at(&self, x: f64, y: f64) -> Option<f64> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let (nn, _) = self.neighbours(x, y);
        self.weigh(&nn, x, y)
    }

    /// [`Self::z_at`] of a superset of these points, whose other points are all farther than
    /// `reach` from `(x, y)`; `Err(())` when that value cannot be told from these points: fewer
    /// than `k` of them within `rmax_m` while `rmax_m > reach` (others may count), the `k`-th
    /// beyond `reach`, or neighbours tied at the fetched limit reaching the `k` used (the
    /// superset's tree breaks such ties by its own layout and might choose others). Otherwise
    /// the `k` nearest of the superset are these points' `k` nearest, in the same order, these
    /// points being in the superset's relative order.
    pub(super) fn z_at_within(
        &self,
        x: f64,
        y: f64,
        reach: f64,
    ) -> std::result::Result<Option<f64>, ()> {
        if !(x.is_finite() && y.is_finite()) {
            return Ok(None);
        }
        let (nn, full) = self.neighbours(x, y);
        let k = self.params.k;
        if nn.len() < k {
            return if self.params.rmax_m <= reach {
                Ok(self.weigh(&nn, x, y))
            } else {
                Err(())
            };
        }
        let dk = nn[k - 1].distance;
        // A relative margin covers the tree's rounding in its pruning bounds.
        if dk > reach * reach || (full && dk * (1.0 + 1e-9) >= nn[nn.len() - 1].distance) {
            return Err(());
        }
        Ok(self.weigh(&nn, x, y))
    }

    /// The `k + TIE_SLACK` nearest points within `rmax_m` (fewer when there are not so many),
    /// in canonical order: distance, then `(x, y)` (= index order, the points being sorted);
    /// and whether the fetch was full.
    fn neighbours(&self, x: f64, y: f64) -> (Vec<kiddo::NearestNeighbour<f64, u64>>, bool) {
        let r2 = self.params.rmax_m * self.params.rmax_m;
        let want = NonZero::new(self.params.k + TIE_SLACK).expect("k + slack > 0");
        let mut nn = self
            .tree
            .nearest_n_within::<SquaredEuclidean>(&[x, y], r2, want, true);
        nn.sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.item.cmp(&b.item)));
        let full = nn.len() == want.get();
        (nn, full)
    }

    /// The weighted mean over the first `k` of `nn` (sorted by [`Self::neighbours`]).
    fn weigh(&self, nn: &[kiddo::NearestNeighbour<f64, u64>], x: f64, y: f64) -> Option<f64> {
        let nn = &nn[..nn.len().min(self.params.k)];
        let first = &self.pts[nn.first()?.item as usize];
        if nn[0].distance == 0.0 {
            return Some(first[2]);
        }
        let p = self.params.power;
        let (mut sw, mut swz) = (0.0, 0.0);
        for n in nn {
            let q = &self.pts[n.item as usize];
            // Recompute the distance from the coordinates so the weight depends only on them.
            let d = ((q[0] - x).powi(2) + (q[1] - y).powi(2)).sqrt();
            let w = if p == 0.0 {
                1.0
            } else if p == 1.0 {
                1.0 / d
            } else if p == 2.0 {
                1.0 / (d * d)
            } else {
                d.powf(-p)
            };
            sw += w;
            swz += w * q[2];
        }
        let z = swz / sw;
        // With huge powers the weights can underflow to 0: fall back to the nearest point.
        if z.is_finite() {
            Some(z)
        } else {
            Some(first[2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_lidr_knnidw() {
        let d = Idw::default();
        assert_eq!((d.k, d.power, d.rmax_m), (10, 2.0, 50.0));
        let t = Idw::TIN_EXTRAPOLATION;
        assert_eq!((t.k, t.power, t.rmax_m), (3, 1.0, 50.0));
    }

    #[test]
    fn exact_at_points_and_bounded_between() {
        let x = [0.0, 10.0, 0.0, 10.0];
        let y = [0.0, 0.0, 10.0, 10.0];
        let z = [1.0, 2.0, 3.0, 4.0];
        let s = IdwSurface::new(&x, &y, &z, Idw::default()).unwrap();
        for i in 0..4 {
            assert_eq!(s.z_at(x[i], y[i]), Some(z[i]));
        }
        // Centre: equidistant from all four: the plain mean.
        let c = s.z_at(5.0, 5.0).unwrap();
        assert!((c - 2.5).abs() < 1e-12, "{c}");
        // Anywhere: a convex combination of the inputs.
        for (qx, qy) in [(1.0, 2.0), (7.5, 3.3), (-20.0, 4.0), (9.9, 9.9)] {
            let v = s.z_at(qx, qy).unwrap();
            assert!((1.0..=4.0).contains(&v), "{v}");
        }
        // Closer to (0, 0) → closer to its z.
        assert!(s.z_at(1.0, 1.0).unwrap() < s.z_at(4.0, 4.0).unwrap());
    }

    #[test]
    fn hand_computed_value() {
        // Two points at distances 1 and 3 with p = 2: w = 1 and 1/9.
        let s = IdwSurface::new(
            &[0.0, 4.0],
            &[0.0, 0.0],
            &[10.0, 20.0],
            Idw {
                k: 2,
                power: 2.0,
                rmax_m: 50.0,
            },
        )
        .unwrap();
        let v = s.z_at(1.0, 0.0).unwrap();
        let expect = (10.0 + 20.0 / 9.0) / (1.0 + 1.0 / 9.0);
        assert!((v - expect).abs() < 1e-12, "{v} vs {expect}");
    }

    #[test]
    fn beyond_rmax_is_none_and_duplicates_keep_lowest() {
        let s = IdwSurface::new(
            &[0.0, 0.0, 1.0],
            &[0.0, 0.0, 0.0],
            &[5.0, 3.0, 4.0],
            Idw {
                k: 10,
                power: 2.0,
                rmax_m: 2.0,
            },
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.z_at(0.0, 0.0), Some(3.0));
        assert_eq!(s.z_at(10.0, 0.0), None);
        assert!(s.z_at(2.5, 0.0).is_some());
    }

    #[test]
    fn bad_parameters_are_errors() {
        let p = [[0.0, 0.0, 0.0]];
        for bad in [
            Idw {
                k: 0,
                ..Idw::default()
            },
            Idw {
                power: -1.0,
                ..Idw::default()
            },
            Idw {
                rmax_m: 0.0,
                ..Idw::default()
            },
            Idw {
                rmax_m: f64::NAN,
                ..Idw::default()
            },
        ] {
            assert!(IdwSurface::from_unique(p.to_vec(), bad).is_err());
        }
        assert!(IdwSurface::from_unique(Vec::new(), Idw::default()).is_err());
    }
}
