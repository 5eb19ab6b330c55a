//! in-toto Statement v1: what an attestation says about its subjects, carried in a DSSE
//! envelope of payload type `application/vnd.in-toto+json`.
//!
//! ```json
//! {"_type":"https://in-toto.io/Statement/v1",
//!  "subject":[{"name":"registry.example/app","digest":{"sha256":"<hex>"}}],
//!  "predicateType":"https://slsa.dev/provenance/v1","predicate":{...}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dsse::{Envelope, KeyIdChoice};
use crate::error::{Error, Result};
use crate::keys::SigningKey;

/// The `_type` of a Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Predicate type shortcuts (cosign's `--type` names) and their URIs.
pub const PREDICATE_TYPES: &[(&str, &str)] = &[
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("cyclonedxjson", "https://cyclonedx.org/bom"),
    ("slsaprovenance", "https://slsa.dev/provenance/v1"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("custom", "https://cosign.sigstore.dev/attestation/v1"),
];

/// An in-toto Statement v1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: serde_json::Value,
}

/// What a statement is about: a name and its digests by algorithm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    /// A subject with one `sha256` digest (hex, without the `sha256:` prefix; the prefix is
    /// removed when present).
    pub fn sha256(name: impl Into<String>, hex: &str) -> Subject {
        let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
        Subject {
            name: name.into(),
            digest: BTreeMap::from([("sha256".to_string(), hex.to_string())]),
        }
    }
}

/// The predicate type URI for a shortcut of [`PREDICATE_TYPES`], or an `https://` URI as is.
pub fn predicate_type(shortcut_or_uri: &str) -> Result<String> {
    if let Some((_, uri)) = PREDICATE_TYPES
        .iter()
        .find(|(name, _)| *name == shortcut_or_uri)
    {
        return Ok((*uri).to_string());
    }
    match shortcut_or_uri.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
            Ok(shortcut_or_uri.to_string())
        }
        _ => Err(Error::UnknownPredicateType {
            given: shortcut_or_uri.to_string(),
            known: PREDICATE_TYPES
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

impl Statement {
    /// A Statement v1; `predicate_type` is a URI (see [`predicate_type`] for shortcuts).
    pub fn new(
        subject: Vec<Subject>,
        predicate_type: impl Into<String>,
        predicate: serde_json::Value,
    ) -> Statement {
        Statement {
            statement_type: STATEMENT_TYPE.into(),
            subject,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// Compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a statement serialises")
    }

    /// Reads a statement; `_type` must be Statement v1 and there must be a subject.
    pub fn from_json(bytes: &[u8]) -> Result<Statement> {
        let malformed = |reason: String| Error::MalformedStatement { reason };
        let statement: Statement =
            serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if statement.statement_type != STATEMENT_TYPE {
            return Err(malformed(format!(
                "_type is `{}`, not `{STATEMENT_TYPE}`",
                statement.statement_type
            )));
        }
        if statement.subject.is_empty() {
            return Err(malformed("no subject".into()));
        }
        Ok(statement)
    }

    /// The statement in a DSSE envelope signed by `key`.
    pub fn sign(&self, key: &SigningKey, key_id: KeyIdChoice) -> Envelope {
        let mut envelope = Envelope::new(PAYLOAD_TYPE, self.to_json());
        envelope.sign(key, key_id);
        envelope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_and_uris() {
        for (given, expected) in [
            ("spdx", "https://spdx.dev/Document"),
            ("spdxjson", "https://spdx.dev/Document"),
            ("cyclonedx", "https://cyclonedx.org/bom"),
            ("cyclonedxjson", "https://cyclonedx.org/bom"),
            ("slsaprovenance", "https://slsa.dev/provenance/v1"),
            ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
            ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
            ("custom", "https://cosign.sigstore.dev/attestation/v1"),
            ("https://example.com/p/v1", "https://example.com/p/v1"),
        ] {
            assert_eq!(predicate_type(given).unwrap(), expected, "{given}");
        }
        for bad in ["vuln", "http://example.com/p", "https://", "SPDX", ""] {
            let error = predicate_type(bad).unwrap_err();
            assert!(error.to_string().contains("slsaprovenance02"), "{error}");
        }
    }

    #[test]
    fn statement_json_and_envelope() {
        let statement = Statement::new(
            vec![Subject::sha256("registry.example/app", "sha256:abc123")],
            predicate_type("slsaprovenance").unwrap(),
            serde_json::json!({"buildDefinition": {}}),
        );
        let text = String::from_utf8(statement.to_json()).unwrap();
        assert_eq!(
            text,
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.example/app","digest":{"sha256":"abc123"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}"#
        );
        assert_eq!(Statement::from_json(text.as_bytes()).unwrap(), statement);

        let key = SigningKey::generate().unwrap();
        let envelope = statement.sign(&key, KeyIdChoice::Empty);
        let payload = envelope
            .verified_payload(&key.verifying_key(), PAYLOAD_TYPE)
            .unwrap();
        assert_eq!(Statement::from_json(payload).unwrap(), statement);
    }

    #[test]
    fn malformed_statements() {
        for bad in [
            r#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"a","digest":{}}],"predicateType":"x","predicate":{}}"#,
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x","predicate":{}}"#,
            r#"{"_type":"https://in-toto.io/Statement/v1"}"#,
        ] {
            assert!(matches!(
                Statement::from_json(bad.as_bytes()),
                Err(Error::MalformedStatement { .. })
            ));
        }
    }
}
