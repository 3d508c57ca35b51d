//! The key a chunk's products are valid for: the program version, the survey, a fingerprint of
//! the chunk's inputs (each tile's path, size, modification time and LAS header bytes, and the
//! survey's field plots) and a hash of the configuration of the stages that produced them (with
//! the chunk's rectangles). A resumed run reuses a chunk only when its recorded key equals the
//! key the run computes now; otherwise the chunk is recomputed, and [`Stale`] says why.

use crate::{Error, Result};
use std::io::Read;
use std::path::Path;

/// What a chunk's products were computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkKey {
    /// `CARGO_PKG_VERSION` of the program that computed the chunk.
    pub version: String,
    /// The survey (its year: each survey writes to `<output>/<year>`).
    pub survey: String,
    /// BLAKE3 over the fingerprints of the chunk's tiles and the survey's plots.
    pub inputs: String,
    /// BLAKE3 over the per-chunk stages' configuration and the chunk's rectangles.
    pub config: String,
}

/// Why a recorded chunk is not reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Stale {
    /// No record, or one this version cannot read.
    Unrecorded,
    /// Computed by another version of the program.
    Version,
    /// Recorded for another survey.
    Survey,
    /// A tile (or the plots) changed since.
    Inputs,
    /// The stages' configuration (or the chunking) changed since.
    Config,
    /// A recorded file is missing or its content hash differs.
    Corrupt,
}

impl Stale {
    /// Words for the summary line.
    pub fn describe(self) -> &'static str {
        match self {
            Stale::Unrecorded => "not recorded",
            Stale::Version => "program version changed",
            Stale::Survey => "survey changed",
            Stale::Inputs => "inputs changed",
            Stale::Config => "config changed",
            Stale::Corrupt => "chunk files corrupt or missing",
        }
    }
}

impl ChunkKey {
    /// Why a chunk recorded under `self` is stale for a run computing `now`; `None` if it is
    /// not.
    pub fn stale_for(&self, now: &ChunkKey) -> Option<Stale> {
        if self.version != now.version {
            Some(Stale::Version)
        } else if self.survey != now.survey {
            Some(Stale::Survey)
        } else if self.inputs != now.inputs {
            Some(Stale::Inputs)
        } else if self.config != now.config {
            Some(Stale::Config)
        } else {
            None
        }
    }
}

/// Bytes of a file's head taken into its fingerprint: a LAS 1.4 public header (375 bytes; the
/// older, shorter headers are followed by VLRs, which are read too).
const HEAD_BYTES: usize = 375;

/// Fingerprint of an input file without reading it whole: path, size, modification time (ns)
/// and its first [`HEAD_BYTES`] bytes (for a tile, the LAS header with its point counts and
/// bounds).
pub fn file_fingerprint(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut head = Vec::with_capacity(HEAD_BYTES);
    std::fs::File::open(path)
        .and_then(|f| f.take(HEAD_BYTES as u64).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let mut h = blake3::Hasher::new();
    h.update(path.to_string_lossy().as_bytes());
    h.update(&[0]);
    h.update(&meta.len().to_le_bytes());
    h.update(&mtime.to_le_bytes());
    h.update(&head);
    Ok(h.finalize().to_hex().to_string())
}

/// BLAKE3 of a serializable value's JSON (object keys sorted, so the hash is stable).
pub fn hash_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    let value = serde_json::to_value(v).map_err(|e| Error::data("configuration hash", e))?;
    let text = serde_json::to_vec(&value).map_err(|e| Error::data("configuration hash", e))?;
    Ok(blake3::hash(&text).to_hex().to_string())
}

/// BLAKE3 of the strings in order (each terminated, so boundaries count).
pub fn hash_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    h.finalize().to_hex().to_string()
}

/// BLAKE3 of a file's content, in hex.
pub fn hash_file(path: &Path) -> Result<String> {
    let mut h = blake3::Hasher::new();
    h.update_mmap(path).map_err(|e| Error::io(path, e))?;
    Ok(h.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_differing_part_names_the_reason() {
        let k = ChunkKey {
            version: "1".into(),
            survey: "2020".into(),
            inputs: "a".into(),
            config: "c".into(),
        };
        assert_eq!(k.stale_for(&k.clone()), None);
        let mut n = k.clone();
        n.config = "d".into();
        assert_eq!(k.stale_for(&n), Some(Stale::Config));
        n.inputs = "b".into();
        assert_eq!(k.stale_for(&n), Some(Stale::Inputs));
        n.version = "2".into();
        assert_eq!(k.stale_for(&n), Some(Stale::Version));
    }

    #[test]
    fn a_rewritten_file_changes_its_fingerprint() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("t.las");
        std::fs::write(&f, b"LASF 1").unwrap();
        let a = file_fingerprint(&f).unwrap();
        assert_eq!(a, file_fingerprint(&f).unwrap());
        std::fs::write(&f, b"LASF 2").unwrap();
        assert_ne!(a, file_fingerprint(&f).unwrap(), "same size, other header");
    }
}
