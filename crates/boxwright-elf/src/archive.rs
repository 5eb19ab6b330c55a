//! Static libraries: `ar` archives whose members should be ELF relocatable objects.

use std::path::{Path, PathBuf};

use object::read::archive::ArchiveFile;

use crate::{Error, FileReport};

/// The magic of an `ar` archive (GNU and BSD variants share it).
pub const AR_MAGIC: &[u8; 8] = b"!<arch>\n";
/// The magic of a GNU thin archive, whose members live in other files.
pub const THIN_MAGIC: &[u8; 8] = b"!<thin>\n";

/// Largest archive read into memory (static libraries of large projects stay far below).
const MAX_ARCHIVE: u64 = 2 << 30;

/// What a static library holds.
#[derive(Debug, Clone)]
pub enum ArchiveReport {
    /// One report per member, named `path(member)`; symbol tables are left out.
    Members(Vec<FileReport>),
    /// The file is not a regular archive (a thin archive, or one whose headers are broken).
    Unusable(String),
}

/// Whether `bytes` (the start of a file) are those of an `ar` archive, thin or not.
pub fn is_archive(start: &[u8]) -> bool {
    start.starts_with(AR_MAGIC) || start.starts_with(THIN_MAGIC)
}

/// Reads the `ar` archive at `path` and reports on each member.
pub fn inspect_archive(path: &Path) -> Result<ArchiveReport, Error> {
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_ARCHIVE {
        return Ok(ArchiveReport::Unusable(format!(
            "archive of {size} bytes is larger than the {MAX_ARCHIVE} bytes read"
        )));
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    if bytes.starts_with(THIN_MAGIC) {
        return Ok(ArchiveReport::Unusable(
            "thin archive: its members are other files".into(),
        ));
    }
    let archive = match ArchiveFile::parse(&*bytes) {
        Ok(archive) => archive,
        Err(e) => return Ok(ArchiveReport::Unusable(format!("malformed archive: {e}"))),
    };
    let mut members = Vec::new();
    for member in archive.members() {
        let member = match member {
            Ok(member) => member,
            Err(e) => return Ok(ArchiveReport::Unusable(format!("malformed member: {e}"))),
        };
        let name = String::from_utf8_lossy(member.name()).into_owned();
        let data = match member.data(&*bytes) {
            Ok(data) => data,
            Err(e) => {
                return Ok(ArchiveReport::Unusable(format!(
                    "member {name} is out of bounds: {e}"
                )));
            }
        };
        let shown = PathBuf::from(format!("{}({name})", path.display()));
        members.push(crate::inspect_bytes(&shown, data));
    }
    Ok(ArchiveReport::Members(members))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = AR_MAGIC.to_vec();
        for (name, data) in members {
            let header = format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                format!("{name}/"),
                0,
                0,
                0,
                644,
                data.len()
            );
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    #[test]
    fn members_are_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libx.a");
        std::fs::write(&path, ar(&[("a.o", b"not elf"), ("b.o", b"\x7fELF")])).unwrap();
        let ArchiveReport::Members(members) = inspect_archive(&path).unwrap() else {
            panic!("not read as an archive")
        };
        assert_eq!(members.len(), 2);
        assert!(
            members[0].path.ends_with("libx.a(a.o)"),
            "{:?}",
            members[0].path
        );
        assert_eq!(members[0].kind, crate::FileKind::NotElf);
        assert_eq!(members[1].kind, crate::FileKind::Malformed);
    }

    #[test]
    fn thin_and_broken_archives_are_unusable() {
        let dir = tempfile::tempdir().unwrap();
        let thin = dir.path().join("thin.a");
        std::fs::write(&thin, b"!<thin>\n").unwrap();
        assert!(matches!(
            inspect_archive(&thin).unwrap(),
            ArchiveReport::Unusable(_)
        ));
        let broken = dir.path().join("broken.a");
        let mut bytes = ar(&[("a.o", b"12345678")]);
        bytes.truncate(bytes.len() - 4);
        std::fs::write(&broken, bytes).unwrap();
        assert!(matches!(
            inspect_archive(&broken).unwrap(),
            ArchiveReport::Unusable(_)
        ));
        assert!(is_archive(b"!<arch>\nrest") && !is_archive(b"\x7fELF"));
    }
}
