//! Chunk planning: split a catalog into chunks that can be processed independently.
//!
//! Each chunk has a *core* (the area whose products it owns) and a *buffer* around it (default
//! 30 m, as lidR's LAScatalog) filled with points from neighbouring tiles, so that algorithms
//! that look at neighbours (ground filters, TINs, tree crowns) behave at the core's edge as in
//! the middle of one large file. Products are cropped to the core.
//!
//! Two modes, as lidR's `chunk_size`:
//! * by tile (`size_m = 0`): one chunk per file. Its core points are the file's own points; its
//!   core rectangle (for raster cells) is the file's bounding box snapped outward to
//!   `align_m` (default 20 m), so that adjacent tiles whose boxes stop a centimetre short still
//!   meet and every raster cell of a resolution dividing `align_m` that holds a point of the
//!   tile has its centre in the core. Neighbouring cores may then overlap by less than
//!   `align_m`; cells in the overlap are computed by both chunks from the same points (the
//!   buffer) and agree;
//! * by grid (`size_m > 0`): square chunks on a grid aligned to `origin`; a point belongs to
//!   the chunk whose half-open core `[x0, x1) × [y0, y1)` contains it.
//!
//! In tile mode a tile of more than `max_points` points is cut automatically into *parts*:
//! rectangles of whole `align_m` cells of its snapped core, cut in two again and again where
//! its points divide (estimated from a sample of the file) until each holds at most about
//! `max_points` (see `tile_parts`). The sample depends on the order of the points in the file,
//! so the same points stored in another order (a COPC octree) may be cut elsewhere; the same
//! file is always cut the same way. Each part is a chunk whose core points are the tile's
//! points in the part's half-open core and whose buffer holds the tile's other points and its
//! neighbours' points within the buffer: the peak memory and the cost of a chunk are set by
//! `max_points`, not by the file.

use super::index::TileInfo;
use crate::{Error, Result};

/// How to cut a catalog into chunks.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChunkOptions {
    /// Chunk side in CRS units; 0 = one chunk per tile.
    pub size_m: f64,
    /// Buffer width around each chunk core.
    pub buffer_m: f64,
    /// Grid origin for `size_m > 0` (chunk edges at origin + k·size).
    pub origin: [f64; 2],
    /// In tile mode, core rectangles are snapped outward to multiples of this step; raster
    /// resolutions should divide it.
    pub align_m: f64,
    /// In tile mode, a tile with more points than this is cut into parts of at most about this
    /// many points each, their buffers included (rectangles cut where the points are, with
    /// buffers inside the tile); 0 = never cut.
    pub max_points: u64,
}

/// Default of [`ChunkOptions::max_points`], counted with the part's buffer. Measured with
/// `scripts/bench-scaling.sh`'s 8x file (15.6 M points in one file, `ground --threads 1`,
/// 2026-12-07, CPU seconds, two interleaved rounds, relative to the cut by mean density at 1 M
/// core points of the previous release, 271 MB): 1 M takes 1.15–1.21 times as long and peaks at
/// 196 MB, 1.5 M 1.06–1.09 times and 261 MB, 2 M 0.96–0.97 times and 318 MB, 3 M (one run)
/// 0.95 times and 399 MB. Smaller parts carry more buffer per core point; 1.5 M keeps the time
/// and the memory of the previous release, now bounded whatever the file's gaps.
pub const DEFAULT_MAX_POINTS: u64 = 1_500_000;

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            size_m: 0.0,
            buffer_m: 30.0,
            origin: [0.0, 0.0],
            align_m: 20.0,
            max_points: DEFAULT_MAX_POINTS,
        }
    }
}

/// An axis-aligned rectangle `[xmin, ymin, xmax, ymax]`.
pub type Rect = [f64; 4];

