//! A new layer: entries from a rootfs overlay, files from the build output and inline
//! contents, written in one pass (tar → compression → SHA-256 of both streams).

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

use boxwright_archive::progress::{CountingWriter, Progress};
use boxwright_archive::{DeterministicTar, HashingWriter, Owner, normalised_mode};
use oci_spec::image::{Descriptor, MediaType};

use crate::{BlobStore, Compression, Error};

/// What an image path holds in the new layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerEntry {
    Directory,
    /// A regular file copied from the host; its mode is normalised (0755 or 0644).
    File(PathBuf),
    /// Inline content with a mode.
    Bytes(Vec<u8>, u32),
    /// A symbolic link, kept as written.
    Symlink(PathBuf),
    /// A directory with exact mode (setuid/setgid/sticky kept) and owner, as a package has it.
    DirectoryAs(Owner),
    /// A regular file copied from the host with exact mode and owner (the host file's own
    /// mode and owner are ignored).
    FileAs(PathBuf, Owner),
    /// Inline content with exact mode and owner (generated account and service files).
    BytesAs(Vec<u8>, Owner),
    /// A symbolic link with an owner.
    SymlinkAs(PathBuf, Owner),
    /// A hard link to another image path of this layer holding a file (`FileAs`, `File` or
    /// `Bytes`). In the tar the first of the linked paths in entry order holds the content
    /// and the others link to it, whichever of them the link was declared on.
    HardLink(String),
}

impl LayerEntry {
    /// Whether the entry is a directory (plain or with an owner).
    pub fn is_directory(&self) -> bool {
        matches!(self, LayerEntry::Directory | LayerEntry::DirectoryAs(_))
    }
}

/// The entries of a layer by image path, kept in `tar --sort=name` order with every parent
/// directory present.
#[derive(Debug, Clone, Default)]
pub struct LayerSpec {
    entries: BTreeMap<String, (String, LayerEntry)>,
}

/// A layer written into a blob store.
#[derive(Debug, Clone)]
pub struct WrittenLayer {
    pub descriptor: Descriptor,
    /// `sha256:` of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: String,
}

impl LayerSpec {
    /// Sets `image_path` (absolute or not; `..` refused) to `entry`, replacing what was there,
    /// and adds its missing parent directories.
    pub fn insert(&mut self, image_path: &str, entry: LayerEntry) -> Result<(), Error> {
        let path = normalise(image_path)?;
        let parts: Vec<&str> = path.split('/').collect();
        for depth in 1..parts.len() {
            let parent = parts[..depth].join("/");
            let key = sort_key(&parent);
            match self.entries.get(&key) {
                Some((_, entry)) if entry.is_directory() => {}
                Some(_) => {
                    return Err(Error::BadImagePath {
                        path: image_path.to_string(),
                        reason: "is below a path that is not a directory",
                    });
                }
                None => {
                    self.entries.insert(key, (parent, LayerEntry::Directory));
                }
            }
        }
        if !entry.is_directory() {
            // A file replacing a directory drops what was below it.
            let below = sort_key(&format!("{path}/"));
            let doomed: Vec<String> = self
                .entries
                .range(below.clone()..)
                .take_while(|(k, _)| k.starts_with(&below))
                .map(|(k, _)| k.clone())
                .collect();
            for key in doomed {
                self.entries.remove(&key);
            }
        }
        let entry = match entry {
            LayerEntry::HardLink(target) => LayerEntry::HardLink(normalise(&target)?),
            other => other,
        };
        self.entries.insert(sort_key(&path), (path, entry));
        Ok(())
    }

