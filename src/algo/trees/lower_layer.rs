//! Tops of suppressed trees seen in canopy gaps: a second, finer search of the CHM for trees
//! well below their dominant neighbours.
//!
//! The default tops come from the CHM after a 3×3 median, which removes the branch-scale
//! bumps that split the crowns of tall trees into several tops. The same filter flattens the
//! small crowns of suppressed trees (a crown 1–2 m wide shows as a few CHM cells beside a tall
//! neighbour), which on Chablais 3 leaves three quarters of the trees below half the top height
//! undetected. So the local maximum filter also runs on the CHM before smoothing, and a top it
//! finds there is added when it is
//! * farther than `min_dist_m` (3.5 m) from every top of the smoothed CHM: not one of their
//!   crowns' own bumps, and
//! * lower than `max_rel_height` (0.5) of the tallest of those tops within `radius_m` (6 m):
//!   under a dominant crown's edge, i.e. in the suppressed layer as forest inventories define
//!   it (below half the top height; Eysn et al. 2015 use the same cut for the benchmark this
//!   plot belongs to).
//!
//! This is the multi-scale, layer-wise idea of detecting understorey trees with a filter
//! sized for them rather than for the dominant crowns (Popescu & Wynne 2004: crown width,
//! hence the scale of a top, grows with height; Paris, Valduga & Bruzzone 2016 and Hamraz et
//! al. 2017 detect the lower layer separately from the dominant one), restricted to the tops
//! a CHM can show: trees wholly under a neighbour's crown stay invisible to it (on Chablais 3
//! tops of the points below the canopy layer add 20–25 field trees with 130–600 false ones,
//! and requiring a vertical gap under the crown above leaves at most one field tree). The thresholds are this project's, measured in [`super::TreesParams`].
//!
//! References: Eysn L. et al. (2015). A benchmark of lidar-based single tree detection methods
//! using heterogeneous forest data from the Alpine Space. Forests 6, 1721–1747. Paris C.,
//! Valduga D., Bruzzone L. (2016). A hierarchical approach to three-dimensional segmentation
//! of LiDAR data at single-tree level in a multilayered forest. IEEE TGRS 54(7), 4190–4203.
//! Hamraz H., Contreras M.A., Zhang J. (2017). Vertical stratification of forest canopy for
//! segmentation of understory trees within small-footprint airborne LiDAR point clouds. ISPRS
//! J. Photogramm. 130, 385–392. Popescu S.C., Wynne R.H. (2004). Photogramm. Eng. Remote Sens.
//! 70(5), 589–604.
//!
//! See also: [`super::lmf`], [`super::saddle`].

use super::TreeTop;

/// Lower-layer search (the `[trees.lower_layer]` defaults: 0.5, 3.5 m, 6 m; see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LowerLayerParams {
    /// A top of the unsmoothed CHM is added when lower than this fraction of the tallest top
    /// of the smoothed CHM within `radius_m` (0 = no lower-layer search).
    pub max_rel_height: f64,
    /// ... and farther than this from every top of the smoothed CHM, metres.
    pub min_dist_m: f64,
    /// Radius of the dominant neighbourhood, metres.
    pub radius_m: f64,
}

impl Default for LowerLayerParams {
    fn default() -> Self {
        LowerLayerParams {
            max_rel_height: 0.5,
            min_dist_m: 3.5,
            radius_m: 6.0,
        }
    }
}

impl LowerLayerParams {
    /// `true` when the search adds anything.
    pub fn active(&self) -> bool {
        self.max_rel_height > 0.0
    }

    /// How far from a top the selection looks, metres (for buffer checks).
    pub fn reach_m(&self) -> f64 {
        if self.active() {
            self.radius_m.max(self.min_dist_m)
        } else {
            0.0
        }
    }

    /// Checks the values are in range.
    pub fn validate(&self) -> crate::Result<()> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if !(ok(self.max_rel_height)
            && self.max_rel_height <= 1.0
            && ok(self.min_dist_m)
            && ok(self.radius_m))
        {
            return Err(crate::Error::Config(format!(
                "trees.lower_layer: max_rel_height must be in [0, 1], min_dist_m and radius_m >= 0, got {}, {} and {}",
                self.max_rel_height, self.min_dist_m, self.radius_m
            )));
        }
        Ok(())
    }
}

