//! The crate's one error type.

use std::path::PathBuf;

/// A boxed error from the caller's side (building a rootfs artifact).
pub type HostError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong assembling, publishing or verifying a release. Variants name
/// the object, path or URL; [`Error::is_transient`] says whether another attempt may help.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // Assembly.
    #[error(
        "target `{target}` has no `release` object in metadata.json (its artifacts and how the \
         manifest is signed)"
    )]
    NoRelease { target: String },
    #[error("target `{target}` lists no release artifacts and no images")]
    NothingToRelease { target: String },
    #[error("cannot build the rootfs artifact {name} of `{target}`")]
    Rootfs {
        name: String,
        target: String,
        source: HostError,
    },
    #[error("artifact {name}: {} does not exist{hint}", path.display())]
    ArtifactMissing {
        name: String,
        path: PathBuf,
        /// What makes the file, in parentheses with a leading space; empty when unknown.
        hint: String,
    },
    #[error("release image {image:?}")]
    ImageReference {
        image: String,
        source: boxwright_registry::ReferenceError,
    },
    #[error("cannot resolve the release image {reference}")]
    ResolveImage {
        reference: String,
        source: Box<boxwright_registry::Error>,
    },
    #[error("cannot sign the manifest with {key}")]
    Sign {
        key: String,
        source: boxwright_sign::Error,
    },
    /// No key for the manifest and unsigned manifests not allowed (`--allow-unsigned`).
    #[error("the manifest of {tag} would be unsigned: no --key, and {}", match key_env {
        Some(name) => format!("the release's manifest_key_env {name} is unset or empty"),
        None => "the release has no manifest_key_env".to_string(),
    })]
    Unsigned {
        tag: String,
        key_env: Option<String>,
    },
    #[error(
        "cannot sign the manifest with {key}: the minisign secret key is encrypted with a \
         password: set {}",
        boxwright_sign::minisign::PASSWORD_ENV
    )]
    MinisignPasswordRequired { key: String },
    #[error(
        "cannot sign the manifest with {key}: wrong password ({}) or corrupt minisign secret key",
        boxwright_sign::minisign::PASSWORD_ENV
    )]
    MinisignWrongPassword { key: String },

    // Files.
    #[error("cannot create {}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    // Destinations.
    #[error(
        "publishing to {scheme}:// is not supported; give a directory, s3://BUCKET[/PREFIX], \
         github://OWNER/REPO or gitlab://PROJECT"
    )]
    UnsupportedScheme { scheme: String },
    #[error("s3://{location} names no bucket: give s3://BUCKET[/PREFIX]")]
    NoBucket { location: String },
    #[error("github://{repo} is not github://OWNER/REPO")]
    GitHubRepository { repo: String },
    #[error("gitlab://{project} is not gitlab://PROJECT (an id or group/project)")]
    GitLabProject { project: String },
    #[error("publishing to {scheme}:// needs {variables}")]
    NoToken {
        scheme: &'static str,
        variables: &'static str,
    },
    #[error(
        "cannot set up the S3 client (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
         AWS_ENDPOINT_URL, AWS_ALLOW_HTTP)"
    )]
    S3Setup { source: object_store::Error },
    #[error("{key:?} is not a valid object key")]
    ObjectKey {
        key: String,
        source: object_store::path::Error,
    },
    #[error("cannot read {name}")]
    StoreRead {
        name: String,
        source: object_store::Error,
    },
    #[error("cannot write {name}")]
    StoreWrite {
        name: String,
        source: object_store::Error,
    },
    #[error("cannot write {name}")]
    StoreCopy {
        name: String,
        source: std::io::Error,
    },
    #[error("cannot set up the HTTP client")]
    Client(#[source] boxwright_http::Error),
    #[error("{method} {url} failed")]
    Request {
        method: reqwest::Method,
        url: String,
        source: reqwest::Error,
    },
    #[error("{url} did not answer within {seconds} s")]
    TimedOut { url: String, seconds: u64 },
    #[error("cannot read the answer of {url}")]
    Answer { url: String, source: reqwest::Error },
    #[error("{url} answered {status}: {body}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
        /// The start of the answer's body.
        body: String,
    },
    #[error("{url} did not answer with JSON")]
    NotJson {
        url: String,
        source: serde_json::Error,
    },
    #[error("{url} did not answer with a list of assets")]
    NotAssetList { url: String },
    #[error("the release of {tag} in {repo} has no {field}")]
    ReleaseField {
        tag: String,
        repo: String,
        field: &'static str,
    },
    #[error("the release's upload_url {url} is not a URL")]
    UploadUrl { url: String },
    #[error("cannot download {name}")]
    Download { name: String, source: Box<Error> },
    #[error("cannot upload {name}")]
    Upload { name: String, source: Box<Error> },
    #[error("cannot delete {name}: {url} answered {status}")]
    Delete {
        name: String,
        url: String,
        status: reqwest::StatusCode,
    },

    // Publication order.
    #[error(
        "{name} exists with other contents: a published release is immutable (pass --force to \
         replace it)"
    )]
    Immutable { name: String },
    #[error("cannot read back {name}")]
    ReadBack { name: String, source: Box<Error> },
    #[error(
        "{name} reads back as {actual_size} bytes with sha256 {actual_sha256}, not {size} bytes \
         with sha256 {sha256}"
    )]
    ReadBackDiffers {
        name: String,
        actual_size: u64,
        actual_sha256: String,
        size: u64,
        sha256: String,
    },
    #[error("{name} is missing when read back")]
    ReadBackMissing { name: String },

    // Verification (`verify`): the texts are the reasons `release verify` prints.
    #[error("{scheme}:// bases are not supported yet; give a directory or an http(s) URL")]
    UnsupportedBase { scheme: String },
    #[error(transparent)]
    Signing(#[from] boxwright_sign::Error),
    #[error("{name} is larger than 1 MiB, the most a manifest or signature may be")]
    SignedPartTooLarge { name: String },
    #[error("download of {name} cut short: {size} of {declared} bytes")]
    CutShort {
        name: String,
        size: u64,
        declared: u64,
    },
    #[error("download of {name} cut short: {source}")]
    Interrupted {
        name: String,
        source: reqwest::Error,
    },
    #[error("download of {name} cut short: no end within {seconds} s")]
    Stalled { name: String, seconds: u64 },
    #[error("cannot get {url}: {reason}")]
    RedirectRefused { url: String, reason: String },
    #[error("{} does not exist", path.display())]
    FileMissing { path: PathBuf },
    #[error("{url} does not exist (404)")]
    NotFound { url: String },
    #[error("cannot get {url}")]
    Get { url: String, source: reqwest::Error },
    #[error(
        "the signature of {subject} is not a minisign signature, and the key is a minisign key"
    )]
    NotMinisignSignature { subject: String },
    #[error(
        "the signature of {subject} is a minisign signature, and the key is a cosign (PEM) key"
    )]
    MinisignSignatureForCosignKey { subject: String },
    #[error("{subject} is not a release manifest: {source}")]
    NotAManifest {
        subject: String,
        source: serde_json::Error,
    },
    #[error("{subject} has schema_version {found}, not {expected}")]
    SchemaVersion {
        subject: String,
        found: u32,
        expected: u32,
    },
    #[error("{subject} is for {found}, not {tag}")]
    WrongTag {
        subject: String,
        found: String,
        tag: String,
    },
    #[error("{subject} names an unsafe artifact name {name:?}")]
    UnsafeName { subject: String, name: String },
    #[error("{subject} names an unsafe artifact path {path:?}")]
    UnsafePath { subject: String, path: String },
    #[error("{subject} names the artifact {name:?} twice")]
    DuplicateName { subject: String, name: String },
    #[error("{what}: more than {size} bytes, the manifest says {size}")]
    TooLong { what: String, size: u64 },
    #[error("{what}: size {size}, the manifest says {expected}")]
    SizeDiffers {
        what: String,
        size: u64,
        expected: u64,
    },
    #[error("{what}: {algorithm} {actual}, the manifest says {expected}")]
    DigestDiffers {
        what: String,
        algorithm: &'static str,
        actual: String,
        expected: String,
    },
    #[error("image {image:?} is not a reference: {source}")]
    PinnedReference {
        image: String,
        source: boxwright_registry::ReferenceError,
    },
    #[error("image {image}: {size} bytes, the manifest says {expected}")]
    ImageSize {
        image: String,
        size: u64,
        expected: u64,
    },
    #[error("image {image}: {source}")]
    Image {
        image: String,
        source: Box<boxwright_registry::Error>,
    },
    #[error("cannot check {image}")]
    ImageCheck {
        image: String,
        source: Box<boxwright_registry::Error>,
    },
}

impl Error {
    /// Whether another attempt may succeed: a connection that failed or timed out, or an
    /// answer that says so (5xx, 408, 429), also below the context of an upload or download.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Request { source, .. } => boxwright_http::retryable_error(source),
            Error::Status { status, .. } => boxwright_http::retryable_status(*status),
            Error::TimedOut { .. } => true,
            Error::Download { source, .. } | Error::Upload { source, .. } => source.is_transient(),
            _ => false,
        }
    }
}
