//! cosign's image signatures: the "simple signing" payload and its ECDSA signature.
//!
//! The payload is the JSON cosign signs for an image, byte for byte as cosign (Go's
//! `encoding/json`) writes it: compact, keys in this order, `optional` null without
//! annotations, and `<`, `>`, `&`, U+2028, U+2029 escaped as `\u003c`... inside strings:
//!
//! ```json
//! {"critical":{"identity":{"docker-reference":"registry.example/app"},"image":{"docker-manifest-digest":"sha256:…"},"type":"cosign container image signature"},"optional":null}
//! ```
//!
//! The signature is ECDSA P-256 with SHA-256 over those bytes, base64 of the ASN.1 DER: the
//! value of the `dev.cosignproject.cosign/signature` annotation on the payload's layer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::signature::Signature;

/// The `critical.type` of an image signature payload.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";
/// The media type of the layer that holds the payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation that holds the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// A simple-signing payload: which image (by manifest digest) the signature is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimpleSigning {
    /// The repository the image was signed under (cosign writes the repository without tag
    /// or digest, e.g. `ghcr.io/ns/app`).
    pub docker_reference: String,
    /// `sha256:<hex>` of the image's manifest (or index).
    pub manifest_digest: String,
    /// cosign's `-a key=value` annotations; `None` is written as `"optional":null`.
    pub optional: Option<BTreeMap<String, serde_json::Value>>,
}

// The JSON shape, fields in cosign's order.
#[derive(Serialize, Deserialize)]
struct Payload {
    critical: Critical,
    optional: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Serialize, Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Serialize, Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

impl SimpleSigning {
    /// A payload without annotations.
    pub fn new(docker_reference: impl Into<String>, manifest_digest: impl Into<String>) -> Self {
        SimpleSigning {
            docker_reference: docker_reference.into(),
            manifest_digest: manifest_digest.into(),
            optional: None,
        }
    }

    /// The same payload with string annotations (cosign's `-a key=value`); an empty map
    /// keeps `optional` null.
    #[must_use]
    pub fn with_annotations(mut self, annotations: &BTreeMap<String, String>) -> Self {
        self.optional = (!annotations.is_empty()).then(|| {
            annotations
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect()
        });
        self
    }

    /// The payload bytes that are signed, as cosign writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload = Payload {
            critical: Critical {
                identity: Identity {
                    docker_reference: self.docker_reference.clone(),
                },
                image: Image {
                    docker_manifest_digest: self.manifest_digest.clone(),
                },
                kind: SIMPLE_SIGNING_TYPE.into(),
            },
            optional: self.optional.clone(),
        };
        let json = serde_json::to_string(&payload).expect("the payload serialises");
        go_html_escape(&json).into_bytes()
    }

    /// Reads a payload back; its `critical.type` must be cosign's.
    pub fn parse(bytes: &[u8]) -> Result<SimpleSigning> {
        let payload: Payload =
            serde_json::from_slice(bytes).map_err(|e| Error::MalformedPayload {
                reason: e.to_string(),
            })?;
        // cosign compares the type case-insensitively.
        if !payload
            .critical
            .kind
            .eq_ignore_ascii_case(SIMPLE_SIGNING_TYPE)
        {
            return Err(Error::MalformedPayload {
                reason: format!(
                    "critical.type is `{}`, not `{SIMPLE_SIGNING_TYPE}`",
                    payload.critical.kind
                ),
            });
        }
        Ok(SimpleSigning {
            docker_reference: payload.critical.identity.docker_reference,
            manifest_digest: payload.critical.image.docker_manifest_digest,
            optional: payload.optional,
        })
    }

    /// Checks that the payload is for the image with manifest digest `expected`.
    pub fn check_digest(&self, expected: &str) -> Result<()> {
        if self.manifest_digest == expected {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                expected: expected.to_string(),
                actual: self.manifest_digest.clone(),
            })
        }
    }
}

