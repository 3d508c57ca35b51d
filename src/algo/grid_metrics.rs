//! The standard metric set ([`crate::algo::metrics`]) on every cell of an aligned grid, as
//! lidR's `pixel_metrics(las, .stdmetrics, res)`.
//!
//! Points are binned into cells with one counting sort (cell of each point, per-cell counts,
//! prefix sums, then the columns scattered into cell order), and each cell's metrics are
//! computed from its contiguous run of returns — one pass over the points plus one sort per
//! cell. Cells are processed in parallel (rayon),
//! one [`MetricComputer`] per worker.
//!
//! A cell `(row, col)` covers `x ∈ [x₀, x₀ + res)`, `y ∈ (y₁ − res, y₁]` (see
//! [`crate::raster::Grid::cell_of`]). For seamless chunked output the caller passes the grid
//! of the cells its chunk computes ([`crate::raster::Grid::chunk_cells`])
//! and the points of the core *and* buffer: a cell may reach half a cell beyond the core, and
//! its points there are read from the buffer. Points outside the grid are ignored.
//!
//! A cell without any point is no data: every metric, `n` included, is NaN. A cell whose
//! points are all filtered out of the population (noise, return filter, minimum height) gets
//! `n = 0` and NaN elsewhere. The raster conversion maps NaN to nodata.
//!
//! See also: [`crate::algo::metrics`] (definitions), `landcarbon metrics --grid`.

use super::metrics::{MetricComputer, MetricOptions, Returns, N_METRICS};
use crate::raster::{Grid, Raster};
use rayon::prelude::*;

/// Metrics of every cell of a grid: `values[cell · N_METRICS + k]`, cells in row-major order.
#[derive(Debug, Clone)]
pub struct GridMetrics {
    pub grid: Grid,
    pub values: Vec<f64>,
    /// Points binned into the grid (before the metric filters).
    pub n_points: usize,
}

impl GridMetrics {
    /// The metrics of cell `(row, col)`.
    pub fn cell(&self, row: usize, col: usize) -> &[f64] {
        let c = row * self.grid.ncols + col;
        &self.values[c * N_METRICS..(c + 1) * N_METRICS]
    }

    /// One `f32` raster per metric (order of [`super::metrics::METRIC_NAMES`]), NaN → `nodata`.
    pub fn to_rasters(&self, nodata: f32) -> Vec<Raster<f32>> {
        (0..N_METRICS)
            .map(|k| {
                let mut r = Raster::filled(self.grid, nodata);
                for (c, v) in r.data.iter_mut().enumerate() {
                    let x = self.values[c * N_METRICS + k];
                    if x.is_finite() {
                        *v = x as f32;
                    }
                }
                r
            })
            .collect()
    }
}

