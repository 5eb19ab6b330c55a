//! The `metadata.json` contract of boxwright.
//!
//! A project is a directory holding `metadata.json`: an object of build targets by name
//! (a superset of the seed schema). This crate loads it ([`Metadata::load`]), expands
//! `{VAR}` templates ([`template`]), parses release tags ([`ReleaseTag`]) and describes the
//! file as a JSON Schema ([`schema::json_schema`]). It does no network and no process work.

mod checksum;
pub mod env_vars;
mod error;
mod keys;
mod load;
mod model;
mod packages;
mod packages_check;
mod pointer;
mod project;
pub mod schema;
pub mod source;
mod tag;
pub mod template;

pub use checksum::{Checksum, ChecksumAlgorithm, ChecksumError};
pub use error::Error;
pub use model::{
    Download, Image, Metadata, PACKAGE_SCRIPTS, Package, Release, SignatureFormat, Target,
    Upstream, Verify,
};
pub use packages::{
    Accounts, Group, ImagePackages, InstallRequest, Layering, PackageRepository, RepositoryKind,
    Services, User,
};
pub use project::{METADATA_FILE, Project};
pub use source::{
    SourceOrigin, SourceUrl, publishable_download_url, publishable_revision, publishable_source_url,
};
pub use tag::{ReleaseTag, TagError};

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
