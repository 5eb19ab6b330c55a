//! `metadata.lock.json`: the digests of downloads that metadata.json cannot pin, because their
//! URLs name versions discovered upstream. The first fetch records a digest; every later fetch
//! of that URL must match it. The file is meant to be committed beside metadata.json.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// The lock file's name, beside metadata.json.
pub const LOCK_FILE: &str = "metadata.lock.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    /// Format version (1).
    version: u32,
    /// Target → URL → SHA-256 (hex).
    targets: BTreeMap<String, BTreeMap<String, String>>,
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
            Ok(bytes) => {
                let contents: Contents =
                    serde_json::from_slice(&bytes).map_err(|e| Error::Lock {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    })?;
                if contents.version != 1 {
                    return Err(Error::Lock {
                        path: path.to_path_buf(),
                        message: format!(
                            "unknown version {} (this boxwright reads 1)",
                            contents.version
                        ),
                    });
                }
                for digest in contents.targets.values().flat_map(BTreeMap::values) {
                    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(Error::Lock {
                            path: path.to_path_buf(),
                            message: format!("{digest:?} is not a SHA-256 in hex"),
                        });
                    }
                }
                contents
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents {
                version: 1,
                targets: BTreeMap::new(),
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

    /// Writes the file (sorted, through a temporary file and a rename) if anything was
    /// recorded since it was loaded; returns whether it wrote.
    pub fn save(&mut self) -> Result<bool, Error> {
        if !self.changed {
            return Ok(false);
        }
        let mut text = serde_json::to_string_pretty(&self.contents).expect("serialisable");
        text.push('\n');
        let temporary = self.path.with_extension("json.tmp");
        std::fs::write(&temporary, text).map_err(|source| Error::Write {
            path: temporary.clone(),
            source,
        })?;
        std::fs::rename(&temporary, &self.path).map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })?;
        self.changed = false;
        Ok(true)
    }
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
