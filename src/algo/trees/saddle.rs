//! Merging tree tops whose crowns do not separate by a deep enough saddle: the h-maxima /
//! dynamics criterion of mathematical morphology (Grimaud 1992; Soille 2003, §6.3.4) applied to
//! the candidate tops of the local maximum filter, on the CHM they were found on.
//!
//! The *depth* of a top of height `h` is how far one must descend from it, along the best
//! 8-connected path of CHM cells, before reaching a higher cell. A top is kept when its depth
//! is at least `t = max(min_depth_m, min_depth_frac · h)`, i.e. when no cell higher than the
//! top is reachable through cells all above `h − t`; a top whose crown is cut from every
//! higher one by a gap is always kept. Unlike a wider LMF window, this keeps two close tops
//! separated by a deep notch (two conifers) and drops two distant tops joined by a shallow
//! saddle (the limb clumps of one broad crown).
//!
//! Only tops in **open canopy** are tested: those whose surroundings (a disk of radius
//! `min(h, max_dist_m)`, about the diameter of an open-grown crown) have at most `max_cover`
//! of their cells at or above half the top's height. In a closed stand neighbouring crowns
//! touch and their tops are routinely separated by saddles only a few percent of the height
//! deep (on Chablais 3, a 5 % threshold applied everywhere drops a third of the correctly
//! detected trees), while an open-grown broad crown is isolated by gaps and its limb clumps
//! are what the shallow saddles separate. This gate is this project's departure from the
//! papers, measured in [`super::TreesParams`].
//!
//! The relative threshold follows the logic of Dalponte & Coomes (2016)'s region-growing
//! thresholds (a crown cell must stand above a fixed fraction of its apex height): a lobe that
//! does not drop below a fraction of its own height before rising into a higher crown belongs
//! to it. Departures from h-maxima: only the LMF candidates are tested (other local maxima are
//! never tops anyway), the threshold scales with height instead of being one `h`, and the
//! path search stays within `max_dist_m` of the top, so the result depends only on the CHM
//! near the top (a chunked run equals a single-file run when the chunk buffer covers it).
//!
//! References: Grimaud M. (1992). New measure of contrast: the dynamics. Proc. SPIE 1769,
//! 292–305. Soille P. (2003). Morphological Image Analysis, 2nd ed. Springer. Dalponte M.,
//! Coomes D.A. (2016). Tree-centric mapping of forest carbon density from airborne laser
//! scanning and hyperspectral data. Methods Ecol. Evol. 7, 1236–1245.
//!
//! See also: [`super::lmf`] (the candidates), [`super::watershed`].

use super::TreeTop;
use crate::algo::canopy::is_valid;
use crate::raster::Raster;

/// Saddle-depth thresholds. Defaults (the `[trees.saddle]` defaults): depth ≥ 5 % of the
/// top's height, searched within 10 m, for tops in open canopy (at most 45 % of the disk of
/// radius `min(h, 10 m)` at or above half the top's height) and at least 0.85 of the crown
/// they merge into; see [`super::TreesParams`] for
/// the measurements behind them.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SaddleParams {
    /// Minimum depth as a fraction of the top's height (0 = no merging by height).
    pub min_depth_frac: f64,
    /// Minimum depth in metres.
    pub min_depth_m: f64,
    /// How far from the top the path to a higher cell is searched, metres.
    pub max_dist_m: f64,
    /// Only tops at least this fraction of the height of the crown they would merge into
    /// merge (a limb clump lies close to its crown's apex; a smaller tree beside a tall one
    /// does not).
    pub min_height_ratio: f64,
    /// Only tops in open canopy merge: those whose surroundings (a disk of radius
    /// `min(h, max_dist_m)`) have at most this share of cells at or above half the top's
    /// height (1 = every top may merge).
    pub max_cover: f64,
}

impl Default for SaddleParams {
    fn default() -> Self {
        SaddleParams {
            min_depth_frac: 0.05,
            min_depth_m: 0.0,
            max_dist_m: 10.0,
            min_height_ratio: 0.85,
            max_cover: 0.45,
        }
    }
}

impl SaddleParams {
    /// `true` when the thresholds merge anything.
    pub fn active(&self) -> bool {
        self.min_depth_frac > 0.0 || self.min_depth_m > 0.0
    }

    /// The threshold depth for a top of height `h`, metres.
    pub fn min_depth_for(&self, h: f64) -> f64 {
        self.min_depth_m.max(self.min_depth_frac * h)
    }

    /// Checks the values are in range.
    pub fn validate(&self) -> crate::Result<()> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if !(ok(self.min_depth_frac)
            && self.min_depth_frac < 1.0
            && ok(self.min_depth_m)
            && ok(self.max_dist_m)
            && ok(self.max_cover)
            && ok(self.min_height_ratio)
            && self.min_height_ratio <= 1.0)
        {
            return Err(crate::Error::Config(format!(
                "trees.saddle: min_depth_frac must be in [0, 1), min_depth_m and max_dist_m >= 0, got {}, {} and {}",
                self.min_depth_frac, self.min_depth_m, self.max_dist_m
            )));
        }
        Ok(())
    }
}

