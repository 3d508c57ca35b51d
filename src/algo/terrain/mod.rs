//! Terrain: the ground surface under the points, as a DTM raster or as heights above ground.
//!
//! Ground points (classification 2 by default, optionally 9 water; see [`ground_mask`]) are
//! turned into a [`GroundSurface`] by one of two methods, chosen with the typed
//! [`DtmMethod`] (serde, `Default` = lidR's published defaults):
//! * [`DtmMethod::Tin`] ([`tin`]): Delaunay TIN with linear interpolation, kNN-IDW outside the
//!   convex hull — lidR `tin()` (`extrapolate = knnidw(3, 1, 50)`); the default;
//! * [`DtmMethod::Idw`] ([`idw`]): kNN inverse-distance weighting — lidR `knnidw(10, 2, 50)`.
//!
//! The surface is then rasterized at cell centres ([`dtm`]) or subtracted from every point's
//! `z` ([`normalize`]); two DTMs are compared with [`compare`].
//!
//! Ground points that share one `(x, y)` are merged first, keeping the lowest `z`
//! ([`dedupe_lowest`]). Every evaluation is made independent of point order and of which chunk
//! computed it, so a chunked, buffered run equals a single-file run cell for cell.
//!
//! See also: the ground filters under `algo::ground` (which produce the classes used here).

pub mod compare;
pub mod delaunay;
pub mod dtm;
pub mod idw;
pub mod normalize;
mod radix;
pub mod tin;

pub use compare::{compare, RasterDiff};
pub use dtm::{dtm, dtm_cells, dtm_chunk, rasterize, ChunkDtm, DtmOptions, NODATA};
pub use idw::{Idw, IdwSurface};
pub use normalize::{
    height_above_ground, normalize, GroundReference, HagOutput, NormalizeOptions, NormalizeReport,
    HAG_NAME,
};
pub use tin::{LocateHint, Tin, TinSurface};

use crate::points::PointCloud;
use crate::{Error, Result};
use rayon::prelude::*;

/// How a ground surface is interpolated from ground points.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum DtmMethod {
    /// Delaunay TIN, linear within triangles; kNN-IDW outside the hull (lidR `tin()`).
    Tin(Tin),
    /// kNN inverse-distance weighting (lidR `knnidw()`).
    Idw(Idw),
}

impl Default for DtmMethod {
    /// lidR's default for `rasterize_terrain()`: `tin()`.
    fn default() -> Self {
        DtmMethod::Tin(Tin::default())
    }
}

impl DtmMethod {
    /// Checks the parameters are usable.
    pub fn validate(&self) -> Result<()> {
        match self {
            DtmMethod::Tin(t) => t.validate(),
            DtmMethod::Idw(i) => i.validate(),
        }
    }

    /// A short human description, e.g. `tin (extrapolation knnidw k=3 p=1 rmax=50 m)`.
    pub fn describe(&self) -> String {
        let idw = |i: &Idw| format!("knnidw k={} p={} rmax={} m", i.k, i.power, i.rmax_m);
        match self {
            DtmMethod::Tin(t) => format!(
                "tin (boundary edges <= {} m, extrapolation {})",
                t.max_boundary_edge_m,
                idw(&t.extrapolation)
            ),
            DtmMethod::Idw(i) => idw(i),
        }
    }
}

/// The name of a method in configuration files and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SurfaceKind {
    /// [`DtmMethod::Tin`].
    #[default]
    Tin,
    /// [`DtmMethod::Idw`].
    Idw,
}

impl SurfaceKind {
    /// The method of this kind with its parameters.
    pub fn with(self, tin: Tin, idw: Idw) -> DtmMethod {
        match self {
            SurfaceKind::Tin => DtmMethod::Tin(tin),
            SurfaceKind::Idw => DtmMethod::Idw(idw),
        }
    }
}

/// Ground classes used by default: 2 (ground). Add 9 (water) for surfaces over lakes.
pub const DEFAULT_GROUND_CLASSES: [u8; 1] = [crate::points::class::GROUND];

