use std::time::Duration;

use crate::Error;

/// Where download progress is reported (a terminal bar, log lines, or nothing).
pub trait Progress: Sync {
    /// A download of `name` begins; `total` is its size when the source says it.
    fn begin(&self, name: &str, total: Option<u64>) -> Box<dyn ProgressItem + '_>;
    /// Attempt `attempt` failed with `error`; the next one starts after `wait`.
    fn retry(&self, name: &str, attempt: u32, error: &Error, wait: Duration);
}

/// One download's progress.
pub trait ProgressItem {
    /// `bytes` more arrived.
    fn advance(&self, bytes: u64);
    /// The transfer ended (successfully or not).
    fn finish(&self);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: &str, _: Option<u64>) -> Box<dyn ProgressItem + '_> {
        Box::new(NoProgress)
    }
    fn retry(&self, _: &str, _: u32, _: &Error, _: Duration) {}
}

impl ProgressItem for NoProgress {
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
