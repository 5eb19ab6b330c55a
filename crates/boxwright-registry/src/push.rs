//! `push`: an OCI layout (optionally one `org.opencontainers.image.ref.name` of it) or an
//! oci-archive to a registry.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use boxwright_archive::progress::ProgressItem;
use boxwright_oci::BlobStore;
use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::client::Call;
use crate::descriptor::{INDEX_TYPES, PULLED_FROM_ANNOTATION, platform_name};
use crate::local::{Blob, PushSource, descriptor_digest, load_blob, open, select_top};
use crate::{Client, Error, Reference};

/// Blobs from this size on are uploaded in chunks (PATCH), smaller ones in one PUT.
pub const CHUNKED_THRESHOLD: u64 = 16 << 20;
/// The size of one PATCH.
pub const CHUNK_SIZE: usize = 64 << 20;

/// The manifest annotation naming the base image (`host/repository:tag` for registry bases).
const BASE_NAME_ANNOTATION: &str = "org.opencontainers.image.base.name";

/// The result of a push.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    pub reference: String,
    /// `sha256:` of the top manifest or index.
    pub digest: String,
    pub media_type: String,
    /// Blobs uploaded, those mounted from another repository, and those the repository
    /// already had.
    pub uploaded: usize,
    pub mounted: usize,
    pub skipped: usize,
    pub uploaded_bytes: u64,
    pub manifests: usize,
}

/// A manifest or index to put, in order.
struct Manifest {
    digest: String,
    media_type: String,
    bytes: Vec<u8>,
}

enum Mount {
    Done,
    /// The registry did not mount, and opened an upload session instead.
    Session(Url),
}

enum Outcome {
    Uploaded(u64),
    Mounted,
    Skipped,
}

impl Client {
    /// Pushes the image of `source` to `reference`: blobs first, then the manifests by
    /// digest (an index last), then the tag when the reference has one.
    pub async fn push(
        &self,
        source: &PushSource,
        reference: &Reference,
    ) -> Result<PushReport, Error> {
        let (_unpacked, root) = open(&source.path)?;
        let store = BlobStore::create(&root)?;
        let (blobs, manifests) = collect(&store, &root, source)?;
        let top = manifests.last().expect("at least one manifest");
        if let Some(expected) = &reference.digest
            && *expected != top.digest
        {
            return Err(Error::Source {
                path: source.path.clone(),
                message: format!(
                    "the reference asks for {expected}, and the image's digest is {}",
                    top.digest
                ),
            });
        }
        let total: Arc<dyn ProgressItem> = Arc::from(self.progress.begin(
            &format!("pushing {}", reference.name()),
            Some(blobs.iter().map(|blob| blob.size).sum()),
        ));
        let mut results = futures_util::stream::iter(&blobs)
            .map(|blob| self.push_blob(reference, blob, &total))
            .buffer_unordered(self.options.jobs.max(1));
        let mut report = PushReport {
            reference: reference.to_string(),
            digest: top.digest.clone(),
            media_type: top.media_type.clone(),
            uploaded: 0,
            mounted: 0,
            skipped: 0,
            uploaded_bytes: 0,
            manifests: manifests.len(),
        };
        // The first failure ends the push: the uploads still running are dropped (their
        // sessions expire in the registry), and blobs not started are not started.
        while let Some(result) = results.next().await {
            let outcome = result.inspect_err(|_| total.finish())?;
            match outcome {
                Outcome::Uploaded(size) => {
                    report.uploaded += 1;
                    report.uploaded_bytes += size;
                }
                Outcome::Mounted => report.mounted += 1,
                Outcome::Skipped => report.skipped += 1,
            }
        }
        drop(results);
        total.finish();
        for manifest in &manifests {
            self.put_manifest(reference, manifest, &manifest.digest)
                .await?;
        }
        if let Some(tag) = &reference.tag {
            self.put_manifest(reference, top, tag).await?;
        }
        Ok(report)
    }

