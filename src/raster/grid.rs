//! [`Grid`]: a north-up raster grid (origin, cell size, shape), aligned to multiples of the cell
//! size so that rasters made by different chunks line up cell for cell.

use crate::catalog::Rect;

/// A north-up grid: cell `(row, col)` covers the half-open square
/// `x ∈ [x_min + col·res, x_min + (col+1)·res)`, `y ∈ [y_max − (row+1)·res, y_max − row·res)`,
/// the same convention as chunk cores, so a point on a cell edge belongs to the cell (and the
/// chunk) on its upper/right side.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Grid {
    pub x_min: f64,
    pub y_max: f64,
    pub res_m: f64,
    pub ncols: usize,
    pub nrows: usize,
}

/// Most cells a raster may have: 2^34 (a 16 GiB mosaic of f32 at most, written by blocks).
pub const MAX_CELLS: usize = 1 << 34;

impl Grid {
    /// The grid of cells of size `res_m`, aligned to multiples of `res_m`, whose centres lie in
    /// the half-open rectangle `r` (`[xmin, ymin, xmax, ymax]`). Chunks whose cores tile the
    /// plane therefore own disjoint sets of cells that together cover it.
    pub fn covering_centres(r: &Rect, res_m: f64) -> Grid {
        // First column whose centre x_c = (k + 0.5)·res ≥ r[0]; last with x_c < r[2].
        let c0 = (r[0] / res_m - 0.5).ceil() as i64;
        let c1 = (r[2] / res_m - 0.5).ceil() as i64; // exclusive
        let k0 = (r[1] / res_m - 0.5).ceil() as i64;
        let k1 = (r[3] / res_m - 0.5).ceil() as i64; // exclusive, in rows counted upward
        Grid {
            x_min: c0 as f64 * res_m,
            y_max: k1 as f64 * res_m,
            res_m,
            ncols: (c1 - c0).max(0) as usize,
            nrows: (k1 - k0).max(0) as usize,
        }
    }

    /// The aligned grid covering the rectangle `r` entirely (cells touching it).
    pub fn covering(r: &Rect, res_m: f64) -> Grid {
        let c0 = (r[0] / res_m).floor() as i64;
        let c1 = (r[2] / res_m).floor() as i64 + 1;
        let k0 = (r[1] / res_m).floor() as i64;
        let k1 = (r[3] / res_m).floor() as i64 + 1;
        Grid {
            x_min: c0 as f64 * res_m,
            y_max: k1 as f64 * res_m,
            res_m,
            ncols: (c1 - c0).max(0) as usize,
            nrows: (k1 - k0).max(0) as usize,
        }
    }

    /// The grid of every raster product (DTM, CHM, metric grids) over data whose bounding box
    /// is `extent`: the cells of `res_m` touching it, edges on multiples of `res_m`. It depends
    /// on the data and the resolution only, so every command, `run`, and any `--chunk-size` or
    /// `--buffer` give rasters of one origin and extent.
    pub fn product(extent: &Rect, res_m: f64) -> Grid {
        Grid::covering(extent, res_m)
    }

    /// The cells of the product grid `self` that chunk `i` of a plan whose cores are `cores`
    /// computes: those whose centres lie in its core and, on each side where a cell of the
    /// strip just beyond has its centre in no core (the plan's outer edge, where a cell
    /// touching the data may have its centre up to half a cell outside every core), one more
    /// row or column, so that every product cell belongs to some chunk. A cell so taken by two
    /// chunks is computed by both from the same buffered points. The chunk buffer must reach
    /// 1.5 cells beyond the core.
    pub fn chunk_cells(&self, cores: &[Rect], i: usize) -> Grid {
        let res = self.res_m;
        let mut g = Grid::covering_centres(&cores[i], res);
        if g.is_empty() {
            return g;
        }
        // Only cores near this one can own a cell of its strips.
        let r = g.rect();
        let reach = [
            r[0] - 2.0 * res,
            r[1] - 2.0 * res,
            r[2] + 2.0 * res,
            r[3] + 2.0 * res,
        ];
        let near: Vec<&Rect> = cores
            .iter()
            .filter(|c| {
                c[0] <= reach[2] && reach[0] <= c[2] && c[1] <= reach[3] && reach[1] <= c[3]
            })
            .collect();
        let inside = |x: f64, y: f64| {
            x >= self.x_min && x < self.x_max() && y >= self.y_min() && y < self.y_max
        };
        let orphan = |x: f64, y: f64| {
            inside(x, y)
                && !near
                    .iter()
                    .any(|c| x >= c[0] && x < c[2] && y >= c[1] && y < c[3])
        };
        let h = res / 2.0;
        let cols = |y: f64| (0..g.ncols).any(|k| orphan(r[0] + h + k as f64 * res, y));
        let rows = |x: f64| (0..g.nrows).any(|k| orphan(x, r[1] + h + k as f64 * res));
        let (left, right, bottom, top) = (
            rows(r[0] - h),
            rows(r[2] + h),
            cols(r[1] - h),
            cols(r[3] + h),
        );
        if left {
            g.x_min -= res;
            g.ncols += 1;
        }
        if right {
            g.ncols += 1;
        }
        if top {
            g.y_max += res;
            g.nrows += 1;
        }
        if bottom {
            g.nrows += 1;
        }
        g.intersect(self)
    }

