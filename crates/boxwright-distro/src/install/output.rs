//! An install tree as `boxwright-oci` layers or as a directory.

use std::collections::BTreeMap;
use std::path::Path;

use boxwright_oci::{LayerEntry, LayerSpec};

use super::tree::{Node, TreeEntry, order_key};
use super::{Installed, Part};
use crate::Error;

/// How the packages become layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layering {
    /// The whole tree in one layer.
    #[default]
    Single,
    /// One layer per package, sorted by name, then the generated files (database...).
    PerPackage,
}

impl Installed {
    /// The tree as layers (bottom first). The same tree gives the same layers.
    pub fn layers(&self, layering: Layering) -> Result<Vec<LayerSpec>, Error> {
        match layering {
            Layering::Single => Ok(vec![spec(self.flattened().into_values())?]),
            Layering::PerPackage => {
                let mut layers = Vec::new();
                for part in &self.packages {
                    layers.push(spec(part_entries(part).into_values())?);
                }
                layers.push(spec(self.generated.iter())?);
                Ok(layers)
            }
        }
    }

    /// Every path of the tree, in layer order: a directory keeps the first package's mode
    /// and owner, a file the last one's (the merge allowed only identical files or
    /// replacements), generated entries over both.
    pub fn flattened(&self) -> BTreeMap<String, &TreeEntry> {
        let mut all: BTreeMap<String, &TreeEntry> = BTreeMap::new();
        for part in &self.packages {
            for (key, entry) in part_entries(part) {
                if entry.node == Node::Directory && all.contains_key(&key) {
                    continue;
                }
                all.insert(key, entry);
            }
        }
        for entry in &self.generated {
            all.insert(order_key(&entry.path), entry);
        }
        all
    }

    /// Writes the tree into the directory `root` (created when missing): directories, file
    /// contents copied from the staging store, links, and modes; owners too where the
    /// process may change them (as root), else they stay the writer's.
    pub fn write_to(&self, root: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(root).map_err(Error::io("create", root))?;
        let flattened = self.flattened();
        let mut directories = Vec::new();
        for entry in flattened.values() {
            let path = root.join(&entry.path);
            check_parent(root, &entry.path)?;
            write_entry(root, entry, &path)?;
            if entry.node == Node::Directory {
                directories.push((path, *entry));
            } else if matches!(entry.node, Node::File(_)) {
                set_mode(&path, entry)?;
            }
        }
        // Directory modes last, deepest first, so a read-only directory is filled first.
        for (path, entry) in directories.into_iter().rev() {
            set_mode(&path, entry)?;
        }
        Ok(())
    }
}

fn part_entries(part: &Part) -> BTreeMap<String, &TreeEntry> {
    part.entries
        .iter()
        .map(|entry| (order_key(&entry.path), entry))
        .collect()
}

fn spec<'a>(entries: impl Iterator<Item = &'a TreeEntry>) -> Result<LayerSpec, Error> {
    let mut spec = LayerSpec::default();
    for entry in entries {
        let layer_entry = match &entry.node {
            Node::Directory => LayerEntry::DirectoryAs(entry.owner),
            Node::File(staged) => LayerEntry::FileAs(staged.blob.clone(), entry.owner),
            Node::Symlink(target) => LayerEntry::SymlinkAs(target.into(), entry.owner),
            Node::HardLink(target) => LayerEntry::HardLink(target.clone()),
        };
        spec.insert(&entry.path, layer_entry)
            .map_err(Error::Layer)?;
    }
    Ok(spec)
}

/// Nothing is written through a symbolic link: the parent must be a real directory.
fn check_parent(root: &Path, path: &str) -> Result<(), Error> {
    let mut current = root.to_path_buf();
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::UnsafeEntry {
                    package: "install tree".into(),
                    path: path.to_string(),
                    reason: format!("`{}` is not a directory", current.display()),
                });
            }
            Err(_) => std::fs::create_dir(&current).map_err(Error::io("create", &current))?,
        }
    }
    Ok(())
}

fn write_entry(root: &Path, entry: &TreeEntry, path: &Path) -> Result<(), Error> {
    match &entry.node {
        Node::Directory => match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => Ok(()),
            _ => std::fs::create_dir(path).map_err(Error::io("create", path)),
        },
        Node::File(staged) => {
            let temp = path.with_file_name(format!(
                ".{}.boxwright-tmp",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
            ));
            std::fs::copy(&staged.blob, &temp).map_err(Error::io("write", &temp))?;
            std::fs::rename(&temp, path).map_err(Error::io("rename into", path))
        }
        Node::Symlink(target) => {
            let _ = std::fs::remove_file(path);
            std::os::unix::fs::symlink(target, path).map_err(Error::io("create the link", path))
        }
        Node::HardLink(target) => {
            let _ = std::fs::remove_file(path);
            std::fs::hard_link(root.join(target), path)
                .map_err(Error::io("create the hard link", path))
        }
    }
}

fn set_mode(path: &Path, entry: &TreeEntry) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    // chown first: it clears setuid and setgid bits, which the mode then sets again.
    if let Err(error) =
        std::os::unix::fs::lchown(path, Some(entry.owner.uid), Some(entry.owner.gid))
        && error.kind() != std::io::ErrorKind::PermissionDenied
    {
        return Err(Error::io("change the owner of", path)(error));
    }
    std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(entry.owner.mode & 0o7777),
    )
    .map_err(Error::io("set the mode of", path))
}
