//! One package file → its tree entries (contents in the staging store) and control files.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use boxwright_archive::Owner;
use boxwright_package::ReadLimits;
use boxwright_package::contents::{Control, DataKind, Refused, read_contents};

use super::tree::{Node, Store, TreeEntry};
use crate::Error;

/// A package's data entries in archive order and its control member.
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub entries: Vec<TreeEntry>,
    pub control: Control,
}

impl Unpacked {
    /// The staged content of the regular file (or hard link to one) at `path`.
    pub fn content(&self, path: &str) -> Option<&super::tree::Staged> {
        let entry = self.entries.iter().find(|e| e.path == path)?;
        match &entry.node {
            Node::File(staged) => Some(staged),
            Node::HardLink(target) => self.content(target),
            _ => None,
        }
    }
}

/// Reads `file` (the package `label`, for messages): regular files go into `store`;
/// devices, FIFOs and hard links to paths the package has not shipped before are refused.
pub(crate) fn unpack(
    label: &str,
    file: &Path,
    store: &Store,
    limits: &ReadLimits,
) -> Result<Unpacked, Error> {
    let refused: RefCell<Option<Error>> = RefCell::new(None);
    let mut entries = Vec::new();
    let mut files: HashMap<String, usize> = HashMap::new();
    let refuse = |path: &str, reason: String| {
        *refused.borrow_mut() = Some(Error::UnsafeEntry {
            package: label.to_string(),
            path: path.to_string(),
            reason: reason.clone(),
        });
        Refused(reason)
    };
    let control = read_contents(file, limits, |entry, data| {
        let owner = Owner {
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
        };
        let node = match &entry.kind {
            DataKind::Directory => Node::Directory,
            DataKind::File => {
                let staged = store.put(data).map_err(|e| {
                    let message = e.to_string();
                    *refused.borrow_mut() = Some(e);
                    Refused(message)
                })?;
                files.insert(entry.path.clone(), entries.len());
                Node::File(staged)
            }
            DataKind::Symlink(target) => Node::Symlink(target.clone()),
            DataKind::HardLink(target) => {
                if !files.contains_key(target) {
                    return Err(refuse(
                        &entry.path,
                        format!("a hard link to `{target}`, which is not an earlier regular file"),
                    ));
                }
                Node::HardLink(target.clone())
            }
            DataKind::Special(what) => {
                return Err(refuse(
                    &entry.path,
                    format!("a {what}; images get no special files"),
                ));
            }
        };
        entries.push(TreeEntry {
            path: entry.path.clone(),
            node,
            owner,
        });
        Ok(())
    });
    if let Some(error) = refused.into_inner() {
        return Err(error);
    }
    let control = control.map_err(|source| Error::Unpack {
        package: label.to_string(),
        source,
    })?;
    Ok(Unpacked { entries, control })
}
