//! Pit-free CHM (Khosravipour et al. 2014), as implemented by lidR's `pitfree()`.
//!
//! First returns only. For each height threshold t (sorted ascending), the returns with
//! height ≥ t are triangulated (Delaunay, [`super::delaunay`]); triangles with an edge longer than the
//! edge limit are dropped (limit `max_edge_m[0]` for t = 0, `max_edge_m[1]` otherwise; 0 = no
//! limit); the remaining triangles are interpolated linearly at the cell centres. The CHM is
//! the per-cell maximum over these partial CHMs. Because the higher partial CHMs have no
//! triangles reaching down into the gaps between first returns, the "pits" (returns that went
//! deep into a crown) are overtopped and vanish.
//!
//! Parameters and defaults (lidR): `thresholds_m = [0, 2, 5, 10, 15]`,
//! `max_edge_m = [0, 1]`, `subcircle_m = 0`; like lidR (`highest = TRUE`), only the highest
//! first return per cell is triangulated, which speeds it up and changes the surface little.
//! A layer with 3 points or fewer is skipped (lidR does the same).
//!
//! Departures: the paper builds the partial CHMs with LAStools and "kill" distances tied to
//! the point spacing; lidR (and this code) use a fixed edge limit. The per-cell highest-return
//! selection is done on a grid aligned to multiples of the cell size that covers all given
//! points (not only the output cells), so a chunk triangulates its buffer too and its edge
//! cells equal a single-file run's. The subcircle keeps the return itself (as in [`super::p2r`]).
//!
//! Reference: Khosravipour A., Skidmore A.K., Isenburg M., Wang T., Hussin Y.A. (2014).
//! Generating pit-free canopy height models from airborne lidar. Photogrammetric Engineering
//! & Remote Sensing 80(9), 863–872.
//!
//! See also: [`super::p2r`], [`super::smooth`].

use super::delaunay::{Tin, V};
use super::{subcircle_offsets, HeightPoints, CHM_NODATA};
use crate::raster::{Grid, Raster};
use crate::{Error, Result};

/// Pit-free parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PitfreeParams {
    pub thresholds_m: Vec<f64>,
    pub max_edge_m: [f64; 2],
    pub subcircle_m: f64,
}

impl Default for PitfreeParams {
    fn default() -> Self {
        PitfreeParams {
            thresholds_m: vec![0.0, 2.0, 5.0, 10.0, 15.0],
            max_edge_m: [0.0, 1.0],
            subcircle_m: 0.0,
        }
    }
}

/// The pit-free CHM of `points` on `grid`.
///
/// The layers are built incrementally, highest threshold first: one triangulation receives the
/// returns of each height band in turn (Morton order, each insertion walking from the previous
/// one), so every return is inserted once instead of once per layer it belongs to, and a layer
/// rasterizes only the triangles that no layer above has rasterized ([`rasterize_layer`]: those
/// with a new corner, and the old ones that failed the limit above but pass a looser one). That
/// is exact: a Delaunay triangle of the larger set whose corners all belong to the smaller set
/// has an empty circumcircle there too, so it was a triangle of the layer above and was
/// rasterized then (if it passed that layer's limit), with the same values (corners put in a
/// canonical order first); the CHM is a maximum, so rasterizing a triangle twice changes
/// nothing. (Only four or more exactly co-circular returns, where several Delaunay
/// triangulations exist, may be split along the other diagonal than rebuilding the layer from
/// scratch would: measured against the per-layer bulk rebuild, the CHM is bit-identical on lasR
/// bcts 4, Chablais 3, MixedConifer and Megaplot; 5 of 226 279 cells differ on bcts 2 and 11 of
/// 176 916 on bcts 1, by at most 2.2 cm; tree detection scores are unchanged. 1.6–2.1× faster
/// on one thread.) The triangulation is [`super::delaunay`]'s, which gives spade's triangles
/// (also in those ties) for 56 % of spade's instructions.
pub fn pitfree(points: &HeightPoints, grid: &Grid, p: &PitfreeParams) -> Result<Raster<f32>> {
    let mut out = Raster::filled(*grid, CHM_NODATA);
    let verts = highest_first_returns(points, grid.res_m, p.subcircle_m);
    let mut ths = p.thresholds_m.clone();
    ths.sort_by(|a, b| a.total_cmp(b));
    // Layers with more than 3 returns (lidR skips the others, and every layer above them).
    let n_at_least = |t: f64| verts.iter().filter(|v| v.h >= t).count();
    let layers = ths.iter().take_while(|&&t| n_at_least(t) > 3).count();
    if layers == 0 {
        return Ok(out);
    }
    let edge_of = |t: f64| {
        if t == 0.0 {
            p.max_edge_m[0]
        } else {
            p.max_edge_m[1]
        }
    };
    let order = {
        let x: Vec<f64> = verts.iter().map(|v| v.x).collect();
        let y: Vec<f64> = verts.iter().map(|v| v.y).collect();
        crate::algo::terrain::morton_order(&x, &y)
    };
    // The returns of each height band `ths[j] ≤ h < ths[j + 1]` (the top band unbounded), in
    // Morton order.
    let mut bands: Vec<Vec<V>> = vec![Vec::new(); layers];
    for &i in &order {
        let v = verts[i];
        if let Some(j) = (0..layers).rev().find(|&j| v.h >= ths[j]) {
            bands[j].push(v);
        }
    }
    // Room for all the returns from the start (a planar triangulation of n vertices has at
    // most 2n triangles), so that the arrays are not copied as they grow.
    let n: usize = bands.iter().map(Vec::len).sum();
    let mut tin = Tin::with_capacity(n);
    let space = CellSpace::of(grid);
    let mut spans: Vec<Span> = Vec::with_capacity(n);
    let mut edge_above = None;
    for j in (0..layers).rev() {
        let first_new = tin.num_vertices();
        for &v in &bands[j] {
            tin.insert(v)
                .map_err(|e| Error::data("pit-free CHM", format!("triangulation failed: {e:?}")))?;
        }
        // (A vertex replaced by one at its position keeps its span.)
        spans.extend(tin.verts[first_new..].iter().map(|v| space.span(v)));
        let edge = edge_of(ths[j]);
        rasterize_layer(&mut out, &tin, &spans, first_new, edge_above, edge);
        edge_above = Some(edge);
    }
    Ok(out)
}

