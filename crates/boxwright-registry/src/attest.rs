//! Signing and attesting images in a registry: cosign simple-signing signatures and in-toto
//! statements in DSSE envelopes (payloads and keys from `boxwright-sign`), attached where
//! verifiers look ([`Client::attach`]).

use std::collections::BTreeMap;

use boxwright_sign::SigningKey;
use boxwright_sign::cosign::{self, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE};
use boxwright_sign::dsse::KeyIdChoice;
use boxwright_sign::intoto::{Statement, Subject};
use serde::Serialize;
use serde_json::Value;

use crate::descriptor::INDEX_TYPES;
use crate::{Attachment, Client, Error, Reference, SignatureLayer, TagScheme};

/// The media type of a DSSE envelope layer (cosign's `.att` layers).
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The annotation cosign puts on attestation layers.
const PREDICATE_ANNOTATION: &str = "predicateType";
/// The predicate type of an SPDX document.
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";
/// The predicate type of SLSA v1 provenance.
pub const SLSA_PREDICATE: &str = "https://slsa.dev/provenance/v1";
/// The image a signature or attestation is for: its repository and the digests to sign.
#[derive(Debug, Clone)]
pub struct SigningTarget {
    pub repository: Reference,
    /// What cosign records as `docker-reference`: `host/repository`.
    pub name: String,
    /// The manifest or index the reference names.
    pub digest: String,
    /// With `recursive` on an index, its platform manifests too.
    pub subjects: Vec<String>,
}

/// What a sign or attest put, per subject.
#[derive(Debug, Clone, Serialize)]
pub struct Attached {
    pub reference: String,
    pub subject: String,
    pub legacy_tag: Option<String>,
    pub referrer: Option<String>,
    pub referrers_via: Option<&'static str>,
}

/// The SBOM and provenance of one platform image.
#[derive(Debug, Clone)]
pub struct Predicates {
    pub sbom: Value,
    pub provenance: Value,
}

impl Client {
    /// What `reference` names, and with `recursive` the manifests of an index.
    pub async fn signing_target(
        &self,
        reference: &Reference,
        recursive: bool,
    ) -> Result<SigningTarget, Error> {
        let inspected = self.inspect(reference).await?;
        let repository = Reference {
            tag: None,
            digest: None,
            ..reference.clone()
        };
        let mut subjects = vec![inspected.digest.clone()];
        if recursive && INDEX_TYPES.contains(&inspected.media_type.as_str()) {
            let index: Value =
                serde_json::from_slice(&inspected.bytes).map_err(|e| Error::Protocol {
                    registry: reference.registry.clone(),
                    repository: reference.repository.clone(),
                    what: format!("index {}", inspected.digest),
                    message: format!("not JSON: {e}"),
                })?;
            for entry in index["manifests"].as_array().into_iter().flatten() {
                if let Some(digest) = entry["digest"].as_str() {
                    subjects.push(digest.to_string());
                }
            }
        }
        Ok(SigningTarget {
            name: repository.name(),
            repository,
            digest: inspected.digest,
            subjects,
        })
    }

    /// Signs every subject of `target` (cosign simple signing) and attaches the signatures.
    pub async fn sign_subjects(
        &self,
        target: &SigningTarget,
        key: &SigningKey,
        scheme: TagScheme,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Vec<Attached>, Error> {
        let mut attached = Vec::new();
        for subject in &target.subjects {
            let mut payload = cosign::SimpleSigning::new(&target.name, subject);
            if !annotations.is_empty() {
                payload = payload.with_annotations(annotations);
            }
            let bytes = payload.to_bytes();
            let signature = cosign::sign_payload(key, &bytes).to_base64();
            let layer = SignatureLayer {
                media_type: SIMPLE_SIGNING_MEDIA_TYPE.into(),
                bytes,
                annotations: [(SIGNATURE_ANNOTATION.to_string(), signature)].into(),
            };
            attached.push(
                self.attach_one(target, subject, Attachment::Signature, &layer, scheme)
                    .await?,
            );
        }
        Ok(attached)
    }

    /// An in-toto statement of `predicate` for every subject of `target`, signed in a DSSE
    /// envelope and attached.
    pub async fn attest_subjects(
        &self,
        target: &SigningTarget,
        key: &SigningKey,
        scheme: TagScheme,
        predicate_type: &str,
        predicate: &Value,
    ) -> Result<Vec<Attached>, Error> {
        let mut attached = Vec::new();
        for subject in &target.subjects {
            let hex = subject.strip_prefix("sha256:").unwrap_or(subject);
            let statement = Statement::new(
                vec![Subject::sha256(&target.name, hex)],
                predicate_type.to_string(),
                predicate.clone(),
            );
            // cosign leaves the key id empty in its envelopes.
            let envelope = statement.sign(key, KeyIdChoice::Empty);
            let layer = SignatureLayer {
                media_type: DSSE_MEDIA_TYPE.into(),
                bytes: envelope.to_json(),
                annotations: [(PREDICATE_ANNOTATION.to_string(), predicate_type.to_string())]
                    .into(),
            };
            attached.push(
                self.attach_one(target, subject, Attachment::Attestation, &layer, scheme)
                    .await?,
            );
        }
        Ok(attached)
    }

    /// For a merged version: an SPDX SBOM and SLSA provenance of each platform image (from
    /// `predicates`, by platform manifest digest) attested to that manifest, and cosign
    /// signatures of the index and its manifests. Returns how many were attached.
    pub async fn attest_version(
        &self,
        repository: &Reference,
        index: &str,
        predicates: &BTreeMap<String, Predicates>,
        key: &SigningKey,
        scheme: TagScheme,
    ) -> Result<usize, Error> {
        let reference = Reference {
            tag: None,
            digest: Some(index.to_string()),
            ..repository.clone()
        };
        let target = self.signing_target(&reference, true).await?;
        let mut count = 0;
        for (digest, documents) in predicates {
            let one = SigningTarget {
                digest: digest.clone(),
                subjects: vec![digest.clone()],
                ..target.clone()
            };
            for (predicate_type, predicate) in [
                (SPDX_PREDICATE, &documents.sbom),
                (SLSA_PREDICATE, &documents.provenance),
            ] {
                count += self
                    .attest_subjects(&one, key, scheme, predicate_type, predicate)
                    .await?
                    .len();
            }
        }
        count += self
            .sign_subjects(&target, key, scheme, &BTreeMap::new())
            .await?
            .len();
        Ok(count)
    }

    /// Attaches one layer to `subject` of `target`.
    async fn attach_one(
        &self,
        target: &SigningTarget,
        subject: &str,
        kind: Attachment,
        layer: &SignatureLayer,
        scheme: TagScheme,
    ) -> Result<Attached, Error> {
        let put = self
            .attach(&target.repository, subject, kind, layer, scheme)
            .await?;
        Ok(Attached {
            reference: target.name.clone(),
            subject: subject.to_string(),
            legacy_tag: put.legacy_tag,
            referrer: put.referrer,
            referrers_via: put.referrers_via,
        })
    }
}