/// The highest cell reachable from the top at `(x, y)` of height `h` within `max_dist_m`
/// through cells all at or above `h − depth_m`, when it is higher than the top (by the LMF's
/// order of height, then x, then y); `None` when no higher cell is reachable.
pub fn higher_within(
    chm: &Raster<f32>,
    x: f64,
    y: f64,
    h: f64,
    depth_m: f64,
    max_dist_m: f64,
) -> Option<f64> {
    let g = chm.grid;
    let (r0, c0) = g.cell_of(x, y)?;
    let level = h - depth_m;
    let k = (max_dist_m / g.res_m).floor() as i64;
    let side = (2 * k + 1) as usize;
    let mut seen = vec![false; side * side];
    let mut stack: Vec<(i64, i64)> = vec![(0, 0)];
    seen[(k * side as i64 + k) as usize] = true;
    let (nr, nc) = (g.nrows as i64, g.ncols as i64);
    let mut higher: Option<f64> = None;
    while let Some((dr, dc)) = stack.pop() {
        for (er, ec) in [
            (-1, -1),
            (-1, 0),
            (-1, 1),
            (0, -1),
            (0, 1),
            (1, -1),
            (1, 0),
            (1, 1),
        ] {
            let (ar, ac) = (dr + er, dc + ec);
            if ar.abs() > k || ac.abs() > k || ar * ar + ac * ac > k * k {
                continue;
            }
            let (rr, cc) = (r0 as i64 + ar, c0 as i64 + ac);
            if rr < 0 || cc < 0 || rr >= nr || cc >= nc {
                continue;
            }
            let si = ((ar + k) * side as i64 + ac + k) as usize;
            if seen[si] {
                continue;
            }
            seen[si] = true;
            let v = chm.data[[rr as usize, cc as usize]];
            if !is_valid(v) || (v as f64) < level {
                continue;
            }
            let (vx, vy) = g.centre(rr as usize, cc as usize);
            let vh = v as f64;
            if vh > h || (vh == h && (vx > x || (vx == x && vy > y))) {
                higher = Some(higher.map_or(vh, |m: f64| m.max(vh)));
            }
            stack.push((ar, ac));
        }
    }
    higher
}

/// Share of the valid cells within `radius_m` of `(x, y)` whose height is at least `level`.
pub fn cover(chm: &Raster<f32>, x: f64, y: f64, radius_m: f64, level: f64) -> f64 {
    let g = chm.grid;
    let Some((r0, c0)) = g.cell_of(x, y) else {
        return 0.0;
    };
    let k = (radius_m / g.res_m).floor() as i64;
    let (mut n, mut hi) = (0usize, 0usize);
    for dr in -k..=k {
        let rr = r0 as i64 + dr;
        if rr < 0 || rr >= g.nrows as i64 {
            continue;
        }
        // The cells of this row within the disc: dc² ≤ k² − dr², clipped to the grid.
        let w = isqrt(k * k - dr * dr);
        let c_lo = (c0 as i64 - w).max(0) as usize;
        let c_hi = (c0 as i64 + w).min(g.ncols as i64 - 1);
        if c_hi < c_lo as i64 {
            continue;
        }
        // Counted without branches over the row's slice (vectorizable).
        let row = chm.data.row(rr as usize);
        let count = |v: f32| {
            let ok = is_valid(v);
            (usize::from(ok), usize::from(ok & (v as f64 >= level)))
        };
        let (dn, dh) = match row.as_slice() {
            Some(row) => row[c_lo..=c_hi as usize].iter().fold((0, 0), |(a, b), &v| {
                let (x, y) = count(v);
                (a + x, b + y)
            }),
            None => (c_lo..=c_hi as usize).fold((0, 0), |(a, b), c| {
                let (x, y) = count(row[c]);
                (a + x, b + y)
            }),
        };
        n += dn;
        hi += dh;
    }
    if n == 0 {
        0.0
    } else {
        hi as f64 / n as f64
    }
}

/// The largest `w ≥ 0` with `w² ≤ a` (0 for `a < 0`).
fn isqrt(a: i64) -> i64 {
    if a <= 0 {
        return 0;
    }
    let mut w = (a as f64).sqrt() as i64;
    while w * w > a {
        w -= 1;
    }
    while (w + 1) * (w + 1) <= a {
        w += 1;
    }
    w
}

