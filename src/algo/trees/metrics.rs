//! Per-tree metrics from a crown segmentation: position, height, crown area and diameter,
//! point count and crown polygon; DBH and above-ground biomass when an allometry is given.
//!
//! For each tree (one per tree top):
//! * `x`, `y`: the apex: the mean position of the crown returns within `apex_radius_m` of the
//!   tree top (summed in sorted order, so the result does not depend on point order), or the
//!   top itself when there is none. Being an average of returns, it lies inside the data (and
//!   inside the tile that holds them), which a CHM cell centre at the data's edge need not;
//!   on Chablais 3 it matches the stems as well as the CHM maximum does, and better than the
//!   single highest return (F 0.84 against 0.81, measured with the former p2r detection
//!   CHM). `id` derives from it ([`super::tree_id`]);
//! * `height_m`: the highest crown point within `apex_radius_m` of the apex (the detection
//!   window's radius), or the top's height when there is none. Points rather than the CHM,
//!   because a CHM smoothed before detection underestimates apex heights; near the apex only,
//!   because a crown's edge cells may hold returns of a taller neighbour's overhanging crown
//!   (the CHM cell value, e.g. a TIN's at the cell centre, can be far below a return in the
//!   cell);
//! * `crown_area_m2`: segmented CHM cells × cell area; `crown_diameter_m`: diameter of the
//!   circle of that area, `2·√(A/π)`;
//! * `n_points`: points assigned to the crown;
//! * `crown`: convex hull of the crown's points (lidR `crown_metrics(geom = "convex")`), or of
//!   its cells' corners when it holds fewer than 3 non-collinear points;
//! * `dbh_cm`, `agb_kg`: empty until [`apply_allometry`] fills them.
//!
//! See also: [`super::hull`], [`super::dalponte2016`], [`super::watershed`].

use super::hull::{convex_hull, HullScratch};
use super::TreeTop;
use crate::raster::Raster;

/// One tree of the tree table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tree {
    pub id: u64,
    pub x: f64,
    pub y: f64,
    pub height_m: f64,
    pub crown_area_m2: f64,
    pub crown_diameter_m: f64,
    pub n_points: usize,
    /// Crown polygon (convex hull), counter-clockwise, first vertex not repeated.
    pub crown: Vec<[f64; 2]>,
    pub dbh_cm: Option<f64>,
    pub agb_kg: Option<f64>,
}

