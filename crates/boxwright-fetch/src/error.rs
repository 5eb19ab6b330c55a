use std::path::PathBuf;

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `boxwright_metadata::Error::UnknownTarget`.
    #[error(transparent)]
    UnknownTarget(boxwright_metadata::Error),

    #[error("two downloads are both named `{name}` but differ: {first} and {second}")]
    NameConflict {
        name: String,
        first: String,
        second: String,
    },

    #[error("`{name}` is not in the cache ({}) and --offline forbids downloading it from {url}", path.display())]
    NotCached {
        name: String,
        url: String,
        path: PathBuf,
    },

    #[error("request to {url} failed")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },

    #[error("transfer of {url} stopped after {received} of {expected} bytes")]
    Truncated {
        url: String,
        expected: u64,
        received: u64,
    },

    #[error("giving up on {url} after {attempts} attempts")]
    GaveUp {
        url: String,
        attempts: u32,
        #[source]
        last: Box<Error>,
    },

    #[error("{algorithm} mismatch for `{name}` from {url}: expected {expected}, got {actual}")]
    ChecksumMismatch {
        name: String,
        url: String,
        algorithm: &'static str,
        expected: String,
        actual: String,
    },

    /// `--locked` and a download pinned nowhere.
    #[error(
        "`{url}` of `{target}` has no digest to check: none in metadata.json and none in {} \
         (--locked records nothing; run without it, or pin it with \"sha256\")",
        lock.display()
    )]
    Unpinned {
        url: String,
        target: String,
        lock: PathBuf,
    },

    /// The lock file is not what this boxwright writes.
    #[error("{}: {message}", path.display())]
    Lock { path: PathBuf, message: String },

    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot set up the HTTP client")]
    Client(#[source] boxwright_http::Error),
}

impl Error {
    /// Connection errors, broken transfers and server errors are worth another attempt;
    /// client errors (4xx), digest mismatches and local failures are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Http { source, .. } => !source.is_builder() && !source.is_redirect(),
            Error::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            Error::Truncated { .. } => true,
            _ => false,
        }
    }
}
