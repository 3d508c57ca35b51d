//! Leftovers of interrupted writes: every output is written as `.<name>.partial-<pid>` and
//! renamed when complete, so such files under an output folder are stale once this process
//! holds the folder's exclusive lock, and are removed before a run resumes.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Whether a file name is a temporary output name.
pub fn is_partial(name: &str) -> bool {
    name.starts_with('.') && name.contains(".partial-")
}

/// Removes every temporary output file under `dir` (recursively); returns those removed.
pub fn remove_stale(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&d, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            let p = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&p, e))?;
            if kind.is_dir() {
                todo.push(p);
            } else if is_partial(&entry.file_name().to_string_lossy()) {
                std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                removed.push(p);
            }
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_temporary_names() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("chunks/c000001");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(".dtm.tif.partial-123"), b"x").unwrap();
        std::fs::write(sub.join("dtm.tif"), b"x").unwrap();
        std::fs::write(d.path().join(".landcarbon.lock"), b"").unwrap();
        let r = remove_stale(d.path()).unwrap();
        assert_eq!(r, vec![sub.join(".dtm.tif.partial-123")]);
        assert!(sub.join("dtm.tif").exists());
        assert!(d.path().join(".landcarbon.lock").exists());
    }
}
