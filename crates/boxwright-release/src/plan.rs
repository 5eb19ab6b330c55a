use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use boxwright_metadata::{Project, ReleaseTag};
use serde::Serialize;

use crate::Error;

/// What one archive entry is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "source")]
pub enum EntryKind {
    Directory,
    File(PathBuf),
    Symlink(PathBuf),
    /// A second name of a file already in the archive (same device and inode): stored as a
    /// tar hard link to that earlier path, so its content is written once.
    Hardlink(String),
}

/// One entry of the archive, by its path inside the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedEntry {
    pub path: String,
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// Everything `release package` will write, computed before anything is written.
#[derive(Debug, Clone, Serialize)]
pub struct ReleasePlan {
    pub tag: ReleaseTag,
    pub output_dir: PathBuf,
    /// Sorted by path.
    pub entries: Vec<PlannedEntry>,
}

impl ReleasePlan {
    /// The archive's file name, `<tag>.tar.gz`.
    pub fn archive_name(&self) -> String {
        format!("{}.tar.gz", self.tag.tag)
    }
}

/// Checks `tag` and lists the target's release files from its output directory.
pub fn plan(project: &Project, tag: &str) -> Result<ReleasePlan, Error> {
    let tag = ReleaseTag::parse(&project.metadata, tag)?;
    let target = &project.metadata.targets[&tag.target];
    if target.release_files.is_empty() {
        return Err(Error::NoReleaseFiles { target: tag.target });
    }
    let output_dir = project.output_dir(&tag.target);
    let canonical_dir = std::fs::canonicalize(&output_dir).map_err(|_| Error::MissingFile {
        file: target.release_files[0].clone(),
        dir: output_dir.clone(),
    })?;
    let mut entries = BTreeMap::new();
    for file in &target.release_files {
        let relative = normalise(file);
        let path = output_dir.join(&relative);
        let meta = std::fs::symlink_metadata(&path).map_err(|_| Error::MissingFile {
            file: file.clone(),
            dir: output_dir.clone(),
        })?;
        check_inside(&path, &canonical_dir, &output_dir)?;
        if file.ends_with('/') {
            if !meta.is_dir() {
                return Err(Error::NotADirectory {
                    file: file.clone(),
                    path,
                });
            }
            add_tree(&path, &relative, &mut entries)?;
        } else {
            entries.insert(sort_key(&relative), entry_kind(&path, &meta)?);
        }
    }
    Ok(ReleasePlan {
        tag,
        output_dir,
        entries: link_duplicates(entries)?,
    })
}

/// Orders paths component by component, as `tar --sort=name` does, so that a directory's
/// entries stay together (`a/b` before `a.c`): NUL sorts before every character of a name.
fn sort_key(path: &str) -> String {
    path.replace('/', "\0")
}

/// In path order, every later name of an inode already seen becomes a hard link to the first.
fn link_duplicates(entries: BTreeMap<String, EntryKind>) -> Result<Vec<PlannedEntry>, Error> {
    use std::os::unix::fs::MetadataExt;
    let mut first_names: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let mut planned = Vec::with_capacity(entries.len());
    for (key, kind) in entries {
        let path = key.replace('\0', "/");
        let kind = match kind {
            EntryKind::File(source) => {
                let meta = std::fs::symlink_metadata(&source).map_err(|e| Error::Read {
                    path: source.clone(),
                    source: e,
                })?;
                let inode = (meta.dev(), meta.ino());
                if meta.nlink() < 2 {
                    EntryKind::File(source)
                } else if let Some(first) = first_names.get(&inode) {
                    EntryKind::Hardlink(first.clone())
                } else {
                    first_names.insert(inode, path.clone());
                    EntryKind::File(source)
                }
            }
            other => other,
        };
        planned.push(PlannedEntry { path, kind });
    }
    Ok(planned)
}

/// `./a//b/` → `a/b`.
fn normalise(file: &str) -> String {
    Path::new(file)
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The parent directories of `path` must not lead out of the output directory.
fn check_inside(path: &Path, canonical_dir: &Path, dir: &Path) -> Result<(), Error> {
    let parent = path.parent().unwrap_or(path);
    let canonical = std::fs::canonicalize(parent).map_err(|source| Error::Read {
        path: parent.to_path_buf(),
        source,
    })?;
    if canonical.starts_with(canonical_dir) {
        Ok(())
    } else {
        Err(Error::OutsideOutput {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
        })
    }
}

fn add_tree(
    root: &Path,
    relative: &str,
    entries: &mut BTreeMap<String, EntryKind>,
) -> Result<(), Error> {
    for item in walkdir::WalkDir::new(root).sort_by_file_name() {
        let item = item.map_err(|e| Error::Read {
            path: e.path().unwrap_or(root).to_path_buf(),
            source: std::io::Error::from(e),
        })?;
        let below = item
            .path()
            .strip_prefix(root)
            .expect("walkdir stays below its root");
        let below = below.to_str().ok_or_else(|| Error::NonUtf8 {
            path: item.path().to_path_buf(),
        })?;
        let path = if below.is_empty() {
            relative.to_string()
        } else {
            format!("{relative}/{below}")
        };
        let meta = item.metadata().map_err(|e| Error::Read {
            path: item.path().to_path_buf(),
            source: std::io::Error::from(e),
        })?;
        entries.insert(sort_key(&path), entry_kind(item.path(), &meta)?);
    }
    Ok(())
}

fn entry_kind(path: &Path, meta: &std::fs::Metadata) -> Result<EntryKind, Error> {
    let kind = meta.file_type();
    if kind.is_dir() {
        Ok(EntryKind::Directory)
    } else if kind.is_file() {
        Ok(EntryKind::File(path.to_path_buf()))
    } else if kind.is_symlink() {
        let target = std::fs::read_link(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(EntryKind::Symlink(target))
    } else {
        Err(Error::Unsupported {
            path: path.to_path_buf(),
            kind: "device, fifo or socket",
        })
    }
}
