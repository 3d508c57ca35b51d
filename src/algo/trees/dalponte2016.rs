//! Crown segmentation by region growing from tree tops on a CHM (Dalponte & Coomes 2016), as
//! lidR's `dalponte2016(chm, treetops, th_tree = 2, th_seed = 0.45, th_cr = 0.55, max_cr = 10)`.
//!
//! Every tree top seeds a region on the CHM. In synchronous sweeps over the image, each
//! labelled cell offers its four neighbours to its region; an unlabelled neighbour of height `v`
//! joins the region of seed height `h_s` and current mean crown height `m` when
//! * `v > th_tree_m` (minimum canopy height, default 2 m),
//! * `v > th_seed · h_s` (default 0.45),
//! * `v > th_cr · m` (default 0.55),
//! * `v ≤ 1.05 · h_s`,
//! * `|row − row_s| < max_cr_px` and `|col − col_s| < max_cr_px` (default 10 cells).
//!
//! Growth stops when a sweep adds no cell. Each sweep visits only the labelled cells that
//! still have an unlabelled neighbour passing the tests that do not change as regions grow
//! (all but the mean's; the others cannot offer anything), which gives the same crowns as
//! sweeping the whole image.
//!
//! The `max_cr` quirk: lidR documents `max_cr` as the maximum crown *diameter* in pixels, but
//! its C++ code compares it with the distance from the seed along each axis, so it acts as a
//! *half-width*: a crown can span up to `2·max_cr − 1` cells. This code keeps lidR's behaviour
//! (the parameter is named `max_cr_px` and means the same as lidR's) so results are comparable.
//!
//! Departures from lidR's code (all make the result independent of scan order and chunking):
//! * a cell offered by several regions in one sweep goes to the region with the highest seed
//!   (ties by seed position), where lidR lets the last one scanned win;
//! * a cell joins once, and the region mean counts it once (lidR increments the pixel count
//!   and height sum for every offer, also for the losing region);
//! * region means are updated at the end of each sweep (lidR updates them within the sweep, so
//!   they depend on the scan order);
//! * image border cells are grown into (lidR skips the outermost row and column).
//!
//! Reference: Dalponte M., Coomes D.A. (2016). Tree-centric mapping of forest carbon density
//! from airborne laser scanning and hyperspectral data. Methods in Ecology and Evolution 7,
//! 1236–1245.
//!
//! See also: [`super::watershed`], [`super::lmf`].

use super::Seed;
use crate::algo::canopy::is_valid;
use crate::raster::Raster;
use crate::{Error, Result};

/// Region-growing parameters (lidR's defaults).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dalponte2016Params {
    /// A cell joins only if its seed-relative height exceeds this fraction of the seed height.
    pub th_seed: f64,
    /// … and this fraction of the current mean crown height.
    pub th_cr: f64,
    /// Half-width of the square around the seed that a crown may fill, in cells (see the
    /// module doc for lidR's naming).
    pub max_cr_px: usize,
}

impl Default for Dalponte2016Params {
    fn default() -> Self {
        Dalponte2016Params {
            th_seed: 0.45,
            th_cr: 0.55,
            max_cr_px: 10,
        }
    }
}

impl Dalponte2016Params {
    /// Checks the values are in range.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.th_seed)
            || !(0.0..=1.0).contains(&self.th_cr)
            || self.max_cr_px == 0
        {
            return Err(Error::Config(format!(
                "dalponte2016: th_seed {} and th_cr {} must lie in [0, 1], max_cr_px {} >= 1",
                self.th_seed, self.th_cr, self.max_cr_px
            )));
        }
        Ok(())
    }
}

