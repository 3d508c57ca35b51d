//! Buffer strips: in tile mode, each chunk needs its neighbours' points only within the buffer
//! around its core. Reading each neighbour whole for that would decompress every tile up to
//! nine times. Instead, before the chunks run, every neighbouring tile is decoded once and the
//! points that some *other* chunk's buffered rectangle needs (its strip) are written,
//! uncompressed, to a scratch folder; chunks then read their neighbours' strips. Each tile is
//! decompressed once in all (see the copies below), whatever its number of neighbours: twice
//! without copies (`scratch_max_gb` 0) or on the edge of a wave.
//!
//! A tile cut into parts (see [`super::plan`]) is split in the same pass: each part's buffered
//! rectangle of the tile is written to its own scratch file, which the part then reads instead
//! of the tile, so a big tile is decompressed once in all, not once per part.
//!
//! A tile decoded for its strip whose own chunk is among those run is also copied whole,
//! uncompressed, in the same pass; its chunk reads the copy, so every tile is decompressed once
//! in all. Reading an uncompressed copy costs a small part of decoding LAZ (on the
//! replicated bcts tiles of `scripts/bench-scaling.sh`, decoding was a third of the `ground`
//! command's time and the second decode a sixth). The copies take disk space (the tile's
//! uncompressed size): the engine bounds it by running the chunks in waves
//! ([`super::engine::EngineOptions::scratch_max_gb`]).
//!
//! Every tile is decoded in one streaming pass ([`points::split_by_rects`]): the memory of the
//! pass is a batch of records per output, not the tile.
//!
//! COPC tiles get no strip and no part files: a chunk reads the octree nodes of a COPC tile that
//! meet its buffered rectangle directly ([`points::copc::read::read_box_into`]).
//!
//! The scratch folder is removed when the cache is dropped.

