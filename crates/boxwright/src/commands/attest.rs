//! `image sign`, `image attest`, `image verify`: cosign-compatible signatures and in-toto
//! attestations of images in a registry (payloads from `boxwright-sign`, storage from
//! `boxwright-registry`).

use std::collections::BTreeMap;

use anyhow::{Context, anyhow};
use boxwright_registry::{Attachment, Client, Reference, SignatureLayer, TagScheme};
use boxwright_sign::cosign::{self, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE};
use boxwright_sign::dsse::{Envelope, KeyIdChoice};
use boxwright_sign::intoto::{self, Statement, Subject};
use boxwright_sign::{KeySource, Signature, SigningKey, VerifyingKey};
use serde::Serialize;
use serde_json::Value;

use super::ExitStatus;
use super::registry::{block_on, client};
use crate::cli::{ImageAttestArgs, ImageSignArgs, ImageVerifyArgs, SigningArgs};
use crate::printer::Printer;

/// The media type of a DSSE envelope layer (cosign's `.att` layers).
const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The annotation cosign puts on attestation layers.
const PREDICATE_ANNOTATION: &str = "predicateType";
const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// The image a command works on: its repository and the digests to sign.
struct Target {
    repository: Reference,
    /// What cosign records as `docker-reference`: `host/repository`.
    name: String,
    /// The manifest or index the reference names.
    digest: String,
    /// With `--recursive` on an index, its platform manifests too.
    subjects: Vec<String>,
}

fn resolve(client: &Client, text: &str, recursive: bool) -> anyhow::Result<Target> {
    let reference: Reference = text.parse()?;
    let inspected = block_on(client.inspect(&reference))??;
    let repository = Reference {
        tag: None,
        digest: None,
        ..reference.clone()
    };
    let mut subjects = vec![inspected.digest.clone()];
    if recursive && INDEX_TYPES.contains(&inspected.media_type.as_str()) {
        let index: Value = serde_json::from_slice(&inspected.bytes)
            .with_context(|| format!("the index of {text} is not JSON"))?;
        for entry in index["manifests"].as_array().into_iter().flatten() {
            if let Some(digest) = entry["digest"].as_str() {
                subjects.push(digest.to_string());
            }
        }
    }
    Ok(Target {
        name: repository.name(),
        repository,
        digest: inspected.digest,
        subjects,
    })
}

fn signing_key(args: &SigningArgs) -> anyhow::Result<(SigningKey, TagScheme)> {
    let scheme: TagScheme = args.tag_scheme.parse().map_err(|e: String| anyhow!(e))?;
    let source = KeySource::parse(&args.key);
    let password = boxwright_sign::source::password(None);
    let key = source
        .signing_key(password.as_deref().map(Vec::as_slice))
        .with_context(|| format!("cannot load the private key {source}"))?;
    Ok((key, scheme))
}

/// What a sign or attest put, per subject.
#[derive(Serialize)]
struct Attached {
    reference: String,
    subject: String,
    legacy_tag: Option<String>,
    referrer: Option<String>,
    referrers_via: Option<&'static str>,
}

fn report(printer: &Printer, what: &str, attached: &[Attached]) {
    if printer.json {
        printer.json(&attached);
        return;
    }
    for item in attached {
        let mut places = Vec::new();
        if let Some(tag) = &item.legacy_tag {
            places.push(format!("tag {tag}"));
        }
        if let (Some(digest), Some(via)) = (&item.referrer, item.referrers_via) {
            places.push(format!("referrer {digest} ({via})"));
        }
        printer.line(format!(
            "{what} {}@{}: {}",
            item.reference,
            item.subject,
            places.join(", ")
        ));
    }
}

pub fn sign(printer: &Printer, args: &ImageSignArgs) -> anyhow::Result<ExitStatus> {
    let (key, scheme) = signing_key(&args.signing)?;
    let mut annotations = BTreeMap::new();
    for pair in &args.annotation {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--annotation `{pair}` is not KEY=VALUE"))?;
        annotations.insert(k.to_string(), v.to_string());
    }
    let client = client(&args.registry)?;
    let target = resolve(&client, &args.reference, args.signing.recursive)?;
    let attached = sign_subjects(&client, &target, &key, scheme, &annotations)?;
    report(printer, "signed", &attached);
    Ok(ExitStatus::Success)
}