/// `true` for points whose class is one of `ground_classes`.
pub fn ground_mask(cloud: &PointCloud, ground_classes: &[u8]) -> Vec<bool> {
    let mut is = [false; 256];
    for &c in ground_classes {
        is[c as usize] = true;
    }
    cloud
        .classification
        .iter()
        .map(|&c| is[c as usize])
        .collect()
}

/// Ground points `[x, y, z]` unique in `(x, y)`, sorted by `(x, y)`: where several points share
/// one `(x, y)` the lowest `z` is kept. Non-finite coordinates are dropped.
pub fn dedupe_lowest(x: &[f64], y: &[f64], z: &[f64]) -> Vec<[f64; 3]> {
    let mut keys: Vec<[i64; 3]> = x
        .iter()
        .zip(y)
        .zip(z)
        .filter(|((a, b), c)| a.is_finite() && b.is_finite() && c.is_finite())
        .map(|((&a, &b), &c)| xyz_key(a, b, c))
        .collect();
    sort_by_x_buckets(&mut keys, |k| k[0]);
    let mut pts: Vec<[f64; 3]> = keys.into_iter().map(xyz_of_key).collect();
    pts.dedup_by(|later, first| later[0] == first[0] && later[1] == first[1]);
    pts
}

/// Sorts `items` into the order of `sort_unstable` (a total order on them, or one whose equal
/// items are identical, so the result is unique), `x_of` being the first, most significant,
/// component of that order. Instead of a comparison sort of all the items (on the keys of
/// [`xyz_key`], a branchy lexicographic compare of three integers, ~40 % of the TIN's
/// build), one counting pass distributes them into about `n / 2` buckets of equal width in `x`
/// (its high varying bits: a monotone map, so buckets come in order), and each bucket is then
/// sorted by comparison. Buckets hold a few items, or one scan line of quantized LAS `x` (one
/// `x` value per bucket): O(n) plus small sorts. With a far outlier in `x` most items share
/// a bucket and this degrades to the plain comparison sort plus one pass.
fn sort_by_x_buckets<T: Ord + Copy>(items: &mut Vec<T>, x_of: impl Fn(&T) -> i64) {
    let n = items.len();
    if n < 64 {
        items.sort_unstable();
        return;
    }
    let (lo, hi) = items.iter().fold((i64::MAX, i64::MIN), |(l, h), t| {
        let x = x_of(t);
        (l.min(x), h.max(x))
    });
    let bucket_bits = (n / 2).next_power_of_two().min(1 << 20).trailing_zeros();
    // `hi >= lo`: their difference fits a u64; shifted, it is below 2^bucket_bits.
    let span = hi.wrapping_sub(lo) as u64;
    let shift = (64 - span.leading_zeros()).saturating_sub(bucket_bits);
    let bucket = |t: &T| ((x_of(t).wrapping_sub(lo) as u64) >> shift) as usize;
    let mut start = vec![0usize; (1 << bucket_bits) + 1];
    for t in items.iter() {
        start[bucket(t) + 1] += 1;
    }
    for b in 1..start.len() {
        start[b] += start[b - 1];
    }
    let mut fill = start.clone();
    // Any values: the scatter writes every slot once.
    let mut out = vec![items[0]; n];
    for t in items.iter() {
        let b = bucket(t);
        out[fill[b]] = *t;
        fill[b] += 1;
    }
    for w in start.windows(2) {
        if w[1] - w[0] > 1 {
            out[w[0]..w[1]].sort_unstable();
        }
    }
    *items = out;
}

/// A point as integers whose lexicographic order is the `(x, y, z)` order of
/// `f64::total_cmp` (the lowest `z` of an `(x, y)` first): the dedupe sorts then compare plain
/// integers. The transform is `total_cmp`'s own, and is its own inverse ([`xyz_of_key`]).
fn xyz_key(x: f64, y: f64, z: f64) -> [i64; 3] {
    [total_key(x), total_key(y), total_key(z)]
}

fn xyz_of_key(k: [i64; 3]) -> [f64; 3] {
    k.map(from_total_key)
}

