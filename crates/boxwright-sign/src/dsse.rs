//! DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse v1): the envelope cosign
//! attestations travel in.
//!
//! ```json
//! {"payloadType":"application/vnd.in-toto+json","payload":"<base64>",
//!  "signatures":[{"keyid":"<hex or empty>","sig":"<base64 DER ECDSA>"}]}
//! ```
//!
//! A signature is over the pre-authentication encoding (PAE), never over the payload alone:
//! `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::signature::Signature;

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// An unauthenticated hint of which key signed; may be empty.
    pub keyid: String,
    /// ASN.1 DER ECDSA P-256 signature of the PAE.
    pub sig: Vec<u8>,
}

/// Which key id a new signature carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyIdChoice {
    /// The key's fingerprint ([`VerifyingKey::key_id`]).
    Fingerprint,
    /// An empty key id, as cosign writes for key-based attestations.
    Empty,
}

#[derive(Serialize, Deserialize)]
struct Json {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<JsonSignature>,
}

#[derive(Serialize, Deserialize)]
struct JsonSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// The pre-authentication encoding of DSSE v1.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// An unsigned envelope.
    pub fn new(payload_type: impl Into<String>, payload: impl Into<Vec<u8>>) -> Envelope {
        Envelope {
            payload_type: payload_type.into(),
            payload: payload.into(),
            signatures: Vec::new(),
        }
    }

    /// Adds a signature by `key` over the PAE.
    pub fn sign(&mut self, key: &SigningKey, key_id: KeyIdChoice) {
        let signature = key.sign(&pae(&self.payload_type, &self.payload));
        self.signatures.push(EnvelopeSignature {
            keyid: match key_id {
                KeyIdChoice::Fingerprint => key.verifying_key().key_id().to_string(),
                KeyIdChoice::Empty => String::new(),
            },
            sig: signature.to_der(),
        });
    }

    /// Succeeds when any signature verifies with `key` (key ids are hints and not
    /// compared); [`Error::NoValidSignature`] otherwise.
    pub fn verify(&self, key: &VerifyingKey) -> Result<()> {
        let pae = pae(&self.payload_type, &self.payload);
        let verified = self.signatures.iter().any(|s| {
            Signature::from_bytes(&s.sig)
                .and_then(|signature| key.verify(&pae, &signature, "the DSSE envelope"))
                .is_ok()
        });
        if verified {
            Ok(())
        } else {
            Err(Error::NoValidSignature {
                count: self.signatures.len(),
                key_id: key.key_id().to_string(),
            })
        }
    }

    /// Verifies with `key` and checks the payload type; returns the payload.
    pub fn verified_payload(&self, key: &VerifyingKey, payload_type: &str) -> Result<&[u8]> {
        self.verify(key)?;
        if self.payload_type != payload_type {
            return Err(Error::MalformedEnvelope {
                reason: format!(
                    "payloadType is `{}`, expected `{payload_type}`",
                    self.payload_type
                ),
            });
        }
        Ok(&self.payload)
    }

    /// The envelope's JSON (compact; `payloadType`, `payload`, `signatures` in that order).
    pub fn to_json(&self) -> Vec<u8> {
        let json = Json {
            payload_type: self.payload_type.clone(),
            payload: STANDARD.encode(&self.payload),
            signatures: self
                .signatures
                .iter()
                .map(|s| JsonSignature {
                    keyid: s.keyid.clone(),
                    sig: STANDARD.encode(&s.sig),
                })
                .collect(),
        };
        serde_json::to_vec(&json).expect("the envelope serialises")
    }

    /// Reads an envelope's JSON (base64 in the standard or URL-safe alphabet, as the DSSE
    /// specification allows).
    pub fn from_json(bytes: &[u8]) -> Result<Envelope> {
        let malformed = |reason: String| Error::MalformedEnvelope { reason };
        let json: Json = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        let payload =
            decode_base64(&json.payload).map_err(|e| malformed(format!("payload: {e}")))?;
        let signatures = json
            .signatures
            .into_iter()
            .map(|s| {
                decode_base64(&s.sig)
                    .map(|sig| EnvelopeSignature {
                        keyid: s.keyid,
                        sig,
                    })
                    .map_err(|e| malformed(format!("sig: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(Envelope {
            payload_type: json.payload_type,
            payload,
            signatures,
        })
    }
}

fn decode_base64(text: &str) -> std::result::Result<Vec<u8>, String> {
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .map_err(|e| format!("not base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_of_the_specification_example() {
        // secure-systems-lab/dsse protocol.md: payloadType http://example.com/HelloWorld,
        // payload "hello world".
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn sign_serialise_parse_verify() {
        let key = SigningKey::generate().unwrap();
        let mut envelope = Envelope::new("application/vnd.in-toto+json", b"{}".to_vec());
        envelope.sign(&key, KeyIdChoice::Fingerprint);
        let json = envelope.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(
            text.starts_with(r#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":""#),
            "{text}"
        );
        let parsed = Envelope::from_json(&json).unwrap();
        assert_eq!(parsed, envelope);
        assert_eq!(
            parsed.signatures[0].keyid,
            key.verifying_key().key_id().as_str()
        );
        parsed.verify(&key.verifying_key()).unwrap();
        assert_eq!(
            parsed
                .verified_payload(&key.verifying_key(), "application/vnd.in-toto+json")
                .unwrap(),
            b"{}"
        );
        assert!(matches!(
            parsed.verified_payload(&key.verifying_key(), "text/plain"),
            Err(Error::MalformedEnvelope { .. })
        ));
    }

    #[test]
    fn any_signature_by_the_key_verifies() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let mut envelope = Envelope::new("t", b"body".to_vec());
        envelope.sign(&other, KeyIdChoice::Empty);
        envelope.sign(&key, KeyIdChoice::Empty);
        assert_eq!(envelope.signatures[1].keyid, "");
        envelope.verify(&key.verifying_key()).unwrap();
        envelope.verify(&other.verifying_key()).unwrap();
    }

    #[test]
    fn negative_cases() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let mut envelope = Envelope::new("t", b"body".to_vec());
        assert!(matches!(
            envelope.verify(&key.verifying_key()),
            Err(Error::NoValidSignature { count: 0, .. })
        ));
        envelope.sign(&key, KeyIdChoice::Fingerprint);
        assert!(matches!(
            envelope.verify(&other.verifying_key()),
            Err(Error::NoValidSignature { count: 1, .. })
        ));
        let mut tampered = envelope.clone();
        tampered.payload = b"bodY".to_vec();
        assert!(tampered.verify(&key.verifying_key()).is_err());
        // The type is signed too.
        let mut retyped = envelope.clone();
        retyped.payload_type = "u".into();
        assert!(retyped.verify(&key.verifying_key()).is_err());
        // A signature over the bare payload (not the PAE) does not count.
        let mut bare = Envelope::new("t", b"body".to_vec());
        bare.signatures.push(EnvelopeSignature {
            keyid: String::new(),
            sig: key.sign(b"body").to_der(),
        });
        assert!(bare.verify(&key.verifying_key()).is_err());
        let mut garbage = envelope.clone();
        garbage.signatures[0].sig = b"garbage".to_vec();
        assert!(garbage.verify(&key.verifying_key()).is_err());
        for bad in [
            &b"{}"[..],
            b"not json",
            br#"{"payloadType":"t","payload":"!!","signatures":[]}"#,
        ] {
            assert!(matches!(
                Envelope::from_json(bad),
                Err(Error::MalformedEnvelope { .. })
            ));
        }
    }
}
