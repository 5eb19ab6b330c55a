//! Reading subjects from disk: a directory tree, a tarball, an OCI layout or oci-archive.
//! Every regular file is read once and hashed (SHA-256 and SHA-1) as it is read; image
//! layers go through `boxwright-oci`'s rootfs reader, so whiteouts, opaque directories and
//! hard links give the files the flattened image really has.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use boxwright_archive::progress::{CountingReader, NoProgress, Progress, ProgressItem};
use boxwright_oci::rootfs::{ExportLimits, LayerCompression, LayerSource};
use boxwright_oci::{Compression, PlatformSpec};

use crate::hash::{Hashes, hash_reader, sha256_bytes, sha256_reader};
use crate::installed::{self, InstalledPackage};
use crate::{Error, FileEntry};

/// What an image holds, as far as an SBOM is concerned.
#[derive(Debug, Clone)]
pub struct ImageFacts {
    /// `sha256:` of the chosen manifest.
    pub manifest_digest: String,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
    /// `org.opencontainers.image.ref.name` in `index.json`.
    pub ref_name: Option<String>,
    /// The config's labels.
    pub labels: BTreeMap<String, String>,
    /// `os/arch[/variant]` of the config.
    pub platform: String,
    /// The regular files of the flattened layers, sorted by path.
    pub files: Vec<FileEntry>,
    /// What the image's package database lists as installed.
    pub installed: Vec<InstalledPackage>,
}

/// Every regular file below `dir` (symbolic links are not followed), sorted by path.
pub fn directory(dir: &Path) -> Result<Vec<FileEntry>, Error> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::from(e),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(dir).expect("below the root");
        let path = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let mut file = File::open(entry.path()).map_err(Error::io(entry.path()))?;
        let hashes = hash_reader(&mut file).map_err(Error::io(entry.path()))?;
        files.push(file_entry(path, hashes));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Every regular file of a tar stream (gzip and zstd recognised by their magic bytes), as
/// the stream leaves them (a later entry replaces an earlier one at the same path).
pub fn tarball(path: &Path, progress: &dyn Progress) -> Result<Vec<FileEntry>, Error> {
    let layer = LayerSource {
        path: path.to_path_buf(),
        compression: compression_of(path)?,
    };
    layered(&[layer], path, progress)
}

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> Result<String, Error> {
    counted_sha256(path, &NoProgress)
}

/// SHA-256 of a file, hex, with every byte read reported to `item`.
fn counted_sha256(path: &Path, item: &dyn ProgressItem) -> Result<String, Error> {
    let file = File::open(path).map_err(Error::io(path))?;
    let mut reader = CountingReader::new(BufReader::with_capacity(1 << 20, file), item);
    sha256_reader(&mut reader).map_err(Error::io(path))
}

/// Whether `path` is an uncompressed tar holding an OCI layout (`oci-layout` at its top).
/// Only the headers are read.
pub fn is_oci_archive(path: &Path) -> Result<bool, Error> {
    if compression_of(path)? != LayerCompression::None {
        return Ok(false);
    }
    let file = File::open(path).map_err(Error::io(path))?;
    Ok(boxwright_oci::rootfs::holds_oci_layout(file))
}

/// Opens an OCI layout directory or oci-archive (unpacked safely into a temporary
/// directory), picks the manifest (of `platform`, or the only one), checks every layer's
/// digest and hashes the files of the flattened layers.
pub fn image(
    path: &Path,
    platform: Option<&str>,
    progress: &dyn Progress,
) -> Result<ImageFacts, Error> {
    image_named(path, None, platform, progress)
}