/// `v` as an integer in `f64::total_cmp`'s order.
pub(crate) fn total_key(v: f64) -> i64 {
    total_key_flip(v.to_bits() as i64)
}

/// The inverse of [`total_key`] (the transform is its own inverse).
pub(crate) fn from_total_key(k: i64) -> f64 {
    f64::from_bits(total_key_flip(k) as u64)
}

/// Flips the magnitude bits of negative values (`f64::total_cmp`'s transform).
fn total_key_flip(b: i64) -> i64 {
    b ^ (((b >> 63) as u64) >> 1) as i64
}

/// [`dedupe_lowest`] over the points `idx` of `x, y, z`, also giving, for each of them (in
/// the order of `idx`), the lowest `z` at its `(x, y)`: its elevation in a TIN of the result
/// (NaN for a point with a non-finite coordinate).
fn dedupe_lowest_indexed(
    x: &[f64],
    y: &[f64],
    z: &[f64],
    idx: &[usize],
) -> (Vec<[f64; 3]>, Vec<f64>) {
    // Sized up front and filled without a branch: each point is written at the next free slot,
    // which advances only past a finite one (a filtered collect or extend pushes one item at a
    // time, checking the capacity, ~35 instructions a point). Written into the spare capacity,
    // not zeroed first (a memset of 32 bytes a point).
    let mut keyed: Vec<([i64; 3], usize)> = Vec::with_capacity(idx.len());
    let mut kept = 0;
    {
        let slots = &mut keyed.spare_capacity_mut()[..idx.len()];
        for (k, &i) in idx.iter().enumerate() {
            let (a, b, c) = (x[i], y[i], z[i]);
            // `kept <= k < idx.len()`: in bounds.
            slots[kept].write((xyz_key(a, b, c), k));
            kept += (a.is_finite() & b.is_finite() & c.is_finite()) as usize;
        }
    }
    debug_assert!(kept <= idx.len());
    // SAFETY: `kept` only advances past a slot just written: slots `0..kept` hold points.
    unsafe { keyed.set_len(kept) };
    // Equal keys are equal points: their order among themselves changes nothing below (and
    // the index makes the order total anyway).
    sort_by_x_buckets(&mut keyed, |(k, _)| k[0]);
    let mut lowest = vec![f64::NAN; idx.len()];
    // At most one point per key: no reallocation (and little unused room: duplicates in
    // `(x, y)` are few).
    let mut pts: Vec<[f64; 3]> = Vec::with_capacity(keyed.len());
    for (key, k) in keyed {
        let p = xyz_of_key(key);
        match pts.last() {
            Some(first) if first[0] == p[0] && first[1] == p[1] => lowest[k] = first[2],
            _ => {
                lowest[k] = p[2];
                pts.push(p);
            }
        }
    }
    (pts, lowest)
}

/// A ground surface built by one of the [`DtmMethod`]s.
pub enum GroundSurface {
    Tin(TinSurface),
    Idw(IdwSurface),
}

/// Queries evaluated in parallel blocks of this many points, each block walking the TIN from
/// where its previous query landed.
const BLOCK: usize = 4096;

impl GroundSurface {
    /// Builds the surface from ground coordinates. Errors when there is no ground point or the
    /// parameters are invalid; with fewer than 3 (or collinear) points the TIN degrades to its
    /// IDW extrapolation, with a warning.
    pub fn new(x: &[f64], y: &[f64], z: &[f64], method: &DtmMethod) -> Result<GroundSurface> {
        method.validate()?;
        Self::from_unique(dedupe_lowest(x, y, z), method)
    }

    /// Builds the surface from ground points already unique in `(x, y)` and sorted; an error
    /// when there is none.
    fn from_unique(pts: Vec<[f64; 3]>, method: &DtmMethod) -> Result<GroundSurface> {
        if pts.is_empty() {
            return Err(Error::data(
                "ground surface",
                "no ground point (is the cloud ground-classified? see `landcarbon ground`)",
            ));
        }
        Ok(match method {
            DtmMethod::Tin(t) => GroundSurface::Tin(TinSurface::from_unique(pts, t)?),
            DtmMethod::Idw(i) => GroundSurface::Idw(IdwSurface::from_unique(pts, *i)?),
        })
    }