    /// The cells common to two aligned grids of one resolution (no cell when they are apart).
    pub fn intersect(&self, b: &Grid) -> Grid {
        let x_min = self.x_min.max(b.x_min);
        let y_max = self.y_max.min(b.y_max);
        let x_max = self.x_max().min(b.x_max());
        let y_min = self.y_min().max(b.y_min());
        Grid {
            x_min,
            y_max,
            res_m: self.res_m,
            ncols: ((x_max - x_min) / self.res_m).round().max(0.0) as usize,
            nrows: ((y_max - y_min) / self.res_m).round().max(0.0) as usize,
        }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.ncols * self.nrows
    }

    /// Refuses a grid of more than [`MAX_CELLS`] cells (or a side above 2^31, which a GeoTIFF
    /// cannot hold) with an error naming `what`, rather than an allocation abort.
    pub fn check_size(&self, what: &std::path::Path) -> crate::Result<()> {
        let cells = self.ncols as u128 * self.nrows as u128;
        if cells > MAX_CELLS as u128 || self.ncols >= 1 << 31 || self.nrows >= 1 << 31 {
            return Err(crate::Error::data(
                what.display(),
                format!(
                    "a {} x {} raster of {} m cells is too large (more than {MAX_CELLS} cells): check the inputs' extent and CRS units, or use a larger resolution",
                    self.ncols, self.nrows, self.res_m
                ),
            ));
        }
        Ok(())
    }

    /// `true` for a grid with no cell.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Minimum y.
    pub fn y_min(&self) -> f64 {
        self.y_max - self.nrows as f64 * self.res_m
    }

    /// Maximum x.
    pub fn x_max(&self) -> f64 {
        self.x_min + self.ncols as f64 * self.res_m
    }

    /// `[xmin, ymin, xmax, ymax]`.
    pub fn rect(&self) -> Rect {
        [self.x_min, self.y_min(), self.x_max(), self.y_max]
    }

    /// Centre of cell `(row, col)`.
    pub fn centre(&self, row: usize, col: usize) -> (f64, f64) {
        (
            self.x_min + (col as f64 + 0.5) * self.res_m,
            self.y_max - (row as f64 + 0.5) * self.res_m,
        )
    }

    /// Cell `(row, col)` containing `(x, y)`, or `None` outside the grid.
    ///
    /// Called per point by the rasterizers: the offsets are compared and truncated without
    /// `floor` (a libm call). The result is the same: `floor(v) < 0` exactly when `v < 0`,
    /// `floor(v) >= n` exactly when `v >= n` for a whole `n`, and truncation is the floor of a
    /// non-negative `v`.
    pub fn cell_of(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let c = (x - self.x_min) / self.res_m;
        // Rows counted upward from the bottom edge, so that y is half-open like x.
        let k = (y - self.y_min()) / self.res_m;
        if c < 0.0 || k < 0.0 || c >= self.ncols as f64 || k >= self.nrows as f64 {
            None
        } else {
            Some((self.nrows - 1 - k as usize, c as usize))
        }
    }

    /// GDAL geotransform `[x_min, res, 0, y_max, 0, -res]`.
    pub fn geotransform(&self) -> [f64; 6] {
        [self.x_min, self.res_m, 0.0, self.y_max, 0.0, -self.res_m]
    }

    /// Offset `(row, col)` of this grid's first cell within `outer` (both aligned, same res).
    pub fn offset_in(&self, outer: &Grid) -> (i64, i64) {
        (
            ((outer.y_max - self.y_max) / self.res_m).round() as i64,
            ((self.x_min - outer.x_min) / self.res_m).round() as i64,
        )
    }