    async fn push_blob(
        &self,
        reference: &Reference,
        blob: &Blob,
        total: &Arc<dyn ProgressItem>,
    ) -> Result<Outcome, Error> {
        let call = Call::new(reference, format!("blob {}", blob.digest), true);
        let url = self
            .url(reference, &format!("blobs/{}", blob.digest))
            .await?;
        let response = self
            .send(&call, &|http| http.request(Method::HEAD, url.clone()))
            .await?;
        match response.status() {
            s if s.is_success() => {
                total.advance(blob.size);
                return Ok(Outcome::Skipped);
            }
            StatusCode::NOT_FOUND => {}
            _ => return Err(call.fail(response).await),
        }
        // The repository to mount from, when it is another one of this registry.
        let mount_from = blob.mount_from.as_deref().and_then(|source| {
            let (registry, repository) = source.split_once('/')?;
            (registry == reference.registry && repository != reference.repository)
                .then_some(repository)
        });
        let mut session = None;
        if let Some(from) = mount_from {
            match self.mount(reference, blob, from).await? {
                Mount::Done => {
                    total.advance(blob.size);
                    return Ok(Outcome::Mounted);
                }
                Mount::Session(location) => session = Some(location),
            }
        }
        let sent = Sent {
            total: Arc::clone(total),
            blob: self.progress.begin(
                &format!("blob {}", short_digest(&blob.digest)),
                Some(blob.size),
            ),
        };
        let sent = Arc::new(sent);
        // The whole upload is one attempt: a session broken half-way starts again.
        let result = self
            .retrying(
                || {
                    format!(
                        "upload of {} to {}/{}",
                        blob.digest, reference.registry, reference.repository
                    )
                },
                || self.upload(&call, blob, session.take(), &sent),
            )
            .await;
        sent.blob.finish();
        result?;
        Ok(Outcome::Uploaded(blob.size))
    }

    /// Asks the registry to link the blob from repository `from` (`POST
    /// .../blobs/uploads/?mount=&from=`): 201 when done; otherwise the registry opens an
    /// ordinary upload session, which the upload then uses.
    async fn mount(&self, reference: &Reference, blob: &Blob, from: &str) -> Result<Mount, Error> {
        let mut call = Call::new(
            reference,
            format!("mount of {} from {from}", blob.digest),
            true,
        );
        call.mount_from = Some(from);
        let mut url = self.url(reference, "blobs/uploads/").await?;
        url.query_pairs_mut()
            .append_pair("mount", &blob.digest)
            .append_pair("from", from);
        let response = self
            .send(&call, &|http| {
                http.post(url.clone()).header(CONTENT_LENGTH, "0")
            })
            .await?;
        match response.status() {
            StatusCode::CREATED => Ok(Mount::Done),
            StatusCode::ACCEPTED => Ok(Mount::Session(location(&call, &url, &response)?)),
            _ => Err(call.fail(response).await),
        }
    }

    /// Uploads the blob, in a session already opened or in a new one.
    async fn upload(
        &self,
        call: &Call<'_>,
        blob: &Blob,
        session: Option<Url>,
        sent: &Arc<Sent>,
    ) -> Result<(), Error> {
        let reference = call.reference;
        let mut location = if let Some(location) = session {
            location
        } else {
            let start = self.url(reference, "blobs/uploads/").await?;
            let response = self
                .send_once(call, &|http| {
                    http.post(start.clone()).header(CONTENT_LENGTH, "0")
                })
                .await?;
            if response.status() != StatusCode::ACCEPTED {
                return Err(call.fail(response).await);
            }
            location(call, &start, &response)?
        };
        let read_error = |source| Error::Read {
            path: blob.path.clone(),
            source,
        };
        let last_body = if blob.size < CHUNKED_THRESHOLD {
            let bytes = tokio::fs::read(&blob.path).await.map_err(read_error)?;
            check_digest(blob, &hex::encode(Sha256::digest(&bytes)))?;
            bytes
        } else {
            // Each chunk streams straight from the file. The file is not hashed here: the
            // registry hashes what it receives and refuses the final PUT when that is not
            // the digest (DIGEST_INVALID, turned into an error naming the file below), so a
            // second pass over a large file would only cost time.
            let mut offset = 0u64;
            while offset < blob.size {
                let length = (blob.size - offset).min(CHUNK_SIZE as u64);
                let range = format!("{offset}-{}", offset + length - 1);
                let target = location.clone();
                let response = self
                    .send_once(call, &|http| {
                        http.patch(target.clone())
                            .header(CONTENT_TYPE, "application/octet-stream")
                            .header(CONTENT_RANGE, &range)
                            .header(CONTENT_LENGTH, length)
                            .body(file_region(
                                blob.path.clone(),
                                offset,
                                length,
                                Arc::clone(sent),
                            ))
                    })
                    .await?;
                if response.status() != StatusCode::ACCEPTED {
                    return Err(call.fail(response).await);
                }
                location = self::location(call, &location, &response)?;
                offset += length;
            }
            Vec::new()
        };
        let mut finish = location;
        finish.query_pairs_mut().append_pair("digest", &blob.digest);
        let response = self
            .send_once(call, &|http| {
                http.put(finish.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, last_body.len())
                    .body(last_body.clone())
            })
            .await?;
        if response.status() == StatusCode::BAD_REQUEST {
            let error = call.fail(response).await;
            if error.to_string().contains("DIGEST_INVALID") {
                return Err(Error::Source {
                    path: blob.path.clone(),
                    message: format!(
                        "the registry found that this file's content does not have its digest {}",
                        blob.digest
                    ),
                });
            }
            return Err(error);
        }
        if response.status() != StatusCode::CREATED {
            return Err(call.fail(response).await);
        }
        // A blob sent in one request counts when the registry took it.
        sent.advance(last_body.len() as u64);
        Ok(())
    }

