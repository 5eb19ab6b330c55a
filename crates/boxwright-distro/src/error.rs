//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong reading repositories, resolving or installing packages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file of the install tree or the staging directory that cannot be read or written.
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A package file that cannot be read as its format requires.
    #[error("cannot unpack package {package}")]
    Unpack {
        package: String,
        #[source]
        source: boxwright_package::PackageError,
    },
    /// An entry of a package that must not go into an image (device file, path below a
    /// symbolic link, hard link to a missing file).
    #[error("package {package}: refused entry `{path}`: {reason}")]
    UnsafeEntry {
        package: String,
        path: String,
        reason: String,
    },
    /// Two packages ship different content at one path and neither replaces the other.
    #[error("packages {first} and {second} both ship `{path}` with different content")]
    FileConflict {
        path: String,
        first: String,
        second: String,
    },
    /// A control file or field of a package that the database cannot be made from.
    #[error("package {package}: invalid {what}: {message}")]
    InvalidControl {
        package: String,
        what: &'static str,
        message: String,
    },
    /// One install set with packages of both kinds (deb and apk).
    #[error("cannot install deb and apk packages into one tree ({deb} and {apk})")]
    MixedKinds { deb: String, apk: String },
    /// The tree cannot become a layer.
    #[error("cannot make a layer of the install tree")]
    Layer(#[source] boxwright_oci::Error),
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