/// Computes the metric set on each cell of `grid` from points `(x[i], y[i])` with attributes
/// `r` (same length).
pub fn grid_metrics(
    x: &[f64],
    y: &[f64],
    r: &Returns,
    grid: &Grid,
    opts: &MetricOptions,
) -> GridMetrics {
    let ncells = grid.len();
    let mut values = vec![f64::NAN; ncells * N_METRICS];
    if ncells == 0 {
        return GridMetrics {
            grid: *grid,
            values,
            n_points: 0,
        };
    }
    // Counting sort of point indices by cell.
    let mut counts = vec![0u32; ncells + 1];
    // Same cells as `Grid::cell_of` (floor of non-negative offsets = truncation, without
    // the libm call; by one instruction, where `as usize` takes a dozen).
    let (nc, nr) = (grid.ncols as f64, grid.nrows as f64);
    let cell_of: Vec<u32> = x
        .iter()
        .zip(y)
        .map(|(&px, &py)| {
            let fc = (px - grid.x_min) / grid.res_m;
            let fr = (grid.y_max - py) / grid.res_m;
            if fc >= 0.0 && fr >= 0.0 && fc < nc && fr < nr {
                // SAFETY: 0 ≤ fc < ncols and 0 ≤ fr < nrows (so neither is NaN), both far
                // below 2⁶³: each truncates to an i64 without overflow.
                let (c, r) =
                    unsafe { (fc.to_int_unchecked::<i64>(), fr.to_int_unchecked::<i64>()) };
                (r as usize * grid.ncols + c as usize) as u32
            } else {
                u32::MAX
            }
        })
        .collect();
    for &c in &cell_of {
        if c != u32::MAX {
            counts[c as usize + 1] += 1;
        }
    }
    for c in 0..ncells {
        counts[c + 1] += counts[c];
    }
    let starts = counts;
    let n_points = starts[ncells] as usize;
    // Scatter the columns into cell order, so that each cell's returns are contiguous (the
    // writes go to one open run per cell, which stays in cache; the per-cell work then reads
    // memory sequentially instead of gathering scattered points). All the columns in one
    // pass, each point's place read once (an empty column, an absent attribute, stays empty).
    let mut fill = starts.clone();
    let sized = |len: usize| if len == 0 { 0 } else { n_points };
    let mut h = vec![0.0; sized(r.height_m.len())];
    let mut inten = vec![0u16; sized(r.intensity.len())];
    let mut rn = vec![0u8; sized(r.return_number.len())];
    let mut nr = vec![0u8; sized(r.number_of_returns.len())];
    let mut cls = vec![0u8; sized(r.classification.len())];
    let mut flags = vec![0u8; sized(r.flags.len())];
    let n = cell_of.len();
    let full = |len: usize| len == n;
    if full(r.height_m.len())
        && full(r.intensity.len())
        && full(r.return_number.len())
        && full(r.number_of_returns.len())
        && full(r.classification.len())
        && full(r.flags.len())
    {
        // Every attribute present (the pipeline's case): the sources indexed within their
        // checked length, so without bounds checks.
        let (hs, is, rs, ns, cs, fs) = (
            &r.height_m[..n],
            &r.intensity[..n],
            &r.return_number[..n],
            &r.number_of_returns[..n],
            &r.classification[..n],
            &r.flags[..n],
        );
        // The destinations resliced to one length, which one test of the place then covers
        // (six lengths, pointers and sources were more than the registers, spilled per point).
        let np = n_points;
        let (h, inten, rn, nr, cls, flags) = (
            &mut h[..np],
            &mut inten[..np],
            &mut rn[..np],
            &mut nr[..np],
            &mut cls[..np],
            &mut flags[..np],
        );
        for (i, &c) in cell_of.iter().enumerate() {
            if c != u32::MAX {
                let slot = &mut fill[c as usize];
                let s = *slot as usize;
                *slot += 1;
                assert!(s < np, "a cell's places end at the next cell's start");
                h[s] = hs[i];
                inten[s] = is[i];
                rn[s] = rs[i];
                nr[s] = ns[i];
                cls[s] = cs[i];
                flags[s] = fs[i];
            }
        }
    } else {
        fn put<T: Copy>(out: &mut [T], src: &[T], s: usize, i: usize) {
            if !out.is_empty() {
                out[s] = src[i];
            }
        }
        for (i, &c) in cell_of.iter().enumerate() {
            if c != u32::MAX {
                let slot = &mut fill[c as usize];
                let s = *slot as usize;
                *slot += 1;
                put(&mut h, r.height_m, s, i);
                put(&mut inten, r.intensity, s, i);
                put(&mut rn, r.return_number, s, i);
                put(&mut nr, r.number_of_returns, s, i);
                put(&mut cls, r.classification, s, i);
                put(&mut flags, r.flags, s, i);
            }
        }
    }
    drop(cell_of);
    let sorted = Returns {
        height_m: &h,
        intensity: &inten,
        return_number: &rn,
        number_of_returns: &nr,
        classification: &cls,
        flags: &flags,
    };
    values
        .par_chunks_mut(N_METRICS * grid.ncols.max(1))
        .enumerate()
        .for_each_init(
            || MetricComputer::new(opts),
            |mc, (row, row_vals)| {
                for col in 0..grid.ncols {
                    let c = row * grid.ncols + col;
                    let (a, b) = (starts[c] as usize, starts[c + 1] as usize);
                    if a == b {
                        // No point at all: no data (every band nodata, `n` included).
                        continue;
                    }
                    mc.compute_into(
                        &sorted,
                        a..b,
                        &mut row_vals[col * N_METRICS..(col + 1) * N_METRICS],
                    );
                }
            },
        );
    GridMetrics {
        grid: *grid,
        values,
        n_points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::metrics::{metric_index, metrics};

    #[test]
    fn cells_equal_metrics_of_their_points() {
        // 2 × 2 grid of 10 m cells at (0, 20); heights vary by cell.
        let grid = Grid {
            x_min: 0.0,
            y_max: 20.0,
            res_m: 10.0,
            ncols: 3,
            nrows: 2,
        };
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut z = Vec::new();
        for i in 0..400 {
            let px = (i % 20) as f64 + 0.5;
            let py = (i / 20) as f64 + 0.5;
            x.push(px);
            y.push(py);
            z.push(px * 0.5 + py * 0.1 + (i % 7) as f64);
        }
        // A point outside the grid is ignored.
        x.push(50.0);
        // The third column holds no point.
        y.push(5.0);
        z.push(99.0);
        let r = Returns::heights(&z);
        let opts = MetricOptions::default();
        let g = grid_metrics(&x, &y, &r, &grid, &opts);
        assert_eq!(g.n_points, 400);
        for row in 0..2 {
            for col in 0..2 {
                let zs: Vec<f64> = (0..400)
                    .filter(|&i| grid.cell_of(x[i], y[i]) == Some((row, col)))
                    .map(|i| z[i])
                    .collect();
                assert_eq!(zs.len(), 100);
                let want = metrics(&Returns::heights(&zs), &opts);
                let got = g.cell(row, col);
                for k in 0..N_METRICS {
                    assert!(
                        (want[k].is_nan() && got[k].is_nan()) || want[k] == got[k],
                        "cell ({row},{col}) metric {k}: {} vs {}",
                        want[k],
                        got[k]
                    );
                }
            }
        }
        assert!(g.cell(0, 2)[0].is_nan(), "an empty cell is no data");
        let rasters = g.to_rasters(-9999.0);
        let zmax = &rasters[metric_index("zmax").unwrap()];
        assert_eq!(zmax.data.iter().filter(|v| **v > 0.0).count(), 4);
        assert_eq!(zmax.data[[1, 2]], -9999.0);
        // No intensity: nodata, not NaN.
        let itot = &rasters[metric_index("itot").unwrap()];
        assert!(itot.data.iter().all(|v| *v == -9999.0));
    }
}