    /// Builds the surface from the points of `cloud` where `is_ground` is `true`.
    pub fn from_cloud(
        cloud: &PointCloud,
        is_ground: &[bool],
        method: &DtmMethod,
    ) -> Result<GroundSurface> {
        Ok(ground_of(cloud, is_ground, method)?.0)
    }

    /// Number of unique ground points.
    pub fn len(&self) -> usize {
        match self {
            GroundSurface::Tin(t) => t.len(),
            GroundSurface::Idw(i) => i.len(),
        }
    }

    /// `true` when the surface has no point (never, once built).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ground elevation at `(x, y)`, `None` where undefined (no ground within reach).
    /// `hint` speeds up spatially coherent queries on a TIN; it is ignored by IDW.
    pub fn z_at(&self, x: f64, y: f64, hint: &mut LocateHint) -> Option<f64> {
        match self {
            GroundSurface::Tin(t) => t.z_at(x, y, hint),
            GroundSurface::Idw(i) => i.z_at(x, y),
        }
    }

    /// Ground elevation at each `(x[i], y[i])`, evaluated in parallel; `None` where undefined.
    pub fn z_at_many(&self, x: &[f64], y: &[f64]) -> Vec<Option<f64>> {
        let n = x.len().min(y.len());
        let mut out = vec![None; n];
        self.z_at_where(&x[..n], &y[..n], |_| true, &mut out);
        out
    }

    /// Ground elevation at `(x[i], y[i])` into `out[i]` for every `i` where `wanted(i)`.
    ///
    /// Queries are visited in the Morton (Z-curve) order of their position, so that each walk
    /// through the TIN starts next to where the previous one ended whatever the order of the
    /// points (scan order, sorted, shuffled): the cost stays O(1) per point instead of growing
    /// with the distance between consecutive points. The order is that of 2¹¹ × 2¹¹ cells (about
    /// 10 cm on a chunk), points within a cell in their own order: two radix passes of 11 bits
    /// over 8-byte words (index, cell) instead of four byte passes over 16-byte (key, index)
    /// pairs, for the same walks. The values do not depend on the order.
    fn z_at_where(
        &self,
        x: &[f64],
        y: &[f64],
        wanted: impl Fn(usize) -> bool,
        out: &mut [Option<f64>],
    ) {
        if x.len() > u32::MAX as usize {
            // Beyond the packed index (no chunk gets near): in the points' own order.
            let mut hint = LocateHint::default();
            for i in (0..x.len()).filter(|&i| wanted(i)) {
                out[i] = self.z_at(x[i], y[i], &mut hint);
            }
            return;
        }
        let grid = MortonGrid::covering(x.iter().copied().zip(y.iter().copied()));
        let mut order: Vec<u64> = (0..x.len())
            .filter(|&i| wanted(i))
            .map(|i| (i as u64) << 32 | grid.key(x[i], y[i]) >> 10)
            .collect();
        radix::sort_by_digits::<2, 11, u64>(&mut order, &mut Vec::new(), |&k| k);
        let mut located = vec![None; order.len()];
        located
            .par_chunks_mut(BLOCK)
            .zip(order.par_chunks(BLOCK))
            .for_each(|(dst, keys)| {
                // The block's coordinates gathered first: a loop of independent loads, whose
                // cache misses overlap, instead of one miss at the head of every walk.
                let xy: Vec<(f64, f64)> = keys
                    .iter()
                    .map(|&k| {
                        let i = (k >> 32) as usize;
                        (x[i], y[i])
                    })
                    .collect();
                let mut hint = LocateHint::default();
                for (d, &(a, b)) in dst.iter_mut().zip(&xy) {
                    *d = self.z_at(a, b, &mut hint);
                }
            });
        for (&k, v) in order.iter().zip(located) {
            out[(k >> 32) as usize] = v;
        }
    }
}

