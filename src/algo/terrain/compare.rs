//! Agreement of two elevation rasters (DTM A against DTM B) over the cells valid in both.
//!
//! With `d = A − B` over the `n` common cells: RMSE `√(Σd²/n)`, bias (mean error) `Σd/n`, MAE
//! `Σ|d|/n`, maximum absolute error and where it occurs. A cell is valid when it is finite and
//! not its raster's nodata. The rasters must have the same cell size and be aligned (their
//! origins a whole number of cells apart); only the overlapping cells are compared, so two DTMs
//! of different extents on the same aligned grid (e.g. from `landcarbon dtm` with one
//! resolution) compare directly.
//!
//! These are the usual DTM accuracy figures (e.g. ASPRS Positional Accuracy Standards, RMSEz);
//! the target for our ground versus the provider's ground is RMSE ≤ 0.15 m at 1 m.
//!
//! See also: [`super::dtm`], `landcarbon eval dtm`.

use crate::raster::Raster;
use crate::{Error, Result};

/// Differences `A − B` over the common valid cells.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RasterDiff {
    /// Cells valid in both.
    pub n_common: usize,
    /// Cells of the overlap valid in A only.
    pub n_only_a: usize,
    /// Cells of the overlap valid in B only.
    pub n_only_b: usize,
    /// Root mean square of `A − B`.
    pub rmse_m: f64,
    /// Mean of `A − B`.
    pub bias_m: f64,
    /// Mean of `|A − B|`.
    pub mae_m: f64,
    /// Largest `|A − B|`.
    pub max_abs_m: f64,
    /// Centre `(x, y)` of the cell with the largest `|A − B|`.
    pub max_abs_at: [f64; 2],
}

/// Compares `a` with `b` (see the module doc). Errors when the grids differ in cell size, are
/// not aligned, do not overlap, or share no valid cell.
pub fn compare(a: &Raster<f64>, b: &Raster<f64>) -> Result<RasterDiff> {
    let (ga, gb) = (&a.grid, &b.grid);
    let res = ga.res_m;
    if (ga.res_m - gb.res_m).abs() > 1e-9 * res.max(gb.res_m) {
        return Err(Error::data(
            "compare rasters",
            format!("cell sizes differ: {} vs {}", ga.res_m, gb.res_m),
        ));
    }
    // Offset of B's origin in A's cells; must be whole.
    let fc = (gb.x_min - ga.x_min) / res;
    let fr = (ga.y_max - gb.y_max) / res;
    if (fc - fc.round()).abs() > 1e-6 || (fr - fr.round()).abs() > 1e-6 {
        return Err(Error::data(
            "compare rasters",
            format!(
                "grids are not aligned: origins ({}, {}) and ({}, {}) are not a whole number of {} m cells apart",
                ga.x_min, ga.y_max, gb.x_min, gb.y_max, res
            ),
        ));
    }
    let (dc, dr) = (fc.round() as i64, fr.round() as i64);
    // Overlap in A's row/col indices.
    let r0 = dr.max(0);
    let c0 = dc.max(0);
    let r1 = (dr + gb.nrows as i64).min(ga.nrows as i64);
    let c1 = (dc + gb.ncols as i64).min(ga.ncols as i64);
    if r1 <= r0 || c1 <= c0 {
        return Err(Error::data("compare rasters", "the rasters do not overlap"));
    }
    let valid = |v: f64, nodata: f64| v.is_finite() && v != nodata;
    let (mut n, mut only_a, mut only_b) = (0usize, 0usize, 0usize);
    let (mut s, mut s2, mut sa) = (0.0f64, 0.0f64, 0.0f64);
    let (mut max_abs, mut max_at) = (0.0f64, [f64::NAN; 2]);
    for r in r0..r1 {
        for c in c0..c1 {
            let va = a.data[[r as usize, c as usize]];
            let vb = b.data[[(r - dr) as usize, (c - dc) as usize]];
            match (valid(va, a.nodata), valid(vb, b.nodata)) {
                (true, true) => {
                    let d = va - vb;
                    n += 1;
                    s += d;
                    s2 += d * d;
                    sa += d.abs();
                    if d.abs() > max_abs || max_at[0].is_nan() {
                        max_abs = d.abs();
                        let (x, y) = ga.centre(r as usize, c as usize);
                        max_at = [x, y];
                    }
                }
                (true, false) => only_a += 1,
                (false, true) => only_b += 1,
                (false, false) => {}
            }
        }
    }
    if n == 0 {
        return Err(Error::data(
            "compare rasters",
            "no cell is valid in both rasters",
        ));
    }
    let nf = n as f64;
    Ok(RasterDiff {
        n_common: n,
        n_only_a: only_a,
        n_only_b: only_b,
        rmse_m: (s2 / nf).sqrt(),
        bias_m: s / nf,
        mae_m: sa / nf,
        max_abs_m: max_abs,
        max_abs_at: max_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Grid;

    fn raster(
        x_min: f64,
        y_max: f64,
        ncols: usize,
        nrows: usize,
        f: impl Fn(f64, f64) -> f64,
    ) -> Raster<f64> {
        let grid = Grid {
            x_min,
            y_max,
            res_m: 1.0,
            ncols,
            nrows,
        };
        let mut r = Raster::filled(grid, -9999.0);
        for row in 0..nrows {
            for col in 0..ncols {
                let (x, y) = grid.centre(row, col);
                r.data[[row, col]] = f(x, y);
            }
        }
        r
    }

    #[test]
    fn statistics_on_a_known_difference() {
        let a = raster(0.0, 10.0, 10, 10, |x, _| 100.0 + x);
        // B = A − 0.1 on even columns, A + 0.3 on odd: bias 0.1, MAE 0.2, RMSE √0.05.
        let b = raster(0.0, 10.0, 10, 10, |x, _| {
            100.0 + x + if (x - 0.5) as i64 % 2 == 0 { -0.1 } else { 0.3 }
        });
        let d = compare(&a, &b).unwrap();
        assert_eq!(d.n_common, 100);
        assert!((d.bias_m - (-0.1)).abs() < 1e-9, "{d:?}");
        assert!((d.mae_m - 0.2).abs() < 1e-9);
        assert!((d.rmse_m - 0.05f64.sqrt()).abs() < 1e-9);
        assert!((d.max_abs_m - 0.3).abs() < 1e-9);
    }

    #[test]
    fn overlap_nodata_and_alignment() {
        let mut a = raster(0.0, 10.0, 10, 10, |_, _| 5.0);
        a.data[[0, 5]] = -9999.0;
        a.data[[0, 6]] = f64::NAN;
        // B is shifted 5 cells east: overlap = columns 5..10 of A.
        let b = raster(5.0, 10.0, 10, 10, |_, _| 6.0);
        let d = compare(&a, &b).unwrap();
        assert_eq!(d.n_common, 48);
        assert_eq!(d.n_only_b, 2);
        assert!((d.bias_m + 1.0).abs() < 1e-12);
        let c = raster(5.5, 10.0, 10, 10, |_, _| 6.0);
        assert!(compare(&a, &c)
            .unwrap_err()
            .to_string()
            .contains("not aligned"));
        let far = raster(50.0, 10.0, 10, 10, |_, _| 6.0);
        assert!(compare(&a, &far)
            .unwrap_err()
            .to_string()
            .contains("overlap"));
        let empty = raster(0.0, 10.0, 10, 10, |_, _| -9999.0);
        assert!(compare(&a, &empty).is_err());
    }
}