    /// Adds every file, directory and symlink below `dir` at the image root.
    pub fn insert_tree(&mut self, dir: &Path) -> Result<(), Error> {
        for item in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
            let item = item.map_err(|e| Error::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::from(e),
            })?;
            let relative = item.path().strip_prefix(dir).expect("below the root");
            let relative = relative.to_str().ok_or_else(|| Error::Invalid {
                path: item.path().to_path_buf(),
                what: "file name",
                message: "not UTF-8".into(),
            })?;
            let kind = item.file_type();
            let entry = if kind.is_dir() {
                LayerEntry::Directory
            } else if kind.is_symlink() {
                LayerEntry::Symlink(
                    std::fs::read_link(item.path()).map_err(Error::io(item.path()))?,
                )
            } else if kind.is_file() {
                LayerEntry::File(item.path().to_path_buf())
            } else {
                return Err(Error::Invalid {
                    path: item.path().to_path_buf(),
                    what: "overlay entry",
                    message: "devices, FIFOs and sockets cannot go into a layer".into(),
                });
            };
            self.insert(relative, entry)?;
        }
        Ok(())
    }

    /// Number of entries, parents included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the layer has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The host files the layer reads, by image path.
    pub fn files(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.entries
            .values()
            .filter_map(|(path, entry)| match entry {
                LayerEntry::File(source) | LayerEntry::FileAs(source, _) => {
                    Some((path.as_str(), source.as_path()))
                }
                _ => None,
            })
    }
}

/// Writes the layer into `store`: every entry's mtime is `mtime`, owners 0. The tar bytes
/// going into the compressor are reported to `progress`.
pub fn write_layer(
    spec: &LayerSpec,
    store: &BlobStore,
    compression: Compression,
    mtime: u64,
    threads: usize,
    progress: &dyn Progress,
) -> Result<WrittenLayer, Error> {
    let blob = store.writer()?;
    let write_error = |e: std::io::Error| Error::Io {
        path: PathBuf::from("<layer>"),
        source: e,
    };
    let compressor = compression.writer(blob, threads).map_err(write_error)?;
    let item = progress.begin("compressing layer", Some(tar_size(spec)));
    let counted = CountingWriter::new(HashingWriter::new(compressor), item.as_ref());
    let mut tar = DeterministicTar::new(counted, mtime);
    // Hard-link groups: a linked file's path → the path that holds its content in the tar.
    let mut holders: HashMap<&str, &str> = HashMap::new();
    for (path, entry) in spec.entries.values() {
        let content_of = match entry {
            LayerEntry::HardLink(target) => target.as_str(),
            _ => path.as_str(),
        };
        if let Some(holder) = holders.get(content_of) {
            let (_, first) = &spec.entries[&sort_key(holder)];
            let first = match first {
                LayerEntry::HardLink(target) => &spec.entries[&sort_key(target)].1,
                other => other,
            };
            tar.append_hardlink_as(path, holder, owner_of(first))
                .map_err(write_error)?;
            continue;
        }
        let body = match entry {
            LayerEntry::HardLink(target) => {
                let linked = spec
                    .entries
                    .get(&sort_key(target))
                    .map(|(_, e)| e)
                    .filter(|e| {
                        matches!(
                            e,
                            LayerEntry::File(_)
                                | LayerEntry::FileAs(..)
                                | LayerEntry::Bytes(..)
                                | LayerEntry::BytesAs(..)
                        )
                    })
                    .ok_or_else(|| Error::BadImagePath {
                        path: path.clone(),
                        reason: "is a hard link to a path of the layer that is not a regular file",
                    })?;
                holders.insert(target.as_str(), path.as_str());
                linked
            }
            other => {
                holders.insert(path.as_str(), path.as_str());
                other
            }
        };
        append_entry(&mut tar, path, body).map_err(|e| match e {
            AppendError::Open(source, e) => Error::Io {
                path: source.to_path_buf(),
                source: e,
            },
            AppendError::Write(e) => write_error(e),
        })?;
    }
    let hashing = tar.finish().map_err(write_error)?.into_inner();
    item.finish();
    let (compressor, diff_hex, _) = hashing.finish();
    let blob = compressor.finish().map_err(write_error)?;
    let descriptor = blob.finish(MediaType::Other(compression.layer_media_type().to_string()))?;
    Ok(WrittenLayer {
        descriptor: with_standard_media_type(descriptor, compression),
        diff_id: format!("sha256:{diff_hex}"),
    })
}

/// About the size of the layer's tar stream (headers and padded contents; long names' pax
/// records left out): the progress total only.
fn tar_size(spec: &LayerSpec) -> u64 {
    let padded = |size: u64| size.div_ceil(512) * 512;
    let contents: u64 = spec
        .entries
        .values()
        .map(|(_, entry)| match entry {
            LayerEntry::File(source) | LayerEntry::FileAs(source, _) => {
                padded(std::fs::metadata(source).map_or(0, |m| m.len()))
            }
            LayerEntry::Bytes(data, _) | LayerEntry::BytesAs(data, _) => padded(data.len() as u64),
            _ => 0,
        })
        .sum();
    contents + 512 * spec.entries.len() as u64 + 1024
}

