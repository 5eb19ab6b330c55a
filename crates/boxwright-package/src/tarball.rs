//! A small tar writer for package members: fixed mtime, uid/gid 0 with `root` names, modes
//! as given, pax records where asked, and "cut" archives (without the end-of-archive blocks)
//! for apk's signature and control members.

use std::io::{self, Read, Write};

use tar::{EntryType, Header};

/// The two zero blocks that end a tar archive.
pub(crate) const END_OF_ARCHIVE: usize = 1024;

pub(crate) struct TarWriter<W: Write> {
    builder: tar::Builder<W>,
    mtime: u64,
}

impl<W: Write> TarWriter<W> {
    pub fn new(inner: W, mtime: u64) -> Self {
        TarWriter {
            builder: tar::Builder::new(inner),
            mtime,
        }
    }

    fn header(&self, kind: EntryType, mode: u32, size: u64) -> Header {
        let mut header = Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        // Both fit the 32-byte fields.
        let _ = header.set_username("root");
        let _ = header.set_groupname("root");
        header
    }

    /// A directory entry; `path` ends with `/`.
    pub fn dir(&mut self, path: &str) -> io::Result<()> {
        let mut header = self.header(EntryType::Directory, 0o755, 0);
        self.builder.append_data(&mut header, path, io::empty())
    }

    /// A regular file of `size` bytes read from `data`, preceded by a pax extended header
    /// holding `pax` records when there are any.
    pub fn file(
        &mut self,
        path: &str,
        mode: u32,
        size: u64,
        data: impl Read,
        pax: &[(&str, &str)],
    ) -> io::Result<()> {
        self.pax(pax)?;
        let mut header = self.header(EntryType::Regular, mode, size);
        self.builder.append_data(&mut header, path, data.take(size))
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str, pax: &[(&str, &str)]) -> io::Result<()> {
        self.pax(pax)?;
        let mut header = self.header(EntryType::Symlink, 0o777, 0);
        self.builder.append_link(&mut header, path, target)
    }

    fn pax(&mut self, records: &[(&str, &str)]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut body = Vec::new();
        for (key, value) in records {
            body.extend(pax_record(key, value));
        }
        let mut header = self.header(EntryType::XHeader, 0o644, body.len() as u64);
        header.set_path("PaxHeader")?;
        header.set_cksum();
        self.builder.append(&header, body.as_slice())
    }

    /// The archive with its end-of-archive blocks.
    pub fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }
}

impl TarWriter<Vec<u8>> {
    /// The archive without its end-of-archive blocks (apk's signature and control tars).
    pub fn finish_cut(self) -> io::Result<Vec<u8>> {
        let mut bytes = self.builder.into_inner()?;
        bytes.truncate(bytes.len() - END_OF_ARCHIVE);
        Ok(bytes)
    }
}

/// One pax record: `<length> <key>=<value>\n`, the length counting itself.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // space, '=', newline
    let mut length = rest + 1;
    while length.to_string().len() + rest != length {
        length += 1;
    }
    format!("{length} {key}={value}\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        let record = pax_record("APK-TOOLS.checksum.SHA1", &"a".repeat(40));
        assert_eq!(
            record.len().to_string(),
            String::from_utf8_lossy(&record[..2])
        );
        assert_eq!(pax_record("k", "v"), b"6 k=v\n");
        assert_eq!(pax_record("k", "12345"), b"11 k=12345\n");
    }

    #[test]
    fn cut_archives_lack_the_end_blocks_and_pax_records_are_read_back() {
        let mut tar = TarWriter::new(Vec::new(), 7);
        tar.dir("usr/").unwrap();
        tar.file(
            "usr/a",
            0o644,
            3,
            &b"abc"[..],
            &[("APK-TOOLS.checksum.SHA1", "00")],
        )
        .unwrap();
        let full = tar.finish().unwrap();
        assert!(full[full.len() - END_OF_ARCHIVE..].iter().all(|b| *b == 0));
        let mut archive = tar::Archive::new(full.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let pax: Vec<String> = entry
                .pax_extensions()
                .unwrap()
                .into_iter()
                .flatten()
                .map(|e| e.unwrap().key().unwrap().to_string())
                .collect();
            seen.push((
                entry.path().unwrap().display().to_string(),
                pax,
                entry.header().username().unwrap().map(str::to_string),
            ));
        }
        assert_eq!(seen[0].0, "usr/");
        assert_eq!(
            seen[1],
            (
                "usr/a".into(),
                vec!["APK-TOOLS.checksum.SHA1".to_string()],
                Some("root".into())
            )
        );

        let mut cut = TarWriter::new(Vec::new(), 7);
        cut.file(".PKGINFO", 0o644, 1, &b"x"[..], &[]).unwrap();
        let cut = cut.finish_cut().unwrap();
        assert_eq!(cut.len(), 1024);
    }
}
