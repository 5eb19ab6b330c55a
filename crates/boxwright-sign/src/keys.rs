//! ECDSA P-256 keys in cosign's files.
//!
//! Private keys load from cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` (and the older
//! `ENCRYPTED COSIGN PRIVATE KEY`, the same JSON: see [`encrypted`]), PKCS#8 `PRIVATE KEY`
//! (`openssl genpkey`) and SEC1 `EC PRIVATE KEY` (`openssl ecparam -genkey`). New keys are
//! written as cosign writes them: the encrypted PEM, and the public key as
//! `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo).

mod encrypted;

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::pem;
use crate::signature::Signature;

/// The PEM label cosign writes for new encrypted private keys.
pub const SIGSTORE_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label of older cosign encrypted private keys (same contents).
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
const PKCS8_LABEL: &str = "PRIVATE KEY";
const SEC1_LABEL: &str = "EC PRIVATE KEY";
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";
const PRIVATE_LABELS: &str =
    "ENCRYPTED SIGSTORE PRIVATE KEY, ENCRYPTED COSIGN PRIVATE KEY, PRIVATE KEY, EC PRIVATE KEY";

/// An ECDSA P-256 private key that signs with SHA-256 (cosign's default key type).
#[derive(Clone)]
pub struct SigningKey(p256::ecdsa::SigningKey);

/// An ECDSA P-256 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey(p256::ecdsa::VerifyingKey);

/// A key's fingerprint: lower-case hex SHA-256 of its SubjectPublicKeyInfo DER (the keyid of
/// DSSE signatures).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl SigningKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<SigningKey> {
        p256::ecdsa::SigningKey::try_generate()
            .map(SigningKey)
            .map_err(|e| Error::Random {
                reason: e.to_string(),
            })
    }

    /// Loads a private key from PEM text (see the module documentation for the kinds).
    ///
    /// `password` opens cosign's encrypted keys and is ignored for the unencrypted kinds.
    /// Without one, the empty password is tried (cosign allows it); when that fails the
    /// error is [`Error::PasswordRequired`]. A password that does not open the key is
    /// [`Error::WrongPassword`].
    pub fn from_pem(text: &str, password: Option<&[u8]>) -> Result<SigningKey> {
        const WHAT: &str = "private key";
        let block = pem::decode(text, WHAT)?;
        match block.label.as_str() {
            SIGSTORE_PRIVATE_KEY_LABEL | COSIGN_PRIVATE_KEY_LABEL => {
                let der = match encrypted::open(&block.contents, password.unwrap_or_default()) {
                    Err(Error::WrongPassword) if password.is_none() => {
                        return Err(Error::PasswordRequired);
                    }
                    other => other?,
                };
                SigningKey::from_pkcs8_der(&der).map_err(|e| match e {
                    // Secretbox authenticated the contents: bad DER means a corrupt key.
                    Error::InvalidKey { reason, .. } => Error::InvalidKey {
                        what: "encrypted private key",
                        reason,
                    },
                    other => other,
                })
            }
            PKCS8_LABEL => SigningKey::from_pkcs8_der(&block.contents),
            SEC1_LABEL => p256::SecretKey::from_sec1_der(&block.contents)
                .map(|secret| SigningKey(secret.into()))
                .map_err(|e| Error::InvalidKey {
                    what: "SEC1 EC private key",
                    reason: format!("not a P-256 key: {e}"),
                }),
            label => Err(Error::UnsupportedPemType {
                what: WHAT,
                label: label.to_string(),
                known: PRIVATE_LABELS,
            }),
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey> {
        p256::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(SigningKey)
            .map_err(|e| Error::InvalidKey {
                what: "PKCS#8 private key",
                reason: format!("not an ECDSA P-256 key: {e}"),
            })
    }

    /// cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` PEM of this key, sealed with `password`
    /// (which may be empty, as cosign allows).
    pub fn to_cosign_pem(&self, password: &[u8]) -> Result<Zeroizing<String>> {
        let der = self.pkcs8_der();
        let sealed = encrypted::seal(&der, password)?;
        Ok(pem::encode(SIGSTORE_PRIVATE_KEY_LABEL, &sealed))
    }

    /// The unencrypted PKCS#8 `PRIVATE KEY` PEM of this key.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        pem::encode(PKCS8_LABEL, &self.pkcs8_der())
    }

    fn pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            self.0
                .to_pkcs8_der()
                .expect("a P-256 key encodes as PKCS#8")
                .as_bytes()
                .to_vec(),
        )
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(*self.0.verifying_key())
    }

    /// ECDSA P-256 over SHA-256 of `message` (deterministic nonces, RFC 6979).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }

    /// ECDSA P-256 over an already computed SHA-256 digest: the same signature as
    /// [`SigningKey::sign`] of the digested message.
    pub fn sign_sha256_digest(&self, digest: &[u8; 32]) -> Signature {
        Signature(
            self.0
                .sign_prehash(digest)
                .expect("a 32-byte prehash signs"),
        )
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.verifying_key().key_id())
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Loads a `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) PEM.
    pub fn from_pem(text: &str) -> Result<VerifyingKey> {
        const WHAT: &str = "public key";
        let block = pem::decode(text, WHAT)?;
        if block.label != PUBLIC_KEY_LABEL {
            return Err(Error::UnsupportedPemType {
                what: WHAT,
                label: block.label,
                known: PUBLIC_KEY_LABEL,
            });
        }
        VerifyingKey::from_spki_der(&block.contents)
    }

    /// Loads a SubjectPublicKeyInfo DER.
    pub fn from_spki_der(der: &[u8]) -> Result<VerifyingKey> {
        p256::ecdsa::VerifyingKey::from_public_key_der(der)
            .map(VerifyingKey)
            .map_err(|e| Error::InvalidKey {
                what: "public key",
                reason: format!("not an ECDSA P-256 SubjectPublicKeyInfo: {e}"),
            })
    }

    /// The SubjectPublicKeyInfo DER.
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.0
            .to_public_key_der()
            .expect("a P-256 key encodes as SPKI")
            .into_vec()
    }

    /// The `-----BEGIN PUBLIC KEY-----` PEM, as cosign writes `cosign.pub`.
    pub fn to_pem(&self) -> String {
        pem::encode(PUBLIC_KEY_LABEL, &self.to_spki_der()).to_string()
    }

    /// The key's fingerprint (hex SHA-256 of the SPKI DER).
    pub fn key_id(&self) -> KeyId {
        KeyId(hex::encode(Sha256::digest(self.to_spki_der())))
    }

    /// Checks an ECDSA P-256 SHA-256 signature of `message`; `subject` names the message in
    /// the error.
    pub fn verify(&self, message: &[u8], signature: &Signature, subject: &str) -> Result<()> {
        self.0
            .verify(message, &signature.0)
            .map_err(|_| self.mismatch(subject))
    }

    /// Checks a signature of the message whose SHA-256 digest is `digest`.
    pub fn verify_sha256_digest(
        &self,
        digest: &[u8; 32],
        signature: &Signature,
        subject: &str,
    ) -> Result<()> {
        self.0
            .verify_prehash(digest, &signature.0)
            .map_err(|_| self.mismatch(subject))
    }

    fn mismatch(&self, subject: &str) -> Error {
        Error::SignatureMismatch {
            subject: subject.to_string(),
            key_id: self.key_id().to_string(),
        }
    }
}

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Fills `buffer` from the operating system's random number generator.
pub(crate) fn random(buffer: &mut [u8]) -> Result<()> {
    getrandom::fill(buffer).map_err(|e| Error::Random {
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
