//! Where signatures and attestations of an image live in a registry, in the two places
//! verifiers look:
//!
//! - cosign's legacy tags: `sha256-<hex>.sig` (signatures) and `sha256-<hex>.att`
//!   (attestations), each an image manifest whose layers are the signatures. A new signature
//!   is appended to the layers already there; none is ever dropped.
//! - OCI 1.1 referrers: one artifact manifest per signature whose `subject` is the signed
//!   manifest. Registries with the referrers API index it themselves (they answer the push
//!   with `OCI-Subject`); for the others the referrers tag schema applies: the tag
//!   `sha256-<hex>` holds an index of the referrers, updated by appending.
//!
//! The layer bytes and annotations (cosign's simple-signing payload with
//! `dev.cosignproject.cosign/signature`, or a DSSE envelope) are made by the caller.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::client::Call;
use crate::{Client, Error, Reference};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
const EMPTY_JSON: &[u8] = b"{}";

/// What is attached to an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attachment {
    Signature,
    Attestation,
}

impl Attachment {
    /// cosign's legacy tag suffix.
    fn suffix(self) -> &'static str {
        match self {
            Attachment::Signature => "sig",
            Attachment::Attestation => "att",
        }
    }

    /// The `artifactType` of the referrer manifest.
    pub fn artifact_type(self) -> &'static str {
        match self {
            Attachment::Signature => "application/vnd.dev.cosign.artifact.sig.v1+json",
            Attachment::Attestation => "application/vnd.dev.cosign.artifact.att.v1+json",
        }
    }
}

/// Which places to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagScheme {
    Legacy,
    Referrers,
    #[default]
    Both,
}

impl std::str::FromStr for TagScheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "legacy" => Ok(TagScheme::Legacy),
            "referrers" => Ok(TagScheme::Referrers),
            "both" => Ok(TagScheme::Both),
            other => Err(format!(
                "unknown tag scheme `{other}` (known: legacy, referrers, both)"
            )),
        }
    }
}

/// One signature or attestation: a layer and its annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureLayer {
    pub media_type: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

/// Where an attach went.
#[derive(Debug, Clone, Serialize)]
pub struct AttachReport {
    /// The subject: `sha256:` of the signed manifest or index.
    pub subject: String,
    /// The legacy tag written, when the scheme includes it.
    pub legacy_tag: Option<String>,
    /// Whether the legacy tag already held this exact layer (nothing appended).
    pub legacy_unchanged: bool,
    /// The referrer manifest's digest, when the scheme includes it.
    pub referrer: Option<String>,
    /// `api` when the registry indexes referrers itself, `tag` when the referrers tag schema
    /// was used.
    pub referrers_via: Option<&'static str>,
}

/// A signature or attestation found for a subject, and where.
#[derive(Debug, Clone, Serialize)]
pub struct FoundLayer {
    #[serde(flatten)]
    pub layer: SignatureLayer,
    /// `tag sha256-….sig`, `referrer sha256:…`.
    pub place: String,
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "size": bytes.len(), "digest": sha256(bytes)})
}

impl Client {
    /// Attaches `layer` to the manifest `subject` (a `sha256:` digest) of `repository`.
    pub async fn attach(
        &self,
        repository: &Reference,
        subject: &str,
        kind: Attachment,
        layer: &SignatureLayer,
        scheme: TagScheme,
    ) -> Result<AttachReport, Error> {
        let subject_ref = Reference {
            tag: None,
            digest: Some(subject.to_string()),
            ..repository.clone()
        };
        let inspected = self.inspect(&subject_ref).await?;
        let mut report = AttachReport {
            subject: subject.to_string(),
            legacy_tag: None,
            legacy_unchanged: false,
            referrer: None,
            referrers_via: None,
        };
        self.put_blob_bytes(repository, &layer.bytes).await?;
        if scheme != TagScheme::Referrers {
            let (tag, unchanged) = self.append_legacy(repository, subject, kind, layer).await?;
            report.legacy_tag = Some(tag);
            report.legacy_unchanged = unchanged;
        }
        if scheme != TagScheme::Legacy {
            let subject_descriptor = json!({
                "mediaType": inspected.media_type,
                "size": inspected.bytes.len(),
                "digest": subject,
            });
            let (digest, via) = self
                .put_referrer(repository, &subject_descriptor, kind, layer)
                .await?;
            report.referrer = Some(digest);
            report.referrers_via = Some(via);
        }
        Ok(report)
    }

