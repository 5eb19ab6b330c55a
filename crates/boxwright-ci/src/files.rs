//! The generated files in a project directory: written atomically (current files left alone,
//! stale ones removed), and read back for checking.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use boxwright_archive::AtomicFile;
use serde::Serialize;

use crate::{Error, FileCheck, GeneratedFile, Provider, Result};

/// What writing did with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteStatus {
    Written,
    /// Already current, left alone.
    Unchanged,
    /// Generated before, no longer generated.
    Removed,
}

/// One file of [`write`].
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub path: PathBuf,
    pub status: WriteStatus,
}

/// One file of [`check`], with its provider.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub provider: Provider,
    #[serde(flatten)]
    pub check: FileCheck,
}

/// Writes `files` of `provider` under `root` and removes the provider's generated files there
/// that are no longer generated.
pub fn write(root: &Path, provider: Provider, files: &[GeneratedFile]) -> Result<Vec<Written>> {
    let mut results = Vec::new();
    for file in files {
        let path = root.join(&file.path);
        let unchanged = read_optional(&path)?.is_some_and(|text| text == file.contents);
        if !unchanged {
            write_atomically(&path, &file.contents)?;
        }
        let status = if unchanged {
            WriteStatus::Unchanged
        } else {
            WriteStatus::Written
        };
        results.push(Written { path, status });
    }
    for (relative, _) in stale(root, provider, files)? {
        let path = root.join(&relative);
        std::fs::remove_file(&path).map_err(|e| Error::io("remove the stale", &path, e))?;
        let status = WriteStatus::Removed;
        results.push(Written { path, status });
    }
    Ok(results)
}

/// Each of `files` of `provider` against its file under `root`, then the provider's
/// generated files there that are no longer generated (stale).
pub fn check(root: &Path, provider: Provider, files: &[GeneratedFile]) -> Result<Vec<Checked>> {
    let mut checks = Vec::new();
    for file in files {
        let actual = read_optional(&root.join(&file.path))?;
        let check = crate::compare(&file.path, Some(&file.contents), actual.as_deref());
        checks.push(Checked { provider, check });
    }
    for (relative, contents) in stale(root, provider, files)? {
        let check = crate::compare(&relative, None, Some(&contents));
        checks.push(Checked { provider, check });
    }
    Ok(checks)
}

/// The providers with generated files under `root`.
pub fn providers_on_disk(root: &Path) -> Result<Vec<Provider>> {
    let mut found = Vec::new();
    for provider in Provider::ALL {
        if !on_disk(root, provider)?.is_empty() {
            found.push(provider);
        }
    }
    Ok(found)
}

/// Whether `<root>/.gitlab-ci.yml` names `.gitlab/boxwright.yml`.
pub fn included_from_gitlab_ci(root: &Path) -> bool {
    std::fs::read_to_string(root.join(".gitlab-ci.yml"))
        .is_ok_and(|text| text.contains(crate::gitlab::INCLUDE_FILE))
}

/// The provider's generated files under `root` (relative path and contents): the files it
/// owns that start with the generated-by-boxwright header.
fn on_disk(root: &Path, provider: Provider) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for dir in provider.directories() {
        let listed = root.join(dir);
        let entries = match std::fs::read_dir(&listed) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("list", &listed, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list", &listed, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let relative = format!("{dir}/{name}");
            if !provider.owns(&relative) || !entry.path().is_file() {
                continue;
            }
            if let Some(contents) = read_optional(&entry.path())?
                && crate::is_generated(&contents)
            {
                found.push((relative, contents));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Generated files on disk that are no longer generated (a mirror target removed...).
fn stale(
    root: &Path,
    provider: Provider,
    files: &[GeneratedFile],
) -> Result<Vec<(String, String)>> {
    Ok(on_disk(root, provider)?
        .into_iter()
        .filter(|(relative, _)| !files.iter().any(|f| &f.path == relative))
        .collect())
}

/// The file's text, or `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Writes under a temporary name in the same directory, then renames into place.
fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    let mut file = AtomicFile::create(path).map_err(|e| Error::io("write", path, e))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.commit().map(drop))
        .map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileStatus;

    fn generated(path: &str, body: &str) -> GeneratedFile {
        let contents = format!("{}\n{body}\n", crate::GENERATED_MARKER);
        GeneratedFile {
            path: path.into(),
            contents,
        }
    }

    #[test]
    fn writing_twice_leaves_current_files_alone_and_removes_stale_ones() {
        let root = tempfile::tempdir().unwrap();
        let release = generated(".github/workflows/boxwright-release.yml", "a");
        let mirror = generated(".github/workflows/boxwright-mirror-x.yml", "b");
        let first = write(root.path(), Provider::Github, &[release.clone(), mirror]).unwrap();
        assert!(first.iter().all(|w| w.status == WriteStatus::Written));
        let second = write(
            root.path(),
            Provider::Github,
            std::slice::from_ref(&release),
        )
        .unwrap();
        let statuses: Vec<WriteStatus> = second.iter().map(|w| w.status).collect();
        assert_eq!(statuses, [WriteStatus::Unchanged, WriteStatus::Removed]);
        assert_eq!(providers_on_disk(root.path()).unwrap(), [Provider::Github]);
    }

    #[test]
    fn check_reports_changed_missing_and_stale_files() {
        let root = tempfile::tempdir().unwrap();
        let old = generated(".github/workflows/boxwright-mirror-old.yml", "o");
        let release = generated(".github/workflows/boxwright-release.yml", "a");
        write(root.path(), Provider::Github, &[old, release.clone()]).unwrap();
        let changed = generated(&release.path, "changed");
        let missing = generated(".github/workflows/boxwright-mirror-new.yml", "n");
        let checks = check(root.path(), Provider::Github, &[changed, missing]).unwrap();
        let statuses: Vec<FileStatus> = checks.iter().map(|c| c.check.status).collect();
        assert_eq!(
            statuses,
            [FileStatus::Changed, FileStatus::Missing, FileStatus::Stale]
        );
    }
}
