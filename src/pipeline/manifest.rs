//! The chunk manifest that makes runs resumable: when a chunk's outputs are complete (each
//! written under a temporary name and renamed), a record naming them and their sizes is written
//! to `manifest/chunk-<id>.json`, itself atomically. A chunk whose record exists and whose
//! files are all present with the recorded sizes is not redone; anything else is redone from
//! scratch. `kill -9` at any moment therefore loses at most the chunks in flight.

use crate::points::write::{commit_temp, temp_path};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// What a completed chunk left behind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChunkRecord {
    pub chunk_id: usize,
    /// Output files relative to the run's output folder, with their sizes in bytes.
    pub files: Vec<(String, u64)>,
    /// Core points processed.
    pub points: u64,
    /// Seconds per stage, in stage order.
    pub stage_seconds: Vec<(String, f64)>,
}

/// The manifest folder of a run.
#[derive(Debug, Clone)]
pub struct Manifest {
    root: PathBuf,
    dir: PathBuf,
}

impl Manifest {
    /// The manifest of the run writing into `out`.
    pub fn new(out: &Path) -> Result<Manifest> {
        let out = &std::path::absolute(out).map_err(|e| Error::io(out, e))?;
        let dir = out.join("manifest");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Manifest {
            root: out.to_path_buf(),
            dir,
        })
    }

    fn path(&self, chunk_id: usize) -> PathBuf {
        self.dir.join(format!("chunk-{chunk_id:06}.json"))
    }

    /// The record of a chunk whose outputs are all complete, or `None`.
    pub fn completed(&self, chunk_id: usize) -> Option<ChunkRecord> {
        let text = std::fs::read_to_string(self.path(chunk_id)).ok()?;
        let rec: ChunkRecord = serde_json::from_str(&text).ok()?;
        let intact = rec.files.iter().all(|(rel, size)| {
            std::fs::metadata(self.root.join(rel))
                .map(|m| m.len() == *size)
                .unwrap_or(false)
        });
        intact.then_some(rec)
    }

    /// Records a completed chunk; `files` are absolute or relative to the output folder.
    /// The output folder should be absolute (see [`Manifest::new`]).
    pub fn record(
        &self,
        chunk_id: usize,
        files: &[PathBuf],
        points: u64,
        stage_seconds: Vec<(String, f64)>,
    ) -> Result<ChunkRecord> {
        let mut listed = Vec::with_capacity(files.len());
        for f in files {
            let abs = if f.is_absolute() {
                f.clone()
            } else {
                self.root.join(f)
            };
            let size = std::fs::metadata(&abs)
                .map_err(|e| Error::io(&abs, e))?
                .len();
            let rel = abs
                .strip_prefix(&self.root)
                .unwrap_or(&abs)
                .to_string_lossy()
                .to_string();
            listed.push((rel, size));
        }
        let rec = ChunkRecord {
            chunk_id,
            files: listed,
            points,
            stage_seconds,
        };
        let path = self.path(chunk_id);
        let tmp = temp_path(&path);
        let text =
            serde_json::to_string_pretty(&rec).map_err(|e| Error::data(path.display(), e))?;
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        commit_temp(&tmp, &path)?;
        Ok(rec)
    }

    /// Ids of all chunks with a complete record.
    pub fn completed_ids(&self, candidates: impl IntoIterator<Item = usize>) -> Vec<usize> {
        candidates
            .into_iter()
            .filter(|&id| self.completed(id).is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_counts_only_while_its_files_are_intact() {
        let d = tempfile::tempdir().unwrap();
        let m = Manifest::new(d.path()).unwrap();
        let f = d.path().join("a.tif");
        std::fs::write(&f, b"12345").unwrap();
        assert!(m.completed(3).is_none());
        m.record(3, std::slice::from_ref(&f), 10, vec![("read".into(), 0.1)])
            .unwrap();
        let r = m.completed(3).unwrap();
        assert_eq!(r.files, vec![("a.tif".to_string(), 5)]);
        std::fs::write(&f, b"123").unwrap();
        assert!(
            m.completed(3).is_none(),
            "a truncated output invalidates the record"
        );
        std::fs::remove_file(&f).unwrap();
        assert!(m.completed(3).is_none());
    }
}
