//! The parallel chunk engine: reads each chunk's core and buffer points once and runs a
//! user function on them, chunks in parallel on a rayon pool of `threads` workers.
//!
//! Memory: at most `threads` chunks are in flight, and a chunk's points are dropped when its
//! function returns, so peak memory follows the largest chunk times the thread count, not the
//! catalog. Neighbouring tiles are streamed in batches and filtered to the buffer strip while
//! decoding (see [`crate::points::read_filtered`]).
//!
//! Failures are collected per chunk (the error names the chunk and its tiles) and the run
//! carries on, unless `stop_early` is set, in which case chunks not yet started are skipped.
//!
//! A cancelled [`crate::job::Job`] (the caller's, e.g. Ctrl-C in Python) stops the run like
//! `stop_early` does, and the run then returns [`Error::Cancelled`] instead of a report, so
//! that no command goes on to write outputs from part of the chunks.

use super::plan::Chunk;
use super::strips::StripCache;
use super::Catalog;
use crate::points::{self, PointCloud};
use crate::{Error, Result};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// How to run the chunks.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineOptions {
    /// Worker threads; 0 = all cores.
    pub threads: usize,
    /// Stop starting new chunks after the first failure.
    pub stop_early: bool,
    /// Folder for scratch files (buffer strips); the system temporary folder when unset.
    pub scratch_dir: Option<std::path::PathBuf>,
    /// Scratch space for uncompressed copies of tiles, in GB (10⁹ bytes): tiles decoded once
    /// for their neighbours' buffer strips are copied uncompressed for their own chunk, so that
    /// they are not decoded again; chunks run in waves whose tiles' copies fit in this space
    /// (a tile on the edge of a wave is decoded once more for the next wave's strips). 0 = no
    /// copies (every tile with neighbours is decoded twice).
    pub scratch_max_gb: f64,
}

/// Default of [`EngineOptions::scratch_max_gb`]: about 140 M points of point format 1.
pub const DEFAULT_SCRATCH_MAX_GB: f64 = 4.0;

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            threads: 0,
            stop_early: false,
            scratch_dir: None,
            scratch_max_gb: DEFAULT_SCRATCH_MAX_GB,
        }
    }
}

/// Splits the chunks of `plan` (in plan order) into waves whose own tiles, copied
/// uncompressed, fit in `max_bytes`; every wave holds at least one chunk. With `max_bytes` 0,
/// one wave (and the caller makes no copies).
fn waves(catalog: &Catalog, plan: &[Chunk], max_bytes: f64) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut wave: Vec<usize> = Vec::new();
    let mut bytes = 0.0;
    for c in plan {
        let size = match (c.own_tile, c.part) {
            (Some(t), None) => {
                let tile = &catalog.tiles[t];
                let record = las::point::Format::new(tile.point_format)
                    .map(|f| f.len() as f64)
                    .unwrap_or(0.0)
                    + f64::from(tile.extra_bytes);
                tile.n_points as f64 * record
            }
            _ => 0.0,
        };
        if max_bytes > 0.0 && !wave.is_empty() && bytes + size > max_bytes {
            out.push(std::mem::take(&mut wave));
            bytes = 0.0;
        }
        bytes += size;
        wave.push(c.id);
    }
    if !wave.is_empty() {
        out.push(wave);
    }
    out
}

/// A chunk that failed, with the error that stopped it.
#[derive(Debug)]
pub struct ChunkFailure {
    pub chunk_id: usize,
    pub error: Error,
}

/// What a run produced: the results of the chunks that succeeded (in chunk order) and the
/// failures. `skipped` counts chunks not run because of `stop_early`.
#[derive(Debug)]
pub struct RunReport<T> {
    pub results: Vec<(usize, T)>,
    pub failures: Vec<ChunkFailure>,
    pub skipped: usize,
    /// Seconds spent reading chunks (decoding tiles and buffer strips), summed over chunks.
    pub read_seconds: f64,
    /// Wall seconds spent building the buffer strips before the chunks ran (tile mode).
    pub strips_seconds: f64,
}

impl<T> RunReport<T> {
    /// `true` when every chunk succeeded.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty() && self.skipped == 0
    }
}

/// Builds a rayon pool with `threads` workers (0 = all cores).
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if threads > 0 {
        b = b.num_threads(threads);
    }
    b.build()
        .map_err(|e| Error::Config(format!("cannot start {threads} threads: {e}")))
}

/// Reads the points of `chunk`: core points flagged `is_buffer = false`, buffer points `true`.
pub fn read_chunk(catalog: &Catalog, chunk: &Chunk) -> Result<PointCloud> {
    read_chunk_with(catalog, chunk, None)
}