use super::plan::{Chunk, Rect};
use super::Catalog;
use crate::points;
use crate::{Error, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Strips of the tiles that other chunks need, on disk.
#[derive(Debug)]
pub struct StripCache {
    dir: PathBuf,
    /// `paths[tile]`: the tile's strip file, when some chunk needs it.
    paths: Vec<Option<PathBuf>>,
    /// `parts[chunk id]`: the own tile's points within the buffered rectangle of a part.
    parts: std::collections::HashMap<usize, PathBuf>,
    /// `whole[tile]`: an uncompressed copy of the tile, for its own chunk, when the tile was
    /// decoded for a strip anyway.
    whole: Vec<Option<PathBuf>>,
}

impl StripCache {
    /// Builds the strips needed by the chunks `run` (tile mode) in a fresh folder under
    /// `scratch` (the system temporary folder when `None`), and with `copy_whole` the
    /// uncompressed copies of the tiles decoded for a strip whose own chunk is in `run`. Tiles
    /// are processed in parallel on the current rayon pool.
    pub fn build(
        catalog: &Catalog,
        plan: &[Chunk],
        run: &[usize],
        scratch: Option<&Path>,
        copy_whole: bool,
    ) -> Result<StripCache> {
        let base = scratch
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        remove_orphans(&base);
        let dir = base.join(format!("landcarbon-strips-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        // For each tile: the buffered rectangles of the chunks (among those run) that need it
        // as a neighbour.
        let mut needs: Vec<Vec<Rect>> = vec![Vec::new(); catalog.tiles.len()];
        for &ci in run {
            let c = &plan[ci];
            for &t in &c.tiles {
                if Some(t) != c.own_tile {
                    needs[t].push(c.buffered);
                }
            }
        }
        // For each tile: the parts (chunk ids, among those run) cut from it.
        let mut parts: Vec<Vec<usize>> = vec![Vec::new(); catalog.tiles.len()];
        for &ci in run {
            if let (Some(own), Some(_)) = (plan[ci].own_tile, plan[ci].part) {
                parts[own].push(ci);
            }
        }
        // The tiles whose own chunk (whole, not cut) is among those run.
        let mut own_whole = vec![false; catalog.tiles.len()];
        for &ci in run {
            if let (Some(own), None) = (plan[ci].own_tile, plan[ci].part) {
                own_whole[own] = true;
            }
        }
        let mut cache = StripCache {
            dir,
            paths: vec![None; catalog.tiles.len()],
            parts: Default::default(),
            whole: vec![None; catalog.tiles.len()],
        };
        type Built = (
            usize,
            Option<PathBuf>,
            Option<PathBuf>,
            Vec<(usize, PathBuf)>,
        );
        let built: Vec<Result<Built>> = (0..catalog.tiles.len())
            .into_par_iter()
            .filter(|&t| !needs[t].is_empty() || !parts[t].is_empty())
            // A COPC tile needs no strip: chunks read its octree nodes within their rectangle.
            .filter(|&t| !points::copc::read::is_copc_file(&catalog.tiles[t].path))
            .map(|t| {
                let mut outputs: Vec<(Vec<Rect>, PathBuf)> = Vec::new();
                let strip =
                    (!needs[t].is_empty()).then(|| cache.dir.join(format!("tile-{t:06}.las")));
                if let Some(p) = &strip {
                    outputs.push((needs[t].clone(), p.clone()));
                }
                // Decoded anyway: keep a copy for the tile's own chunk.
                let whole = (copy_whole && strip.is_some() && own_whole[t])
                    .then(|| cache.dir.join(format!("whole-{t:06}.las")));
                if let Some(p) = &whole {
                    let everything = [
                        f64::NEG_INFINITY,
                        f64::NEG_INFINITY,
                        f64::INFINITY,
                        f64::INFINITY,
                    ];
                    outputs.push((vec![everything], p.clone()));
                }
                let part_files: Vec<(usize, PathBuf)> = parts[t]
                    .iter()
                    .map(|&ci| (ci, cache.dir.join(format!("part-{ci:06}.las"))))
                    .collect();
                for (ci, p) in &part_files {
                    outputs.push((vec![plan[*ci].buffered], p.clone()));
                }
                points::split_by_rects(&catalog.tiles[t].path, &outputs)?;
                Ok((t, strip, whole, part_files))
            })
            .collect();
        // A tile that cannot be read fails the chunks that need it, later, with its name.
        for (t, strip, whole, part_files) in built.into_iter().flatten() {
            cache.paths[t] = strip;
            cache.whole[t] = whole;
            cache.parts.extend(part_files);
        }
        Ok(cache)
    }

    /// The strip of `tile`, when built.
    pub fn strip(&self, tile: usize) -> Option<&Path> {
        self.paths.get(tile).and_then(|p| p.as_deref())
    }

    /// The uncompressed copy of `tile` for its own chunk, when built.
    pub fn whole(&self, tile: usize) -> Option<&Path> {
        self.whole.get(tile).and_then(|p| p.as_deref())
    }

    /// The own tile's points of the part `chunk_id` (its buffered rectangle), when built.
    pub fn part(&self, chunk_id: usize) -> Option<&Path> {
        self.parts.get(&chunk_id).map(PathBuf::as_path)
    }
}

/// Removes strip folders left in `base` by processes that no longer run (killed before their
/// cache was dropped). Linux only (it asks /proc whether the process lives); elsewhere a no-op.
fn remove_orphans(base: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix("landcarbon-strips-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            log::debug!("removing the orphaned strip folder {}", e.path().display());
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for StripCache {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphaned_strip_folders_of_dead_processes_are_removed() {
        if !Path::new("/proc/self").exists() {
            return; // the check needs /proc
        }
        let base = tempfile::tempdir().unwrap();
        let dead = base.path().join("landcarbon-strips-999999999-1");
        let alive = base
            .path()
            .join(format!("landcarbon-strips-{}-1", std::process::id()));
        let other = base.path().join("something-else-1");
        for d in [&dead, &alive, &other] {
            std::fs::create_dir_all(d).unwrap();
        }
        remove_orphans(base.path());
        assert!(!dead.exists());
        assert!(alive.exists() && other.exists());
    }
}
