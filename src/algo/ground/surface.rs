//! Raster helpers shared by the ground filters: a flat cell grid over a point set, the
//! minimum surface, harmonic void filling, grey-scale morphology with disk and diamond
//! structuring elements, and bilinear / bicubic sampling.
//!
//! Grids here are plain row-major `Vec<f64>` with row 0 at the *south* edge (`y0`), which is
//! what the filters want (no flips, no ndarray); [`Surface::to_raster`] converts to the crate's
//! north-up [`crate::raster::Raster`] when a caller wants a GeoTIFF.
//!
//! * Void filling ([`inpaint`]) solves the "spring" (membrane) equations of D'Errico's
//!   `inpaint_nans` that Pingel et al. (2013) found best for SMRF: every unknown cell equals the
//!   mean of its eight neighbours. It is solved coarse-to-fine (2×2 block means, the coarse
//!   solution as the initial guess, a few Gauss–Seidel sweeps per level), so large voids cost
//!   O(cells) instead of the O(cells²) of plain relaxation.
//! * Morphology ([`erode`], [`dilate`]) decomposes the disk (`dx² + dy² ≤ r²`) or diamond
//!   (`|dx| + |dy| ≤ r`) into one horizontal running min/max per row offset (van Herk /
//!   Gil–Werman, O(1) per cell), so a radius-`r` operation costs O(r) per cell. SMRF's series
//!   of openings with radii 1, 2, … erodes each radius from the previous one
//!   ([`ErosionSeries`]: the cell and its four neighbours, plus a few extra points of the disk)
//!   and dilates row by row ([`RowDilation`]).
//!
//! See also: [`super::smrf`], [`super::csf`], [`super::auto`].

use rayon::prelude::*;

/// Cells per grid above which the helpers use rayon (below it threads cost more than they save).
pub(crate) const PAR_CELLS: usize = 1 << 14;

/// A regular grid of square cells; cell `(row, col)` covers
/// `[x0 + col·cell, x0 + (col+1)·cell) × [y0 + row·cell, y0 + (row+1)·cell)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellGrid {
    pub x0: f64,
    pub y0: f64,
    pub cell: f64,
    pub cols: usize,
    pub rows: usize,
}

impl CellGrid {
    /// The grid of `cell`-sized cells covering the points, with cell edges on multiples of
    /// `cell` (so that chunks of one catalog share their cells and agree across seams); `None`
    /// for no points or non-finite coordinates.
    pub fn around(x: &[f64], y: &[f64], cell: f64) -> Option<CellGrid> {
        if x.is_empty() || cell.is_nan() || cell <= 0.0 {
            return None;
        }
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for i in 0..x.len() {
            x0 = x0.min(x[i]);
            x1 = x1.max(x[i]);
            y0 = y0.min(y[i]);
            y1 = y1.max(y[i]);
        }
        if !(x0.is_finite() && x1.is_finite() && y0.is_finite() && y1.is_finite()) {
            return None;
        }
        let (ax, ay) = ((x0 / cell).floor() * cell, (y0 / cell).floor() * cell);
        Some(CellGrid::spanning(ax, ay, x1, y1, cell))
    }

    /// The grid starting at `(x0, y0)` that contains `(x1, y1)`.
    pub fn spanning(x0: f64, y0: f64, x1: f64, y1: f64, cell: f64) -> CellGrid {
        CellGrid {
            x0,
            y0,
            cell,
            cols: ((x1 - x0) / cell).floor() as usize + 1,
            rows: ((y1 - y0) / cell).floor() as usize + 1,
        }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cols * self.rows
    }

    /// `true` for a grid without cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `d / cell`: a distance in cells. The default 1 m cells skip the division (the quotient by
    /// 1 is `d` itself), which costs more than the rest of a point's cell index.
    #[inline]
    pub fn in_cells(&self, d: f64) -> f64 {
        if self.cell == 1.0 {
            d
        } else {
            d / self.cell
        }
    }

    /// Column of `x`, clamped into the grid.
    #[inline]
    pub fn col(&self, x: f64) -> usize {
        clamped_index(self.in_cells(x - self.x0), self.cols)
    }

    /// Row of `y`, clamped into the grid.
    #[inline]
    pub fn row(&self, y: f64) -> usize {
        clamped_index(self.in_cells(y - self.y0), self.rows)
    }

    /// Flat index of the cell containing `(x, y)` (clamped).
    #[inline]
    pub fn index(&self, x: f64, y: f64) -> usize {
        self.row(y) * self.cols + self.col(x)
    }

    /// [`Self::index`] of every point `(x[i], y[i])`, into `out[i]`. With AVX2 four points at a
    /// time: the same differences and quotients, and the clamp before the truncation instead of
    /// after it, which gives the same index (`n − 1` is a whole number, so the truncation of
    /// the smaller of `v` and `n − 1` is the smaller of the truncation and `n − 1`); on grids of
    /// up to 2³¹ − 1 cells, whose indices fit the 32-bit lanes.
    pub fn indices(&self, x: &[f64], y: &[f64], out: &mut [usize]) {
        assert!(x.len() == y.len() && out.len() == x.len());
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if self.len() <= i32::MAX as usize && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked on the line above); the slices have one length
            // (asserted above) and the grid's indices fit in an i32 (checked above).
            done = unsafe { self.indices_avx2(x, y, out) };
        }
        for i in done..x.len() {
            out[i] = self.index(x[i], y[i]);
        }
    }

    /// [`Self::indices`] four points at a time; returns the number of points done (all but the
    /// last `len % 4`).
    ///
    /// # Safety
    /// The CPU must have AVX2; `y` and `out` at least as long as `x`; `self.len() ≤ i32::MAX`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn indices_avx2(&self, x: &[f64], y: &[f64], out: &mut [usize]) -> usize {
        use std::arch::x86_64::*;
        debug_assert!(y.len() >= x.len() && out.len() >= x.len());
        debug_assert!(self.len() <= i32::MAX as usize);
        let n4 = x.len() - x.len() % 4;
        let set1 = _mm256_set1_pd;
        let (x0, y0, cell, one) = (set1(self.x0), set1(self.y0), set1(self.cell), set1(1.0));
        let (last_col, last_row) = (set1((self.cols - 1) as f64), set1((self.rows - 1) as f64));
        let unit = self.cell == 1.0;
        let cols = _mm_set1_epi32(self.cols as i32);
        // clamped_index: 0 below 1 (and for NaN), else the truncation of min(v, n − 1).
        let clamped = |v: __m256d, last: __m256d| {
            let at_least_one = _mm256_cmp_pd::<_CMP_GE_OQ>(v, one);
            _mm256_cvttpd_epi32(_mm256_and_pd(at_least_one, _mm256_min_pd(v, last)))
        };
        let mut i = 0;
        while i < n4 {
            // SAFETY: i + 4 ≤ n4 ≤ the length of x, y and out.
            unsafe {
                let dx = _mm256_sub_pd(_mm256_loadu_pd(x.as_ptr().add(i)), x0);
                let dy = _mm256_sub_pd(_mm256_loadu_pd(y.as_ptr().add(i)), y0);
                let (fx, fy) = if unit {
                    (dx, dy)
                } else {
                    (_mm256_div_pd(dx, cell), _mm256_div_pd(dy, cell))
                };
                let (c, r) = (clamped(fx, last_col), clamped(fy, last_row));
                let k = _mm_add_epi32(_mm_mullo_epi32(r, cols), c);
                let k = _mm256_cvtepu32_epi64(k);
                _mm256_storeu_si256(out.as_mut_ptr().add(i).cast(), k);
            }
            i += 4;
        }
        n4
    }

    /// The x of the centres of the columns and the y of the centres of the rows:
    /// [`Self::centre`]`(row, col)` is `(xs[col], ys[row])`.
    pub fn centre_lines(&self) -> (Vec<f64>, Vec<f64>) {
        let xs = (0..self.cols).map(|c| self.centre(0, c).0).collect();
        let ys = (0..self.rows).map(|r| self.centre(r, 0).1).collect();
        (xs, ys)
    }

    /// Centre of cell `(row, col)`.
    pub fn centre(&self, row: usize, col: usize) -> (f64, f64) {
        (
            self.x0 + (col as f64 + 0.5) * self.cell,
            self.y0 + (row as f64 + 0.5) * self.cell,
        )
    }
}

/// `floor(v)` clamped into `0..n` (0 for NaN). Above 0 the floor is the truncation `as usize`
/// does, which saves the call to `floor` (a libm call without SSE4.1): the index of every
/// point, several times per filter. The truncation goes through `i64` (one instruction on
/// SSE2, where `as usize` is a branchy sequence); it differs from `as usize` only at 2⁶³ and
/// above, which the clamp maps to `n − 1` either way.
#[inline]
fn clamped_index(v: f64, n: usize) -> usize {
    if v >= 1.0 {
        (v as i64 as usize).min(n - 1)
    } else {
        0
    }
}

/// `floor(v)` for finite `v` of magnitude below 2⁶³, without a libm call (see
/// [`clamped_index`]).
#[inline]
fn fast_floor(v: f64) -> f64 {
    let t = v as i64 as f64;
    if t > v {
        t - 1.0
    } else {
        t
    }
}

/// A gridded surface (for example a filter's provisional bare-earth model).
#[derive(Debug, Clone)]
pub struct Surface {
    pub grid: CellGrid,
    /// Row-major heights, row 0 at the south edge; finite everywhere.
    pub z: Vec<f64>,
}

impl Surface {
    /// Height of cell `(r, c)`; indices up to two cells outside the grid extrapolate the edge
    /// linearly (so that interpolation near the border keeps the border's slope).
    #[inline]
    fn at(&self, r: isize, c: isize) -> f64 {
        let rows = self.grid.rows as isize;
        let r = r.clamp(-2, rows + 1);
        if r < 0 && rows > 1 {
            let (a, b) = (self.at_col(0, c), self.at_col(1, c));
            a + r as f64 * (b - a)
        } else if r >= rows && rows > 1 {
            let (a, b) = (self.at_col(rows - 1, c), self.at_col(rows - 2, c));
            a + (r - rows + 1) as f64 * (a - b)
        } else {
            self.at_col(r.clamp(0, rows - 1), c)
        }
    }

    #[inline]
    fn at_col(&self, r: isize, c: isize) -> f64 {
        let cols = self.grid.cols as isize;
        let row = &self.z[r as usize * self.grid.cols..(r as usize + 1) * self.grid.cols];
        let c = c.clamp(-2, cols + 1);
        if c < 0 && cols > 1 {
            row[0] + c as f64 * (row[1] - row[0])
        } else if c >= cols && cols > 1 {
            let (a, b) = (row[cols as usize - 1], row[cols as usize - 2]);
            a + (c - cols + 1) as f64 * (a - b)
        } else {
            row[c.clamp(0, cols - 1) as usize]
        }
    }

