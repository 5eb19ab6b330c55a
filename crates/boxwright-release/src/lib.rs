//! Release archives: a release tag's target, its `release_files`, one reproducible `.tar.gz`.
//!
//! [`plan`] checks the tag and lists every entry (nothing is written); [`write`] streams the
//! entries through tar → parallel gzip → SHA-256 into a temporary file renamed into place.
//! [`git`] asks the project's repository for commit times, the commit and the origin.

mod error;
pub mod git;
pub mod manifest;
mod package;
mod plan;

pub use error::Error;
pub use manifest::{Manifest, ManifestArtifact, ManifestImage};
pub use package::{PackageReport, ReleaseArchive, write};
pub use plan::{EntryKind, PlannedEntry, ReleasePlan, plan};
