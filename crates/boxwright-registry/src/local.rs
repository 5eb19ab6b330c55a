//! An image in a local OCI layout directory or oci-archive: which one (`PushSource`), its
//! top manifest or index, and its blobs read with their digests checked. Push and summary
//! both read images this way.

use std::path::{Path, PathBuf};

use boxwright_oci::BlobStore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::descriptor::INDEX_TYPES;

/// An image of a local layout or oci-archive (what to push or inspect): a layout directory or an oci-archive, and which image in it.
#[derive(Debug, Clone)]
pub struct PushSource {
    pub path: PathBuf,
    /// An `org.opencontainers.image.ref.name` annotation in `index.json`.
    pub ref_name: Option<String>,
    /// A repository of the target registry to mount blobs from (`--mount-from`); without it,
    /// blobs are mounted from where the layout was pulled or its base image came from, when
    /// that is the same registry.
    pub mount_from: Option<String>,
}

/// A blob of the image: digest, size, file, and a repository of the same registry (as
/// `host/repository`) that may have it.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub(crate) digest: String,
    pub(crate) size: u64,
    pub(crate) path: PathBuf,
    pub(crate) mount_from: Option<String>,
}

/// The layout root: the directory itself, or an oci-archive unpacked into a temporary one.
pub(crate) fn open(path: &Path) -> Result<(Option<tempfile::TempDir>, PathBuf), Error> {
    if path.is_dir() {
        return Ok((None, path.to_path_buf()));
    }
    if !path.exists() {
        return Err(Error::Source {
            path: path.to_path_buf(),
            message: "no such OCI layout directory or oci-archive".into(),
        });
    }
    let temp = tempfile::tempdir().map_err(|source| Error::Read {
        path: std::env::temp_dir(),
        source,
    })?;
    boxwright_archive::unpack(path, temp.path(), &boxwright_archive::Limits::default()).map_err(
        |e| Error::Source {
            path: path.to_path_buf(),
            message: format!("not a readable oci-archive: {e}"),
        },
    )?;
    let root = temp.path().to_path_buf();
    Ok((Some(temp), root))
}

fn read_json(path: &Path) -> Result<(Vec<u8>, Value), Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value = serde_json::from_slice(&bytes).map_err(|e| Error::Source {
        path: path.to_path_buf(),
        message: format!("not JSON: {e}"),
    })?;
    Ok((bytes, value))
}

/// The descriptor's `sha256:` digest, checked for shape.
pub(crate) fn descriptor_digest(descriptor: &Value, path: &Path) -> Result<String, Error> {
    descriptor["digest"]
        .as_str()
        .filter(|d| {
            d.strip_prefix("sha256:")
                .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .map(str::to_string)
        .ok_or_else(|| Error::Source {
            path: path.to_path_buf(),
            message: format!("descriptor without a sha256 digest: {descriptor}"),
        })
}

/// The `index.json` entry of the image to use: the one named `source.ref_name`, or the only
/// one.
pub(crate) fn select_top(root: &Path, source: &PushSource) -> Result<Value, Error> {
    let index_path = root.join("index.json");
    let (_, index) = read_json(&index_path)?;
    let descriptors: Vec<&Value> = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let ref_name = |d: &Value| {
        d["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .map(str::to_string)
    };
    let top: &Value = match &source.ref_name {
        Some(name) => descriptors
            .iter()
            .find(|d| ref_name(d).as_deref() == Some(name.as_str()))
            .ok_or_else(|| Error::Source {
                path: source.path.clone(),
                message: format!(
                    "no image named `{name}` in index.json (names: {})",
                    descriptors
                        .iter()
                        .filter_map(|d| ref_name(d))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?,
        None => match descriptors.as_slice() {
            [one] => one,
            [] => {
                return Err(Error::Source {
                    path: source.path.clone(),
                    message: "index.json names no image".into(),
                });
            }
            _ => {
                return Err(Error::Source {
                    path: source.path.clone(),
                    message: "index.json names several images: choose one with PATH:REFNAME".into(),
                });
            }
        },
    };
    Ok(top.clone())
}

/// A config's digest and bytes.
pub(crate) type ConfigBlob = (String, Vec<u8>);

/// The top manifest or index of a local layout or oci-archive, and for an image manifest
/// its config (digest and bytes, both checked).
pub(crate) fn local_top(
    source: &PushSource,
) -> Result<(crate::Inspected, Option<ConfigBlob>), Error> {
    let (_unpacked, root) = open(&source.path)?;
    let store = BlobStore::create(&root)?;
    let top = select_top(&root, source)?;
    let (blob, bytes, value) = load_blob(&store, &top)?;
    let media_type = value["mediaType"]
        .as_str()
        .or(top["mediaType"].as_str())
        .unwrap_or("application/vnd.oci.image.manifest.v1+json")
        .to_string();
    let config = if INDEX_TYPES.contains(&media_type.as_str()) {
        None
    } else {
        let (config, config_bytes, _) = load_blob(&store, &value["config"])?;
        Some((config.digest, config_bytes))
    };
    let inspected = crate::Inspected {
        reference: source.path.display().to_string(),
        media_type,
        digest: blob.digest,
        bytes,
    };
    Ok((inspected, config))
}

pub(crate) fn load_blob(
    store: &BlobStore,
    descriptor: &Value,
) -> Result<(Blob, Vec<u8>, Value), Error> {
    let path = store.path("");
    let digest = descriptor_digest(descriptor, &path)?;
    let path = store.path(&digest["sha256:".len()..]);
    let (bytes, value) = read_json(&path)?;
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    if actual != digest {
        return Err(Error::Source {
            path,
            message: format!("content has digest {actual}, not {digest}"),
        });
    }
    let size = bytes.len() as u64;
    let blob = Blob {
        digest,
        size,
        path,
        mount_from: None,
    };
    Ok((blob, bytes, value))
}