/// Highest first return (after subcircling) per cell of the aligned grid covering the points.
fn highest_first_returns(points: &HeightPoints, res_m: f64, subcircle_m: f64) -> Vec<V> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked on the line above).
        return unsafe { highest_first_returns_avx(points, res_m, subcircle_m) };
    }
    highest_first_returns_portable(points, res_m, subcircle_m)
}

/// [`highest_first_returns`] compiled for AVX (as [`Tin::insert`] is).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn highest_first_returns_avx(points: &HeightPoints, res_m: f64, subcircle_m: f64) -> Vec<V> {
    highest_first_returns_portable(points, res_m, subcircle_m)
}

#[inline(always)]
fn highest_first_returns_portable(points: &HeightPoints, res_m: f64, subcircle_m: f64) -> Vec<V> {
    let offsets: Vec<(f64, f64)> = if subcircle_m > 0.0 {
        std::iter::once((0.0, 0.0))
            .chain(subcircle_offsets(subcircle_m))
            .collect()
    } else {
        vec![(0.0, 0.0)]
    };
    let Some(r) = points.rect() else {
        return Vec::new();
    };
    let s = subcircle_m;
    let g = Grid::covering(&[r[0] - s, r[1] - s, r[2] + s, r[3] + s], res_m);
    // Per cell, the best return so far as the vertex itself, so that a tie (common: the ground
    // returns that are vertices of the ground TIN all have height 0) compares with the stored
    // position instead of fetching the point's from the columns (a cache miss, the points
    // coming in file order), and the vertices come out without that fetch either. An empty
    // cell holds a signalling NaN in `x`: an `x` here is a sum (`x + dx`), never a signalling
    // NaN (arithmetic quiets them), so no return can look like an empty cell.
    const EMPTY_X: u64 = 0x7ff0_0000_0000_0001;
    debug_assert!(f64::from_bits(EMPTY_X).is_nan());
    let empty = V {
        x: f64::from_bits(EMPTY_X),
        y: 0.0,
        h: 0.0,
    };
    let mut best: Vec<V> = vec![empty; g.len()];
    // `Grid::cell_of`, with its expressions, its bounds in the same order and the same
    // results (NaN included: `as` gives 0), the conversions to `u32` instead of `usize`
    // (the same values below 2^32, fewer instructions).
    debug_assert!(g.ncols < 1 << 32 && g.nrows < 1 << 32);
    let (x_min, y_min, res) = (g.x_min, g.y_min(), g.res_m);
    let (ncols_f, nrows_f) = (g.ncols as f64, g.nrows as f64);
    let cell_of = |x: f64, y: f64| {
        let c = (x - x_min) / res;
        let k = (y - y_min) / res;
        if c < 0.0 || k < 0.0 || c >= ncols_f || k >= nrows_f {
            None
        } else {
            Some((g.nrows - 1 - k as u32 as usize, c as u32 as usize))
        }
    };
    for i in 0..points.len() {
        if !points.first_return[i] {
            continue;
        }
        for &(dx, dy) in &offsets {
            let (x, y, h) = (points.x[i] + dx, points.y[i] + dy, points.h[i]);
            if let Some((row, col)) = cell_of(x, y) {
                let b = &mut best[row * g.ncols + col];
                // Ties keep the point with the smaller (x, y), whatever the input order.
                let better =
                    b.x.to_bits() == EMPTY_X || h > b.h || (h == b.h && (x, y) < (b.x, b.y));
                if better {
                    *b = V { x, y, h };
                }
            }
        }
    }
    best.retain(|b| b.x.to_bits() != EMPTY_X);
    best
}

