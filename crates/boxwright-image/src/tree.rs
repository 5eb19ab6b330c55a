//! A read-only view of an image's file tree: what each path is (type, mode, owner, link
//! target) and, for the few files the account and service code reads, their contents. Made
//! from a directory (an unpacked rootfs, an install staging tree), a flat rootfs tar stream
//! (an exported image) or entry by entry by the caller. Symbolic links are resolved inside
//! the image, never on the host.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::Error;

/// The most symbolic links followed while resolving one path (Linux's limit).
const MAX_LINKS: usize = 40;
/// The largest file whose contents are kept.
const MAX_CONTENTS: u64 = 1 << 20;
/// How much of an executable file is kept: enough for a `#!` line.
const HEAD: u64 = 256;

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Directory,
    File,
    /// A symbolic link and its target, as written.
    Symlink(String),
    /// A hard link to another path of the tree.
    HardLink(String),
    /// A device, fifo or socket.
    Other,
}

/// One path of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    /// Permission bits (with setuid, setgid, sticky).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// An image's file tree by path (relative, no leading `/`, no trailing `/`).
#[derive(Debug, Clone, Default)]
pub struct TreeIndex {
    nodes: BTreeMap<String, Node>,
    contents: BTreeMap<String, Vec<u8>>,
    /// The first bytes of executable files (to tell scripts and their `#!` line).
    heads: BTreeMap<String, Vec<u8>>,
    /// For a tree read from a directory: where to read contents not kept.
    root: Option<PathBuf>,
}

/// The files whose contents the account and service code reads.
pub fn wanted_contents(path: &str) -> bool {
    matches!(
        path,
        "etc/passwd"
            | "etc/group"
            | "etc/shadow"
            | "usr/share/base-passwd/passwd.master"
            | "usr/share/base-passwd/group.master"
    ) || path
        .strip_prefix("etc/services.d/")
        .and_then(|rest| rest.strip_suffix("/run"))
        .is_some_and(|service| !service.is_empty() && !service.contains('/'))
}