    /// Fractional (row, col) position of `(x, y)` relative to cell centres.
    #[inline]
    fn frac(&self, x: f64, y: f64) -> (isize, isize, f64, f64) {
        let fx = self.grid.in_cells(x - self.grid.x0) - 0.5;
        let fy = self.grid.in_cells(y - self.grid.y0) - 0.5;
        let c = fast_floor(fx);
        let r = fast_floor(fy);
        (r as isize, c as isize, fx - c, fy - r)
    }

    /// Bilinear interpolation between cell centres (edge cells extend outward).
    pub fn bilinear(&self, x: f64, y: f64) -> f64 {
        self.bilinear_at(self.frac(x, y))
    }

    #[inline]
    fn bilinear_at(&self, (r, c, tx, ty): (isize, isize, f64, f64)) -> f64 {
        let cols = self.grid.cols;
        if r >= 0 && c >= 0 && (r as usize) + 1 < self.grid.rows && (c as usize) + 1 < cols {
            // Inside the grid (nearly every call): the same sums without the edge rules.
            let k = r as usize * cols + c as usize;
            let (p, q) = (&self.z[k..k + 2], &self.z[k + cols..k + cols + 2]);
            let a = p[0] * (1.0 - tx) + p[1] * tx;
            let b = q[0] * (1.0 - tx) + q[1] * tx;
            return a * (1.0 - ty) + b * ty;
        }
        let a = self.at(r, c) * (1.0 - tx) + self.at(r, c + 1) * tx;
        let b = self.at(r + 1, c) * (1.0 - tx) + self.at(r + 1, c + 1) * tx;
        a * (1.0 - ty) + b * ty
    }

    /// Bicubic (Catmull–Rom cubic convolution) interpolation between cell centres.
    pub fn bicubic(&self, x: f64, y: f64) -> f64 {
        self.bicubic_at(self.frac(x, y))
    }

    #[inline]
    fn bicubic_at(&self, (r, c, tx, ty): (isize, isize, f64, f64)) -> f64 {
        let wx = cubic_weights(tx);
        let wy = cubic_weights(ty);
        let cols = self.grid.cols;
        let mut s = 0.0;
        if r >= 1 && c >= 1 && (r as usize) + 2 < self.grid.rows && (c as usize) + 2 < cols {
            // Inside the grid (nearly every call): the same sums without the edge rules.
            let k = (r - 1) as usize * cols + (c - 1) as usize;
            for (j, wyj) in wy.iter().enumerate() {
                let p = &self.z[k + j * cols..k + j * cols + 4];
                s += wyj * (p[0] * wx[0] + p[1] * wx[1] + p[2] * wx[2] + p[3] * wx[3]);
            }
            return s;
        }
        for (j, wyj) in wy.iter().enumerate() {
            let rr = r - 1 + j as isize;
            let row = self.at(rr, c - 1) * wx[0]
                + self.at(rr, c) * wx[1]
                + self.at(rr, c + 1) * wx[2]
                + self.at(rr, c + 2) * wx[3];
            s += wyj * row;
        }
        s
    }

    /// Slope magnitude (rise over run, unitless) per cell from central differences.
    pub fn slope(&self) -> Vec<f64> {
        let g = self.grid;
        let (cols, rows) = (g.cols, g.rows);
        let mut out = vec![0.0; g.len()];
        for r in 0..rows {
            for c in 0..cols {
                let (c0, c1) = (c.saturating_sub(1), (c + 1).min(cols - 1));
                let (r0, r1) = (r.saturating_sub(1), (r + 1).min(rows - 1));
                let gx = if c1 > c0 {
                    (self.z[r * cols + c1] - self.z[r * cols + c0]) / ((c1 - c0) as f64 * g.cell)
                } else {
                    0.0
                };
                let gy = if r1 > r0 {
                    (self.z[r1 * cols + c] - self.z[r0 * cols + c]) / ((r1 - r0) as f64 * g.cell)
                } else {
                    0.0
                };
                out[r * cols + c] = (gx * gx + gy * gy).sqrt();
            }
        }
        out
    }

    /// The surface as a north-up [`crate::raster::Raster`] with the same cells.
    pub fn to_raster(&self) -> crate::raster::Raster<f64> {
        let g = self.grid;
        let grid = crate::raster::Grid {
            x_min: g.x0,
            y_max: g.y0 + g.rows as f64 * g.cell,
            res_m: g.cell,
            ncols: g.cols,
            nrows: g.rows,
        };
        let mut r = crate::raster::Raster::filled(grid, f64::NAN);
        for row in 0..g.rows {
            for col in 0..g.cols {
                r.data[[g.rows - 1 - row, col]] = self.z[row * g.cols + col];
            }
        }
        r
    }
}

/// Rings of cells around a [`Padded`] surface.
const PAD: isize = 2;

/// A surface with two rings of cells around it that hold [`Surface::at`]'s edge extrapolation:
/// interpolation anywhere in the grid then reads its 4 × 4 (or 2 × 2) cells from one array
/// without edge rules. The values read are those [`Surface::bicubic`] and [`Surface::bilinear`]
/// read, in the same sums, so the results are the same bits. For many points on one surface
/// (a filter's final test of every point): one in eight points of a 200 m tile lies within two
/// cells of its edge, where the edge rules cost ten times the interpolation.
pub struct Padded<'a> {
    surface: &'a Surface,
    /// Columns of the padded grid (`cols + 2 · PAD`).
    pc: usize,
    /// Row-major heights; cell `(r, c)` of the surface (`r`, `c` from `−PAD`) at
    /// `(r + PAD) · pc + c + PAD`.
    z: Vec<f64>,
}

impl<'a> Padded<'a> {
    /// The padded copy of `surface`.
    pub fn new(surface: &'a Surface) -> Padded<'a> {
        let (cols, rows) = (surface.grid.cols as isize, surface.grid.rows as isize);
        let pc = (cols + 2 * PAD) as usize;
        let mut z = Vec::with_capacity(pc * (rows + 2 * PAD) as usize);
        for r in -PAD..rows + PAD {
            if (0..rows).contains(&r) {
                z.extend((-PAD..0).map(|c| surface.at(r, c)));
                let k = r as usize * cols as usize;
                z.extend_from_slice(&surface.z[k..k + cols as usize]);
                z.extend((cols..cols + PAD).map(|c| surface.at(r, c)));
            } else {
                z.extend((-PAD..cols + PAD).map(|c| surface.at(r, c)));
            }
        }
        Padded { surface, pc, z }
    }

    /// The cell position of `(x, y)` that [`Self::bicubic_at`] and [`Self::bilinear_at`] take
    /// (one for several surfaces on the same grid).
    #[inline]
    pub fn position(&self, x: f64, y: f64) -> (isize, isize, f64, f64) {
        self.surface.frac(x, y)
    }

    /// [`Surface::bicubic`] at a [`Self::position`].
    #[inline]
    pub fn bicubic_at(&self, at: (isize, isize, f64, f64)) -> f64 {
        let (r, c, tx, ty) = at;
        let g = &self.surface.grid;
        if !(r >= 1 - PAD && c >= 1 - PAD && r < g.rows as isize && c < g.cols as isize) {
            // Off the grid by more than a cell: the edge rules.
            return self.surface.bicubic_at(at);
        }
        let wx = cubic_weights(tx);
        let wy = cubic_weights(ty);
        let k = (r + PAD - 1) as usize * self.pc + (c + PAD - 1) as usize;
        let p = &self.z[k..k + 3 * self.pc + 4];
        let mut s = 0.0;
        for (j, wyj) in wy.iter().enumerate() {
            let q = &p[j * self.pc..j * self.pc + 4];
            s += wyj * (q[0] * wx[0] + q[1] * wx[1] + q[2] * wx[2] + q[3] * wx[3]);
        }
        s
    }

    /// [`Surface::bilinear`] at a [`Self::position`].
    #[inline]
    pub fn bilinear_at(&self, at: (isize, isize, f64, f64)) -> f64 {
        let (r, c, tx, ty) = at;
        let g = &self.surface.grid;
        if !(r >= -PAD && c >= -PAD && r <= g.rows as isize && c <= g.cols as isize) {
            return self.surface.bilinear_at(at);
        }
        let k = (r + PAD) as usize * self.pc + (c + PAD) as usize;
        let p = &self.z[k..k + self.pc + 2];
        let a = p[0] * (1.0 - tx) + p[1] * tx;
        let b = p[self.pc] * (1.0 - tx) + p[self.pc + 1] * tx;
        a * (1.0 - ty) + b * ty
    }
}

/// [`Padded::bilinear_at`] (the bits of [`Surface::bilinear`]) of `s` at every point
/// `(x[i], y[i])`, into `out[i]`. With AVX2, four points at a time: the same products and sums
/// lane by lane, as [`bicubic_and_bilinear_many`]'s. For sampling a surface at the cells of
/// another grid.
pub fn bilinear_many(s: &Padded, x: &[f64], y: &[f64], out: &mut [f64]) {
    assert!(x.len() == y.len() && out.len() == x.len());
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked on the line above); the slices have one length
        // (asserted above).
        done = unsafe { bilinear_avx2(s, x, y, out) };
    }
    for i in done..x.len() {
        out[i] = s.bilinear_at(s.position(x[i], y[i]));
    }
}

/// `Surface::frac` of four points at a time, as the interpolation kernels below need it: the
/// position in cells less half a cell, and its floor, with the scalar code's operations.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Frac4 {
    x0: std::arch::x86_64::__m256d,
    y0: std::arch::x86_64::__m256d,
    cell: std::arch::x86_64::__m256d,
    half: std::arch::x86_64::__m256d,
    /// A 1 m cell: no division (as `Surface::frac`).
    unit: bool,
}

#[cfg(target_arch = "x86_64")]
impl Frac4 {
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn new(g: &CellGrid) -> Frac4 {
        use std::arch::x86_64::_mm256_set1_pd as set1;
        Frac4 {
            x0: set1(g.x0),
            y0: set1(g.y0),
            cell: set1(g.cell),
            half: set1(0.5),
            unit: g.cell == 1.0,
        }
    }

    /// `[fx, fy, floor(fx), floor(fy)]` of the four points at `x` and `y`.
    ///
    /// # Safety
    /// The CPU must have AVX2; four values readable at `x` and at `y`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn at(&self, x: *const f64, y: *const f64) -> [std::arch::x86_64::__m256d; 4] {
        use std::arch::x86_64::*;
        // SAFETY: four values readable at `x` and `y` (the caller's contract).
        let (dx, dy) = unsafe {
            (
                _mm256_sub_pd(_mm256_loadu_pd(x), self.x0),
                _mm256_sub_pd(_mm256_loadu_pd(y), self.y0),
            )
        };
        let (fx, fy) = if self.unit {
            (_mm256_sub_pd(dx, self.half), _mm256_sub_pd(dy, self.half))
        } else {
            (
                _mm256_sub_pd(_mm256_div_pd(dx, self.cell), self.half),
                _mm256_sub_pd(_mm256_div_pd(dy, self.cell), self.half),
            )
        };
        [fx, fy, _mm256_floor_pd(fx), _mm256_floor_pd(fy)]
    }
}

