//! Flattening image layers into one root-filesystem tarball: what `docker export` writes
//! and `wsl --import` reads. Never an image archive.
//!
//! # Merging
//!
//! Layers are applied lowest first. An entry replaces what is at its path; a directory over
//! a directory merges (the upper directory's metadata, both contents); anything else over a
//! directory removes the directory's subtree. An entry below a path that is not a directory
//! (a file, a symbolic link) replaces that path with an implicit directory, as an overlay
//! filesystem shows it: nothing is ever resolved through a symbolic link.
//!
//! OCI whiteouts: `D/.wh.NAME` removes `D/NAME` and its subtree as the layers below left
//! them; `D/.wh..wh..opq` removes everything the layers below left under `D`. What the
//! whiteout's own layer has at those paths stays, whatever the order of the entries. Neither
//! is written out, nor are AUFS bookkeeping names (`.wh..wh.*`) or entries below a whiteout
//! name. A whiteout creates nothing, not even its directory.
//!
//! # What the output keeps
//!
//! Every entry keeps the metadata of the entry that gave its final version: type, mode
//! (permission, setuid/setgid and sticky bits; file type bits some writers add are dropped),
//! uid/gid, owner and group names, mtime (whole seconds; pax times before 1970 become 0),
//! device numbers, and `SCHILY.xattr.*` pax records. Other pax records (atime, ctime, ACLs,
//! `LIBARCHIVE.xattr.*`) and global pax headers are dropped. Character and block devices and
//! fifos are kept as they are: this is an OS root filesystem.
//!
//! Symbolic link targets are written byte for byte as the layer has them, absolute ones
//! included; they are never resolved.
//!
//! Directories that no layer has an entry for (only entries below them) are written with
//! mode 0755, owner 0:0, no owner names and mtime 0. The root directory itself (`./`) is not
//! written, like `docker export`.
//!
//! # Hard links
//!
//! A hard link `b → a` records the path `a` and the object `a` was when the link was read
//! (the file, or whatever `a` itself was a link to). In the final tree:
//!
//! - when `a` is a regular file, `b` is the same file as the final `a` (its content and
//!   metadata, even if a later layer replaced `a`);
//! - when `a` is itself a hard link, `b` is whatever that link ends up as;
//! - otherwise (`a` removed by a whiteout, replaced by a directory, symbolic link or device,
//!   or a chain of more than 64 links), `b` is the object `a` was when the link was read:
//!   for a file, its content and metadata then.
//!
//! Every path that ends up as the same object is written in full at the first of them in
//! output order and as a hard link to that first path at the others, so a link's target
//! always comes before the link, and no link ever dangles. A hard link to something that
//! does not exist (yet) in the layers read so far, or to a directory, is an error.
//!
//! # Output
//!
//! Paths are relative, without `./` (`bin/sh`, `etc/`), directories end with `/`, and the
//! order is by path component by component (as `tar --sort=name`), so a directory comes
//! before its contents. The bytes depend only on the layers: no clock, no host names, no
//! ids of this machine.
//!
//! # Hostile layers
//!
//! Every layer is untrusted. One leading `/` or `./` is removed from names; a name that is
//! still absolute, or has a `..` component or a NUL byte, is refused, as are hard link
//! targets of that kind, names and link targets over 4096 bytes, over-long owner names and
//! unknown entry types. The header bytes of each entry (with its long names and pax records),
//! and the entries of all layers together, are bounded by [`ExportLimits`].
//!
//! # Memory
//!
//! Three passes keep memory independent of content sizes: the first reads every layer's
//! headers and builds the merged tree (paths, metadata and link targets only; xattr records
//! go to a spool file); the second reads again the layers that hold final file contents and
//! copies just those into the spool file; the third writes the tree in order, taking contents
//! from the spool. Memory grows with the number of entries (bounded by
//! [`ExportLimits::max_entries`]); the spool holds no more than the output's file contents.
//! Layers must not change during the export (the second pass checks sizes and types).

mod files;
mod name;
mod read;
mod tree;
mod write;

use std::io::{self, Write};
use std::path::PathBuf;

use tar::EntryType;

pub use self::files::{RootfsFile, files};
use self::read::Layer;
use self::tree::{ApplyError, Body, Tree};
use self::write::Spool;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    None,
    Gzip,
    Zstd,
}

