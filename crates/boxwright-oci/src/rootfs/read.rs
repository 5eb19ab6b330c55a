//! Reading one layer: decompression, our own loop over the tar entries with a bound on the
//! header bytes of each entry, and the metadata of an entry as the export keeps it.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use tar::EntryType;

use super::name::{MAX_PATH_LEN, display};
use super::{EntryProblem, ExportLimits, LayerCompression, LayerSource, RootfsError};

/// A layer of the export with its position in the list, for messages.
#[derive(Clone, Copy)]
pub(super) struct Layer<'a> {
    pub index: usize,
    pub source: &'a LayerSource,
}

impl Layer<'_> {
    pub(super) fn read_error(self, entry: Option<&[u8]>, source: io::Error) -> RootfsError {
        RootfsError::Read {
            layer: self.index,
            path: self.source.path.clone(),
            entry: entry.map(display),
            source,
        }
    }

    pub(super) fn entry_error(self, entry: &[u8], problem: EntryProblem) -> RootfsError {
        RootfsError::Entry {
            layer: self.index,
            path: self.source.path.clone(),
            entry: display(entry),
            problem,
        }
    }
}

/// How many bytes the tar parser may still read before it must have found the next entry.
struct Budget {
    read: Cell<u64>,
    stop: Cell<u64>,
    tripped: Cell<bool>,
}

/// The decompressed layer, read through the [`Budget`].
pub(super) struct Metered {
    inner: Box<dyn Read>,
    budget: Rc<Budget>,
}

impl Read for Metered {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.budget.read.get();
        let allowed = self.budget.stop.get().saturating_sub(read);
        if allowed == 0 && !buf.is_empty() {
            self.budget.tripped.set(true);
            return Err(io::Error::other("header size limit reached"));
        }
        let len = buf
            .len()
            .min(usize::try_from(allowed).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..len])?;
        self.budget.read.set(read + n as u64);
        Ok(n)
    }
}

pub(super) type LayerEntry<'a> = tar::Entry<'a, Metered>;

fn open(source: &LayerSource) -> io::Result<Box<dyn Read>> {
    let file = File::open(&source.path)?;
    Ok(match source.compression {
        LayerCompression::None => Box::new(BufReader::with_capacity(256 * 1024, file)),
        LayerCompression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            BufReader::with_capacity(256 * 1024, file),
        )),
        // The decoder's default window limit (128 MiB) bounds its memory.
        LayerCompression::Zstd => Box::new(zstd::stream::read::Decoder::new(file)?),
    })
}

