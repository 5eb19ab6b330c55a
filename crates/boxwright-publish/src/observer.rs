//! Progress of a publication, reported to the caller instead of printed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::Error;

/// What a publication reports as it goes. Every method has an empty default, so an observer
/// implements only what it shows. `object` is the path below the publication base
/// (`<tag>/manifest.json`), `name` what the destination calls it (a path or URL).
pub trait PublishObserver: Send + Sync {
    /// A release image is being resolved in its registry.
    fn resolving(&self, _reference: &str) {}
    /// `object` (`size` bytes) is about to be written.
    fn started(&self, _object: &str, _size: u64) {}
    /// `sent` bytes of `object` have gone out so far (back to 0 when an attempt restarts).
    fn uploaded(&self, _object: &str, _sent: u64) {}
    /// Attempt `attempt` of `what` failed with `error`; the next starts after `wait`.
    fn retrying(&self, _what: &str, _attempt: u32, _error: &Error, _wait: Duration) {}
    /// `object` was written and read back with the expected size and SHA-256.
    fn verified(&self, _object: &str, _name: &str, _size: u64) {}
    /// `object` already holds the expected contents: not written.
    fn unchanged(&self, _object: &str, _name: &str) {}
}

/// An observer that reports nothing.
pub struct Silent;

impl PublishObserver for Silent {}

/// The byte count of one object's upload, shared with request bodies that outlive a borrow.
#[derive(Clone)]
pub struct Progress {
    observer: Arc<dyn PublishObserver>,
    object: Arc<str>,
    sent: Arc<AtomicU64>,
}

impl Progress {
    /// Progress of `object`, reported to `observer`.
    pub fn new(observer: Arc<dyn PublishObserver>, object: &str) -> Progress {
        Progress {
            observer,
            object: object.into(),
            sent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// An attempt starts over: nothing sent.
    pub fn restart(&self) {
        self.sent.store(0, Ordering::Relaxed);
        self.observer.uploaded(&self.object, 0);
    }

    /// `bytes` more went out.
    pub fn add(&self, bytes: u64) {
        let sent = self.sent.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.observer.uploaded(&self.object, sent);
    }
}