/// Rasterizes the triangles of one layer that no layer above has rasterized.
///
/// Every triangle of `tin` has a corner inserted in this layer (index ≥ `first_new`) or is a
/// triangle of the layer above: an insertion removes only triangles whose circumcircle holds the
/// new vertex and fills the hole with triangles that have it as a corner (see
/// [`super::delaunay`]), so every other triangle is left as it was. By induction over the
/// layers, every triangle of the layer above that passed that layer's edge limit `edge_above`
/// was rasterized, with the values it gets here (its corners are put in a canonical order), and
/// the CHM is a maximum, so rasterizing it again changes nothing. Only two kinds of triangles
/// are rasterized, then: those with a new corner, and the old ones that failed `edge_above` but
/// pass `edge` (possible only when `edge` is looser: no limit, or a longer one, as from the 2 m
/// layer to the 0 m one with lidR's defaults).
fn rasterize_layer(
    out: &mut Raster<f32>,
    tin: &Tin,
    spans: &[Span],
    first_new: usize,
    edge_above: Option<f64>,
    edge: f64,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked on the line above).
        return unsafe { rasterize_layer_avx(out, tin, spans, first_new, edge_above, edge) };
    }
    rasterize_layer_portable(out, tin, spans, first_new, edge_above, edge)
}

/// [`rasterize_layer`] compiled for AVX (as [`Tin::insert`] is): the same operations and
/// roundings (no fused multiply-add), with three-operand instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn rasterize_layer_avx(
    out: &mut Raster<f32>,
    tin: &Tin,
    spans: &[Span],
    first_new: usize,
    edge_above: Option<f64>,
    edge: f64,
) {
    rasterize_layer_portable(out, tin, spans, first_new, edge_above, edge)
}

#[inline(always)]
fn rasterize_layer_portable(
    out: &mut Raster<f32>,
    tin: &Tin,
    spans: &[Span],
    first_new: usize,
    edge_above: Option<f64>,
    edge: f64,
) {
    let mut cells = Cells::new(out);
    let pick = Pick::new(first_new, edge_above, edge);
    // (A loop over `Pick`, not a function taking a closure: the closure was not inlined into
    // the AVX code.)
    for c in tin.origin.chunks_exact(4) {
        if let Some((idx, corners)) = pick.triangle(tin, c) {
            let [p, q, r] = idx.map(|i| spans[i as usize]);
            cells.triangle(corners, [p, q, r], edge);
        }
    }
}

/// Calls `f` with what [`Pick::triangle`] gives for each triangle, in the order of the array:
/// the triangles [`rasterize_layer`] rasterizes (for the tests).
#[cfg(test)]
fn layer_triangles(
    tin: &Tin,
    first_new: usize,
    edge_above: Option<f64>,
    edge: f64,
    mut f: impl FnMut([u32; 3], [V; 3]),
) {
    let pick = Pick::new(first_new, edge_above, edge);
    for c in tin.origin.chunks_exact(4) {
        if let Some((idx, corners)) = pick.triangle(tin, c) {
            f(idx, corners);
        }
    }
}

/// Which triangles of `tin` [`rasterize_layer`] has to rasterize: the vertex indices and the
/// corners (in the triangulation's order; [`canonical`] before use) of each, once (it may still
/// fail `edge`). A scan of the flat triangle array with a test of the corner indices costs a
/// few instructions a triangle, less than finding the new triangles around the new vertices.
struct Pick {
    first_new: u32,
    edge_above: Option<f64>,
    old_may_pass: bool,
}