/// A layer blob and how it is compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSource {
    pub path: PathBuf,
    pub compression: LayerCompression,
}

/// Bounds on what hostile layers can make the export do, and where it spools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLimits {
    /// Entries read from all layers together, plus implicit directories made.
    pub max_entries: u64,
    /// Bytes the tar parser may read to find one entry: its header, long names, pax records.
    pub max_header_bytes_per_entry: u64,
    /// Where the spool file (deleted when the export ends) is created.
    pub spool_dir: PathBuf,
}

impl Default for ExportLimits {
    /// Two million entries, 1 MiB of headers per entry, the system's temporary directory.
    fn default() -> Self {
        ExportLimits {
            max_entries: 2_000_000,
            max_header_bytes_per_entry: 1 << 20,
            spool_dir: std::env::temp_dir(),
        }
    }
}

/// What [`export`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportReport {
    /// Entries in the output (long-name and pax extension headers not counted).
    pub entries: u64,
    /// Bytes of the tar stream, end-of-archive blocks included.
    pub bytes: u64,
}

/// Why a layer entry was refused. Part of [`RootfsError::Entry`], which names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryProblem {
    #[error("empty name")]
    EmptyName,
    #[error("name contains a NUL byte")]
    NulInName,
    #[error("name is longer than {limit} bytes")]
    NameTooLong { limit: usize },
    #[error("absolute name (after removing one leading `/` or `./`)")]
    AbsolutePath,
    #[error("name has a `..` component")]
    ParentDir,
    #[error("only a directory may name the root")]
    RootNotDirectory,
    #[error("whiteout of an empty name, `.` or `..`")]
    InvalidWhiteout,
    #[error("link target `{target}` is empty, longer than 4096 bytes or contains a NUL byte")]
    LinkTargetInvalid { target: String },
    #[error("hard link to `{target}`, which no earlier entry of this or a lower layer provides")]
    HardlinkMissing { target: String },
    #[error("hard link to the directory `{target}`")]
    HardlinkToDirectory { target: String },
    #[error("unsupported entry type `{kind}`")]
    UnsupportedType { kind: String },
    #[error("owner or group name longer than {limit} bytes")]
    OwnerNameTooLong { limit: usize },
    #[error("malformed pax extended header")]
    BadPax,
    #[error("GNU pax sparse files are not supported")]
    PaxSparse,
    #[error("malformed {field} field in the header")]
    BadHeader { field: &'static str },
}

/// Why the export failed. Layers are named by their index in the `layers` argument (lowest
/// layer 0) and their path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootfsError {
    #[error(
        "layer {layer} (`{}`): {}cannot read it as a tar stream",
        path.display(),
        boxwright_archive::entry_prefix(entry.as_deref())
    )]
    Read {
        layer: usize,
        path: PathBuf,
        /// The entry being read, or the last one read before the failure.
        entry: Option<String>,
        source: io::Error,
    },
    #[error("layer {layer} (`{}`): entry `{entry}`: {problem}", path.display())]
    Entry {
        layer: usize,
        path: PathBuf,
        entry: String,
        problem: EntryProblem,
    },
    #[error(
        "layer {layer} (`{}`): {} has more than {limit} bytes of headers",
        path.display(),
        boxwright_archive::after_entry(after.as_deref())
    )]
    HeaderTooLarge {
        layer: usize,
        path: PathBuf,
        /// The last entry read before the oversized one.
        after: Option<String>,
        limit: u64,
    },
    #[error(
        "layer {layer} (`{}`): the layers have more than {limit} entries",
        path.display()
    )]
    TooManyEntries {
        layer: usize,
        path: PathBuf,
        limit: u64,
    },
    #[error(
        "layer {layer} (`{}`): entry `{entry}` is not what the first reading found: the layer changed during the export",
        path.display()
    )]
    Changed {
        layer: usize,
        path: PathBuf,
        entry: String,
    },
    #[error("cannot use the spool file in `{}`", dir.display())]
    Spool { dir: PathBuf, source: io::Error },
    #[error("cannot write the rootfs tar stream at `{entry}`")]
    Write { entry: String, source: io::Error },
}

