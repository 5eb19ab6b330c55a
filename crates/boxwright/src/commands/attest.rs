//! `image sign`, `image attest`, `image verify`: cosign-compatible signatures and in-toto
//! attestations of images in a registry (made and attached by `boxwright-registry`'s
//! `attest`, payloads from `boxwright-sign`); this module reads arguments and reports.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow};
use boxwright_registry::{
    Attached, Attachment, Client, SignatureLayer, SigningTarget, Subject, TagScheme,
};
use boxwright_sign::cosign::{self, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE};
use boxwright_sign::dsse::Envelope;
use boxwright_sign::intoto::{self, Statement};
use boxwright_sign::{KeySource, Signature, SigningKey, VerifyingKey};
use serde::Serialize;
use serde_json::Value;

use super::ExitStatus;
use crate::cli::{ImageAttestArgs, ImageSignArgs, ImageVerifyArgs, SigningArgs};
use crate::context::{block_on, registry_client as client};
use crate::printer::Printer;

/// The image a command works on: SUBJECT in the one grammar, which must be a reference.
fn resolve(
    client: &Client,
    text: &str,
    recursive: bool,
    command: &'static str,
) -> anyhow::Result<SigningTarget> {
    let reference = text.parse::<Subject>()?.into_reference(command)?;
    Ok(block_on(client.signing_target(&reference, recursive))??)
}

/// The key of `--key` for signing (password from --key-password-stdin, else COSIGN_PASSWORD)
/// and the tag scheme.
fn signing_key(args: &SigningArgs) -> anyhow::Result<(SigningKey, TagScheme)> {
    let scheme: TagScheme = args.tag_scheme.parse().map_err(|e: String| anyhow!(e))?;
    Ok((
        crate::context::signing_key(&args.key, args.key_password_stdin)?,
        scheme,
    ))
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
    let target = resolve(
        &client,
        &args.reference,
        args.signing.recursive,
        "image sign",
    )?;
    let attached = block_on(client.sign_subjects(&target, &key, scheme, &annotations))??;
    report(printer, "signed", &attached);
    Ok(ExitStatus::Success)
}

pub fn attest(printer: &Printer, args: &ImageAttestArgs) -> anyhow::Result<ExitStatus> {
    let (key, scheme) = signing_key(&args.signing)?;
    let predicate_type = intoto::predicate_type(&args.predicate_type)?;
    let text = std::fs::read(&args.predicate)
        .with_context(|| format!("cannot read the predicate {}", args.predicate.display()))?;
    let predicate: Value = serde_json::from_slice(&text)
        .with_context(|| format!("the predicate {} is not JSON", args.predicate.display()))?;
    let client = client(&args.registry)?;
    let target = resolve(
        &client,
        &args.reference,
        args.signing.recursive,
        "image attest",
    )?;
    let attached =
        block_on(client.attest_subjects(&target, &key, scheme, &predicate_type, &predicate))??;
    report(printer, "attested", &attached);
    Ok(ExitStatus::Success)
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
    let target = resolve(&client, &args.reference, false, "image verify")?;
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
