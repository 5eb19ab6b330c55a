//! What an SBOM or a provenance predicate describes: the subject, its files, the packages
//! built into it and the base image under it. The writers take nothing else, so every fact
//! in a document comes from here.

use serde::Serialize;

use crate::installed::InstalledPackage;

/// What kind of thing the subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    /// A target's output directory, `.out/<target>/`; digest: the tree digest of the build
    /// record.
    TargetOutput,
    /// An OCI image (layout, oci-archive or registry); digest: its manifest's.
    OciImage,
    /// A flat root-filesystem tarball; digest: the file's.
    Rootfs,
    /// A release archive `<tag>.tar.gz`; digest: the file's.
    Archive,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::TargetOutput => "target-output",
            SubjectKind::OciImage => "oci-image",
            SubjectKind::Rootfs => "rootfs",
            SubjectKind::Archive => "archive",
        }
    }
}

/// The thing described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// A name without host paths: the target's, an image's repository name, a file's name.
    pub name: String,
    pub kind: SubjectKind,
    /// `sha256:<hex>`; see [`SubjectKind`] for what it is the digest of.
    pub digest: String,
    /// The target the subject was built from, when known.
    pub target: Option<String>,
    /// The subject's version (the target's, or `org.opencontainers.image.version`).
    pub version: Option<String>,
    /// `os/arch[/variant]`, when known.
    pub platform: Option<String>,
    /// A package URL of the subject itself (`pkg:oci/…` for images).
    pub purl: Option<String>,
    /// Regular files with their hashes.
    pub files: Vec<FileEntry>,
    /// The targets built into the subject.
    pub packages: Vec<PackageInfo>,
    /// The distribution packages its package database (dpkg, apk) lists as installed.
    pub installed: Vec<InstalledPackage>,
    /// The base image, for images built on one.
    pub base: Option<BaseInfo>,
    /// The project's repository and commit (cleaned), when known.
    pub source: Option<SourceInfo>,
}

/// A regular file of the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// Relative, `/`-separated, without a leading `./` or `/`.
    pub path: String,
    /// Hex digests.
    pub sha256: String,
    pub sha1: String,
    pub size: u64,
}

/// A target built into the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageInfo {
    pub name: String,
    pub version: Option<String>,
    /// A package URL; see [`crate::purl`].
    pub purl: Option<String>,
    /// A library target (no release files): linked into its dependents.
    pub library: bool,
    /// Where its sources came from, in metadata.json's order.
    pub downloads: Vec<DownloadInfo>,
    /// Names of other packages of the subject it is built against (`build_depends`).
    pub depends: Vec<String>,
}

/// One source of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DownloadInfo {
    /// The file name under `.tmp/`.
    pub name: String,
    /// The URL, cleaned ([`boxwright_metadata::publishable_download_url`]); `None` when
    /// nothing of it may be published.
    pub url: Option<String>,
    /// Hex digests.
    pub sha256: Option<String>,
    pub sha512: Option<String>,
}

/// The image a subject was built on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseInfo {
    /// As written in metadata.json (`org.opencontainers.image.base.name`).
    pub name: String,
    /// `sha256:<hex>` of its manifest.
    pub digest: String,
    /// `pkg:oci/…`, with the repository when the base is a registry reference.
    pub purl: Option<String>,
}

/// The project's repository and commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    /// Cleaned ([`boxwright_metadata::publishable_source_url`]).
    pub url: Option<String>,
    /// A commit id (40 or 64 hex digits).
    pub revision: Option<String>,
}

impl Subject {
    /// Sorts files by path and packages by name, and drops duplicate paths and packages, so
    /// the documents depend on the facts only, not on the order they were found in.
    pub fn normalise(&mut self) {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.files.dedup_by(|a, b| a.path == b.path);
        self.packages.sort_by(|a, b| a.name.cmp(&b.name));
        self.packages.dedup_by(|a, b| a.name == b.name);
        self.installed
            .sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
        self.installed
            .dedup_by(|a, b| a.name == b.name && a.arch == b.arch);
        for package in &mut self.packages {
            package.depends.sort();
            package.depends.dedup();
        }
    }

    /// The hex part of [`Subject::digest`].
    pub fn digest_hex(&self) -> &str {
        self.digest
            .split_once(':')
            .map_or(self.digest.as_str(), |(_, hex)| hex)
    }
}