/// [`bilinear_many`] four points at a time, a group with a point off the padded grid one point
/// at a time; returns the number of points done (all but the last `len % 4`).
///
/// # Safety
/// The CPU must have AVX2; `y` and `out` at least as long as `x`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn bilinear_avx2(s: &Padded, x: &[f64], y: &[f64], out: &mut [f64]) -> usize {
    use std::arch::x86_64::*;
    debug_assert!(y.len() >= x.len() && out.len() >= x.len());
    let g = s.surface.grid;
    let (rows, cols, pc) = (g.rows as isize, g.cols as isize, s.pc);
    let n4 = x.len() - x.len() % 4;
    let set1 = |v: f64| _mm256_set1_pd(v);
    let one = set1(1.0);
    let frac = Frac4::new(&g);
    let zs = s.z.as_ptr();
    if s.z.len() > i32::MAX as usize {
        return 0;
    }
    let (n_cols, n_rows) = (set1(cols as f64), set1(rows as f64));
    let mut i = 0;
    while i < n4 {
        // SAFETY: i + 4 ≤ len of x, y, out; the reads from the padded grid are at cells whose
        // position was checked to lie inside it.
        unsafe {
            let [fx, fy, c, r] = frac.at(x.as_ptr().add(i), y.as_ptr().add(i));
            // Padded::bilinear_at's test of its 2 × 2 block, `−PAD ≤ v ≤ n` (false for NaN).
            let inside = |v: __m256d, n: __m256d| {
                _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_GE_OQ>(v, set1(-PAD as f64)),
                    _mm256_cmp_pd::<_CMP_LE_OQ>(v, n),
                )
            };
            if _mm256_movemask_pd(_mm256_and_pd(inside(c, n_cols), inside(r, n_rows))) != 0b1111 {
                for l in i..i + 4 {
                    out[l] = s.bilinear_at(s.position(x[l], y[l]));
                }
                i += 4;
                continue;
            }
            let (tx, ty) = (_mm256_sub_pd(fx, c), _mm256_sub_pd(fy, r));
            let k = padded_index(c, r, pc, PAD);
            let two = |row: usize| {
                let h: [__m128d; 4] =
                    std::array::from_fn(|l| _mm_loadu_pd(zs.add(k[l] + row * pc)));
                let a = _mm256_set_m128d(h[2], h[0]);
                let b = _mm256_set_m128d(h[3], h[1]);
                (_mm256_unpacklo_pd(a, b), _mm256_unpackhi_pd(a, b))
            };
            let ((p0, p1), (q0, q1)) = (two(0), two(1));
            let (ux, uy) = (_mm256_sub_pd(one, tx), _mm256_sub_pd(one, ty));
            let a = _mm256_add_pd(_mm256_mul_pd(p0, ux), _mm256_mul_pd(p1, tx));
            let b = _mm256_add_pd(_mm256_mul_pd(q0, ux), _mm256_mul_pd(q1, tx));
            let v = _mm256_add_pd(_mm256_mul_pd(a, uy), _mm256_mul_pd(b, ty));
            _mm256_storeu_pd(out.as_mut_ptr().add(i), v);
        }
        i += 4;
    }
    n4
}

/// [`Padded::bicubic_at`] of `s` and [`Padded::bilinear_at`] of `other` (same grid) at every
/// point `(x[i], y[i])`, into `ez[i]` and `sl[i]`. With AVX2, four points at a time: the same
/// products and sums lane by lane (no fused multiply-add), so the same bits.
pub fn bicubic_and_bilinear_many(
    s: &Padded,
    other: &Padded,
    x: &[f64],
    y: &[f64],
    ez: &mut [f64],
    sl: &mut [f64],
) {
    assert!(x.len() == y.len() && ez.len() == x.len() && sl.len() == x.len());
    assert!(s.surface.grid == other.surface.grid);
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked on the line above).
        done = unsafe { bicubic_and_bilinear_avx2(s, other, x, y, ez, sl) };
    }
    for i in done..x.len() {
        let at = s.position(x[i], y[i]);
        ez[i] = s.bicubic_at(at);
        sl[i] = other.bilinear_at(at);
    }
}

/// [`bicubic_and_bilinear_many`] four points at a time, a group with a point off the padded
/// grid one point at a time; returns the number of points done (all but the last `len % 4`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn bicubic_and_bilinear_avx2(
    s: &Padded,
    other: &Padded,
    x: &[f64],
    y: &[f64],
    ez: &mut [f64],
    sl: &mut [f64],
) -> usize {
    use std::arch::x86_64::*;
    let g = s.surface.grid;
    let (rows, cols, pc) = (g.rows as isize, g.cols as isize, s.pc);
    let n4 = x.len() - x.len() % 4;
    let set1 = |v: f64| _mm256_set1_pd(v);
    let frac = Frac4::new(&g);
    // cubic_weights, lane by lane, in its order of operations.
    let weights = |t: __m256d| {
        let t2 = _mm256_mul_pd(t, t);
        let t3 = _mm256_mul_pd(t2, t);
        let m = |a: f64, v: __m256d| _mm256_mul_pd(set1(a), v);
        [
            _mm256_sub_pd(_mm256_add_pd(m(-0.5, t3), t2), m(0.5, t)),
            _mm256_add_pd(_mm256_sub_pd(m(1.5, t3), m(2.5, t2)), set1(1.0)),
            _mm256_add_pd(_mm256_add_pd(m(-1.5, t3), m(2.0, t2)), m(0.5, t)),
            _mm256_sub_pd(m(0.5, t3), m(0.5, t2)),
        ]
    };
    let (zs, zo) = (s.z.as_ptr(), other.z.as_ptr());
    if s.z.len() > i32::MAX as usize {
        return 0;
    }
    let (n_cols, n_rows) = (set1(cols as f64), set1(rows as f64));
    let mut i = 0;
    while i < n4 {
        // SAFETY: i + 4 ≤ len of x, y, ez, sl; the reads from the padded grids are at cells
        // whose position was checked to lie inside them.
        unsafe {
            // (floor: fast_floor's value for the magnitudes that pass the check below.)
            let [fx, fy, c, r] = frac.at(x.as_ptr().add(i), y.as_ptr().add(i));
            // Padded::bicubic_at's test, `1 − PAD ≤ v < n` for the column and the row (false
            // for NaN), four lanes at once.
            let inside = |v: __m256d, n: __m256d| {
                _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_GE_OQ>(v, set1((1 - PAD) as f64)),
                    _mm256_cmp_pd::<_CMP_LT_OQ>(v, n),
                )
            };
            if _mm256_movemask_pd(_mm256_and_pd(inside(c, n_cols), inside(r, n_rows))) != 0b1111 {
                for l in i..i + 4 {
                    let at = s.position(x[l], y[l]);
                    ez[l] = s.bicubic_at(at);
                    sl[l] = other.bilinear_at(at);
                }
                i += 4;
                continue;
            }
            let (tx, ty) = (_mm256_sub_pd(fx, c), _mm256_sub_pd(fy, r));
            // Top-left cell of each point's 4 × 4 block and 2 × 2 block in the padded grids:
            // `(r + PAD − 1) · pc + c + PAD − 1`, in 32-bit lanes (the padded grid's indices
            // fit, checked above).
            let k = padded_index(c, r, pc, PAD - 1);
            let (wx, wy) = (weights(tx), weights(ty));
            let mut acc = _mm256_setzero_pd();
            for (j, wyj) in wy.iter().enumerate() {
                let v: [__m256d; 4] =
                    std::array::from_fn(|l| _mm256_loadu_pd(zs.add(k[l] + j * pc)));
                // Transpose: p[m] holds column m of the 4 × 4 block of every lane.
                let t0 = _mm256_unpacklo_pd(v[0], v[1]);
                let t1 = _mm256_unpackhi_pd(v[0], v[1]);
                let t2 = _mm256_unpacklo_pd(v[2], v[3]);
                let t3 = _mm256_unpackhi_pd(v[2], v[3]);
                let p = [
                    _mm256_permute2f128_pd(t0, t2, 0x20),
                    _mm256_permute2f128_pd(t1, t3, 0x20),
                    _mm256_permute2f128_pd(t0, t2, 0x31),
                    _mm256_permute2f128_pd(t1, t3, 0x31),
                ];
                let mut row = _mm256_mul_pd(p[0], wx[0]);
                row = _mm256_add_pd(row, _mm256_mul_pd(p[1], wx[1]));
                row = _mm256_add_pd(row, _mm256_mul_pd(p[2], wx[2]));
                row = _mm256_add_pd(row, _mm256_mul_pd(p[3], wx[3]));
                acc = _mm256_add_pd(acc, _mm256_mul_pd(*wyj, row));
            }
            _mm256_storeu_pd(ez.as_mut_ptr().add(i), acc);
            // Bilinear: the 2 × 2 block starts one row and one column further in.
            let two = |row: usize| {
                let h: [__m128d; 4] =
                    std::array::from_fn(|l| _mm_loadu_pd(zo.add(k[l] + (row + 1) * pc + 1)));
                let a = _mm256_set_m128d(h[2], h[0]);
                let b = _mm256_set_m128d(h[3], h[1]);
                (_mm256_unpacklo_pd(a, b), _mm256_unpackhi_pd(a, b))
            };
            let ((p0, p1), (q0, q1)) = (two(0), two(1));
            let one = set1(1.0);
            let (ux, uy) = (_mm256_sub_pd(one, tx), _mm256_sub_pd(one, ty));
            let a = _mm256_add_pd(_mm256_mul_pd(p0, ux), _mm256_mul_pd(p1, tx));
            let b = _mm256_add_pd(_mm256_mul_pd(q0, ux), _mm256_mul_pd(q1, tx));
            let v = _mm256_add_pd(_mm256_mul_pd(a, uy), _mm256_mul_pd(b, ty));
            _mm256_storeu_pd(sl.as_mut_ptr().add(i), v);
        }
        i += 4;
    }
    n4
}

