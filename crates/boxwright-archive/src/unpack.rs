//! Safe unpacking of downloaded source archives: tar (plain, gzip, xz, bzip2, zstd) and zip.
//!
//! Every archive is treated as hostile. Entries are read in our own loop (never the tar
//! crate's `unpack`) and each one is checked before anything is created:
//!
//! - names are normalised component by component; absolute names, `..`, NUL bytes, empty and
//!   over-long names are refused, and in zip files also backslashes;
//! - nothing is created through a symbolic link: every parent of an entry must be a real
//!   directory under the destination, and files are created with `O_EXCL`;
//! - symbolic links must be relative and stay inside the destination, with any `..` before
//!   the first name (see `path::symlink_target` for why that makes the check exact);
//! - hard links must point to a regular file extracted earlier from the same archive;
//! - devices, fifos and sockets are refused, as are encrypted zip entries;
//! - setuid, setgid and sticky bits are dropped; the owner can always read and write;
//! - the bytes actually decompressed, the entry count and the size of tar headers are bounded
//!   (decompression bombs stop at the limit, not at the sizes the archive claims).
//!
//! The format is found from the first bytes of the file, never from its name.

mod dest;
mod path;
pub use path::{after_entry, display_name, entry_prefix};
mod tar_entries;
mod zip_entries;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest memory the xz decoder may use for one block (its dictionary, mostly): 256 MiB, four
/// times what `xz -9` needs.
const XZ_MEMORY_LIMIT_KIB: u32 = 256 * 1024;

/// Bounds on what one archive may make the unpacker do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Entry data read, in bytes: what is written to files plus what is skipped. Counted as
    /// the data is decompressed, whatever sizes the archive declares.
    pub max_total_bytes: u64,
    /// Entries read, including those that create nothing (such as pax global headers).
    pub max_entries: u64,
    /// Bytes in an entry name, a link target or a link name.
    pub max_path_len: usize,
}

impl Default for Limits {
    /// 4 GiB, a million entries, 4096-byte names.
    fn default() -> Self {
        Limits {
            max_total_bytes: 4 << 30,
            max_entries: 1_000_000,
            max_path_len: 4096,
        }
    }
}

/// An archive format, as detected from the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tar,
    TarGz,
    TarXz,
    TarBz2,
    TarZst,
    Zip,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Tar => "tar",
            Format::TarGz => "tar.gz",
            Format::TarXz => "tar.xz",
            Format::TarBz2 => "tar.bz2",
            Format::TarZst => "tar.zst",
            Format::Zip => "zip",
        })
    }
}

/// What [`unpack`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    pub format: Format,
    /// Entries that created something (files, directories, links).
    pub entries: u64,
    /// Entry data read, in bytes (see [`Limits::max_total_bytes`]).
    pub bytes: u64,
    /// `dest` joined with the archive's top-level directory, when everything in the archive
    /// is inside that one directory.
    pub top_level: Option<PathBuf>,
}

/// Why an entry was refused. Part of [`UnpackError::Refused`], whose message names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("empty name")]
    EmptyName,
    #[error("name contains a NUL byte")]
    NulInName,
    #[error("name contains a backslash")]
    Backslash,
    #[error("name is longer than {limit} bytes")]
    NameTooLong { limit: usize },
    #[error("absolute paths are not allowed")]
    AbsolutePath,
    #[error("path leaves the destination")]
    LeavesDestination,
    #[error("only a directory may name the destination itself")]
    IsDestination,
    #[error("path goes through the symbolic link `{link}`")]
    ThroughSymlink { link: String },
    #[error("`{parent}` is not a directory")]
    NotADirectory { parent: String },
    #[error("an earlier entry of another type has the same path")]
    TypeConflict,
    #[error("symbolic link to `{target}` points outside the destination")]
    SymlinkOutside { target: String },
    #[error("symbolic link to the absolute path `{target}` is not allowed")]
    SymlinkAbsolute { target: String },
    #[error("symbolic link to `{target}`: `..` is only allowed before the first name")]
    SymlinkDotDotAfterName { target: String },
    #[error("symbolic link target `{target}` is empty, too long or contains a NUL byte")]
    SymlinkTargetInvalid { target: String },
    #[error("hard link to `{target}`, which is not a file extracted earlier from this archive")]
    HardlinkTarget { target: String },
    #[error("device files are not allowed")]
    Device,
    #[error("fifos are not allowed")]
    Fifo,
    #[error("sockets are not allowed")]
    Socket,
    #[error("unsupported entry type `{kind}`")]
    UnsupportedType { kind: String },
    #[error("encrypted entries are not supported")]
    Encrypted,
    #[error("compression method {method} is not supported (only stored and deflate)")]
    UnsupportedCompression { method: String },
    #[error("expands past the size limit of {limit} bytes")]
    SizeLimit { limit: u64 },
}