/// Why appending one entry failed: its host file, or the archive.
enum AppendError<'a> {
    Open(&'a Path, std::io::Error),
    Write(std::io::Error),
}

/// Writes one entry that is not a hard link.
fn append_entry<'a, W: std::io::Write>(
    tar: &mut DeterministicTar<W>,
    path: &str,
    entry: &'a LayerEntry,
) -> Result<(), AppendError<'a>> {
    let open = |source: &'a PathBuf| {
        std::fs::File::open(source).map_err(|e| AppendError::Open(source.as_path(), e))
    };
    match entry {
        LayerEntry::Directory => tar.append_dir(path),
        LayerEntry::File(source) => tar.append_file(path, open(source)?),
        LayerEntry::Bytes(data, mode) => tar.append_bytes(path, normalised_mode(*mode), data),
        LayerEntry::Symlink(target) => tar.append_symlink(path, target),
        LayerEntry::DirectoryAs(owner) => tar.append_dir_as(path, *owner),
        LayerEntry::FileAs(source, owner) => {
            let file = open(source)?;
            let size = file
                .metadata()
                .map_err(|e| AppendError::Open(source.as_path(), e))?
                .len();
            tar.append_reader_as(path, *owner, size, file)
        }
        LayerEntry::BytesAs(data, owner) => {
            tar.append_reader_as(path, *owner, data.len() as u64, data.as_slice())
        }
        LayerEntry::SymlinkAs(target, owner) => tar.append_symlink_as(path, target, *owner),
        LayerEntry::HardLink(_) => unreachable!("hard links are resolved by the caller"),
    }
    .map_err(AppendError::Write)
}

/// The mode and owner a hard link's header repeats from the entry holding the content.
fn owner_of(entry: &LayerEntry) -> Owner {
    match entry {
        LayerEntry::FileAs(_, owner) | LayerEntry::BytesAs(_, owner) => *owner,
        LayerEntry::Bytes(_, mode) => Owner {
            mode: normalised_mode(*mode),
            uid: 0,
            gid: 0,
        },
        _ => Owner {
            mode: 0o644,
            uid: 0,
            gid: 0,
        },
    }
}

/// oci-spec has named media types for the common layer kinds; use them where they exist.
fn with_standard_media_type(mut descriptor: Descriptor, compression: Compression) -> Descriptor {
    descriptor.set_media_type(match compression {
        Compression::Gzip { .. } => MediaType::ImageLayerGzip,
        Compression::Zstd { .. } => MediaType::ImageLayerZstd,
        Compression::None => MediaType::ImageLayer,
    });
    descriptor
}

/// `/opt/x/` → `opt/x`; refuses empty paths, `..` and the root itself.
fn normalise(image_path: &str) -> Result<String, Error> {
    let bad = |reason| Error::BadImagePath {
        path: image_path.to_string(),
        reason,
    };
    let mut parts = Vec::new();
    for component in Path::new(image_path).components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => parts.push(part.to_str().ok_or(bad("is not UTF-8"))?),
            Component::ParentDir => return Err(bad("must not contain `..`")),
            Component::Prefix(_) => return Err(bad("is not a Unix path")),
        }
    }
    if parts.is_empty() {
        return Err(bad("names no file below the image root"));
    }
    Ok(parts.join("/"))
}