/// `path` as a tree key: no leading `/` or `./`, no trailing `/`, no `.` components.
pub fn key(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl TreeIndex {
    /// An empty tree (only the root directory).
    pub fn new() -> TreeIndex {
        TreeIndex::default()
    }

    /// Sets `path` to `node` (parents are not added; a missing parent reads as absent).
    pub fn insert(&mut self, path: &str, node: Node) {
        self.nodes.insert(key(path), node);
    }

    /// Keeps the contents of the file at `path`.
    pub fn set_contents(&mut self, path: &str, contents: Vec<u8>) {
        self.contents.insert(key(path), contents);
    }

    /// The tree below `root` (symbolic links not followed); contents are read when asked for.
    pub fn from_dir(root: &Path) -> Result<TreeIndex, Error> {
        use std::os::unix::fs::MetadataExt;
        let mut tree = TreeIndex {
            root: Some(root.to_path_buf()),
            ..TreeIndex::default()
        };
        for entry in walkdir::WalkDir::new(root).min_depth(1) {
            let entry = entry.map_err(|e| Error::Tree {
                path: root.to_path_buf(),
                message: e.to_string(),
            })?;
            let metadata = entry.metadata().map_err(|e| Error::Tree {
                path: entry.path().to_path_buf(),
                message: e.to_string(),
            })?;
            let relative = entry.path().strip_prefix(root).expect("below the root");
            let file_type = metadata.file_type();
            let kind = if file_type.is_dir() {
                NodeKind::Directory
            } else if file_type.is_file() {
                NodeKind::File
            } else if file_type.is_symlink() {
                let target = std::fs::read_link(entry.path()).map_err(|e| Error::Tree {
                    path: entry.path().to_path_buf(),
                    message: e.to_string(),
                })?;
                NodeKind::Symlink(target.to_string_lossy().into_owned())
            } else {
                NodeKind::Other
            };
            tree.insert(
                &relative.to_string_lossy(),
                Node {
                    kind,
                    mode: metadata.mode() & 0o7777,
                    uid: metadata.uid(),
                    gid: metadata.gid(),
                },
            );
        }
        Ok(tree)
    }

    /// The tree of a tar stream (a flat rootfs: later entries replace earlier ones), keeping
    /// the contents of the files [`wanted_contents`] names.
    pub fn from_tar(reader: impl Read, what: &Path) -> Result<TreeIndex, Error> {
        let bad = |message: String| Error::Tree {
            path: what.to_path_buf(),
            message,
        };
        let mut tree = TreeIndex::new();
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
            let mut entry = entry.map_err(|e| bad(e.to_string()))?;
            let header = entry.header();
            let path = key(&String::from_utf8_lossy(&entry.path_bytes()));
            let link = || {
                entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default()
            };
            let kind = match header.entry_type() {
                tar::EntryType::Directory => NodeKind::Directory,
                tar::EntryType::Regular | tar::EntryType::Continuous => NodeKind::File,
                tar::EntryType::Symlink => NodeKind::Symlink(link()),
                tar::EntryType::Link => NodeKind::HardLink(key(&link())),
                _ => NodeKind::Other,
            };
            let node = Node {
                kind,
                mode: header.mode().map_err(|e| bad(e.to_string()))? & 0o7777,
                uid: u32::try_from(header.uid().unwrap_or(0)).unwrap_or(u32::MAX),
                gid: u32::try_from(header.gid().unwrap_or(0)).unwrap_or(u32::MAX),
            };
            tree.contents.remove(&path);
            tree.heads.remove(&path);
            if node.kind == NodeKind::File && wanted_contents(&path) && entry.size() <= MAX_CONTENTS
            {
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| bad(format!("{path}: {e}")))?;
                tree.contents.insert(path.clone(), bytes);
            } else if node.kind == NodeKind::File && node.mode & 0o111 != 0 {
                let mut bytes = Vec::new();
                (&mut entry)
                    .take(HEAD)
                    .read_to_end(&mut bytes)
                    .map_err(|e| bad(format!("{path}: {e}")))?;
                tree.heads.insert(path.clone(), bytes);
            }
            tree.nodes.insert(path, node);
        }
        Ok(tree)
    }

    /// Every path of the tree, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// The first bytes (up to 256) of the regular file at `path` (links followed).
    pub fn head(&self, path: &str) -> Option<Vec<u8>> {
        let resolved = self.resolve(path).ok()?;
        if let Some(bytes) = self.heads.get(&resolved) {
            return Some(bytes.clone());
        }
        let mut bytes = self.contents(&resolved)?;
        bytes.truncate(usize::try_from(HEAD).unwrap_or(usize::MAX));
        Some(bytes)
    }

    /// The node at `path` itself (links not followed); the root is a directory.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(&key(path))
    }

    /// Whether anything is at `path` (links not followed).
    pub fn exists(&self, path: &str) -> bool {
        let path = key(path);
        path.is_empty() || self.nodes.contains_key(&path)
    }

    /// The names directly below the directory `path`, sorted.
    pub fn children(&self, path: &str) -> Vec<String> {
        let prefix = match key(path) {
            dir if dir.is_empty() => String::new(),
            dir => format!("{dir}/"),
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(path, _)| path.starts_with(&prefix))
            .filter_map(|(path, _)| {
                let rest = &path[prefix.len()..];
                (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
            })
            .collect()
    }

    /// The contents of the regular file at `path` (links followed), if kept or readable.
    pub fn contents(&self, path: &str) -> Option<Vec<u8>> {
        let resolved = self.resolve(path).ok()?;
        if let Some(bytes) = self.contents.get(&resolved) {
            return Some(bytes.clone());
        }
        let root = self.root.as_ref()?;
        let file = std::fs::File::open(root.join(&resolved)).ok()?;
        let mut bytes = Vec::new();
        file.take(MAX_CONTENTS).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    /// `path` with every symbolic link in it followed inside the tree (absolute targets from
    /// the image's root, `..` stopping at the root) and hard links taken to their target.
    pub fn resolve(&self, path: &str) -> Result<String, ResolveError> {
        let mut links = 0;
        let mut done: Vec<String> = Vec::new();
        let mut pending: Vec<String> = key(path).split('/').rev().map(str::to_string).collect();
        pending.retain(|part| !part.is_empty());
        while let Some(part) = pending.pop() {
            if part == ".." {
                done.pop();
                continue;
            }
            if part == "." {
                continue;
            }
            done.push(part);
            let here = done.join("/");
            let Some(node) = self.nodes.get(&here) else {
                return Err(ResolveError::Missing(format!("/{here}")));
            };
            match &node.kind {
                NodeKind::Symlink(target) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(ResolveError::Loop(format!("/{here}")));
                    }
                    done.pop();
                    if target.starts_with('/') {
                        done.clear();
                    }
                    pending.extend(
                        target
                            .split('/')
                            .rev()
                            .filter(|p| !p.is_empty())
                            .map(str::to_string),
                    );
                }
                NodeKind::HardLink(target) if pending.is_empty() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(ResolveError::Loop(format!("/{here}")));
                    }
                    done = target.split('/').map(str::to_string).collect();
                    if !self.nodes.contains_key(target) {
                        return Err(ResolveError::Missing(format!("/{target}")));
                    }
                }
                NodeKind::Directory => {}
                _ if !pending.is_empty() => {
                    return Err(ResolveError::NotADirectory(format!("/{here}")));
                }
                _ => {}
            }
        }
        Ok(done.join("/"))
    }

    /// The node `path` ends at, links followed.
    pub fn resolved_node(&self, path: &str) -> Result<&Node, ResolveError> {
        let resolved = self.resolve(path)?;
        self.nodes
            .get(&resolved)
            .ok_or_else(|| ResolveError::NotAFile(format!("/{resolved}")))
    }

    /// Whether `path` (links followed) is a regular file with an execute bit.
    pub fn executable(&self, path: &str) -> Result<(), ResolveError> {
        let node = self.resolved_node(path)?;
        let at = || format!("/{}", self.resolve(path).unwrap_or_default());
        match node.kind {
            NodeKind::File if node.mode & 0o111 != 0 => Ok(()),
            NodeKind::File => Err(ResolveError::NotExecutable(at())),
            _ => Err(ResolveError::NotAFile(at())),
        }
    }
}