/// `(r + off) · pc + c + off` of four whole-number lanes `c`, `r` (cells of a [`Padded`] grid,
/// from `−off` on), computed in 32-bit lanes: the caller checks that the padded grid's indices
/// fit in an `i32` and that every lane lies on it.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn padded_index(
    c: std::arch::x86_64::__m256d,
    r: std::arch::x86_64::__m256d,
    pc: usize,
    off: isize,
) -> [usize; 4] {
    use std::arch::x86_64::*;
    let row = _mm_add_epi32(_mm256_cvttpd_epi32(r), _mm_set1_epi32(off as i32));
    let col = _mm_add_epi32(_mm256_cvttpd_epi32(c), _mm_set1_epi32(off as i32));
    let k = _mm_add_epi32(_mm_mullo_epi32(row, _mm_set1_epi32(pc as i32)), col);
    let mut out = [0i32; 4];
    // SAFETY: `out` holds four i32.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), k) };
    out.map(|v| {
        debug_assert!(v >= 0);
        v as usize
    })
}

/// Catmull–Rom weights for the four samples around a fraction `t ∈ [0, 1)`.
#[inline]
fn cubic_weights(t: f64) -> [f64; 4] {
    let t2 = t * t;
    let t3 = t2 * t;
    [
        -0.5 * t3 + t2 - 0.5 * t,
        1.5 * t3 - 2.5 * t2 + 1.0,
        -1.5 * t3 + 2.0 * t2 + 0.5 * t,
        0.5 * t3 - 0.5 * t2,
    ]
}

/// Lowest z per cell (NaN where a cell holds no point, or only points at +∞ or NaN).
pub fn min_surface(g: &CellGrid, x: &[f64], y: &[f64], z: &[f64]) -> Vec<f64> {
    // A select from +∞ rather than a test for "still empty": no branch to mispredict.
    let mut out = vec![f64::INFINITY; g.len()];
    // The cells of a block of points at a time (four per instruction where the CPU can).
    const BLOCK: usize = 512;
    let mut cells = [0usize; BLOCK];
    for ((x, y), z) in x.chunks(BLOCK).zip(y.chunks(BLOCK)).zip(z.chunks(BLOCK)) {
        let cells = &mut cells[..x.len()];
        g.indices(x, y, cells);
        for (&k, &z) in cells.iter().zip(z) {
            let v = out[k];
            out[k] = if z < v { z } else { v };
        }
    }
    for v in out.iter_mut() {
        if *v == f64::INFINITY {
            *v = f64::NAN;
        }
    }
    out
}

/// Fills the NaN cells of a `cols × rows` grid with the membrane ("springs to the eight
/// neighbours") interpolation of the finite ones. Returns `false`, leaving the grid untouched,
/// when no cell is finite.
pub fn inpaint(z: &mut [f64], cols: usize, rows: usize) -> bool {
    debug_assert_eq!(z.len(), cols * rows);
    let n_known = z.iter().filter(|v| v.is_finite()).count();
    if n_known == 0 {
        return false;
    }
    if n_known == z.len() {
        return true;
    }
    let unknown: Vec<bool> = z.iter().map(|v| !v.is_finite()).collect();
    if cols <= 4 && rows <= 4 {
        let mean = z.iter().filter(|v| v.is_finite()).sum::<f64>() / n_known as f64;
        for (v, &u) in z.iter_mut().zip(&unknown) {
            if u {
                *v = mean;
            }
        }
        relax(z, &unknown, cols, rows, 50);
        return true;
    }
    // Coarse level: 2×2 block means of the known cells.
    let (cc, cr) = (cols.div_ceil(2), rows.div_ceil(2));
    let mut coarse = vec![f64::NAN; cc * cr];
    for r in 0..cr {
        for c in 0..cc {
            let (mut s, mut n) = (0.0, 0u32);
            for rr in 2 * r..(2 * r + 2).min(rows) {
                for cc2 in 2 * c..(2 * c + 2).min(cols) {
                    let v = z[rr * cols + cc2];
                    if v.is_finite() {
                        s += v;
                        n += 1;
                    }
                }
            }
            if n > 0 {
                coarse[r * cc + c] = s / n as f64;
            }
        }
    }
    inpaint(&mut coarse, cc, cr);
    // Bilinear prolongation: coarse cell (r, c) is centred on fine (2r + 0.5, 2c + 0.5).
    let lerp_idx = |f: usize, n: usize| {
        let p = ((f as f64 - 0.5) / 2.0).clamp(0.0, (n - 1) as f64);
        let i = (p.floor() as usize).min(n.saturating_sub(2));
        (i, (i + 1).min(n - 1), p - i as f64)
    };
    for r in 0..rows {
        let (r0, r1, tr) = lerp_idx(r, cr);
        for c in 0..cols {
            let k = r * cols + c;
            if unknown[k] {
                let (c0, c1, tc) = lerp_idx(c, cc);
                let a = coarse[r0 * cc + c0] * (1.0 - tc) + coarse[r0 * cc + c1] * tc;
                let b = coarse[r1 * cc + c0] * (1.0 - tc) + coarse[r1 * cc + c1] * tc;
                z[k] = a * (1.0 - tr) + b * tr;
            }
        }
    }
    relax(z, &unknown, cols, rows, 12);
    true
}

/// Gauss–Seidel sweeps of "cell = mean of its 8 neighbours" over the cells flagged in `free`,
/// alternating the sweep direction.
fn relax(z: &mut [f64], free: &[bool], cols: usize, rows: usize, sweeps: usize) {
    // The free cells in sweep order, those on the grid's edge marked by `EDGE`: a sweep then
    // visits only them, and an inner cell sums its eight neighbours without bounds rules.
    const EDGE: usize = 1 << (usize::BITS - 1);
    let mut cells: Vec<usize> = Vec::new();
    for r in 0..rows {
        let inner_row = r > 0 && r + 1 < rows;
        for c in 0..cols {
            let k = r * cols + c;
            if free[k] {
                let inner = inner_row && c > 0 && c + 1 < cols;
                cells.push(if inner { k } else { k | EDGE });
            }
        }
    }
    let update = |z: &mut [f64], k: usize| {
        if k & EDGE == 0 {
            // Same order of additions as below.
            let (a, b) = (k - cols, k + cols);
            let s =
                0.0 + z[a - 1] + z[a] + z[a + 1] + z[k - 1] + z[k + 1] + z[b - 1] + z[b] + z[b + 1];
            z[k] = s / 8.0;
            return;
        }
        let k = k & !EDGE;
        let (r, c) = (k / cols, k % cols);
        let (mut s, mut n) = (0.0, 0u32);
        let r0 = r.saturating_sub(1);
        let r1 = (r + 1).min(rows - 1);
        let c0 = c.saturating_sub(1);
        let c1 = (c + 1).min(cols - 1);
        for rr in r0..=r1 {
            for cc in c0..=c1 {
                if rr != r || cc != c {
                    s += z[rr * cols + cc];
                    n += 1;
                }
            }
        }
        if n > 0 {
            z[k] = s / n as f64;
        }
    };
    for sweep in 0..sweeps {
        if sweep % 2 == 0 {
            for &k in &cells {
                update(z, k);
            }
        } else {
            for &k in cells.iter().rev() {
                update(z, k);
            }
        }
    }
}

/// Mean over the `(2r+1) × (2r+1)` window around each cell (clipped at the edges); separable
/// running sums, O(1) per cell.
pub fn box_mean(z: &[f64], cols: usize, rows: usize, r: usize) -> Vec<f64> {
    if r == 0 {
        return z.to_vec();
    }
    let mut tmp = vec![0.0; z.len()];
    for row in 0..rows {
        let src = &z[row * cols..(row + 1) * cols];
        let dst = &mut tmp[row * cols..(row + 1) * cols];
        window_mean(src, dst, r);
    }
    let mut out = vec![0.0; z.len()];
    let mut col_in = vec![0.0; rows];
    let mut col_out = vec![0.0; rows];
    for c in 0..cols {
        for row in 0..rows {
            col_in[row] = tmp[row * cols + c];
        }
        window_mean(&col_in, &mut col_out, r);
        for row in 0..rows {
            out[row * cols + c] = col_out[row];
        }
    }
    out
}

fn window_mean(src: &[f64], dst: &mut [f64], r: usize) {
    let n = src.len();
    let mut prefix = vec![0.0; n + 1];
    for (i, &v) in src.iter().enumerate() {
        prefix[i + 1] = prefix[i] + v;
    }
    for (i, d) in dst.iter_mut().enumerate() {
        let lo = i.saturating_sub(r);
        let hi = (i + r + 1).min(n);
        *d = (prefix[hi] - prefix[lo]) / (hi - lo) as f64;
    }
}

/// Shape of a structuring element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// `dx² + dy² ≤ r²` (Pingel et al. 2013).
    Disk,
    /// `|dx| + |dy| ≤ r` (PDAL's `filters.smrf`).
    Diamond,
}

impl Shape {
    /// Half-widths of the rows of the element of radius `r` at offsets `dy = 0 ..= r` on a grid
    /// of `rows` rows (those up to `rows − 1`; at least one).
    pub fn widths(self, r: usize, rows: usize) -> Vec<usize> {
        (0..=r.min(rows.saturating_sub(1)))
            .map(|dy| self.half_width(r, dy))
            .collect()
    }

    /// Half-width of the element's row at vertical offset `dy` (`0 ≤ dy ≤ r`).
    fn half_width(self, r: usize, dy: usize) -> usize {
        match self {
            Shape::Disk => (((r * r - dy * dy) as f64).sqrt() + 1e-9).floor() as usize,
            Shape::Diamond => r - dy,
        }
    }
}

/// Grey-scale erosion (minimum over the element) of a `cols × rows` grid.
pub fn erode(z: &[f64], cols: usize, rows: usize, r: usize, shape: Shape) -> Vec<f64> {
    morph(z, cols, rows, r, shape, true)
}

/// Grey-scale dilation (maximum over the element) of a `cols × rows` grid.
pub fn dilate(z: &[f64], cols: usize, rows: usize, r: usize, shape: Shape) -> Vec<f64> {
    morph(z, cols, rows, r, shape, false)
}

/// Opening (erosion then dilation): removes bumps narrower than the element.
pub fn open(z: &[f64], cols: usize, rows: usize, r: usize, shape: Shape) -> Vec<f64> {
    let e = erode(z, cols, rows, r, shape);
    dilate(&e, cols, rows, r, shape)
}

/// Opening that ignores NaN cells (voids): they neither lower the erosion nor raise the
/// dilation. The result is finite at every finite input cell; void cells stay NaN.
pub fn open_masked(z: &[f64], cols: usize, rows: usize, r: usize, shape: Shape) -> Vec<f64> {
    let src: Vec<f64> = z
        .iter()
        .map(|&v| if v.is_finite() { v } else { f64::INFINITY })
        .collect();
    let mut e = erode(&src, cols, rows, r, shape);
    for v in e.iter_mut() {
        if !v.is_finite() {
            *v = f64::NEG_INFINITY;
        }
    }
    let mut d = dilate(&e, cols, rows, r, shape);
    for (o, &v) in d.iter_mut().zip(z) {
        if !v.is_finite() {
            *o = f64::NAN;
        }
    }
    d
}

