//! Base images from disk: an OCI layout directory or an oci-archive file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest, MediaType};

use crate::Error;
use crate::platform::PlatformSpec;

/// A base image for one platform: its config and layers, and where their blobs are.
pub struct BaseImage {
    /// The reference as given in metadata (a path).
    pub name: String,
    /// `sha256:` digest of the chosen manifest.
    pub manifest_digest: String,
    pub config: ImageConfiguration,
    pub layers: Vec<Descriptor>,
    /// The `blobs/sha256/` directory holding the layers.
    pub blobs: PathBuf,
    /// The chosen manifest's annotations (`org.opencontainers.image.version`, `.source`,
    /// `.base.name`, ...).
    pub annotations: BTreeMap<String, String>,
    /// `org.opencontainers.image.ref.name` of the `index.json` entry the manifest was reached
    /// through.
    pub ref_name: Option<String>,
    _unpacked: Option<tempfile::TempDir>,
}

impl BaseImage {
    /// The blob file of a layer.
    pub fn blob(&self, descriptor: &Descriptor) -> PathBuf {
        self.blobs.join(descriptor.digest().digest())
    }
}

/// Opens `path` (a layout directory or an oci-archive) and picks the manifest of `platform`.
pub fn open(path: &Path, platform: &PlatformSpec) -> Result<BaseImage, Error> {
    open_with(path, Some(platform))
}

/// Like [`open`]; without a platform, the image must hold exactly one manifest (directly or
/// through nested indexes), which is taken whatever its platform.
pub fn open_with(path: &Path, platform: Option<&PlatformSpec>) -> Result<BaseImage, Error> {
    open_selected(path, None, platform)
}

/// Like [`open_with`], for the image named `ref_name` (its `org.opencontainers.image.ref.name`
/// in `index.json`). Without a name, a layout whose `index.json` names several images (each
/// with its own name) is an error listing the names: a platform does not choose between
/// images.
pub fn open_selected(
    path: &Path,
    ref_name: Option<&str>,
    platform: Option<&PlatformSpec>,
) -> Result<BaseImage, Error> {
    let (root, unpacked) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let temp = tempfile::tempdir().map_err(Error::io(&std::env::temp_dir()))?;
        boxwright_archive::unpack(path, temp.path(), &boxwright_archive::Limits::default())
            .map_err(|e| Error::Invalid {
                path: path.to_path_buf(),
                what: "oci-archive",
                message: e.to_string(),
            })?;
        (temp.path().to_path_buf(), Some(temp))
    };
    let blobs = root.join("blobs").join("sha256");
    let index: ImageIndex = read_json(&root.join("index.json"), "image index")?;
    let entries = select_entries(index.manifests(), ref_name, path)?;
    let leaves = leaves(&blobs, &entries, path)?;
    let chosen = &leaves[match platform {
        Some(platform) => choose(&leaves, platform, path)?,
        None => only_manifest(&leaves, path)?,
    }];
    let ref_name = ref_name_of(&entries, chosen);
    let manifest_descriptor = &chosen.descriptor;
    let manifest_path = blob_path(&blobs, manifest_descriptor);
    verify_blob(&manifest_path, manifest_descriptor)?;
    let manifest: ImageManifest = read_json(&manifest_path, "image manifest")?;
    let config_path = blob_path(&blobs, manifest.config());
    verify_blob(&config_path, manifest.config())?;
    let config: ImageConfiguration = read_json(&config_path, "image config")?;
    // A lone manifest without a platform in the index is chosen on trust: its config decides.
    let (os, architecture) = (config.os().to_string(), config.architecture().to_string());
    if let Some(platform) = platform
        && (os != platform.os || architecture != platform.architecture)
    {
        return Err(Error::NoPlatform {
            path: path.to_path_buf(),
            platform: platform.to_string(),
            available: format!("{os}/{architecture}"),
        });
    }
    Ok(BaseImage {
        name: path.display().to_string(),
        manifest_digest: manifest_descriptor.digest().to_string(),
        config,
        layers: manifest.layers().clone(),
        blobs,
        annotations: manifest
            .annotations()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ref_name,
        _unpacked: unpacked,
    })
}

/// The `ref.name` annotation of an `index.json` entry.
fn entry_name(descriptor: &Descriptor) -> Option<&str> {
    descriptor
        .annotations()
        .as_ref()?
        .get(crate::image::REF_NAME)
        .map(String::as_str)
}

