//! The chunk manifest that makes runs resumable: when a chunk's outputs are complete (each
//! written under a temporary name and renamed), a record naming them with their sizes and
//! BLAKE3 content hashes, and the [`ChunkKey`] they were computed for, is written to
//! `manifest/chunk-<id>.json`, itself atomically. A chunk is reused only when its record exists,
//! its key equals the run's key, and its files are all present with the recorded content;
//! anything else is redone from scratch. `kill -9` at any moment therefore loses at most the
//! chunks in flight, and a resume never reuses a chunk of other inputs, configuration or
//! version.

use super::key::{hash_file, ChunkKey, Stale};
use crate::points::write::{commit_temp, temp_path};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// One output file of a chunk.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileRecord {
    /// Relative to the run's output folder.
    pub path: String,
    pub bytes: u64,
    /// BLAKE3 of the content.
    pub blake3: String,
}

/// What a completed chunk left behind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChunkRecord {
    pub chunk_id: usize,
    /// What the chunk was computed from.
    pub key: ChunkKey,
    pub files: Vec<FileRecord>,
    /// Core points processed.
    pub points: u64,
    /// Seconds per stage, in stage order.
    pub stage_seconds: Vec<(String, f64)>,
}

/// Whether a chunk can be reused.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkState {
    /// Recorded for this key, files intact.
    Complete(ChunkRecord),
    /// To be (re)computed, and why.
    Stale(Stale),
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

    /// The chunk's record if it was made for `key` and its files are intact (content hashes
    /// checked), or why not.
    pub fn check(&self, chunk_id: usize, key: &ChunkKey) -> ChunkState {
        let Some(rec) = std::fs::read_to_string(self.path(chunk_id))
            .ok()
            .and_then(|t| serde_json::from_str::<ChunkRecord>(&t).ok())
        else {
            return ChunkState::Stale(Stale::Unrecorded);
        };
        if let Some(why) = rec.key.stale_for(key) {
            return ChunkState::Stale(why);
        }
        let intact = rec.files.iter().all(|f| {
            let p = self.root.join(&f.path);
            std::fs::metadata(&p).is_ok_and(|m| m.len() == f.bytes)
                && hash_file(&p).is_ok_and(|h| h == f.blake3)
        });
        if intact {
            ChunkState::Complete(rec)
        } else {
            ChunkState::Stale(Stale::Corrupt)
        }
    }

    /// Removes the chunk's record (before recomputing it).
    pub fn forget(&self, chunk_id: usize) -> Result<()> {
        let p = self.path(chunk_id);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&p, e)),
            _ => Ok(()),
        }
    }

    /// Records a completed chunk computed for `key`; `files` are absolute or relative to the
    /// output folder, which should be absolute (see [`Manifest::new`]).
    pub fn record(
        &self,
        chunk_id: usize,
        key: &ChunkKey,
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
            let bytes = std::fs::metadata(&abs)
                .map_err(|e| Error::io(&abs, e))?
                .len();
            let rel = abs
                .strip_prefix(&self.root)
                .unwrap_or(&abs)
                .to_string_lossy()
                .to_string();
            listed.push(FileRecord {
                path: rel,
                bytes,
                blake3: hash_file(&abs)?,
            });
        }
        let rec = ChunkRecord {
            chunk_id,
            key: key.clone(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(config: &str) -> ChunkKey {
        ChunkKey {
            version: "0".into(),
            survey: "2020".into(),
            inputs: "i".into(),
            config: config.into(),
        }
    }

    #[test]
    fn a_record_counts_only_for_its_key_and_while_its_files_are_intact() {
        let d = tempfile::tempdir().unwrap();
        let m = Manifest::new(d.path()).unwrap();
        let f = d.path().join("a.tif");
        std::fs::write(&f, b"12345").unwrap();
        let k = key("c");
        assert_eq!(m.check(3, &k), ChunkState::Stale(Stale::Unrecorded));
        m.record(
            3,
            &k,
            std::slice::from_ref(&f),
            10,
            vec![("read".into(), 0.1)],
        )
        .unwrap();
        let ChunkState::Complete(r) = m.check(3, &k) else {
            panic!("recorded chunk not complete");
        };
        assert_eq!(r.files[0].path, "a.tif");
        assert_eq!(r.files[0].bytes, 5);
        assert_eq!(m.check(3, &key("other")), ChunkState::Stale(Stale::Config));
        std::fs::write(&f, b"12346").unwrap();
        assert_eq!(
            m.check(3, &k),
            ChunkState::Stale(Stale::Corrupt),
            "same size, other content invalidates the record"
        );
        std::fs::write(&f, b"123").unwrap();
        assert_eq!(m.check(3, &k), ChunkState::Stale(Stale::Corrupt));
        std::fs::remove_file(&f).unwrap();
        assert_eq!(m.check(3, &k), ChunkState::Stale(Stale::Corrupt));
        m.forget(3).unwrap();
        assert_eq!(m.check(3, &k), ChunkState::Stale(Stale::Unrecorded));
    }
}