/// One unit of parallel work.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Chunk {
    /// Position in the plan (stable for a given catalog and options).
    pub id: usize,
    /// Rectangle whose products this chunk owns.
    pub core: Rect,
    /// Core grown by the buffer: points inside it are read.
    pub buffered: Rect,
    /// Indices (into the catalog) of the tiles that intersect `buffered`.
    pub tiles: Vec<usize>,
    /// In tile mode, the tile whose points form the core.
    pub own_tile: Option<usize>,
    /// Header point count of the core area (for load balancing; an estimate in grid mode and
    /// for parts).
    pub est_points: u64,
    /// In tile mode, `Some((k, n))` when the own tile is cut into `n` parts and this chunk is
    /// part `k`: its core points are those of the own tile inside the (half-open) core.
    pub part: Option<(usize, usize)>,
}

impl Chunk {
    /// Name (without extension) of a per-chunk output file: the own tile's file stem in tile
    /// mode, followed by the part's lower-left corner for a part (`tile_885020_629140`), and
    /// the core's lower-left corner in grid mode (`885000_629100`).
    pub fn file_stem(&self, tiles: &[TileInfo]) -> String {
        let corner = format!("{:.0}_{:.0}", self.core[0], self.core[1]);
        match self.own_tile {
            Some(t) => {
                let stem = tiles[t]
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_else(|| format!("tile{t}"));
                match self.part {
                    Some(_) => format!("{stem}_{corner}"),
                    None => stem,
                }
            }
            None => corner,
        }
    }

    /// Whether `(x, y)` lies in the half-open core rectangle.
    pub fn core_contains(&self, x: f64, y: f64) -> bool {
        x >= self.core[0] && x < self.core[2] && y >= self.core[1] && y < self.core[3]
    }
}

fn intersects(a: &Rect, b: &Rect) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

fn grow(r: &Rect, d: f64) -> Rect {
    [r[0] - d, r[1] - d, r[2] + d, r[3] + d]
}

fn tile_rect(t: &TileInfo) -> Rect {
    [t.bounds[0], t.bounds[1], t.bounds[3], t.bounds[4]]
}

fn overlap_area(a: &Rect, b: &Rect) -> f64 {
    (a[2].min(b[2]) - a[0].max(b[0])).max(0.0) * (a[3].min(b[3]) - a[1].max(b[1])).max(0.0)
}

/// Estimated points per square cell of `align_m` over a tile's snapped core, row by row from
/// its lower-left corner: from a sample of the file's points ([`crate::points::sample`]) or,
/// without one, the mean density over the header's bounding box.
#[derive(Debug, Clone)]
pub struct CellCounts {
    pub nx: usize,
    pub ny: usize,
    pub counts: Vec<f64>,
}

impl CellCounts {
    fn zeros(core: &Rect, align_m: f64) -> CellCounts {
        let nx = (((core[2] - core[0]) / align_m).round() as usize).max(1);
        let ny = (((core[3] - core[1]) / align_m).round() as usize).max(1);
        CellCounts {
            nx,
            ny,
            counts: vec![0.0; nx * ny],
        }
    }

    /// The points of `t` spread evenly over its header's bounding box.
    pub fn of_header(core: &Rect, align_m: f64, t: &TileInfo) -> CellCounts {
        CellCounts::uniform(core, align_m, &tile_rect(t), t.n_points)
    }

    /// The tile's points spread evenly over its bounding box `tile`.
    pub fn uniform(core: &Rect, align_m: f64, tile: &Rect, n_points: u64) -> CellCounts {
        let mut c = CellCounts::zeros(core, align_m);
        let area = (tile[2] - tile[0]) * (tile[3] - tile[1]);
        for j in 0..c.ny {
            for i in 0..c.nx {
                let cell = cell_rect(core, align_m, [i, j, i + 1, j + 1]);
                c.counts[j * c.nx + i] = if area > 0.0 {
                    n_points as f64 * overlap_area(&cell, tile) / area
                } else {
                    n_points as f64 / (c.nx * c.ny) as f64
                };
            }
        }
        c
    }