/// Metrics of every top's crown. `labels` holds `k + 1` for `tops[k]`; `point_label[i]` the
/// label of point `i` (0 = none); `apex_radius_m[k]` the radius around `tops[k]` searched for
/// its height.
pub fn tree_metrics(
    tops: &[TreeTop],
    labels: &Raster<u32>,
    x: &[f64],
    y: &[f64],
    h: &[f64],
    point_label: &[u32],
    apex_radius_m: &[f64],
) -> Vec<Tree> {
    let n = tops.len();
    let g = labels.grid;
    let mut cells = vec![0usize; n];
    for &l in labels.data.iter() {
        if l != 0 {
            cells[(l - 1) as usize] += 1;
        }
    }
    // Each crown's returns by a counting sort into one buffer (in point order within a
    // crown): crown `k` holds `pts[start[k]..start[k + 1]]`. The positions and heights are
    // copied there in one pass over the columns in point order, rather than gathered by point
    // index crown by crown (a cache miss a return, the crowns' points lying all over the
    // columns).
    // Without a branch on whether a point is labelled (unpredictable: crown and other returns
    // interleave): the unlabelled points are counted in `start[0]`, cleared before the sums,
    // and written to a spare slot past the crowns, where the next one overwrites them.
    let mut start = vec![0usize; n + 1];
    for &l in point_label {
        start[l as usize] += 1;
    }
    start[0] = 0;
    for k in 0..n {
        start[k + 1] += start[k];
    }
    // `fill[l]`: the next slot of label `l` (crown `l - 1`; the spare slot for 0).
    let mut fill = Vec::with_capacity(n + 1);
    fill.push(start[n]);
    fill.extend_from_slice(&start[..n]);
    let mut pts = vec![[0.0f64; 3]; start[n] + 1];
    for (i, &l) in point_label.iter().enumerate() {
        let f = &mut fill[l as usize];
        pts[*f] = [x[i], y[i], h[i]];
        *f += (l != 0) as usize;
    }
    let mut hmax = vec![f64::NEG_INFINITY; n];
    let mut apex: Vec<Option<(f64, f64)>> = vec![None; n];
    let mut crowns: Vec<Vec<[f64; 2]>> = Vec::with_capacity(n);
    let mut scratch = HullScratch::default();
    let mut near: Vec<(f64, f64)> = Vec::new();
    for k in 0..n {
        let crown = &pts[start[k]..start[k + 1]];
        near.clear();
        let r2 = apex_radius_m[k] * apex_radius_m[k];
        for &[px, py, ph] in crown {
            let d2 = (px - tops[k].x).powi(2) + (py - tops[k].y).powi(2);
            if d2 <= r2 {
                hmax[k] = hmax[k].max(ph);
                near.push((px, py));
            }
        }
        apex[k] = mean_position(&mut near);
        crowns.push(scratch.hull(crown.iter().map(|p| [p[0], p[1]])));
    }
    // A crown with fewer than 3 non-collinear returns takes the hull of its cells' corners
    // instead (one pass over the labels for those few crowns only).
    let mut corner_pts: Vec<Vec<[f64; 2]>> = vec![Vec::new(); n];
    if crowns.iter().any(|c| c.len() < 3) {
        let half = 0.5 * g.res_m;
        for row in 0..g.nrows {
            for col in 0..g.ncols {
                let l = labels.data[[row, col]];
                if l == 0 || crowns[(l - 1) as usize].len() >= 3 {
                    continue;
                }
                let (cx, cy) = g.centre(row, col);
                corner_pts[(l - 1) as usize].extend([
                    [cx - half, cy - half],
                    [cx + half, cy - half],
                    [cx + half, cy + half],
                    [cx - half, cy + half],
                ]);
            }
        }
        for (crown, corners) in crowns.iter_mut().zip(&corner_pts) {
            if crown.len() < 3 {
                *crown = convex_hull(corners);
            }
        }
    }
    tops.iter()
        .enumerate()
        .map(|(k, t)| {
            let area = cells[k] as f64 * g.res_m * g.res_m;
            let crown = std::mem::take(&mut crowns[k]);
            let (ax, ay) = apex[k].unwrap_or((t.x, t.y));
            Tree {
                id: super::tree_id(ax, ay),
                x: ax,
                y: ay,
                height_m: if hmax[k].is_finite() {
                    hmax[k]
                } else {
                    t.height_m
                },
                crown_area_m2: area,
                crown_diameter_m: 2.0 * (area / std::f64::consts::PI).sqrt(),
                n_points: start[k + 1] - start[k],
                crown,
                dbh_cm: None,
                agb_kg: None,
            }
        })
        .collect()
}

/// Mean of `p`, summed in sorted order (independent of the input order); `None` when empty.
fn mean_position(p: &mut [(f64, f64)]) -> Option<(f64, f64)> {
    if p.is_empty() {
        return None;
    }
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let n = p.len() as f64;
    // Relative to the first point, for precision with large projected coordinates.
    let (ox, oy) = p[0];
    let (sx, sy) = p.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| {
        (sx + (x - ox), sy + (y - oy))
    });
    Some((ox + sx / n, oy + sy / n))
}

/// DBH (cm) and AGB (kg) of a tree from its height and crown, or `None` where the equation
/// does not apply. The allometry module supplies such functions.
pub type Allometry<'a> = dyn Fn(&Tree) -> (Option<f64>, Option<f64>) + Sync + 'a;

/// Fills `dbh_cm` and `agb_kg` of every tree from a species group of the allometry table
/// ([`crate::biomass::allometry`]): DBH from height and crown diameter (`D = a·(H·CD)^b`), then
/// AGB from DBH and height with the group's equation.
pub fn apply_group_allometry(trees: &mut [Tree], g: &crate::biomass::allometry::GroupAllometry) {
    apply_allometry(trees, &|t: &Tree| {
        let d = g.dbh.dbh_cm(t.height_m, t.crown_diameter_m);
        (Some(d), Some(g.agb.agb_kg(d, t.height_m)))
    });
}

