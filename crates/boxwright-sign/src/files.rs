//! Writing key pairs to disk: the private key readable by its owner only, each file written
//! under a temporary name and moved into place, so a file is either absent or complete.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One file of a key pair to write.
pub struct KeyFile<'a> {
    pub path: PathBuf,
    pub contents: &'a [u8],
    /// Private keys are created with mode 0600, public ones with 0644.
    pub private: bool,
}

/// Writes the files (all of them staged first, then moved into place). Without `overwrite`,
/// an existing file is an [`Error::Exists`] and nothing is written; the final move never
/// replaces a file that appeared meanwhile.
pub fn write_key_files(files: &[KeyFile<'_>], overwrite: bool) -> Result<()> {
    if !overwrite && let Some(existing) = files.iter().find(|f| f.path.exists()) {
        return Err(Error::Exists {
            path: existing.path.clone(),
        });
    }
    let mut staged = Vec::with_capacity(files.len());
    let result = (|| {
        for file in files {
            staged.push(stage(file)?);
        }
        for (temporary, file) in staged.iter().zip(files) {
            commit(temporary, &file.path, overwrite)?;
        }
        Ok(())
    })();
    for temporary in &staged {
        let _ = std::fs::remove_file(temporary);
    }
    result
}

fn stage(file: &KeyFile<'_>) -> Result<PathBuf> {
    let name = file
        .path
        .file_name()
        .ok_or_else(|| Error::io("write", &file.path, std::io::ErrorKind::InvalidInput.into()))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".tmp{}", std::process::id()));
    let temporary = file.path.with_file_name(temporary_name);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if file.private { 0o600 } else { 0o644 })
        .open(&temporary)
        .map_err(|e| Error::io("create", &temporary, e))?;
    out.write_all(file.contents)
        .and_then(|()| out.sync_all())
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            Error::io("write", &temporary, e)
        })?;
    Ok(temporary)
}

fn commit(temporary: &Path, target: &Path, overwrite: bool) -> Result<()> {
    if overwrite {
        std::fs::rename(temporary, target).map_err(|e| Error::io("write", target, e))
    } else {
        // A hard link fails when the target exists: no check-then-rename race.
        std::fs::hard_link(temporary, target).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Exists {
                    path: target.to_path_buf(),
                }
            } else {
                Error::io("write", target, e)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_modes_refuses_overwrite_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.key");
        let public = dir.path().join("k.pub");
        let files = |a: &'static [u8]| {
            vec![
                KeyFile {
                    path: key.clone(),
                    contents: a,
                    private: true,
                },
                KeyFile {
                    path: public.clone(),
                    contents: b"public",
                    private: false,
                },
            ]
        };
        write_key_files(&files(b"one"), false).unwrap();
        assert_eq!(std::fs::read(&key).unwrap(), b"one");
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&public) & 0o600, 0o600);

        let error = write_key_files(&files(b"two"), false).unwrap_err();
        assert!(matches!(error, Error::Exists { .. }), "{error}");
        assert_eq!(std::fs::read(&key).unwrap(), b"one");

        write_key_files(&files(b"two"), true).unwrap();
        assert_eq!(std::fs::read(&key).unwrap(), b"two");
        assert_eq!(mode(&key), 0o600);
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