impl Pick {
    fn new(first_new: usize, edge_above: Option<f64>, edge: f64) -> Pick {
        let old_may_pass = match edge_above {
            None => true,
            Some(above) => above > 0.0 && (edge <= 0.0 || edge > above),
        };
        Pick {
            first_new: first_new as u32,
            edge_above,
            old_may_pass,
        }
    }

    /// The vertex indices and corners of the triangle of the half-edge slots `c` (its first
    /// four), when it is to be rasterized.
    #[inline(always)]
    fn triangle(&self, tin: &Tin, c: &[u32]) -> Option<([u32; 3], [V; 3])> {
        let old = c[0].max(c[1]).max(c[2]) < self.first_new;
        if old && self.edge_above.is_some() && !self.old_may_pass {
            return None;
        }
        let idx = [c[0], c[1], c[2]];
        let corners = idx.map(|i| tin.verts[i as usize]);
        // An old triangle is rasterized only if it failed the limit above (or there is no
        // layer above). [`within`] does not depend on the corners' order.
        if old && self.edge_above.is_some_and(|above| within(&corners, above)) {
            return None;
        }
        Some((idx, corners))
    }
}

/// The corners in `(x, y)` order, so that a triangle gets the same values, bit for bit, in every
/// layer and whichever way it was found.
///
/// Each corner goes to its rank among the three (how many come before it), without a branch on
/// the comparisons (unpredictable). The ranks are 0, 1 and 2 in some order: `before` is a strict
/// total order on the positions' bits, and no two vertices of the triangulation share a
/// position (one inserted at a vertex's position replaces it), so this is the sorted order
/// that any sort gives.
#[inline]
fn canonical(corners: [V; 3]) -> [V; 3] {
    let before = |p: &V, q: &V| p.x.total_cmp(&q.x).then(p.y.total_cmp(&q.y)).is_lt();
    let [a, b, c] = corners;
    let (ba, ca, cb) = (
        before(&b, &a) as usize,
        before(&c, &a) as usize,
        before(&c, &b) as usize,
    );
    let mut out = [a; 3];
    out[ba + ca] = a;
    out[1 - ba + cb] = b;
    out[2 - ca - cb] = c;
    out
}

/// Whether no edge of the triangle is longer than `max_edge` (0 = no limit). The same answer in
/// any corner order: the three squared lengths are the same floats (`p - q` is `-(q - p)`
/// exactly).
#[inline]
fn within(&[a, b, c]: &[V; 3], max_edge: f64) -> bool {
    if max_edge <= 0.0 {
        return true;
    }
    let d2 = |p: V, q: V| (p.x - q.x).powi(2) + (p.y - q.y).powi(2);
    let m2 = max_edge * max_edge;
    !(d2(a, b) > m2 || d2(b, c) > m2 || d2(c, a) > m2)
}

/// A vertex's place among the cell centres, for the cell range of the triangles around it:
/// `[ceil(u), floor(u), ceil(w), floor(w)]` of its column and row coordinates
/// `u = (x - x_min)/res - 0.5` and `w = (y_max - y)/res - 0.5` (clamped to ±(2^31 - 2)).
///
/// The columns whose centre lies in a triangle's bounding box are `ceil(u(xmin))..=
/// floor(u(xmax))`; `u` is a monotone function of `x` (each operation is correctly rounded), so
/// `u(xmin)` is the least `u` of the corners and `ceil(u(xmin))` the least of their `ceil(u)`
/// (the same for the largest, and for the rows with `w`, decreasing in `y`). With the spans
/// computed once a vertex, a triangle's cell range is a few integer minima and maxima instead
/// of four divisions and float-to-integer conversions; the range is the same. (The clamping
/// changes no range either: a clamped value lies beyond every index of a grid of fewer than
/// 2^31 - 2 columns or rows, as the true one does.)
type Span = [i32; 4];

/// The grid's numbers that place a point among the cell centres.
#[derive(Clone, Copy)]
struct CellSpace {
    x_min: f64,
    y_max: f64,
    res_m: f64,
    ncols: usize,
    nrows: usize,
}

impl CellSpace {
    fn of(g: &Grid) -> CellSpace {
        debug_assert!(g.ncols < (1 << 31) - 2 && g.nrows < (1 << 31) - 2);
        CellSpace {
            x_min: g.x_min,
            y_max: g.y_max,
            res_m: g.res_m,
            ncols: g.ncols,
            nrows: g.nrows,
        }
    }