    /// Puts the manifest or index `digest` of `repository` under each of `tags` (moving them),
    /// as it is: its bytes and digest do not change.
    pub async fn tag(
        &self,
        repository: &Reference,
        digest: &str,
        tags: &[String],
    ) -> Result<(), Error> {
        let source = Reference {
            tag: None,
            digest: Some(digest.to_string()),
            ..repository.clone()
        };
        let inspected = self.inspect(&source).await?;
        let manifest = Manifest {
            digest: inspected.digest,
            media_type: inspected.media_type,
            bytes: inspected.bytes,
        };
        for tag in tags {
            let target = Reference {
                tag: Some(tag.clone()),
                digest: None,
                ..repository.clone()
            };
            self.put_manifest(&target, &manifest, tag).await?;
        }
        Ok(())
    }

    async fn put_manifest(
        &self,
        reference: &Reference,
        manifest: &Manifest,
        name: &str,
    ) -> Result<(), Error> {
        let call = Call::new(reference, format!("manifest {name}"), true);
        let url = self.url(reference, &format!("manifests/{name}")).await?;
        let response = self
            .send(&call, &|http| {
                http.put(url.clone())
                    .header(CONTENT_TYPE, &manifest.media_type)
                    .body(manifest.bytes.clone())
            })
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(call.fail(response).await);
        }
        Ok(())
    }
}

/// Refuses to finish an upload whose content is not what the layout says (`actual` is hex).
fn check_digest(blob: &Blob, actual: &str) -> Result<(), Error> {
    if blob.digest.strip_prefix("sha256:") == Some(actual) {
        Ok(())
    } else {
        Err(Error::Source {
            path: blob.path.clone(),
            message: format!(
                "blob {} has content with digest sha256:{actual}",
                blob.digest
            ),
        })
    }
}

/// The bytes of one blob upload, reported to its own item and the push's total.
struct Sent {
    total: Arc<dyn ProgressItem>,
    blob: Box<dyn ProgressItem>,
}

impl Sent {
    fn advance(&self, bytes: u64) {
        self.total.advance(bytes);
        self.blob.advance(bytes);
    }
}

/// `sha256:` and the first 12 hex digits, as registries' tools show blobs.
fn short_digest(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// A request body streaming `length` bytes of the file from `offset`, read 1 MiB at a time
/// (the file is opened when the body is first polled, so each attempt reads afresh); each
/// buffer is reported to `sent` as it goes out.
fn file_region(path: PathBuf, offset: u64, length: u64, sent: Arc<Sent>) -> reqwest::Body {
    use tokio::io::AsyncSeekExt;

    let state = (path, None::<tokio::fs::File>, length, sent);
    let stream =
        futures_util::stream::try_unfold(state, move |(path, file, left, sent)| async move {
            if left == 0 {
                return Ok(None);
            }
            let mut file = if let Some(file) = file {
                file
            } else {
                let mut file = tokio::fs::File::open(&path).await?;
                file.seek(std::io::SeekFrom::Start(offset)).await?;
                file
            };
            let mut buffer = vec![0; usize::try_from(left.min(1 << 20)).expect("at most 1 MiB")];
            file.read_exact(&mut buffer).await?;
            sent.advance(buffer.len() as u64);
            let left = left - buffer.len() as u64;
            Ok::<_, std::io::Error>(Some((buffer, (path, Some(file), left, sent))))
        });
    reqwest::Body::wrap_stream(stream)
}

/// The upload URL from `Location`, resolved against the request's URL.
pub(crate) fn location(
    call: &Call<'_>,
    base: &Url,
    response: &reqwest::Response,
) -> Result<Url, Error> {
    let value = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| call.protocol("the upload answer has no Location header"))?;
    base.join(value)
        .map_err(|e| call.protocol(format!("bad Location `{value}`: {e}")))
}

