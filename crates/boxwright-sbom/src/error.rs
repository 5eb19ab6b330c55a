use std::path::{Path, PathBuf};

/// Why a subject could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Image(#[from] boxwright_oci::Error),

    #[error("cannot read the layers of {}", path.display())]
    Layers {
        path: PathBuf,
        #[source]
        source: boxwright_oci::rootfs::RootfsError,
    },

    #[error("package database {path}: {reason}")]
    PackageDatabase { path: String, reason: String },

    #[error("layer {}: {message}", path.display())]
    Layer { path: PathBuf, message: String },

    #[error("{message}")]
    Platform { message: String },

    #[error("cannot read {what}")]
    ReadImage {
        what: String,
        #[source]
        source: Box<Error>,
    },

    #[error("--target {target} needs a project (run inside one, or pass --project DIR)")]
    NoProject { target: String },

    /// `boxwright_metadata::Error::UnknownTarget`.
    #[error(transparent)]
    UnknownTarget(boxwright_metadata::Error),

    #[error("target `{target}` has no output in {}: build it first (`boxwright build {target}`)", dir.display())]
    NoOutput { target: String, dir: PathBuf },

    #[error(
        "{} is a directory but no OCI layout (no `oci-layout` file); for a target's output, \
         name the target",
        path.display()
    )]
    NotALayout { path: PathBuf },

    #[error(
        "{subject} is {kind}, which sbom and provenance do not read yet: build an OCI layout or oci-archive"
    )]
    Unsupported { subject: String, kind: &'static str },

    #[error("cannot hash the tree {}", dir.display())]
    Tree {
        dir: PathBuf,
        #[source]
        source: Box<boxwright_build::Error>,
    },

    #[error(transparent)]
    Lock(#[from] Box<boxwright_fetch::Error>),

    #[error("cannot resolve `{target}` for version {version}")]
    Resolve {
        target: String,
        version: String,
        #[source]
        source: Box<boxwright_metadata::Error>,
    },

    #[error("cannot pull {reference}")]
    Pull {
        reference: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// The OCI error behind this one (reading an image), for hints.
    pub fn image_error(&self) -> Option<&boxwright_oci::Error> {
        match self {
            Error::Image(error) => Some(error),
            Error::ReadImage { source, .. } => source.image_error(),
            _ => None,
        }
    }
}

impl Error {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    }
}
