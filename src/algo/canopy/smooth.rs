//! CHM smoothing: a 3×3 median (the lidR documentation's `focal(chm, matrix(1,3,3), median)`
//! before tree detection) or a Gaussian filter of standard deviation `sigma_m` (truncated at
//! 2σ, as lidaRtRee's CHM filter).
//!
//! Smoothing removes small spurious maxima (branches, noise) before local-maximum detection
//! and gives watershed and region growing cleaner crown edges.
//!
//! Empty cells: both filters use only the valid cells of the window. An empty centre cell is
//! filled when at least half of its window holds values (this closes isolated holes left by
//! p2r, as `focal(..., na.rm = TRUE)` does), and stays empty otherwise, so gaps between crowns
//! are not bridged.
//!
//! See also: [`super::p2r`], [`super::pitfree`].

use super::{is_valid, CHM_NODATA};
use crate::raster::Raster;

/// Which smoothing to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Smooth {
    /// No smoothing.
    #[default]
    None,
    /// 3×3 median.
    Median3,
    /// Gaussian of standard deviation `sigma_m`, truncated at 2σ.
    Gaussian,
}

impl std::str::FromStr for Smooth {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Smooth::None),
            "median3" | "median" => Ok(Smooth::Median3),
            "gaussian" => Ok(Smooth::Gaussian),
            _ => Err(format!(
                "unknown smoothing '{s}' (none, median3 or gaussian)"
            )),
        }
    }
}

/// Half-width of the smoothing window in cells.
pub fn radius_cells(s: Smooth, sigma_m: f64, res_m: f64) -> usize {
    match s {
        Smooth::None => 0,
        Smooth::Median3 => 1,
        Smooth::Gaussian => ((2.0 * sigma_m / res_m).ceil() as usize).max(1),
    }
}

/// The smoothed raster (same grid).
pub fn smooth(r: &Raster<f32>, s: Smooth, sigma_m: f64) -> Raster<f32> {
    match s {
        Smooth::None => r.clone(),
        Smooth::Median3 => median3(r),
        Smooth::Gaussian => gaussian(r, sigma_m),
    }
}

fn median3(r: &Raster<f32>) -> Raster<f32> {
    let (nr, nc) = (r.grid.nrows, r.grid.ncols);
    let mut out = Raster::filled(r.grid, CHM_NODATA);
    let mut w: Vec<f32> = Vec::with_capacity(9);
    // Every cell's key and validity once, row-major, for the fast path's windows.
    let keys: Vec<i32> = r.data.iter().map(|&v| total_order_key(v)).collect();
    let invalid: Vec<u8> = r.data.iter().map(|&v| !is_valid(v) as u8).collect();
    for row in 0..nr {
        for col in 0..nc {
            // Fast path: an inner cell whose whole window holds data (most of a canopy).
            if row > 0 && col > 0 && row + 1 < nr && col + 1 < nc {
                let i = (row - 1) * nc + col - 1;
                let (a, b, c) = (
                    &keys[i..i + 3],
                    &keys[i + nc..i + nc + 3],
                    &keys[i + 2 * nc..],
                );
                let (ia, ib, ic) = (
                    &invalid[i..i + 3],
                    &invalid[i + nc..i + nc + 3],
                    &invalid[i + 2 * nc..i + 2 * nc + 3],
                );
                let bad = ia[0] | ia[1] | ia[2] | ib[0] | ib[1] | ib[2] | ic[0] | ic[1] | ic[2];
                if bad == 0 {
                    let k = [a[0], a[1], a[2], b[0], b[1], b[2], c[0], c[1], c[2]];
                    out.data[[row, col]] = from_total_order_key(median9(k));
                    continue;
                }
            }
            w.clear();
            for dr in -1i64..=1 {
                for dc in -1i64..=1 {
                    let (rr, cc) = (row as i64 + dr, col as i64 + dc);
                    if rr < 0 || cc < 0 || rr >= nr as i64 || cc >= nc as i64 {
                        continue;
                    }
                    let v = r.data[[rr as usize, cc as usize]];
                    if is_valid(v) {
                        w.push(v);
                    }
                }
            }
            let centre_valid = is_valid(r.data[[row, col]]);
            if w.is_empty() || (!centre_valid && w.len() < 5) {
                continue;
            }
            w.sort_by(|a, b| a.total_cmp(b));
            let m = w.len();
            out.data[[row, col]] = if m % 2 == 1 {
                w[m / 2]
            } else {
                0.5 * (w[m / 2 - 1] + w[m / 2])
            };
        }
    }
    out
}