    /// The smallest grid containing both.
    pub fn union(&self, other: &Grid) -> Grid {
        let x_min = self.x_min.min(other.x_min);
        let y_max = self.y_max.max(other.y_max);
        let x_max = self.x_max().max(other.x_max());
        let y_min = self.y_min().min(other.y_min());
        Grid {
            x_min,
            y_max,
            res_m: self.res_m,
            ncols: ((x_max - x_min) / self.res_m).round() as usize,
            nrows: ((y_max - y_min) / self.res_m).round() as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_grids_of_adjacent_cores_partition_cells() {
        let a = Grid::covering_centres(&[0.0, 0.0, 100.0, 50.0], 3.0);
        let b = Grid::covering_centres(&[100.0, 0.0, 200.0, 50.0], 3.0);
        // Centres 1.5, 4.5, ..., 97.5 in a; 100.5, ... in b.
        assert_eq!(a.x_min, 0.0);
        assert_eq!(a.ncols, 33);
        assert_eq!(b.x_min, 99.0);
        assert_eq!(a.x_max(), b.x_min);
        let (cx, _) = b.centre(0, 0);
        assert!(cx >= 100.0);
    }

    #[test]
    fn product_grid_cells_each_belong_to_a_chunk_whatever_the_chunking() {
        // Data from 3.7 to 149.2 (x) and 10.1 to 58.9 (y), 4 m cells: the product grid
        // depends on the extent only.
        let ext = [3.7, 10.1, 149.2, 58.9];
        let p = Grid::product(&ext, 4.0);
        assert_eq!((p.x_min, p.y_max, p.ncols, p.nrows), (0.0, 60.0, 38, 13));
        // Cores of 50 m chunks from 0, and of one snapped tile (align 20).
        let grid50: Vec<Rect> = (0..3)
            .flat_map(|i| {
                (0..2).map(move |j| {
                    let (x, y) = (i as f64 * 50.0, j as f64 * 50.0);
                    [x, y, x + 50.0, y + 50.0]
                })
            })
            .filter(|c| c[2] > ext[0] && c[0] <= ext[2] && c[3] > ext[1] && c[1] <= ext[3])
            .collect();
        let tile = vec![[0.0, 0.0, 160.0, 60.0]];
        for cores in [grid50, tile] {
            let mut count = vec![0u32; p.len()];
            for i in 0..cores.len() {
                let g = p.chunk_cells(&cores, i);
                assert_eq!(g.intersect(&p), g, "chunk cells stay in the product grid");
                for r in 0..g.nrows {
                    for c in 0..g.ncols {
                        let (x, y) = g.centre(r, c);
                        let (pr, pc) = p.cell_of(x, y).unwrap();
                        count[pr * p.ncols + pc] += 1;
                    }
                }
            }
            assert!(
                count.iter().all(|&n| n >= 1),
                "a product cell belongs to no chunk"
            );
        }
    }

    #[test]
    fn chunk_cells_extend_only_on_free_sides() {
        // Two tiles side by side, cores [0, 101) and [100, 201) (1 m snapping overlap), in a
        // product grid reaching one cell beyond them.
        let cores = [[0.0, 0.0, 101.0, 50.0], [100.0, 0.0, 201.0, 50.0]];
        let p = Grid::product(&[-10.0, -10.0, 210.0, 50.0], 20.0);
        let a = p.chunk_cells(&cores, 0);
        let b = p.chunk_cells(&cores, 1);
        // a: centres 10..90 → 5 columns, plus one on the left; rows: centres 10..30 → 2 rows
        // plus top (40..60) and bottom (−20..0).
        assert_eq!((a.x_min, a.ncols), (-20.0, 6));
        assert_eq!((a.y_max, a.nrows), (60.0, 4));
        // b: centres 110..190 → [100, 200), plus one on the right; not on the left.
        assert_eq!((b.x_min, b.ncols), (100.0, 6));
        assert_eq!(a.x_max(), b.x_min);
        // Not beyond the product grid.
        let small = Grid::product(&[0.0, 0.0, 199.0, 39.0], 20.0);
        let a = small.chunk_cells(&cores, 0);
        assert_eq!((a.x_min, a.ncols, a.y_max, a.nrows), (0.0, 5, 40.0, 2));
    }

    #[test]
    fn cell_of_and_centre_agree() {
        let g = Grid {
            x_min: 10.0,
            y_max: 100.0,
            res_m: 2.0,
            ncols: 5,
            nrows: 4,
        };
        for r in 0..4 {
            for c in 0..5 {
                let (x, y) = g.centre(r, c);
                assert_eq!(g.cell_of(x, y), Some((r, c)));
            }
        }
        assert_eq!(g.cell_of(9.9, 99.0), None);
        assert_eq!(g.cell_of(20.0, 99.0), None);
        // Edges are half-open on the upper side, like chunk cores.
        assert_eq!(g.cell_of(10.0, 92.0), Some((3, 0)));
        assert_eq!(g.cell_of(10.0, 94.0), Some((2, 0)));
        assert_eq!(g.cell_of(10.0, 100.0), None);
    }
}