/// The surface of the points of `cloud` where `is_ground` is `true`, with the indices of those
/// points and, for each, the lowest ground `z` at its `(x, y)` (NaN for a non-finite point).
fn ground_of(
    cloud: &PointCloud,
    is_ground: &[bool],
    method: &DtmMethod,
) -> Result<(GroundSurface, Vec<usize>, Vec<f64>)> {
    if is_ground.len() != cloud.len() {
        return Err(Error::data(
            "ground surface",
            format!(
                "ground mask has {} entries for {} points",
                is_ground.len(),
                cloud.len()
            ),
        ));
    }
    method.validate()?;
    // Counted first, then filled without a branch (as in `dedupe_lowest_indexed`): each index is
    // written at the next free slot, which advances only past a ground point; one spare slot
    // for the writes after the last ground point.
    // Into the spare capacity, not filled first (a memset of 8 bytes a point).
    let count = is_ground.iter().filter(|&&g| g).count();
    let mut idx: Vec<usize> = Vec::with_capacity(count + 1);
    let mut kept = 0;
    {
        let slots = &mut idx.spare_capacity_mut()[..count + 1];
        for (i, &g) in is_ground.iter().enumerate() {
            // `kept <= count`: in bounds.
            slots[kept].write(i);
            kept += g as usize;
        }
    }
    debug_assert_eq!(kept, count);
    // SAFETY: `kept` only advances past a slot just written, and it ends at `count` (the
    // ground points counted above): slots `0..count` hold their indices.
    unsafe { idx.set_len(count) };
    let (pts, lowest) = dedupe_lowest_indexed(&cloud.x, &cloud.y, &cloud.z, &idx);
    Ok((GroundSurface::from_unique(pts, method)?, idx, lowest))
}

/// A ground surface built from a cloud's own ground points, knowing which points of the cloud
/// are its vertices.
pub struct CloudGround {
    pub surface: GroundSurface,
    /// Per point of the cloud: for a ground point of a TIN with triangles, the TIN's elevation
    /// there (it is a vertex: the lowest ground `z` at its `(x, y)`); NaN otherwise.
    vertex_z: Vec<f64>,
}

impl CloudGround {
    /// Builds the surface from the points of `cloud` where `is_ground` is `true`.
    pub fn build(
        cloud: &PointCloud,
        is_ground: &[bool],
        method: &DtmMethod,
    ) -> Result<CloudGround> {
        let (surface, idx, lowest) = ground_of(cloud, is_ground, method)?;
        let mut vertex_z = Vec::new();
        if matches!(&surface, GroundSurface::Tin(t) if t.has_triangles()) {
            vertex_z = vec![f64::NAN; cloud.len()];
            for (&i, &z) in idx.iter().zip(&lowest) {
                vertex_z[i] = z;
            }
        }
        Ok(CloudGround { surface, vertex_z })
    }

    /// The surface's elevation under every point of the cloud it was built from, as
    /// [`GroundSurface::z_at_many`] gives it, without locating the ground points of a TIN: a
    /// Delaunay point location lands on the vertex at a vertex's position, whose elevation is
    /// known (the lowest ground `z` there). The same values, bit for bit; where most returns
    /// are ground (open land), most of the locations are saved.
    pub fn z_under(&self, cloud: &PointCloud) -> Vec<Option<f64>> {
        if self.vertex_z.len() != cloud.len() {
            return self.surface.z_at_many(&cloud.x, &cloud.y);
        }
        let mut out: Vec<Option<f64>> = self
            .vertex_z
            .iter()
            .map(|&z| (!z.is_nan()).then_some(z))
            .collect();
        let vertex_z = &self.vertex_z;
        self.surface
            .z_at_where(&cloud.x, &cloud.y, |i| vertex_z[i].is_nan(), &mut out);
        out
    }
}