/// [`read_chunk`], taking neighbours' points from their buffer strips when a cache is given.
pub fn read_chunk_with(
    catalog: &Catalog,
    chunk: &Chunk,
    strips: Option<&StripCache>,
) -> Result<PointCloud> {
    // Where each tile's points come from: the tile itself, its buffer strip or the part's
    // scratch file (`true`: a file of the cache), and whether to keep all of it.
    let sources: Vec<(usize, &std::path::Path, bool)> = chunk
        .tiles
        .iter()
        .map(|&ti| {
            let tile = &catalog.tiles[ti];
            let source = match (chunk.own_tile, chunk.part) {
                (Some(own), Some(_)) if ti == own => strips.and_then(|s| s.part(chunk.id)),
                (Some(own), None) if ti == own => strips.and_then(|s| s.whole(ti)),
                (Some(own), _) if ti != own => strips.and_then(|s| s.strip(ti)),
                _ => None,
            };
            match source {
                Some(p) => (ti, p, true),
                None => (ti, tile.path.as_path(), false),
            }
        })
        .collect();
    // The columns are reserved once, for at most every point of every source (headers), so
    // that reading several files never reallocates them (a reallocation holds the old and the
    // new columns at once: up to 3 times the chunk).
    let mut upper = 0u64;
    let mut metas = Vec::with_capacity(sources.len());
    for &(_, path, _) in &sources {
        let (_, meta) = points::open(path)?;
        upper += meta.header.number_of_points();
        metas.push(meta);
    }
    let Some(meta) = metas.first().cloned() else {
        return Err(Error::data(
            format!("chunk {}", chunk.id),
            "no tile intersects the chunk",
        ));
    };
    let mut cloud = PointCloud::empty(meta);
    let _ = cloud.try_reserve(usize::try_from(upper).unwrap_or(usize::MAX));
    let b = chunk.buffered;
    for (&(ti, source, scratch), meta) in sources.iter().zip(metas) {
        // `&`, not `&&`: four compares and no branch (see `decode_into`).
        let in_buffered = |x: f64, y: f64| (x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3]);
        let own_whole = chunk.own_tile == Some(ti) && chunk.part.is_none();
        let neighbour = chunk.own_tile.is_some() && chunk.own_tile != Some(ti);
        // A file of the cache, written uncompressed by the strips pass: read without a LAS
        // reader (see `read_scratch_into`).
        if scratch {
            if own_whole {
                points::read::read_scratch_into::<fn(f64, f64) -> Option<bool>>(
                    source, meta, &mut cloud, None,
                )
            } else if neighbour {
                points::read::read_scratch_into(
                    source,
                    meta,
                    &mut cloud,
                    Some(&mut |x, y| in_buffered(x, y).then_some(true)),
                )
            } else {
                points::read::read_scratch_into(
                    source,
                    meta,
                    &mut cloud,
                    Some(&mut |x, y| in_buffered(x, y).then(|| !chunk.core_contains(x, y))),
                )
            }?;
            continue;
        }
        // A COPC tile read for part of its area (a neighbour's strip, a part, a grid chunk):
        // only the octree nodes meeting the buffered rectangle are decoded (no strip file).
        if !own_whole && points::copc::read::is_copc_file(source) {
            points::copc::read::read_box_into(source, &mut cloud, b, &mut |x, y| {
                Some(neighbour || !chunk.core_contains(x, y))
            })?;
            continue;
        }
        if own_whole {
            points::read::read_filtered_into(source, &mut cloud, &mut |_, _| Some(false))
        } else if neighbour {
            points::read::read_filtered_into(source, &mut cloud, &mut |x, y| {
                in_buffered(x, y).then_some(true)
            })
        } else {
            // A part of a cut tile, or a grid chunk: core points are those in the core.
            points::read::read_filtered_into(source, &mut cloud, &mut |x, y| {
                in_buffered(x, y).then(|| !chunk.core_contains(x, y))
            })
        }?;
    }
    Ok(cloud)
}