/// The `index.json` entries to choose a manifest from: those named `ref_name`, else all of
/// them, unless they are several distinct images with names of their own.
fn select_entries(
    top: &[Descriptor],
    ref_name: Option<&str>,
    shown: &Path,
) -> Result<Vec<Descriptor>, Error> {
    let mut names: Vec<String> = Vec::new();
    for name in top.iter().filter_map(entry_name) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    if let Some(wanted) = ref_name {
        let matching: Vec<Descriptor> = top
            .iter()
            .filter(|d| entry_name(d) == Some(wanted))
            .cloned()
            .collect();
        if matching.is_empty() {
            return Err(Error::NoSuchImage {
                path: shown.to_path_buf(),
                name: wanted.to_string(),
                names,
            });
        }
        return Ok(matching);
    }
    let mut digests: Vec<&str> = top.iter().map(|d| d.digest().as_ref()).collect();
    digests.sort_unstable();
    digests.dedup();
    let every_entry_named = top.iter().all(|d| entry_name(d).is_some());
    if digests.len() > 1 && every_entry_named && names.len() > 1 {
        return Err(Error::SeveralImages {
            path: shown.to_path_buf(),
            names,
        });
    }
    Ok(top.to_vec())
}

fn blob_path(blobs: &Path, descriptor: &Descriptor) -> PathBuf {
    blobs.join(descriptor.digest().digest())
}

/// How deep image indexes may nest below `index.json`. Real images use one level (an index
/// of platform manifests); `image build` refuses deeper ones rather than walk them.
pub const MAX_INDEX_DEPTH: usize = 8;

/// An image manifest reached from `index.json`: its descriptor, which top-level entry it
/// was reached through, and how many entries its own list has.
struct Leaf {
    descriptor: Descriptor,
    top: usize,
    siblings: usize,
}

/// Every image manifest below `top`, in order, following nested indexes: each index at most
/// once (by digest) and at most [`MAX_INDEX_DEPTH`] deep, else an error naming the digest or
/// the depth. Iterative, so a hostile layout costs one read per index blob.
fn leaves(blobs: &Path, top: &[Descriptor], shown: &Path) -> Result<Vec<Leaf>, Error> {
    let refused = |message: String| Error::Invalid {
        path: shown.to_path_buf(),
        what: "image",
        message,
    };
    let mut visited = std::collections::HashSet::new();
    let mut leaves = Vec::new();
    // (descriptor, top-level entry, depth, length of the list it is in), next on top.
    let mut pending: Vec<(Descriptor, usize, usize, usize)> = top
        .iter()
        .enumerate()
        .rev()
        .map(|(i, d)| (d.clone(), i, 1, top.len()))
        .collect();
    while let Some((descriptor, entry, depth, siblings)) = pending.pop() {
        if *descriptor.media_type() != MediaType::ImageIndex {
            leaves.push(Leaf {
                descriptor,
                top: entry,
                siblings,
            });
            continue;
        }
        let digest = descriptor.digest().to_string();
        if depth > MAX_INDEX_DEPTH {
            return Err(refused(format!(
                "image indexes nested more than {MAX_INDEX_DEPTH} deep (at {digest})"
            )));
        }
        if !visited.insert(digest.clone()) {
            return Err(refused(format!("image index {digest} is listed twice")));
        }
        let nested_path = blob_path(blobs, &descriptor);
        verify_blob(&nested_path, &descriptor)?;
        let nested: ImageIndex = read_json(&nested_path, "image index")?;
        let count = nested.manifests().len();
        pending.extend(
            nested
                .manifests()
                .iter()
                .rev()
                .map(|d| (d.clone(), entry, depth + 1, count)),
        );
    }
    Ok(leaves)
}

/// Picks the manifest for `platform` among `leaves`.
fn choose(leaves: &[Leaf], platform: &PlatformSpec, shown: &Path) -> Result<usize, Error> {
    let mut available = Vec::new();
    for (i, leaf) in leaves.iter().enumerate() {
        match leaf.descriptor.platform() {
            Some(p) if platform.matches(p) => return Ok(i),
            Some(p) => available.push(format!("{}/{}", p.os(), p.architecture())),
            // A single manifest without a platform: its config says (checked in `open`).
            None if leaf.siblings == 1 => return Ok(i),
            None => available.push("(no platform)".into()),
        }
    }
    Err(Error::NoPlatform {
        path: shown.to_path_buf(),
        platform: platform.to_string(),
        available: if available.is_empty() {
            "nothing".into()
        } else {
            available.join(", ")
        },
    })
}