/// The blobs to upload and the manifests to put (in order, the top one last).
fn collect(
    store: &BlobStore,
    root: &Path,
    source: &PushSource,
) -> Result<(Vec<Blob>, Vec<Manifest>), Error> {
    let top = &select_top(root, source)?;
    let mount_from = source.mount_from.clone().or_else(|| {
        top["annotations"][PULLED_FROM_ANNOTATION]
            .as_str()
            .map(str::to_string)
    });
    let mut blobs = Vec::new();
    let mut manifests = Vec::new();
    let explicit = source.mount_from.is_some();
    add_manifest(
        store,
        top,
        &mut blobs,
        &mut manifests,
        (mount_from.as_deref(), explicit),
        0,
    )?;
    blobs.sort_by(|a: &Blob, b| a.digest.cmp(&b.digest));
    blobs.dedup_by(|a, b| a.digest == b.digest);
    Ok((blobs, manifests))
}

/// Adds the blobs and manifests under `descriptor`. `mount` is the repository to mount blobs
/// from and whether it was asked for. Otherwise the repository the layout was pulled from
/// (which has every blob) comes before the image's registry base (which has the base's).
fn add_manifest(
    store: &BlobStore,
    descriptor: &Value,
    blobs: &mut Vec<Blob>,
    manifests: &mut Vec<Manifest>,
    mount: (Option<&str>, bool),
    depth: usize,
) -> Result<(), Error> {
    // Each digest is added once: a manifest reached again is skipped, an index reached again
    // refused (each level listing the one below many times would multiply the walk).
    let digest = descriptor_digest(descriptor, &store.path(""))?;
    if manifests.iter().any(|m| m.digest == digest) {
        if INDEX_TYPES.contains(&descriptor["mediaType"].as_str().unwrap_or_default()) {
            return Err(Error::Source {
                path: store.path(&digest["sha256:".len()..]),
                message: format!("image index {digest} is listed twice"),
            });
        }
        return Ok(());
    }
    let (blob, bytes, value) = load_blob(store, descriptor)?;
    let media_type = value["mediaType"]
        .as_str()
        .or(descriptor["mediaType"].as_str())
        .unwrap_or("application/vnd.oci.image.manifest.v1+json")
        .to_string();
    if INDEX_TYPES.contains(&media_type.as_str()) {
        if depth > 2 {
            return Err(Error::Source {
                path: blob.path,
                message: "indexes nested too deeply".into(),
            });
        }
        for child in value["manifests"].as_array().into_iter().flatten() {
            add_manifest(store, child, blobs, manifests, mount, depth + 1)?;
        }
    } else {
        let base = value["annotations"][BASE_NAME_ANNOTATION]
            .as_str()
            .and_then(|name| name.parse::<Reference>().ok())
            .map(|base| format!("{}/{}", base.registry, base.repository));
        let mount_from = match mount {
            (Some(asked), true) => Some(asked.to_string()),
            (pulled, false) => pulled.map(str::to_string).or(base),
            (None, true) => None,
        };
        for layer in std::iter::once(&value["config"])
            .chain(value["layers"].as_array().into_iter().flatten())
        {
            let digest = descriptor_digest(layer, &blob.path)?;
            let path = store.path(&digest["sha256:".len()..]);
            let size = std::fs::metadata(&path)
                .map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?
                .len();
            if layer["size"].as_u64().is_some_and(|s| s != size) {
                return Err(Error::Source {
                    path,
                    message: format!(
                        "size {size} differs from the descriptor's {}",
                        layer["size"]
                    ),
                });
            }
            blobs.push(Blob {
                digest,
                size,
                path,
                mount_from: mount_from.clone(),
            });
        }
    }
    manifests.push(Manifest {
        digest: blob.digest,
        media_type,
        bytes,
    });
    Ok(())
}

/// What `merge` put: the index digest, the platforms in it and the tags moved.
#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    pub reference: String,
    /// `sha256:` of the index (or manifest list).
    pub digest: String,
    pub media_type: String,
    /// `os/architecture[/variant]` of each entry, in the order given.
    pub platforms: Vec<String>,
    pub tags: Vec<String>,
}

