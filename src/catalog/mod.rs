//! The catalog: a set of tiles indexed from their headers, cut into buffered chunks and
//! processed in parallel (lidR's LAScatalog, lasR's chunks).

pub mod engine;
pub mod index;
pub mod plan;
pub mod strips;

pub use engine::{read_chunk, read_chunk_with, run, ChunkFailure, EngineOptions, RunReport};
pub use index::{expand_inputs, TileInfo};
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
    /// Indexes `inputs` (files, folders or globs) from their headers, in parallel.
    ///
    /// Fails on the first unreadable header (naming the file), and when tiles carry different
    /// CRS (naming one file of each). Tiles with an unknown CRS are accepted beside known ones
    /// (with a warning), since many providers omit it.
    pub fn open(inputs: &[impl AsRef<str>]) -> Result<Catalog> {
        let paths = expand_inputs(inputs)?;
        let tiles: Vec<TileInfo> = paths
            .par_iter()
            .map(|p| TileInfo::from_path(p))
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
        for t in &self.tiles {
            e = [
                e[0].min(t.bounds[0]),
                e[1].min(t.bounds[1]),
                e[2].max(t.bounds[3]),
                e[3].max(t.bounds[4]),
            ];
        }
        e
    }

    /// Plans chunks with `opts`.
    pub fn plan(&self, opts: &ChunkOptions) -> Result<Vec<Chunk>> {
        plan::plan(&self.tiles, opts)
    }
}