    /// Weighted positions binned into the cells (a position outside the core counts in the
    /// nearest cell).
    pub fn from_sample(core: &Rect, align_m: f64, x: &[f64], y: &[f64], w: &[f64]) -> CellCounts {
        let mut c = CellCounts::zeros(core, align_m);
        let bin =
            |v: f64, lo: f64, n: usize| (((v - lo) / align_m).floor().max(0.0) as usize).min(n - 1);
        for ((&x, &y), &w) in x.iter().zip(y).zip(w) {
            c.counts[bin(y, core[1], c.ny) * c.nx + bin(x, core[0], c.nx)] += w;
        }
        c
    }
}

/// The rectangle of cells `[i0, j0, i1, j1)` of a core.
fn cell_rect(core: &Rect, a: f64, c: [usize; 4]) -> Rect {
    [
        core[0] + c[0] as f64 * a,
        core[1] + c[1] as f64 * a,
        (core[0] + c[2] as f64 * a).min(core[2]),
        (core[1] + c[3] as f64 * a).min(core[3]),
    ]
}

/// The cores of the parts of a tile of `n_points` whose snapped core is `core`, with their
/// estimated core points: `[core]` when the tile is small enough; otherwise rectangles of whole
/// cells of `align_m`, found by cutting the core in two, across its longer side, where the
/// estimated points divide in the ratio of the parts each side needs, until every part holds at
/// most `max_points` with the tile's points in its buffer, or is one cell. Parts follow the
/// points (a gappy or unevenly dense tile gets large parts where it is empty and small ones where
/// it is dense), so a part's cost and memory are set by `max_points`, not by the file.
fn tile_parts(
    core: &Rect,
    n_points: u64,
    counts: &dyn Fn() -> Result<CellCounts>,
    opts: &ChunkOptions,
) -> Result<Vec<(Rect, u64)>> {
    if opts.max_points == 0 || n_points <= opts.max_points {
        return Ok(vec![(*core, n_points)]);
    }
    let c = counts()?;
    // Summed-area table: the estimated points of any rectangle of cells in O(1).
    let w = c.nx + 1;
    let mut sat = vec![0.0f64; w * (c.ny + 1)];
    for j in 0..c.ny {
        for i in 0..c.nx {
            sat[(j + 1) * w + i + 1] =
                c.counts[j * c.nx + i] + sat[j * w + i + 1] + sat[(j + 1) * w + i] - sat[j * w + i];
        }
    }
    let sum = |r: [usize; 4]| {
        sat[r[3] * w + r[2]] - sat[r[1] * w + r[2]] - sat[r[3] * w + r[0]] + sat[r[1] * w + r[0]]
    };
    // The part's rectangle grown by the buffer (within the tile): a buffer of a fraction of a
    // cell counts that fraction of the outer ring of cells (rounding it up to whole cells
    // overestimated a 30 m buffer on 20 m cells by a third, and cut parts too small).
    let grown = |r: [usize; 4], g: usize| {
        sum([
            r[0].saturating_sub(g),
            r[1].saturating_sub(g),
            (r[2] + g).min(c.nx),
            (r[3] + g).min(c.ny),
        ])
    };
    let cells = opts.buffer_m / opts.align_m;
    let (g_lo, frac) = (cells.floor() as usize, cells - cells.floor());
    let buffered = |r: [usize; 4]| {
        let lo = grown(r, g_lo);
        if frac > 0.0 {
            lo + frac * (grown(r, g_lo + 1) - lo)
        } else {
            lo
        }
    };
    let max = opts.max_points as f64 * ESTIMATE_MARGIN;
    let part_core = core_points_per_part(&c, opts, max);
    let mut parts = Vec::new();
    let mut todo = vec![[0, 0, c.nx, c.ny]];
    while let Some(r) = todo.pop() {
        let total = sum(r);
        let with_buffer = buffered(r);
        let (wx, wy) = (r[2] - r[0], r[3] - r[1]);
        if with_buffer <= max || wx * wy == 1 {
            parts.push((cell_rect(core, opts.align_m, r), total.round() as u64));
            continue;
        }
        // Parts this region needs: enough that each holds at most `max` with its buffer,
        // counting the buffers the cuts themselves will add (`part_core`).
        let k = (with_buffer / max).ceil().max((total / part_core).ceil());
        let target = total * (k / 2.0).floor() / k;
        let along_x = wx > 1 && (wx >= wy || wy == 1);
        let (lo, hi) = if along_x { (r[0], r[2]) } else { (r[1], r[3]) };
        let side = |m: usize| {
            if along_x {
                ([r[0], r[1], m, r[3]], [m, r[1], r[2], r[3]])
            } else {
                ([r[0], r[1], r[2], m], [r[0], m, r[2], r[3]])
            }
        };
        let cut = (lo + 1..hi)
            .min_by(|&a, &b| {
                let d = |m| (sum(side(m).0) - target).abs();
                d(a).total_cmp(&d(b))
            })
            .expect("a side of two or more cells has a cut");
        let (first, second) = side(cut);
        // Pushed in reverse so that parts come out from the lower-left corner.
        todo.push(second);
        todo.push(first);
    }
    Ok(parts)
}