/// Attaches one layer to `subject` of `target`.
fn attach(
    client: &Client,
    target: &Target,
    subject: &str,
    kind: Attachment,
    layer: &SignatureLayer,
    scheme: TagScheme,
) -> anyhow::Result<Attached> {
    let put = block_on(client.attach(&target.repository, subject, kind, layer, scheme))??;
    Ok(Attached {
        reference: target.name.clone(),
        subject: subject.to_string(),
        legacy_tag: put.legacy_tag,
        referrer: put.referrer,
        referrers_via: put.referrers_via,
    })
}

/// Signs every subject of `target` (cosign simple signing) and attaches the signatures.
fn sign_subjects(
    client: &Client,
    target: &Target,
    key: &SigningKey,
    scheme: TagScheme,
    annotations: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<Attached>> {
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
        attached.push(attach(
            client,
            target,
            subject,
            Attachment::Signature,
            &layer,
            scheme,
        )?);
    }
    Ok(attached)
}

pub fn attest(printer: &Printer, args: &ImageAttestArgs) -> anyhow::Result<ExitStatus> {
    let (key, scheme) = signing_key(&args.signing)?;
    let predicate_type = intoto::predicate_type(&args.predicate_type)?;
    let text = std::fs::read(&args.predicate)
        .with_context(|| format!("cannot read the predicate {}", args.predicate.display()))?;
    let predicate: Value = serde_json::from_slice(&text)
        .with_context(|| format!("the predicate {} is not JSON", args.predicate.display()))?;
    let client = client(&args.registry)?;
    let target = resolve(&client, &args.reference, args.signing.recursive)?;
    let attached = attest_subjects(&client, &target, &key, scheme, &predicate_type, &predicate)?;
    report(printer, "attested", &attached);
    Ok(ExitStatus::Success)
}

/// An in-toto statement of `predicate` for every subject of `target`, signed in a DSSE
/// envelope and attached.
fn attest_subjects(
    client: &Client,
    target: &Target,
    key: &SigningKey,
    scheme: TagScheme,
    predicate_type: &str,
    predicate: &Value,
) -> anyhow::Result<Vec<Attached>> {
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
            annotations: [(PREDICATE_ANNOTATION.to_string(), predicate_type.to_string())].into(),
        };
        attached.push(attach(
            client,
            target,
            subject,
            Attachment::Attestation,
            &layer,
            scheme,
        )?);
    }
    Ok(attached)
}

/// The attest step of `mirror run`: for a merged version, an SPDX SBOM and SLSA provenance
/// of each platform image (from `predicates`: platform manifest digest → (SBOM, provenance)),
/// attested to that manifest, and cosign signatures of the index and its manifests. `latest`
/// names the same index, so it is covered too.
pub(super) fn attest_version(
    client: &Client,
    repository: &Reference,
    index: &str,
    predicates: &BTreeMap<String, (Value, Value)>,
    key: &SigningKey,
    scheme: TagScheme,
) -> anyhow::Result<usize> {
    let reference = Reference {
        tag: None,
        digest: Some(index.to_string()),
        ..repository.clone()
    };
    let target = resolve(client, &reference.to_string(), true)?;
    let mut count = 0;
    for (digest, (sbom, provenance)) in predicates {
        let one = Target {
            repository: target.repository.clone(),
            name: target.name.clone(),
            digest: digest.clone(),
            subjects: vec![digest.clone()],
        };
        count +=
            attest_subjects(client, &one, key, scheme, "https://spdx.dev/Document", sbom)?.len();
        count += attest_subjects(
            client,
            &one,
            key,
            scheme,
            "https://slsa.dev/provenance/v1",
            provenance,
        )?
        .len();
    }
    count += sign_subjects(client, &target, key, scheme, &BTreeMap::new())?.len();
    Ok(count)
}

/// The key of `--key` for signing (password from COSIGN_PASSWORD) and the tag scheme.
pub(super) fn key_and_scheme(key: &str, scheme: &str) -> anyhow::Result<(SigningKey, TagScheme)> {
    signing_key(&SigningArgs {
        key: key.to_string(),
        tag_scheme: scheme.to_string(),
        recursive: false,
    })
}

