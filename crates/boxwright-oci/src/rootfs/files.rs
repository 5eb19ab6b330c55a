//! The regular files of the flattened filesystem, each content handed to a consumer (a
//! hasher) as the layers are read: one pass over every layer, nothing spooled, nothing
//! written. The merging rules are the export's (see the parent module): whiteouts, opaque
//! directories, replacements and hard links give the same final tree.

use std::io::{self, Read};

use super::name::{display, to_path};
use super::read::{self, Layer};
use super::tree::{ApplyError, Body, Tree};
use super::{ExportLimits, LayerSource, RootfsError};

/// A regular file of the flattened filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootfsFile<T> {
    /// Relative, `/`-separated, without `./` (`bin/sh`); bytes that are not UTF-8 are shown
    /// as the export's messages show them.
    pub path: String,
    /// Permission bits (with setuid, setgid and sticky).
    pub mode: u32,
    pub size: u64,
    /// What the consumer made of the content; hard links to one file share it.
    pub value: T,
}

/// Every regular file of `layers` (applied in order, lowest first) in path order, with what
/// `consume` returned for its content. `consume` sees every regular file entry of every layer
/// as it is read, also those a later layer replaces or removes (their values are dropped), so
/// the layers are read once.
pub fn files<T: Clone>(
    layers: &[LayerSource],
    limits: &ExportLimits,
    mut consume: impl FnMut(&mut dyn Read) -> io::Result<T>,
) -> Result<Vec<RootfsFile<T>>, RootfsError> {
    let mut tree = Tree::new(limits.max_entries);
    let mut values: Vec<Option<T>> = Vec::new();
    for (index, source) in layers.iter().enumerate() {
        let layer = Layer { index, source };
        let too_many = || RootfsError::TooManyEntries {
            layer: index,
            path: source.path.clone(),
            limit: limits.max_entries,
        };
        read::for_each_entry(layer, limits, |_position, entry| {
            tree.count().map_err(|_| too_many())?;
            let parsed = match read::parse(entry) {
                Ok(parsed) => parsed,
                Err(problem) => return Err(layer.entry_error(&entry.path_bytes(), problem)),
            };
            let before = tree.objects.len();
            // Positions are only needed to find contents again; this reads them now.
            tree.apply(index, 0, &parsed, None).map_err(|e| match e {
                ApplyError::Problem(problem) => layer.entry_error(&parsed.name, problem),
                ApplyError::TooMany => too_many(),
            })?;
            values.resize_with(tree.objects.len(), || None);
            if tree.objects.len() > before && matches!(tree.objects[before].body, Body::File { .. })
            {
                let mut counted = Counted {
                    inner: entry,
                    read: 0,
                };
                let value =
                    consume(&mut counted).map_err(|e| layer.read_error(Some(&parsed.name), e))?;
                if counted.read != parsed.size {
                    return Err(layer.read_error(
                        Some(&parsed.name),
                        io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!(
                                "{} bytes of content read, the header says {}",
                                counted.read, parsed.size
                            ),
                        ),
                    ));
                }
                values[before] = Some(value);
            }
            Ok(true)
        })?;
    }
    let mut out = Vec::new();
    for (key, node) in &tree.nodes {
        let Some(object) = tree.object_of(node) else {
            continue;
        };
        let Body::File { size, .. } = tree.objects[object].body else {
            continue;
        };
        let Some(value) = values.get(object).and_then(Option::as_ref) else {
            continue;
        };
        out.push(RootfsFile {
            path: display(&to_path(key)),
            mode: tree.objects[object].meta.mode,
            size,
            value: value.clone(),
        });
    }
    Ok(out)
}

/// Counts what the consumer read.
struct Counted<'a, R: Read> {
    inner: &'a mut R,
    read: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}