/// Orders paths component by component (`a/b` before `a.b`), as `tar --sort=name` does.
fn sort_key(path: &str) -> String {
    path.replace('/', "\0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxwright_archive::progress::NoProgress;

    #[test]
    fn parents_come_first_and_files_replace_directories() {
        let mut spec = LayerSpec::default();
        spec.insert("/opt/404/static", LayerEntry::Bytes(b"x".to_vec(), 0o755))
            .unwrap();
        spec.insert("/opt/404.txt", LayerEntry::Bytes(b"y".to_vec(), 0o644))
            .unwrap();
        spec.insert("etc/wsl.conf", LayerEntry::Bytes(b"z".to_vec(), 0o644))
            .unwrap();
        let paths: Vec<&str> = spec.entries.values().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "etc",
                "etc/wsl.conf",
                "opt",
                "opt/404",
                "opt/404/static",
                "opt/404.txt"
            ]
        );
        spec.insert("opt/404", LayerEntry::Bytes(b"f".to_vec(), 0o644))
            .unwrap();
        let paths: Vec<&str> = spec.entries.values().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["etc", "etc/wsl.conf", "opt", "opt/404", "opt/404.txt"]
        );
        assert!(spec.insert("opt/404/x", LayerEntry::Directory).is_err());
        assert!(spec.insert("/../etc", LayerEntry::Directory).is_err());
        assert!(spec.insert("/", LayerEntry::Directory).is_err());
    }

    #[test]
    fn layers_are_reproducible_and_hash_both_streams() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::create(dir.path()).unwrap();
        let mut spec = LayerSpec::default();
        spec.insert("/bin/tool", LayerEntry::Bytes(vec![7; 300_000], 0o700))
            .unwrap();
        for compression in [
            Compression::default(),
            Compression::Zstd { level: 3 },
            Compression::None,
        ] {
            let a = write_layer(&spec, &store, compression, 1_700_000_000, 2, &NoProgress).unwrap();
            let b = write_layer(&spec, &store, compression, 1_700_000_000, 1, &NoProgress).unwrap();
            assert_eq!(a.descriptor, b.descriptor, "{compression:?}");
            assert_eq!(a.diff_id, b.diff_id);
            let blob = store.path(a.descriptor.digest().digest());
            assert_eq!(
                crate::blob::sha256_file(&blob).unwrap(),
                a.descriptor.digest().digest().to_string()
            );
        }
    }

    /// A few MiB of mixed content (text, repeats, noise), so a gzip layer spans several
    /// compression blocks.
    fn mixed_spec() -> LayerSpec {
        let mut spec = LayerSpec::default();
        let mut state = 0x9e37_79b9_u32;
        let noise: Vec<u8> = (0..1_500_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[1]
            })
            .collect();
        let text: Vec<u8> = (0..2_000_000u32)
            .flat_map(|i| format!("line {} of {}\n", i % 977, i / 3).into_bytes())
            .take(2_500_000)
            .collect();
        spec.insert("/usr/lib/noise.bin", LayerEntry::Bytes(noise, 0o644))
            .unwrap();
        spec.insert("/usr/share/doc/text", LayerEntry::Bytes(text, 0o644))
            .unwrap();
        spec.insert("/etc/small", LayerEntry::Bytes(b"x\n".to_vec(), 0o644))
            .unwrap();
        spec
    }

    #[test]
    fn gzip_layers_do_not_depend_on_threads_or_write_sizes() {
        use sha2::Digest as _;
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::create(dir.path()).unwrap();
        let spec = mixed_spec();
        let gzip = Compression::default();
        let reference = write_layer(&spec, &store, gzip, 1_700_000_000, 1, &NoProgress).unwrap();
        for threads in [2, 8] {
            let layer =
                write_layer(&spec, &store, gzip, 1_700_000_000, threads, &NoProgress).unwrap();
            assert_eq!(layer.descriptor, reference.descriptor, "{threads} threads");
            assert_eq!(layer.diff_id, reference.diff_id);
        }
        // The same tar stream, compressed in writes of 1 byte, 4 KiB and 1 MiB.
        let plain = write_layer(
            &spec,
            &store,
            Compression::None,
            1_700_000_000,
            1,
            &NoProgress,
        )
        .unwrap();
        assert_eq!(plain.diff_id, reference.diff_id);
        let tar = std::fs::read(store.path(plain.descriptor.digest().digest())).unwrap();
        assert!(tar.len() > 3 << 20, "spans several blocks: {}", tar.len());
        for write_size in [1, 4096, 1 << 20] {
            let mut writer = gzip.writer(Vec::new(), 2).unwrap();
            for piece in tar.chunks(write_size) {
                writer.write_all(piece).unwrap();
            }
            let bytes = writer.finish().unwrap();
            assert_eq!(
                format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes))),
                reference.descriptor.digest().to_string(),
                "writes of {write_size} bytes"
            );
        }
    }

    fn package_like_spec(dir: &Path) -> LayerSpec {
        let binary = dir.join("su");
        std::fs::write(&binary, b"setuid binary").unwrap();
        let mut spec = LayerSpec::default();
        let owner = |mode, uid, gid| Owner { mode, uid, gid };
        spec.insert("tmp", LayerEntry::DirectoryAs(owner(0o1777, 0, 0)))
            .unwrap();
        spec.insert("var/mail", LayerEntry::DirectoryAs(owner(0o2775, 0, 8)))
            .unwrap();
        spec.insert(
            "bin/su",
            LayerEntry::FileAs(binary.clone(), owner(0o4755, 0, 0)),
        )
        .unwrap();
        // Declared on `bin/ksu`, which sorts first: it holds the content in the tar and
        // `bin/su` becomes the link.
        spec.insert("bin/ksu", LayerEntry::HardLink("/bin/su".into()))
            .unwrap();
        spec.insert("usr/bin/su2", LayerEntry::HardLink("bin/su".into()))
            .unwrap();
        spec.insert(
            "etc/mtab",
            LayerEntry::SymlinkAs("../proc/self/mounts".into(), owner(0o777, 0, 4)),
        )
        .unwrap();
        spec
    }

    #[test]
    fn exact_modes_owners_and_hard_links_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::create(&dir.path().join("store")).unwrap();
        let spec = package_like_spec(dir.path());
        let a = write_layer(
            &spec,
            &store,
            Compression::None,
            1_700_000_000,
            1,
            &NoProgress,
        )
        .unwrap();
        let b = write_layer(
            &spec,
            &store,
            Compression::None,
            1_700_000_000,
            1,
            &NoProgress,
        )
        .unwrap();
        let blob = store.path(a.descriptor.digest().digest());
        let first = std::fs::read(&blob).unwrap();
        assert_eq!(a.descriptor, b.descriptor);
        assert_eq!(
            std::fs::read(store.path(b.descriptor.digest().digest())).unwrap(),
            first
        );
        let mut archive = tar::Archive::new(first.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            seen.push((
                entry.path().unwrap().display().to_string(),
                header.entry_type(),
                header.mode().unwrap(),
                header.uid().unwrap(),
                header.gid().unwrap(),
                entry.link_name().unwrap().map(|l| l.display().to_string()),
                data,
            ));
        }
        let find = |name: &str| seen.iter().find(|e| e.0 == name).unwrap().clone();
        let ksu = find("bin/ksu");
        assert_eq!(ksu.1, tar::EntryType::Regular);
        assert_eq!((ksu.2, ksu.3, ksu.4), (0o4755, 0, 0));
        assert_eq!(ksu.6, b"setuid binary");
        let su = find("bin/su");
        assert_eq!(su.1, tar::EntryType::Link);
        assert_eq!(su.5.as_deref(), Some("bin/ksu"));
        assert_eq!(su.2, 0o4755);
        assert_eq!(find("usr/bin/su2").5.as_deref(), Some("bin/ksu"));
        assert_eq!(find("tmp/").2, 0o1777);
        let mail = find("var/mail/");
        assert_eq!((mail.2, mail.4), (0o2775, 8));
        let mtab = find("etc/mtab");
        assert_eq!(mtab.1, tar::EntryType::Symlink);
        assert_eq!(
            (mtab.4, mtab.5.as_deref()),
            (4, Some("../proc/self/mounts"))
        );
        // Parents made for the entries stay plain directories.
        assert_eq!(find("usr/").2, 0o755);
    }

    #[test]
    fn a_hard_link_to_a_missing_or_special_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::create(dir.path()).unwrap();
        let mut spec = LayerSpec::default();
        spec.insert("a/link", LayerEntry::HardLink("a/none".into()))
            .unwrap();
        assert!(matches!(
            write_layer(&spec, &store, Compression::None, 0, 1, &NoProgress),
            Err(Error::BadImagePath { path, .. }) if path == "a/link"
        ));
        spec.insert("a/none", LayerEntry::Directory).unwrap();
        assert!(write_layer(&spec, &store, Compression::None, 0, 1, &NoProgress).is_err());
    }
}