/// The `fine` tops (from the unsmoothed CHM) that stand in the lower layer beside the
/// `dominant` tops (from the smoothed CHM), in their input order.
///
/// Each fine top looks only at the dominant tops of the buckets (squares of the larger of
/// the two distances) around it, plus one bucket more each way, so that rounding cannot hide
/// one: the same tops pass the same distance tests as in a scan of all of them, and the
/// decision (none too close; the tallest within the radius) does not depend on their order.
pub fn select(dominant: &[TreeTop], fine: Vec<TreeTop>, p: &LowerLayerParams) -> Vec<TreeTop> {
    if !p.active() {
        return Vec::new();
    }
    let (d2_min, r2) = (p.min_dist_m * p.min_dist_m, p.radius_m * p.radius_m);
    let keep = |t: &TreeTop, near: &mut dyn Iterator<Item = &TreeTop>| {
        let mut tallest = f64::NEG_INFINITY;
        for d in near {
            let d2 = (d.x - t.x).powi(2) + (d.y - t.y).powi(2);
            if d2 <= d2_min {
                return false;
            }
            if d2 <= r2 {
                tallest = tallest.max(d.height_m);
            }
        }
        t.height_m < p.max_rel_height * tallest
    };
    let cell = p.min_dist_m.max(p.radius_m);
    let finite = dominant.iter().all(|d| d.x.is_finite() && d.y.is_finite());
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for d in dominant {
        (x0, y0, x1, y1) = (x0.min(d.x), y0.min(d.y), x1.max(d.x), y1.max(d.y));
    }
    let nx = ((x1 - x0) / cell).floor() + 1.0;
    let ny = ((y1 - y0) / cell).floor() + 1.0;
    let grid_ok = cell > 0.0 && nx * ny <= (1u64 << 24) as f64;
    if dominant.is_empty() || !finite || !grid_ok {
        return fine
            .into_iter()
            .filter(|t| keep(t, &mut dominant.iter()))
            .collect();
    }
    let (nx, ny) = (nx as usize, ny as usize);
    let bucket = |v: f64, v0: f64, n: usize| (((v - v0) / cell).floor() as usize).min(n - 1);
    // The dominant tops by a counting sort on their bucket.
    let mut start = vec![0usize; nx * ny + 1];
    for d in dominant {
        start[bucket(d.y, y0, ny) * nx + bucket(d.x, x0, nx) + 1] += 1;
    }
    for b in 1..start.len() {
        start[b] += start[b - 1];
    }
    let mut fill = start.clone();
    let mut sorted: Vec<&TreeTop> = vec![&dominant[0]; dominant.len()];
    for d in dominant {
        let f = &mut fill[bucket(d.y, y0, ny) * nx + bucket(d.x, x0, nx)];
        sorted[*f] = d;
        *f += 1;
    }
    // Bucket range around `v`, one bucket wider each way (`None` when outside the grid).
    let range = |v: f64, v0: f64, n: usize| {
        let lo = ((v - cell - v0) / cell).floor() - 1.0;
        let hi = ((v + cell - v0) / cell).floor() + 1.0;
        (hi >= 0.0 && lo <= (n - 1) as f64)
            .then(|| (lo.max(0.0) as usize, hi.min((n - 1) as f64) as usize))
    };
    fine.into_iter()
        .filter(|t| {
            let (Some((i0, i1)), Some((j0, j1))) = (range(t.x, x0, nx), range(t.y, y0, ny)) else {
                return keep(t, &mut std::iter::empty());
            };
            let mut near = (j0..=j1).flat_map(|j| {
                sorted[start[j * nx + i0]..start[j * nx + i1 + 1]]
                    .iter()
                    .copied()
            });
            keep(t, &mut near)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_low_tops_beside_a_tall_one_and_clear_of_it_are_added() {
        let dom = vec![TreeTop::new(0.0, 0.0, 24.0), TreeTop::new(20.0, 0.0, 10.0)];
        let fine = vec![
            TreeTop::new(4.0, 0.0, 8.0),  // 4 m from a 24 m top, a third of it: added
            TreeTop::new(3.0, 0.0, 8.0),  // within 3.5 m of it: its own bump
            TreeTop::new(5.0, 0.0, 13.0), // more than half of it
            TreeTop::new(0.0, 7.0, 6.0),  // no dominant top within 6 m
            TreeTop::new(16.0, 0.0, 4.9), // below half of the 10 m top
            TreeTop::new(24.0, 0.0, 20.0), // a tall fine top is never added
        ];
        let p = LowerLayerParams::default();
        let got: Vec<(f64, f64)> = select(&dom, fine.clone(), &p)
            .iter()
            .map(|t| (t.x, t.y))
            .collect();
        assert_eq!(got, vec![(4.0, 0.0), (16.0, 0.0)]);
        let off = LowerLayerParams {
            max_rel_height: 0.0,
            ..p
        };
        assert!(select(&dom, fine, &off).is_empty());
        assert!(p.validate().is_ok());
        assert!(LowerLayerParams {
            max_rel_height: 1.5,
            ..p
        }
        .validate()
        .is_err());
    }

    #[test]
    fn buckets_select_as_a_scan_of_all_dominant_tops() {
        let mut rnd = crate::testdata::uniform(7);
        let mut top = |n: usize| -> Vec<TreeTop> {
            (0..n)
                .map(|_| TreeTop::new(rnd() * 120.0 - 10.0, rnd() * 80.0, 2.0 + rnd() * 30.0))
                .collect()
        };
        let dom = top(60);
        let fine = top(400);
        let p = LowerLayerParams::default();
        // The selection as a scan of every dominant top.
        let reference: Vec<TreeTop> = fine
            .iter()
            .copied()
            .filter(|t| {
                let near = |r: f64| {
                    dom.iter()
                        .filter(move |d| (d.x - t.x).powi(2) + (d.y - t.y).powi(2) <= r * r)
                };
                near(p.min_dist_m).next().is_none()
                    && t.height_m
                        < p.max_rel_height
                            * near(p.radius_m)
                                .map(|d| d.height_m)
                                .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect();
        assert!(!reference.is_empty() && reference.len() < fine.len());
        assert_eq!(select(&dom, fine.clone(), &p), reference);
        assert!(select(&[], fine, &p).is_empty());
    }
}