/// The tops whose depth reaches the thresholds (see the module doc), in their input order.
pub fn merge_shallow(chm: &Raster<f32>, tops: Vec<TreeTop>, p: &SaddleParams) -> Vec<TreeTop> {
    if !p.active() {
        return tops;
    }
    tops.into_iter()
        .filter(|t| {
            let open = p.max_cover >= 1.0
                || cover(
                    chm,
                    t.x,
                    t.y,
                    t.height_m.min(p.max_dist_m),
                    0.5 * t.height_m,
                ) <= p.max_cover;
            if !open {
                return true;
            }
            let into = higher_within(
                chm,
                t.x,
                t.y,
                t.height_m,
                p.min_depth_for(t.height_m),
                p.max_dist_m,
            );
            !into.is_some_and(|m| t.height_m >= p.min_height_ratio * m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Grid;

    /// Two cones of heights `h1`, `h2` and side slope `slope`, `sep_m` apart, on a 0.5 m grid.
    fn two_cones(sep_m: f64, h1: f64, h2: f64, slope: f64) -> (Raster<f32>, Vec<TreeTop>) {
        let g = Grid {
            x_min: 0.0,
            y_max: 10.0,
            res_m: 0.5,
            ncols: 60,
            nrows: 20,
        };
        let mut r = Raster::filled(g, 0.0f32);
        let (c1, c2) = ([5.25, 5.25], [5.25 + sep_m, 5.25]);
        for row in 0..g.nrows {
            for col in 0..g.ncols {
                let (x, y) = g.centre(row, col);
                let d1 = ((x - c1[0]).powi(2) + (y - c1[1]).powi(2)).sqrt();
                let d2 = ((x - c2[0]).powi(2) + (y - c2[1]).powi(2)).sqrt();
                r.data[[row, col]] = (h1 - slope * d1).max(h2 - slope * d2).max(0.0) as f32;
            }
        }
        let tops = vec![
            TreeTop::new(c1[0], c1[1], h1),
            TreeTop::new(c2[0], c2[1], h2),
        ];
        (r, tops)
    }

    /// Every top may merge (no open-canopy gate), with these thresholds.
    fn ungated(frac: f64, m: f64) -> SaddleParams {
        SaddleParams {
            min_depth_frac: frac,
            min_depth_m: m,
            max_cover: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn shallow_saddle_merges_deep_one_separates() {
        // 20 m and 18 m cones 6 m apart, slope 1: the saddle is at ~16 m, 2 m below the lower.
        let (r, tops) = two_cones(6.0, 20.0, 18.0, 1.0);
        // 15 %: 2.7 m for the 18 m top: merged.
        let kept = merge_shallow(&r, tops.clone(), &ungated(0.15, 0.0));
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].height_m, 20.0);
        // 5 %: 0.9 m: kept.
        assert_eq!(
            merge_shallow(&r, tops.clone(), &ungated(0.05, 0.0)).len(),
            2
        );
        // Depth 2 m: 1.9 m keeps it, 2.1 m drops it.
        assert_eq!(merge_shallow(&r, tops.clone(), &ungated(0.0, 1.9)).len(), 2);
        assert_eq!(merge_shallow(&r, tops.clone(), &ungated(0.0, 2.1)).len(), 1);
        // The cells above the lower top lie 4 m away or more: a 3.5 m search does not reach.
        let near = SaddleParams {
            max_dist_m: 3.5,
            ..ungated(0.0, 2.1)
        };
        assert_eq!(merge_shallow(&r, tops, &near).len(), 2);
        // Steep conifer-like cones (slope 3) only 4 m apart: saddle 5 m below, kept.
        let (r, tops) = two_cones(4.0, 20.0, 18.0, 3.0);
        assert_eq!(merge_shallow(&r, tops, &ungated(0.15, 0.0)).len(), 2);
        // Cut apart by a saddle at 0.5 m: kept unless the threshold reaches below it.
        let (r, tops) = two_cones(22.0, 12.0, 11.0, 1.0);
        let far = SaddleParams {
            max_dist_m: 30.0,
            ..ungated(0.9, 0.0)
        };
        assert_eq!(merge_shallow(&r, tops, &far).len(), 2);
    }

    #[test]
    fn a_much_smaller_tree_beside_a_tall_one_is_kept() {
        // 25 m and 18 m cones 8 m apart: the saddle is 0.5 m below the 18 m top, but the
        // crown it joins is 39 % taller.
        let (r, tops) = two_cones(8.0, 25.0, 18.0, 1.0);
        let p = ungated(0.15, 0.0);
        assert_eq!(merge_shallow(&r, tops.clone(), &p).len(), 2);
        let any_ratio = SaddleParams {
            min_height_ratio: 0.7,
            ..p
        };
        assert_eq!(merge_shallow(&r, tops, &any_ratio).len(), 1);
    }

    #[test]
    fn only_tops_in_open_canopy_merge() {
        // Two narrow cones (slope 4) 1.5 m apart: saddle at 16 m, 2 m below the lower top,
        // and open ground around them. Then inside a closed canopy: a 15 m layer all around
        // puts more than 45 % of the disk above half the 18 m top's height.
        let (mut r, tops) = two_cones(1.5, 20.0, 18.0, 4.0);
        let open = SaddleParams {
            min_depth_frac: 0.15,
            ..Default::default()
        };
        assert!(cover(&r, tops[1].x, tops[1].y, 10.0, 9.0) <= 0.45);
        assert_eq!(merge_shallow(&r, tops.clone(), &open).len(), 1);
        for v in r.data.iter_mut() {
            *v = v.max(15.0);
        }
        assert!(cover(&r, tops[1].x, tops[1].y, 10.0, 9.0) > 0.45);
        assert_eq!(merge_shallow(&r, tops, &open).len(), 2);
    }
}
