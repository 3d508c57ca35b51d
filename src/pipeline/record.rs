//! `run.json`: what a run did — version, resolved configuration, inputs with sizes and hashes,
//! per-stage and per-chunk timings, peak memory, failed chunks with their errors.

use crate::{Error, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// One input file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InputRecord {
    pub path: PathBuf,
    pub bytes: u64,
    /// BLAKE3 of the file's content.
    pub blake3: String,
}

/// A failed chunk.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FailureRecord {
    pub chunk_id: usize,
    pub error: String,
}

/// The run record written beside the outputs.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub version: String,
    pub command: Vec<String>,
    pub config: serde_json::Value,
    pub inputs: Vec<InputRecord>,
    pub chunks_total: usize,
    pub chunks_run: usize,
    pub chunks_resumed: usize,
    /// Chunks with a record that was not reused (inputs, configuration or version changed, or
    /// files corrupt) and were computed again.
    #[serde(default)]
    pub chunks_recomputed: usize,
    /// (survey year, chunk id, why) of each recomputed chunk.
    #[serde(default)]
    pub recomputed: Vec<(i32, usize, String)>,
    pub points: u64,
    /// Seconds per stage summed over chunks (map stages) or wall time (reducers).
    pub stage_seconds: Vec<(String, f64)>,
    /// Seconds per chunk (chunks run by this process).
    pub chunk_seconds: Vec<(usize, f64)>,
    pub wall_seconds: f64,
    pub threads: usize,
    pub peak_rss_mb: f64,
    pub failures: Vec<FailureRecord>,
}

/// Sizes and BLAKE3 hashes of `paths`, hashed in parallel.
pub fn hash_inputs(paths: &[PathBuf]) -> Result<Vec<InputRecord>> {
    paths
        .par_iter()
        .map(|p| {
            let mut h = blake3::Hasher::new();
            h.update_mmap(p).map_err(|e| Error::io(p, e))?;
            let bytes = std::fs::metadata(p).map_err(|e| Error::io(p, e))?.len();
            Ok(InputRecord {
                path: p.clone(),
                bytes,
                blake3: h.finalize().to_hex().to_string(),
            })
        })
        .collect()
}

/// Peak resident memory of this process so far (VmHWM), in MB; 0 where /proc is absent.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

impl RunRecord {
    /// Writes the record as pretty JSON (temporary name, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let tmp = crate::points::write::temp_path(path);
        let text =
            serde_json::to_string_pretty(self).map_err(|e| Error::data(path.display(), e))?;
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        crate::points::write::commit_temp(&tmp, path)
    }
}