/// Calls `visit` with the position and the entry for every entry of the layer, in order,
/// until it returns `false`. The position counts every entry the tar crate yields, so a
/// second reading of the same layer gives the same positions. Whatever data `visit` leaves
/// unread is read (and dropped) before the next header.
pub(super) fn for_each_entry(
    layer: Layer<'_>,
    limits: &ExportLimits,
    mut visit: impl FnMut(u64, &mut LayerEntry<'_>) -> Result<bool, RootfsError>,
) -> Result<(), RootfsError> {
    let inner = open(layer.source).map_err(|e| layer.read_error(None, e))?;
    let budget = Rc::new(Budget {
        read: Cell::new(0),
        stop: Cell::new(u64::MAX),
        tripped: Cell::new(false),
    });
    let mut archive = tar::Archive::new(Metered {
        inner,
        budget: Rc::clone(&budget),
    });
    let mut entries = archive.entries().map_err(|e| layer.read_error(None, e))?;
    let mut previous: Option<Vec<u8>> = None;
    let mut position = 0;
    loop {
        budget.stop.set(
            budget
                .read
                .get()
                .saturating_add(limits.max_header_bytes_per_entry),
        );
        let next = entries.next();
        budget.stop.set(u64::MAX);
        let mut entry = match next {
            None => return Ok(()),
            Some(Ok(entry)) => entry,
            Some(Err(_)) if budget.tripped.get() => {
                return Err(RootfsError::HeaderTooLarge {
                    layer: layer.index,
                    path: layer.source.path.clone(),
                    after: previous.as_deref().map(display),
                    limit: limits.max_header_bytes_per_entry,
                });
            }
            Some(Err(e)) => return Err(layer.read_error(previous.as_deref(), e)),
        };
        let name = entry.path_bytes().into_owned();
        if !visit(position, &mut entry)? {
            return Ok(());
        }
        io::copy(&mut entry, &mut io::sink()).map_err(|e| layer.read_error(Some(&name), e))?;
        previous = Some(name);
        position += 1;
    }
}

/// The metadata of an entry that the export keeps, pax records applied.
pub(super) struct Parsed {
    pub name: Vec<u8>,
    pub kind: EntryType,
    /// Symbolic or hard link target.
    pub link: Option<Vec<u8>>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub uname: Vec<u8>,
    pub gname: Vec<u8>,
    /// `SCHILY.xattr.*` pax records, encoded as they are written again, sorted by key.
    pub xattrs: Vec<u8>,
    /// Data size (for sparse files: the size with the holes).
    pub size: u64,
    pub device: (u32, u32),
}

/// Longest owner or group name kept, in bytes.
pub(super) const MAX_OWNER_NAME: usize = 256;

/// Reads the metadata of `entry`. Pax records override the header's uid, gid, mtime and
/// owner names; `SCHILY.xattr.*` records are kept; other records (atime, ctime, ACLs, other
/// xattr encodings) are dropped; GNU pax sparse files are refused.
pub(super) fn parse(entry: &mut LayerEntry<'_>) -> Result<Parsed, EntryProblem> {
    let name = entry.path_bytes().into_owned();
    let link = entry.link_name_bytes().map(std::borrow::Cow::into_owned);
    let size = entry.size();
    // A global pax header's data are records for the whole archive, not this entry's.
    let global = entry.header().entry_type().is_pax_global_extensions();
    let mut mtime_record = None;
    let mut uname_record = None;
    let mut gname_record = None;
    let mut xattrs = std::collections::BTreeMap::new();
    let records = if global {
        None
    } else {
        entry.pax_extensions().map_err(|_| EntryProblem::BadPax)?
    };
    if let Some(records) = records {
        for record in records {
            let record = record.map_err(|_| EntryProblem::BadPax)?;
            let key = record.key_bytes();
            let value = record.value_bytes();
            match key {
                b"mtime" => mtime_record = Some(pax_time(value)?),
                b"uname" => uname_record = Some(value.to_vec()),
                b"gname" => gname_record = Some(value.to_vec()),
                _ if key.starts_with(b"SCHILY.xattr.") => {
                    xattrs.insert(key.to_vec(), value.to_vec());
                }
                _ if key.starts_with(b"GNU.sparse.") => return Err(EntryProblem::PaxSparse),
                _ => {}
            }
        }
    }
    let header = entry.header();
    let bad = |field: &'static str| move |_| EntryProblem::BadHeader { field };
    let kind = header.entry_type();
    let old = header.as_old();
    let mode = numeric(&old.mode, || header.mode().map(u64::from)).map_err(bad("mode"))?;
    let mode = (mode & 0o7777) as u32;
    let uid = numeric(&old.uid, || header.uid()).map_err(bad("uid"))?;
    let gid = numeric(&old.gid, || header.gid()).map_err(bad("gid"))?;
    let mtime = match mtime_record {
        Some(mtime) => mtime,
        None => numeric(&old.mtime, || header.mtime()).map_err(bad("mtime"))?,
    };
    let uname =
        uname_record.unwrap_or_else(|| header.username_bytes().unwrap_or_default().to_vec());
    let gname =
        gname_record.unwrap_or_else(|| header.groupname_bytes().unwrap_or_default().to_vec());
    if uname.len() > MAX_OWNER_NAME || gname.len() > MAX_OWNER_NAME {
        return Err(EntryProblem::OwnerNameTooLong {
            limit: MAX_OWNER_NAME,
        });
    }
    let device = if matches!(kind, EntryType::Char | EntryType::Block) {
        // Same place in ustar and GNU headers; old headers have no device numbers.
        let bytes = header.as_bytes();
        let major = numeric(&bytes[329..337], || {
            header.device_major().map(|d| u64::from(d.unwrap_or(0)))
        });
        let minor = numeric(&bytes[337..345], || {
            header.device_minor().map(|d| u64::from(d.unwrap_or(0)))
        });
        let major = major.map_err(bad("device major"))?;
        let minor = minor.map_err(bad("device minor"))?;
        // Both came from `u32` values (or are 0).
        (major as u32, minor as u32)
    } else {
        (0, 0)
    };
    if let Some(link) = &link
        && (link.len() > MAX_PATH_LEN || link.contains(&0))
    {
        return Err(EntryProblem::LinkTargetInvalid {
            target: display(link),
        });
    }
    let mut encoded = Vec::new();
    for (key, value) in &xattrs {
        encoded.extend_from_slice(&pax_record(key, value));
    }
    Ok(Parsed {
        name,
        kind,
        link,
        mode,
        uid,
        gid,
        mtime,
        uname,
        gname,
        xattrs: encoded,
        size,
        device,
    })
}

/// A numeric header field: blank (only NUL bytes and spaces, as some writers leave unused
/// fields) is 0, anything else goes through the tar crate's octal or base-256 parsing.
fn numeric(field: &[u8], parse: impl FnOnce() -> io::Result<u64>) -> io::Result<u64> {
    if field.iter().all(|&b| b == 0 || b == b' ') {
        Ok(0)
    } else {
        parse()
    }
}

/// The whole seconds of a pax time (`1700000000.5` → 1700000000); times before 1970 become 0.
fn pax_time(value: &[u8]) -> Result<u64, EntryProblem> {
    let text = std::str::from_utf8(value).map_err(|_| EntryProblem::BadPax)?;
    let whole = text.split('.').next().unwrap_or_default();
    if let Some(negative) = whole.strip_prefix('-') {
        return if !negative.is_empty() && negative.bytes().all(|b| b.is_ascii_digit()) {
            Ok(0)
        } else {
            Err(EntryProblem::BadPax)
        };
    }
    whole.parse().map_err(|_| EntryProblem::BadPax)
}

/// One pax record: `LEN KEY=VALUE\n`, where LEN counts the whole record, itself included.
pub(super) fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // space, `=`, newline
    let mut digits = 1;
    while (rest + digits).to_string().len() > digits {
        digits += 1;
    }
    let mut record = format!("{} ", rest + digits).into_bytes();
    record.extend_from_slice(key);
    record.push(b'=');
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        assert_eq!(pax_record(b"a", b"b"), b"6 a=b\n");
        // 7 bytes of key and value: 10 without the length, 12 with it.
        assert_eq!(pax_record(b"abcd", b"efg"), b"12 abcd=efg\n");
        let long = pax_record(b"k", &[b'v'; 95]);
        assert_eq!(long.len(), 102);
        assert!(long.starts_with(b"102 k="));
        let edge = pax_record(b"k", &[b'v'; 94]);
        assert_eq!(edge.len(), 101);
        assert!(edge.starts_with(b"101 k="));
    }

    #[test]
    fn pax_times_keep_whole_seconds() {
        assert_eq!(pax_time(b"1700000000.123456789"), Ok(1_700_000_000));
        assert_eq!(pax_time(b"42"), Ok(42));
        assert_eq!(pax_time(b"-5.5"), Ok(0));
        assert_eq!(pax_time(b"x"), Err(EntryProblem::BadPax));
        assert_eq!(pax_time(b"-"), Err(EntryProblem::BadPax));
    }
}
