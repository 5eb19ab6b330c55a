//! The install tree's entries and the staging store that keeps file contents on disk,
//! one file per distinct SHA-256.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use boxwright_archive::Owner;
use sha1::Digest as _;

use crate::Error;

/// A regular file's content, kept in the staging directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// `<staging>/<sha256>`.
    pub blob: PathBuf,
    pub size: u64,
    /// Hex SHA-256 (the store's key).
    pub sha256: String,
    /// SHA-1 (apk's `Z:` and pax checksums).
    pub sha1: [u8; 20],
    /// MD5 (dpkg's `md5sums` and `Conffiles:`).
    pub md5: [u8; 16],
}

impl Staged {
    /// Hex MD5, as dpkg writes it.
    pub fn md5_hex(&self) -> String {
        hex::encode(self.md5)
    }
}

/// What a path of the tree holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Directory,
    File(Staged),
    /// A symbolic link to the target, as written.
    Symlink(String),
    /// A hard link to another path of the same package (a regular file).
    HardLink(String),
}

/// One path of the install tree with its exact mode and owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Relative (`usr/bin/x`).
    pub path: String,
    pub node: Node,
    pub owner: Owner,
}

impl TreeEntry {
    /// A root-owned entry with `mode`.
    pub fn root(path: impl Into<String>, node: Node, mode: u32) -> TreeEntry {
        TreeEntry {
            path: path.into(),
            node,
            owner: Owner {
                mode,
                uid: 0,
                gid: 0,
            },
        }
    }
}

/// Content-addressed files under a caller-given directory.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, Error> {
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    /// Copies what `data` yields into the store (a temporary file renamed to its SHA-256;
    /// content already present is not kept twice).
    pub fn put(&self, data: &mut dyn Read) -> Result<Staged, Error> {
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)
            .map_err(Error::io("create a file in", &self.dir))?;
        let mut sha256 = sha2::Sha256::new();
        let mut sha1 = sha1::Sha1::new();
        let mut md5 = <md5::Md5 as md5::Digest>::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = match data.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read package content for", &self.dir)(e)),
            };
            let chunk = &buffer[..n];
            sha256.update(chunk);
            sha1.update(chunk);
            md5::Digest::update(&mut md5, chunk);
            temp.write_all(chunk)
                .map_err(Error::io("write", temp.path()))?;
            size += n as u64;
        }
        let sha256 = hex::encode(sha256.finalize());
        let blob = self.dir.join(&sha256);
        if !blob.exists() {
            temp.persist(&blob)
                .map_err(|e| Error::io("rename into", &blob)(e.error))?;
        }
        Ok(Staged {
            blob,
            size,
            sha256,
            sha1: sha1.finalize().into(),
            md5: md5::Digest::finalize(md5).into(),
        })
    }

    /// [`Store::put`] of bytes made here (database files, generated configuration).
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Staged, Error> {
        self.put(&mut &bytes[..])
    }
}

/// The parent directory of a relative path (`None` at the top).
pub(crate) fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(parent, _)| parent)
}

/// Orders paths component by component (`a/b` before `a.b`), as `tar --sort=name` and the
/// layers do.
pub(crate) fn order_key(path: &str) -> String {
    path.replace('/', "\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_keeps_one_file_per_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = store.put_bytes(b"hello\n").unwrap();
        let b = store.put_bytes(b"hello\n").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.sha256,
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        assert_eq!(a.md5_hex(), "b1946ac92492d2347c6235b4d2611184");
        assert_eq!(std::fs::read(&a.blob).unwrap(), b"hello\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