impl Client {
    /// Builds an index (an OCI image index, or with `docker` a Docker manifest list) over the
    /// manifests `digests` names in `repository`, each entry with the platform of its config,
    /// and puts it by digest and then under every tag. Nothing is put when a manifest is
    /// missing or two have the same platform.
    pub async fn merge(
        &self,
        repository: &Reference,
        digests: &[String],
        tags: &[String],
        docker: bool,
    ) -> Result<MergeReport, Error> {
        let mut entries = Vec::new();
        let mut platforms: Vec<String> = Vec::new();
        for digest in digests {
            let child = Reference {
                tag: None,
                digest: Some(digest.clone()),
                ..repository.clone()
            };
            let inspected = self.inspect(&child).await?;
            let call = Call::new(&child, format!("manifest {digest}"), false);
            if INDEX_TYPES.contains(&inspected.media_type.as_str()) {
                return Err(call.protocol(format!(
                    "is an index ({}), and merge takes image manifests",
                    inspected.media_type
                )));
            }
            let manifest: Value = serde_json::from_slice(&inspected.bytes)
                .map_err(|e| call.protocol(format!("not JSON: {e}")))?;
            let config_digest = manifest["config"]["digest"]
                .as_str()
                .ok_or_else(|| call.protocol("the manifest has no config digest"))?;
            let config_bytes = self.blob_bytes(&child, config_digest).await?;
            let config: Value = serde_json::from_slice(&config_bytes)
                .map_err(|e| call.protocol(format!("config {config_digest} is not JSON: {e}")))?;
            let os = config["os"].as_str().unwrap_or_default();
            let architecture = config["architecture"].as_str().unwrap_or_default();
            if os.is_empty() || architecture.is_empty() {
                return Err(call.protocol(format!(
                    "config {config_digest} names no os and architecture"
                )));
            }
            let mut platform = serde_json::json!({ "os": os, "architecture": architecture });
            if let Some(variant) = config["variant"].as_str().filter(|v| !v.is_empty()) {
                platform["variant"] = variant.into();
            }
            let name = platform_name(&platform);
            if let Some(first) = platforms.iter().position(|p| *p == name) {
                return Err(call.protocol(format!(
                    "has platform {name}, like {}: an index holds one manifest per platform",
                    digests[first]
                )));
            }
            platforms.push(name);
            entries.push(serde_json::json!({
                "mediaType": inspected.media_type,
                "digest": inspected.digest,
                "size": inspected.bytes.len(),
                "platform": platform,
            }));
        }
        let media_type = INDEX_TYPES[usize::from(docker)];
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": entries,
        });
        // `Value` objects keep their keys sorted: these are canonical bytes.
        let bytes = serde_json::to_vec(&index).expect("a JSON value serialises");
        let manifest = Manifest {
            digest: format!("sha256:{}", hex::encode(Sha256::digest(&bytes))),
            media_type: media_type.to_string(),
            bytes,
        };
        self.put_manifest(repository, &manifest, &manifest.digest)
            .await?;
        for tag in tags {
            self.put_manifest(repository, &manifest, tag).await?;
        }
        Ok(MergeReport {
            reference: repository.name(),
            digest: manifest.digest,
            media_type: media_type.to_string(),
            platforms,
            tags: tags.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Writes `value` as a blob of `root`; returns its descriptor.
    fn put(root: &Path, media_type: &str, value: &Value) -> Value {
        let bytes = serde_json::to_vec(value).unwrap();
        let hex = hex::encode(Sha256::digest(&bytes));
        std::fs::write(root.join("blobs/sha256").join(&hex), &bytes).unwrap();
        json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len()})
    }

    #[test]
    fn an_index_listed_twice_is_refused_and_a_manifest_added_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        let config = put(root, "application/vnd.oci.image.config.v1+json", &json!({}));
        let manifest = put(
            root,
            "application/vnd.oci.image.manifest.v1+json",
            &json!({"schemaVersion": 2, "config": config, "layers": []}),
        );
        let index_of = |entries: Vec<Value>| {
            put(
                root,
                INDEX_TYPES[0],
                &json!({"schemaVersion": 2, "mediaType": INDEX_TYPES[0], "manifests": entries}),
            )
        };
        let source = PushSource {
            path: root.to_path_buf(),
            ref_name: None,
            mount_from: None,
        };
        let write_top = |top: &Value| {
            let index = json!({"schemaVersion": 2, "manifests": [top]});
            std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        };
        let store = BlobStore::create(root).unwrap();

        let twice = index_of(vec![manifest.clone(), manifest.clone()]);
        write_top(&twice);
        let (blobs, manifests) = collect(&store, root, &source).unwrap();
        assert_eq!((blobs.len(), manifests.len()), (1, 2));

        let nested = index_of(vec![twice.clone(), twice.clone()]);
        write_top(&nested);
        let Err(err) = collect(&store, root, &source) else {
            panic!("an index listed twice");
        };
        let inner = twice["digest"].as_str().unwrap();
        assert!(
            err.to_string()
                .contains(&format!("image index {inner} is listed twice")),
            "{err}"
        );
    }
}
