//! The output tar stream: headers written field by field from the merged tree, in key
//! order, so the bytes depend only on the layers.
//!
//! Entries are GNU headers (with `././@LongLink` entries for names and link targets of 100
//! bytes or more); an entry that has xattrs or owner names too long for the header is written
//! as a POSIX pax entry instead (ustar header plus a pax extended header with `path`,
//! `linkpath`, `uname`, `gname` and large numbers as needed). Header fields that neither
//! form uses (atime, ctime) stay zero.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use tar::{EntryType, Header};

use super::name::{display, to_path};
use super::read::pax_record;
use super::tree::{Blob, Body, Kind, Meta, Tree};
use super::{ExportReport, LayerSource, RootfsError};

const BLOCK: usize = 512;
/// Name and link name fields of a header.
const NAME_FIELD: usize = 100;
/// Owner and group name fields.
const OWNER_FIELD: usize = 32;
/// Largest value of an 8-byte octal field (uid, gid).
const MAX_OCTAL_8: u64 = 0o7_777_777;
/// Largest value of a 12-byte octal field (size, mtime).
const MAX_OCTAL_12: u64 = 0o77_777_777_777;

/// The spool file: xattr records from the first pass, file contents from the second.
pub(super) struct Spool {
    writer: BufWriter<File>,
    len: u64,
    dir: PathBuf,
}

impl Spool {
    pub(super) fn new(file: File, dir: PathBuf) -> Self {
        Spool {
            writer: BufWriter::with_capacity(256 * 1024, file),
            len: 0,
            dir,
        }
    }

    pub(super) fn error(&self, source: io::Error) -> RootfsError {
        RootfsError::Spool {
            dir: self.dir.clone(),
            source,
        }
    }

    pub(super) fn append_bytes(&mut self, bytes: &[u8]) -> Result<Blob, RootfsError> {
        self.writer.write_all(bytes).map_err(|e| self.error(e))?;
        let blob = Blob {
            offset: self.len,
            len: bytes.len() as u64,
        };
        self.len += blob.len;
        Ok(blob)
    }

    /// Copies everything `reader` gives into the spool. Errors are the reader's; the
    /// spool's own errors are returned in the outer result.
    pub(super) fn append_from(
        &mut self,
        reader: &mut dyn Read,
    ) -> Result<io::Result<Blob>, RootfsError> {
        let mut buf = vec![0; 64 * 1024];
        let offset = self.len;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Ok(Err(e)),
            };
            self.writer
                .write_all(&buf[..n])
                .map_err(|e| self.error(e))?;
            self.len += n as u64;
        }
        Ok(Ok(Blob {
            offset,
            len: self.len - offset,
        }))
    }

    /// Ends the writing; the spool is read from here on.
    pub(super) fn into_reader(self) -> Result<SpoolReader, RootfsError> {
        let dir = self.dir;
        let file = self.writer.into_inner().map_err(|e| RootfsError::Spool {
            dir: dir.clone(),
            source: e.into_error(),
        })?;
        Ok(SpoolReader { file, dir })
    }
}

pub(super) struct SpoolReader {
    file: File,
    dir: PathBuf,
}

impl SpoolReader {
    fn error(&self, source: io::Error) -> RootfsError {
        RootfsError::Spool {
            dir: self.dir.clone(),
            source,
        }
    }

    fn read(&mut self, blob: Option<Blob>) -> Result<Vec<u8>, RootfsError> {
        let Some(blob) = blob else {
            return Ok(Vec::new());
        };
        let mut bytes = vec![0; usize::try_from(blob.len).unwrap_or(usize::MAX)];
        self.file
            .seek(SeekFrom::Start(blob.offset))
            .and_then(|_| self.file.read_exact(&mut bytes))
            .map_err(|e| self.error(e))?;
        Ok(bytes)
    }
}

/// What one output entry is.
struct Member<'a> {
    /// The output path; directories end with `/`.
    path: &'a [u8],
    kind: EntryType,
    meta: &'a Meta,
    uname: &'a [u8],
    gname: &'a [u8],
    link: &'a [u8],
    device: (u32, u32),
    size: u64,
    xattrs: &'a [u8],
}

struct TarOut<W: Write> {
    out: BufWriter<W>,
    written: u64,
    entries: u64,
}

