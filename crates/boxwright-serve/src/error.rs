//! The crate's error type.

use std::path::PathBuf;

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
    #[error("repository directory {path} is not usable")]
    Root {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