/// Like [`image`], for the image named `ref_name` in `index.json` when given. `progress`
/// sees the layer bytes as their digests are checked, then the file bytes as they are hashed.
pub fn image_named(
    path: &Path,
    ref_name: Option<&str>,
    platform: Option<&str>,
    progress: &dyn Progress,
) -> Result<ImageFacts, Error> {
    let platform = platform
        .map(|p| {
            p.parse::<PlatformSpec>()
                .map_err(|message| Error::Platform { message })
        })
        .transpose()?;
    let base = boxwright_oci::base::open_selected(path, ref_name, platform.as_ref())?;
    let total = base.layers.iter().fold(0, |sum, layer| sum + layer.size());
    let checking = progress.begin("checking image layers", Some(total));
    let mut layers = Vec::new();
    for descriptor in &base.layers {
        let blob = base.blob(descriptor);
        let media_type = descriptor.media_type().to_string();
        let compression = match Compression::from_media_type(&media_type) {
            Some(Compression::Gzip { .. }) => LayerCompression::Gzip,
            Some(Compression::Zstd { .. }) => LayerCompression::Zstd,
            Some(Compression::None) => LayerCompression::None,
            None => {
                return Err(Error::Layer {
                    path: blob,
                    message: format!("unknown layer media type {media_type}"),
                });
            }
        };
        let actual = counted_sha256(&blob, &*checking)?;
        if actual != descriptor.digest().digest() {
            return Err(Error::Layer {
                path: blob,
                message: format!(
                    "content has digest sha256:{actual}, the manifest says {}",
                    descriptor.digest()
                ),
            });
        }
        layers.push(LayerSource {
            path: blob,
            compression,
        });
    }
    checking.finish();
    let files = layered(&layers, path, progress)?;
    let installed = layered_installed(&layers, path, &files)?;
    let config = &base.config;
    let mut platform = format!("{}/{}", config.os(), config.architecture());
    if let Some(variant) = config.variant() {
        platform = format!("{platform}/{variant}");
    }
    Ok(ImageFacts {
        manifest_digest: base.manifest_digest.clone(),
        annotations: base.annotations.clone(),
        ref_name: base.ref_name.clone(),
        labels: config
            .config()
            .as_ref()
            .and_then(|c| c.labels().clone())
            .map(|labels| labels.into_iter().collect())
            .unwrap_or_default(),
        platform,
        files,
        installed,
    })
}

/// The installed packages of a tar stream's package database (see [`tarball`]); a second
/// pass over the stream, made only when `files` holds a package database.
pub fn tarball_installed(path: &Path, files: &[FileEntry]) -> Result<Vec<InstalledPackage>, Error> {
    let layer = LayerSource {
        path: path.to_path_buf(),
        compression: compression_of(path)?,
    };
    layered_installed(&[layer], path, files)
}

/// The installed packages of a directory's package database (see [`directory`]).
pub fn directory_installed(
    dir: &Path,
    files: &[FileEntry],
) -> Result<Vec<InstalledPackage>, Error> {
    let mut contents = std::collections::BTreeMap::new();
    for path in installed::wanted(files).into_keys() {
        let full = dir.join(&path);
        let bytes = std::fs::read(&full).map_err(Error::io(&full))?;
        contents.insert(path, bytes);
    }
    if contents.is_empty() {
        return Ok(Vec::new());
    }
    installed::read(&contents)
}

/// The installed packages of flattened layers: when `files` holds a package database, a
/// second pass keeps the contents of the files [`installed::wanted`] names, recognised by
/// their SHA-256 (the file reader does not name the file it hands over), at most
/// [`installed::MAX_DATABASE`] bytes each.
fn layered_installed(
    layers: &[LayerSource],
    shown: &Path,
    files: &[FileEntry],
) -> Result<Vec<InstalledPackage>, Error> {
    let wanted = installed::wanted(files);
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let digests: std::collections::BTreeSet<&str> = files
        .iter()
        .filter(|f| wanted.contains_key(&f.path))
        .map(|f| f.sha256.as_str())
        .collect();
    let largest = wanted.values().copied().max().unwrap_or(0);
    let found = boxwright_oci::rootfs::files(layers, &ExportLimits::default(), |reader| {
        let mut content = Vec::new();
        reader.take(largest + 1).read_to_end(&mut content)?;
        if content.len() as u64 > largest {
            std::io::copy(reader, &mut std::io::sink())?;
            return Ok(None);
        }
        let digest = sha256_bytes(&content);
        Ok(digests
            .contains(digest.as_str())
            .then(|| std::sync::Arc::new(content)))
    })
    .map_err(|source| Error::Layers {
        path: shown.to_path_buf(),
        source,
    })?;
    let contents = found
        .into_iter()
        .filter(|file| wanted.contains_key(&file.path))
        .filter_map(|file| Some((file.path, file.value?.to_vec())))
        .collect();
    installed::read(&contents)
}

