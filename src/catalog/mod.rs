//! The catalog: a set of tiles indexed from their headers, cut into buffered chunks and
//! processed in parallel (lidR's LAScatalog, lasR's chunks).

pub mod engine;
pub mod index;
pub mod lists;
pub mod plan;
pub mod strips;

pub use engine::{read_chunk, read_chunk_with, run, ChunkFailure, EngineOptions, RunReport};
pub use index::{expand_inputs, expand_inputs_with_hints, TileInfo};
pub use plan::{plan, Chunk, ChunkOptions, Rect};

use crate::points::Crs;
use crate::{Error, Result};
use rayon::prelude::*;

/// A set of tiles that share one CRS.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Catalog {
    pub tiles: Vec<TileInfo>,
    pub crs: Crs,
}

impl Catalog {
    /// Indexes `inputs` (files, folders, globs, input lists or virtual point clouds) from
    /// their headers, in parallel.
    ///
    /// Fails on the first unreadable header (naming the file), and when tiles carry different
    /// CRS (naming one file of each). Tiles with an unknown CRS are accepted beside known ones
    /// (with a warning), since many providers omit it. What a virtual point cloud says of a
    /// file (point count, bounding box) is only checked against its header, with a warning.
    pub fn open(inputs: &[impl AsRef<str>]) -> Result<Catalog> {
        let paths = expand_inputs_with_hints(inputs)?;
        let tiles: Vec<TileInfo> = paths
            .par_iter()
            .map(|(p, hint)| {
                let t = TileInfo::from_path(p)?;
                if let Some(h) = hint {
                    lists::check_hint(h, p, t.n_points, &t.bounds);
                }
                Ok(t)
            })
            .collect::<Result<_>>()?;
        Catalog::from_tiles(tiles)
    }

    /// Builds a catalog from already indexed tiles, checking their CRS agree.
    pub fn from_tiles(tiles: Vec<TileInfo>) -> Result<Catalog> {
        let mut crs = Crs::default();
        let mut crs_from: Option<usize> = None;
        for (i, t) in tiles.iter().enumerate() {
            if t.crs.is_unknown() {
                continue;
            }
            match crs_from {
                None => {
                    crs = t.crs.clone();
                    crs_from = Some(i);
                }
                Some(f) if !tiles[f].crs.same_as(&t.crs) => {
                    return Err(Error::CrsMismatch {
                        first_path: tiles[f].path.clone(),
                        first: tiles[f].crs.describe(),
                        other_path: t.path.clone(),
                        other: t.crs.describe(),
                    })
                }
                Some(_) => {}
            }
        }
        if crs_from.is_some() {
            for t in tiles.iter().filter(|t| t.crs.is_unknown()) {
                log::warn!(
                    "{}: no CRS in the header; assuming {}",
                    t.path.display(),
                    crs.describe()
                );
            }
        }
        check_span(&tiles)?;
        Ok(Catalog { tiles, crs })
    }

    /// Total points announced by the headers.
    pub fn n_points(&self) -> u64 {
        self.tiles.iter().map(|t| t.n_points).sum()
    }

    /// `[xmin, ymin, xmax, ymax]` over all tiles.
    pub fn extent(&self) -> Rect {
        let mut e = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        // A tile without points has no extent (its header bounds are often zeros).
        for t in self.tiles.iter().filter(|t| t.n_points > 0) {
            e = [
                e[0].min(t.bounds[0]),
                e[1].min(t.bounds[1]),
                e[2].max(t.bounds[3]),
                e[3].max(t.bounds[4]),
            ];
        }
        e
    }

    /// Plans chunks with `opts`. A tile to be cut into parts is sampled
    /// ([`crate::points::sample`]: about 2 % of its points, decoded from the start of each
    /// LAZ chunk) so that its parts follow where its points are. A tile that cannot be sampled
    /// is cut by its mean density: reading it fails its chunks later, collected with its name.
    pub fn plan(&self, opts: &ChunkOptions) -> Result<Vec<Chunk>> {
        plan::plan_with(&self.tiles, opts, &|t, core| {
            Ok(match crate::points::sample::sample_xy(&t.path) {
                Ok(s) => plan::CellCounts::from_sample(core, opts.align_m, &s.x, &s.y, &s.weight),
                Err(e) => {
                    log::warn!("{e}; cutting {} by its mean density", t.path.display());
                    plan::CellCounts::of_header(core, opts.align_m, t)
                }
            })
        })
    }
}

/// Widest catalog accepted, in CRS units per axis: 2,000 km covers any region a run maps
/// (a country in one projected CRS); wider means a tile far from the others (a wrong header,
/// offset or CRS), whose rasters would cover the gap.
pub const MAX_CATALOG_SPAN: f64 = 2.0e6;

fn check_span(tiles: &[TileInfo]) -> Result<()> {
    let with_points: Vec<&TileInfo> = tiles.iter().filter(|t| t.n_points > 0).collect();
    for (axis, lo, hi) in [("x", 0, 3), ("y", 1, 4)] {
        let (Some(a), Some(b)) = (
            with_points
                .iter()
                .min_by(|p, q| p.bounds[lo].total_cmp(&q.bounds[lo])),
            with_points
                .iter()
                .max_by(|p, q| p.bounds[hi].total_cmp(&q.bounds[hi])),
        ) else {
            return Ok(());
        };
        let span = b.bounds[hi] - a.bounds[lo];
        if span > MAX_CATALOG_SPAN {
            let who = if a.path == b.path {
                format!("{} alone spans it", a.path.display())
            } else {
                format!(
                    "from {} ({axis} = {:.0}) to {} ({axis} = {:.0})",
                    a.path.display(),
                    a.bounds[lo],
                    b.path.display(),
                    b.bounds[hi]
                )
            };
            return Err(Error::data(
                "inputs",
                format!(
                    "the tiles span {:.0} km in {axis} ({who}), more than the {:.0} km a catalog may cover: a tile with a wrong header, offset or CRS?",
                    span / 1000.0,
                    MAX_CATALOG_SPAN / 1000.0
                ),
            ));
        }
    }
    Ok(())
}
