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
//! In tile mode a tile of more than `max_points` points is cut automatically into *parts*: its
//! snapped core is divided into a grid of square cells of a side that is a multiple of
//! `align_m`, chosen so that each part holds about `max_points` at the tile's mean density
//! (parts along an edge are narrower). Each part is a chunk whose core points are the tile's
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
    /// In tile mode, a tile with more points than this is cut into parts of about this many
    /// points each (grid chunks with buffers inside the tile); 0 = never cut.
    pub max_points: u64,
}

/// Default of [`ChunkOptions::max_points`]. Measured with `scripts/bench-scaling.sh`'s files
/// (`ground --threads 1`, 2026-12-07, loaded machine, CPU seconds): the 8x file (15.6 M points
/// in one file) takes 22.4 s and 420 MB cut at 2 M, 19.6 s and 252 MB cut at 1 M; the 1x file
/// (1.95 M points) 2.42 s and 276 MB uncut (below 2 M), 2.12 s and 130 MB cut at 1 M. Smaller
/// parts cost less per point as well as less memory: the work of several stages grows faster
/// than the points of a chunk (sorts, the TIN), more than the buffers add.
pub const DEFAULT_MAX_POINTS: u64 = 1_000_000;

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

/// The cores of the parts of a tile of `n_points` over `area` whose snapped core is `core`:
/// `[core]` when the tile is small enough; otherwise a grid over `core`, from its lower-left
/// corner, of square cells whose side is a multiple of `align_m` and holds about `max_points`
/// at the tile's mean density.
fn tile_parts(core: &Rect, n_points: u64, area: f64, opts: &ChunkOptions) -> Vec<Rect> {
    if opts.max_points == 0 || n_points <= opts.max_points || area <= 0.0 {
        return vec![*core];
    }
    let a = opts.align_m;
    let side_m = (area * opts.max_points as f64 / n_points as f64).sqrt();
    let side_m = ((side_m / a).floor() * a).max(a);
    let (w, h) = (core[2] - core[0], core[3] - core[1]);
    let nx = ((w / side_m).ceil() as usize).max(1);
    let ny = ((h / side_m).ceil() as usize).max(1);
    if nx * ny == 1 {
        return vec![*core];
    }
    let mut parts = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        for i in 0..nx {
            parts.push([
                core[0] + i as f64 * side_m,
                core[1] + j as f64 * side_m,
                (core[0] + (i + 1) as f64 * side_m).min(core[2]),
                (core[1] + (j + 1) as f64 * side_m).min(core[3]),
            ]);
        }
    }
    parts
}

/// Plans the chunks of a catalog.
pub fn plan(tiles: &[TileInfo], opts: &ChunkOptions) -> Result<Vec<Chunk>> {
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
            let parts = tile_parts(&core, t.n_points, t.area(), opts);
            let n = parts.len();
            for (k, part) in parts.into_iter().enumerate() {
                let buffered = grow(&part, opts.buffer_m);
                let est = if n == 1 {
                    t.n_points
                } else {
                    (t.density() * overlap_area(&part, &r)).round() as u64
                };
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
