//! Distribution package repositories, read as apt and apk read them, and installation of
//! their packages into an image tree without running a package manager.
//!
//! - [`model`]: what an index says about one package ([`Candidate`]), in one shape for both
//!   kinds, so resolution and installation do not care which distribution they serve.
//! - `version`: dpkg's and apk's version orders.
//! - [`deb822`]: Debian's paragraph format (Release, Packages, dpkg's status).
//! - [`apt`], [`apk`]: signed index files checked against trusted keys, then parsed.
//! - [`check`]: a downloaded package file against its index entry.
//! - `resolve`: the package set an `install` list means, as each distribution means it.
//! - `install`: package files → a rootfs tree with the native package database.
//!
//! Nothing here touches the network: callers fetch bytes (indexes, packages) and pass them in.

pub mod apk;
pub mod apt;
pub mod check;
pub mod deb822;
pub mod error;
pub mod install;
pub mod model;
pub mod resolve;
pub mod version;

pub use error::{Error, Result};
pub use model::{Candidate, Kind, Op, Provide, Relation};
pub use resolve::{Options, Resolution, resolve};

#[cfg(test)]
mod repo_tests;