/// The erosions of one grid by the elements of radius 1, 2, 3, … in turn, each from the one
/// before: SMRF's progressive filter erodes the same surface with every radius up to the
/// window.
///
/// The element of radius `r` holds the element of radius `r − 1` grown by one cell along the
/// rows and the columns (for the disk: a point at distance `d ≤ r − 1` moved by one cell lies
/// within `d + 1 ≤ r`; for the diamond likewise), and a few points besides (`extra`: none
/// for the diamond, 0–8 pairs of rows for the disk up to radius 28). So the erosion of radius
/// `r` is the minimum of the previous erosion over the cell and its four neighbours and of the
/// grid itself at the extra points: 5 + 2–32 lines per row instead of the `2r + 1` row
/// segments of [`erode`]. The minimum is taken over the same cells as [`erode`]'s (the cells
/// of the element inside the grid), so its value is the same; the selects come in another
/// order, so where the grid holds both `0.0` and `−0.0` the zero's sign may differ, and NaN
/// propagates differently (the grids eroded here are finite).
pub struct ErosionSeries {
    cols: usize,
    rows: usize,
    shape: Shape,
    /// Radius of the erosion in `cur`.
    r: usize,
    /// Columns of padding on each side of a row (+∞): the shifted reads need no bounds.
    pad: usize,
    /// The grid, padded.
    z: Vec<f64>,
    /// The erosions of radius `r − 1` and `r`, padded.
    prev: Vec<f64>,
    cur: Vec<f64>,
}

impl ErosionSeries {
    /// The series of `z` (`cols × rows`), for radii up to `max_radius`; at radius 0.
    pub fn new(z: &[f64], cols: usize, rows: usize, max_radius: usize, shape: Shape) -> Self {
        assert_eq!(z.len(), cols * rows);
        let pad = max_radius.max(1);
        let pc = cols + 2 * pad;
        let mut padded = vec![f64::INFINITY; pc * rows];
        for (row, src) in padded.chunks_mut(pc).zip(z.chunks(cols.max(1))) {
            row[pad..pad + cols].copy_from_slice(src);
        }
        ErosionSeries {
            cols,
            rows,
            shape,
            r: 0,
            pad,
            cur: padded.clone(),
            prev: vec![f64::INFINITY; pc * rows],
            z: padded,
        }
    }

    /// Radius of the current erosion.
    pub fn radius(&self) -> usize {
        self.r
    }

    /// Row `y` of the current erosion.
    pub fn row(&self, y: usize) -> &[f64] {
        let k = y * (self.cols + 2 * self.pad) + self.pad;
        &self.cur[k..k + self.cols]
    }

    /// Advances to the next radius (at most the `max_radius` given to [`Self::new`]).
    pub fn advance(&mut self) {
        let (cols, rows, pad) = (self.cols, self.rows, self.pad);
        let r = self.r + 1;
        assert!(r <= pad, "radius {r} beyond the {pad} prepared");
        std::mem::swap(&mut self.prev, &mut self.cur);
        self.r = r;
        if cols == 0 || rows == 0 {
            return;
        }
        // Half-width of the row at offset dy of the element of radius `r` (−1: no row).
        let width = |r: usize, dy: usize| -> isize {
            if dy <= r {
                self.shape.half_width(r, dy) as isize
            } else {
                -1
            }
        };
        // The extra points, (dy ≥ 0, dx ≥ 0) of each symmetric group: the cells of row dy
        // beyond the half-width the previous element grown by one cell reaches.
        let mut extra: Vec<(usize, usize)> = Vec::new();
        for dy in 0..=r.min(rows - 1) {
            let grown = (width(r - 1, dy) + 1)
                .max(width(r - 1, dy.abs_diff(1)))
                .max(width(r - 1, dy + 1));
            let w = width(r, dy);
            assert!(
                w >= grown,
                "{:?}: radius {r} does not hold radius {}",
                self.shape,
                r - 1
            );
            extra.extend((grown + 1..=w).map(|dx| (dy, dx as usize)));
        }
        let pc = cols + 2 * pad;
        let (z, prev) = (&self.z, &self.prev);
        let fill = |lines: &mut Vec<(usize, usize)>, (y, o): (usize, &mut [f64])| {
            // (grid, offset) of every line: 0 the previous erosion, 1 the grid.
            lines.clear();
            let at = |y: usize| y * pc + pad;
            lines.extend([(0, at(y)), (0, at(y) - 1), (0, at(y) + 1)]);
            if y > 0 {
                lines.push((0, at(y - 1)));
            }
            if y + 1 < rows {
                lines.push((0, at(y + 1)));
            }
            for &(dy, dx) in &extra {
                for s in rows_at(y, dy, rows) {
                    lines.push((1, at(s) - dx));
                    if dx > 0 {
                        lines.push((1, at(s) + dx));
                    }
                }
            }
            let slices: Vec<&[f64]> = lines
                .iter()
                .map(|&(g, k)| &(if g == 0 { prev } else { z })[k..k + cols])
                .collect();
            let o = &mut o[pad..pad + cols];
            o.fill(f64::INFINITY);
            fold_lines(o, &slices, true);
        };
        if cols * rows >= PAR_CELLS {
            self.cur
                .par_chunks_mut(pc)
                .enumerate()
                .for_each_init(Vec::new, fill);
        } else {
            let mut lines = Vec::new();
            self.cur
                .chunks_mut(pc)
                .enumerate()
                .for_each(|c| fill(&mut lines, c));
        }
    }
}

/// Dilation (the maxima of [`dilate`], over the same cells) of a grid given row by row, by bands
/// of output rows, for callers that make the input rows on the fly and use each output row at
/// once: SMRF's progressive filter dilates an erosion per radius, whose rows come from an
/// [`ErosionSeries`], and only compares the opened rows with the previous radius'.
///
/// Each input row's maxima over the half-widths the element uses are kept, for the `2r + 1`
/// input rows an output row reads, and each output row folds its `2r + 1` lines in registers
/// ([`fold_lines`]): one load per line and column, where [`dilate`]'s source-row order loads
/// and stores every output row once per line. A half-width is made from a smaller kept one as
/// the maximum of two shifted reads ([`max_of_shifted`]; 18–21 of them for radius 28 where
/// `dilate` widens 28 times with three reads). The selects come in another order than
/// `dilate`'s, so where the grid holds both `0.0` and `−0.0` the zero's sign may differ, and
/// NaN propagates differently (the grids dilated here are finite).
pub struct RowDilation {
    cols: usize,
    /// `2r + 1` slots of input rows, each with its lines: the row itself, then its extremes
    /// over the half-widths the element uses, ascending.
    ring: Vec<f64>,
    /// The output row.
    out: Vec<f64>,
}

impl RowDilation {
    /// Buffers for grids of `cols` columns.
    pub fn new(cols: usize) -> RowDilation {
        RowDilation {
            cols,
            ring: Vec::new(),
            out: vec![0.0; cols],
        }
    }

    /// Rows `band` of the dilation with radius `r` of the grid of `rows` rows whose row `s`
    /// `input(s, row)` writes into `row`; calls `each(y, row)` with each output row `y`, in
    /// order. Input rows are asked for once each, in order, from `band.start − r` to
    /// `band.end − 1 + r` (those inside the grid).
    pub fn dilate_band(
        &mut self,
        rows: usize,
        r: usize,
        shape: Shape,
        band: std::ops::Range<usize>,
        mut input: impl FnMut(usize, &mut [f64]),
        mut each: impl FnMut(usize, &[f64]),
    ) {
        let cols = self.cols;
        if band.is_empty() || cols == 0 {
            return;
        }
        let widths = shape.widths(r, rows);
        let max_dy = widths.len() - 1;
        let wmax = widths[0];
        // The half-widths kept per input row: those the element uses and those they are made
        // from. Half-width 1 comes from the row itself (three terms); any other w from a kept
        // a < w with 4a + 1 ≥ 2w, as the maxima over two windows of half-width a shifted by
        // ∓(w − a), which together cover the window of half-width w (an extreme over the same
        // cells as `dilate`'s, in another order).
        const NONE: usize = usize::MAX;
        let mut keep = vec![false; wmax + 1];
        keep[0] = true;
        fn need(keep: &mut [bool], w: usize) {
            if keep[w] {
                return;
            }
            if w >= 2 {
                let m = (2 * w - 1).div_ceil(4);
                if !keep[m..w].iter().any(|&k| k) {
                    need(keep, m);
                }
            }
            keep[w] = true;
        }
        for &w in &widths {
            need(&mut keep, w);
        }
        // Line of each kept half-width in a slot (0: the input row), and the steps that make
        // them: (line, half-width, line it comes from, its half-width).
        let mut line_of = vec![NONE; wmax + 1];
        let mut steps: Vec<(usize, usize, usize, usize)> = Vec::new();
        let mut n_lines = 0;
        for w in 0..=wmax {
            if keep[w] {
                line_of[w] = n_lines;
                if w > 0 {
                    let a = (0..w).rev().find(|&a| keep[a]).unwrap_or(0);
                    steps.push((n_lines, w, line_of[a], a));
                }
                n_lines += 1;
            }
        }
        let slots = 2 * max_dy + 1;
        let slot_len = n_lines * cols;
        if self.ring.len() < slots * slot_len {
            self.ring.resize(slots * slot_len, 0.0);
        }
        let mut next = band.start.saturating_sub(max_dy);
        for y in band {
            let hi = (y + max_dy).min(rows - 1);
            while next <= hi {
                let k = (next % slots) * slot_len;
                let slot = &mut self.ring[k..k + slot_len];
                input(next, &mut slot[..cols]);
                for &(l, w, from, a) in &steps {
                    let (before, after) = slot.split_at_mut(l * cols);
                    let (out, prev) = (&mut after[..cols], &before[from * cols..(from + 1) * cols]);
                    if a + 1 == w && a == 0 {
                        widen_from(out, prev, prev, 1, false);
                    } else {
                        debug_assert!(a < w && 4 * a + 1 >= 2 * w);
                        max_of_shifted(out, prev, w - a);
                    }
                }
                next += 1;
            }
            let ring = &self.ring;
            let lines: Vec<&[f64]> = (y.saturating_sub(max_dy)..=hi)
                .map(|s| {
                    let k = (s % slots) * slot_len + line_of[widths[y.abs_diff(s)]] * cols;
                    &ring[k..k + cols]
                })
                .collect();
            self.out.fill(f64::NEG_INFINITY);
            fold_lines(&mut self.out, &lines, false);
            each(y, &self.out);
        }
    }
}

