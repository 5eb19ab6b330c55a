use std::path::PathBuf;

/// Why a mirror step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `boxwright_metadata::Error::UnknownTarget`.
    #[error(transparent)]
    UnknownTarget(boxwright_metadata::Error),

    #[error(
        "target `{target}` has no `upstream` in {}: plan and mirror work on targets whose \
         versions come from upstream releases or tags",
        metadata.display()
    )]
    NotMirrored { target: String, metadata: PathBuf },

    #[error("target `{target}` has no image.repository: pass --registry HOST[/NAMESPACE]")]
    NoRepository { target: String },

    #[error("invalid repository `{repository}`")]
    Repository {
        repository: String,
        #[source]
        source: boxwright_registry::ReferenceError,
    },

    #[error("unknown architecture `{arch}` (known: amd64, arm64)")]
    Architecture { arch: String },

    /// A `--platform` that is not a known platform.
    #[error("--platform: {0}")]
    Platform(boxwright_platform::UnknownPlatform),
    /// A known platform mirrors are not built for.
    #[error("mirrors are built for linux/amd64 and linux/arm64, not `{platform}`")]
    MirrorPlatform { platform: String },

    #[error("cannot list the upstream versions of `{target}`")]
    Discover {
        target: String,
        #[source]
        source: boxwright_upstream::Error,
    },

    #[error(transparent)]
    Registry(#[from] boxwright_registry::Error),

    #[error("cannot fill in `{target}` for {version} {arch}")]
    Resolve {
        target: String,
        version: String,
        arch: String,
        #[source]
        source: Box<boxwright_metadata::Error>,
    },

    #[error("cannot build the image of `{target}` {version} {arch}")]
    Image {
        target: String,
        version: String,
        arch: String,
        #[source]
        source: Box<boxwright_image::Error>,
    },

    /// A merge without any per-platform digest.
    #[error("no digests: pass --digest or --digests-dir")]
    NoDigests,

    /// A per-platform digest that is not `sha256:` and 64 hex digits.
    #[error("`{digest}` is not a sha256: digest")]
    InvalidDigest { digest: String },

    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    State(#[from] crate::StateError),

    #[error(transparent)]
    Fetch(#[from] Box<boxwright_fetch::Error>),

    #[error("checksums_url {url:?} must be an https:// or http:// URL")]
    ChecksumUrl { url: String },

    #[error("cannot fetch the checksum file {url}")]
    ChecksumFile {
        url: String,
        #[source]
        source: Box<boxwright_fetch::Error>,
    },

    #[error("the checksum file {url} names neither `{file}` nor `{published}`")]
    NotInChecksums {
        url: String,
        file: String,
        published: String,
    },

    #[error("{count} of {total} downloads failed")]
    Downloads {
        count: usize,
        total: usize,
        #[source]
        source: Box<boxwright_fetch::Error>,
    },

    #[error("{target} {pair} failed")]
    Pair {
        target: String,
        pair: String,
        #[source]
        source: Box<Error>,
    },

    #[error(transparent)]
    Sbom(#[from] Box<boxwright_sbom::Error>),

    #[error("the {what} of {digest} is not JSON")]
    Document {
        what: &'static str,
        digest: String,
        #[source]
        source: serde_json::Error,
    },
}
