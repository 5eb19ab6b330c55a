//! Layers assembled from downloads (`image.layers`): archives unpacked at a path of the image
//! with leading components stripped, single files placed with a mode. Everything is staged
//! in a fresh directory whose tree then becomes layer entries; archives go through the safe
//! unpacker (no `..`, no absolute paths, no links leading out, no devices).

use std::path::{Component, Path, PathBuf};

use crate::Error;

/// One layer source, with its download already on disk.
#[derive(Debug, Clone)]
pub enum StagedSource {
    /// An archive unpacked at `to` (an absolute image path), `strip_components` dropped.
    Archive {
        path: PathBuf,
        to: String,
        strip_components: usize,
    },
    /// A file placed at `to` with `mode` (default 0644).
    File {
        path: PathBuf,
        to: String,
        mode: Option<u32>,
    },
}

/// Stages `sources` in order (later ones replace earlier ones) under `dir/root`, emptied
/// first; returns that root.
pub fn stage(sources: &[StagedSource], dir: &Path) -> Result<PathBuf, Error> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(Error::io(dir))?;
    }
    let root = dir.join("root");
    std::fs::create_dir_all(&root).map_err(Error::io(&root))?;
    for (i, source) in sources.iter().enumerate() {
        match source {
            StagedSource::Archive {
                path,
                to,
                strip_components,
            } => {
                let unpacked = dir.join(format!("unpacked-{i}"));
                std::fs::create_dir_all(&unpacked).map_err(Error::io(&unpacked))?;
                boxwright_archive::unpack(path, &unpacked, &boxwright_archive::Limits::default())
                    .map_err(|e| Error::Invalid {
                    path: path.clone(),
                    what: "archive",
                    message: error_chain(&e),
                })?;
                let dest = inside(&root, to)?;
                move_stripped(&unpacked, *strip_components, &dest)?;
                std::fs::remove_dir_all(&unpacked).map_err(Error::io(&unpacked))?;
            }
            StagedSource::File { path, to, mode } => {
                let dest = inside(&root, to)?;
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
                }
                if dest.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                    std::fs::remove_dir_all(&dest).map_err(Error::io(&dest))?;
                }
                std::fs::copy(path, &dest).map_err(Error::io(path))?;
                set_mode(&dest, mode.unwrap_or(0o644))?;
            }
        }
    }
    Ok(root)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(Error::io(path))
}

/// `root` joined with the image path `to`, which must stay below it.
fn inside(root: &Path, to: &str) -> Result<PathBuf, Error> {
    let mut path = root.to_path_buf();
    for component in Path::new(to).components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => path.push(part),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::BadImagePath {
                    path: to.to_string(),
                    reason: "must not contain `..`",
                });
            }
        }
    }
    Ok(path)
}

/// Moves what is below `from`, minus its first `strip` path components, into `to`; entries
/// no deeper than `strip` are dropped (as `tar --strip-components` does).
fn move_stripped(from: &Path, strip: usize, to: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(to).map_err(Error::io(to))?;
    for item in walkdir::WalkDir::new(from)
        .min_depth(strip + 1)
        .sort_by_file_name()
    {
        let item = item.map_err(|e| Error::Io {
            path: from.to_path_buf(),
            source: std::io::Error::from(e),
        })?;
        let relative: PathBuf = item
            .path()
            .strip_prefix(from)
            .expect("below the root")
            .components()
            .skip(strip)
            .collect();
        let dest = to.join(&relative);
        let kind = item.file_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&dest).map_err(Error::io(&dest))?;
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        if dest.symlink_metadata().is_ok() {
            if dest.is_dir() && !dest.is_symlink() {
                std::fs::remove_dir_all(&dest).map_err(Error::io(&dest))?;
            } else {
                std::fs::remove_file(&dest).map_err(Error::io(&dest))?;
            }
        }
        if kind.is_symlink() {
            let link = std::fs::read_link(item.path()).map_err(Error::io(item.path()))?;
            std::os::unix::fs::symlink(link, &dest).map_err(Error::io(&dest))?;
        } else {
            std::fs::rename(item.path(), &dest).map_err(Error::io(&dest))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(dir: &Path, entries: &[(&str, &[u8], u32)]) -> PathBuf {
        let path = dir.join("a.tar");
        let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
        for (name, data, mode) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(*mode);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.finish().unwrap();
        path
    }

    #[test]
    fn archives_are_stripped_and_files_replace_what_is_there() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let archive = tarball(
            dir.path(),
            &[
                ("app-1.0/bin/app", b"old binary", 0o755),
                ("app-1.0/share/doc.txt", b"doc", 0o644),
                ("top.txt", b"dropped by strip", 0o644),
            ],
        );
        let replacement = dir.path().join("new-app");
        std::fs::write(&replacement, b"new binary").unwrap();
        let root = stage(
            &[
                StagedSource::Archive {
                    path: archive,
                    to: "/opt/app".into(),
                    strip_components: 1,
                },
                StagedSource::File {
                    path: replacement,
                    to: "/opt/app/bin/app".into(),
                    mode: Some(0o755),
                },
            ],
            &dir.path().join("stage"),
        )
        .unwrap();
        let app = root.join("opt/app/bin/app");
        assert_eq!(std::fs::read(&app).unwrap(), b"new binary");
        assert_eq!(
            std::fs::metadata(&app).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(
            std::fs::read(root.join("opt/app/share/doc.txt")).unwrap(),
            b"doc"
        );
        assert!(!root.join("opt/app/top.txt").exists());
        assert!(matches!(
            stage(
                &[StagedSource::File {
                    path: app,
                    to: "/../etc/passwd".into(),
                    mode: None
                }],
                &dir.path().join("stage2")
            ),
            Err(Error::BadImagePath { .. })
        ));
    }
}