    /// The [`Span`] of `v`.
    fn span(&self, v: &V) -> Span {
        let u = (v.x - self.x_min) / self.res_m - 0.5;
        let w = (self.y_max - v.y) / self.res_m - 0.5;
        let [cu, fu] = ceil_floor(u);
        let [cw, fw] = ceil_floor(w);
        [cu, fu, cw, fw]
    }
}

/// `[ceil(v), floor(v)]` of `v` clamped to ±(2^31 - 2) (a NaN, never given, gives 0).
fn ceil_floor(v: f64) -> [i32; 2] {
    const M: f64 = (i32::MAX - 1) as f64;
    let v = v.clamp(-M, M);
    // |v| < 2^31: the truncation is exact and the results stay in range.
    let t = v as i32;
    [t + ((t as f64) < v) as i32, t - ((t as f64) > v) as i32]
}

/// The CHM's cells as a flat row-major slice, with the grid's numbers at hand, for
/// [`Cells::triangle`].
struct Cells<'a> {
    data: &'a mut [f32],
    x_min: f64,
    y_max: f64,
    res_m: f64,
    ncols: usize,
    nrows: usize,
}

impl<'a> Cells<'a> {
    fn new(out: &'a mut Raster<f32>) -> Cells<'a> {
        let space = CellSpace::of(&out.grid);
        let data = out
            .data
            .as_slice_mut()
            .expect("a new raster is in standard layout");
        Cells {
            data,
            x_min: space.x_min,
            y_max: space.y_max,
            res_m: space.res_m,
            ncols: space.ncols,
            nrows: space.nrows,
        }
    }

    /// Rasterizes one triangle when it is [`within`] `max_edge` (maximum with what the cell
    /// holds), the corners first put in [`canonical`] order; `spans` are the corners'
    /// [`Span`]s.
    ///
    /// The triangles are about one cell in size, so the work per triangle, not per cell,
    /// dominates: the cell range comes first, from the spans (integer minima and maxima), so
    /// that a triangle around no cell centre costs no more; and a cell's barycentric
    /// coordinates are computed only for the cells of the bounding box, with the centre's
    /// coordinates of [`Grid::centre`] (the same expressions).
    #[inline(always)]
    fn triangle(&mut self, corners: [V; 3], spans: [Span; 3], max_edge: f64) {
        let [p, q, r] = spans;
        // Columns ceil(u(xmin))..=floor(u(xmax)) and rows ceil(w(ymax))..=floor(w(ymin)),
        // clipped to the grid.
        let c0 = p[0].min(q[0]).min(r[0]).max(0);
        let c1 = p[1].max(q[1]).max(r[1]).min(self.ncols as i32 - 1);
        let r0 = p[2].min(q[2]).min(r[2]).max(0);
        let r1 = p[3].max(q[3]).max(r[3]).min(self.nrows as i32 - 1);
        if c0 > c1 || r0 > r1 || !within(&corners, max_edge) {
            return;
        }
        let (c0, c1, r0, r1) = (c0 as usize, c1 as usize, r0 as usize, r1 as usize);
        let [a, b, c] = canonical(corners);
        let det = (b.y - c.y) * (a.x - c.x) + (c.x - b.x) * (a.y - c.y);
        if det.abs() < 1e-12 {
            return;
        }
        let eps = 1e-9;
        for row in r0..=r1 {
            // `as u32` then `as f64`: the same value as `row as f64` (row < 2^31), in one
            // conversion instruction instead of the unsigned 64-bit sequence.
            let py = self.y_max - (row as u32 as f64 + 0.5) * self.res_m;
            let line = row * self.ncols;
            for col in c0..=c1 {
                let px = self.x_min + (col as u32 as f64 + 0.5) * self.res_m;
                let l0 = ((b.y - c.y) * (px - c.x) + (c.x - b.x) * (py - c.y)) / det;
                let l1 = ((c.y - a.y) * (px - c.x) + (a.x - c.x) * (py - c.y)) / det;
                let l2 = 1.0 - l0 - l1;
                if l0 < -eps || l1 < -eps || l2 < -eps {
                    continue;
                }
                let z = (l0 * a.h + l1 * b.h + l2 * c.h) as f32;
                let v = &mut self.data[line + col];
                if *v == CHM_NODATA || z > *v {
                    *v = z;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::canopy::is_valid;
    use spade::{DelaunayTriangulation, Triangulation};

    /// A cone-shaped crown sampled on a dense jittered lattice, with some "pits": first returns
    /// that went 3 m deeper into the crown.
    fn cone() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<bool>) {
        let (mut x, mut y, mut h, mut f) = (vec![], vec![], vec![], vec![]);
        let mut k = 0u64;
        for i in 0..31 {
            for j in 0..31 {
                k = k
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let jx = ((k >> 33) % 1000) as f64 / 1000.0 * 0.2;
                let jy = ((k >> 13) % 1000) as f64 / 1000.0 * 0.2;
                let px = i as f64 * 0.5 + jx;
                let py = j as f64 * 0.5 + jy;
                let d = ((px - 7.5).powi(2) + (py - 7.5).powi(2)).sqrt();
                let mut z = (20.0 - 2.0 * d).max(0.0);
                if (i * 7 + j * 3) % 11 == 0 && z > 5.0 {
                    z = 1.0; // a pit: the return went deep into the crown
                }
                x.push(px);
                y.push(py);
                h.push(z);
                f.push(true);
            }
        }
        (x, y, h, f)
    }

    #[test]
    fn pitfree_removes_pits_that_a_plain_tin_keeps() {
        let (x, y, h, f) = cone();
        let pts = HeightPoints {
            x: &x,
            y: &y,
            h: &h,
            first_return: &f,
        };
        // Cells smaller than the point spacing, so that the plain TIN shows the pits.
        let g = Grid {
            x_min: 2.0,
            y_max: 13.0,
            res_m: 0.25,
            ncols: 44,
            nrows: 44,
        };
        let max_dev = |r: &Raster<f32>| {
            // Compare with the true surface at cell centres.
            let mut m = 0.0f64;
            let mut n = 0;
            for row in 0..g.nrows {
                for c in 0..g.ncols {
                    let (cx, cy) = g.centre(row, c);
                    let d = ((cx - 7.5).powi(2) + (cy - 7.5).powi(2)).sqrt();
                    let truth = 20.0 - 2.0 * d;
                    if truth < 6.0 {
                        continue;
                    }
                    let v = r.data[[row, c]];
                    assert!(is_valid(v));
                    m = m.max((v as f64 - truth).abs());
                    n += 1;
                }
            }
            assert!(n > 100);
            m
        };
        let tin_only = PitfreeParams {
            thresholds_m: vec![0.0],
            ..Default::default()
        };
        let tin = pitfree(&pts, &g, &tin_only).unwrap();
        // An edge limit of 3 point spacings, as the paper recommends.
        let pf_params = PitfreeParams {
            max_edge_m: [0.0, 1.5],
            ..Default::default()
        };
        let pf = pitfree(&pts, &g, &pf_params).unwrap();
        // The plain TIN shows the pits (several metres deep); pit-free stays within ~1 m of the
        // true surface.
        let (dt, dp) = (max_dev(&tin), max_dev(&pf));
        assert!(dt > 3.0, "plain TIN max deviation {dt}");
        assert!(dp < 1.2, "pit-free max deviation {dp}");
    }

    /// Every layer triangulated from scratch (the straightforward form of the algorithm).
    fn pitfree_rebuilt(points: &HeightPoints, grid: &Grid, p: &PitfreeParams) -> Raster<f32> {
        let mut out = Raster::filled(*grid, CHM_NODATA);
        let mut verts = highest_first_returns(points, grid.res_m, p.subcircle_m);
        let mut ths = p.thresholds_m.clone();
        ths.sort_by(|a, b| a.total_cmp(b));
        for &t in &ths {
            verts.retain(|v| v.h >= t);
            if verts.len() <= 3 {
                break;
            }
            let edge = p.max_edge_m[(t != 0.0) as usize];
            let tin: DelaunayTriangulation<V> =
                DelaunayTriangulation::bulk_load(verts.clone()).unwrap();
            let space = CellSpace::of(grid);
            let mut cells = Cells::new(&mut out);
            for face in tin.inner_faces() {
                let corners = face.vertices().map(|v| *v.data());
                cells.triangle(corners, corners.map(|v| space.span(&v)), edge);
            }
        }
        out
    }

    #[test]
    fn incremental_layers_equal_layers_rebuilt_from_scratch() {
        // Crowns of random heights on random (non-lattice) positions, some ground returns.
        let mut rnd = crate::testdata::uniform(7);
        let crowns: Vec<(f64, f64, f64)> = (0..40)
            .map(|_| (rnd() * 60.0, rnd() * 60.0, 3.0 + rnd() * 25.0))
            .collect();
        let (mut x, mut y, mut h, mut f) = (vec![], vec![], vec![], vec![]);
        for _ in 0..20_000 {
            let (px, py) = (rnd() * 60.0, rnd() * 60.0);
            let top = crowns
                .iter()
                .map(|&(cx, cy, ch)| ch - 1.5 * ((px - cx).powi(2) + (py - cy).powi(2)).sqrt())
                .fold(0.0f64, f64::max);
            let pit = if rnd() < 0.1 { rnd() * top } else { 0.0 };
            x.push(500_000.0 + px);
            y.push(4_000_000.0 + py);
            h.push((top - pit).max(0.0));
            f.push(rnd() < 0.8);
        }
        let pts = HeightPoints {
            x: &x,
            y: &y,
            h: &h,
            first_return: &f,
        };
        let g = Grid::covering(&[500_000.0, 4_000_000.0, 500_060.0, 4_000_060.0], 0.5);
        for p in [
            PitfreeParams::default(),
            PitfreeParams {
                thresholds_m: vec![0.0, 2.0, 5.0, 10.0, 15.0, 20.0, 25.0],
                max_edge_m: [3.0, 1.0],
                subcircle_m: 0.1,
            },
            // The lowest layer's limit tighter than the others', or theirs absent.
            PitfreeParams {
                max_edge_m: [0.8, 1.2],
                ..PitfreeParams::default()
            },
            PitfreeParams {
                max_edge_m: [1.0, 0.0],
                ..PitfreeParams::default()
            },
        ] {
            let a = pitfree(&pts, &g, &p).unwrap();
            let b = pitfree_rebuilt(&pts, &g, &p);
            assert!(a.data.iter().filter(|v| is_valid(**v)).count() > 10_000);
            assert!(
                a.data
                    .iter()
                    .zip(b.data.iter())
                    .all(|(u, v)| u.to_bits() == v.to_bits()),
                "{p:?}"
            );
        }
    }

    /// The corners' bits, to compare triangles.
    fn key(c: [V; 3]) -> [u64; 9] {
        let mut k = [0; 9];
        for (i, v) in c.iter().enumerate() {
            k[3 * i..3 * i + 3].copy_from_slice(&[v.x.to_bits(), v.y.to_bits(), v.h.to_bits()]);
        }
        k
    }

    #[test]
    fn a_layer_gives_the_new_triangles_and_the_old_ones_that_failed_above() {
        // The same points in spade's triangulation give the expected triangles.
        let mut rnd = crate::testdata::uniform(3);
        let mut tin = Tin::with_capacity(450);
        let mut reference: DelaunayTriangulation<V> = DelaunayTriangulation::new();
        let mut add = |tin: &mut Tin, r: &mut DelaunayTriangulation<V>, n: usize, h: f64| {
            for _ in 0..n {
                let v = V {
                    x: rnd() * 20.0,
                    y: rnd() * 20.0,
                    h: h + rnd(),
                };
                tin.insert(v).unwrap();
                r.insert(v).unwrap();
            }
        };
        add(&mut tin, &mut reference, 300, 10.0);
        let first_new = tin.num_vertices();
        add(&mut tin, &mut reference, 150, 0.0);
        // The faces with a new corner.
        let mut expected: Vec<[u64; 9]> = reference
            .inner_faces()
            .filter(|f| f.vertices().iter().any(|v| v.fix().index() >= first_new))
            .map(|f| key(canonical(f.vertices().map(|v| *v.data()))))
            .collect();
        expected.sort_unstable();
        let n_with_new = expected.len();
        assert!(n_with_new > 200 && n_with_new < reference.num_inner_faces());
        // Limits under which no old triangle is rasterized again.
        for (above, edge) in [(1.0, 1.0), (1.0, 0.5), (0.0, 1.0), (0.0, 0.0)] {
            let mut got = vec![];
            layer_triangles(&tin, first_new, Some(above), edge, |_, c| {
                got.push(key(canonical(c)))
            });
            got.sort_unstable();
            assert_eq!(got, expected, "{above} {edge}");
        }
        // A looser limit also gives the old triangles that failed the one above.
        let mut expected: Vec<[u64; 9]> = reference
            .inner_faces()
            .map(|f| (f, canonical(f.vertices().map(|v| *v.data()))))
            .filter(|(f, c)| {
                f.vertices().iter().any(|v| v.fix().index() >= first_new) || !within(c, 1.0)
            })
            .map(|(_, c)| key(c))
            .collect();
        expected.sort_unstable();
        assert!(expected.len() > n_with_new + 20);
        let mut got = vec![];
        layer_triangles(&tin, first_new, Some(1.0), 0.0, |_, c| {
            got.push(key(canonical(c)))
        });
        got.sort_unstable();
        assert_eq!(got, expected);
        // No layer above: every triangle.
        let mut got = vec![];
        layer_triangles(&tin, first_new, None, 1.0, |_, c| {
            got.push(key(canonical(c)))
        });
        assert_eq!(got.len(), reference.num_inner_faces());
    }

    #[test]
    fn spans_give_the_cells_of_the_bounding_box() {
        // Corners in and around the grid, some on cell-centre lines; the cell range from the
        // spans equals the one from the bounding box (ceil/floor of its cell coordinates,
        // clipped to the grid), also where it is empty.
        let g = Grid {
            x_min: 520_000.0,
            y_max: 3_400_200.0,
            res_m: 0.5,
            ncols: 40,
            nrows: 30,
        };
        let space = CellSpace::of(&g);
        let mut rnd = crate::testdata::uniform(13);
        // Triangles of about a cell, some corners on a line of cell centres.
        let mut coord = |base: f64, spread: f64| {
            let t = base + (rnd() - 0.5) * spread;
            if rnd() < 0.2 {
                ((t - 0.25) / 0.5).round() * 0.5 + 0.25
            } else {
                t
            }
        };
        let (mut empty, mut some) = (0, 0);
        for _ in 0..20_000 {
            let (bx, by) = (coord(520_010.0, 26.0), coord(3_400_192.5, 21.0));
            let v: [V; 3] = std::array::from_fn(|_| V {
                x: coord(bx, 0.8),
                y: coord(by, 0.8),
                h: 0.0,
            });
            let range = |lo: f64, hi: f64, n: usize| {
                let (first, last) = (lo.ceil().max(0.0), hi.floor().min(n as f64 - 1.0));
                (first <= last).then_some((first as i32, last as i32))
            };
            let xmin = v.iter().map(|p| p.x).fold(f64::INFINITY, f64::min);
            let xmax = v.iter().map(|p| p.x).fold(f64::NEG_INFINITY, f64::max);
            let ymin = v.iter().map(|p| p.y).fold(f64::INFINITY, f64::min);
            let ymax = v.iter().map(|p| p.y).fold(f64::NEG_INFINITY, f64::max);
            let cols = range(
                (xmin - g.x_min) / g.res_m - 0.5,
                (xmax - g.x_min) / g.res_m - 0.5,
                g.ncols,
            );
            let rows = range(
                (g.y_max - ymax) / g.res_m - 0.5,
                (g.y_max - ymin) / g.res_m - 0.5,
                g.nrows,
            );
            let s = v.map(|p| space.span(&p));
            let c0 = s[0][0].min(s[1][0]).min(s[2][0]).max(0);
            let c1 = s[0][1].max(s[1][1]).max(s[2][1]).min(g.ncols as i32 - 1);
            let r0 = s[0][2].min(s[1][2]).min(s[2][2]).max(0);
            let r1 = s[0][3].max(s[1][3]).max(s[2][3]).min(g.nrows as i32 - 1);
            assert_eq!((c0 <= c1).then_some((c0, c1)), cols, "{v:?}");
            assert_eq!((r0 <= r1).then_some((r0, r1)), rows, "{v:?}");
            if cols.is_some() && rows.is_some() {
                some += 1;
            } else {
                empty += 1;
            }
        }
        assert!(some > 1000 && empty > 1000, "{some} {empty}");
        // Far outside, clamped.
        assert_eq!(ceil_floor(1e300), [i32::MAX - 1; 2]);
        assert_eq!(ceil_floor(-1e300), [-(i32::MAX - 1); 2]);
        assert_eq!(ceil_floor(-2.5), [-2, -3]);
        assert_eq!(ceil_floor(3.0), [3, 3]);
    }

    #[test]
    fn too_few_points_give_an_empty_raster() {
        let pts = HeightPoints {
            x: &[0.0, 1.0],
            y: &[0.0, 1.0],
            h: &[3.0, 4.0],
            first_return: &[true, true],
        };
        let g = Grid {
            x_min: 0.0,
            y_max: 2.0,
            res_m: 1.0,
            ncols: 2,
            nrows: 2,
        };
        let r = pitfree(&pts, &g, &PitfreeParams::default()).unwrap();
        assert!(r.data.iter().all(|v| !is_valid(*v)));
    }
}