/// Why a path does not lead to what was asked for; each names the path where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("{0} does not exist")]
    Missing(String),
    #[error("{0} is not a directory")]
    NotADirectory(String),
    #[error("too many symbolic links at {0}")]
    Loop(String),
    #[error("{0} is not a regular file")]
    NotAFile(String),
    #[error("{0} is not executable")]
    NotExecutable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn node(kind: NodeKind, mode: u32) -> Node {
        Node {
            kind,
            mode,
            uid: 0,
            gid: 0,
        }
    }

    fn sample() -> TreeIndex {
        let mut tree = TreeIndex::new();
        for dir in ["usr", "usr/bin", "etc", "lib"] {
            tree.insert(dir, node(NodeKind::Directory, 0o755));
        }
        tree.insert("bin", node(NodeKind::Symlink("usr/bin".into()), 0o777));
        tree.insert("usr/bin/busybox", node(NodeKind::File, 0o755));
        tree.insert(
            "usr/bin/sh",
            node(NodeKind::Symlink("busybox".into()), 0o777),
        );
        tree.insert(
            "usr/bin/ash",
            node(NodeKind::HardLink("usr/bin/busybox".into()), 0o755),
        );
        tree.insert(
            "usr/bin/up",
            node(
                NodeKind::Symlink("../../etc/../usr/bin/busybox".into()),
                0o777,
            ),
        );
        tree.insert(
            "usr/bin/loop",
            node(NodeKind::Symlink("/usr/bin/loop".into()), 0o777),
        );
        tree.insert("etc/motd", node(NodeKind::File, 0o644));
        tree
    }

    #[test]
    fn links_resolve_inside_the_tree() {
        let tree = sample();
        assert_eq!(tree.resolve("/bin/sh").unwrap(), "usr/bin/busybox");
        assert_eq!(tree.resolve("/usr/bin/ash").unwrap(), "usr/bin/busybox");
        assert_eq!(tree.resolve("/bin/up").unwrap(), "usr/bin/busybox");
        assert_eq!(tree.resolve("/../../bin/sh").unwrap(), "usr/bin/busybox");
        assert!(matches!(
            tree.resolve("/bin/loop"),
            Err(ResolveError::Loop(_))
        ));
        assert_eq!(
            tree.resolve("/bin/nope"),
            Err(ResolveError::Missing("/usr/bin/nope".into()))
        );
        assert_eq!(
            tree.resolve("/etc/motd/x"),
            Err(ResolveError::NotADirectory("/etc/motd".into()))
        );
        assert!(tree.executable("/bin/sh").is_ok());
        assert_eq!(
            tree.executable("/etc/motd"),
            Err(ResolveError::NotExecutable("/etc/motd".into()))
        );
        assert_eq!(
            tree.executable("/usr/bin"),
            Err(ResolveError::NotAFile("/usr/bin".into()))
        );
        assert_eq!(tree.children("/usr/bin").len(), 5);
        assert_eq!(tree.children("/"), ["bin", "etc", "lib", "usr"]);
    }

    #[test]
    fn a_directory_and_a_tar_stream_give_the_same_view() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc/services.d/web")).unwrap();
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        std::fs::write(root.join("etc/services.d/web/run"), "#!/bin/execlineb -P\n").unwrap();
        std::fs::set_permissions(
            root.join("etc/services.d/web/run"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("usr/bin", root.join("bin")).unwrap();
        let from_dir = TreeIndex::from_dir(root).unwrap();
        let mut tar = tar::Builder::new(Vec::new());
        tar.follow_symlinks(false);
        tar.append_dir_all(".", root).unwrap();
        let bytes = tar.into_inner().unwrap();
        let from_tar = TreeIndex::from_tar(bytes.as_slice(), Path::new("x.tar")).unwrap();
        for tree in [&from_dir, &from_tar] {
            assert_eq!(
                tree.get("bin").unwrap().kind,
                NodeKind::Symlink("usr/bin".into())
            );
            assert_eq!(tree.get("/etc/services.d/web/run").unwrap().mode, 0o755);
            assert_eq!(
                tree.contents("etc/services.d/web/run").unwrap(),
                b"#!/bin/execlineb -P\n"
            );
        }
    }
}