/// Parts are planned to this fraction of `max_points`: the sample's estimate of a part's points
/// errs by up to about 15 % (it adds up a few dozen LAZ chunks, each standing for 50,000 points
/// where its first 1,000 lie). Measured on `scripts/bench-scaling.sh`'s 8x file (15.6 M points,
/// 1.5 M target): planned to the full target, parts held up to 1.72 M points with their buffer;
/// planned to 87 %, up to 1.33 M (26 parts, buffered points 1.54 times the core ones).
const ESTIMATE_MARGIN: f64 = 0.87;

/// The core points of a square part whose points with its buffer are `max`, at the
/// mean density of the occupied cells: a part of side `s` at density `d` holds `d·s²` core and
/// `d·(s + 2·buffer)²` points in all. Without this, cutting a region into the number of parts
/// its own points and buffer need underestimates it (every cut adds buffer on both sides), so
/// the last cuts halve parts just over the target: on a 15.6 M-point file (1.5 M target, 30 m
/// buffer) 24 parts of on average 0.65 M core points instead of about 15 of 1.0 M.
fn core_points_per_part(c: &CellCounts, opts: &ChunkOptions, max: f64) -> f64 {
    let occupied = c.counts.iter().filter(|&&v| v > 0.0).count().max(1) as f64;
    let total: f64 = c.counts.iter().sum();
    let density = total / (occupied * opts.align_m * opts.align_m);
    if density.is_nan() || density <= 0.0 {
        return max;
    }
    // Fixed point of core = max · (s / (s + 2b))², s = √(core / d): converges in a few steps.
    let mut core = max;
    for _ in 0..8 {
        let side = (core / density).sqrt();
        core = max * (side / (side + 2.0 * opts.buffer_m)).powi(2);
    }
    core.max(1.0)
}

/// Plans the chunks of a catalog, sizing the parts of a big tile from the mean density over its
/// bounding box. [`plan_with`] takes the cell counts from elsewhere (a sample of the file).
pub fn plan(tiles: &[TileInfo], opts: &ChunkOptions) -> Result<Vec<Chunk>> {
    plan_with(tiles, opts, &|t, core| {
        Ok(CellCounts::of_header(core, opts.align_m, t))
    })
}

