//! The one reader of untrusted package content, used by every path that reads a package
//! (upload checks, the indexers, `inspect`, signature checks):
//!
//! - [`Budget`]: every decompressed byte of one package file is counted, across all its
//!   members, against [`ReadLimits`] (a total, and a ratio to the file's size);
//! - [`for_each_entry`]: tar entries read with the tar crate in raw mode, so GNU long names
//!   (`L`), long links (`K`) and pax headers (`x`, `g`) come to us as entries and are refused
//!   past [`limits::HEADER`] before they are read, where the tar crate would keep them in
//!   memory whatever their size.
//!
//! A limit that trips is recorded in the budget; [`Budget::explain`] turns the error that
//! comes out of the nested readers into the typed one naming the limit.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::path::Path;

use tar::EntryType;

use crate::error::PackageError;
use crate::limits::{self, ReadLimits};

/// Which limit a read hit.
#[derive(Debug, Clone)]
enum Trip {
    Unpacked,
    Ratio,
    Header {
        location: String,
        record: &'static str,
    },
}

/// The unpacking allowance of one package file.
pub(crate) struct Budget {
    limits: ReadLimits,
    file_size: u64,
    allowance: u64,
    used: Cell<u64>,
    trip: RefCell<Option<Trip>>,
}

impl Budget {
    pub fn new(limits: &ReadLimits, file_size: u64) -> Budget {
        Budget {
            limits: *limits,
            file_size,
            allowance: limits.allowance(file_size),
            used: Cell::new(0),
            trip: RefCell::new(None),
        }
    }

    /// `inner` (a decompressor), its output counted against this budget.
    pub fn count<R: Read>(&self, inner: R) -> Counted<'_, R> {
        Counted {
            inner,
            budget: self,
        }
    }

    fn trip(&self, trip: Trip) {
        let mut slot = self.trip.borrow_mut();
        if slot.is_none() {
            *slot = Some(trip);
        }
    }

    /// The typed error of a limit that tripped during the read that gave `result`, or
    /// `result` itself.
    pub fn explain<T>(
        &self,
        path: &Path,
        result: Result<T, PackageError>,
    ) -> Result<T, PackageError> {
        let Some(trip) = self.trip.borrow_mut().take() else {
            return result;
        };
        let path = path.to_path_buf();
        Err(match trip {
            Trip::Unpacked => PackageError::TooLarge {
                path,
                what: "the unpacked content (all members decompressed)",
                limit: self.limits.max_unpacked,
            },
            Trip::Ratio => PackageError::Ratio {
                path,
                ratio: self.limits.max_ratio,
                file_size: self.file_size,
                limit: self.allowance,
            },
            Trip::Header { location, record } => PackageError::HeaderTooLarge {
                path,
                location,
                record,
                limit: limits::HEADER,
            },
        })
    }
}

/// A reader whose output counts against a [`Budget`].
pub(crate) struct Counted<'a, R> {
    inner: R,
    budget: &'a Budget,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let used = self.budget.used.get().saturating_add(n as u64);
        self.budget.used.set(used);
        if used > self.budget.allowance {
            self.budget.trip(if used > self.budget.limits.max_unpacked {
                Trip::Unpacked
            } else {
                Trip::Ratio
            });
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the unpacked size limit is reached",
            ));
        }
        Ok(n)
    }
}

/// One tar entry, its GNU long name and long link and its pax records applied.
pub(crate) struct Item {
    pub name: Vec<u8>,
    pub link: Option<Vec<u8>>,
    pub kind: EntryType,
    /// The records of its pax extended header, in order.
    pub pax: PaxRecords,
    /// Where its data ends in the tar stream, padding included.
    pub end: u64,
    /// Permission bits as the header has them (setuid, setgid, sticky included).
    pub mode: u32,
    /// Numeric owner: the pax `uid`/`gid` records over the header's fields.
    pub uid: u64,
    pub gid: u64,
    /// The data's size in bytes.
    pub size: u64,
}

impl Item {
    /// The name for messages and checks (lossy UTF-8).
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// The value of the pax record `key`.
    pub fn pax_value(&self, key: &str) -> Option<&[u8]> {
        self.pax
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

/// Header records waiting for the entry they describe.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<PaxRecords>,
    bytes: u64,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.long_name.is_none() && self.long_link.is_none() && self.pax.is_none()
    }
}

