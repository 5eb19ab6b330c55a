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

    #[error("layer {}: {message}", path.display())]
    Layer { path: PathBuf, message: String },

    #[error("{message}")]
    Platform { message: String },
}

impl Error {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    }
}
