use std::path::PathBuf;

/// Why a file could not be inspected at all.
///
/// A file that can be read but is not ELF, or is a broken ELF file, is not an error: it gets a
/// [`FileReport`](crate::FileReport) of kind `not_elf` or `malformed`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or reading the file (or listing a directory) failed.
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A path that is neither a regular file nor a directory (a device, FIFO or socket).
    #[error("{path} is not a regular file or directory")]
    NotAFile { path: PathBuf },
}
