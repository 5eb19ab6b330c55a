//! The `ar` archive format of `.deb` files: a `!<arch>\n` magic and members with 60-byte
//! headers, each padded to an even size. Written here rather than taken from a crate because
//! it is a few dozen lines and a .deb needs only its common form (short names, no symbol
//! table), with fixed mtime, owner and mode.

use std::io::{self, Read, Write};
use std::path::Path;

use crate::error::PackageError;

pub(crate) const MAGIC: &[u8; 8] = b"!<arch>\n";

/// Writes the archive magic.
pub(crate) fn start(out: &mut impl Write) -> io::Result<()> {
    out.write_all(MAGIC)
}

/// Writes one member of `size` bytes read from `data` (name at most 16 bytes).
pub(crate) fn member(
    out: &mut impl Write,
    name: &str,
    mtime: u64,
    size: u64,
    data: &mut impl Read,
) -> io::Result<()> {
    assert!(name.len() <= 16, "ar member names of a .deb are short");
    let header = format!(
        "{name:<16}{mtime:<12}{:<6}{:<6}{:<8}{size:<10}`\n",
        0, 0, "100644"
    );
    debug_assert_eq!(header.len(), 60);
    out.write_all(header.as_bytes())?;
    let copied = io::copy(&mut data.take(size), out)?;
    if copied != size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("ar member {name} is shorter than {size} bytes"),
        ));
    }
    if size % 2 == 1 {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One member header read back.
pub(crate) struct Header {
    pub name: String,
    pub size: u64,
}

/// Reads the next member header of the archive `path`; `None` at the end of the archive.
pub(crate) fn next_header(
    path: &Path,
    input: &mut impl Read,
) -> Result<Option<Header>, PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    let mut header = [0u8; 60];
    let mut filled = 0;
    while filled < 60 {
        let n = input
            .read(&mut header[filled..])
            .map_err(|e| bad(e.to_string()))?;
        if n == 0 {
            return if filled == 0 {
                Ok(None)
            } else {
                Err(bad("truncated ar member header".into()))
            };
        }
        filled += n;
    }
    if &header[58..60] != b"`\n" {
        return Err(bad("bad ar member header (no end marker)".into()));
    }
    let name = std::str::from_utf8(&header[..16])
        .map_err(|_| bad("ar member name is not text".into()))?
        .trim_end()
        .trim_end_matches('/')
        .to_string();
    let size = std::str::from_utf8(&header[48..58])
        .ok()
        .and_then(|s| s.trim_end().parse::<u64>().ok())
        .ok_or_else(|| bad(format!("ar member {name} has a bad size field")))?;
    Ok(Some(Header { name, size }))
}

/// Skips the rest of a member of the archive `path` after `read` of its `size` bytes were
/// consumed, with padding.
pub(crate) fn skip_rest(
    path: &Path,
    input: &mut impl Read,
    size: u64,
    read: u64,
) -> Result<(), PackageError> {
    let rest = size - read + size % 2;
    let skipped = io::copy(&mut input.take(rest), &mut io::sink())
        .map_err(|e| PackageError::malformed(path, e.to_string()))?;
    if skipped < size - read {
        return Err(PackageError::malformed(path, "truncated ar member"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_round_trip_with_padding() {
        let mut out = Vec::new();
        start(&mut out).unwrap();
        member(&mut out, "debian-binary", 0, 4, &mut &b"2.0\n"[..]).unwrap();
        member(&mut out, "odd", 5, 3, &mut &b"abc"[..]).unwrap();
        assert_eq!(out.len(), 8 + 60 + 4 + 60 + 4);
        let path = Path::new("a.deb");
        let mut input = &out[8..];
        let h = next_header(path, &mut input).unwrap().unwrap();
        assert_eq!((h.name.as_str(), h.size), ("debian-binary", 4));
        skip_rest(path, &mut input, h.size, 0).unwrap();
        let h = next_header(path, &mut input).unwrap().unwrap();
        assert_eq!((h.name.as_str(), h.size), ("odd", 3));
        skip_rest(path, &mut input, h.size, 0).unwrap();
        assert!(next_header(path, &mut input).unwrap().is_none());
        let error = next_header(path, &mut &out[8..30]).err().unwrap();
        assert_eq!(error.to_string(), "a.deb: truncated ar member header");
        assert!(member(&mut Vec::new(), "x", 0, 5, &mut &b"ab"[..]).is_err());
    }
}