/// Signs payload bytes: the signature cosign stores in the signature annotation.
pub fn sign_payload(key: &SigningKey, payload: &[u8]) -> Signature {
    key.sign(payload)
}

/// Verifies a signature of payload bytes, parses the payload and checks that it is for the
/// image with manifest digest `expected_digest`.
pub fn verify_image_signature(
    key: &VerifyingKey,
    payload: &[u8],
    signature: &Signature,
    expected_digest: &str,
) -> Result<SimpleSigning> {
    key.verify(payload, signature, "the simple-signing payload")?;
    let parsed = SimpleSigning::parse(payload)?;
    parsed.check_digest(expected_digest)?;
    Ok(parsed)
}

/// Go's `encoding/json` escapes these inside strings; they appear nowhere else in JSON, so
/// replacing them in serde_json's output gives Go's bytes.
fn go_html_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

    #[test]
    fn payload_bytes_are_cosigns() {
        let payload = SimpleSigning::new("registry.example/ns/app", DIGEST);
        assert_eq!(
            String::from_utf8(payload.to_bytes()).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"registry.example/ns/app"},"image":{"docker-manifest-digest":"sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"},"type":"cosign container image signature"},"optional":null}"#
        );
    }

    #[test]
    fn annotations_are_sorted_and_escaped_like_go() {
        let annotations = BTreeMap::from([
            ("z".to_string(), "last".to_string()),
            ("a".to_string(), "<b> & \"q\"\n".to_string()),
        ]);
        let payload = SimpleSigning::new("r.example/app", DIGEST).with_annotations(&annotations);
        let text = String::from_utf8(payload.to_bytes()).unwrap();
        assert!(
            text.ends_with(r#""optional":{"a":"\u003cb\u003e \u0026 \"q\"\n","z":"last"}}"#),
            "{text}"
        );
        assert_eq!(SimpleSigning::parse(text.as_bytes()).unwrap(), payload);
        let empty = SimpleSigning::new("r", DIGEST).with_annotations(&BTreeMap::new());
        assert!(empty.optional.is_none());
    }

    #[test]
    fn sign_then_verify_and_negative_cases() {
        let key = SigningKey::generate().unwrap();
        let payload = SimpleSigning::new("r.example/app", DIGEST).to_bytes();
        let signature = sign_payload(&key, &payload);
        let parsed =
            verify_image_signature(&key.verifying_key(), &payload, &signature, DIGEST).unwrap();
        assert_eq!(parsed.docker_reference, "r.example/app");

        let other = SigningKey::generate().unwrap();
        assert!(matches!(
            verify_image_signature(&other.verifying_key(), &payload, &signature, DIGEST),
            Err(Error::SignatureMismatch { .. })
        ));
        let mut tampered = payload.clone();
        let at = tampered.len() - 20;
        tampered[at] ^= 1;
        assert!(matches!(
            verify_image_signature(&key.verifying_key(), &tampered, &signature, DIGEST),
            Err(Error::SignatureMismatch { .. })
        ));
        let wrong_digest = format!("sha256:{}", "0".repeat(64));
        let error =
            verify_image_signature(&key.verifying_key(), &payload, &signature, &wrong_digest)
                .unwrap_err();
        assert!(matches!(error, Error::DigestMismatch { .. }));
        assert!(error.is_verification_failure());
    }

    #[test]
    fn parse_checks_the_type() {
        let other_type = r#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":"something else"},"optional":null}"#;
        assert!(matches!(
            SimpleSigning::parse(other_type.as_bytes()),
            Err(Error::MalformedPayload { .. })
        ));
        assert!(matches!(
            SimpleSigning::parse(b"{}"),
            Err(Error::MalformedPayload { .. })
        ));
        let upper = other_type.replace("something else", "Cosign Container Image Signature");
        assert!(SimpleSigning::parse(upper.as_bytes()).is_ok());
    }
}
