use std::path::PathBuf;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reference(#[from] crate::ReferenceError),

    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),

    #[error("the CA file is not PEM certificates")]
    CaFile(#[source] reqwest::Error),

    #[error("the CA file holds no PEM certificate")]
    NoCertificates,

    #[error("{registry}: the TLS handshake failed")]
    Tls {
        registry: String,
        #[source]
        source: reqwest::Error,
    },

    #[error(
        "{registry}: the TLS certificate does not verify ({message}); if the registry uses a private CA, pass it with --ca-file"
    )]
    Certificate { registry: String, message: String },

    #[error("base image {reference} for {platform} is not available offline: {why}")]
    NotCached {
        reference: String,
        platform: String,
        why: String,
    },

    #[error("{}: {message}", path.display())]
    Credentials { path: PathBuf, message: String },

    #[error("request to {registry} ({what} of {repository}) failed")]
    Http {
        registry: String,
        repository: String,
        what: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("{registry} needs credentials for {repository} (HTTP 401 on {what}){hint}")]
    NeedsCredentials {
        registry: String,
        repository: String,
        what: String,
        hint: &'static str,
    },

    #[error("{registry} rejected the credentials for {repository} (HTTP 401 on {what}){hint}")]
    Unauthorized {
        registry: String,
        repository: String,
        what: String,
        hint: &'static str,
    },

    #[error("{registry} rejected the credentials of {username} (HTTP 401 on {what})")]
    LoginRejected {
        registry: String,
        username: String,
        what: String,
    },

    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{registry} denied access to {repository} (HTTP 403 on {what}): the account lacks permission"
    )]
    Forbidden {
        registry: String,
        repository: String,
        what: String,
    },

    #[error("{registry}: {what} of {repository} not found (HTTP 404){detail}")]
    NotFound {
        registry: String,
        repository: String,
        what: String,
        detail: String,
    },

    #[error("{registry} answered HTTP {status} to {what} of {repository}{detail}")]
    Status {
        registry: String,
        repository: String,
        what: String,
        status: u16,
        detail: String,
    },

    #[error("{registry}: {what} of {repository}: {message}")]
    Protocol {
        registry: String,
        repository: String,
        what: String,
        message: String,
    },

    #[error("{registry}: token request for {repository} to {realm} failed: {message}")]
    Token {
        registry: String,
        repository: String,
        realm: String,
        message: String,
    },

    #[error("{registry}: {repository}@{expected} came back with digest {actual}")]
    DigestMismatch {
        registry: String,
        repository: String,
        expected: String,
        actual: String,
    },

    #[error("giving up on {what} after {attempts} attempts")]
    GaveUp {
        what: String,
        attempts: u32,
        #[source]
        last: Box<Error>,
    },

    #[error("{}: {message}", path.display())]
    Source { path: PathBuf, message: String },

    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Oci(#[from] boxwright_oci::Error),
}

impl Error {
    /// Connection failures and server errors (5xx, 408, 429) are worth another attempt.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Http { source, .. } => !source.is_builder() && !source.is_redirect(),
            Error::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }

    /// The HTTP status behind the error, when there is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. }
            | Error::NeedsCredentials { .. }
            | Error::LoginRejected { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Status { status, .. } => Some(*status),
            Error::GaveUp { last, .. } => last.status(),
            _ => None,
        }
    }
}
