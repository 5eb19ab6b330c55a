//! The crate's error types: one for packages, one for repositories.

use std::path::PathBuf;

/// What can go wrong writing or reading a package.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// A file that cannot be read or written.
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A package format name other than `apk` and `deb`.
    #[error("unknown package format `{name}` (known: apk, deb)")]
    FormatName { name: String },
    /// A file that is neither an apk nor a deb package.
    #[error("{path} is not a package (neither an .apk gzip stream nor a .deb ar archive)")]
    UnknownFormat { path: PathBuf },
    /// A package larger than the reader accepts.
    #[error("{path}: {what} is larger than {limit} bytes")]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        limit: u64,
    },
    /// A package that unpacks to more than the ratio limit allows for its size.
    #[error("{path}: unpacks to more than {limit} bytes, over {ratio} times its {file_size} bytes")]
    Ratio {
        path: PathBuf,
        ratio: u64,
        file_size: u64,
        limit: u64,
    },
    /// A tar entry whose GNU long name or link or pax records exceed the header limit.
    #[error("{path}: {location}: the {record} is larger than {limit} bytes")]
    HeaderTooLarge {
        path: PathBuf,
        /// The tar member and the entry before the record (`data.tar.gz, after entry ...`).
        location: String,
        /// `GNU long name`, `GNU long link`, `pax extended header`, `pax global header`.
        record: &'static str,
        limit: u64,
    },
    /// A package whose structure or content is not as its format requires.
    #[error("{path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
    /// A field value that cannot go into a package (name, version, architecture ...).
    #[error("invalid package {field} `{value}`: {reason}")]
    InvalidField {
        field: &'static str,
        value: String,
        reason: String,
    },
    /// A subpackage glob that is not a valid pattern.
    #[error("invalid glob `{pattern}`: {reason}")]
    InvalidGlob { pattern: String, reason: String },
    /// A signing failure.
    #[error("cannot sign {what}")]
    Sign {
        what: String,
        #[source]
        source: boxwright_sign::Error,
    },
}

impl PackageError {
    /// Whether a size limit refused the package (rather than its content being invalid).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            PackageError::TooLarge { .. }
                | PackageError::Ratio { .. }
                | PackageError::HeaderTooLarge { .. }
        )
    }

    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        PackageError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn malformed(path: &std::path::Path, reason: impl Into<String>) -> Self {
        PackageError::Malformed {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// `self` with `context` (`data tar`, `control`) before the reason of a
    /// [`PackageError::Malformed`]: `<path>: data tar: <reason>`. Other errors unchanged.
    pub(crate) fn within(self, context: &str) -> Self {
        match self {
            PackageError::Malformed { path, reason } => PackageError::Malformed {
                path,
                reason: format!("{context}: {reason}"),
            },
            other => other,
        }
    }
}

/// What can go wrong placing packages in a repository and indexing it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepoError {
    /// A file or directory that cannot be read or written.
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A path component (version, repo, suite, component, name, architecture) that is not safe.
    #[error("invalid {what} `{value}`: {reason}")]
    UnsafeComponent {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    /// An apk version or repo name that belongs to the apt tree (`apt`, `dists`, `pool`).
    #[error(
        "invalid {what} `{value}`: the name belongs to the apt tree (`apt/dists`, `apt/pool`), which the apk tree must not overlap"
    )]
    ReservedName { what: &'static str, value: String },
    /// Two package files of one index that claim the same name and version.
    #[error("{first} and {second} both claim to be {name} {version}")]
    Duplicate {
        name: String,
        version: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// An apk signing key from a variable, without the public key name clients trust.
    #[error(
        "the apk signing key {key} needs a key name (the public key file clients trust, e.g. repo.rsa.pub)"
    )]
    KeyName { key: String },
    /// A repository index that needs a key that is not configured.
    #[error("no {kind} signing key is configured (needed to sign {index})")]
    NoKey { kind: &'static str, index: String },
    /// A signing key that cannot be read or used.
    #[error("cannot use the {kind} signing key {key}")]
    Key {
        kind: &'static str,
        /// The key's file, or `env://VAR`.
        key: String,
        #[source]
        source: boxwright_sign::Error,
    },
    /// A package in the repository tree that cannot be read.
    #[error("cannot index {path}")]
    Package {
        path: PathBuf,
        #[source]
        source: PackageError,
    },
}

impl RepoError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        RepoError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