/// Plans the chunks of a catalog; `counts(tile, core)` tells where a tile to be cut into parts
/// has its points.
pub fn plan_with(
    tiles: &[TileInfo],
    opts: &ChunkOptions,
    counts: &dyn Fn(&TileInfo, &Rect) -> Result<CellCounts>,
) -> Result<Vec<Chunk>> {
    let non_negative = |v: f64| v.is_finite() && v >= 0.0;
    if !(non_negative(opts.buffer_m)
        && non_negative(opts.size_m)
        && opts.align_m.is_finite()
        && opts.align_m > 0.0)
    {
        return Err(Error::Config(format!(
            "chunk options must be non-negative (size_m {}, buffer_m {}, align_m {} > 0)",
            opts.size_m, opts.buffer_m, opts.align_m
        )));
    }
    let rects: Vec<Rect> = tiles.iter().map(tile_rect).collect();
    let touching = |buffered: &Rect| -> Vec<usize> {
        (0..tiles.len())
            .filter(|&i| intersects(&rects[i], buffered))
            .collect()
    };
    let mut chunks = Vec::new();
    if opts.size_m == 0.0 {
        let a = opts.align_m;
        for (i, t) in tiles.iter().enumerate() {
            if t.n_points == 0 {
                continue;
            }
            let r = rects[i];
            let core = [
                (r[0] / a).floor() * a,
                (r[1] / a).floor() * a,
                // The core is half-open: a box ending exactly on a step still needs the step
                // after it to contain its last points.
                ((r[2] / a).floor() + 1.0) * a,
                ((r[3] / a).floor() + 1.0) * a,
            ];
            let parts = tile_parts(&core, t.n_points, &|| counts(t, &core), opts)?;
            let n = parts.len();
            for (k, (part, est)) in parts.into_iter().enumerate() {
                let buffered = grow(&part, opts.buffer_m);
                chunks.push(Chunk {
                    id: chunks.len(),
                    core: part,
                    buffered,
                    tiles: touching(&buffered),
                    own_tile: Some(i),
                    est_points: est,
                    part: (n > 1).then_some((k, n)),
                });
            }
        }
    } else {
        let s = opts.size_m;
        let [ox, oy] = opts.origin;
        let mut ext = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for (r, t) in rects.iter().zip(tiles) {
            if t.n_points == 0 {
                continue;
            }
            ext = [
                ext[0].min(r[0]),
                ext[1].min(r[1]),
                ext[2].max(r[2]),
                ext[3].max(r[3]),
            ];
        }
        if !ext[0].is_finite() {
            return Ok(chunks);
        }
        let i0 = ((ext[0] - ox) / s).floor() as i64;
        let i1 = ((ext[2] - ox) / s).floor() as i64;
        let j0 = ((ext[1] - oy) / s).floor() as i64;
        let j1 = ((ext[3] - oy) / s).floor() as i64;
        for j in j0..=j1 {
            for i in i0..=i1 {
                let core = [
                    ox + i as f64 * s,
                    oy + j as f64 * s,
                    ox + (i + 1) as f64 * s,
                    oy + (j + 1) as f64 * s,
                ];
                let in_core: Vec<usize> = (0..tiles.len())
                    .filter(|&k| tiles[k].n_points > 0 && intersects(&rects[k], &core))
                    .collect();
                if in_core.is_empty() {
                    continue;
                }
                let est: f64 = in_core
                    .iter()
                    .map(|&k| {
                        let r = rects[k];
                        let ix = (r[2].min(core[2]) - r[0].max(core[0])).max(0.0);
                        let iy = (r[3].min(core[3]) - r[1].max(core[1])).max(0.0);
                        let area = tiles[k].area();
                        if area > 0.0 {
                            tiles[k].n_points as f64 * (ix * iy) / area
                        } else {
                            tiles[k].n_points as f64
                        }
                    })
                    .sum();
                let buffered = grow(&core, opts.buffer_m);
                chunks.push(Chunk {
                    id: chunks.len(),
                    core,
                    buffered,
                    tiles: touching(&buffered),
                    own_tile: None,
                    est_points: est.round() as u64,
                    part: None,
                });
            }
        }
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts tile the core exactly: whole cells, no overlap, areas adding up.
    fn assert_tiles(core: &Rect, parts: &[(Rect, u64)], a: f64) {
        let area: f64 = parts.iter().map(|(p, _)| overlap_area(p, p)).sum();
        assert!((area - overlap_area(core, core)).abs() < 1e-6, "{parts:?}");
        for (i, (p, _)) in parts.iter().enumerate() {
            for v in p {
                assert!(
                    (v / a - (v / a).round()).abs() < 1e-9,
                    "{p:?} off the {a} m cells"
                );
            }
            for (q, _) in &parts[i + 1..] {
                assert_eq!(overlap_area(p, q), 0.0, "{p:?} overlaps {q:?}");
            }
        }
    }

    #[test]
    fn parts_follow_the_points_not_the_mean_density() {
        // 400 × 200 m core of 20 m cells; all 3 M points in the western 100 m (a gappy tile
        // whose mean density over its box is a quarter of the real one).
        let core = [0.0, 0.0, 400.0, 200.0];
        let opts = ChunkOptions {
            buffer_m: 20.0,
            max_points: 1_000_000,
            ..ChunkOptions::default()
        };
        let mut c = CellCounts::zeros(&core, 20.0);
        for j in 0..c.ny {
            for i in 0..5 {
                c.counts[j * c.nx + i] = 3e6 / 50.0;
            }
        }
        let parts = tile_parts(&core, 3_000_000, &|| Ok(c.clone()), &opts).unwrap();
        assert_tiles(&core, &parts, 20.0);
        let est: u64 = parts.iter().map(|(_, e)| e).sum();
        assert_eq!(est, 3_000_000);
        for (p, e) in &parts {
            // With its buffer (one cell), every part stays under the target.
            let grown = [p[0] - 20.0, p[1] - 20.0, p[2] + 20.0, p[3] + 20.0];
            let dense = overlap_area(&grown, &[0.0, 0.0, 100.0, 200.0]);
            assert!(
                dense * 150.0 <= 1e6 + 1.0,
                "{p:?}: {e} points, buffered {}",
                dense * 150.0
            );
        }
        // The empty east is one part at most a few cells wide of dense points.
        let empty: Vec<_> = parts.iter().filter(|(_, e)| *e == 0).collect();
        assert!(!empty.is_empty() && empty.len() <= 2, "{parts:?}");
        // The mean density would have cut the dense strip into parts of up to 4 M points.
        let mean = tile_parts(
            &core,
            3_000_000,
            &|| Ok(CellCounts::uniform(&core, 20.0, &core, 3_000_000)),
            &opts,
        )
        .unwrap();
        assert_tiles(&core, &mean, 20.0);
        assert!(mean.len() < parts.len(), "{mean:?} vs {parts:?}");
    }

    #[test]
    fn a_small_tile_or_a_zero_target_is_not_cut() {
        let core = [0.0, 0.0, 400.0, 200.0];
        let never = || -> Result<CellCounts> { panic!("a tile not cut is not sampled") };
        let opts = ChunkOptions::default();
        assert_eq!(
            tile_parts(&core, 999, &never, &opts).unwrap(),
            vec![(core, 999)]
        );
        let opts = ChunkOptions {
            max_points: 0,
            ..ChunkOptions::default()
        };
        assert_eq!(
            tile_parts(&core, 50_000_000, &never, &opts).unwrap(),
            vec![(core, 50_000_000)]
        );
    }

    #[test]
    fn one_dense_cell_ends_the_cutting() {
        let core = [0.0, 0.0, 60.0, 60.0];
        let mut c = CellCounts::zeros(&core, 20.0);
        c.counts[4] = 5e6;
        let parts = tile_parts(
            &core,
            5_000_000,
            &|| Ok(c.clone()),
            &ChunkOptions::default(),
        )
        .unwrap();
        assert_tiles(&core, &parts, 20.0);
        assert!(
            parts.contains(&([20.0, 20.0, 40.0, 40.0], 5_000_000)),
            "{parts:?}"
        );
    }
}
