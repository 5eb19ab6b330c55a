//! A package repository tree and its signed indexes.
//!
//! Layout under the root:
//! - apk: `<version>/<repo>/<arch>/<name>-<pkgver>.apk` beside `APKINDEX.tar.gz`; clients list
//!   `https://host/<version>/<repo>` and apk adds `/<arch>/`.
//! - apt: `apt/pool/<suite>/<component>/<name>_<version>_<arch>.deb` (version without epoch);
//!   indexes `apt/dists/<suite>/<component>/binary-<arch>/Packages(.gz)` and
//!   `apt/dists/<suite>/{Release,Release.gpg,InRelease}`; clients use
//!   `deb [signed-by=KEY] https://host/apt <suite> <component>`.

mod apk_index;
mod apt;
mod cache;
pub(crate) mod date;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::RepoError;
use crate::info::{PackageFormat, PackageInfo, format_arch};
use crate::limits::ReadLimits;

pub use boxwright_sign::KeySource;

/// Reads the `kind` signing key configured at `key` (a file or `env://VAR`; at each call, so
/// a key rotated on disk is picked up) and parses it with `parse`; errors name the key and the
/// index it signs.
fn load_signing_key<'a, K>(
    key: Option<&'a KeySource>,
    kind: &'static str,
    index: &str,
    parse: impl FnOnce(&str) -> Result<K, boxwright_sign::Error>,
) -> Result<(K, &'a KeySource), RepoError> {
    let key = key.ok_or_else(|| RepoError::NoKey {
        kind,
        index: index.to_string(),
    })?;
    let key_error = |source| RepoError::Key {
        kind,
        key: key.to_string(),
        source,
    };
    let text = key.read().map_err(key_error)?;
    Ok((parse(&text).map_err(key_error)?, key))
}

/// Where a repository lives and how its indexes are signed.
#[derive(Debug, Clone)]
pub struct RepoConfig {
    pub root: PathBuf,
    /// RSA private key (PEM) signing `APKINDEX.tar.gz`: a file or `env://VAR`.
    pub apk_key: Option<KeySource>,
    /// The public key name clients trust (`/etc/apk/keys/<name>`); default: the key file's
    /// name + `.pub` (abuild's `repo.rsa` / `repo.rsa.pub`). Needed for an `env://` key.
    pub apk_key_name: Option<String>,
    /// OpenPGP secret key (armored) signing apt's `InRelease` and `Release.gpg`.
    pub apt_key: Option<KeySource>,
    pub apt_origin: String,
    pub apt_label: String,
    /// The time written into indexes (`SOURCE_DATE_EPOCH`, read by the caller); `None`:
    /// the newest package's time.
    pub index_time: Option<u64>,
}

/// A repository tree: package destinations and index writing. Keys are read from disk at
/// each index write, so a key rotated on disk is used without a restart. Packages are read
/// within its [`ReadLimits`], and each package file only once: its facts are kept by the
/// file's SHA-256, shared by the clones of one repository (see `cache.rs`).
#[derive(Debug, Clone)]
pub struct Repository {
    config: RepoConfig,
    limits: ReadLimits,
    pub(crate) cache: Arc<cache::IndexCache>,
}

/// The apk tree's places that would be the apt tree's: `apt` as an apk version (the apt
/// tree's root), `dists` and `pool` as apk repo names. Refused for uploads, `repo upload`
/// and `repo index` alike, so the two trees never overlap.
pub fn apk_location(version: &str, repo: &str) -> Result<(), RepoError> {
    let reserved = |what, value: &str| RepoError::ReservedName {
        what,
        value: value.to_string(),
    };
    if version == "apt" {
        return Err(reserved("apk version", version));
    }
    if repo == "dists" || repo == "pool" {
        return Err(reserved("apk repo", repo));
    }
    Ok(())
}

/// What [`Repository::reindex_all`] indexed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndexSummary {
    pub indexes: Vec<IndexedScope>,
}

/// One index written: its scope (`v3.20/main/x86_64`, `apt/stable`) and package count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IndexedScope {
    pub format: PackageFormat,
    pub scope: String,
    pub packages: usize,
}

