//! Progress reporting and cancellation for long jobs.
//!
//! Long jobs (batch generation, model fetch, benchmarks) report through the
//! [`Progress`] trait so that each adapter shows progress its own way: a
//! progress bar in the CLI, a Tauri channel in the desktop shell, and a plain
//! vector in tests ([`RecordingProgress`]).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// One progress event of a long job.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProgressEvent {
    /// The job starts; `total` units of work are expected (bytes, items…).
    Started {
        /// What the job is doing, for display.
        label: String,
        /// Expected number of units, when known.
        total: Option<u64>,
    },
    /// `done` units of `total` are finished.
    Advanced {
        /// Units finished so far.
        done: u64,
        /// Expected number of units, when known.
        total: Option<u64>,
        /// A short human-readable status (for example the current item id).
        message: Option<String>,
    },
    /// A free-form note worth showing (a retry, a skipped item…).
    Note {
        /// The note.
        message: String,
    },
    /// The job ended (successfully or not; the caller gets the result separately).
    Finished {
        /// Units finished in the end.
        done: u64,
    },
}

/// Receives the progress of a long job. Implementations must be cheap: the
/// job calls them on its hot path.
pub trait Progress: Send + Sync {
    /// Handles one event.
    fn report(&self, event: ProgressEvent);
}

/// Discards every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _event: ProgressEvent) {}
}

/// Keeps every event in memory, for tests and for callers that want a log.
#[derive(Debug, Default)]
pub struct RecordingProgress {
    events: Mutex<Vec<ProgressEvent>>,
}

impl RecordingProgress {
    /// A copy of the events received so far.
    pub fn events(&self) -> Vec<ProgressEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Progress for RecordingProgress {
    fn report(&self, event: ProgressEvent) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }
}

/// A cheap, clonable flag that asks a long job to stop at its next check.
#[derive(Debug, Default, Clone)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder of this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_is_seen_by_clones() {
        let token = CancelToken::new();
        let clone = token.clone();
        assert!(!clone.is_cancelled());
        token.cancel();
        assert!(clone.is_cancelled());
    }

    #[test]
    fn recording_progress_keeps_order() {
        let p = RecordingProgress::default();
        p.report(ProgressEvent::Started {
            label: "x".into(),
            total: Some(2),
        });
        p.report(ProgressEvent::Finished { done: 2 });
        let events = p.events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1], ProgressEvent::Finished { done: 2 });
    }
}