impl<W: Write> TarOut<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rest = (len % BLOCK as u64) as usize;
        if rest == 0 {
            Ok(())
        } else {
            self.put(&[0; BLOCK][rest..])
        }
    }

    /// A header-only entry carrying `data` for the entry after it (`L`, `K` or `x`).
    fn extension(
        &mut self,
        mut header: Header,
        name: &[u8],
        kind: u8,
        data: &[u8],
    ) -> io::Result<()> {
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(data.len() as u64);
        header.set_entry_type(EntryType::new(kind));
        header.set_cksum();
        self.put(header.as_bytes())?;
        self.put(data)?;
        self.pad(data.len() as u64)
    }

    fn gnu_long(&mut self, kind: u8, value: &[u8]) -> io::Result<()> {
        let mut data = value.to_vec();
        data.push(0);
        self.extension(Header::new_gnu(), b"././@LongLink", kind, &data)
    }

    /// Writes the header(s) of `m`; its data, if any, follows.
    fn header(&mut self, m: &Member<'_>) -> io::Result<()> {
        let pax =
            !m.xattrs.is_empty() || m.uname.len() >= OWNER_FIELD || m.gname.len() >= OWNER_FIELD;
        let mut header = if pax {
            let mut records = Vec::new();
            if m.path.len() > NAME_FIELD {
                records.extend(pax_record(b"path", m.path));
            }
            if m.link.len() > NAME_FIELD {
                records.extend(pax_record(b"linkpath", m.link));
            }
            for (key, value, limit) in [
                (&b"uid"[..], m.meta.uid, MAX_OCTAL_8),
                (b"gid", m.meta.gid, MAX_OCTAL_8),
                (b"mtime", m.meta.mtime, MAX_OCTAL_12),
                (b"size", m.size, MAX_OCTAL_12),
            ] {
                if value > limit {
                    records.extend(pax_record(key, value.to_string().as_bytes()));
                }
            }
            if m.uname.len() >= OWNER_FIELD {
                records.extend(pax_record(b"uname", m.uname));
            }
            if m.gname.len() >= OWNER_FIELD {
                records.extend(pax_record(b"gname", m.gname));
            }
            records.extend_from_slice(m.xattrs);
            self.extension(Header::new_ustar(), b"././@PaxHeader", b'x', &records)?;
            Header::new_ustar()
        } else {
            if m.link.len() >= NAME_FIELD {
                self.gnu_long(b'K', m.link)?;
            }
            if m.path.len() >= NAME_FIELD {
                self.gnu_long(b'L', m.path)?;
            }
            Header::new_gnu()
        };
        let old = header.as_old_mut();
        let n = m.path.len().min(NAME_FIELD);
        old.name[..n].copy_from_slice(&m.path[..n]);
        let n = m.link.len().min(NAME_FIELD);
        old.linkname[..n].copy_from_slice(&m.link[..n]);
        header.set_mode(m.meta.mode);
        header.set_uid(m.meta.uid);
        header.set_gid(m.meta.gid);
        header.set_mtime(m.meta.mtime);
        header.set_size(m.size);
        header.set_entry_type(m.kind);
        if let Some(ustar) = header.as_ustar_mut() {
            copy_owner(&mut ustar.uname, m.uname);
            copy_owner(&mut ustar.gname, m.gname);
        } else if let Some(gnu) = header.as_gnu_mut() {
            copy_owner(&mut gnu.uname, m.uname);
            copy_owner(&mut gnu.gname, m.gname);
        }
        if matches!(m.kind, EntryType::Char | EntryType::Block) {
            header.set_device_major(m.device.0)?;
            header.set_device_minor(m.device.1)?;
        }
        header.set_cksum();
        self.put(header.as_bytes())?;
        self.entries += 1;
        Ok(())
    }

    fn finish(mut self) -> io::Result<ExportReport> {
        self.put(&[0; 2 * BLOCK])?;
        self.out.flush()?;
        Ok(ExportReport {
            entries: self.entries,
            bytes: self.written,
        })
    }
}

/// Owner names that do not fit (they went into pax records) leave the field empty.
fn copy_owner(field: &mut [u8; OWNER_FIELD], name: &[u8]) {
    if name.len() < OWNER_FIELD {
        field[..name.len()].copy_from_slice(name);
    }
}

