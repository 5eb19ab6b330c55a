use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use tar::{EntryType, Header};

/// A tar writer whose output depends only on the entries given and their order: every
/// header has the same mtime, uid/gid 0, empty owner names and a normalised mode.
/// Callers add entries in sorted order.
pub struct DeterministicTar<W: Write> {
    builder: tar::Builder<W>,
    mtime: u64,
}

/// The exact mode and numeric owner of an entry (packages keep theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner {
    /// Permission bits, setuid (0o4000), setgid (0o2000) and sticky (0o1000) included.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// 0755 when any execute bit is set, else 0644.
pub fn normalised_mode(mode: u32) -> u32 {
    if mode & 0o111 != 0 { 0o755 } else { 0o644 }
}

impl<W: Write> DeterministicTar<W> {
    /// Starts an archive whose entries all carry `mtime` (seconds since the epoch).
    pub fn new(inner: W, mtime: u64) -> Self {
        let mut builder = tar::Builder::new(inner);
        builder.mode(tar::HeaderMode::Deterministic);
        DeterministicTar { builder, mtime }
    }

    fn header(&self, kind: EntryType, mode: u32, size: u64) -> Header {
        let mut header = Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header
    }

    /// Adds a directory entry (mode 0755); `path` is relative, without trailing slash.
    pub fn append_dir(&mut self, path: &str) -> io::Result<()> {
        let mut header = self.header(EntryType::Directory, 0o755, 0);
        self.builder
            .append_data(&mut header, format!("{path}/"), io::empty())
    }

    /// Adds a regular file with the content of `file`, mode normalised from its mode.
    pub fn append_file(&mut self, path: &str, file: File) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let meta = file.metadata()?;
        let mut header = self.header(
            EntryType::Regular,
            normalised_mode(meta.permissions().mode()),
            meta.len(),
        );
        // A file that changes size while read would corrupt the archive: read exactly len.
        let mut reader = io::Read::take(file, meta.len());
        self.builder.append_data(&mut header, path, &mut reader)
    }

    /// Adds regular file content from memory with the given (normalised) mode.
    pub fn append_bytes(&mut self, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        let mut header = self.header(EntryType::Regular, normalised_mode(mode), data.len() as u64);
        self.builder.append_data(&mut header, path, data)
    }

    /// Adds a symbolic link to `target`, kept as written.
    pub fn append_symlink(&mut self, path: &str, target: &Path) -> io::Result<()> {
        let mut header = self.header(EntryType::Symlink, 0o777, 0);
        self.builder.append_link(&mut header, path, target)
    }

    /// Adds a hard link to `first`, an earlier entry of this archive.
    pub fn append_hardlink(&mut self, path: &str, first: &str) -> io::Result<()> {
        let mut header = self.header(EntryType::Link, 0o644, 0);
        self.builder.append_link(&mut header, path, first)
    }

    /// A header with the caller's exact permission bits (setuid, setgid and sticky included)
    /// and numeric owner, names left empty; the mtime is still the archive's.
    fn exact_header(&self, kind: EntryType, owner: Owner, size: u64) -> Header {
        let mut header = self.header(kind, owner.mode & 0o7777, size);
        header.set_uid(u64::from(owner.uid));
        header.set_gid(u64::from(owner.gid));
        header
    }

    /// Adds a directory with exact mode and owner.
    pub fn append_dir_as(&mut self, path: &str, owner: Owner) -> io::Result<()> {
        let mut header = self.exact_header(EntryType::Directory, owner, 0);
        self.builder
            .append_data(&mut header, format!("{path}/"), io::empty())
    }

    /// Adds a regular file of `size` bytes read from `data`, with exact mode and owner.
    pub fn append_reader_as(
        &mut self,
        path: &str,
        owner: Owner,
        size: u64,
        data: impl io::Read,
    ) -> io::Result<()> {
        let mut header = self.exact_header(EntryType::Regular, owner, size);
        // Content that is shorter than `size` is an error rather than a corrupt archive.
        self.builder
            .append_data(&mut header, path, io::Read::take(data, size))
    }

    /// Adds a symbolic link to `target` owned by `owner` (links keep mode 0777).
    pub fn append_symlink_as(&mut self, path: &str, target: &Path, owner: Owner) -> io::Result<()> {
        let owner = Owner {
            mode: 0o777,
            ..owner
        };
        let mut header = self.exact_header(EntryType::Symlink, owner, 0);
        self.builder.append_link(&mut header, path, target)
    }

    /// Adds a hard link to `first`, an earlier entry of this archive, with that entry's
    /// mode and owner repeated in the header (as GNU tar writes them).
    pub fn append_hardlink_as(&mut self, path: &str, first: &str, owner: Owner) -> io::Result<()> {
        let mut header = self.exact_header(EntryType::Link, owner, 0);
        self.builder.append_link(&mut header, path, first)
    }

    /// Writes the end-of-archive marker and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_normalised_and_long_names_survive() {
        let mut tar = DeterministicTar::new(Vec::new(), 1_700_000_000);
        tar.append_dir("a").unwrap();
        let long = format!("a/{}", "n".repeat(150));
        tar.append_bytes(&long, 0o700, b"x").unwrap();
        tar.append_symlink("a/link", Path::new("/abs/target"))
            .unwrap();
        let bytes = tar.finish().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let entries: Vec<_> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    h.uid().unwrap(),
                    h.username().unwrap().map(str::to_string),
                )
            })
            .collect();
        assert_eq!(
            entries[0],
            ("a/".into(), 0o755, 1_700_000_000, 0, Some(String::new()))
        );
        assert_eq!(entries[1].0, long);
        assert_eq!(entries[1].1, 0o755);
        assert_eq!(entries[2].0, "a/link");
    }
}
