//! An ECDSA P-256 signature, written as cosign writes it: ASN.1 DER, base64 in text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};

/// An ECDSA P-256 signature. Written as ASN.1 DER (what cosign, sigstore and
/// securesystemslib expect); read from DER or from the raw 64-byte `r || s` form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature(pub(crate) p256::ecdsa::Signature);

impl Signature {
    /// A signature from DER or raw `r || s` (64 bytes) bytes. DER is tried first: it is the
    /// format everyone writes, and a 64-byte value is raw only when it is not DER.
    pub fn from_bytes(bytes: &[u8]) -> Result<Signature> {
        p256::ecdsa::Signature::from_der(bytes)
            .or_else(|e| {
                if bytes.len() == 64 {
                    p256::ecdsa::Signature::from_slice(bytes)
                } else {
                    Err(e)
                }
            })
            .map(Signature)
            .map_err(|_| Error::MalformedSignature {
                reason: format!(
                    "{} bytes that are neither an ASN.1 DER ECDSA P-256 signature nor a raw \
                     64-byte r||s one",
                    bytes.len()
                ),
            })
    }

    /// A signature from its base64 text (standard alphabet, padded; surrounding whitespace
    /// and line breaks are ignored).
    pub fn from_base64(text: &str) -> Result<Signature> {
        let compact: String = text.split_whitespace().collect();
        if compact.is_empty() {
            return Err(Error::MalformedSignature {
                reason: "the signature is empty".into(),
            });
        }
        let bytes = STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| Error::MalformedSignature {
                reason: format!("not base64: {e}"),
            })?;
        Signature::from_bytes(&bytes)
    }

    /// The ASN.1 DER encoding.
    pub fn to_der(&self) -> Vec<u8> {
        self.0.to_der().as_bytes().to_vec()
    }

    /// Base64 of the DER encoding: cosign's `.sig` text and annotation value.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.to_der())
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_base64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;

    #[test]
    fn der_and_raw_forms_read_the_same() {
        let key = SigningKey::generate().unwrap();
        let signature = key.sign(b"message");
        let der = signature.to_der();
        assert_eq!(der[0], 0x30, "DER SEQUENCE");
        let raw = signature.0.to_bytes();
        assert_eq!(Signature::from_bytes(&der).unwrap(), signature);
        assert_eq!(Signature::from_bytes(&raw).unwrap(), signature);
        assert_eq!(
            Signature::from_base64(&format!("  {}\n", signature.to_base64())).unwrap(),
            signature
        );
    }

    #[test]
    fn garbage_is_a_malformed_signature() {
        for text in ["", "not base64!", "aGVsbG8=", &"A".repeat(88)] {
            assert!(
                matches!(
                    Signature::from_base64(text),
                    Err(Error::MalformedSignature { .. })
                ),
                "{text:?}"
            );
        }
    }
}