/// Writes the tree as a tar stream. Objects reached from several paths (a file and its hard
/// links) are written in full at the first of them in output order, and as hard links to it
/// at the others.
pub(super) fn write_tree<W: Write>(
    tree: &Tree,
    layers: &[LayerSource],
    spool: &mut SpoolReader,
    out: W,
) -> Result<ExportReport, RootfsError> {
    let mut paths_of = vec![0_u32; tree.objects.len()];
    for node in tree.nodes.values() {
        if let Some(o) = tree.object_of(node) {
            paths_of[o] = paths_of[o].saturating_add(1);
        }
    }
    let mut first: HashMap<usize, Vec<u8>> = HashMap::new();
    let mut tar = TarOut {
        out: BufWriter::with_capacity(256 * 1024, out),
        written: 0,
        entries: 0,
    };
    for (key, node) in &tree.nodes {
        let mut path = to_path(key);
        match (tree.object_of(node), &node.kind) {
            (None, Kind::Dir(meta)) => {
                path.push(b'/');
                let xattrs = spool.read(meta.xattrs)?;
                let member = Member {
                    xattrs: &xattrs,
                    ..Member::new(&path, EntryType::Directory, meta, tree)
                };
                tar.header(&member).map_err(write_error(&path))?;
            }
            (None, _) => {}
            (Some(o), _) => {
                let meta = &tree.objects[o].meta;
                if let Some(target) = first.get(&o) {
                    let member = Member {
                        link: target,
                        ..Member::new(&path, EntryType::Link, meta, tree)
                    };
                    tar.header(&member).map_err(write_error(&path))?;
                } else {
                    write_object(&mut tar, tree, layers, spool, o, &path)?;
                    if paths_of[o] > 1 {
                        first.insert(o, path);
                    }
                }
            }
        }
    }
    tar.finish().map_err(|source| RootfsError::Write {
        entry: String::from("(end of archive)"),
        source,
    })
}

fn write_error(path: &[u8]) -> impl FnOnce(io::Error) -> RootfsError + use<> {
    let entry = display(path);
    move |source| RootfsError::Write { entry, source }
}

impl<'a> Member<'a> {
    fn new(path: &'a [u8], kind: EntryType, meta: &'a Meta, tree: &'a Tree) -> Self {
        Member {
            path,
            kind,
            meta,
            uname: tree.names.get(meta.uname),
            gname: tree.names.get(meta.gname),
            link: b"",
            device: (0, 0),
            size: 0,
            xattrs: b"",
        }
    }
}

/// Writes object `o` in full at `path`.
fn write_object<W: Write>(
    tar: &mut TarOut<W>,
    tree: &Tree,
    layers: &[LayerSource],
    spool: &mut SpoolReader,
    o: usize,
    path: &[u8],
) -> Result<(), RootfsError> {
    let object = &tree.objects[o];
    let xattrs = spool.read(object.meta.xattrs)?;
    let mut member = Member {
        xattrs: &xattrs,
        ..Member::new(path, EntryType::Regular, &object.meta, tree)
    };
    let mut data = None;
    match &object.body {
        Body::File {
            data: Some(blob), ..
        } => {
            member.size = blob.len;
            data = Some(*blob);
        }
        Body::File {
            layer, data: None, ..
        } => {
            // The second pass checks that it found every content it looked for.
            return Err(RootfsError::Changed {
                layer: *layer,
                path: layers[*layer].path.clone(),
                entry: display(path),
            });
        }
        Body::Symlink(target) => {
            member.kind = EntryType::Symlink;
            member.link = target;
        }
        Body::Char(major, minor) => {
            member.kind = EntryType::Char;
            member.device = (*major, *minor);
        }
        Body::Block(major, minor) => {
            member.kind = EntryType::Block;
            member.device = (*major, *minor);
        }
        Body::Fifo => member.kind = EntryType::Fifo,
    }
    tar.header(&member).map_err(write_error(path))?;
    if let Some(blob) = data {
        copy_data(spool, blob, tar).map_err(write_error(path))?;
    }
    Ok(())
}

fn copy_data<W: Write>(spool: &mut SpoolReader, blob: Blob, tar: &mut TarOut<W>) -> io::Result<()> {
    spool.file.seek(SeekFrom::Start(blob.offset))?;
    let mut reader = (&spool.file).take(blob.len);
    let copied = io::copy(&mut reader, &mut tar.out)?;
    if copied != blob.len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the spool file is shorter than what was written to it",
        ));
    }
    tar.written += copied;
    tar.pad(copied)
}