/// The one image manifest among `leaves` (the same digest reached twice counts once); an
/// error naming the platforms when there are several.
fn only_manifest(leaves: &[Leaf], shown: &Path) -> Result<usize, Error> {
    let mut found: Vec<usize> = Vec::new();
    for (i, leaf) in leaves.iter().enumerate() {
        if !found
            .iter()
            .any(|&f| leaves[f].descriptor.digest() == leaf.descriptor.digest())
        {
            found.push(i);
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Invalid {
            path: shown.to_path_buf(),
            what: "image",
            message: "index.json names no image manifest".into(),
        }),
        _ => Err(Error::SeveralPlatforms {
            path: shown.to_path_buf(),
            platforms: found
                .iter()
                .map(|&i| {
                    leaves[i].descriptor.platform().as_ref().map_or_else(
                        || "(no platform)".to_string(),
                        |p| format!("{}/{}", p.os(), p.architecture()),
                    )
                })
                .collect(),
        }),
    }
}

/// The `org.opencontainers.image.ref.name` of the top-level entry `chosen` was reached
/// through; with one entry only, that entry's.
fn ref_name_of(top: &[Descriptor], chosen: &Leaf) -> Option<String> {
    let entry = if let [single] = top {
        single
    } else {
        top.get(chosen.top)?
    };
    entry
        .annotations()
        .as_ref()?
        .get(crate::image::REF_NAME)
        .cloned()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
        path: path.to_path_buf(),
        what,
        message: e.to_string(),
    })
}

