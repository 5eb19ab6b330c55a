//! The packages' entries merged into one tree, as the package manager would leave them:
//! a directory shipped by several packages keeps the first one's mode and owner; a file
//! shipped twice must be identical unless the later package replaces the earlier.

use std::collections::BTreeMap;

use super::tree::{Node, TreeEntry, order_key, parent};
use super::unpack::Unpacked;
use crate::{Candidate, Error, Kind};

/// One package with what was read from its file.
pub(crate) struct Unit<'a> {
    pub candidate: &'a Candidate,
    pub unpacked: &'a Unpacked,
}

impl Unit<'_> {
    /// `name version`, for messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.candidate.name, self.candidate.version)
    }

    /// The names this package replaces (Debian `Replaces`, apk `r:`/`replaces`).
    fn replaces(&self) -> Vec<String> {
        let (key, separator) = match self.candidate.kind {
            Kind::Deb => ("Replaces", ','),
            Kind::Apk => ("r", ' '),
        };
        self.candidate
            .fields
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .flat_map(|(_, v)| v.split(separator).map(str::to_string).collect::<Vec<_>>())
            .filter_map(|item| {
                item.split([' ', '(', ':', '=', '<', '>'])
                    .find(|s| !s.is_empty())
                    .map(str::to_string)
            })
            .collect()
    }
}

/// The merged tree: path (in layer order) → the entry and the index of the package that
/// provides it.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    pub entries: BTreeMap<String, (TreeEntry, usize)>,
}

impl Merged {
    pub fn get(&self, path: &str) -> Option<&TreeEntry> {
        self.entries.get(&order_key(path)).map(|(entry, _)| entry)
    }

    /// The entries below `dir` (all depths), in order.
    pub fn below<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a TreeEntry> + 'a {
        let prefix = order_key(&format!("{dir}/"));
        self.entries
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, (entry, _))| entry)
    }
}

pub(crate) fn merge(units: &[Unit<'_>]) -> Result<Merged, Error> {
    let mut merged = Merged::default();
    for (index, unit) in units.iter().enumerate() {
        let replaces = unit.replaces();
        for entry in &unit.unpacked.entries {
            check_parent(&merged, unit, entry)?;
            let key = order_key(&entry.path);
            match merged.entries.get(&key) {
                None => {}
                Some((existing, _)) if existing.node == Node::Directory => {
                    if entry.node == Node::Directory {
                        continue;
                    }
                    return Err(conflict(units, &merged, &key, unit, entry));
                }
                Some((existing, owner)) => {
                    let same = same_content(existing, entry);
                    if same {
                        continue;
                    }
                    if !replaces.contains(&units[*owner].candidate.name) {
                        return Err(conflict(units, &merged, &key, unit, entry));
                    }
                }
            }
            merged.entries.insert(key, (entry.clone(), index));
        }
    }
    Ok(merged)
}

/// A path may only be below a directory of the tree (never below a symbolic link or file).
fn check_parent(merged: &Merged, unit: &Unit<'_>, entry: &TreeEntry) -> Result<(), Error> {
    let Some(parent) = parent(&entry.path) else {
        return Ok(());
    };
    match merged.get(parent) {
        Some(found) if found.node != Node::Directory => Err(Error::UnsafeEntry {
            package: unit.label(),
            path: entry.path.clone(),
            reason: format!("`{parent}` is not a directory in the tree"),
        }),
        _ => Ok(()),
    }
}

/// Identical files (by SHA-256), identical links.
fn same_content(a: &TreeEntry, b: &TreeEntry) -> bool {
    match (&a.node, &b.node) {
        (Node::File(x), Node::File(y)) => x.sha256 == y.sha256,
        (Node::Symlink(x), Node::Symlink(y)) => x == y,
        _ => false,
    }
}

fn conflict(
    units: &[Unit<'_>],
    merged: &Merged,
    key: &str,
    unit: &Unit<'_>,
    entry: &TreeEntry,
) -> Error {
    let first = merged.entries[key].1;
    Error::FileConflict {
        path: entry.path.clone(),
        first: units[first].label(),
        second: unit.label(),
    }
}
