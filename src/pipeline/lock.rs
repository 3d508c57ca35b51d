//! The output folder's lock: a `run` (or `merge`) holds an exclusive OS file lock on
//! `<output>/.landcarbon.lock` (with its pid and host written in it) for as long as it runs, and
//! `run --shard` tasks hold it shared (many shards write one folder at once, by design), so a
//! second whole run on the same folder is refused instead of racing on its chunks. The OS drops
//! the lock when the process ends, however it ends: a lock file left by a killed process does
//! not block. (On NFS, Linux maps the lock onto NFS byte-range locks.)

use crate::{Error, Result};
use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How the folder is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// A whole run or a merge: nobody else.
    Exclusive,
    /// A shard task: other shard tasks too, no whole run.
    Shared,
}

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
    mode: LockMode,
}

/// The lock file of an output folder.
pub fn lock_path(out: &Path) -> PathBuf {
    out.join(".landcarbon.lock")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown host".into())
}

impl OutputLock {
    /// Takes the lock of `out` without waiting; when another process holds it, the error names
    /// the lock file and the holder (pid and host) it recorded.
    pub fn acquire(out: &Path, mode: LockMode) -> Result<OutputLock> {
        let path = lock_path(out);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let got = match mode {
            LockMode::Exclusive => file.try_lock(),
            LockMode::Shared => file.try_lock_shared(),
        };
        match got {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "`landcarbon run --shard` task(s) (or a run just starting)".to_string()
                } else {
                    format!("another landcarbon process ({holder})")
                };
                return Err(Error::data(
                    path.display(),
                    format!(
                        "the output folder {} is in use by {who}; wait for it to end or write elsewhere with -o",
                        out.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        if mode == LockMode::Exclusive {
            let mut f = &file;
            let text = format!("pid {} on {}\n", std::process::id(), hostname());
            file.set_len(0)
                .and_then(|_| f.write_all(text.as_bytes()))
                .and_then(|_| f.flush())
                .map_err(|e| Error::io(&path, e))?;
        }
        Ok(OutputLock { file, path, mode })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // The file stays (removing it would let a waiter lock a deleted inode); only the holder
        // line goes. Closing the file releases the OS lock.
        if self.mode == LockMode::Exclusive {
            let _ = self.file.set_len(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_refuses_a_second_holder_and_names_the_first() {
        let d = tempfile::tempdir().unwrap();
        let a = OutputLock::acquire(d.path(), LockMode::Exclusive).unwrap();
        let e = OutputLock::acquire(d.path(), LockMode::Exclusive)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("pid {}", std::process::id())),
            "names the holder: {e}"
        );
        assert!(OutputLock::acquire(d.path(), LockMode::Shared).is_err());
        drop(a);
        let s1 = OutputLock::acquire(d.path(), LockMode::Shared).unwrap();
        let _s2 = OutputLock::acquire(d.path(), LockMode::Shared).unwrap();
        assert!(OutputLock::acquire(d.path(), LockMode::Exclusive).is_err());
        drop(s1);
    }
}