/// Indices of the points sorted along a Morton (Z-order) curve over their bounding box
/// (2¹⁶ steps a side); non-finite coordinates sort first.
pub(crate) fn morton_order(x: &[f64], y: &[f64]) -> Vec<usize> {
    let grid = MortonGrid::covering(x.iter().copied().zip(y.iter().copied()));
    let mut keyed: Vec<(u64, usize)> = x
        .par_iter()
        .zip(y)
        .enumerate()
        .map(|(i, (&a, &b))| (grid.key(a, b), i))
        .collect();
    // Stable by key from index order: ties by index, as sorting the (key, index) pairs. Keys
    // are below 2³²: three passes of 11 bits (instead of four of 8).
    radix::sort_by_digits::<3, 11, _>(&mut keyed, &mut Vec::new(), |&(k, _)| k);
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The bits of a byte moved to the even bits of a `u16` (bit `b` to bit `2 b`).
const SPREAD_BYTE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut b = 0;
        while b < 8 {
            table[i] |= (((i >> b) & 1) as u16) << (2 * b);
            b += 1;
        }
        i += 1;
    }
    table
};

/// A Morton (Z-order) key grid over a bounding box, 2¹⁶ steps a side.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MortonGrid {
    x0: f64,
    y0: f64,
    /// Steps per metre.
    scale: f64,
}

impl MortonGrid {
    /// The grid over the bounding box of the finite points.
    pub(crate) fn covering(pts: impl Iterator<Item = (f64, f64)>) -> MortonGrid {
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (a, b) in pts {
            if a.is_finite() && b.is_finite() {
                x0 = x0.min(a);
                x1 = x1.max(a);
                y0 = y0.min(b);
                y1 = y1.max(b);
            }
        }
        let span = (x1 - x0).max(y1 - y0);
        let scale = if span > 0.0 { 65535.0 / span } else { 0.0 };
        MortonGrid { x0, y0, scale }
    }