/// Runs `f` on every chunk of `plan`, in parallel, and collects results and failures.
///
/// `on_done(chunk_id, ok)` is called after each chunk (for progress bars); it must be cheap.
/// The calling thread's job (see [`crate::job`]) is current on the pool thread while a chunk
/// runs, gets the points read, and cancels the run between chunks.
pub fn run<T, F>(
    catalog: &Catalog,
    plan: &[Chunk],
    opts: &EngineOptions,
    on_done: &(dyn Fn(usize, bool) + Sync),
    f: F,
) -> Result<RunReport<T>>
where
    T: Send,
    F: Fn(&Chunk, PointCloud) -> Result<T> + Sync,
{
    let job = crate::job::current();
    let cancelled = || job.as_ref().is_some_and(|j| j.is_cancelled());
    let pool = thread_pool(opts.threads)?;
    let stop = AtomicBool::new(false);
    // Tile mode with a buffer: decode each neighbour once into its buffer strip (and a copy
    // of it for its own chunk); tiles cut into parts: decode each once into its parts.
    let needs_strips = plan
        .iter()
        .any(|c| c.own_tile.is_some() && (c.tiles.len() > 1 || c.part.is_some()));
    let waves = if needs_strips {
        waves(catalog, plan, opts.scratch_max_gb.max(0.0) * 1e9)
    } else {
        vec![(0..plan.len()).collect()]
    };
    let mut strips_seconds = 0.0;
    // Nanoseconds of reading, summed over chunks.
    let read_ns = std::sync::atomic::AtomicU64::new(0);
    // One chunk: read, run `f`, name the tiles in its error; `None` when skipped.
    let run_chunk = |chunk: &Chunk, strips: Option<&StripCache>| {
        if (opts.stop_early && stop.load(Ordering::Relaxed)) || cancelled() {
            return None;
        }
        // So that the chunk's stages can check for cancellation (crate::job::check).
        let _entered = job.as_ref().map(|j| j.enter());
        let t0 = std::time::Instant::now();
        let pts = read_chunk_with(catalog, chunk, strips);
        read_ns.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if let (Some(j), Ok(p)) = (&job, &pts) {
            j.add_points(p.len() as u64);
        }
        let r = pts.and_then(|pts| f(chunk, pts));
        let r = r.map_err(|e| Error::Chunk {
            chunk_id: chunk.id,
            tiles: chunk
                .tiles
                .iter()
                .map(|&t| catalog.tiles[t].path.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            source: Box::new(e),
        });
        if r.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        on_done(chunk.id, r.is_ok());
        Some((chunk.id, r))
    };
    let mut outcomes: Vec<Option<(usize, Result<T>)>> = Vec::with_capacity(plan.len());
    for wave in &waves {
        if cancelled() {
            return Err(Error::Cancelled);
        }
        let t_strips = std::time::Instant::now();
        let strips = if needs_strips {
            Some(pool.install(|| {
                StripCache::build(
                    catalog,
                    plan,
                    wave,
                    opts.scratch_dir.as_deref(),
                    opts.scratch_max_gb > 0.0,
                )
            })?)
        } else {
            None
        };
        strips_seconds += t_strips.elapsed().as_secs_f64();
        if cancelled() {
            return Err(Error::Cancelled);
        }
        let done: Vec<Option<(usize, Result<T>)>> = pool.install(|| {
            wave.par_iter()
                .map(|&ci| run_chunk(&plan[ci], strips.as_ref()))
                .collect()
        });
        outcomes.extend(done);
    }
    // Chunks that finished are kept by their callers (the pipeline's manifest), but a
    // cancelled run has no report: its callers must not assemble outputs from part of it.
    if cancelled() {
        return Err(Error::Cancelled);
    }
    let mut report = RunReport {
        results: Vec::new(),
        failures: Vec::new(),
        skipped: 0,
        read_seconds: read_ns.load(Ordering::Relaxed) as f64 * 1e-9,
        strips_seconds,
    };
    for o in outcomes {
        match o {
            None => report.skipped += 1,
            Some((id, Ok(v))) => report.results.push((id, v)),
            Some((id, Err(e))) => report.failures.push(ChunkFailure {
                chunk_id: id,
                error: e,
            }),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::plan::ChunkOptions;

    fn tile(name: &str, x0: f64, n_points: u64) -> crate::catalog::TileInfo {
        crate::catalog::TileInfo {
            path: name.into(),
            bounds: [x0, 0.0, 0.0, x0 + 100.0, 100.0, 10.0],
            n_points,
            version: "1.2".into(),
            point_format: 1,
            compressed: true,
            crs: Default::default(),
            extra_bytes: 0,
        }
    }

    #[test]
    fn waves_hold_the_tiles_that_fit_in_the_scratch_space() {
        // Five tiles of 1,000 points of 28 bytes, side by side.
        let tiles: Vec<_> = (0..5)
            .map(|i| tile(&format!("t{i}.laz"), 100.0 * i as f64, 1000))
            .collect();
        let catalog = Catalog {
            tiles,
            crs: Default::default(),
        };
        let plan = crate::catalog::plan::plan(&catalog.tiles, &ChunkOptions::default()).unwrap();
        assert_eq!(plan.len(), 5);
        // Two tiles per wave (56 kB; a third would make 84 kB).
        assert_eq!(
            waves(&catalog, &plan, 60_000.0),
            vec![vec![0, 1], vec![2, 3], vec![4]]
        );
        // Less than one tile: one per wave, never none.
        assert_eq!(waves(&catalog, &plan, 1.0).len(), 5);
        // No limit: one wave.
        assert_eq!(waves(&catalog, &plan, 0.0), vec![vec![0, 1, 2, 3, 4]]);
    }
}
