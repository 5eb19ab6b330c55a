//! The crate's error type.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while loading the configuration, starting the server or
/// uploading as a client. Request-level failures are answers (status and reason), not errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{path}: unknown key `{key}`")]
    UnknownKey { path: PathBuf, key: String },
    #[error("cannot read the address the server listens on")]
    LocalAddr(#[source] std::io::Error),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS certificate or key {path}: {message}")]
    Tls { path: PathBuf, message: String },
    #[error("HTTP client")]
    Client(#[source] reqwest::Error),

    #[error("cannot set up the HTTP client")]
    HttpClient(#[source] boxwright_http::Error),
    #[error("upload to {url} failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("server refused the upload ({status}): {reason}")]
    Refused { status: u16, reason: String },
    #[error("cannot read the package {path}")]
    Package {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{path}: {message}")]
    Group { path: PathBuf, message: String },
    /// A field of an upload that no flag gave and the file's place does not tell.
    #[error("cannot tell the {part} of {path}: give {flag} or put it under {layout}")]
    Infer {
        part: &'static str,
        path: PathBuf,
        flag: &'static str,
        layout: &'static str,
    },
    /// A file or directory operation that failed: what was done, to which path.
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The I/O error of `action` (`create the staging directory`) on `path`.
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::prepare_staging;

    #[test]
    fn io_errors_name_the_action_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the repository directory belongs: the staging directory cannot be emptied.
        let root = dir.path().join("repo");
        std::fs::write(&root, "not a directory").unwrap();
        let error = prepare_staging(&root).unwrap_err();
        let staging = root.join(crate::upload::STAGING_DIR);
        assert!(
            matches!(&error, Error::Io { path, .. } if *path == staging),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("cannot empty the staging directory {}", staging.display())
        );
        assert!(std::error::Error::source(&error).is_some());
    }
}