/// `out[c] = max(prev[c − d], prev[c + d])` with the indices clamped into the row (`prev` the
/// maxima over half-width `a`, `0 < d ≤ a`): the maxima over half-width `a + d` where
/// `4a + 1 ≥ 2(a + d)`, clipped at the row's ends as [`dilate`] clips them (the clamped window
/// at an end covers the cells from the end to the window's far side).
fn max_of_shifted(out: &mut [f64], prev: &[f64], d: usize) {
    let n = out.len();
    assert!(prev.len() == n && d > 0);
    let at = |c: isize| prev[c.clamp(0, n as isize - 1) as usize];
    let edge = |out: &mut [f64], cs: std::ops::Range<usize>| {
        for c in cs {
            let c = c as isize;
            out[c as usize] = select(at(c + d as isize), at(c - d as isize), false);
        }
    };
    // Columns with both terms inside the row: d ≤ c < n − d.
    let (lo, hi) = (d.min(n), n.saturating_sub(d).max(d.min(n)));
    edge(out, 0..lo);
    edge(out, hi..n);
    if hi == lo {
        return;
    }
    // Here lo = d.
    let (out, p) = (&mut out[lo..hi], prev);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked on the line above); for c < hi − lo,
        // c + lo − d ≥ 0 and c + lo + d < n.
        return unsafe { max_of_shifted_avx2(out, &p[lo - d..], &p[lo + d..]) };
    }
    for ((o, &l), &r) in out.iter_mut().zip(&p[lo - d..]).zip(&p[lo + d..]) {
        *o = select(r, l, false);
    }
}

/// `out[c] = select(right[c], left[c])` (the maximum) four columns per instruction, sixteen
/// columns per step. `vmaxpd t, t, [left]` with `t` loaded from `right` is `right > left ?
/// right : left`, the select itself; written out because the compiler splits each unaligned
/// 256-bit load and store in two instructions at this crate's tuning (see [`fold_lines`]).
///
/// # Safety
/// The CPU must have AVX2; `left` and `right` must be at least as long as `out`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn max_of_shifted_avx2(out: &mut [f64], left: &[f64], right: &[f64]) {
    let n = out.len();
    assert!(left.len() >= n && right.len() >= n);
    let (po, pl, pr) = (out.as_mut_ptr(), left.as_ptr(), right.as_ptr());
    let mut c = 0;
    while c + 16 <= n {
        // SAFETY: c + 16 ≤ n, within the three slices (asserted above).
        unsafe {
            std::arch::asm!(
                "vmovupd {t0}, ymmword ptr [{r} + 8*{c}]",
                "vmovupd {t1}, ymmword ptr [{r} + 8*{c} + 32]",
                "vmovupd {t2}, ymmword ptr [{r} + 8*{c} + 64]",
                "vmovupd {t3}, ymmword ptr [{r} + 8*{c} + 96]",
                "vmaxpd {t0}, {t0}, ymmword ptr [{l} + 8*{c}]",
                "vmaxpd {t1}, {t1}, ymmword ptr [{l} + 8*{c} + 32]",
                "vmaxpd {t2}, {t2}, ymmword ptr [{l} + 8*{c} + 64]",
                "vmaxpd {t3}, {t3}, ymmword ptr [{l} + 8*{c} + 96]",
                "vmovupd ymmword ptr [{o} + 8*{c}], {t0}",
                "vmovupd ymmword ptr [{o} + 8*{c} + 32], {t1}",
                "vmovupd ymmword ptr [{o} + 8*{c} + 64], {t2}",
                "vmovupd ymmword ptr [{o} + 8*{c} + 96], {t3}",
                r = in(reg) pr,
                l = in(reg) pl,
                o = in(reg) po,
                c = in(reg) c,
                t0 = out(ymm_reg) _,
                t1 = out(ymm_reg) _,
                t2 = out(ymm_reg) _,
                t3 = out(ymm_reg) _,
                options(nostack, preserves_flags),
            );
        }
        c += 16;
    }
    while c + 4 <= n {
        // SAFETY: c + 4 ≤ n, within the three slices (asserted above).
        unsafe {
            std::arch::asm!(
                "vmovupd {t0}, ymmword ptr [{r} + 8*{c}]",
                "vmaxpd {t0}, {t0}, ymmword ptr [{l} + 8*{c}]",
                "vmovupd ymmword ptr [{o} + 8*{c}], {t0}",
                r = in(reg) pr,
                l = in(reg) pl,
                o = in(reg) po,
                c = in(reg) c,
                t0 = out(ymm_reg) _,
                options(nostack, preserves_flags),
            );
        }
        c += 4;
    }
    for c in c..n {
        out[c] = select(right[c], left[c], false);
    }
}

/// The rows `row − dy` and `row + dy` that exist among `0..rows` (one row when `dy` is 0).
fn rows_at(row: usize, dy: usize, rows: usize) -> impl Iterator<Item = usize> {
    let below = row.checked_sub(dy);
    let above = (dy > 0 && row + dy < rows).then_some(row + dy);
    below.into_iter().chain(above)
}

/// `o[i] = min(o[i], s[i])` (or max) for every column.
///
/// With AVX2 (checked at run time; the portable build targets SSE2) four columns per
/// instruction instead of two: the same selects, so the same result.
#[inline]
fn fold_row(o: &mut [f64], s: &[f64], min: bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked on the line above).
        return unsafe { fold_row_avx2(o, s, min) };
    }
    fold_row_portable(o, s, min)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fold_row_avx2(o: &mut [f64], s: &[f64], min: bool) {
    use std::arch::x86_64::*;
    // vminpd(b, a) is `b < a ? b : a` and vmaxpd(b, a) is `b > a ? b : a`, lane by lane: the
    // portable selects exactly (NaN included). The compiler's own AVX2 code for them used
    // masked stores, slower than the SSE2 loop.
    let n = o.len().min(s.len());
    let body = n - n % 4;
    let (po, ps) = (o.as_mut_ptr(), s.as_ptr());
    let mut i = 0;
    while i < body {
        // SAFETY: i + 4 <= n, within both slices.
        unsafe {
            let a = _mm256_loadu_pd(po.add(i));
            let b = _mm256_loadu_pd(ps.add(i));
            let v = if min {
                _mm256_min_pd(b, a)
            } else {
                _mm256_max_pd(b, a)
            };
            _mm256_storeu_pd(po.add(i), v);
        }
        i += 4;
    }
    fold_row_portable(&mut o[body..n], &s[body..n], min)
}

/// The extremes of `o` and every line of `lines` into `o` (each line at least as long as `o`),
/// each select `a < b ? a : b` (`>` for the maximum) with `a` the extreme so far and `b` the
/// line's value: the order of operands the instructions below take. It differs from
/// [`fold_row`]'s only where the two are equal (`0.0` and `−0.0`) or one is NaN; the callers
/// fold finite grids and use no zero's sign. With AVX2 a block of 32 columns stays in
/// registers across the lines, each line's value read by the `vmaxpd`/`vminpd` itself: one
/// instruction per line and four columns. (The compiler's code for `_mm256_loadu_pd` at this
/// crate's generic tuning splits every unaligned load in two instructions and loads apart
/// from the select: three per line and four columns.)
fn fold_lines(o: &mut [f64], lines: &[&[f64]], min: bool) {
    assert!(lines.iter().all(|l| l.len() >= o.len()));
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked on the line above); every line is at least as
        // long as `o` (asserted above).
        return unsafe {
            if min {
                fold_lines_avx2::<true>(o, lines)
            } else {
                fold_lines_avx2::<false>(o, lines)
            }
        };
    }
    for l in lines {
        fold_row_acc(o, l, min);
    }
}

/// [`fold_lines`] one column at a time: `o[i] = o[i] < s[i] ? o[i] : s[i]` (or `>`).
#[inline(always)]
fn fold_row_acc(o: &mut [f64], s: &[f64], min: bool) {
    if min {
        for (a, &b) in o.iter_mut().zip(s) {
            *a = if *a < b { *a } else { b };
        }
    } else {
        for (a, &b) in o.iter_mut().zip(s) {
            *a = if *a > b { *a } else { b };
        }
    }
}

/// [`fold_lines`] with AVX2: blocks of 32 columns in eight registers, then of four, then the
/// last few columns one by one.
///
/// # Safety
/// The CPU must have AVX2; every line must be at least as long as `o`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fold_lines_avx2<const MIN: bool>(o: &mut [f64], lines: &[&[f64]]) {
    use std::arch::asm;
    debug_assert!(lines.iter().all(|l| l.len() >= o.len()));
    let n = o.len();
    let po = o.as_mut_ptr();
    // `a op [p]` for the registers `a`: `vminpd a, a, [p]` is `a < b ? a : b` with `b` the
    // value at `p` (`vmaxpd`: `a > b ? a : b`).
    macro_rules! fold {
        ($op:literal, $a:ident, $p:expr, 8) => {
            asm!(
                concat!($op, " {0}, {0}, ymmword ptr [{p}]"),
                concat!($op, " {1}, {1}, ymmword ptr [{p} + 32]"),
                concat!($op, " {2}, {2}, ymmword ptr [{p} + 64]"),
                concat!($op, " {3}, {3}, ymmword ptr [{p} + 96]"),
                concat!($op, " {4}, {4}, ymmword ptr [{p} + 128]"),
                concat!($op, " {5}, {5}, ymmword ptr [{p} + 160]"),
                concat!($op, " {6}, {6}, ymmword ptr [{p} + 192]"),
                concat!($op, " {7}, {7}, ymmword ptr [{p} + 224]"),
                inout(ymm_reg) $a[0],
                inout(ymm_reg) $a[1],
                inout(ymm_reg) $a[2],
                inout(ymm_reg) $a[3],
                inout(ymm_reg) $a[4],
                inout(ymm_reg) $a[5],
                inout(ymm_reg) $a[6],
                inout(ymm_reg) $a[7],
                p = in(reg) $p,
                options(pure, readonly, nostack, preserves_flags),
            )
        };
        ($op:literal, $a:ident, $p:expr, 1) => {
            asm!(
                concat!($op, " {0}, {0}, ymmword ptr [{p}]"),
                inout(ymm_reg) $a[0],
                p = in(reg) $p,
                options(pure, readonly, nostack, preserves_flags),
            )
        };
    }
    // One block of `K` registers (8 or 1) at column `i`.
    macro_rules! block {
        ($k:tt, $i:expr) => {{
            let i = $i;
            let mut a = [load4(po.add(i)); $k];
            for (k, v) in a.iter_mut().enumerate().skip(1) {
                *v = load4(po.add(i + 4 * k));
            }
            for l in lines {
                let p = l.as_ptr().add(i);
                if MIN {
                    fold!("vminpd", a, p, $k);
                } else {
                    fold!("vmaxpd", a, p, $k);
                }
            }
            for (k, v) in a.iter().enumerate() {
                store4(po.add(i + 4 * k), *v);
            }
        }};
    }
    let mut i = 0;
    // SAFETY: each block reads and writes columns i..i + 4K ≤ n of `o` and of every line.
    unsafe {
        while i + 32 <= n {
            block!(8, i);
            i += 32;
        }
        while i + 4 <= n {
            block!(1, i);
            i += 4;
        }
    }
    for l in lines {
        fold_row_acc(&mut o[i..], &l[i..n], MIN);
    }
}