/// Writes the flattened filesystem of `layers` (applied in order, lowest first) as an
/// uncompressed tar stream to `out`; see the module documentation for the rules. `out` may
/// have received part of the stream when an error is returned.
pub fn export(
    layers: &[LayerSource],
    out: impl Write,
    limits: &ExportLimits,
) -> Result<ExportReport, RootfsError> {
    let file = tempfile::tempfile_in(&limits.spool_dir).map_err(|source| RootfsError::Spool {
        dir: limits.spool_dir.clone(),
        source,
    })?;
    let mut spool = Spool::new(file, limits.spool_dir.clone());
    let mut tree = Tree::new(limits.max_entries);
    for (index, source) in layers.iter().enumerate() {
        read_headers(Layer { index, source }, limits, &mut tree, &mut spool)?;
    }
    for (index, wanted) in tree.wanted(layers.len()).iter().enumerate() {
        if !wanted.is_empty() {
            let layer = Layer {
                index,
                source: &layers[index],
            };
            copy_contents(layer, limits, wanted, &mut tree, &mut spool)?;
        }
    }
    let mut spool = spool.into_reader()?;
    write::write_tree(&tree, layers, &mut spool, out)
}

/// First pass over one layer: its entries applied to the tree.
fn read_headers(
    layer: Layer<'_>,
    limits: &ExportLimits,
    tree: &mut Tree,
    spool: &mut Spool,
) -> Result<(), RootfsError> {
    let too_many = || RootfsError::TooManyEntries {
        layer: layer.index,
        path: layer.source.path.clone(),
        limit: limits.max_entries,
    };
    read::for_each_entry(layer, limits, |position, entry| {
        tree.count().map_err(|_| too_many())?;
        let parsed = match read::parse(entry) {
            Ok(parsed) => parsed,
            Err(problem) => return Err(layer.entry_error(&entry.path_bytes(), problem)),
        };
        let xattrs = if parsed.xattrs.is_empty() {
            None
        } else {
            Some(spool.append_bytes(&parsed.xattrs)?)
        };
        tree.apply(layer.index, position, &parsed, xattrs)
            .map_err(|e| match e {
                ApplyError::Problem(problem) => layer.entry_error(&parsed.name, problem),
                ApplyError::TooMany => too_many(),
            })?;
        Ok(true)
    })
}

/// Second pass over one layer: the contents at `wanted` (sorted entry positions, with the
/// object each fills) copied into the spool.
fn copy_contents(
    layer: Layer<'_>,
    limits: &ExportLimits,
    wanted: &[(u64, usize)],
    tree: &mut Tree,
    spool: &mut Spool,
) -> Result<(), RootfsError> {
    let changed = |entry: &[u8]| RootfsError::Changed {
        layer: layer.index,
        path: layer.source.path.clone(),
        entry: name::display(entry),
    };
    let mut next = 0;
    read::for_each_entry(layer, limits, |position, entry| {
        let Some(&(want, object)) = wanted.get(next) else {
            return Ok(false);
        };
        if position < want {
            return Ok(true);
        }
        next += 1;
        let entry_name = entry.path_bytes().into_owned();
        let Body::File { size, data, .. } = &mut tree.objects[object].body else {
            return Err(changed(&entry_name));
        };
        let is_file = matches!(
            entry.header().entry_type(),
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
        );
        if position != want || !is_file || entry.size() != *size {
            return Err(changed(&entry_name));
        }
        let blob = spool
            .append_from(entry)?
            .map_err(|e| layer.read_error(Some(&entry_name), e))?;
        if blob.len != *size {
            return Err(changed(&entry_name));
        }
        *data = Some(blob);
        Ok(next < wanted.len())
    })?;
    if next < wanted.len() {
        return Err(changed(
            format!("(entry number {} of the layer)", wanted[next].0 + 1).as_bytes(),
        ));
    }
    Ok(())
}

/// Whether the plain (uncompressed) tar `file` holds an OCI layout: `oci-layout` at its top
/// among its first 100,000 entries. Only headers are read; an unreadable tar holds none.
pub fn holds_oci_layout(file: std::fs::File) -> bool {
    let mut archive = tar::Archive::new(file);
    let Ok(entries) = archive.entries_with_seek() else {
        return false;
    };
    for entry in entries.take(100_000) {
        let Ok(entry) = entry else {
            return false;
        };
        let name = entry.path_bytes();
        if name.strip_prefix(b"./").unwrap_or(&name) == b"oci-layout" {
            return true;
        }
    }
    false
}
