//! The facts of package files by their SHA-256, so an index never reads a package it has
//! read before: a repository server reindexes on every upload, and without this every
//! upload would read every package of the index again.
//!
//! Only packages that were read and checked successfully are kept (what a failed read
//! costs is bounded by [`ReadLimits`] and [`crate::limits::HEADER`]). The cache lives in
//! memory, shared by the clones of one [`super::Repository`]; nothing is written to disk, so
//! nothing outside the packages themselves can put facts into a signed index.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use md5::Digest as _;

use crate::error::RepoError;
use crate::info::{PackageFormat, PackageInfo};
use crate::limits::ReadLimits;

/// Most packages kept; past it the cache starts again (a tree that large is read once more).
const MAX_ENTRIES: usize = 100_000;

/// Package facts by the hex SHA-256 of the package file.
#[derive(Debug, Default)]
pub(crate) struct IndexCache {
    entries: Mutex<HashMap<String, PackageInfo>>,
    #[cfg(test)]
    pub reads: std::sync::atomic::AtomicUsize,
}

/// A package file's facts for an index and its MD5 (apt's `MD5sum`).
pub(crate) struct Indexed {
    pub info: PackageInfo,
    pub md5: String,
}

impl IndexCache {
    /// Keeps `info`, which describes the file whose SHA-256 is `info.sha256`.
    pub fn remember(&self, info: &PackageInfo) {
        if info.sha256.is_empty() {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(info.sha256.clone(), info.clone());
    }

    /// The facts of the `format` package at `path`: from the cache when its digest is known,
    /// else read within `limits` (apk: signature and control members, fields checked as on
    /// upload; deb: fully, as on upload) and kept.
    pub fn read(
        &self,
        path: &Path,
        format: PackageFormat,
        limits: &ReadLimits,
    ) -> Result<Indexed, RepoError> {
        let (sha256, md5) = digests(path)?;
        let known = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&sha256)
            .filter(|info| info.format == format)
            .cloned();
        if let Some(info) = known {
            return Ok(Indexed { info, md5 });
        }
        #[cfg(test)]
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let package_error = |source| RepoError::Package {
            path: path.to_path_buf(),
            source,
        };
        let mut info = match format {
            PackageFormat::Apk => crate::apk::read_index_info(path, limits, sha256.clone()),
            PackageFormat::Deb => crate::inspect_with(path, limits),
        }
        .map_err(package_error)?;
        // The file may have changed between the two reads; the digest read first names it.
        info.sha256 = sha256;
        self.remember(&info);
        Ok(Indexed { info, md5 })
    }
}

/// The hex SHA-256 and MD5 of a file, in one read.
fn digests(path: &Path) -> Result<(String, String), RepoError> {
    let mut file = std::fs::File::open(path).map_err(|e| RepoError::io("read", path, e))?;
    let mut sha256 = sha2::Sha256::default();
    let mut md5 = md5::Md5::new();
    crate::stream::digest_reader(&mut file, |chunk| {
        sha2::Digest::update(&mut sha256, chunk);
        md5.update(chunk);
    })
    .map_err(|e| RepoError::io("read", path, e))?;
    Ok((
        hex::encode(sha2::Digest::finalize(sha256)),
        hex::encode(md5.finalize()),
    ))
}
