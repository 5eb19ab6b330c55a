//! OpenPGP keys and signatures for apt repositories: `InRelease` (cleartext-signed) and
//! `Release.gpg` (detached, armored), made with a v4 key and SHA-256, as apt's `gpgv` checks.
//!
//! Keys are Ed25519 in the v4 ("legacy EdDSA") encoding, which GnuPG 2.2 (Debian 12's gpgv)
//! reads; the newer RFC 9580 Ed25519 encoding is not read by GnuPG 2.2. Signatures carry a
//! creation time given by the caller, so the same input gives the same bytes (Ed25519
//! signatures are deterministic).

use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, Deserializable, DetachedSignature, KeyType,
    SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::types::{KeyDetails as _, KeyVersion, Password, Timestamp};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// An OpenPGP secret key (unencrypted) whose primary key signs.
#[derive(Debug)]
pub struct OpenPgpSigningKey {
    key: SignedSecretKey,
}

fn invalid(what: &'static str, error: impl std::fmt::Display) -> Error {
    Error::InvalidKey {
        what,
        reason: error.to_string(),
    }
}

impl OpenPgpSigningKey {
    /// Reads an armored secret key (`BEGIN PGP PRIVATE KEY BLOCK`) without a passphrase.
    pub fn from_armored(text: &str) -> Result<Self> {
        if !text.contains("-----BEGIN PGP PRIVATE KEY BLOCK-----") {
            return Err(Error::NotPem {
                what: "OpenPGP secret key (no `-----BEGIN PGP PRIVATE KEY BLOCK-----` line)",
            });
        }
        let (key, _) =
            SignedSecretKey::from_string(text).map_err(|e| invalid("OpenPGP secret key", e))?;
        key.verify_bindings()
            .map_err(|e| invalid("OpenPGP secret key", e))?;
        if key.primary_key.version() != KeyVersion::V4 {
            return Err(invalid(
                "OpenPGP secret key",
                "not a version 4 key (apt's gpgv reads v4 keys)",
            ));
        }
        Ok(OpenPgpSigningKey { key })
    }

    /// The primary key's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> String {
        self.key
            .primary_key
            .fingerprint()
            .to_string()
            .to_uppercase()
    }

    /// The public key, armored (`BEGIN PGP PUBLIC KEY BLOCK`): what `signed-by=` names.
    pub fn public_key_armored(&self) -> Result<String> {
        SignedPublicKey::from(self.key.clone())
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| invalid("OpenPGP public key", e))
    }

    /// The signature time: `at`, but never before the key was made (gpgv refuses a signature
    /// older than its key).
    fn config(&self, kind: SignatureType, at: u64) -> Result<SignatureConfig> {
        let key = &self.key.primary_key;
        let created = key.created_at().as_secs();
        let at = u32::try_from(at).unwrap_or(u32::MAX).max(created);
        let mut config = SignatureConfig::v4(kind, key.algorithm(), HashAlgorithm::Sha256);
        config.hashed_subpackets = vec![
            Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
                at,
            )))
            .map_err(|e| invalid("OpenPGP signature", e))?,
            Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint()))
                .map_err(|e| invalid("OpenPGP signature", e))?,
        ];
        config.unhashed_subpackets = vec![
            Subpacket::regular(SubpacketData::IssuerKeyId(key.legacy_key_id()))
                .map_err(|e| invalid("OpenPGP signature", e))?,
        ];
        Ok(config)
    }

    /// `text` as a cleartext-signed message (`BEGIN PGP SIGNED MESSAGE`, an `InRelease`),
    /// signed at time `at` (seconds since the epoch).
    pub fn cleartext_sign(&self, text: &str, at: u64) -> Result<String> {
        let config = self.config(SignatureType::Text, at)?;
        let message =
            CleartextSignedMessage::new(text, config, &self.key.primary_key, &Password::empty())
                .map_err(|e| invalid("OpenPGP signature", e))?;
        message
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| invalid("OpenPGP signature", e))
    }

    /// A detached binary signature of `data`, armored (`BEGIN PGP SIGNATURE`, a `Release.gpg`).
    pub fn detached_sign(&self, data: &[u8], at: u64) -> Result<String> {
        let config = self.config(SignatureType::Binary, at)?;
        let signature = config
            .sign(&self.key.primary_key, &Password::empty(), data)
            .map_err(|e| invalid("OpenPGP signature", e))?;
        DetachedSignature::new(signature)
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| invalid("OpenPGP signature", e))
    }
}

/// A new v4 Ed25519 signing key for `user_id` (`Name <email>`): the armored secret key and
/// the armored public key.
pub fn generate(user_id: &str) -> Result<(Zeroizing<String>, String)> {
    use pgp::composed::EncryptionCaps;
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .can_encrypt(EncryptionCaps::None)
        .preferred_hash_algorithms(
            [HashAlgorithm::Sha256, HashAlgorithm::Sha512]
                .into_iter()
                .collect(),
        )
        .primary_user_id(user_id.to_string());
    let params = params.build().map_err(|e| invalid("OpenPGP key", e))?;
    let key = params
        .generate(rand::rngs::OsRng)
        .map_err(|e| invalid("OpenPGP key", e))?;
    let secret = key
        .to_armored_string(ArmorOptions::default())
        .map_err(|e| invalid("OpenPGP secret key", e))?;
    let public = SignedPublicKey::from(key)
        .to_armored_string(ArmorOptions::default())
        .map_err(|e| invalid("OpenPGP public key", e))?;
    Ok((Zeroizing::new(secret), public))
}

/// Checks a detached armored signature of `data` against an armored public key.
pub fn verify_detached(public_armored: &str, data: &[u8], signature: &str) -> Result<()> {
    let (public, _) = SignedPublicKey::from_string(public_armored)
        .map_err(|e| invalid("OpenPGP public key", e))?;
    let (signature, _) =
        DetachedSignature::from_string(signature).map_err(|e| Error::MalformedSignature {
            reason: e.to_string(),
        })?;
    signature
        .signature
        .verify(&public.primary_key, data)
        .map_err(|_| Error::SignatureMismatch {
            subject: "the data".into(),
            key_id: public.primary_key.fingerprint().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_signs_cleartext_and_detached_deterministically() {
        let (secret, public) = generate("Test <test@example.invalid>").unwrap();
        assert!(secret.contains("BEGIN PGP PRIVATE KEY BLOCK"));
        assert!(public.contains("BEGIN PGP PUBLIC KEY BLOCK"));
        let key = OpenPgpSigningKey::from_armored(&secret).unwrap();
        assert_eq!(key.public_key_armored().unwrap(), public);
        let text = "Origin: x\nSuite: stable\n";
        let signed = key.cleartext_sign(text, 0).unwrap();
        assert!(signed.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n"));
        assert!(signed.contains("Origin: x\nSuite: stable\n"));
        assert_eq!(signed, key.cleartext_sign(text, 0).unwrap());
        let (message, _) = CleartextSignedMessage::from_string(&signed).unwrap();
        let (public_key, _) = SignedPublicKey::from_string(&public).unwrap();
        message.verify(&public_key.primary_key).unwrap();

        let detached = key.detached_sign(text.as_bytes(), 0).unwrap();
        verify_detached(&public, text.as_bytes(), &detached).unwrap();
        assert!(verify_detached(&public, b"other", &detached).is_err());
    }

    #[test]
    fn refuses_what_is_not_a_secret_key() {
        assert!(OpenPgpSigningKey::from_armored("hello").is_err());
        let (_, public) = generate("T <t@example.invalid>").unwrap();
        assert!(OpenPgpSigningKey::from_armored(&public).is_err());
    }
}