/// Checks a path component from a request or a package: letters, digits and `._+~-_`,
/// starting with a letter or digit, at most 128 characters.
pub fn safe_component(what: &'static str, value: &str) -> Result<(), RepoError> {
    let reason = if value.is_empty() {
        Some("empty")
    } else if value.len() > 128 {
        Some("longer than 128 characters")
    } else if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("must start with a letter or digit")
    } else if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._+~-_".contains(c))
    {
        Some("only letters, digits and `._+~-_` are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(RepoError::UnsafeComponent {
            what,
            value: value.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

impl Repository {
    /// A repository reading packages within the default [`ReadLimits`].
    pub fn new(config: RepoConfig) -> Self {
        Repository {
            config,
            limits: ReadLimits::default(),
            cache: Arc::default(),
        }
    }

    /// The same repository reading packages within `limits`.
    #[must_use]
    pub fn with_read_limits(mut self, limits: ReadLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Keeps the facts of a package checked elsewhere (an upload's [`crate::inspect`]), so
    /// the next index write does not read the file again.
    pub fn remember(&self, info: &PackageInfo) {
        self.cache.remember(info);
    }

    pub fn config(&self) -> &RepoConfig {
        &self.config
    }

    /// The apk architecture directory for `info` asked for `arch` (an upload's field): the
    /// package's own architecture, or `arch` for a `noarch` package.
    fn apk_arch_dir(info: &PackageInfo, arch: Option<&str>) -> String {
        match (info.arch.as_str(), arch) {
            ("noarch", Some(asked)) => format_arch(PackageFormat::Apk, asked),
            (own, _) => own.to_string(),
        }
    }

    /// Final path of a package: apk `<root>/<version>/<repo>/<arch>/<name>-<pkgver>.apk`;
    /// deb `<root>/apt/pool/<suite=version>/<component=repo>/<name>_<version>_<arch>.deb`.
    /// A `noarch` apk goes to `<arch>` = `noarch` here; see [`Repository::destination_for_arch`].
    pub fn destination(
        &self,
        info: &PackageInfo,
        version: &str,
        repo: &str,
    ) -> Result<PathBuf, RepoError> {
        self.destination_inner(info, version, repo, None)
    }

    /// [`Repository::destination`] for an upload naming `arch`: a `noarch` apk goes to that
    /// architecture's directory (apk clients read only `<repo>/<their arch>/`).
    pub fn destination_for_arch(
        &self,
        info: &PackageInfo,
        version: &str,
        repo: &str,
        arch: &str,
    ) -> Result<PathBuf, RepoError> {
        safe_component("arch", arch)?;
        self.destination_inner(info, version, repo, Some(arch))
    }

    fn destination_inner(
        &self,
        info: &PackageInfo,
        version: &str,
        repo: &str,
        arch: Option<&str>,
    ) -> Result<PathBuf, RepoError> {
        safe_component("version", version)?;
        safe_component("repo", repo)?;
        safe_component("package name", &info.name)?;
        safe_component("package architecture", &info.arch)?;
        match info.format {
            PackageFormat::Apk => {
                apk_location(version, repo)?;
                safe_component("package version", &info.version)?;
                let dir = Self::apk_arch_dir(info, arch);
                safe_component("arch", &dir)?;
                Ok(self
                    .config
                    .root
                    .join(version)
                    .join(repo)
                    .join(dir)
                    .join(format!("{}-{}.apk", info.name, info.version)))
            }
            PackageFormat::Deb => {
                let plain = deb_file_version(&info.version);
                safe_component("package version", plain)?;
                Ok(self
                    .config
                    .root
                    .join("apt/pool")
                    .join(version)
                    .join(repo)
                    .join(format!("{}_{plain}_{}.deb", info.name, info.arch)))
            }
        }
    }

    /// The index an upload touches (apk: `<version>/<repo>/<arch>`, apt: `apt/<suite>`): the
    /// server serialises uploads on it.
    pub fn index_scope(&self, info: &PackageInfo, version: &str, repo: &str) -> String {
        match info.format {
            PackageFormat::Apk => format!("{version}/{repo}/{}", info.arch),
            PackageFormat::Deb => format!("apt/{version}"),
        }
    }

    /// [`Repository::index_scope`] for an upload naming `arch` (matters for `noarch` apks).
    pub fn index_scope_for_arch(
        &self,
        info: &PackageInfo,
        version: &str,
        repo: &str,
        arch: &str,
    ) -> String {
        match info.format {
            PackageFormat::Apk => {
                format!("{version}/{repo}/{}", Self::apk_arch_dir(info, Some(arch)))
            }
            PackageFormat::Deb => format!("apt/{version}"),
        }
    }

    /// Rewrites and signs the one index covering the package's scope (apk: that
    /// architecture directory's `APKINDEX.tar.gz`; apt: the suite's `Packages` files, then
    /// `Release`, `Release.gpg` and `InRelease` last). Everything is computed and signed
    /// before the first rename, so on any error the previous index stays intact.
    pub fn reindex(&self, info: &PackageInfo, version: &str, repo: &str) -> Result<(), RepoError> {
        self.reindex_inner(info, version, repo, None)
    }

    /// [`Repository::reindex`] for an upload naming `arch` (matters for `noarch` apks).
    pub fn reindex_for_arch(
        &self,
        info: &PackageInfo,
        version: &str,
        repo: &str,
        arch: &str,
    ) -> Result<(), RepoError> {
        self.reindex_inner(info, version, repo, Some(arch))
    }

    fn reindex_inner(
        &self,
        info: &PackageInfo,
        version: &str,
        repo: &str,
        arch: Option<&str>,
    ) -> Result<(), RepoError> {
        safe_component("version", version)?;
        safe_component("repo", repo)?;
        match info.format {
            PackageFormat::Apk => {
                apk_location(version, repo)?;
                let dir = Self::apk_arch_dir(info, arch);
                safe_component("arch", &dir)?;
                let path = self.config.root.join(version).join(repo).join(&dir);
                apk_index::write(self, &path, &format!("{version}/{repo}/{dir}")).map(|_| ())
            }
            PackageFormat::Deb => apt::write_suite(self, version).map(|_| ()),
        }
    }

    /// Indexes every apk architecture directory (`<version>/<repo>/<arch>/` holding `.apk`
    /// files) and every apt suite under the root.
    pub fn reindex_all(&self) -> Result<IndexSummary, RepoError> {
        let mut summary = IndexSummary::default();
        let root = &self.config.root;
        for version in subdirs(root)? {
            if version == "apt" {
                continue;
            }
            for repo in subdirs(&root.join(&version))? {
                for arch in subdirs(&root.join(&version).join(&repo))? {
                    let dir = root.join(&version).join(&repo).join(&arch);
                    if !has_packages(&dir, "apk")? {
                        continue;
                    }
                    apk_location(&version, &repo)?;
                    let scope = format!("{version}/{repo}/{arch}");
                    let packages = apk_index::write(self, &dir, &scope)?;
                    summary.indexes.push(IndexedScope {
                        format: PackageFormat::Apk,
                        scope,
                        packages,
                    });
                }
            }
        }
        for suite in subdirs(&root.join("apt/pool"))? {
            let packages = apt::write_suite(self, &suite)?;
            summary.indexes.push(IndexedScope {
                format: PackageFormat::Deb,
                scope: format!("apt/{suite}"),
                packages,
            });
        }
        Ok(summary)
    }
}

/// A Debian version as it appears in file names: without the epoch.
fn deb_file_version(version: &str) -> &str {
    version.split_once(':').map_or(version, |(_, rest)| rest)
}

/// Names of the safe subdirectories of `dir`, sorted; none when `dir` does not exist.
fn subdirs(dir: &Path) -> Result<Vec<String>, RepoError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RepoError::io("read", dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| RepoError::io("read", dir, e))?;
        let is_dir = entry
            .file_type()
            .map_err(|e| RepoError::io("read", &entry.path(), e))?
            .is_dir();
        if let (true, Some(name)) = (is_dir, entry.file_name().to_str())
            && safe_component("directory", name).is_ok()
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Package files (`*.<extension>`, not hidden temporary files) directly in `dir`, sorted.
fn package_files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, RepoError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RepoError::io("read", dir, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| RepoError::io("read", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_file = entry
            .file_type()
            .map_err(|e| RepoError::io("read", &entry.path(), e))?
            .is_file();
        if is_file && !name.starts_with('.') && name.ends_with(&format!(".{extension}")) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

fn has_packages(dir: &Path, extension: &str) -> Result<bool, RepoError> {
    Ok(!package_files(dir, extension)?.is_empty())
}

impl RepoConfig {
    /// The configured index time, else `newest` (the newest package's time).
    pub(crate) fn index_time(&self, newest: u64) -> u64 {
        self.index_time.unwrap_or(newest)
    }
}

/// Writes `contents` to `path` through a temporary file in the same directory.
fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), RepoError> {
    use std::io::Write as _;
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| RepoError::io("create", parent, e))?;
    let mut file = boxwright_archive::AtomicFile::create(path)
        .map_err(|e| RepoError::io("create", path, e))?;
    file.write_all(contents)
        .map_err(|e| RepoError::io("write", path, e))?;
    file.commit().map_err(|e| RepoError::io("write", path, e))?;
    Ok(())
}