/// Fills `dbh_cm` and `agb_kg` of every tree with `f`; non-finite or negative results are
/// left empty (logged), never written as NaN.
pub fn apply_allometry(trees: &mut [Tree], f: &Allometry) {
    for t in trees.iter_mut() {
        let (d, b) = f(t);
        let ok = |v: Option<f64>, what: &str| match v {
            Some(v) if v.is_finite() && v >= 0.0 => Some(v),
            Some(v) => {
                log::warn!("tree {}: allometry gave {what} = {v}; left empty", t.id);
                None
            }
            None => None,
        };
        t.dbh_cm = ok(d, "DBH");
        t.agb_kg = ok(b, "AGB");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Grid;

    #[test]
    fn metrics_of_a_small_crown() {
        let g = Grid {
            x_min: 0.0,
            y_max: 4.0,
            res_m: 1.0,
            ncols: 4,
            nrows: 4,
        };
        let mut labels = Raster::filled(g, 0u32);
        for r in 1..3 {
            for c in 1..3 {
                labels.data[[r, c]] = 1;
            }
        }
        labels.data[[0, 0]] = 2; // a one-cell crown without points
        let tops = vec![TreeTop::new(2.0, 2.0, 9.0), TreeTop::new(0.5, 3.5, 3.0)];
        let x = [1.2, 2.8, 2.8, 1.2, 2.0, 3.9];
        let y = [1.2, 1.2, 2.8, 2.8, 2.0, 0.1];
        let h = [7.0, 7.5, 8.0, 7.2, 10.0, 1.0];
        let pl = [1, 1, 1, 1, 1, 0];
        let mut t = tree_metrics(&tops, &labels, &x, &y, &h, &pl, &[1.0, 1.0]);
        // Only points near the apex give the height.
        let t2 = tree_metrics(
            &tops,
            &labels,
            &x,
            &y,
            &[7.0, 7.5, 8.0, 20.0, 10.0, 1.0],
            &pl,
            &[1.0, 1.0],
        );
        assert_eq!(t2[0].height_m, 10.0);
        // The apex is the mean of the crown returns near the top: here the single one at (2, 2);
        // with a wider radius all five crown returns, centred on (2, 2) as well.
        assert_eq!((t[0].x, t[0].y), (2.0, 2.0));
        let t3 = tree_metrics(&tops, &labels, &x, &y, &h, &pl, &[2.0, 1.0]);
        assert!((t3[0].x - 2.0).abs() < 1e-12 && (t3[0].y - 2.0).abs() < 1e-12);
        assert_eq!(t3[0].id, super::super::tree_id(2.0, 2.0));
        // No return near the second top: it stays where it was found.
        assert_eq!((t[1].x, t[1].y), (0.5, 3.5));
        assert_eq!(t[0].height_m, 10.0);
        assert_eq!(t[0].crown_area_m2, 4.0);
        assert!((t[0].crown_diameter_m - 2.0 * (4.0 / std::f64::consts::PI).sqrt()).abs() < 1e-12);
        assert_eq!(t[0].n_points, 5);
        assert_eq!(t[0].crown.len(), 4);
        assert_eq!(t[1].height_m, 3.0);
        assert_eq!(t[1].n_points, 0);
        // Cell corners: the unit square of cell (0, 0).
        assert_eq!(super::super::hull::polygon_area(&t[1].crown), 1.0);
        apply_allometry(&mut t, &|tr: &Tree| {
            (
                Some(tr.height_m * 2.0),
                Some(if tr.height_m > 5.0 { 1.0 } else { f64::NAN }),
            )
        });
        assert_eq!(t[0].dbh_cm, Some(20.0));
        assert_eq!(t[0].agb_kg, Some(1.0));
        assert_eq!(t[1].agb_kg, None);
        // A group of the embedded parameter table.
        let params = crate::params::Params::defaults();
        let g = params.allometry.group(None).unwrap();
        apply_group_allometry(&mut t, g);
        let d = g.dbh.dbh_cm(10.0, t[0].crown_diameter_m);
        assert_eq!(t[0].dbh_cm, Some(d));
        assert_eq!(t[0].agb_kg, Some(g.agb.agb_kg(d, 10.0)));
        assert!(d > 5.0 && t[0].agb_kg.unwrap() > 1.0);
    }
}