    /// The key of `(a, b)`: the bits of its two cell coordinates interleaved (below 2³²); 0 for
    /// a non-finite point.
    #[inline]
    pub(crate) fn key(&self, a: f64, b: f64) -> u64 {
        // The low 16 bits of `v` to the even bits of 32: a table lookup per byte instead of
        // the four shift-and-mask steps (fewer instructions; the table is 512 bytes).
        let spread = |v: u32| -> u64 {
            SPREAD_BYTE[(v & 0xff) as usize] as u64
                | (SPREAD_BYTE[((v >> 8) & 0xff) as usize] as u64) << 16
        };
        if a.is_finite() && b.is_finite() {
            let cx = ((a - self.x0) * self.scale) as u32;
            let cy = ((b - self.y0) * self.scale) as u32;
            spread(cx) | (spread(cy) << 1)
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morton_keys_interleave_the_cell_bits() {
        // The grid's cells are 1 m over [0, 65535]: the key of cell (x, y) is the bits of x at
        // the even positions, those of y at the odd ones.
        let g = MortonGrid::covering([(0.0, 0.0), (65535.0, 65535.0)].into_iter());
        let interleave = |x: u64, y: u64| {
            (0..16).fold(0u64, |m, b| {
                m | ((x >> b) & 1) << (2 * b) | ((y >> b) & 1) << (2 * b + 1)
            })
        };
        for (x, y) in [
            (0u64, 0u64),
            (1, 0),
            (0, 1),
            (255, 256),
            (65535, 65535),
            (12345, 54321),
        ] {
            assert_eq!(g.key(x as f64, y as f64), interleave(x, y), "({x}, {y})");
        }
        assert_eq!(g.key(f64::NAN, 1.0), 0);
    }

    #[test]
    fn dedupe_keeps_lowest_and_sorts() {
        let p = dedupe_lowest(
            &[2.0, 1.0, 1.0, 2.0, f64::NAN],
            &[0.0, 5.0, 5.0, 0.0, 1.0],
            &[3.0, 9.0, 8.0, 1.0, 1.0],
        );
        assert_eq!(p, vec![[1.0, 5.0, 8.0], [2.0, 0.0, 1.0]]);
    }

    #[test]
    fn indexed_dedupe_gives_each_point_its_lowest_z() {
        // Non-finite points first, in the middle and last (the slot they were written to is
        // reused by the next point, or cut off), over a subset of the points.
        let x = [f64::NAN, 2.0, 1.0, 7.0, 1.0, 2.0, 3.0, f64::INFINITY];
        let y = [0.0, 0.0, 5.0, 7.0, 5.0, 0.0, 1.0, 1.0];
        let z = [0.0, 3.0, 9.0, 7.0, 8.0, 1.0, f64::NAN, 1.0];
        let (pts, lowest) = dedupe_lowest_indexed(&x, &y, &z, &[0, 1, 2, 4, 5, 6, 7]);
        assert_eq!(pts, vec![[1.0, 5.0, 8.0], [2.0, 0.0, 1.0]]);
        let bits = |v: &[f64]| v.iter().map(|z| z.to_bits()).collect::<Vec<_>>();
        let nan = f64::NAN;
        assert_eq!(bits(&lowest), bits(&[nan, 1.0, 8.0, 8.0, 1.0, nan, nan]));
        let (pts, lowest) = dedupe_lowest_indexed(&x, &y, &z, &[0]);
        assert!(pts.is_empty());
        assert!(lowest[0].is_nan());
    }

    #[test]
    fn bucket_sort_equals_sort_unstable() {
        use rand::Rng;
        let mut rng = rand_pcg::Pcg64::new(3, 4);
        // Quantized LAS-like coordinates (few x values, duplicates), continuous ones, negative
        // and positive x, one far outlier, and fewer items than the bucketing threshold.
        type PointGen = Box<dyn Fn(&mut rand_pcg::Pcg64) -> [f64; 3]>;
        let gens: Vec<PointGen> = vec![
            Box::new(|r| {
                let q = |v: f64| (v * 100.0).round() / 100.0 + 520_000.0;
                [
                    q(r.random_range(0.0..2.0)),
                    q(r.random_range(0.0..5.0)),
                    q(r.random_range(0.0..0.1)),
                ]
            }),
            Box::new(|r| {
                [
                    r.random_range(-5.0..5.0),
                    r.random_range(0.0..1.0),
                    r.random(),
                ]
            }),
            Box::new(|r| {
                let x = if r.random_range(0..1000) == 0 {
                    1e12
                } else {
                    r.random_range(0.0..1.0)
                };
                [x, r.random_range(0..3) as f64, r.random_range(0..2) as f64]
            }),
        ];
        for n in [0, 1, 10, 63, 64, 65, 1000, 20_000] {
            for g in &gens {
                let keyed: Vec<([i64; 3], usize)> = (0..n)
                    .map(|k| {
                        let p = g(&mut rng);
                        (xyz_key(p[0], p[1], p[2]), k)
                    })
                    .collect();
                let mut want = keyed.clone();
                want.sort_unstable();
                let mut got = keyed.clone();
                sort_by_x_buckets(&mut got, |(k, _)| k[0]);
                assert_eq!(got, want, "n = {n}");
                let mut want: Vec<[i64; 3]> = keyed.iter().map(|&(k, _)| k).collect();
                let mut got = want.clone();
                want.sort_unstable();
                sort_by_x_buckets(&mut got, |k| k[0]);
                assert_eq!(got, want, "n = {n}");
            }
        }
    }

    #[test]
    fn integer_keys_sort_as_total_cmp_and_round_trip() {
        let vals = [
            -1e300,
            -3.5,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            1e-300,
            0.25,
            2.0,
            7e12,
        ];
        let mut pts: Vec<[f64; 3]> = Vec::new();
        for (i, &a) in vals.iter().enumerate() {
            for (j, &b) in vals.iter().enumerate() {
                pts.push([a, b, vals[(i * 7 + j * 3) % vals.len()]]);
            }
        }
        let mut by_cmp = pts.clone();
        by_cmp.sort_by(|p, q| {
            p[0].total_cmp(&q[0])
                .then(p[1].total_cmp(&q[1]))
                .then(p[2].total_cmp(&q[2]))
        });
        let mut keys: Vec<[i64; 3]> = pts.iter().map(|p| xyz_key(p[0], p[1], p[2])).collect();
        keys.sort_unstable();
        let by_key: Vec<[f64; 3]> = keys.into_iter().map(xyz_of_key).collect();
        let bits =
            |v: &[[f64; 3]]| -> Vec<[u64; 3]> { v.iter().map(|p| p.map(f64::to_bits)).collect() };
        assert_eq!(bits(&by_key), bits(&by_cmp));
    }

    #[test]
    fn elevations_under_the_cloud_equal_point_location_bit_for_bit() {
        let (mut cloud, _) = crate::synth::generate(&crate::synth::SynthParams {
            size_m: [40.0, 40.0],
            pulses_per_m2: 6.0,
            ..Default::default()
        });
        // Ground duplicates in (x, y) at other heights, a ground point with a NaN coordinate
        // and non-ground points on ground positions.
        let n = cloud.len();
        let ground: Vec<usize> = (0..n).filter(|&i| cloud.classification[i] == 2).collect();
        let mut extra = cloud.select(&ground[..50]);
        for k in 0..50 {
            extra.z[k] += if k % 2 == 0 { 0.7 } else { -0.3 };
            if k % 5 == 0 {
                extra.classification[k] = 1;
            }
        }
        extra.x[7] = f64::NAN;
        cloud.append(&extra).unwrap();
        let mask = ground_mask(&cloud, &[2]);
        let g = CloudGround::build(&cloud, &mask, &DtmMethod::default()).unwrap();
        let located = g.surface.z_at_many(&cloud.x, &cloud.y);
        let under = g.z_under(&cloud);
        assert_eq!(located.len(), under.len());
        for (i, (a, b)) in located.iter().zip(&under).enumerate() {
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "point {i}");
        }
        // The vertices were not located: most ground points are known.
        let known = g.vertex_z.iter().filter(|z| !z.is_nan()).count();
        assert!(
            known >= ground.len(),
            "{known} of {} ground points",
            ground.len()
        );
        // An IDW surface is located everywhere, with the same result.
        let idw = DtmMethod::Idw(Idw::default());
        let g = CloudGround::build(&cloud, &mask, &idw).unwrap();
        assert!(g.vertex_z.is_empty());
        assert_eq!(g.z_under(&cloud), g.surface.z_at_many(&cloud.x, &cloud.y));
    }

    #[test]
    fn method_serde_round_trip_and_defaults() {
        let m = DtmMethod::default();
        assert_eq!(m, DtmMethod::Tin(Tin::default()));
        let j = serde_json::to_string(&DtmMethod::Idw(Idw::default())).unwrap();
        assert!(j.contains("\"method\":\"idw\""), "{j}");
        let back: DtmMethod = serde_json::from_str(&j).unwrap();
        assert_eq!(back, DtmMethod::Idw(Idw::default()));
        let t: DtmMethod = serde_json::from_str(r#"{"method":"tin"}"#).unwrap();
        assert_eq!(t, DtmMethod::default());
    }

    #[test]
    fn many_queries_in_any_order_match_single_queries() {
        let mut rng = rand_pcg::Pcg64::new(1, 2);
        use rand::Rng;
        let n = 3000;
        let x: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..100.0)).collect();
        let y: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..100.0)).collect();
        let z: Vec<f64> = x
            .iter()
            .zip(&y)
            .map(|(a, b)| 10.0 + 0.1 * a - 0.05 * b)
            .collect();
        let s = GroundSurface::new(&x, &y, &z, &DtmMethod::default()).unwrap();
        let qx: Vec<f64> = (0..20_000)
            .map(|_| rng.random_range(-60.0..160.0))
            .collect();
        let qy: Vec<f64> = (0..20_000)
            .map(|_| rng.random_range(-60.0..160.0))
            .collect();
        let many = s.z_at_many(&qx, &qy);
        let mut h = LocateHint::default();
        for i in 0..qx.len() {
            assert_eq!(many[i], s.z_at(qx[i], qy[i], &mut h), "query {i}");
        }
        assert!(
            many.iter().any(|v| v.is_none())
                && many.iter().filter(|v| v.is_some()).count() > 10_000
        );
    }

    #[test]
    fn no_ground_is_a_clear_error() {
        let e = GroundSurface::new(&[], &[], &[], &DtmMethod::default())
            .err()
            .expect("error");
        assert!(e.to_string().contains("no ground point"), "{e}");
    }
}
