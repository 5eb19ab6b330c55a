//! Trusted OpenPGP keys (apt's `signed-by=` keyrings) and the check of a signature against
//! them, as `gpgv` decides for apt: at least one good signature by a trusted, valid key, and
//! no bad signature by a trusted key.
//!
//! What counts as trusted: every primary key and subkey of the keyring whose self-signatures
//! rpgp verifies (`verify_bindings`); a key whose bindings do not verify is left out and
//! counted in [`Keyring::skipped`]. Validity at `now`: a key (or subkey) with a verified
//! revocation signature is revoked; one whose newest self-signature (or binding signature)
//! gives a key expiration time before `now` is expired; a signature by either is refused
//! with [`Error::KeyNotValid`], as apt refuses gpgv's `REVKEYSIG`/`EXPKEYSIG`. A subkey
//! signs only when its binding signature's key flags allow signing.

use pgp::composed::{Deserializable as _, SignedPublicKey};
use pgp::packet::{self, Signature, SignatureType};
use pgp::types::KeyDetails as _;

use crate::error::{Error, Result};

/// Trusted keys loaded from one keyring file (binary, several keys concatenated, or armored).
#[derive(Debug, Clone)]
pub struct Keyring {
    file: String,
    keys: Vec<TrustedKey>,
    skipped: usize,
}

/// One key that may sign: a primary key or a signing subkey.
#[derive(Debug, Clone)]
struct TrustedKey {
    /// Upper-case hex fingerprint of this (sub)key.
    fingerprint: String,
    /// Upper-case hex 64-bit key id of this (sub)key.
    key_id: String,
    /// The primary key's fingerprint, for messages.
    primary: String,
    signer: Signer,
    /// Seconds since the epoch after which the key is expired.
    expires: Option<u64>,
    revoked: bool,
}

#[derive(Debug, Clone)]
enum Signer {
    Primary(packet::PublicKey),
    Sub(packet::PublicSubkey),
}

impl Signer {
    fn verify(&self, signature: &Signature, data: &[u8]) -> bool {
        match self {
            Signer::Primary(key) => signature.verify(key, data).is_ok(),
            Signer::Sub(key) => signature.verify(key, data).is_ok(),
        }
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// The newest of `signatures` by creation time.
fn newest<'a>(signatures: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    signatures.max_by_key(|s| s.created().map_or(0, pgp::types::Timestamp::as_secs))
}

fn expiry(created: u32, signature: Option<&Signature>) -> Option<u64> {
    let seconds = signature?.key_expiration_time()?.as_secs();
    (seconds > 0).then(|| u64::from(created) + u64::from(seconds))
}

impl Keyring {
    /// Reads a keyring: binary OpenPGP packets (`.gpg`, as Debian ships
    /// `debian-archive-keyring.gpg`) or an armored public key block (`.asc`). `file` names it
    /// in errors.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Keyring> {
        let error = |reason: String| Error::Keyring {
            file: file.to_string(),
            reason,
        };
        let (parsed, _) = SignedPublicKey::from_reader_many(bytes)
            .map_err(|e| error(format!("not an OpenPGP keyring: {e}")))?;
        let mut keyring = Keyring {
            file: file.to_string(),
            keys: Vec::new(),
            skipped: 0,
        };
        for key in parsed {
            match key {
                Ok(key) if key.verify_bindings().is_ok() => keyring.add(&key),
                _ => keyring.skipped += 1,
            }
        }
        if keyring.keys.is_empty() {
            return Err(error(format!(
                "no OpenPGP public key with valid self-signatures ({} unreadable or invalid)",
                keyring.skipped
            )));
        }
        Ok(keyring)
    }

