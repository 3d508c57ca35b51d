//! Cancellation and progress of one long call (a *job*), for programs that embed the library
//! (the Python module): the embedder makes a [`Job`], enters it on the thread that does the
//! work, reads its counters from another thread and cancels it there.
//!
//! The job is found through a thread-local, so that the command code between the embedder and
//! the engine needs no extra argument: the catalog engine ([`crate::catalog::run`]) picks up
//! the caller's job, enters it on its pool threads while a chunk runs, stops starting chunks
//! once it is cancelled and then returns [`Error::Cancelled`]; long stages call [`check`]
//! between their steps. Without a job (the command line), every check is a no-op.

use crate::{Error, Result};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One long call: a cancellation flag and progress counters, shared between the thread that
/// works and the one that watches.
#[derive(Debug, Default)]
pub struct Job {
    /// The embedder shows this job's progress itself (the command line then draws no bar).
    watched: bool,
    cancelled: AtomicBool,
    /// Steps (chunks, tiles) done and planned in the current stage.
    done: AtomicU64,
    total: AtomicU64,
    /// Points read by the chunks done, over the whole job.
    points: AtomicU64,
    /// What the steps are ("chunks", "dtm", ...), and a counter of stages started, so that a
    /// watcher sees a new stage even when its label and total repeat.
    label: Mutex<String>,
    stage: AtomicU64,
}

/// A snapshot of a job's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Stages started so far (0: none yet).
    pub stage: u64,
    pub label: String,
    pub done: u64,
    pub total: u64,
    pub points: u64,
}

impl Job {
    pub fn new() -> Arc<Job> {
        Arc::new(Job::default())
    }

    /// A job whose progress the embedder shows itself (see [`Job::is_watched`]).
    pub fn watched() -> Arc<Job> {
        Arc::new(Job {
            watched: true,
            ..Job::default()
        })
    }

    /// Whether the embedder shows the progress, so that no other progress display is drawn.
    pub fn is_watched(&self) -> bool {
        self.watched
    }

    /// Asks the work to stop at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// `Err(Error::Cancelled)` once the job is cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Starts a stage of `total` steps called `label` (its count starts at 0).
    pub fn start(&self, total: u64, label: &str) {
        *self.label.lock().unwrap_or_else(|e| e.into_inner()) = label.to_string();
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.stage.fetch_add(1, Ordering::Release);
    }

    /// `n` more steps of the current stage are done.
    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` more points were read.
    pub fn add_points(&self, n: u64) {
        self.points.fetch_add(n, Ordering::Relaxed);
    }

    pub fn progress(&self) -> Progress {
        let stage = self.stage.load(Ordering::Acquire);
        let label = self.label.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let total = self.total.load(Ordering::Relaxed);
        Progress {
            stage,
            label,
            // A count read between `start`'s stores could exceed the new total for a moment.
            done: self.done.load(Ordering::Relaxed).min(total),
            total,
            points: self.points.load(Ordering::Relaxed),
        }
    }

    /// Makes this the current thread's job until the guard is dropped (the previous one is
    /// restored then, so entering nests).
    pub fn enter(self: &Arc<Self>) -> Entered {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        Entered { prev }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Job>>> = const { RefCell::new(None) };
}

/// Restores the thread's previous job when dropped (see [`Job::enter`]).
#[must_use = "the job is current only while the guard lives"]
pub struct Entered {
    prev: Option<Arc<Job>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// The current thread's job, if any.
pub fn current() -> Option<Arc<Job>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// `Err(Error::Cancelled)` when the current thread's job was cancelled; `Ok` without a job.
pub fn check() -> Result<()> {
    CURRENT.with(|c| c.borrow().as_ref().map_or(Ok(()), |j| j.check()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_follows_the_entered_job_and_nests() {
        assert!(check().is_ok() && current().is_none());
        let a = Job::new();
        let b = Job::new();
        {
            let _ga = a.enter();
            a.cancel();
            assert!(matches!(check(), Err(Error::Cancelled)));
            {
                let _gb = b.enter();
                assert!(check().is_ok());
            }
            assert!(check().is_err());
        }
        assert!(check().is_ok() && current().is_none());
    }

    #[test]
    fn progress_counts_per_stage() {
        let j = Job::new();
        assert_eq!(j.progress().stage, 0);
        j.start(3, "chunks");
        j.advance(2);
        j.add_points(100);
        let p = j.progress();
        assert_eq!(
            (p.stage, p.label.as_str(), p.done, p.total, p.points),
            (1, "chunks", 2, 3, 100)
        );
        j.start(1, "reduce");
        let p = j.progress();
        assert_eq!((p.stage, p.done, p.total, p.points), (2, 0, 1, 100));
    }
}