/// One signature or attestation looked at by `verify`.
#[derive(Serialize)]
struct Checked {
    place: String,
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Serialize)]
struct Verdict {
    reference: String,
    digest: String,
    kind: &'static str,
    verified: bool,
    checked: Vec<Checked>,
}

pub fn verify(printer: &Printer, args: &ImageVerifyArgs) -> anyhow::Result<ExitStatus> {
    let source = KeySource::parse(&args.key);
    let key = source
        .verifying_key()
        .with_context(|| format!("cannot load the public key {source}"))?;
    let client = client(&args.registry)?;
    let target = resolve(&client, &args.reference, false)?;
    let (kind, found) = match &args.attestation {
        Some(_) => ("attestation", Attachment::Attestation),
        None => ("signature", Attachment::Signature),
    };
    let wanted_type = args
        .attestation
        .as_deref()
        .map(intoto::predicate_type)
        .transpose()?;
    let layers = block_on(client.attached(&target.repository, &target.digest, found))??;
    let mut checked = Vec::new();
    for found in &layers {
        let outcome = match &wanted_type {
            None => check_signature(&key, &found.layer, &target.digest),
            Some(predicate_type) => {
                check_attestation(&key, &found.layer, &target.digest, predicate_type)
            }
        };
        checked.push(Checked {
            place: found.place.clone(),
            verified: outcome.is_ok(),
            reason: outcome.err(),
        });
    }
    let verdict = Verdict {
        reference: args.reference.clone(),
        digest: target.digest.clone(),
        kind,
        verified: checked.iter().any(|c| c.verified),
        checked,
    };
    if printer.json {
        printer.json(&verdict);
    }
    if verdict.verified {
        if !printer.json {
            for item in verdict.checked.iter().filter(|c| c.verified) {
                printer.line(format!(
                    "verified {kind} of {}@{} ({})",
                    target.name, target.digest, item.place
                ));
            }
        }
        return Ok(ExitStatus::Success);
    }
    if verdict.checked.is_empty() {
        printer.failure(format!(
            "not verified: no {kind} of {}@{} was found (neither a legacy tag nor a referrer)",
            target.name, target.digest
        ));
    } else {
        for item in &verdict.checked {
            printer.failure(format!(
                "not verified: {} {}: {}",
                kind,
                item.place,
                item.reason.as_deref().unwrap_or("")
            ));
        }
    }
    Ok(ExitStatus::CheckFailed)
}

/// A cosign signature layer: the annotation's signature over the payload, and the payload
/// naming `digest`.
fn check_signature(key: &VerifyingKey, layer: &SignatureLayer, digest: &str) -> Result<(), String> {
    if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
        return Err(format!(
            "layer of type {} is not a simple-signing payload",
            layer.media_type
        ));
    }
    let signature = layer
        .annotations
        .get(SIGNATURE_ANNOTATION)
        .ok_or_else(|| format!("no {SIGNATURE_ANNOTATION} annotation"))?;
    let signature = Signature::from_base64(signature).map_err(|e| e.to_string())?;
    cosign::verify_image_signature(key, &layer.bytes, &signature, digest)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A DSSE envelope signed by `key` whose in-toto statement has `predicate_type` and names
/// `digest` among its subjects.
fn check_attestation(
    key: &VerifyingKey,
    layer: &SignatureLayer,
    digest: &str,
    predicate_type: &str,
) -> Result<(), String> {
    let envelope = Envelope::from_json(&layer.bytes).map_err(|e| e.to_string())?;
    let payload = envelope
        .verified_payload(key, intoto::PAYLOAD_TYPE)
        .map_err(|e| e.to_string())?;
    let statement = Statement::from_json(payload).map_err(|e| e.to_string())?;
    if statement.predicate_type != predicate_type {
        return Err(format!(
            "predicate type is {}, not {predicate_type}",
            statement.predicate_type
        ));
    }
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    if !statement
        .subject
        .iter()
        .any(|s| s.digest.get("sha256").map(String::as_str) == Some(hex))
    {
        return Err(format!("the statement's subjects do not include {digest}"));
    }
    Ok(())
}
