//! Writing archives that are byte-for-byte reproducible.
//!
//! - [`DeterministicTar`]: a tar writer with fixed metadata (mtime, owners, modes).
//! - [`ParallelGzip`]: gzip on several threads (libdeflate) whose output depends only on
//!   the input.
//! - [`HashingWriter`]: SHA-256 of what passes through, so no file is read twice.
//! - [`AtomicFile`]: a file that appears under its final name only when complete.
//! - [`progress`]: the observer of long work that the binary draws as bars.
//! - [`unpack()`]: safe unpacking of tar (plain, gz, xz, bz2, zst) and zip source archives.

mod atomic;
mod deflate_walk;
mod gzip;
mod hash;
pub mod progress;
mod tar_writer;
mod unpack;

pub use atomic::AtomicFile;
pub use gzip::{DEFAULT_LEVEL, ParallelGzip};
pub use hash::HashingWriter;

pub use tar_writer::{DeterministicTar, Owner, normalised_mode};
pub use unpack::{
    Format, Limits, Refusal, UnpackError, Unpacked, after_entry, display_name, entry_prefix, unpack,
};

/// Lower-case hex of `bytes`: the `hex` crate's encoding, under the name the release
/// commands use.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}