/// Calls `visit` with each entry of `archive` (a tar of the package `path`) and a reader of
/// its data (what `visit` leaves unread is skipped). Header records past [`limits::HEADER`]
/// are refused unread and recorded in `budget` as the limit of `member` (the tar's name in
/// messages). Structural errors are [`PackageError::Malformed`]; a tripped limit is found by
/// [`Budget::explain`].
pub(crate) fn for_each_entry<R: Read>(
    path: &Path,
    archive: &mut tar::Archive<R>,
    budget: &Budget,
    member: &str,
    mut visit: impl FnMut(&Item, &mut dyn Read) -> Result<(), PackageError>,
) -> Result<(), PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    let mut entries = archive.entries().map_err(|e| bad(e.to_string()))?.raw(true);
    let mut pending = Pending::default();
    let mut previous: Option<String> = None;
    for entry in &mut entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let kind = entry.header().entry_type();
        if let Some(record) = record_name(kind) {
            let size = entry.size();
            let before = if kind == EntryType::XGlobalHeader {
                0
            } else {
                pending.bytes
            };
            if before.saturating_add(size) > limits::HEADER {
                let location = match previous {
                    Some(name) => format!("{member}, after entry `{name}`"),
                    None => format!("{member}, before its first entry"),
                };
                budget.trip(Trip::Header { location, record });
                return Err(bad(format!("{record} over the header limit")));
            }
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| bad(format!("{record}: {e}")))?;
            add_record(path, &mut pending, kind, data)?;
            continue;
        }
        let item = item(path, &entry, std::mem::take(&mut pending))?;
        visit(&item, &mut entry)?;
        previous = Some(shortened(&item.name()));
    }
    if !pending.is_empty() {
        return Err(bad("header records at the end describe no entry".into()));
    }
    Ok(())
}

fn record_name(kind: EntryType) -> Option<&'static str> {
    match kind {
        EntryType::GNULongName => Some("GNU long name"),
        EntryType::GNULongLink => Some("GNU long link"),
        EntryType::XHeader => Some("pax extended header"),
        EntryType::XGlobalHeader => Some("pax global header"),
        _ => None,
    }
}

/// Keeps a header record of the package `path` for the entry it describes.
fn add_record(
    path: &Path,
    pending: &mut Pending,
    kind: EntryType,
    data: Vec<u8>,
) -> Result<(), PackageError> {
    let size = data.len() as u64;
    match kind {
        EntryType::GNULongName if pending.long_name.is_none() => {
            pending.long_name = Some(until_nul(data));
        }
        EntryType::GNULongLink if pending.long_link.is_none() => {
            pending.long_link = Some(until_nul(data));
        }
        EntryType::XHeader if pending.pax.is_none() => {
            pending.pax = Some(pax_records(path, &data)?);
        }
        // Global records set defaults for the archive; none that a package needs is honoured.
        EntryType::XGlobalHeader => {
            pax_records(path, &data)?;
            return Ok(());
        }
        _ => {
            return Err(PackageError::malformed(
                path,
                format!(
                    "two {} records describe one entry",
                    record_name(kind).unwrap_or("header")
                ),
            ));
        }
    }
    pending.bytes += size;
    Ok(())
}

/// A C string's bytes: GNU long names and links end with a NUL.
fn until_nul(mut data: Vec<u8>) -> Vec<u8> {
    if let Some(end) = data.iter().position(|b| *b == 0) {
        data.truncate(end);
    }
    data
}

/// Pax records: (key, value) pairs in order.
type PaxRecords = Vec<(Vec<u8>, Vec<u8>)>;

fn pax_records(path: &Path, data: &[u8]) -> Result<PaxRecords, PackageError> {
    tar::PaxExtensions::new(data)
        .map(|record| {
            record
                .map(|r| (r.key_bytes().to_vec(), r.value_bytes().to_vec()))
                .map_err(|e| PackageError::malformed(path, format!("bad pax record: {e}")))
        })
        .collect()
}

/// The entry with the records that precede it applied: pax `path` and `linkpath` over the
/// GNU long name and link over the header's fields. A pax `size` must agree with the
/// header's (the raw reader steps by the header's size, as GNU tar would by the record's).
fn item<R: Read>(
    path: &Path,
    entry: &tar::Entry<'_, R>,
    pending: Pending,
) -> Result<Item, PackageError> {
    let pax = pending.pax.unwrap_or_default();
    let find = |key: &[u8]| pax.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let size = entry.size();
    if let Some(recorded) = find(b"size")
        && std::str::from_utf8(&recorded)
            .ok()
            .and_then(|s| s.parse().ok())
            != Some(size)
    {
        return Err(PackageError::malformed(
            path,
            format!(
                "a pax size record ({}) differs from the header's size {size}",
                String::from_utf8_lossy(&recorded)
            ),
        ));
    }
    let name = find(b"path")
        .or(pending.long_name)
        .unwrap_or_else(|| entry.path_bytes().into_owned());
    let link = find(b"linkpath")
        .or(pending.long_link)
        .or_else(|| entry.link_name_bytes().map(std::borrow::Cow::into_owned));
    // Owners and mode matter only to installers; a field that does not parse (the checks
    // of `inspect` do not need it) reads as 0: root, no permissions.
    let header = entry.header();
    let number = |key: &[u8], field: std::io::Result<u64>| {
        find(key)
            .and_then(|value| std::str::from_utf8(&value).ok()?.parse().ok())
            .unwrap_or_else(|| field.unwrap_or(0))
    };
    let uid = number(b"uid", header.uid());
    let gid = number(b"gid", header.gid());
    let mode = header.mode().unwrap_or(0) & 0o7777;
    Ok(Item {
        name,
        link,
        kind: header.entry_type(),
        end: entry.raw_file_position() + size.div_ceil(512) * 512,
        pax,
        mode,
        uid,
        gid,
        size,
    })
}

/// At most 200 characters of `name`, for messages.
pub(crate) fn shortened(name: &str) -> String {
    match name.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &name[..cut]),
        None => name.to_string(),
    }
}
