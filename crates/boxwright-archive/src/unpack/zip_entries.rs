//! Our own loop over the entries of a zip file; the zip crate parses and decompresses.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::time::{Duration, SystemTime};

use zip::{CompressionMethod, ZipArchive};

use super::dest::{EntryError, Extractor};
use super::{Refusal, UnpackError};

/// Smallest central directory record: a declared entry count larger than the file can hold
/// is a lie.
const MIN_CENTRAL_RECORD: u64 = 46;

enum Kind {
    Directory,
    File,
    Symlink,
    Refused(Refusal),
}

/// Unpacks every entry of the zip file `file`.
pub(super) fn unpack(mut file: File, out: &mut Extractor<'_>) -> Result<(), UnpackError> {
    // The zip crate reserves memory for the entry count the archive declares before it reads
    // the entries, so check that count first.
    let (declared, len) = declared_entries(&mut file).map_err(|e| out.read_error(e))?;
    if declared > out.limits().max_entries {
        return Err(out.too_many_entries());
    }
    if declared.saturating_mul(MIN_CENTRAL_RECORD) > len {
        return Err(out.read_error(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("declares {declared} entries, more than a file of {len} bytes can hold"),
        )));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| out.read_error(e))?;
    let mut zip = ZipArchive::new(BufReader::new(file)).map_err(|e| out.read_error(e.into()))?;
    if zip.len() as u64 > out.limits().max_entries {
        return Err(out.too_many_entries());
    }
    let max_link = out.limits().max_path_len as u64 + 1;
    for index in 0..zip.len() {
        out.count_entry()?;
        // Metadata first, without decompressing anything.
        let (name, kind, mode, mtime) = {
            let meta = zip
                .by_index_raw(index)
                .map_err(|e| out.read_error(e.into()))?;
            let name = meta.name().as_bytes().to_vec();
            let mode = meta.unix_mode();
            let kind = if meta.encrypted() {
                Kind::Refused(Refusal::Encrypted)
            } else if !matches!(
                meta.compression(),
                CompressionMethod::Stored | CompressionMethod::Deflated
            ) {
                Kind::Refused(Refusal::UnsupportedCompression {
                    method: format!("{:?}", meta.compression()),
                })
            } else if name.contains(&b'\\') {
                // The format only has `/` separators; a backslash is a Windows tool's
                // separator to some readers and a plain character to others.
                Kind::Refused(Refusal::Backslash)
            } else {
                kind_of(&name, mode)
            };
            let mtime = meta.last_modified().and_then(dos_time);
            (name, kind, mode.map(|m| m & 0o7777), mtime)
        };
        let result = match kind {
            Kind::Refused(refusal) => Err(refusal.into()),
            Kind::Directory => out.directory(&name, mode),
            Kind::File => match zip.by_index(index) {
                Ok(mut data) => out.file(&name, mode, mtime, &mut data),
                Err(e) => Err(EntryError::Read(e.into())),
            },
            Kind::Symlink => match zip.by_index(index) {
                Ok(data) => {
                    let mut target = Vec::new();
                    match data.take(max_link).read_to_end(&mut target) {
                        Ok(_) => out.symlink(&name, &target),
                        Err(e) => Err(EntryError::Read(e)),
                    }
                }
                Err(e) => Err(EntryError::Read(e.into())),
            },
        };
        result.map_err(|e| out.entry_error(&name, e))?;
    }
    Ok(())
}

/// The kind of an entry from its name and Unix mode (absent in archives made elsewhere).
fn kind_of(name: &[u8], mode: Option<u32>) -> Kind {
    if name.ends_with(b"/") {
        return Kind::Directory;
    }
    match mode.map(|m| m & 0o170_000) {
        None | Some(0 | 0o100_000) => Kind::File,
        Some(0o040_000) => Kind::Directory,
        Some(0o120_000) => Kind::Symlink,
        Some(0o010_000) => Kind::Refused(Refusal::Fifo),
        Some(0o020_000 | 0o060_000) => Kind::Refused(Refusal::Device),
        Some(0o140_000) => Kind::Refused(Refusal::Socket),
        Some(other) => Kind::Refused(Refusal::UnsupportedType {
            kind: format!("{other:o}"),
        }),
    }
}

/// The largest entry count declared by any end-of-central-directory record (and its zip64
/// form) in the last 64 KiB of the file, and the file's length.
fn declared_entries(file: &mut File) -> io::Result<(u64, u64)> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const EOCD_LEN: usize = 22;
    const LOCATOR: &[u8] = b"PK\x06\x07";
    const LOCATOR_LEN: usize = 20;
    const EOCD64: &[u8] = b"PK\x06\x06";
    let len = file.seek(SeekFrom::End(0))?;
    // The record, a comment of up to 64 KiB, and the zip64 locator before it.
    let tail_len = len.min((EOCD_LEN + 0xFFFF + LOCATOR_LEN) as u64);
    file.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0; usize::try_from(tail_len).unwrap_or(0)];
    file.read_exact(&mut tail)?;
    let mut most = 0;
    for at in 0..tail.len().saturating_sub(EOCD_LEN - 1) {
        if !tail[at..].starts_with(EOCD) {
            continue;
        }
        most = most.max(u64::from(u16::from_le_bytes([
            tail[at + 10],
            tail[at + 11],
        ])));
        let Some(locator) = at.checked_sub(LOCATOR_LEN) else {
            continue;
        };
        if !tail[locator..].starts_with(LOCATOR) {
            continue;
        }
        let mut offset = [0; 8];
        offset.copy_from_slice(&tail[locator + 8..locator + 16]);
        let offset = u64::from_le_bytes(offset);
        if offset.checked_add(40).is_none_or(|end| end > len) {
            continue;
        }
        let mut record = [0; 40];
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut record)?;
        if record.starts_with(EOCD64) {
            let mut count = [0; 8];
            count.copy_from_slice(&record[32..40]);
            most = most.max(u64::from_le_bytes(count));
        }
    }
    Ok((most, len))
}

/// An MS-DOS date and time (no time zone; taken as UTC) as a point in time.
fn dos_time(time: zip::DateTime) -> Option<SystemTime> {
    let (month, day) = (i64::from(time.month()), i64::from(time.day()));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_since_epoch(i64::from(time.year()), month, day);
    let secs = days * 86_400
        + i64::from(time.hour()) * 3600
        + i64::from(time.minute()) * 60
        + i64::from(time.second());
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar, counting years from
/// March so that the leap day comes last.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 days separate 0000-03-01 from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_count_days_from_the_epoch() {
        assert_eq!(days_since_epoch(1970, 1, 1), 0);
        assert_eq!(days_since_epoch(2000, 3, 1), 11_017);
        assert_eq!(days_since_epoch(2024, 2, 29), 19_782);
        assert_eq!(days_since_epoch(1980, 1, 1), 3652);
    }
}
