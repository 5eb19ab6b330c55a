//! The lock of images made from packages (`image lock TARGET`): per target, the `install`
//! list it was resolved for and, per architecture, the index files read and every package
//! installed, each with its URL and SHA-256. `image build` installs exactly this; with
//! `--locked` a lock whose `install` list differs (or that lacks an architecture) is stale.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The resolution of one target's `image.packages`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageLock {
    /// The `install` list (as written in metadata.json) this was resolved for.
    pub install: Vec<String>,
    /// Per architecture (Debian or apk name, as the repositories spell it).
    pub architectures: BTreeMap<String, ArchitectureLock>,
    /// The distribution's identity from its index (os-release keys: `ID`, `VERSION_ID`,
    /// `VERSION_CODENAME`, `PRETTY_NAME`), written to `/etc/os-release` when no installed
    /// package ships one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_release: Option<BTreeMap<String, String>>,
}

/// What one architecture's image installs, and from which indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchitectureLock {
    /// The index files read (InRelease/Release, Packages, APKINDEX.tar.gz), by URL.
    pub indexes: Vec<LockedIndex>,
    /// The installed packages, sorted by name.
    pub packages: Vec<LockedPackage>,
}

/// One index file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedIndex {
    pub url: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    /// The package's own architecture (`amd64`, `all`, `x86_64`, `noarch`).
    pub arch: String,
    /// Where the package file is downloaded from.
    pub url: String,
    /// SHA-256 of the package file, hex.
    pub sha256: String,
}

/// Whether a lock can be installed as it is, for an `install` list and architectures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageLockStatus<'a> {
    /// Complete: it was resolved for this `install` list and has every architecture.
    Current(&'a ImageLock),
    /// The target has no image lock.
    Missing,
    /// It was resolved for another `install` list.
    InstallChanged {
        locked: Vec<String>,
        wanted: Vec<String>,
    },
    /// It lacks an architecture asked for.
    ArchitectureMissing { arch: String },
}

impl ImageLock {
    /// Sorts indexes and packages, so equal resolutions serialise to equal bytes.
    pub fn normalise(&mut self) {
        for arch in self.architectures.values_mut() {
            arch.indexes.sort();
            arch.indexes.dedup();
            arch.packages.sort();
            arch.packages.dedup();
        }
    }

    /// Compares against `install` (order and repeats do not matter) and `architectures`.
    pub fn status<'a>(
        &'a self,
        install: &[String],
        architectures: &[String],
    ) -> ImageLockStatus<'a> {
        let set = |list: &[String]| list.iter().cloned().collect::<BTreeSet<_>>();
        if set(&self.install) != set(install) {
            return ImageLockStatus::InstallChanged {
                locked: self.install.clone(),
                wanted: install.to_vec(),
            };
        }
        if let Some(arch) = architectures
            .iter()
            .find(|arch| !self.architectures.contains_key(*arch))
        {
            return ImageLockStatus::ArchitectureMissing { arch: arch.clone() };
        }
        ImageLockStatus::Current(self)
    }

    /// The first digest that is not 64 hex digits, as `(what, value)`.
    pub(super) fn bad_digest(&self) -> Option<(String, String)> {
        for (arch, lock) in &self.architectures {
            let indexes = lock.indexes.iter().map(|i| (&i.url, &i.sha256));
            let packages = lock.packages.iter().map(|p| (&p.url, &p.sha256));
            for (url, digest) in indexes.chain(packages) {
                if !super::is_sha256(digest) {
                    return Some((format!("{arch} {url}"), digest.clone()));
                }
            }
        }
        None
    }
}