/// Grows crowns on `chm` from `seeds`; returns the label raster (label `k + 1` for `seeds[k]`,
/// 0 = no crown). Cells not above `th_tree_m` are never labelled (seed cells are labelled
/// whatever their value, as in lidR).
pub fn dalponte2016(
    chm: &Raster<f32>,
    seeds: &[Seed],
    th_tree_m: f64,
    p: &Dalponte2016Params,
) -> Result<Raster<u32>> {
    p.validate()?;
    let g = chm.grid;
    let (nr, nc) = (g.nrows, g.ncols);
    // Flat row-major cells (index `row · nc + col`): neighbours by adding ±1 and ±nc instead
    // of two-dimensional indexing.
    let chm_v: std::borrow::Cow<[f32]> = match chm.data.as_slice() {
        Some(v) => std::borrow::Cow::Borrowed(v),
        None => std::borrow::Cow::Owned(chm.data.iter().copied().collect()),
    };
    let chm_v: &[f32] = &chm_v;
    let mut label: Vec<u32> = vec![0; nr * nc];
    let mut sum = vec![0.0f64; seeds.len()];
    let mut cnt = vec![0usize; seeds.len()];
    let mut seed_h = vec![0.0f64; seeds.len()];
    for (k, s) in seeds.iter().enumerate() {
        if s.row >= nr || s.col >= nc {
            return Err(Error::data("dalponte2016", "seed outside the CHM"));
        }
        let v = chm_v[s.row * nc + s.col];
        let v = if is_valid(v) { v as f64 } else { s.height_m };
        label[s.row * nc + s.col] = k as u32 + 1;
        seed_h[k] = v;
        sum[k] = v;
        cnt[k] = 1;
    }
    let max_cr = p.max_cr_px as i64;
    // The height a cell can still join with: -∞ where no region can ever take it (labelled,
    // no data, or not above `th_tree_m`), so one comparison covers those tests.
    let mut free: Vec<f32> = chm_v
        .iter()
        .map(|&v| {
            if is_valid(v) && v as f64 > th_tree_m {
                v
            } else {
                f32::NEG_INFINITY
            }
        })
        .collect();
    for s in seeds {
        free[s.row * nc + s.col] = f32::NEG_INFINITY;
    }
    // The tests of a cell of height `v` at `(ru, cu)` joining region `k` that do not change
    // while the regions grow (all but the mean's).
    let fits = |k: usize, v: f64, ru: usize, cu: usize| {
        let hs = seed_h[k];
        let s = &seeds[k];
        v > th_tree_m
            && v > hs * p.th_seed
            && v <= hs * 1.05
            && (s.row as i64 - ru as i64).abs() < max_cr
            && (s.col as i64 - cu as i64).abs() < max_cr
    };
    // Whether labelled `cell` may still offer a neighbour: one that is free and passes the
    // fixed tests of its region. Labels only get added, so a cell that is not open never
    // offers anything again, and it leaves the list. The outcome of a sweep does not depend
    // on the order the cells are visited in (each cell goes to its best claim), so sweeping
    // this list gives the same crowns as sweeping the whole image.
    let open = |label: &[u32], free: &[f32], cell: usize| {
        let k = (label[cell] - 1) as usize;
        let (r, c) = (cell / nc, cell % nc);
        (r > 0 && fits(k, free[cell - nc] as f64, r - 1, c))
            || (c > 0 && fits(k, free[cell - 1] as f64, r, c - 1))
            || (c + 1 < nc && fits(k, free[cell + 1] as f64, r, c + 1))
            || (r + 1 < nr && fits(k, free[cell + nc] as f64, r + 1, c))
    };
    let mut active: Vec<usize> = seeds.iter().map(|s| s.row * nc + s.col).collect();
    active.sort_unstable();
    active.dedup();
    active.retain(|&cell| open(&label, &free, cell));
    // Claims of one sweep: the best claim per cell (0 = none) and the cells claimed.
    let mut best: Vec<u32> = vec![0; nr * nc];
    let mut claimed: Vec<usize> = Vec::new();
    loop {
        claimed.clear();
        for &cell in &active {
            let id = label[cell];
            let k = (id - 1) as usize;
            let lm = sum[k] / cnt[k] as f64 * p.th_cr;
            let (r, c) = (cell / nc, cell % nc);
            // The 4-neighbours in the order of `super::neighbours4`.
            let mut offer = |u: usize, ru: usize, cu: usize| {
                let v = free[u] as f64;
                if v > lm && fits(k, v, ru, cu) {
                    // One winner per cell: the highest seed (ties by seed position).
                    let b = &mut best[u];
                    if *b == 0 {
                        claimed.push(u);
                        *b = id;
                    } else if seeds[k].rank_cmp(&seeds[(*b - 1) as usize]).is_gt() {
                        *b = id;
                    }
                }
            };
            if r > 0 {
                offer(cell - nc, r - 1, c);
            }
            if c > 0 {
                offer(cell - 1, r, c - 1);
            }
            if c + 1 < nc {
                offer(cell + 1, r, c + 1);
            }
            if r + 1 < nr {
                offer(cell + nc, r + 1, c);
            }
        }
        if claimed.is_empty() {
            break;
        }
        // In cell order: the region sums are then added up in one fixed order.
        claimed.sort_unstable();
        for &cell in &claimed {
            let id = std::mem::take(&mut best[cell]);
            label[cell] = id;
            free[cell] = f32::NEG_INFINITY;
            let k = (id - 1) as usize;
            sum[k] += chm_v[cell] as f64;
            cnt[k] += 1;
        }
        active.retain(|&cell| open(&label, &free, cell));
        active.extend(
            claimed
                .iter()
                .copied()
                .filter(|&cell| open(&label, &free, cell)),
        );
    }
    Ok(Raster {
        grid: g,
        data: ndarray::Array2::from_shape_vec((nr, nc), label)
            .expect("one label per cell, row-major"),
        nodata: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Grid;

    /// Two Gaussian crowns, heights 20 and 12, 6 m apart on a 0.5 m grid.
    fn two_crowns() -> (Raster<f32>, Vec<Seed>) {
        let g = Grid {
            x_min: 0.0,
            y_max: 10.0,
            res_m: 0.5,
            ncols: 30,
            nrows: 20,
        };
        let mut r = Raster::filled(g, 0.0f32);
        for row in 0..g.nrows {
            for col in 0..g.ncols {
                let (x, y) = g.centre(row, col);
                let a = 20.0 * (-((x - 4.75).powi(2) + (y - 5.25).powi(2)) / 8.0).exp();
                let b = 12.0 * (-((x - 10.75).powi(2) + (y - 5.25).powi(2)) / 6.0).exp();
                r.data[[row, col]] = a.max(b) as f32;
            }
        }
        let seeds = vec![
            Seed::new(9, 9, 4.75, 5.25, 20.0),
            Seed::new(9, 21, 10.75, 5.25, 12.0),
        ];
        (r, seeds)
    }

    #[test]
    fn grows_two_separate_crowns() {
        let (chm, seeds) = two_crowns();
        let l = dalponte2016(&chm, &seeds, 2.0, &Dalponte2016Params::default()).unwrap();
        let n1 = l.data.iter().filter(|&&v| v == 1).count();
        let n2 = l.data.iter().filter(|&&v| v == 2).count();
        assert!(n1 > 40 && n2 > 20, "{n1} {n2}");
        // The valley between them separates the crowns: column 16 (x = 8.25) lies where the
        // small crown is higher than the large one.
        assert_eq!(l.data[[9, 17]], 2);
        assert_eq!(l.data[[9, 12]], 1);
        // Cells under th_seed·h of the large tree (0.45·20 = 9 m) are never in its crown.
        for (v, lab) in chm.data.iter().zip(l.data.iter()) {
            if *lab == 1 {
                assert!(*v as f64 > 9.0);
            }
        }
    }

    #[test]
    fn max_cr_is_a_half_width() {
        let g = Grid {
            x_min: 0.0,
            y_max: 30.0,
            res_m: 1.0,
            ncols: 30,
            nrows: 30,
        };
        let chm = Raster::filled(g, 10.0f32);
        let seeds = vec![Seed::new(15, 15, 15.5, 14.5, 10.0)];
        let p = Dalponte2016Params {
            max_cr_px: 3,
            ..Default::default()
        };
        let l = dalponte2016(&chm, &seeds, 2.0, &p).unwrap();
        // |d| < 3 along both axes: a 5×5 square.
        assert_eq!(l.data.iter().filter(|&&v| v == 1).count(), 25);
    }
}