/// Four values from `p` in one unaligned 256-bit load.
///
/// # Safety
/// The CPU must have AVX; `p` must be valid for reading four values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
pub(super) unsafe fn load4(p: *const f64) -> std::arch::x86_64::__m256d {
    let v;
    // SAFETY: the caller's guarantees.
    unsafe {
        std::arch::asm!(
            "vmovupd {v}, ymmword ptr [{p}]",
            v = out(ymm_reg) v,
            p = in(reg) p,
            options(pure, readonly, nostack, preserves_flags),
        );
    }
    v
}

/// Four values to `p` in one unaligned 256-bit store.
///
/// # Safety
/// The CPU must have AVX; `p` must be valid for writing four values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
pub(super) unsafe fn store4(p: *mut f64, v: std::arch::x86_64::__m256d) {
    // SAFETY: the caller's guarantees.
    unsafe {
        std::arch::asm!(
            "vmovupd ymmword ptr [{p}], {v}",
            v = in(ymm_reg) v,
            p = in(reg) p,
            options(nostack, preserves_flags),
        );
    }
}

/// The select of [`fold_row`] for one value: `b < a ? b : a` (`>` for the maximum).
#[inline(always)]
fn select(b: f64, a: f64, min: bool) -> f64 {
    if min {
        if b < a {
            b
        } else {
            a
        }
    } else if b > a {
        b
    } else {
        a
    }
}

#[inline(always)]
fn fold_row_portable(o: &mut [f64], s: &[f64], min: bool) {
    // An unconditional store of a select compiles to minpd/maxpd; `if b < *a { *a = b }`
    // stayed a lane-by-lane conditional store (twice the time of the whole fold).
    if min {
        for (a, &b) in o.iter_mut().zip(s) {
            *a = if b < *a { b } else { *a };
        }
    } else {
        for (a, &b) in o.iter_mut().zip(s) {
            *a = if b > *a { b } else { *a };
        }
    }
}

fn morph(z: &[f64], cols: usize, rows: usize, r: usize, shape: Shape, min: bool) -> Vec<f64> {
    if r == 0 || z.is_empty() {
        return z.to_vec();
    }
    let ident = if min {
        f64::INFINITY
    } else {
        f64::NEG_INFINITY
    };
    let mut out = vec![ident; z.len()];
    // The element as rows: `dys[w]` lists the row offsets whose segment has half-width w.
    let max_dy = r.min(rows - 1);
    let max_w = shape.half_width(r, 0);
    let mut dys: Vec<Vec<usize>> = vec![Vec::new(); max_w + 1];
    for dy in 0..=max_dy {
        dys[shape.half_width(r, dy)].push(dy);
    }
    // Each block of output rows streams the source rows that reach it: a source row's segment
    // extremes grow one width at a time (`w` from `w − 1`, two shifted slices: no dependency
    // along the row, so it vectorizes, unlike a van Herk scan), and each width is folded into
    // the output rows at the offsets that use it. Everything a block touches stays in cache.
    let block_rows = if z.len() >= PAR_CELLS {
        (16 * max_dy).max(64)
    } else {
        rows
    };
    let fill = |(b, o): (usize, &mut [f64])| {
        let (first, n_out) = (b * block_rows, o.len() / cols);
        let mut cur = vec![0.0; cols];
        for src in first.saturating_sub(max_dy)..(first + n_out + max_dy).min(rows) {
            let row = &z[src * cols..(src + 1) * cols];
            cur.copy_from_slice(row);
            for (w, offsets) in dys.iter().enumerate() {
                if w > 0 {
                    widen(&mut cur, row, w, min);
                }
                for &dy in offsets {
                    for dst in rows_at(src, dy, rows) {
                        if (first..first + n_out).contains(&dst) {
                            let k = (dst - first) * cols;
                            fold_row(&mut o[k..k + cols], &cur, min);
                        }
                    }
                }
            }
        }
    };
    if block_rows < rows {
        out.par_chunks_mut(block_rows * cols)
            .enumerate()
            .for_each(fill);
    } else {
        fill((0, &mut out));
    }
    out
}

/// `cur` holds the extremes of `src` over half-width `w − 1`; widens them to `w`.
#[inline]
fn widen(cur: &mut [f64], src: &[f64], w: usize, min: bool) {
    assert_eq!(cur.len(), src.len());
    let p = cur.as_mut_ptr();
    // SAFETY: `cur` is valid for `src.len()` values, read and written (`prev` is `out`).
    unsafe { widen_raw(p, p, src, w, min) }
}

/// [`widen`] of `prev` (the extremes over half-width `w − 1`) into `out`.
#[inline]
fn widen_from(out: &mut [f64], prev: &[f64], src: &[f64], w: usize, min: bool) {
    assert!(out.len() == src.len() && prev.len() == src.len());
    // SAFETY: `out` and `prev` are valid for `src.len()` values (and distinct slices).
    unsafe { widen_raw(out.as_mut_ptr(), prev.as_ptr(), src, w, min) }
}

/// `out[c] = op(src[c + w], op(src[c − w], prev[c]))` for every column, each term where it
/// exists, with `op(b, a)` the select of [`fold_row`]: the two folds of `src` shifted by ∓`w`,
/// in that order, in one pass (one store per value instead of two).
///
/// # Safety
/// `out` and `prev` must be valid for `src.len()` values; they may be the same pointer, but
/// must not otherwise overlap each other or `src`.
#[inline]
unsafe fn widen_raw(out: *mut f64, prev: *const f64, src: &[f64], w: usize, min: bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked on the line above); the caller's guarantees.
        return unsafe { widen_raw_avx2(out, prev, src, w, min) };
    }
    let [plus, both, minus, neither] = widen_spans(src.len(), w);
    // SAFETY: the caller's guarantees; each span has the terms it is given.
    unsafe {
        widen_span::<false, true>(out, prev, src, w, plus, min);
        widen_span::<true, true>(out, prev, src, w, both, min);
        widen_span::<true, false>(out, prev, src, w, minus, min);
        if out.cast_const() != prev {
            widen_span::<false, false>(out, prev, src, w, neither, min);
        }
    }
}

/// [`widen_raw`] with AVX2 (four columns per instruction).
///
/// # Safety
/// As [`widen_raw`]; the CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn widen_raw_avx2(out: *mut f64, prev: *const f64, src: &[f64], w: usize, min: bool) {
    let [plus, both, minus, neither] = widen_spans(src.len(), w);
    // SAFETY: the caller's guarantees; each span has the terms it is given.
    unsafe {
        widen_span_avx2::<false, true>(out, prev, src, w, plus, min);
        widen_span_avx2::<true, true>(out, prev, src, w, both, min);
        widen_span_avx2::<true, false>(out, prev, src, w, minus, min);
        if out.cast_const() != prev {
            widen_span::<false, false>(out, prev, src, w, neither, min);
        }
    }
}

/// The spans of columns of [`widen_raw`] on `n` columns: with only the term `src[c + w]`,
/// with both terms, with only `src[c − w]`, and with neither (empty spans have `lo ≥ hi`).
#[inline(always)]
fn widen_spans(n: usize, w: usize) -> [(usize, usize); 4] {
    // `c − w` exists from column `m` on, `c + w` below column `p`.
    let (m, p) = (w.min(n), n.saturating_sub(w));
    [(0, m.min(p)), (m, p.max(m)), (p.max(m), n), (p.min(m), m)]
}

/// The columns `lo..hi` of [`widen_raw`], with the term `src[c − w]` when `MINUS` and
/// `src[c + w]` when `PLUS` (both must exist on the whole span).
///
/// # Safety
/// As [`widen_raw`]; `hi ≤ src.len()`, and `lo ≥ w` with `MINUS`, `hi + w ≤ src.len()` with
/// `PLUS`.
#[inline(always)]
unsafe fn widen_span<const MINUS: bool, const PLUS: bool>(
    out: *mut f64,
    prev: *const f64,
    src: &[f64],
    w: usize,
    (lo, hi): (usize, usize),
    min: bool,
) {
    debug_assert!(
        lo >= hi || (hi <= src.len() && (!MINUS || lo >= w) && (!PLUS || hi + w <= src.len()))
    );
    let ps = src.as_ptr();
    // SAFETY: the caller's guarantees, for lo ≤ c < hi.
    unsafe {
        for c in lo..hi {
            let mut a = *prev.add(c);
            if MINUS {
                a = select(*ps.add(c - w), a, min);
            }
            if PLUS {
                a = select(*ps.add(c + w), a, min);
            }
            *out.add(c) = a;
        }
    }
}

