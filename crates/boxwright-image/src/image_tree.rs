//! The file tree of an image on disk, for `verify --image`: an OCI layout or oci-archive
//! (one image, by ref name and platform, flattened by `boxwright-oci`'s rootfs export with
//! every layer's digest checked by the opener), a rootfs tarball (plain, gzip or zstd), or
//! an unpacked rootfs directory.

use std::io::{Read, Seek};
use std::path::Path;

use boxwright_oci::rootfs::{ExportLimits, LayerCompression, LayerSource};
use boxwright_oci::{Compression, PlatformSpec};

use crate::Error;
use crate::tree::TreeIndex;

/// An image's tree and its config's entrypoint (empty for a rootfs).
#[derive(Debug, Clone)]
pub struct ImageTree {
    pub tree: TreeIndex,
    pub entrypoint: Vec<String>,
}

/// The tree of the image at `path`: a directory holding `oci-layout` or a file holding one
/// at its top is an image (`ref_name` and `platform` pick it); another directory is a
/// rootfs; another file a rootfs tarball.
pub fn image_tree(
    path: &Path,
    ref_name: Option<&str>,
    platform: Option<&str>,
) -> Result<ImageTree, Error> {
    if path.is_dir() && !path.join("oci-layout").exists() {
        return Ok(ImageTree {
            tree: TreeIndex::from_dir(path)?,
            entrypoint: Vec::new(),
        });
    }
    if path.is_file() && !holds_layout(path)? {
        let layer = LayerSource {
            path: path.to_path_buf(),
            compression: compression_of(path)?,
        };
        return Ok(ImageTree {
            tree: flatten(&[layer], path)?,
            entrypoint: Vec::new(),
        });
    }
    let platform = platform
        .map(|p| {
            p.parse::<PlatformSpec>()
                .map_err(|message| Error::Platform { message })
        })
        .transpose()?;
    let base = boxwright_oci::base::open_selected(path, ref_name, platform.as_ref()).map_err(
        |source| Error::Base {
            written: path.display().to_string(),
            source,
        },
    )?;
    let mut layers = Vec::new();
    for descriptor in &base.layers {
        let media_type = descriptor.media_type().to_string();
        let compression = match Compression::from_media_type(&media_type) {
            Some(Compression::Gzip { .. }) => LayerCompression::Gzip,
            Some(Compression::Zstd { .. }) => LayerCompression::Zstd,
            Some(Compression::None) => LayerCompression::None,
            None => {
                return Err(Error::Tree {
                    path: base.blob(descriptor),
                    message: format!("unknown layer media type {media_type}"),
                });
            }
        };
        layers.push(LayerSource {
            path: base.blob(descriptor),
            compression,
        });
    }
    let entrypoint = base
        .config
        .config()
        .as_ref()
        .and_then(|config| config.entrypoint().clone())
        .unwrap_or_default();
    Ok(ImageTree {
        tree: flatten(&layers, path)?,
        entrypoint,
    })
}

/// The layers flattened into a temporary tar file, read back as a tree.
fn flatten(layers: &[LayerSource], what: &Path) -> Result<TreeIndex, Error> {
    let limits = ExportLimits::default();
    let mut spool =
        tempfile::tempfile_in(&limits.spool_dir).map_err(Error::io(&limits.spool_dir))?;
    boxwright_oci::rootfs::export(layers, std::io::BufWriter::new(&mut spool), &limits).map_err(
        |e| Error::Tree {
            path: what.to_path_buf(),
            message: e.to_string(),
        },
    )?;
    spool.rewind().map_err(Error::io(what))?;
    TreeIndex::from_tar(std::io::BufReader::new(spool), what)
}

fn compression_of(path: &Path) -> Result<LayerCompression, Error> {
    let mut magic = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(4).read_to_end(&mut magic))
        .map_err(Error::io(path))?;
    Ok(match magic.as_slice() {
        [0x1f, 0x8b, ..] => LayerCompression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => LayerCompression::Zstd,
        _ => LayerCompression::None,
    })
}

/// Whether an uncompressed tar file has `oci-layout` among its first entries.
fn holds_layout(path: &Path) -> Result<bool, Error> {
    if compression_of(path)? != LayerCompression::None {
        return Ok(false);
    }
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    Ok(boxwright_oci::rootfs::holds_oci_layout(file))
}
