//! Records of pairs pushed by `mirror build`/`mirror run`: `.cache/<target>/mirror/`, one file
//! per version and architecture, so a rerun after an interruption reuses what was pushed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A version x architecture pushed by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRecord {
    pub repository: String,
    pub version: String,
    pub arch: String,
    /// `sha256:` of the pushed manifest.
    pub digest: String,
}

/// The directory of a target's records.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

/// Why a record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", path.display())]
pub struct StateError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>) -> StateDir {
        StateDir { dir: dir.into() }
    }

    fn file(&self, version: &str, arch: &str) -> PathBuf {
        // Versions are checked tags ([0-9A-Za-z.+-]); keep the name plain anyway.
        let safe: String = version
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}-{arch}.json"))
    }

    /// The record of `version` x `arch` for `repository`, if one was written.
    pub fn get(&self, repository: &str, version: &str, arch: &str) -> Option<PairRecord> {
        let record: PairRecord =
            serde_json::from_slice(&std::fs::read(self.file(version, arch)).ok()?).ok()?;
        (record.repository == repository && record.version == version && record.arch == arch)
            .then_some(record)
    }

    /// Writes a record (temporary file, then rename).
    pub fn put(&self, record: &PairRecord) -> Result<(), StateError> {
        let path = self.file(&record.version, &record.arch);
        let error = |source| StateError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(error)?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(
            &temporary,
            serde_json::to_vec_pretty(record).expect("serialisable"),
        )
        .map_err(error)?;
        std::fs::rename(&temporary, &path).map_err(error)
    }

    /// Where the records are.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_for_their_repository_only() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("mirror"));
        let record = PairRecord {
            repository: "r/app".into(),
            version: "1.0.0".into(),
            arch: "amd64".into(),
            digest: "sha256:abc".into(),
        };
        assert_eq!(state.get("r/app", "1.0.0", "amd64"), None);
        state.put(&record).unwrap();
        assert_eq!(state.get("r/app", "1.0.0", "amd64"), Some(record));
        assert_eq!(state.get("other/app", "1.0.0", "amd64"), None);
        assert_eq!(state.get("r/app", "1.0.0", "arm64"), None);
    }
}