/// An archive that could not be unpacked. Whatever was already extracted stays in `dest`;
/// nothing is ever created outside it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    #[error("cannot read `{}`", archive.display())]
    Open { archive: PathBuf, source: io::Error },
    #[error(
        "`{}` is not a tar, tar.gz, tar.xz, tar.bz2, tar.zst or zip archive",
        archive.display()
    )]
    UnknownFormat { archive: PathBuf },
    #[error("cannot unpack into `{}`", dest.display())]
    Destination { dest: PathBuf, source: io::Error },
    #[error(
        "{}: {}corrupt or unreadable {format} data",
        archive.display(),
        entry_prefix(entry.as_deref())
    )]
    Read {
        archive: PathBuf,
        format: Format,
        /// The entry whose data was being read, if any.
        entry: Option<String>,
        source: io::Error,
    },
    #[error("{}: entry `{entry}`: {refusal}", archive.display())]
    Refused {
        archive: PathBuf,
        entry: String,
        refusal: Refusal,
    },
    #[error(
        "{}: entry `{entry}`: cannot write it under `{}`",
        archive.display(),
        dest.display()
    )]
    Write {
        archive: PathBuf,
        entry: String,
        dest: PathBuf,
        source: io::Error,
    },
    #[error("{}: more than {limit} entries", archive.display())]
    TooManyEntries { archive: PathBuf, limit: u64 },
    #[error(
        "{}: {} has more than {limit} bytes of headers",
        archive.display(),
        after_entry(after.as_deref())
    )]
    HeaderTooLarge {
        archive: PathBuf,
        /// The last entry read before the oversized header.
        after: Option<String>,
        limit: u64,
    },
    #[error(
        "{}: the decompressed tar stream is longer than {limit} bytes",
        archive.display()
    )]
    StreamTooLarge { archive: PathBuf, limit: u64 },
}

/// Unpacks `archive` into `dest`, an existing directory that should be empty (a fresh work
/// directory): see the module documentation for the rules. On error, `dest` may hold part of
/// the archive and the caller should remove it. The checks assume that nothing else changes
/// `dest` while the archive is unpacked.
pub fn unpack(archive: &Path, dest: &Path, limits: &Limits) -> Result<Unpacked, UnpackError> {
    let open_error = |source| UnpackError::Open {
        archive: archive.to_path_buf(),
        source,
    };
    let mut file = File::open(archive).map_err(open_error)?;
    let format =
        detect(&mut file)
            .map_err(open_error)?
            .ok_or_else(|| UnpackError::UnknownFormat {
                archive: archive.to_path_buf(),
            })?;
    file.seek(SeekFrom::Start(0)).map_err(open_error)?;
    match fs::metadata(dest) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(UnpackError::Destination {
                dest: dest.to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        Err(source) => {
            return Err(UnpackError::Destination {
                dest: dest.to_path_buf(),
                source,
            });
        }
    }
    let mut out = dest::Extractor::new(archive, format, dest, limits);
    let read_error = |source| UnpackError::Read {
        archive: archive.to_path_buf(),
        format,
        entry: None,
        source,
    };
    let reader: Box<dyn Read> = match format {
        Format::Zip => {
            zip_entries::unpack(file, &mut out)?;
            return Ok(out.finish());
        }
        Format::Tar => Box::new(BufReader::new(file)),
        Format::TarGz => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        // lzma-rust2 rather than liblzma or lzma-rs: pure Rust (no C to build for musl, unlike
        // liblzma), a `Read` adapter for streaming (lzma-rs only decodes into a `Write`), a
        // per-block memory limit against hostile dictionary sizes, and the same sha2 as ours.
        Format::TarXz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            BufReader::new(file),
            true,
            XZ_MEMORY_LIMIT_KIB,
        )),
        Format::TarBz2 => Box::new(bzip2::read::MultiBzDecoder::new(BufReader::new(file))),
        // zstd's default window limit (128 MiB) bounds the decoder's memory.
        Format::TarZst => Box::new(zstd::stream::read::Decoder::new(file).map_err(read_error)?),
    };
    tar_entries::unpack(reader, &mut out)?;
    Ok(out.finish())
}

/// The format from the magic bytes at the start of the file; `None` when unknown.
fn detect(file: &mut File) -> io::Result<Option<Format>> {
    let mut head = [0; 512];
    let mut len = 0;
    while len < head.len() {
        match file.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = &head[..len];
    let format = if head.starts_with(&[0x1f, 0x8b]) {
        Format::TarGz
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Format::TarXz
    } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        Format::TarBz2
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Format::TarZst
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Format::Zip
    } else if looks_like_tar(head) {
        Format::Tar
    } else {
        return Ok(None);
    };
    Ok(Some(format))
}

/// A first tar block: the ustar magic, or a valid header checksum (old v7 archives), or
/// all zeros (an empty archive).
fn looks_like_tar(head: &[u8]) -> bool {
    let Ok(block) = <&[u8; 512]>::try_from(head) else {
        return false;
    };
    if &block[257..262] == b"ustar" || block.iter().all(|&b| b == 0) {
        return true;
    }
    // The checksum counts its own eight bytes as spaces.
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                u32::from(b' ')
            } else {
                u32::from(b)
            }
        })
        .sum();
    let field = &block[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(u8::is_ascii_digit)
        .collect();
    !digits.is_empty()
        && std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| u32::from_str_radix(d, 8).ok())
            == Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_blocks_are_recognised_by_magic_or_checksum() {
        let mut header = tar::Header::new_old();
        header.set_path("a.txt").unwrap();
        header.set_size(0);
        header.set_cksum();
        assert!(looks_like_tar(header.as_bytes()));
        let mut broken = *header.as_bytes();
        broken[0] ^= 1;
        assert!(!looks_like_tar(&broken));
        assert!(looks_like_tar(&[0; 512]));
        assert!(!looks_like_tar(&[0; 100]));
        assert!(looks_like_tar(tar::Header::new_ustar().as_bytes()));
    }
}
