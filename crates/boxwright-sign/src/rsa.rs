//! RSA keys for Alpine packages and indexes: abuild's `NAME.rsa` (private, PEM) and
//! `NAME.rsa.pub` (public, `BEGIN PUBLIC KEY`) files, PKCS#1 v1.5 signatures with SHA-256.
//!
//! Signing uses `ring`; the `rsa` crate only generates keys, because the Marvin advisory
//! (RUSTSEC-2023-0071) concerns the timing of that crate's private-key operations and `ring`
//! cannot generate RSA keys.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::pem;

/// Key sizes `ring` signs with.
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 8192;

/// An RSA private key that signs with PKCS#1 v1.5 and SHA-256 (apk's `.SIGN.RSA256.`).
pub struct RsaSigningKey {
    pair: ring::signature::RsaKeyPair,
}

impl std::fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigningKey")
            .field("bits", &(self.pair.public().modulus_len() * 8))
            .finish_non_exhaustive()
    }
}

impl RsaSigningKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE
    /// KEY`, what `openssl genrsa` wrote before OpenSSL 3), 2048 to 8192 bits.
    pub fn from_pem(text: &str) -> Result<Self> {
        let block = pem::decode(text, "RSA private key")?;
        let pair = match block.label.as_str() {
            "PRIVATE KEY" => ring::signature::RsaKeyPair::from_pkcs8(&block.contents),
            "RSA PRIVATE KEY" => ring::signature::RsaKeyPair::from_der(&block.contents),
            other => {
                return Err(Error::UnsupportedPemType {
                    what: "RSA private key",
                    label: other.to_string(),
                    known: "PRIVATE KEY, RSA PRIVATE KEY",
                });
            }
        }
        .map_err(|e| Error::InvalidKey {
            what: "RSA private key",
            reason: format!("{e} (an unencrypted RSA key of {MIN_BITS} to {MAX_BITS} bits)"),
        })?;
        Ok(RsaSigningKey { pair })
    }

    /// The PKCS#1 v1.5 SHA-256 signature of `data` (deterministic: the same bytes each time).
    pub fn sign_sha256(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                data,
                &mut signature,
            )
            .map_err(|_| Error::InvalidKey {
                what: "RSA private key",
                reason: "signing failed".into(),
            })?;
        Ok(signature)
    }

    /// The public key as a PEM `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo) block: the file apk
    /// clients keep in `/etc/apk/keys/`.
    pub fn public_key_pem(&self) -> String {
        pem::encode(
            "PUBLIC KEY",
            &subject_public_key_info(self.pair.public().as_ref()),
        )
        .to_string()
    }
}

/// The digest of a PKCS#1 v1.5 signature: apk's `.SIGN.RSA.` (SHA-1, what Alpine's own
/// indexes and packages still carry), `.SIGN.RSA256.` and `.SIGN.RSA512.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaDigest {
    Sha1,
    Sha256,
    Sha512,
}

/// Checks a PKCS#1 v1.5 SHA-256 signature against a PEM public key (`BEGIN PUBLIC KEY`).
pub fn verify_sha256(public_pem: &str, data: &[u8], signature: &[u8]) -> Result<()> {
    verify_pkcs1(public_pem, RsaDigest::Sha256, data, signature)
}

/// Checks a PKCS#1 v1.5 signature made with `digest` against a PEM public key
/// (`BEGIN PUBLIC KEY`, 2048 to 8192 bits).
pub fn verify_pkcs1(
    public_pem: &str,
    digest: RsaDigest,
    data: &[u8],
    signature: &[u8],
) -> Result<()> {
    let block = pem::decode(public_pem, "RSA public key")?;
    if block.label != "PUBLIC KEY" {
        return Err(Error::UnsupportedPemType {
            what: "RSA public key",
            label: block.label,
            known: "PUBLIC KEY",
        });
    }
    let rsa_public = strip_spki(&block.contents).ok_or_else(|| Error::InvalidKey {
        what: "RSA public key",
        reason: "not an RSA SubjectPublicKeyInfo".into(),
    })?;
    let algorithm: &ring::signature::RsaParameters = match digest {
        RsaDigest::Sha1 => &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        RsaDigest::Sha256 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        RsaDigest::Sha512 => &ring::signature::RSA_PKCS1_2048_8192_SHA512,
    };
    ring::signature::UnparsedPublicKey::new(algorithm, rsa_public)
        .verify(data, signature)
        .map_err(|_| Error::SignatureMismatch {
            subject: "the data".into(),
            key_id: "the RSA public key".into(),
        })
}

/// A new RSA key of `bits` bits: the private key as PKCS#8 PEM and the public key as
/// `BEGIN PUBLIC KEY` PEM.
pub fn generate(bits: usize) -> Result<(Zeroizing<String>, String)> {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(Error::InvalidKey {
            what: "RSA key size",
            reason: format!("{bits} bits (from {MIN_BITS} to {MAX_BITS})"),
        });
    }
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).map_err(|e| Error::Random {
        reason: e.to_string(),
    })?;
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::InvalidKey {
            what: "RSA private key",
            reason: e.to_string(),
        })?;
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::InvalidKey {
            what: "RSA public key",
            reason: e.to_string(),
        })?;
    Ok((Zeroizing::new(private.to_string()), public))
}

/// DER object identifier rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
const RSA_ALGORITHM: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// Wraps a PKCS#1 `RSAPublicKey` in a SubjectPublicKeyInfo.
fn subject_public_key_info(rsa_public: &[u8]) -> Vec<u8> {
    let mut bit_string = vec![0];
    bit_string.extend_from_slice(rsa_public);
    let mut body = RSA_ALGORITHM.to_vec();
    body.extend(der(0x03, &bit_string));
    der(0x30, &body)
}

/// The PKCS#1 `RSAPublicKey` inside a SubjectPublicKeyInfo for rsaEncryption.
fn strip_spki(spki: &[u8]) -> Option<&[u8]> {
    let (tag, body, rest) = read_der(spki)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let body = body.strip_prefix(&RSA_ALGORITHM[..])?;
    let (tag, bits, rest) = read_der(body)?;
    if tag != 0x03 || !rest.is_empty() {
        return None;
    }
    bits.strip_prefix(&[0][..])
}

fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// One DER element: tag, contents and what follows it.
fn read_der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return None;
    }
    let (contents, after) = rest.split_at(len);
    Some((tag, contents, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_signs_deterministically_and_verifies() {
        let (private, public) = generate(2048).unwrap();
        assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        let key = RsaSigningKey::from_pem(&private).unwrap();
        assert_eq!(key.public_key_pem(), public);
        let a = key.sign_sha256(b"control").unwrap();
        assert_eq!(a, key.sign_sha256(b"control").unwrap());
        assert_eq!(a.len(), 256);
        verify_sha256(&public, b"control", &a).unwrap();
        assert!(verify_sha256(&public, b"other", &a).is_err());
    }

    #[test]
    fn pkcs1_keys_load_too() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let loaded = RsaSigningKey::from_pem(&pem).unwrap();
        let signature = loaded.sign_sha256(b"x").unwrap();
        verify_sha256(&loaded.public_key_pem(), b"x", &signature).unwrap();
    }

    #[test]
    fn refuses_other_keys() {
        assert!(
            RsaSigningKey::from_pem(
                "-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n"
            )
            .is_err()
        );
        assert!(
            RsaSigningKey::from_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            )
            .is_err()
        );
        assert!(generate(1024).is_err());
    }
}
