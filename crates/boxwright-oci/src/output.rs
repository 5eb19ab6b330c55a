//! The four outputs of `image build`: an OCI layout directory, an oci-archive, a
//! docker-archive, and a flat root-filesystem tarball. Each is written completely under a
//! temporary name first and then renamed, so a failure leaves nothing half-written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use boxwright_archive::{AtomicFile, DeterministicTar, ParallelGzip};
use serde::Serialize;

use crate::image::{ImageInput, Layout, write_layout};
use crate::rootfs::{ExportLimits, LayerCompression, LayerSource};
use crate::{Compression, Error};

/// An output format of `image build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Oci,
    OciArchive,
    DockerArchive,
    Rootfs,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "oci" => Ok(Format::Oci),
            "oci-archive" => Ok(Format::OciArchive),
            "docker-archive" => Ok(Format::DockerArchive),
            "rootfs" => Ok(Format::Rootfs),
            other => Err(format!(
                "unknown format `{other}` (known: oci, oci-archive, docker-archive, rootfs)"
            )),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub format: Format,
    pub path: PathBuf,
    /// Digest of what `index.json` names (manifest or index); for rootfs, of the tarball.
    pub digest: String,
    pub platforms: Vec<WrittenPlatform>,
}

/// One platform's manifest in the output.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenPlatform {
    pub platform: String,
    pub manifest: String,
    pub config: String,
    pub layers: usize,
    pub size: u64,
    /// The base image as named in metadata, and the digest of its manifest used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_digest: Option<String>,
}

/// Writes `input` as `format` to `path`. `repo_tag` (`name:tag`) names the image in a
/// docker-archive; `mtime` is the time of archive entries.
pub fn write(
    input: &ImageInput,
    format: Format,
    path: &Path,
    repo_tag: &str,
) -> Result<Written, Error> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    if matches!(format, Format::DockerArchive | Format::Rootfs) && input.platforms.len() != 1 {
        return Err(Error::Invalid {
            path: path.to_path_buf(),
            what: "output",
            message: format!(
                "a {} holds one platform, and {} were asked for: choose one with --platform",
                if format == Format::Rootfs {
                    "rootfs tarball"
                } else {
                    "docker-archive"
                },
                input.platforms.len()
            ),
        });
    }
    let staging = tempfile::Builder::new()
        .prefix(".boxwright-image.")
        .tempdir_in(parent)
        .map_err(Error::io(parent))?;
    let layout_root = staging.path().join("layout");
    std::fs::create_dir(&layout_root).map_err(Error::io(&layout_root))?;
    let layout = write_layout(input, &layout_root)?;
    let mut digest = layout.top.digest().to_string();
    match format {
        Format::Oci => replace_dir(&layout_root, path)?,
        Format::OciArchive => write_tar(
            path,
            input.created,
            &layout_root,
            &tar_paths(&layout_root)?,
            &[],
        )?,
        Format::DockerArchive => write_docker_archive(&layout, path, input.created, repo_tag)?,
        Format::Rootfs => digest = write_rootfs(&layout, path, input.threads, staging.path())?,
    }
    Ok(Written {
        format,
        path: path.to_path_buf(),
        digest,
        platforms: layout
            .platforms
            .iter()
            .zip(&input.platforms)
            .map(|(p, wanted)| WrittenPlatform {
                platform: p.platform.to_string(),
                manifest: p.manifest.digest().to_string(),
                config: p.config.digest().to_string(),
                layers: p.layers.len(),
                size: p.layers.iter().map(oci_spec::image::Descriptor::size).sum(),
                base_name: wanted.base.as_ref().map(|b| b.name.clone()),
                base_digest: wanted.base.as_ref().map(|b| b.manifest_digest.clone()),
            })
            .collect(),
    })
}

