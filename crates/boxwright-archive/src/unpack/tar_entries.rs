//! Our own loop over the entries of a tar stream; the tar crate only parses headers.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use tar::EntryType;

use super::dest::{EntryError, Extractor};
use super::path::display_name;
use super::{Refusal, UnpackError};

/// Most bytes the tar crate may read while finding the next entry: its header plus any GNU
/// long name, long link or pax extension data, which the crate keeps in memory whole. Names
/// longer than `Limits::max_path_len` are refused anyway; this bounds the memory first.
pub(super) const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Stream bytes allowed per entry on top of the entries' data (header, padding, small pax
/// records), for the cap on the whole decompressed stream.
const OVERHEAD_PER_ENTRY: u64 = 4096;

/// Counts what the tar parser reads from the decompressed stream and refuses to read past a
/// moving stop, so a hostile stream cannot make the parser buffer or churn without bound.
struct Meter {
    read: Cell<u64>,
    /// While the parser looks for the next header: where it must stop.
    header_stop: Cell<u64>,
    /// For the whole stream.
    stream_stop: u64,
    tripped: Cell<Option<Trip>>,
}

#[derive(Clone, Copy)]
enum Trip {
    Header,
    Stream,
}

struct Metered<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let meter = &self.meter;
        let read = meter.read.get();
        let stop = meter.header_stop.get().min(meter.stream_stop);
        let allowed = stop.saturating_sub(read);
        if allowed == 0 && !buf.is_empty() {
            let trip = if meter.header_stop.get() <= meter.stream_stop {
                Trip::Header
            } else {
                Trip::Stream
            };
            meter.tripped.set(Some(trip));
            return Err(io::Error::other("read limit of the tar stream reached"));
        }
        let len = buf
            .len()
            .min(usize::try_from(allowed).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..len])?;
        meter.read.set(read + n as u64);
        Ok(n)
    }
}

/// Unpacks every entry of the tar stream `reader` (already decompressed).
pub(super) fn unpack(
    reader: Box<dyn Read + '_>,
    out: &mut Extractor<'_>,
) -> Result<(), UnpackError> {
    let limits = out.limits();
    let stream_stop = limits.max_total_bytes.saturating_add(
        limits
            .max_entries
            .saturating_add(2)
            .saturating_mul(OVERHEAD_PER_ENTRY),
    );
    let meter = Rc::new(Meter {
        read: Cell::new(0),
        header_stop: Cell::new(u64::MAX),
        stream_stop,
        tripped: Cell::new(None),
    });
    let mut archive = tar::Archive::new(Metered {
        inner: reader,
        meter: Rc::clone(&meter),
    });
    let mut entries = archive.entries().map_err(|e| out.read_error(e))?;
    let mut previous: Option<String> = None;
    loop {
        meter
            .header_stop
            .set(meter.read.get().saturating_add(MAX_HEADER_BYTES));
        let next = entries.next();
        meter.header_stop.set(u64::MAX);
        let mut entry = match next {
            None => return Ok(()),
            Some(Ok(entry)) => entry,
            Some(Err(e)) => return Err(explain(&meter, out, previous, e)),
        };
        out.count_entry()?;
        let name = entry.path_bytes().into_owned();
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().ok();
        let mtime = header
            .mtime()
            .ok()
            .and_then(|secs| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)));
        let link = entry.link_name_bytes().map(std::borrow::Cow::into_owned);
        let result = match kind {
            // Old archives mark directories with a trailing slash on a regular entry.
            EntryType::Regular if name.ends_with(b"/") => out.directory(&name, mode),
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                out.file(&name, mode, mtime, &mut entry)
            }
            EntryType::Directory => out.directory(&name, mode),
            EntryType::Symlink => out.symlink(&name, link.as_deref().unwrap_or_default()),
            EntryType::Link => out.hardlink(&name, link.as_deref().unwrap_or_default()),
            EntryType::Char | EntryType::Block => Err(Refusal::Device.into()),
            EntryType::Fifo => Err(Refusal::Fifo.into()),
            // Global pax records set defaults (often only a commit id); nothing to create.
            EntryType::XGlobalHeader => Ok(()),
            other => Err(Refusal::UnsupportedType {
                kind: display_name(&[other.as_byte()]),
            }
            .into()),
        };
        // Whatever data the entry still has (a directory with a size, say) is read here, where
        // it is counted, rather than skipped by the parser within the header budget.
        let result = result.and_then(|()| out.skip(&mut entry));
        if let Err(error) = result {
            if let (EntryError::Read(_), Some(_)) = (&error, meter.tripped.get()) {
                return Err(explain(&meter, out, previous, io::Error::other("limit")));
            }
            return Err(out.entry_error(&name, error));
        }
        previous = Some(display_name(&name));
    }
}

/// The error for a failed read of the stream: one of our own limits, or a corrupt archive.
fn explain(
    meter: &Meter,
    out: &Extractor<'_>,
    previous: Option<String>,
    error: io::Error,
) -> UnpackError {
    match meter.tripped.get() {
        Some(Trip::Header) => UnpackError::HeaderTooLarge {
            archive: out.archive().to_path_buf(),
            after: previous,
            limit: MAX_HEADER_BYTES,
        },
        Some(Trip::Stream) => UnpackError::StreamTooLarge {
            archive: out.archive().to_path_buf(),
            limit: meter.stream_stop,
        },
        None => out.read_error(error),
    }
}