/// Checks a small blob's digest before trusting its content.
fn verify_blob(path: &Path, descriptor: &Descriptor) -> Result<(), Error> {
    let actual = crate::blob::sha256_file(path)?;
    if actual == descriptor.digest().digest() {
        Ok(())
    } else {
        Err(Error::DigestMismatch {
            path: path.to_path_buf(),
            digest: descriptor.digest().to_string(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sha2::{Digest as _, Sha256};

    /// Writes `value` as a blob; returns its descriptor as JSON.
    fn blob(root: &Path, media_type: &str, value: &serde_json::Value) -> serde_json::Value {
        let bytes = serde_json::to_vec(value).unwrap();
        let hex = Sha256::digest(&bytes)
            .iter()
            .fold(String::new(), |mut hex, b| {
                use std::fmt::Write as _;
                let _ = write!(hex, "{b:02x}");
                hex
            });
        std::fs::write(root.join("blobs/sha256").join(&hex), &bytes).unwrap();
        json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len()})
    }

    /// A layout with one manifest per architecture (no layers), each annotated with it.
    fn layout(architectures: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let mut manifests = Vec::new();
        for arch in architectures {
            let config = blob(
                root,
                "application/vnd.oci.image.config.v1+json",
                &json!({"architecture": arch, "os": "linux",
                        "rootfs": {"type": "layers", "diff_ids": []}}),
            );
            let mut manifest = blob(
                root,
                "application/vnd.oci.image.manifest.v1+json",
                &json!({"schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": config, "layers": [],
                        "annotations": {"org.opencontainers.image.version": *arch}}),
            );
            manifest["platform"] = json!({"os": "linux", "architecture": arch});
            manifests.push(manifest);
        }
        let top = if let [single] = manifests.as_slice() {
            single.clone()
        } else {
            blob(
                root,
                "application/vnd.oci.image.index.v1+json",
                &json!({"schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": manifests}),
            )
        };
        let mut named = top;
        named["annotations"] = json!({"org.opencontainers.image.ref.name": "1.0"});
        let index = json!({"schemaVersion": 2, "manifests": [named]});
        std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        dir
    }

    #[test]
    fn without_a_platform_the_only_manifest_is_taken() {
        let dir = layout(&["arm64"]);
        let image = open_with(dir.path(), None).unwrap();
        assert_eq!(image.config.architecture().to_string(), "arm64");
        assert_eq!(image.ref_name.as_deref(), Some("1.0"));
        assert_eq!(
            image.annotations.get("org.opencontainers.image.version"),
            Some(&"arm64".to_string())
        );
    }

    #[test]
    fn several_platforms_need_one_chosen() {
        let dir = layout(&["amd64", "arm64"]);
        let Err(err) = open_with(dir.path(), None) else {
            panic!("two platforms and none chosen");
        };
        let err = err.to_string();
        assert!(
            err.contains("several platforms (linux/amd64, linux/arm64)"),
            "{err}"
        );
        let arm: PlatformSpec = "linux/arm64".parse().unwrap();
        let image = open_with(dir.path(), Some(&arm)).unwrap();
        assert_eq!(
            image.annotations.get("org.opencontainers.image.version"),
            Some(&"arm64".to_string())
        );
        // Reached through the nested index that index.json names.
        assert_eq!(image.ref_name.as_deref(), Some("1.0"));
    }

    /// Wraps the top entry of `dir`'s index.json in `levels` more indexes, each listing the
    /// one below `copies` times.
    fn nest(dir: &Path, levels: usize, copies: usize) {
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let mut below = index["manifests"][0].clone();
        for _ in 0..levels {
            below = blob(
                dir,
                "application/vnd.oci.image.index.v1+json",
                &json!({"schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": vec![below; copies]}),
            );
        }
        let index = json!({"schemaVersion": 2, "manifests": [below]});
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    }

    #[test]
    fn indexes_nested_up_to_the_limit_are_followed() {
        let dir = layout(&["arm64"]);
        nest(dir.path(), MAX_INDEX_DEPTH, 1);
        let arm: PlatformSpec = "linux/arm64".parse().unwrap();
        let image = open_with(dir.path(), Some(&arm)).unwrap();
        assert_eq!(image.config.architecture().to_string(), "arm64");
    }

    #[test]
    fn indexes_nested_too_deep_are_refused_naming_the_depth() {
        let dir = layout(&["arm64"]);
        nest(dir.path(), MAX_INDEX_DEPTH + 1, 1);
        let amd: PlatformSpec = "linux/amd64".parse().unwrap();
        let Err(err) = open_with(dir.path(), Some(&amd)) else {
            panic!("nested too deep");
        };
        assert!(
            err.to_string()
                .contains(&format!("nested more than {MAX_INDEX_DEPTH} deep")),
            "{err}"
        );
    }

    #[test]
    fn an_index_listed_twice_is_refused_naming_its_digest() {
        // Each level lists the one below twice: walked naively, 2^levels paths.
        let dir = layout(&["amd64", "arm64"]);
        nest(dir.path(), 3, 2);
        let s390x: PlatformSpec = "linux/s390x".parse().unwrap();
        for platform in [Some(&s390x), None] {
            let Err(err) = open_with(dir.path(), platform) else {
                panic!("an index listed twice");
            };
            let err = err.to_string();
            assert!(err.contains("is listed twice"), "{err}");
            assert!(err.contains("image index sha256:"), "{err}");
        }
    }

    /// A layout whose `index.json` names two single-platform images, `1.0` and `moved`,
    /// both linux/amd64.
    fn two_images() -> tempfile::TempDir {
        let first = layout(&["amd64"]);
        let root = first.path();
        let config = blob(
            root,
            "application/vnd.oci.image.config.v1+json",
            &json!({"architecture": "amd64", "os": "linux",
                    "rootfs": {"type": "layers", "diff_ids": []}}),
        );
        let mut second = blob(
            root,
            "application/vnd.oci.image.manifest.v1+json",
            &json!({"schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config, "layers": [],
                    "annotations": {"org.opencontainers.image.version": "moved"}}),
        );
        second["annotations"] = json!({"org.opencontainers.image.ref.name": "moved"});
        let index_path = root.join("index.json");
        let mut index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
        index["manifests"].as_array_mut().unwrap().push(second);
        std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
        first
    }

    #[test]
    fn several_named_images_need_a_name_not_a_platform() {
        let dir = two_images();
        let amd: PlatformSpec = "linux/amd64".parse().unwrap();
        for platform in [None, Some(&amd)] {
            let Err(Error::SeveralImages { names, .. }) = open_selected(dir.path(), None, platform)
            else {
                panic!("two images and none named");
            };
            assert_eq!(names, ["1.0", "moved"]);
        }
        let moved = open_selected(dir.path(), Some("moved"), None).unwrap();
        assert_eq!(moved.ref_name.as_deref(), Some("moved"));
        assert_eq!(
            moved.annotations.get("org.opencontainers.image.version"),
            Some(&"moved".to_string())
        );
        let first = open_selected(dir.path(), Some("1.0"), Some(&amd)).unwrap();
        assert_eq!(first.ref_name.as_deref(), Some("1.0"));
        assert_ne!(first.manifest_digest, moved.manifest_digest);
        let Err(Error::NoSuchImage { name, names, .. }) =
            open_selected(dir.path(), Some("2.0"), None)
        else {
            panic!("no image is named 2.0");
        };
        assert_eq!((name.as_str(), names.len()), ("2.0", 2));
    }
}