/// Moves the finished directory `from` to `to`, replacing an earlier output.
pub fn replace_dir(from: &Path, to: &Path) -> Result<(), Error> {
    if to.exists() && !to.is_dir() {
        return Err(Error::Invalid {
            path: to.to_path_buf(),
            what: "output",
            message: "exists and is not a directory".into(),
        });
    }
    let old = to.with_file_name(format!(
        ".{}.old-{}",
        to.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let had_old = std::fs::rename(to, &old).is_ok();
    std::fs::rename(from, to).map_err(Error::io(to))?;
    if had_old {
        std::fs::remove_dir_all(&old).map_err(Error::io(&old))?;
    }
    Ok(())
}

/// Writes the OCI layout directory `root` as an oci-archive at `path` (atomically), entries
/// sorted by name with mtime `mtime`.
pub fn write_oci_archive(root: &Path, path: &Path, mtime: u64) -> Result<(), Error> {
    write_tar(path, mtime, root, &tar_paths(root)?, &[])
}

/// Every path below `root` (relative, `/`-separated, directories with a trailing `/`) in
/// `tar --sort=name` order.
fn tar_paths(root: &Path) -> Result<Vec<String>, Error> {
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by(|a, b| {
        let key = |e: &walkdir::DirEntry| e.file_name().to_string_lossy().into_owned();
        key(a).cmp(&key(b))
    }) {
        let entry = entry.map_err(|e| Error::Io {
            path: root.to_path_buf(),
            source: std::io::Error::from(e),
        })?;
        let relative = entry
            .path()
            .strip_prefix(root)
            .expect("below root")
            .to_string_lossy()
            .into_owned();
        if entry.file_type().is_dir() {
            paths.push(format!("{relative}/"));
        } else {
            paths.push(relative);
        }
    }
    Ok(paths)
}

/// A tar of `paths` under `root` plus in-memory `extra` files, written atomically to `path`.
fn write_tar(
    path: &Path,
    mtime: u64,
    root: &Path,
    paths: &[String],
    extra: &[(&str, Vec<u8>)],
) -> Result<(), Error> {
    let mut file = AtomicFile::create(path).map_err(Error::io(path))?;
    {
        let mut tar = DeterministicTar::new(BufWriter::with_capacity(1 << 20, file.file()), mtime);
        let io = Error::io(path);
        let result = (|| -> std::io::Result<()> {
            for relative in paths {
                match relative.strip_suffix('/') {
                    Some(dir) => tar.append_dir(dir)?,
                    None => tar.append_file(relative, File::open(root.join(relative))?)?,
                }
            }
            for (name, bytes) in extra {
                tar.append_bytes(name, 0o644, bytes)?;
            }
            tar.finish()?.flush()
        })();
        result.map_err(io)?;
    }
    file.commit().map_err(Error::io(path))?;
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

/// The format `docker load` reads: the blobs, `manifest.json` and `repositories`.
fn write_docker_archive(
    layout: &Layout,
    path: &Path,
    mtime: u64,
    repo_tag: &str,
) -> Result<(), Error> {
    let platform = &layout.platforms[0];
    let blob_name =
        |d: &oci_spec::image::Descriptor| format!("blobs/sha256/{}", d.digest().digest());
    // `docker save` writes plain tar layers: compressed base layers are decompressed here
    // (their content, and so their diff_id, is unchanged).
    let store = crate::BlobStore::create(&layout.root)?;
    let mut layers = Vec::new();
    for (layer, diff_id) in platform.layers.iter().zip(&platform.diff_ids) {
        layers.push(plain_layer(layout, &store, layer, diff_id)?);
    }
    let entry = DockerManifestEntry {
        config: blob_name(&platform.config),
        repo_tags: vec![repo_tag.to_string()],
        layers: layers.iter().map(blob_name).collect(),
    };
    let manifest = serde_json::to_vec(&[entry]).expect("serialises");
    let (repository, tag) = repo_tag.rsplit_once(':').unwrap_or((repo_tag, "latest"));
    let top_layer = platform
        .layers
        .last()
        .map(|d| d.digest().digest().to_string())
        .unwrap_or_default();
    let repositories = serde_json::to_vec(&serde_json::json!({ repository: { tag: top_layer } }))
        .expect("serialises");
    // Only the config and the layers: the OCI manifest and index stay out of a docker-archive.
    let mut paths = vec!["blobs/".to_string(), "blobs/sha256/".to_string()];
    let mut blobs: Vec<String> = std::iter::once(&platform.config)
        .chain(&layers)
        .map(blob_name)
        .collect();
    blobs.sort();
    blobs.dedup();
    paths.extend(blobs);
    write_tar(
        path,
        mtime,
        &layout.root,
        &paths,
        &[("manifest.json", manifest), ("repositories", repositories)],
    )
}

/// The layer as a plain tar blob: itself when uncompressed, else decompressed into `store`
/// and checked against its diff_id.
fn plain_layer(
    layout: &Layout,
    store: &crate::BlobStore,
    layer: &oci_spec::image::Descriptor,
    diff_id: &str,
) -> Result<oci_spec::image::Descriptor, Error> {
    let source = layout.blob(layer);
    let compression = Compression::from_media_type(layer.media_type().as_ref());
    let reader: Box<dyn std::io::Read> = match compression {
        Some(Compression::None) => return Ok(layer.clone()),
        Some(Compression::Gzip { .. }) => Box::new(flate2::read::MultiGzDecoder::new(
            File::open(&source).map_err(Error::io(&source))?,
        )),
        Some(Compression::Zstd { .. }) => Box::new(
            zstd::stream::Decoder::new(File::open(&source).map_err(Error::io(&source))?)
                .map_err(Error::io(&source))?,
        ),
        None => {
            return Err(Error::Invalid {
                path: source,
                what: "layer",
                message: format!("unknown layer media type {}", layer.media_type()),
            });
        }
    };
    let mut reader = reader;
    let mut writer = store.writer()?;
    std::io::copy(&mut reader, &mut writer).map_err(Error::io(&source))?;
    let plain = writer.finish(oci_spec::image::MediaType::ImageLayer)?;
    if plain.digest().to_string() != diff_id {
        return Err(Error::DigestMismatch {
            path: source,
            digest: diff_id.to_string(),
            actual: plain.digest().digest().to_string(),
        });
    }
    Ok(plain)
}

/// The flattened filesystem; `.gz`/`.tgz` names get parallel gzip. Returns `sha256:` of the file.
fn write_rootfs(
    layout: &Layout,
    path: &Path,
    threads: usize,
    spool: &Path,
) -> Result<String, Error> {
    let platform = &layout.platforms[0];
    let layers: Vec<LayerSource> = platform
        .layers
        .iter()
        .map(|d| {
            let compression = match Compression::from_media_type(d.media_type().as_ref()) {
                Some(Compression::Gzip { .. }) => Ok(LayerCompression::Gzip),
                Some(Compression::Zstd { .. }) => Ok(LayerCompression::Zstd),
                Some(Compression::None) => Ok(LayerCompression::None),
                None => Err(Error::Invalid {
                    path: layout.blob(d),
                    what: "layer",
                    message: format!("unknown layer media type {}", d.media_type()),
                }),
            }?;
            Ok(LayerSource {
                path: layout.blob(d),
                compression,
            })
        })
        .collect::<Result<_, Error>>()?;
    let limits = ExportLimits {
        spool_dir: spool.to_path_buf(),
        ..ExportLimits::default()
    };
    let gzip = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gz") || ext.eq_ignore_ascii_case("tgz"));
    let mut file = AtomicFile::create(path).map_err(Error::io(path))?;
    let hashing =
        boxwright_archive::HashingWriter::new(BufWriter::with_capacity(1 << 20, file.file()));
    let io = Error::io(path);
    let hashing = if gzip {
        let mut gz = ParallelGzip::new(hashing, boxwright_archive::DEFAULT_LEVEL, threads)
            .map_err(Error::io(path))?;
        crate::rootfs::export(&layers, &mut gz, &limits)?;
        gz.finish().map_err(Error::io(path))?
    } else {
        let mut hashing = hashing;
        crate::rootfs::export(&layers, &mut hashing, &limits)?;
        hashing
    };
    let (mut buffered, digest, _) = hashing.finish();
    buffered.flush().map_err(io)?;
    drop(buffered);
    file.commit().map_err(Error::io(path))?;
    Ok(format!("sha256:{digest}"))
}
