//! The pull side: an image (or one platform of an index) from a registry into an OCI layout
//! directory or oci-archive, every digest checked.

use boxwright_archive::progress::ProgressItem;
use serde::Serialize;

use crate::client::Call;
use crate::descriptor::{PULLED_FROM_ANNOTATION, platform_matches, platform_name};
use crate::{Client, Error, Inspected, Reference};

/// How `pull` saves the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullFormat {
    /// An OCI layout directory.
    Oci,
    /// An OCI layout in a tar file.
    OciArchive,
}

/// What `pull` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    pub reference: String,
    /// `sha256:` of what `index.json` names: the manifest, or the index.
    pub digest: String,
    pub media_type: String,
    pub path: std::path::PathBuf,
    pub format: PullFormat,
    pub platforms: Vec<String>,
    /// Blobs downloaded (configs and layers) and their bytes.
    pub blobs: usize,
    pub bytes: u64,
}

impl Client {
    /// Streams a blob into the store, hashing as it goes; a wrong digest is an error and the
    /// blob is not kept. Returns its size.
    async fn blob_to_store(
        &self,
        reference: &Reference,
        store: &boxwright_oci::BlobStore,
        digest: &str,
        total: &dyn ProgressItem,
    ) -> Result<u64, Error> {
        use futures_util::StreamExt;
        use std::io::Write;

        let hex_digest = digest.strip_prefix("sha256:").unwrap_or(digest);
        let target = store.path(hex_digest);
        if target.exists() {
            let size = std::fs::metadata(&target).map_or(0, |m| m.len());
            total.advance(size);
            return Ok(size);
        }
        let call = Self::blob_call(reference, digest);
        let response = self.get_blob(&call, digest).await?;
        let item = self.progress.begin(
            &format!("blob {}", digest.get(..19).unwrap_or(digest)),
            response.content_length(),
        );
        let mut writer = store.writer()?;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| call.http_error(e))
                .inspect_err(|_| item.finish())?;
            item.advance(chunk.len() as u64);
            total.advance(chunk.len() as u64);
            writer.write_all(&chunk).map_err(|source| Error::Read {
                path: target.clone(),
                source,
            })?;
        }
        item.finish();
        let written = writer.finish(oci_spec_octet())?;
        let actual = written.digest().to_string();
        if actual != digest {
            let _ = std::fs::remove_file(store.path(written.digest().digest()));
            return Err(Error::DigestMismatch {
                registry: reference.registry.clone(),
                repository: reference.repository.clone(),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(written.size())
    }

    /// Downloads the config and layers of one image manifest into the store, then the
    /// manifest itself. Returns the blobs downloaded and their bytes.
    async fn pull_manifest(
        &self,
        reference: &Reference,
        call: &Call<'_>,
        store: &boxwright_oci::BlobStore,
        manifest: &Inspected,
        total: &dyn ProgressItem,
    ) -> Result<(usize, u64), Error> {
        let mut blobs = 0;
        let mut bytes = 0;
        let value: serde_json::Value = serde_json::from_slice(&manifest.bytes)
            .map_err(|e| call.protocol(format!("{} is not JSON: {e}", manifest.digest)))?;
        if value["mediaType"]
            .as_str()
            .is_some_and(|t| t.contains("index") || t.contains("manifest.list"))
        {
            return Err(call.protocol(format!("{} is a nested index", manifest.digest)));
        }
        for descriptor in std::iter::once(&value["config"])
            .chain(value["layers"].as_array().into_iter().flatten())
        {
            let digest = descriptor["digest"]
                .as_str()
                .filter(|d| {
                    d.strip_prefix("sha256:").is_some_and(|h| {
                        h.len() == 64
                            && h.bytes()
                                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    })
                })
                .ok_or_else(|| {
                    call.protocol(format!(
                        "{}: descriptor without a sha256 digest: {descriptor}",
                        manifest.digest
                    ))
                })?;
            bytes += self.blob_to_store(reference, store, digest, total).await?;
            blobs += 1;
        }
        write_blob(store, &manifest.digest, &manifest.bytes)?;
        Ok((blobs, bytes))
    }

    /// Downloads every manifest's blobs, one progress total over them all.
    async fn pull_manifests(
        &self,
        reference: &Reference,
        call: &Call<'_>,
        store: &boxwright_oci::BlobStore,
        manifests: &[Inspected],
    ) -> Result<(usize, u64), Error> {
        let total = self.progress.begin(
            &format!("pulling {}", reference.name()),
            Some(manifests.iter().map(blob_sizes).sum()),
        );
        let (mut blobs, mut bytes) = (0, 0);
        for manifest in manifests {
            let pulled = self
                .pull_manifest(reference, call, store, manifest, total.as_ref())
                .await
                .inspect_err(|_| total.finish())?;
            blobs += pulled.0;
            bytes += pulled.1;
        }
        total.finish();
        Ok((blobs, bytes))
    }

    /// The manifests of the index `document` (only `platform`'s when given), with their
    /// platforms.
    async fn index_manifests(
        &self,
        reference: &Reference,
        call: &Call<'_>,
        document: &serde_json::Value,
        platform: Option<&str>,
    ) -> Result<(Vec<String>, Vec<Inspected>), Error> {
        let mut platforms = Vec::new();
        let mut manifests = Vec::new();
        let entries: Vec<&serde_json::Value> = document["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| platform.is_none_or(|p| platform_matches(&e["platform"], p)))
            .collect();
        if entries.is_empty() {
            return Err(call.protocol(match platform {
                Some(p) => format!("the index has no manifest for platform {p}"),
                None => "the index names no manifest".into(),
            }));
        }
        if platform.is_some() && entries.len() > 1 {
            return Err(call.protocol(format!(
                "the index has {} manifests for platform {}: give the variant too",
                entries.len(),
                platform.unwrap_or_default()
            )));
        }
        for entry in entries {
            let digest = entry["digest"]
                .as_str()
                .ok_or_else(|| call.protocol("an index entry has no digest"))?;
            let child = Reference {
                digest: Some(digest.to_string()),
                ..reference.clone()
            };
            platforms.push(platform_name(&entry["platform"]));
            manifests.push(self.inspect(&child).await?);
        }
        Ok((platforms, manifests))
    }

    /// Saves the image `reference` names (every platform of an index, or only `platform`)
    /// as an OCI layout or oci-archive at `path`, named by the reference's tag or `latest`.
    /// Everything is written under a temporary name next to `path` first: a failure leaves
    /// nothing behind.
    pub async fn pull(
        &self,
        reference: &Reference,
        path: &std::path::Path,
        format: PullFormat,
        platform: Option<&str>,
        mtime: u64,
    ) -> Result<PullReport, Error> {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let io = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |source| Error::Read { path, source }
        };
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let staging = tempfile::Builder::new()
            .prefix(".boxwright-pull.")
            .tempdir_in(parent)
            .map_err(io(parent))?;
        let root = staging.path().join("layout");
        let store = boxwright_oci::BlobStore::create(&root)?;
        let top = self.inspect(reference).await?;
        let call = Call::new(
            reference,
            format!("manifest {}", reference.manifest_reference()),
            false,
        );
        let document: serde_json::Value = serde_json::from_slice(&top.bytes)
            .map_err(|e| call.protocol(format!("not JSON: {e}")))?;
        let is_index = matches!(
            top.media_type.as_str(),
            "application/vnd.oci.image.index.v1+json"
                | "application/vnd.docker.distribution.manifest.list.v2+json"
        );
        let mut report = PullReport {
            reference: reference.to_string(),
            digest: top.digest.clone(),
            media_type: top.media_type.clone(),
            path: path.to_path_buf(),
            format,
            platforms: Vec::new(),
            blobs: 0,
            bytes: 0,
        };
        let manifests = if is_index {
            let (platforms, manifests) = self
                .index_manifests(reference, &call, &document, platform)
                .await?;
            report.platforms = platforms;
            manifests
        } else {
            vec![top.clone()]
        };
        let (blobs, bytes) = self
            .pull_manifests(reference, &call, &store, &manifests)
            .await?;
        report.blobs += blobs;
        report.bytes += bytes;
        // With one platform chosen from an index, the layout names that platform's manifest.
        let named = if is_index && platform.is_some() {
            let only = &manifests[0];
            report.digest.clone_from(&only.digest);
            report.media_type.clone_from(&only.media_type);
            only
        } else {
            if is_index {
                write_blob(&store, &top.digest, &top.bytes)?;
            }
            &top
        };
        let ref_name = reference.tag.as_deref().unwrap_or("latest");
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": named.media_type,
                "digest": named.digest,
                "size": named.bytes.len(),
                "annotations": {
                    "org.opencontainers.image.ref.name": ref_name,
                    PULLED_FROM_ANNOTATION: reference.name(),
                },
            }],
        });
        let index_path = root.join("index.json");
        std::fs::write(
            &index_path,
            serde_json::to_vec(&index).expect("a JSON value serialises"),
        )
        .map_err(io(&index_path))?;
        let layout_path = root.join("oci-layout");
        std::fs::write(&layout_path, br#"{"imageLayoutVersion":"1.0.0"}"#)
            .map_err(io(&layout_path))?;
        match format {
            PullFormat::Oci => boxwright_oci::output::replace_dir(&root, path)?,
            PullFormat::OciArchive => boxwright_oci::output::write_oci_archive(&root, path, mtime)?,
        }
        Ok(report)
    }
}

/// The sizes of a manifest's config and layers, as its descriptors give them (for the
/// progress total only; what arrives is checked by digest).
fn blob_sizes(manifest: &Inspected) -> u64 {
    let value: serde_json::Value = serde_json::from_slice(&manifest.bytes).unwrap_or_default();
    std::iter::once(&value["config"])
        .chain(value["layers"].as_array().into_iter().flatten())
        .filter_map(|descriptor| descriptor["size"].as_u64())
        .sum()
}

/// `application/octet-stream` as an OCI media type, for blobs whose type does not matter.
fn oci_spec_octet() -> boxwright_oci::MediaType {
    boxwright_oci::MediaType::Other("application/octet-stream".into())
}

/// Stores bytes already checked against `digest`.
fn write_blob(store: &boxwright_oci::BlobStore, digest: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = store.path(digest.strip_prefix("sha256:").unwrap_or(digest));
    std::fs::write(&path, bytes).map_err(|source| Error::Read { path, source })
}