/// [`widen_span`] four columns per instruction, the last few one by one.
///
/// # Safety
/// As [`widen_span`]; the CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn widen_span_avx2<const MINUS: bool, const PLUS: bool>(
    out: *mut f64,
    prev: *const f64,
    src: &[f64],
    w: usize,
    (lo, hi): (usize, usize),
    min: bool,
) {
    use std::arch::x86_64::*;
    let ps = src.as_ptr();
    // As in fold_row_avx2: vminpd(b, a) is `b < a ? b : a`, the portable select.
    let op = |b: __m256d, a: __m256d| {
        if min {
            _mm256_min_pd(b, a)
        } else {
            _mm256_max_pd(b, a)
        }
    };
    let mut c = lo;
    // SAFETY: lo ≤ c, c + 4 ≤ hi; the caller's guarantees.
    unsafe {
        while c + 4 <= hi {
            let mut a = _mm256_loadu_pd(prev.add(c));
            if MINUS {
                a = op(_mm256_loadu_pd(ps.add(c - w)), a);
            }
            if PLUS {
                a = op(_mm256_loadu_pd(ps.add(c + w)), a);
            }
            _mm256_storeu_pd(out.add(c), a);
            c += 4;
        }
        widen_span::<MINUS, PLUS>(out, prev, src, w, (c, hi), min);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(z: &[f64], cols: usize, rows: usize, r: usize, shape: Shape, min: bool) -> Vec<f64> {
        let mut out = vec![0.0; z.len()];
        for y in 0..rows as isize {
            for x in 0..cols as isize {
                let mut v = if min {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                };
                for dy in -(r as isize)..=r as isize {
                    let w = shape.half_width(r, dy.unsigned_abs()) as isize;
                    for dx in -w..=w {
                        let (xx, yy) = (x + dx, y + dy);
                        if xx < 0 || yy < 0 || xx >= cols as isize || yy >= rows as isize {
                            continue;
                        }
                        let s = z[yy as usize * cols + xx as usize];
                        v = if min { v.min(s) } else { v.max(s) };
                    }
                }
                out[y as usize * cols + x as usize] = v;
            }
        }
        out
    }

    /// Each radius of the series erodes as `erode` does (same values: the grids hold no `−0.0`),
    /// beyond the grid's height too, on a small grid and on one eroded in parallel.
    #[test]
    fn erosion_series_erodes_as_erode() {
        for (cols, rows, max_r) in [(41, 29, 45), (131, 127, 12)] {
            let z: Vec<f64> = (0..cols * rows)
                .map(|i| ((i * 7919) % 101) as f64 * 0.37 - (i % 13) as f64)
                .collect();
            for shape in [Shape::Disk, Shape::Diamond] {
                let mut series = ErosionSeries::new(&z, cols, rows, max_r, shape);
                assert_eq!(series.radius(), 0);
                for r in 1..=max_r {
                    series.advance();
                    assert_eq!(series.radius(), r);
                    let expect = erode(&z, cols, rows, r, shape);
                    for y in 0..rows {
                        assert_eq!(
                            series.row(y),
                            &expect[y * cols..(y + 1) * cols],
                            "{shape:?} r={r} row {y}"
                        );
                    }
                }
            }
        }
    }

    /// Band by band, with input rows made on demand, the dilation's values are `dilate`'s
    /// (infinities included; the grid holds no `−0.0`), and every input row is asked for once,
    /// in order.
    #[test]
    fn row_dilation_dilates_as_dilate() {
        for (cols, rows) in [(23, 31), (97, 41)] {
            let mut z: Vec<f64> = (0..cols * rows)
                .map(|i| ((i * 7919) % 101) as f64 * 0.37 - (i % 13) as f64)
                .collect();
            z[40] = f64::INFINITY;
            z[300] = f64::INFINITY;
            z[500] = f64::NEG_INFINITY;
            let mut d = RowDilation::new(cols);
            for shape in [Shape::Disk, Shape::Diamond] {
                for r in [1, 2, 3, 7, 13, 18, 25, 28, 40] {
                    let expect = dilate(&z, cols, rows, r, shape);
                    for band in [0..rows, 0..5, 5..17, 30..31] {
                        let (mut asked, mut got) = (Vec::new(), Vec::new());
                        d.dilate_band(
                            rows,
                            r,
                            shape,
                            band.clone(),
                            |s, row| {
                                asked.push(s);
                                row.copy_from_slice(&z[s * cols..(s + 1) * cols]);
                            },
                            |y, row| got.push((y, row.to_vec())),
                        );
                        let reach = r.min(rows - 1);
                        let want: Vec<usize> = (band.start.saturating_sub(reach)
                            ..(band.end + reach).min(rows))
                            .collect();
                        assert_eq!(asked, want, "{shape:?} r={r} {band:?}");
                        assert_eq!(got.len(), band.len());
                        for (k, (y, row)) in got.iter().enumerate() {
                            assert_eq!(*y, band.start + k);
                            let e = &expect[y * cols..(y + 1) * cols];
                            assert_eq!(row, e, "{cols}x{rows} {shape:?} r={r} row {y}");
                        }
                    }
                }
            }
        }
    }

    /// The cells of many points at once (four per instruction with AVX2) are `index`'s: inside,
    /// on cell edges, off every side of the grid, and at ±∞ and NaN, for several cell sizes.
    #[test]
    fn indices_are_index() {
        for cell in [1.0, 0.5, 5.0, 1.0 / 3.0] {
            let g = CellGrid {
                x0: 520000.0 - cell / 3.0,
                y0: 3400200.0,
                cell,
                cols: 37,
                rows: 23,
            };
            let (mut x, mut y) = (vec![], vec![]);
            for i in 0..1001 {
                x.push(g.x0 + cell * (((i * 37) % 101) as f64 * 0.43 - 3.0));
                y.push(g.y0 + cell * (((i * 53) % 89) as f64 * 0.31 - 2.0));
            }
            for k in [-1.0, 0.0, 1.0, 2.0, 36.0, 37.0, 38.0] {
                x.push(g.x0 + k * cell);
                y.push(g.y0 + k * cell);
            }
            for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
                x.extend([v, g.x0 + 3.5 * cell, v]);
                y.extend([g.y0 + 2.5 * cell, v, v]);
            }
            let mut got = vec![0; x.len()];
            g.indices(&x, &y, &mut got);
            for i in 0..x.len() {
                assert_eq!(got[i], g.index(x[i], y[i]), "{cell} {} {}", x[i], y[i]);
            }
        }
    }

    #[test]
    fn morphology_matches_naive_definition() {
        let (cols, rows) = (37, 23);
        let z: Vec<f64> = (0..cols * rows)
            .map(|i| ((i * 7919) % 101) as f64 * 0.37 - (i % 13) as f64)
            .collect();
        for shape in [Shape::Disk, Shape::Diamond] {
            for r in [1, 2, 3, 5, 8, 19, 40] {
                assert_eq!(
                    erode(&z, cols, rows, r, shape),
                    naive(&z, cols, rows, r, shape, true),
                    "erode {shape:?} r={r}"
                );
                assert_eq!(
                    dilate(&z, cols, rows, r, shape),
                    naive(&z, cols, rows, r, shape, false),
                    "dilate {shape:?} r={r}"
                );
            }
        }
    }

    #[test]
    fn inpaint_fills_planes_exactly_and_voids_smoothly() {
        let (cols, rows) = (40, 30);
        let plane = |r: usize, c: usize| 100.0 + 0.3 * c as f64 - 0.2 * r as f64;
        let mut z = vec![f64::NAN; cols * rows];
        // Known: the border and two cells in three elsewhere, around a 20×15 void. (Unknown
        // border cells would see one-sided neighbourhoods: a membrane is flat across its free
        // edges, so it does not reproduce a plane there.)
        for r in 0..rows {
            for c in 0..cols {
                let inside = (8..28).contains(&c) && (7..22).contains(&r);
                let border = r == 0 || c == 0 || r == rows - 1 || c == cols - 1;
                if border || (!inside && (r + c) % 3 != 0) {
                    z[r * cols + c] = plane(r, c);
                }
            }
        }
        assert!(inpaint(&mut z, cols, rows));
        let mut worst: f64 = 0.0;
        for r in 0..rows {
            for c in 0..cols {
                worst = worst.max((z[r * cols + c] - plane(r, c)).abs());
            }
        }
        // A membrane reproduces a plane only approximately in a few sweeps; 5 cm on a 12 m
        // relief is what the coarse-to-fine solver gives.
        assert!(worst < 0.05, "worst deviation {worst}");
        let mut none = vec![f64::NAN; 4];
        assert!(!inpaint(&mut none, 2, 2));
    }

    /// The padded surface gives the bits of the plain one everywhere: inside, within two cells
    /// of every edge (where the plain one extrapolates), and beyond (where it clamps).
    #[test]
    fn padded_interpolates_as_the_surface() {
        for (cols, rows) in [(7, 5), (1, 4), (3, 1), (2, 2)] {
            let g = CellGrid {
                x0: 100.0,
                y0: 200.0,
                cell: 0.5,
                cols,
                rows,
            };
            let z: Vec<f64> = (0..g.len())
                .map(|i| ((i * 7919) % 101) as f64 * 0.37 - (i % 13) as f64)
                .collect();
            let s = Surface { grid: g, z };
            let p = Padded::new(&s);
            let (mut n_edge, mut n) = (0, 0);
            for i in -12..=(2 * cols as i32 + 12) {
                for j in -12..=(2 * rows as i32 + 12) {
                    let (x, y) = (100.0 + 0.2371 * i as f64, 200.0 + 0.3119 * j as f64);
                    let at = p.position(x, y);
                    assert_eq!(
                        p.bicubic_at(at).to_bits(),
                        s.bicubic(x, y).to_bits(),
                        "{x} {y}"
                    );
                    assert_eq!(
                        p.bilinear_at(at).to_bits(),
                        s.bilinear(x, y).to_bits(),
                        "{x} {y}"
                    );
                    n += 1;
                    n_edge += usize::from(at.0 < 1 || at.1 < 1);
                }
            }
            assert!(n_edge > 0 && n_edge < n);
            // Many points at once (four per instruction with AVX2), with a cell size of 1 too.
            for cell in [0.5, 1.0] {
                let s = Surface {
                    grid: CellGrid { cell, ..g },
                    z: s.z.clone(),
                };
                let slope = Surface {
                    grid: s.grid,
                    z: s.slope(),
                };
                let (ps, pl) = (Padded::new(&s), Padded::new(&slope));
                let (mut x, mut y) = (vec![], vec![]);
                for i in 0..403 {
                    x.push(100.0 + cell * (((i * 37) % 97) as f64 * 0.13 - 2.5));
                    y.push(200.0 + cell * (((i * 53) % 89) as f64 * 0.11 - 2.5));
                }
                let (mut ez, mut sl) = (vec![0.0; x.len()], vec![0.0; x.len()]);
                bicubic_and_bilinear_many(&ps, &pl, &x, &y, &mut ez, &mut sl);
                let mut bl = vec![0.0; x.len()];
                bilinear_many(&ps, &x, &y, &mut bl);
                for i in 0..x.len() {
                    assert_eq!(ez[i].to_bits(), s.bicubic(x[i], y[i]).to_bits(), "{i}");
                    assert_eq!(sl[i].to_bits(), slope.bilinear(x[i], y[i]).to_bits(), "{i}");
                    assert_eq!(bl[i].to_bits(), s.bilinear(x[i], y[i]).to_bits(), "{i}");
                }
            }
        }
    }

    #[test]
    fn bicubic_and_bilinear_reproduce_planes() {
        let g = CellGrid {
            x0: 10.0,
            y0: 20.0,
            cell: 2.0,
            cols: 6,
            rows: 5,
        };
        let f = |x: f64, y: f64| 3.0 + 0.5 * x - 0.25 * y;
        let mut z = vec![0.0; g.len()];
        for r in 0..g.rows {
            for c in 0..g.cols {
                let (x, y) = g.centre(r, c);
                z[r * g.cols + c] = f(x, y);
            }
        }
        let s = Surface { grid: g, z };
        for (x, y) in [(13.3, 23.9), (17.0, 25.0), (15.5, 27.7)] {
            assert!((s.bilinear(x, y) - f(x, y)).abs() < 1e-9);
            assert!((s.bicubic(x, y) - f(x, y)).abs() < 1e-9);
        }
        let sl = s.slope();
        let expect = (0.5f64 * 0.5 + 0.25 * 0.25).sqrt();
        assert!(sl.iter().all(|v| (v - expect).abs() < 1e-9));
    }
}