    fn add(&mut self, key: &SignedPublicKey) {
        let primary_key = &key.primary_key;
        let primary = upper_hex(primary_key.fingerprint().as_bytes());
        let self_signature = newest(key.details.users.iter().flat_map(|u| u.signatures.iter()))
            .or_else(|| newest(key.details.direct_signatures.iter()));
        let created = primary_key.created_at().as_secs();
        self.keys.push(TrustedKey {
            fingerprint: primary.clone(),
            key_id: upper_hex(primary_key.legacy_key_id().as_ref()),
            primary: primary.clone(),
            signer: Signer::Primary(primary_key.clone()),
            expires: expiry(created, self_signature),
            revoked: !key.details.revocation_signatures.is_empty(),
        });
        let primary_expires = self.keys.last().and_then(|k| k.expires);
        for subkey in &key.public_subkeys {
            let binding = newest(
                subkey
                    .signatures
                    .iter()
                    .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding)),
            );
            if !binding.is_some_and(|b| b.key_flags().sign()) {
                continue;
            }
            let revoked = subkey
                .signatures
                .iter()
                .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
            let created = subkey.key.created_at().as_secs();
            let expires = match (expiry(created, binding), primary_expires) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            self.keys.push(TrustedKey {
                fingerprint: upper_hex(subkey.key.fingerprint().as_bytes()),
                key_id: upper_hex(subkey.key.legacy_key_id().as_ref()),
                primary: primary.clone(),
                signer: Signer::Sub(subkey.key.clone()),
                expires,
                revoked: revoked || !key.details.revocation_signatures.is_empty(),
            });
        }
    }

    /// The file the keys came from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Fingerprints of the primary keys, upper-case hex.
    pub fn fingerprints(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.keys.iter().map(|k| k.primary.as_str()).collect();
        out.dedup();
        out
    }

    /// How many keys of the file were left out (unreadable, or self-signatures that do not
    /// verify).
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    fn find(&self, signature: &Signature) -> Option<&TrustedKey> {
        let fingerprints: Vec<String> = signature
            .issuer_fingerprint()
            .into_iter()
            .map(|f| upper_hex(f.as_bytes()))
            .collect();
        let key_ids: Vec<String> = signature
            .issuer_key_id()
            .into_iter()
            .map(|k| upper_hex(k.as_ref()))
            .collect();
        self.keys
            .iter()
            .find(|k| fingerprints.contains(&k.fingerprint) || key_ids.contains(&k.key_id))
    }

    /// Checks `signatures` over `data` (already in the form the signatures hash). Returns the
    /// fingerprint of the key of the first good signature. `file` names the signed file.
    pub(crate) fn check(
        &self,
        file: &str,
        signatures: &[Signature],
        data: &[u8],
        now: u64,
    ) -> Result<String> {
        if signatures.is_empty() {
            return Err(Error::NotSigned {
                file: file.to_string(),
                reason: "it holds no OpenPGP signature".into(),
            });
        }
        let mut unknown = Vec::new();
        let mut invalid = None;
        let mut good = None;
        for signature in signatures {
            let Some(key) = self.find(signature) else {
                unknown.push(issuer(signature));
                continue;
            };
            if !key.signer.verify(signature, data) {
                return Err(Error::BadSignature {
                    file: file.to_string(),
                    key_id: key.fingerprint.clone(),
                });
            }
            match key_state(key, signature, now) {
                Some(state) => invalid = Some((key.fingerprint.clone(), state)),
                None => good = good.or_else(|| Some(key.primary.clone())),
            }
        }
        if let Some(fingerprint) = good {
            return Ok(fingerprint);
        }
        if let Some((key_id, state)) = invalid {
            return Err(Error::KeyNotValid {
                file: file.to_string(),
                key_id,
                state,
            });
        }
        Err(Error::UnknownKey {
            file: file.to_string(),
            key_ids: unknown.join(", "),
        })
    }
}

/// Why a good signature by `key` is not accepted at `now`, if it is not.
fn key_state(key: &TrustedKey, signature: &Signature, now: u64) -> Option<String> {
    if key.revoked {
        return Some("revoked".into());
    }
    if let Some(expires) = key.expires.filter(|e| *e < now) {
        return Some(format!("expired since {expires} (seconds since the epoch)"));
    }
    let created = signature.created().map(pgp::types::Timestamp::as_secs);
    let lifetime = signature
        .signature_expiration_time()
        .map(pgp::types::Duration::as_secs);
    if let (Some(created), Some(lifetime)) = (created, lifetime)
        && lifetime > 0
        && u64::from(created) + u64::from(lifetime) < now
    {
        return Some("used for a signature that has expired".into());
    }
    None
}

/// The issuer a signature names, for messages: fingerprint, else key id, upper-case hex.
fn issuer(signature: &Signature) -> String {
    signature
        .issuer_fingerprint()
        .first()
        .map(|f| upper_hex(f.as_bytes()))
        .or_else(|| {
            signature
                .issuer_key_id()
                .first()
                .map(|k| upper_hex(k.as_ref()))
        })
        .unwrap_or_else(|| "(no issuer)".into())
}
