//! Alpine `.apk` and Debian `.deb` packages and their repositories.
//!
//! - [`build_all`]: a target's main package and subpackages from its output tree.
//! - [`apk::write`], [`deb::write`]: a package from a [`PackageSpec`] (fields and files,
//!   see [`split_tree`] for a target's output tree and its subpackages); deterministic bytes.
//! - [`inspect`]: reads a package file of either format fully and checks its structure and
//!   internal hashes, as apk-tools and dpkg would; built for untrusted uploads.
//! - [`contents::read_contents`]: a package's control files and data entries (exact modes,
//!   owners, links) streamed to the caller, through the same bounded readers (installers).
//! - [`repo`]: where packages live in a repository tree and the signed indexes
//!   (`APKINDEX.tar.gz`; apt's `Packages`, `Release`, `InRelease`, `Release.gpg`).
//!
//! The layout and format facts are in docs/packages.md.

pub mod apk;
mod ar;
mod bounded;
mod build;
pub mod contents;
pub mod deb;
mod error;
mod info;
pub mod limits;
pub mod repo;
mod spec;
mod stream;
mod tarball;
mod validate;

use std::path::Path;

pub use build::{ApkSigner, Built, build_all};
pub use error::{PackageError, RepoError};
pub use info::{PackageFormat, PackageInfo, arch_matches, format_arch};
pub use limits::ReadLimits;
pub use spec::{Entry, EntryKind, Glob, PackageSpec, Script, split_tree};

/// Parses a package file fully and checks its structure and internal hashes: apk (three
/// gzip members, cut signature and control tars, `.PKGINFO` fields, `datahash` against the
/// data member, per-file SHA-1 records, directory entries, a signature entry present); deb
/// (ar members in order, control fields, `md5sums` against the data). Sizes are bounded
/// ([`limits`]); hostile input gives an error, never a panic. Reads within the default
/// [`ReadLimits`]; see [`inspect_with`].
pub fn inspect(path: &Path) -> Result<PackageInfo, PackageError> {
    inspect_with(path, &ReadLimits::default())
}

/// [`inspect`] within `limits`: what the package's members unpack to, in all and per byte of
/// the file. Tar header records (GNU long names and links, pax headers) are bounded by
/// [`limits::HEADER`] whatever the limits. [`PackageError::is_limit`] tells a refusal by a
/// limit from an invalid package.
pub fn inspect_with(path: &Path, limits: &ReadLimits) -> Result<PackageInfo, PackageError> {
    let (file, size, format) = open_package(path)?;
    let budget = bounded::Budget::new(limits, size);
    let result = match format {
        Some(PackageFormat::Deb) => deb::inspect(path, file, size, &budget),
        Some(PackageFormat::Apk) => apk::inspect(path, file, size, &budget),
        None => {
            return Err(PackageError::UnknownFormat {
                path: path.to_path_buf(),
            });
        }
    };
    budget.explain(path, result)
}

/// Opens a package file for reading: the file (at its start), its size (refused over
/// [`limits::PACKAGE`]) and its format by magic bytes (`None` for neither).
pub(crate) fn open_package(
    path: &Path,
) -> Result<(std::fs::File, u64, Option<PackageFormat>), PackageError> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).map_err(|e| PackageError::io("open", path, e))?;
    let size = file
        .metadata()
        .map_err(|e| PackageError::io("read", path, e))?
        .len();
    if size > limits::PACKAGE {
        return Err(PackageError::TooLarge {
            path: path.to_path_buf(),
            what: "the package file",
            limit: limits::PACKAGE,
        });
    }
    let mut magic = [0u8; 8];
    let n = file
        .read(&mut magic)
        .map_err(|e| PackageError::io("read", path, e))?;
    let format = if n >= 8 && &magic == ar::MAGIC {
        Some(PackageFormat::Deb)
    } else if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Some(PackageFormat::Apk)
    } else {
        None
    };
    let file = std::fs::File::open(path).map_err(|e| PackageError::io("open", path, e))?;
    Ok((file, size, format))
}

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