/// An `i32` that orders as `f32::total_cmp` orders the values (the standard library's key).
#[inline]
fn total_order_key(v: f32) -> i32 {
    let b = v.to_bits() as i32;
    b ^ (((b >> 31) as u32) >> 1) as i32
}

/// The inverse of [`total_order_key`].
#[inline]
fn from_total_order_key(k: i32) -> f32 {
    f32::from_bits((k ^ (((k >> 31) as u32) >> 1) as i32) as u32)
}

/// The median of 9 values: the 19 compare-exchanges of Paeth's median-of-9 network (as in
/// Devillard's `opt_med9`), which leaves the median in the middle slot. Written out, so that
/// the nine values stay in registers.
#[inline(always)]
fn median9(mut p: [i32; 9]) -> i32 {
    macro_rules! cx {
        ($a:literal, $b:literal) => {
            let (x, y) = (p[$a], p[$b]);
            p[$a] = x.min(y);
            p[$b] = x.max(y);
        };
    }
    cx!(1, 2);
    cx!(4, 5);
    cx!(7, 8);
    cx!(0, 1);
    cx!(3, 4);
    cx!(6, 7);
    cx!(1, 2);
    cx!(4, 5);
    cx!(7, 8);
    cx!(0, 3);
    cx!(5, 8);
    cx!(4, 7);
    cx!(3, 6);
    cx!(1, 4);
    cx!(2, 5);
    cx!(4, 7);
    cx!(4, 2);
    cx!(6, 4);
    cx!(4, 2);
    p[4]
}

