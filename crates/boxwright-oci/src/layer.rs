//! A new layer: entries from a rootfs overlay, files from the build output and inline
//! contents, written in one pass (tar → compression → SHA-256 of both streams).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use boxwright_archive::{DeterministicTar, HashingWriter, normalised_mode};
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
                Some((_, LayerEntry::Directory)) => {}
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
        if entry != LayerEntry::Directory {
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
                LayerEntry::File(source) => Some((path.as_str(), source.as_path())),
                _ => None,
            })
    }
}

/// Writes the layer into `store`: every entry's mtime is `mtime`, owners 0.
pub fn write_layer(
    spec: &LayerSpec,
    store: &BlobStore,
    compression: Compression,
    mtime: u64,
    threads: usize,
) -> Result<WrittenLayer, Error> {
    let blob = store.writer()?;
    let write_error = |e: std::io::Error| Error::Io {
        path: PathBuf::from("<layer>"),
        source: e,
    };
    let compressor = compression.writer(blob, threads).map_err(write_error)?;
    let mut tar = DeterministicTar::new(HashingWriter::new(compressor), mtime);
    for (path, entry) in spec.entries.values() {
        match entry {
            LayerEntry::Directory => tar.append_dir(path),
            LayerEntry::File(source) => {
                let file = std::fs::File::open(source).map_err(Error::io(source))?;
                tar.append_file(path, file)
            }
            LayerEntry::Bytes(data, mode) => tar.append_bytes(path, normalised_mode(*mode), data),
            LayerEntry::Symlink(target) => tar.append_symlink(path, target),
        }
        .map_err(write_error)?;
    }
    let hashing = tar.finish().map_err(write_error)?;
    let (compressor, diff_hex, _) = hashing.finish();
    let blob = compressor.finish().map_err(write_error)?;
    let descriptor = blob.finish(MediaType::Other(compression.layer_media_type().to_string()))?;
    Ok(WrittenLayer {
        descriptor: with_standard_media_type(descriptor, compression),
        diff_id: format!("sha256:{diff_hex}"),
    })
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
            let a = write_layer(&spec, &store, compression, 1_700_000_000, 2).unwrap();
            let b = write_layer(&spec, &store, compression, 1_700_000_000, 1).unwrap();
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
        let reference = write_layer(&spec, &store, gzip, 1_700_000_000, 1).unwrap();
        for threads in [2, 8] {
            let layer = write_layer(&spec, &store, gzip, 1_700_000_000, threads).unwrap();
            assert_eq!(layer.descriptor, reference.descriptor, "{threads} threads");
            assert_eq!(layer.diff_id, reference.diff_id);
        }
        // The same tar stream, compressed in writes of 1 byte, 4 KiB and 1 MiB.
        let plain = write_layer(&spec, &store, Compression::None, 1_700_000_000, 1).unwrap();
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
}
