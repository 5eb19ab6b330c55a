//! `metadata.lock.json`: the digests of downloads that metadata.json cannot pin, because their
//! URLs name versions discovered upstream. The first fetch records a digest; every later fetch
//! of that URL must match it. The file is meant to be committed beside metadata.json.
//!
//! Images made from packages keep their resolution in the same file (`images`, see
//! [`ImageLock`]): one file, one type, so recording downloads never drops the image section
//! and the reverse. Version 1 files (downloads only) load; a file with an `images` section is
//! written as version 2, so an older boxwright refuses it instead of dropping the section.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

mod images;

pub use images::{ArchitectureLock, ImageLock, ImageLockStatus, LockedIndex, LockedPackage};

/// The lock file's name, beside metadata.json.
pub const LOCK_FILE: &str = "metadata.lock.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    /// Format version: 1 (downloads only) or 2 (with `images`).
    version: u32,
    /// Target → URL → SHA-256 (hex).
    #[serde(default)]
    targets: BTreeMap<String, BTreeMap<String, String>>,
    /// Target → its image's resolved packages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    images: BTreeMap<String, ImageLock>,
}

/// The newest format version this boxwright reads and writes.
const VERSION: u32 = 2;

fn is_sha256(digest: &str) -> bool {
    digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A loaded lock file; [`LockFile::save`] writes it back when something was recorded.
#[derive(Debug, Clone)]
pub struct LockFile {
    path: PathBuf,
    contents: Contents,
    changed: bool,
}

impl LockFile {
    /// Loads `path`, or starts an empty lock when it does not exist.
    pub fn load(path: &Path) -> Result<LockFile, Error> {
        let contents = match std::fs::read(path) {
            Ok(bytes) => parse(path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents {
                version: 1,
                ..Contents::default()
            },
            Err(source) => {
                return Err(Error::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(LockFile {
            path: path.to_path_buf(),
            contents,
            changed: false,
        })
    }

    /// Where the lock lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recorded SHA-256 of `url` for `target`.
    pub fn get(&self, target: &str, url: &str) -> Option<&str> {
        self.contents
            .targets
            .get(target)?
            .get(url)
            .map(String::as_str)
    }

    /// Pins `download` of `target` when metadata.json does not: to the lock's digest of its
    /// URL. Under `locked` a download pinned nowhere (no digest in metadata.json, none
    /// here) is [`Error::Unpinned`], naming the target and the URL. Downloads with a
    /// `checksums_url` count as pinned only where the caller reads that file (the mirror).
    pub fn pin(
        &self,
        target: &str,
        download: &mut boxwright_metadata::Download,
        locked: bool,
    ) -> Result<(), Error> {
        if download.sha256.is_some() || download.sha512.is_some() {
            return Ok(());
        }
        if let Some(sha256) = self.get(target, &download.url) {
            download.sha256 = Some(sha256.to_string());
        } else if locked {
            return Err(Error::Unpinned {
                url: download.url.clone(),
                target: target.to_string(),
                lock: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Records the SHA-256 of `url` for `target`.
    pub fn record(&mut self, target: &str, url: &str, sha256: &str) {
        let previous = self
            .contents
            .targets
            .entry(target.to_string())
            .or_default()
            .insert(url.to_string(), sha256.to_string());
        if previous.as_deref() != Some(sha256) {
            self.changed = true;
        }
    }

    /// The image lock of `target`.
    pub fn image(&self, target: &str) -> Option<&ImageLock> {
        self.contents.images.get(target)
    }

    /// Whether `target`'s image lock can be installed for `install` and `architectures`.
    pub fn image_status(
        &self,
        target: &str,
        install: &[String],
        architectures: &[String],
    ) -> ImageLockStatus<'_> {
        match self.image(target) {
            Some(lock) => lock.status(install, architectures),
            None => ImageLockStatus::Missing,
        }
    }

    /// Records `target`'s image lock (normalised), replacing what was there.
    pub fn set_image(&mut self, target: &str, mut lock: ImageLock) {
        lock.normalise();
        let previous = self.contents.images.insert(target.to_string(), lock);
        if previous.as_ref() != self.contents.images.get(target) {
            self.changed = true;
        }
    }

    /// Writes the file (sorted, through a temporary file and a rename) if anything was
    /// recorded since it was loaded; returns whether it wrote.
    pub fn save(&mut self) -> Result<bool, Error> {
        if !self.changed {
            return Ok(false);
        }
        self.contents.version = if self.contents.images.is_empty() {
            1
        } else {
            VERSION
        };
        let mut text = serde_json::to_string_pretty(&self.contents).expect("serialisable");
        text.push('\n');
        let write = |path: &Path| -> std::io::Result<()> {
            let mut file = boxwright_archive::AtomicFile::create(path)?;
            std::io::Write::write_all(file.file(), text.as_bytes())?;
            file.commit().map(drop)
        };
        write(&self.path).map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })?;
        self.changed = false;
        Ok(true)
    }
}

/// Parses and checks a lock file's bytes.
fn parse(path: &Path, bytes: &[u8]) -> Result<Contents, Error> {
    let invalid = |message: String| Error::Lock {
        path: path.to_path_buf(),
        message,
    };
    let contents: Contents = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    if contents.version == 0 || contents.version > VERSION {
        return Err(invalid(format!(
            "unknown version {} (this boxwright reads 1 and {VERSION})",
            contents.version
        )));
    }
    if contents.version == 1 && !contents.images.is_empty() {
        return Err(invalid("`images` needs version 2".to_string()));
    }
    for digest in contents.targets.values().flat_map(BTreeMap::values) {
        if !is_sha256(digest) {
            return Err(invalid(format!("{digest:?} is not a SHA-256 in hex")));
        }
    }
    for (target, image) in &contents.images {
        if let Some((what, digest)) = image.bad_digest() {
            return Err(invalid(format!(
                "images.{target}: {what}: {digest:?} is not a SHA-256 in hex"
            )));
        }
    }
    Ok(contents)
}

/// The SHA-256 a checksum file gives for `file_name`: `sha256sum` lines (`<hex>  name`,
/// `<hex> *name`, with or without a leading `./`) or BSD lines (`SHA256 (name) = <hex>`).
pub fn checksum_for(text: &str, file_name: &str) -> Option<String> {
    let valid = |hex: &str| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("SHA256 (")
            && let Some((name, hex)) = rest.split_once(") = ")
            && name.trim_start_matches("./") == file_name
            && valid(hex.trim())
        {
            return Some(hex.trim().to_ascii_lowercase());
        }
        if let Some((hex, name)) = line.split_once(char::is_whitespace) {
            let name = name
                .trim_start()
                .trim_start_matches('*')
                .trim_start_matches("./");
            if name == file_name && valid(hex) {
                return Some(hex.to_ascii_lowercase());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_saved_sorted_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let mut lock = LockFile::load(&path).unwrap();
        assert_eq!(lock.get("t", "https://x/b"), None);
        lock.record("t", "https://x/b", &"b".repeat(64));
        lock.record("t", "https://x/a", &"a".repeat(64));
        assert!(lock.save().unwrap());
        assert!(!lock.save().unwrap(), "nothing new to write");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.find("https://x/a").unwrap() < text.find("https://x/b").unwrap(),
            "{text}"
        );
        let again = LockFile::load(&path).unwrap();
        assert_eq!(again.get("t", "https://x/a"), Some("a".repeat(64).as_str()));
        std::fs::write(&path, r#"{"version": 1, "targets": {"t": {"u": "xyz"}}}"#).unwrap();
        assert!(
            LockFile::load(&path)
                .unwrap_err()
                .to_string()
                .contains("not a SHA-256")
        );
    }

    fn image_lock() -> ImageLock {
        let package = |name: &str, sha: char| LockedPackage {
            name: name.into(),
            version: "1.0-1".into(),
            arch: "amd64".into(),
            url: format!("http://deb.example/pool/{name}.deb"),
            sha256: sha.to_string().repeat(64),
        };
        ImageLock {
            install: vec!["s6".into(), "busybox-static".into()],
            architectures: BTreeMap::from([(
                "amd64".into(),
                ArchitectureLock {
                    indexes: vec![LockedIndex {
                        url: "http://deb.example/dists/bookworm/InRelease".into(),
                        sha256: "c".repeat(64),
                    }],
                    packages: vec![package("s6", 'a'), package("busybox-static", 'b')],
                },
            )]),
            os_release: None,
        }
    }

    #[test]
    fn version_1_files_gain_an_image_section_as_version_2() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let v1 = format!(
            r#"{{"version": 1, "targets": {{"t": {{"https://x/a": "{}"}}}}}}"#,
            "a".repeat(64)
        );
        std::fs::write(&path, &v1).unwrap();
        let mut lock = LockFile::load(&path).unwrap();
        assert_eq!(lock.image_status("web", &[], &[]), ImageLockStatus::Missing);
        lock.set_image("web", image_lock());
        assert!(lock.save().unwrap());
        lock.set_image("web", image_lock());
        assert!(!lock.save().unwrap(), "the same resolution is no change");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"version\": 2"), "{text}");
        assert!(
            text.find("busybox-static.deb").unwrap() < text.find("s6.deb").unwrap(),
            "packages sorted: {text}"
        );
        let again = LockFile::load(&path).unwrap();
        assert_eq!(again.get("t", "https://x/a"), Some("a".repeat(64).as_str()));
        let mut expected = image_lock();
        expected.normalise();
        assert_eq!(again.image("web"), Some(&expected));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn image_lock_status_tells_a_stale_lock() {
        let lock = image_lock();
        let list = |items: &[&str]| items.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert!(matches!(
            lock.status(&list(&["busybox-static", "s6"]), &list(&["amd64"])),
            ImageLockStatus::Current(_)
        ));
        assert_eq!(
            lock.status(
                &list(&["s6", "busybox-static", "execline"]),
                &list(&["amd64"])
            ),
            ImageLockStatus::InstallChanged {
                locked: list(&["s6", "busybox-static"]),
                wanted: list(&["s6", "busybox-static", "execline"]),
            }
        );
        assert_eq!(
            lock.status(&list(&["s6", "busybox-static"]), &list(&["amd64", "arm64"])),
            ImageLockStatus::ArchitectureMissing {
                arch: "arm64".into()
            }
        );
    }

    #[test]
    fn malformed_image_sections_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let mut contents = Contents {
            version: 2,
            ..Contents::default()
        };
        let mut bad = image_lock();
        bad.architectures.get_mut("amd64").unwrap().packages[0].sha256 = "xyz".into();
        contents.images.insert("web".into(), bad);
        std::fs::write(&path, serde_json::to_string(&contents).unwrap()).unwrap();
        let err = LockFile::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("images.web") && err.contains("s6.deb"),
            "{err}"
        );
        contents.images.insert("web".into(), image_lock());
        contents.version = 1;
        std::fs::write(&path, serde_json::to_string(&contents).unwrap()).unwrap();
        let err = LockFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("needs version 2"), "{err}");
        std::fs::write(&path, r#"{"version": 3, "targets": {}}"#).unwrap();
        let err = LockFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown version 3"), "{err}");
    }

    #[test]
    fn checksum_files_in_both_styles() {
        let a = "a".repeat(64);
        let b = "B".repeat(64);
        let text = format!(
            "{a}  app-1.0-linux-amd64.tar.gz\n{b} *./app-1.0-linux-arm64.tar.gz\nSHA256 (other.zip) = {a}\n"
        );
        assert_eq!(
            checksum_for(&text, "app-1.0-linux-amd64.tar.gz"),
            Some(a.clone())
        );
        assert_eq!(
            checksum_for(&text, "app-1.0-linux-arm64.tar.gz"),
            Some(b.to_lowercase())
        );
        assert_eq!(checksum_for(&text, "other.zip"), Some(a));
        assert_eq!(checksum_for(&text, "app-1.0"), None);
    }
}
