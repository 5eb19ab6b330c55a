use std::path::PathBuf;

use boxwright_metadata::TagError;

/// Why a release archive could not be planned or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Tag(#[from] TagError),

    #[error("target `{target}` has no release_files in metadata.json")]
    NoReleaseFiles { target: String },

    #[error("release file `{file}` is missing from {}", dir.display())]
    MissingFile { file: String, dir: PathBuf },

    #[error("release file `{file}` ends with `/` but {} is not a directory", path.display())]
    NotADirectory { file: String, path: PathBuf },

    #[error("{} resolves outside the output directory {}", path.display(), dir.display())]
    OutsideOutput { path: PathBuf, dir: PathBuf },

    #[error("{} is a {kind}, which a release archive cannot hold", path.display())]
    Unsupported { path: PathBuf, kind: &'static str },

    #[error("{} has a name that is not UTF-8", path.display())]
    NonUtf8 { path: PathBuf },

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
}
