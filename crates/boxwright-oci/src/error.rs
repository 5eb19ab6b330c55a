use std::path::PathBuf;

/// Why an image could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: invalid {what}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        what: &'static str,
        message: String,
    },

    #[error("blob {digest} in {}: content has digest sha256:{actual}", path.display())]
    DigestMismatch {
        path: PathBuf,
        digest: String,
        actual: String,
    },

    #[error("{}: no image for platform {platform} (it has: {available})", path.display())]
    NoPlatform {
        path: PathBuf,
        platform: String,
        available: String,
    },

    #[error(
        "{}: invalid image: it holds several platforms ({}): choose one",
        path.display(),
        platforms.join(", ")
    )]
    SeveralPlatforms {
        path: PathBuf,
        platforms: Vec<String>,
    },

    #[error(
        "{}: it holds several images ({}): name one as {}:TAG",
        path.display(),
        names.join(", "),
        path.display()
    )]
    SeveralImages { path: PathBuf, names: Vec<String> },

    #[error(
        "{}: no image named `{name}` in index.json (names: {})",
        path.display(),
        names.join(", ")
    )]
    NoSuchImage {
        path: PathBuf,
        name: String,
        names: Vec<String>,
    },

    #[error("image path `{path}` {reason}")]
    BadImagePath { path: String, reason: &'static str },

    #[error("file for `{image_path}` is missing: {}", source_path.display())]
    MissingFile {
        image_path: String,
        source_path: PathBuf,
    },

    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::RootfsError),
}

impl Error {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    }
}