/// The files of `layers`, hashed; `progress` sees the bytes of their contents (their total
/// is not known before the layers are read).
fn layered(
    layers: &[LayerSource],
    shown: &Path,
    progress: &dyn Progress,
) -> Result<Vec<FileEntry>, Error> {
    let reading = progress.begin("hashing files", None);
    let found = boxwright_oci::rootfs::files(layers, &ExportLimits::default(), |reader| {
        hash_reader(&mut CountingReader::new(reader, &*reading))
    });
    reading.finish();
    let found = found.map_err(|source| Error::Layers {
        path: shown.to_path_buf(),
        source,
    })?;
    Ok(found
        .into_iter()
        .map(|file| file_entry(file.path, file.value))
        .collect())
}

fn file_entry(path: String, hashes: Hashes) -> FileEntry {
    FileEntry {
        path,
        sha256: hashes.sha256,
        sha1: hashes.sha1,
        size: hashes.size,
    }
}

/// gzip and zstd by their magic bytes; anything else is read as a plain tar.
fn compression_of(path: &Path) -> Result<LayerCompression, Error> {
    let mut magic = [0_u8; 4];
    let mut file = File::open(path).map_err(Error::io(path))?;
    let mut read = 0;
    while read < magic.len() {
        match file.read(&mut magic[read..]).map_err(Error::io(path))? {
            0 => break,
            n => read += n,
        }
    }
    Ok(match &magic[..read] {
        [0x1f, 0x8b, ..] => LayerCompression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => LayerCompression::Zstd,
        [0xfd, b'7', b'z', b'X'] | [b'B', b'Z', b'h', _] => {
            return Err(Error::Layer {
                path: path.to_path_buf(),
                message: "xz and bzip2 tarballs are not read: give a .tar, .tar.gz or .tar.zst"
                    .into(),
            });
        }
        _ => LayerCompression::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_list_regular_files_sorted_with_both_digests() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/b"), b"abc").unwrap();
        std::fs::write(dir.path().join("a"), b"").unwrap();
        std::os::unix::fs::symlink("bin/b", dir.path().join("link")).unwrap();
        let files = directory(dir.path()).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["a", "bin/b"]);
        assert_eq!(files[1].sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(files[1].size, 3);
    }

    #[test]
    fn tarballs_plain_and_gzip_give_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o755);
        header.set_cksum();
        builder
            .append_data(&mut header.clone(), "./bin/x", &b"abc"[..])
            .unwrap();
        let bytes = builder.into_inner().unwrap();
        let plain = dir.path().join("r.tar");
        std::fs::write(&plain, &bytes).unwrap();
        let gz = dir.path().join("r.tar.gz");
        let mut encoder = flate2_encoder(std::fs::File::create(&gz).unwrap());
        std::io::Write::write_all(&mut encoder, &bytes).unwrap();
        encoder.finish().unwrap();
        let a = tarball(&plain, &NoProgress).unwrap();
        assert_eq!(a, tarball(&gz, &NoProgress).unwrap());
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].path, "bin/x");
        assert!(!is_oci_archive(&plain).unwrap());
        assert!(!is_oci_archive(&gz).unwrap());
    }

    fn flate2_encoder(file: std::fs::File) -> flate2::write::GzEncoder<std::fs::File> {
        flate2::write::GzEncoder::new(file, flate2::Compression::fast())
    }
}
