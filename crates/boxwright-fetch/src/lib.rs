//! `fetch`: every `downloads[]` entry of a project into `<project>/.tmp/<name>`.
//!
//! Digests are computed while streaming and checked before the file gets its final name
//! (temporary file, then rename), so `.tmp/` only ever holds complete, verified files.
//! A cached file whose digests match costs no network at all.

mod download;
mod error;
mod lock;
mod plan;
mod progress;
mod targets;

pub use download::{FetchOptions, FetchReport, Outcome, fetch_all};
pub use error::Error;
pub use lock::{
    ArchitectureLock, ImageLock, ImageLockStatus, LOCK_FILE, LockFile, LockedIndex, LockedPackage,
    checksum_for,
};
pub use plan::{FetchRequest, Source, plan};
pub use progress::{NoProgress, Progress, ProgressItem};
pub use targets::{Fetched, fetch_targets, pin_targets};