fn gaussian(r: &Raster<f32>, sigma_m: f64) -> Raster<f32> {
    let (nr, nc) = (r.grid.nrows, r.grid.ncols);
    let k = radius_cells(Smooth::Gaussian, sigma_m, r.grid.res_m) as i64;
    let s = sigma_m / r.grid.res_m;
    let wts: Vec<f64> = (-k..=k)
        .map(|d| (-(d * d) as f64 / (2.0 * s * s)).exp())
        .collect();
    let full = ((2 * k + 1) * (2 * k + 1)) as usize;
    let mut out = Raster::filled(r.grid, CHM_NODATA);
    for row in 0..nr {
        for col in 0..nc {
            let (mut sw, mut sv, mut n) = (0.0f64, 0.0f64, 0usize);
            for dr in -k..=k {
                let rr = row as i64 + dr;
                if rr < 0 || rr >= nr as i64 {
                    continue;
                }
                for dc in -k..=k {
                    let cc = col as i64 + dc;
                    if cc < 0 || cc >= nc as i64 {
                        continue;
                    }
                    let v = r.data[[rr as usize, cc as usize]];
                    if is_valid(v) {
                        let w = wts[(dr + k) as usize] * wts[(dc + k) as usize];
                        sw += w;
                        sv += w * v as f64;
                        n += 1;
                    }
                }
            }
            let centre_valid = is_valid(r.data[[row, col]]);
            if n == 0 || (!centre_valid && 2 * n < full) {
                continue;
            }
            out.data[[row, col]] = (sv / sw) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Grid;

    #[test]
    fn median9_network_equals_the_sorted_middle() {
        let mut rnd = crate::testdata::uniform(3);
        for trial in 0..20_000 {
            let vals: [f32; 9] = std::array::from_fn(|_| match trial % 3 {
                // Few distinct values: many ties.
                0 => (rnd() * 4.0).floor() as f32 - 1.0,
                1 => [0.0f32, -0.0, 1.5, -2.25][(rnd() * 4.0) as usize % 4],
                _ => (rnd() * 60.0 - 5.0) as f32,
            });
            let mut sorted = vals;
            sorted.sort_by(|a, b| a.total_cmp(b));
            let m = from_total_order_key(median9(vals.map(total_order_key)));
            assert_eq!(m.to_bits(), sorted[4].to_bits(), "{vals:?}");
        }
    }

    #[test]
    fn median3_equals_the_sorted_window_everywhere() {
        // A random raster with nodata holes, some negative zeros and ties: every cell equals
        // the middle of its sorted valid window (the mean of the two middle ones when even).
        let mut rnd = crate::testdata::uniform(8);
        let g = Grid {
            x_min: 0.0,
            y_max: 30.0,
            res_m: 1.0,
            ncols: 37,
            nrows: 30,
        };
        let mut r = Raster::filled(g, CHM_NODATA);
        for v in r.data.iter_mut() {
            let u = rnd();
            *v = if u < 0.1 {
                CHM_NODATA
            } else if u < 0.15 {
                -0.0
            } else {
                (rnd() * 8.0).floor() as f32 * 0.5
            };
        }
        let m = median3(&r);
        for row in 0..g.nrows {
            for col in 0..g.ncols {
                let mut w: Vec<f32> = Vec::new();
                for rr in row.saturating_sub(1)..(row + 2).min(g.nrows) {
                    for cc in col.saturating_sub(1)..(col + 2).min(g.ncols) {
                        if is_valid(r.data[[rr, cc]]) {
                            w.push(r.data[[rr, cc]]);
                        }
                    }
                }
                let centre = is_valid(r.data[[row, col]]);
                let expected = if w.is_empty() || (!centre && w.len() < 5) {
                    CHM_NODATA
                } else {
                    w.sort_by(|a, b| a.total_cmp(b));
                    let n = w.len();
                    if n % 2 == 1 {
                        w[n / 2]
                    } else {
                        0.5 * (w[n / 2 - 1] + w[n / 2])
                    }
                };
                assert_eq!(m.data[[row, col]].to_bits(), expected.to_bits());
            }
        }
    }

    fn raster(vals: &[[f32; 4]; 4]) -> Raster<f32> {
        let g = Grid {
            x_min: 0.0,
            y_max: 4.0,
            res_m: 1.0,
            ncols: 4,
            nrows: 4,
        };
        let mut r = Raster::filled(g, CHM_NODATA);
        for (i, row) in vals.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                r.data[[i, j]] = v;
            }
        }
        r
    }

    #[test]
    fn median_removes_a_spike_and_fills_a_hole() {
        let n = CHM_NODATA;
        let r = raster(&[
            [10.0, 10.0, 10.0, 10.0],
            [10.0, 30.0, 10.0, 10.0],
            [10.0, 10.0, n, 10.0],
            [n, n, n, n],
        ]);
        let m = smooth(&r, Smooth::Median3, 0.0);
        assert_eq!(m.data[[1, 1]], 10.0);
        // 5 of 9 neighbours valid: filled.
        assert_eq!(m.data[[2, 2]], 10.0);
        // Bottom row: at most 4 of 9 (or of 6 at the edge) valid → stays empty.
        assert_eq!(m.data[[3, 1]], CHM_NODATA);
    }

    #[test]
    fn gaussian_preserves_a_constant_surface() {
        let r = raster(&[[5.0; 4]; 4]);
        let g = smooth(&r, Smooth::Gaussian, 1.0);
        assert!(g.data.iter().all(|v| (v - 5.0).abs() < 1e-5));
        assert_eq!(radius_cells(Smooth::Gaussian, 0.5, 0.5), 2);
    }
}