    /// The legacy tag's manifest with `layer` appended (unless an identical layer is there).
    async fn append_legacy(
        &self,
        repository: &Reference,
        subject: &str,
        kind: Attachment,
        layer: &SignatureLayer,
    ) -> Result<(String, bool), Error> {
        let tag = format!("{}.{}", subject.replacen(':', "-", 1), kind.suffix());
        let tagged = Reference {
            tag: Some(tag.clone()),
            digest: None,
            ..repository.clone()
        };
        let mut layers: Vec<Value> = Vec::new();
        if self.exists(&tagged).await? {
            let existing = self.inspect(&tagged).await?;
            let manifest: Value = serde_json::from_slice(&existing.bytes).map_err(|e| {
                Call::new(&tagged, format!("manifest {tag}"), false)
                    .protocol(format!("not JSON: {e}"))
            })?;
            layers = manifest["layers"].as_array().cloned().unwrap_or_default();
        }
        let mut new = descriptor(&layer.media_type, &layer.bytes);
        new["annotations"] = json!(layer.annotations);
        if layers
            .iter()
            .any(|l| l["digest"] == new["digest"] && l["annotations"] == new["annotations"])
        {
            return Ok((tag, true));
        }
        layers.push(new);
        // cosign's config for these manifests: the layers as diff_ids, no platform.
        let diff_ids: Vec<&Value> = layers.iter().map(|l| &l["digest"]).collect();
        let config = serde_json::to_vec(&json!({
            "architecture": "",
            "config": {},
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .expect("serialisable");
        self.put_blob_bytes(repository, &config).await?;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, &config),
            "layers": layers,
        }))
        .expect("serialisable");
        self.put_manifest_bytes(repository, &tag, OCI_MANIFEST, &manifest)
            .await?;
        Ok((tag, false))
    }

    /// Puts the referrer artifact manifest; indexes it in the referrers tag when the registry
    /// does not. Returns its digest and how it is found.
    async fn put_referrer(
        &self,
        repository: &Reference,
        subject: &Value,
        kind: Attachment,
        layer: &SignatureLayer,
    ) -> Result<(String, &'static str), Error> {
        self.put_blob_bytes(repository, EMPTY_JSON).await?;
        let mut layer_descriptor = descriptor(&layer.media_type, &layer.bytes);
        layer_descriptor["annotations"] = json!(layer.annotations);
        let mut config = descriptor(EMPTY_TYPE, EMPTY_JSON);
        config["data"] = json!("e30=");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": kind.artifact_type(),
            "config": config,
            "layers": [layer_descriptor],
            "subject": subject,
        }))
        .expect("serialisable");
        let digest = sha256(&manifest);
        let indexed = self
            .put_manifest_bytes(repository, &digest, OCI_MANIFEST, &manifest)
            .await?;
        if indexed || self.referrers_api(repository, &digest).await? {
            return Ok((digest, "api"));
        }
        // The referrers tag schema: `sha256-<hex>` of the subject holds an index of them.
        let subject_digest = subject["digest"].as_str().expect("set above");
        let tag = subject_digest.replacen(':', "-", 1);
        let tagged = Reference {
            tag: Some(tag.clone()),
            digest: None,
            ..repository.clone()
        };
        let mut entries: Vec<Value> = Vec::new();
        if self.exists(&tagged).await? {
            let existing = self.inspect(&tagged).await?;
            let index: Value = serde_json::from_slice(&existing.bytes).map_err(|e| {
                Call::new(&tagged, format!("index {tag}"), false).protocol(format!("not JSON: {e}"))
            })?;
            entries = index["manifests"].as_array().cloned().unwrap_or_default();
        }
        if !entries.iter().any(|e| e["digest"] == json!(digest)) {
            let mut entry = descriptor(OCI_MANIFEST, &manifest);
            entry["artifactType"] = json!(kind.artifact_type());
            entries.push(entry);
            let index = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": entries,
            }))
            .expect("serialisable");
            self.put_manifest_bytes(repository, &tag, OCI_INDEX, &index)
                .await?;
        }
        Ok((digest, "tag"))
    }

    /// Whether `GET /v2/<name>/referrers/<digest>` is served (the referrers API). `digest`
    /// is any manifest of the repository: a registry without the API answers 404.
    async fn referrers_api(&self, repository: &Reference, digest: &str) -> Result<bool, Error> {
        Ok(self.referrers_from_api(repository, digest).await?.is_some())
    }

    /// The referrer descriptors the API lists for `subject`, or `None` without the API.
    async fn referrers_from_api(
        &self,
        repository: &Reference,
        subject: &str,
    ) -> Result<Option<Vec<Value>>, Error> {
        let call = Call::new(repository, format!("referrers of {subject}"), false);
        let url = self
            .url(repository, &format!("referrers/{subject}"))
            .await?;
        let response = self.send(&call, &|http| http.get(url.clone())).await?;
        let is_index = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(OCI_INDEX));
        match response.status() {
            StatusCode::OK if is_index => {
                let body = response.bytes().await.map_err(|e| call.http_error(e))?;
                let index: Value = serde_json::from_slice(&body)
                    .map_err(|e| call.protocol(format!("not JSON: {e}")))?;
                Ok(Some(
                    index["manifests"].as_array().cloned().unwrap_or_default(),
                ))
            }
            StatusCode::NOT_FOUND | StatusCode::OK | StatusCode::METHOD_NOT_ALLOWED => Ok(None),
            _ => Err(call.fail(response).await),
        }
    }

    /// Every signature (or attestation) of `subject`, from the legacy tag and the referrers
    /// (API or tag schema), each once per place.
    pub async fn attached(
        &self,
        repository: &Reference,
        subject: &str,
        kind: Attachment,
    ) -> Result<Vec<FoundLayer>, Error> {
        let mut found = Vec::new();
        let legacy = format!("{}.{}", subject.replacen(':', "-", 1), kind.suffix());
        let tagged = Reference {
            tag: Some(legacy.clone()),
            digest: None,
            ..repository.clone()
        };
        if self.exists(&tagged).await? {
            let manifest = self.inspect(&tagged).await?;
            found.extend(
                self.layers_of(repository, &manifest.bytes, &format!("tag {legacy}"))
                    .await?,
            );
        }
        let referrers = if let Some(list) = self.referrers_from_api(repository, subject).await? {
            list
        } else {
            let tag = Reference {
                tag: Some(subject.replacen(':', "-", 1)),
                digest: None,
                ..repository.clone()
            };
            if self.exists(&tag).await? {
                let index: Value =
                    serde_json::from_slice(&self.inspect(&tag).await?.bytes).unwrap_or(Value::Null);
                index["manifests"].as_array().cloned().unwrap_or_default()
            } else {
                Vec::new()
            }
        };
        for entry in referrers {
            if entry["artifactType"].as_str() != Some(kind.artifact_type()) {
                continue;
            }
            let Some(digest) = entry["digest"].as_str() else {
                continue;
            };
            let reference = Reference {
                tag: None,
                digest: Some(digest.to_string()),
                ..repository.clone()
            };
            let manifest = self.inspect(&reference).await?;
            let parsed: Value = serde_json::from_slice(&manifest.bytes).unwrap_or(Value::Null);
            // A referrer names its subject; one that names another is not this one's.
            if parsed["subject"]["digest"].as_str() != Some(subject) {
                continue;
            }
            found.extend(
                self.layers_of(repository, &manifest.bytes, &format!("referrer {digest}"))
                    .await?,
            );
        }
        Ok(found)
    }

    async fn layers_of(
        &self,
        repository: &Reference,
        manifest: &[u8],
        place: &str,
    ) -> Result<Vec<FoundLayer>, Error> {
        let manifest: Value = serde_json::from_slice(manifest).unwrap_or(Value::Null);
        let mut found = Vec::new();
        for layer in manifest["layers"].as_array().into_iter().flatten() {
            let (Some(digest), Some(media_type)) =
                (layer["digest"].as_str(), layer["mediaType"].as_str())
            else {
                continue;
            };
            let bytes = self.blob_bytes(repository, digest).await?;
            let annotations = layer["annotations"]
                .as_object()
                .map(|map| {
                    map.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            found.push(FoundLayer {
                layer: SignatureLayer {
                    media_type: media_type.to_string(),
                    bytes,
                    annotations,
                },
                place: place.to_string(),
            });
        }
        Ok(found)
    }

    /// Uploads a small blob in one request, unless the repository has it.
    async fn put_blob_bytes(&self, repository: &Reference, bytes: &[u8]) -> Result<(), Error> {
        let digest = sha256(bytes);
        let call = Call::new(repository, format!("blob {digest}"), true);
        let url = self.url(repository, &format!("blobs/{digest}")).await?;
        let head = self.send(&call, &|http| http.head(url.clone())).await?;
        if head.status().is_success() {
            return Ok(());
        }
        let start = self.url(repository, "blobs/uploads/").await?;
        let response = self
            .send(&call, &|http| {
                http.post(start.clone()).header(CONTENT_LENGTH, "0")
            })
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(call.fail(response).await);
        }
        let mut location = crate::push::location(&call, &start, &response)?;
        location.query_pairs_mut().append_pair("digest", &digest);
        let body = bytes.to_vec();
        let response = self
            .send(&call, &|http| {
                http.put(location.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(body.clone())
            })
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(call.fail(response).await);
        }
        Ok(())
    }

    /// Puts a manifest under `name` (a tag or its digest); returns whether the registry said
    /// it indexed the manifest's subject (`OCI-Subject`).
    async fn put_manifest_bytes(
        &self,
        repository: &Reference,
        name: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<bool, Error> {
        let call = Call::new(repository, format!("manifest {name}"), true);
        let url = self.url(repository, &format!("manifests/{name}")).await?;
        let body = bytes.to_vec();
        let response = self
            .send(&call, &|http| {
                http.put(url.clone())
                    .header(CONTENT_TYPE, media_type)
                    .body(body.clone())
            })
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(call.fail(response).await);
        }
        Ok(response.headers().contains_key("oci-subject"))
    }
}
