//! The merged filesystem: layers applied in order, metadata only. File contents stay in the
//! layers (or, once copied, in the spool); the tree records where each one is.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use tar::EntryType;

use super::EntryProblem;
use super::name::{Class, SEP, classify, normalise, subtree_bounds};
use super::read::Parsed;

/// Metadata of an entry, as written to the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Meta {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    /// Index into [`Names`].
    pub uname: u32,
    pub gname: u32,
    /// Encoded pax xattr records in the spool.
    pub xattrs: Option<Blob>,
}

/// Bytes in the spool file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Blob {
    pub offset: u64,
    pub len: u64,
}

/// A directory that no layer has an entry for, only entries below it: 0755, root, time 0.
const IMPLICIT: Meta = Meta {
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0,
    uname: 0,
    gname: 0,
    xattrs: None,
};

/// Anything but a directory: what a hard link shares with its target.
#[derive(Debug)]
pub(super) struct Object {
    pub meta: Meta,
    pub body: Body,
}

#[derive(Debug)]
pub(super) enum Body {
    File {
        /// Where the content is: layer index and entry position in it.
        layer: usize,
        position: u64,
        size: u64,
        /// The content once copied into the spool.
        data: Option<Blob>,
    },
    Symlink(Box<[u8]>),
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
}

impl Body {
    fn is_file(&self) -> bool {
        matches!(self, Body::File { .. })
    }
}

#[derive(Debug)]
pub(super) enum Kind {
    Dir(Meta),
    /// Index into the objects.
    Object(usize),
    /// A hard link to the path `target` (a tree key). `fallback` is the object the target was
    /// when the link was read: the link becomes that object when its target ends up missing
    /// or as something else.
    Link {
        target: Box<[u8]>,
        fallback: usize,
    },
}

#[derive(Debug)]
pub(super) struct Node {
    pub kind: Kind,
    /// The layer whose entry (or implicit directory) gave this version.
    layer: usize,
    /// The last layer that had this path, as an entry or as the parent of one. Whiteouts
    /// hide only what a layer below put there.
    touched: usize,
}

/// Interned owner and group names; index 0 is the empty name.
#[derive(Debug)]
pub(super) struct Names {
    list: Vec<Box<[u8]>>,
    index: HashMap<Box<[u8]>, u32>,
}

impl Names {
    fn new() -> Self {
        let empty: Box<[u8]> = Box::default();
        Names {
            list: vec![empty.clone()],
            index: HashMap::from([(empty, 0)]),
        }
    }

    fn intern(&mut self, name: &[u8]) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(name.into());
        self.index.insert(name.into(), i);
        i
    }

    pub(super) fn get(&self, i: u32) -> &[u8] {
        self.list.get(i as usize).map_or(&[][..], |n| n)
    }
}

/// Longest chain of hard links to hard links that is followed.
const MAX_HOPS: usize = 64;

/// Why an entry could not be applied.
pub(super) enum ApplyError {
    Problem(EntryProblem),
    /// The tree would hold more than the entry limit.
    TooMany,
}

impl From<EntryProblem> for ApplyError {
    fn from(problem: EntryProblem) -> Self {
        ApplyError::Problem(problem)
    }
}

pub(super) struct Tree {
    pub nodes: BTreeMap<Vec<u8>, Node>,
    pub objects: Vec<Object>,
    pub names: Names,
    /// Entries read plus implicit directories made, against `limit`.
    counted: u64,
    limit: u64,
}

impl Tree {
    pub(super) fn new(limit: u64) -> Self {
        Tree {
            nodes: BTreeMap::new(),
            objects: Vec::new(),
            names: Names::new(),
            counted: 0,
            limit,
        }
    }

    /// Counts one entry read or directory made against the limit.
    pub(super) fn count(&mut self) -> Result<(), ApplyError> {
        self.counted += 1;
        if self.counted > self.limit {
            Err(ApplyError::TooMany)
        } else {
            Ok(())
        }
    }

    /// Applies one entry of layer `layer` at entry position `position`. `xattrs` is where
    /// the entry's xattr records were spooled, if it has any.
    pub(super) fn apply(
        &mut self,
        layer: usize,
        position: u64,
        entry: &Parsed,
        xattrs: Option<Blob>,
    ) -> Result<(), ApplyError> {
        if entry.kind == EntryType::XGlobalHeader {
            // Global pax records (often only a commit id) describe no file.
            return Ok(());
        }
        let key = normalise(&entry.name)?;
        match classify(&key)? {
            Class::Plain => {}
            Class::Ignored => return Ok(()),
            Class::Opaque(dir) => {
                self.opaque(&dir, layer);
                return Ok(());
            }
            Class::Whiteout(target) => {
                self.whiteout(&target, layer);
                return Ok(());
            }
        }
        let meta = Meta {
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            mtime: entry.mtime,
            uname: self.names.intern(&entry.uname),
            gname: self.names.intern(&entry.gname),
            xattrs,
        };
        let pending = match entry.kind {
            // Old archives mark directories with a trailing slash on a regular entry.
            EntryType::Regular if entry.name.ends_with(b"/") => Pending::Dir,
            EntryType::Directory => Pending::Dir,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                Pending::Object(Body::File {
                    layer,
                    position,
                    size: entry.size,
                    data: None,
                })
            }
            EntryType::Symlink => match entry.link.as_deref() {
                Some(target) if !target.is_empty() => Pending::Object(Body::Symlink(target.into())),
                _ => {
                    return Err(EntryProblem::LinkTargetInvalid {
                        target: String::new(),
                    }
                    .into());
                }
            },
            EntryType::Char => Pending::Object(Body::Char(entry.device.0, entry.device.1)),
            EntryType::Block => Pending::Object(Body::Block(entry.device.0, entry.device.1)),
            EntryType::Fifo => Pending::Object(Body::Fifo),
            EntryType::Link => Pending::Link(self.link_target(entry.link.as_deref())?),
            other => {
                return Err(EntryProblem::UnsupportedType {
                    kind: super::name::display(&[other.as_byte()]),
                }
                .into());
            }
        };
        if key.is_empty() {
            // The root itself: its metadata is not part of the output.
            return if matches!(pending, Pending::Dir) {
                Ok(())
            } else {
                Err(EntryProblem::RootNotDirectory.into())
            };
        }
        let kind = match pending {
            Pending::Dir => Kind::Dir(meta),
            Pending::Object(body) => {
                self.objects.push(Object { meta, body });
                Kind::Object(self.objects.len() - 1)
            }
            Pending::Link((target, fallback)) => Kind::Link { target, fallback },
        };
        self.make_parents(&key, layer)?;
        self.place(key, layer, kind);
        Ok(())
    }

    /// The target key of a hard link and the object it is now.
    fn link_target(&self, link: Option<&[u8]>) -> Result<(Box<[u8]>, usize), EntryProblem> {
        let raw = link.unwrap_or_default();
        let missing = || EntryProblem::HardlinkMissing {
            target: super::name::display(raw),
        };
        let target = normalise(raw).map_err(|_| missing())?;
        if target.is_empty() {
            return Err(EntryProblem::HardlinkToDirectory {
                target: super::name::display(raw),
            });
        }
        let Some(node) = self.nodes.get(&target) else {
            return Err(missing());
        };
        let fallback = match &node.kind {
            Kind::Dir(_) => {
                return Err(EntryProblem::HardlinkToDirectory {
                    target: super::name::display(raw),
                });
            }
            Kind::Object(o) => *o,
            Kind::Link { target, fallback } => self.follow(target, *fallback),
        };
        Ok((target.into_boxed_slice(), fallback))
    }

    /// Makes every directory above `key` a directory of this layer: an existing one is kept
    /// (with its metadata), anything else there is replaced by an implicit directory, as an
    /// overlay filesystem would show it. Nothing is ever followed through a symbolic link.
    fn make_parents(&mut self, key: &[u8], layer: usize) -> Result<(), ApplyError> {
        for (i, _) in key.iter().enumerate().filter(|&(_, &b)| b == SEP) {
            let dir = &key[..i];
            match self.nodes.get_mut(dir) {
                Some(node) if matches!(node.kind, Kind::Dir(_)) => node.touched = layer,
                Some(node) => {
                    // Not a directory, so nothing is below it to remove.
                    *node = Node {
                        kind: Kind::Dir(IMPLICIT),
                        layer,
                        touched: layer,
                    };
                }
                None => {
                    self.count()?;
                    self.nodes.insert(
                        dir.to_vec(),
                        Node {
                            kind: Kind::Dir(IMPLICIT),
                            layer,
                            touched: layer,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// Puts `kind` at `key`: a directory over a directory takes the new metadata and keeps
    /// the contents; anything else replaces what was there, with its subtree.
    fn place(&mut self, key: Vec<u8>, layer: usize, kind: Kind) {
        if let Some(node) = self.nodes.get_mut(&key) {
            if matches!((&node.kind, &kind), (Kind::Dir(_), Kind::Dir(_))) {
                *node = Node {
                    kind,
                    layer,
                    touched: layer,
                };
                return;
            }
            self.remove_below(&key);
        }
        self.nodes.insert(
            key,
            Node {
                kind,
                layer,
                touched: layer,
            },
        );
    }

    fn keys_below(&self, key: &[u8]) -> Vec<Vec<u8>> {
        let (low, high) = subtree_bounds(key);
        let range = if key.is_empty() {
            self.nodes.range::<Vec<u8>, _>(..)
        } else {
            self.nodes
                .range::<Vec<u8>, _>((Bound::Included(&low), Bound::Excluded(&high)))
        };
        range.map(|(k, _)| k.clone()).collect()
    }

    fn remove_below(&mut self, key: &[u8]) {
        for k in self.keys_below(key) {
            self.nodes.remove(&k);
        }
    }

    /// Removes what layers below `layer` put strictly below `key`. Directories that `layer`
    /// has too stay; one whose metadata came from below becomes implicit.
    fn hide_lower(&mut self, key: &[u8], layer: usize) {
        for k in self.keys_below(key) {
            let Some(node) = self.nodes.get_mut(&k) else {
                continue;
            };
            if node.touched != layer {
                // Nothing below it is from `layer` either (`make_parents` touches every
                // directory above an entry), so its whole subtree goes too.
                self.nodes.remove(&k);
            } else if node.layer != layer {
                node.kind = Kind::Dir(IMPLICIT);
                node.layer = layer;
            }
        }
    }

    /// `D/.wh..wh..opq` in `layer`: nothing of the layers below stays under `D`.
    fn opaque(&mut self, dir: &[u8], layer: usize) {
        let is_dir = dir.is_empty()
            || self
                .nodes
                .get(dir)
                .is_some_and(|n| matches!(n.kind, Kind::Dir(_)));
        if is_dir {
            self.hide_lower(dir, layer);
        }
    }

    /// `D/.wh.NAME` in `layer`: `D/NAME` of the layers below is gone. What `layer` itself
    /// has at `D/NAME`, before or after the whiteout, stays.
    fn whiteout(&mut self, key: &[u8], layer: usize) {
        let Some(node) = self.nodes.get_mut(key) else {
            return;
        };
        if node.touched != layer {
            self.nodes.remove(key);
            self.remove_below(key);
        } else if matches!(node.kind, Kind::Dir(_)) {
            if node.layer != layer {
                node.kind = Kind::Dir(IMPLICIT);
                node.layer = layer;
            }
            self.hide_lower(key, layer);
        }
    }

    /// The object a hard link to `target` with this `fallback` stands for now: the target's
    /// object when that is a regular file (or still the fallback), the target's own answer
    /// when the target is itself a hard link, otherwise the fallback. Chains longer than
    /// [`MAX_HOPS`] (or cycles) end at the first link's fallback.
    pub(super) fn follow(&self, target: &[u8], fallback: usize) -> usize {
        let (mut target, mut current) = (target, fallback);
        for _ in 0..MAX_HOPS {
            match self.nodes.get(target).map(|n| &n.kind) {
                Some(Kind::Object(o)) => {
                    return if self.objects[*o].body.is_file() || *o == current {
                        *o
                    } else {
                        current
                    };
                }
                Some(Kind::Link {
                    target: next,
                    fallback: f,
                }) => {
                    target = next;
                    current = *f;
                }
                _ => return current,
            }
        }
        fallback
    }

    /// The object a node is in the final tree; `None` for directories.
    pub(super) fn object_of(&self, node: &Node) -> Option<usize> {
        match &node.kind {
            Kind::Dir(_) => None,
            Kind::Object(o) => Some(*o),
            Kind::Link { target, fallback } => Some(self.follow(target, *fallback)),
        }
    }

    /// For every layer, the entry positions whose content the output needs, in order, with
    /// the object each fills.
    pub(super) fn wanted(&self, layers: usize) -> Vec<Vec<(u64, usize)>> {
        let mut wanted = vec![Vec::new(); layers];
        let mut seen = vec![false; self.objects.len()];
        for node in self.nodes.values() {
            let Some(o) = self.object_of(node) else {
                continue;
            };
            if let Body::File {
                layer, position, ..
            } = self.objects[o].body
                && !std::mem::replace(&mut seen[o], true)
            {
                wanted[layer].push((position, o));
            }
        }
        for list in &mut wanted {
            list.sort_unstable();
        }
        wanted
    }
}

/// An entry's kind before it has a place in the tree.
enum Pending {
    Dir,
    Object(Body),
    Link((Box<[u8]>, usize)),
}
