//! minisign keys and signatures (format of minisign 0.11 and the `minisign` crates).
//!
//! - Secret key file: `untrusted comment: ...` then base64 of `Ed` (signature algorithm),
//!   the KDF algorithm (`\0\0` for an unencrypted key, as `minisign -G -W` writes it; `Sc`
//!   for minisign's default, encrypted with scrypt and opened with a password), `B2`, 32 bytes of salt, 8 of
//!   opslimit, 8 of memlimit, then the 8-byte key id, the 64-byte Ed25519 secret key (seed
//!   and public key) and a 32-byte BLAKE2b-256 checksum of `Ed` || key id || secret key
//!   (left zero by `minisign -G -W`, and then not checked).
//! - Public key file: `untrusted comment: ...` then base64 of `Ed` || key id || public key.
//! - Signature file: the untrusted comment, base64 of `ED` || key id || the Ed25519 signature
//!   of the BLAKE2b-512 of the file, `trusted comment: ...`, and base64 of the global
//!   signature over the file's signature followed by the trusted comment. Legacy `Ed`
//!   signatures (over the file itself) are verified too but never written.

use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use ed25519_dalek::{Signer, Verifier};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The variable the password of an encrypted (`Sc`) minisign secret key is read from.
pub const PASSWORD_ENV: &str = "MINISIGN_PASSWORD";

const UNTRUSTED: &str = "untrusted comment: ";
const TRUSTED: &str = "trusted comment: ";
const SECRET_KEY_LEN: usize = 2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32;
const PUBLIC_KEY_LEN: usize = 2 + 8 + 32;
const SIGNATURE_LEN: usize = 2 + 8 + 64;

/// A minisign key id: 8 bytes, shown as minisign shows it (the little-endian number in
/// upper-case hexadecimal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinisignKeyId(pub [u8; 8]);

impl std::fmt::Display for MinisignKeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

/// A minisign secret key.
pub struct MinisignSecretKey {
    key_id: MinisignKeyId,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for MinisignSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinisignSecretKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A minisign public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinisignPublicKey {
    key_id: MinisignKeyId,
    key: ed25519_dalek::VerifyingKey,
}

/// A minisign signature file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinisignSignature {
    pub untrusted_comment: String,
    pub key_id: MinisignKeyId,
    /// Whether the file's BLAKE2b-512 was signed (`ED`) rather than the file itself (`Ed`).
    pub prehashed: bool,
    pub signature: [u8; 64],
    pub trusted_comment: String,
    pub global_signature: [u8; 64],
}

fn random(buffer: &mut [u8]) -> Result<()> {
    getrandom::fill(buffer).map_err(|e| Error::Random {
        reason: e.to_string(),
    })
}

fn invalid(what: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidKey {
        what,
        reason: reason.into(),
    }
}

/// The base64 payload line of a minisign file: the first line that is not a comment.
fn payload_line(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with(UNTRUSTED))
}

fn checksum(key_id: MinisignKeyId, secret: &[u8; 64]) -> [u8; 32] {
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(b"Ed");
    hasher.update(key_id.0);
    hasher.update(secret);
    hasher.finalize().into()
}

impl MinisignSecretKey {
    /// A new random key pair with a random key id.
    pub fn generate() -> Result<MinisignSecretKey> {
        let mut seed = Zeroizing::new([0_u8; 32]);
        random(seed.as_mut())?;
        let mut key_id = [0_u8; 8];
        random(&mut key_id)?;
        Ok(MinisignSecretKey {
            key_id: MinisignKeyId(key_id),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    /// An unencrypted secret key file's text; encrypted (`Sc`) keys need
    /// [`Self::from_text_with_password`].
    pub fn from_text(text: &str) -> Result<MinisignSecretKey> {
        Self::from_text_with_password(text, None)
    }

    /// A secret key file's text: unencrypted, or encrypted with scrypt (`Sc`, minisign's
    /// default) and opened with `password`.
    pub fn from_text_with_password(
        text: &str,
        password: Option<&[u8]>,
    ) -> Result<MinisignSecretKey> {
        const WHAT: &str = "minisign secret key";
        let line = payload_line(text).ok_or_else(|| invalid(WHAT, "no base64 line"))?;
        let mut bytes = Zeroizing::new(
            STANDARD
                .decode(line)
                .map_err(|e| invalid(WHAT, format!("not base64: {e}")))?,
        );
        if bytes.len() != SECRET_KEY_LEN {
            return Err(invalid(
                WHAT,
                format!("{} bytes, expected {SECRET_KEY_LEN}", bytes.len()),
            ));
        }
        if &bytes[0..2] != b"Ed" {
            return Err(invalid(WHAT, "signature algorithm is not Ed25519 (`Ed`)"));
        }
        if &bytes[4..6] != b"B2" {
            return Err(invalid(WHAT, "checksum algorithm is not BLAKE2b (`B2`)"));
        }
        let encrypted = match &bytes[2..4] {
            [0, 0] => false,
            b"Sc" => {
                let Some(password) = password else {
                    return Err(Error::PasswordRequired);
                };
                decrypt(&mut bytes, password)?;
                true
            }
            other => return Err(invalid(WHAT, format!("unknown KDF algorithm {other:?}"))),
        };
        let keynum = &bytes[54..];
        let key_id = MinisignKeyId(keynum[0..8].try_into().expect("8 bytes"));
        let secret: Zeroizing<[u8; 64]> =
            Zeroizing::new(keynum[8..72].try_into().expect("64 bytes"));
        // minisign 0.11 leaves the checksum of an unencrypted (`-W`) key zero; the public
        // key half is still checked against the seed below.
        let unset = !encrypted && keynum[72..104].iter().all(|b| *b == 0);
        if !unset && checksum(key_id, &secret) != keynum[72..104] {
            return Err(if encrypted {
                Error::WrongPassword
            } else {
                invalid(WHAT, "checksum mismatch (corrupt key)")
            });
        }
        let key = ed25519_dalek::SigningKey::from_keypair_bytes(&secret)
            .map_err(|e| invalid(WHAT, e.to_string()))?;
        Ok(MinisignSecretKey { key_id, key })
    }

    /// The unencrypted secret key file, as `minisign -G -W` writes it.
    pub fn to_text(&self) -> Zeroizing<String> {
        let secret = Zeroizing::new(self.key.to_keypair_bytes());
        let mut bytes = Zeroizing::new(Vec::with_capacity(SECRET_KEY_LEN));
        bytes.extend_from_slice(b"Ed");
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(b"B2");
        bytes.extend_from_slice(&[0; 48]);
        bytes.extend_from_slice(&self.key_id.0);
        bytes.extend_from_slice(secret.as_ref());
        bytes.extend_from_slice(&checksum(self.key_id, &secret));
        Zeroizing::new(format!(
            "{UNTRUSTED}minisign secret key {}\n{}\n",
            self.key_id,
            STANDARD.encode(&*bytes)
        ))
    }

    pub fn key_id(&self) -> MinisignKeyId {
        self.key_id
    }

    pub fn public_key(&self) -> MinisignPublicKey {
        MinisignPublicKey {
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// An `ED` signature of `data` with the given trusted comment (one line).
    pub fn sign(&self, data: &[u8], trusted_comment: &str) -> MinisignSignature {
        self.sign_prehashed(&Blake2b512::digest(data).into(), trusted_comment)
    }

    /// An `ED` signature of the file at `path`, read as a stream.
    pub fn sign_file(&self, path: &Path, trusted_comment: &str) -> Result<MinisignSignature> {
        Ok(self.sign_prehashed(&blake2b512_file(path)?, trusted_comment))
    }

    fn sign_prehashed(&self, digest: &[u8; 64], trusted_comment: &str) -> MinisignSignature {
        let trusted_comment = trusted_comment.replace(['\n', '\r'], " ");
        let signature = self.key.sign(digest).to_bytes();
        let mut global = signature.to_vec();
        global.extend_from_slice(trusted_comment.as_bytes());
        MinisignSignature {
            untrusted_comment: "signature from boxwright minisign secret key".into(),
            key_id: self.key_id,
            prehashed: true,
            signature,
            trusted_comment,
            global_signature: self.key.sign(&global).to_bytes(),
        }
    }
}

/// The largest scrypt memory a key may ask for: minisign's default, 1 GiB.
const MAX_MEMLIMIT: u64 = 1 << 30;

/// Decrypts the key id, secret key and checksum of an `Sc` key in place: XOR with scrypt
/// (libsodium's `crypto_pwhash_scryptsalsa208sha256`) of the password, salt and limits.
fn decrypt(bytes: &mut [u8], password: &[u8]) -> Result<()> {
    let salt: [u8; 32] = bytes[6..38].try_into().expect("32 bytes");
    let opslimit = u64::from_le_bytes(bytes[38..46].try_into().expect("8 bytes"));
    let memlimit = u64::from_le_bytes(bytes[46..54].try_into().expect("8 bytes"));
    if memlimit > MAX_MEMLIMIT {
        return Err(invalid(
            "minisign secret key",
            format!("scrypt memlimit {memlimit} is above {MAX_MEMLIMIT}"),
        ));
    }
    let (log_n, r, p) = scrypt_parameters(opslimit, memlimit);
    let params = scrypt::Params::new(log_n, r, p)
        .map_err(|e| invalid("minisign secret key", format!("scrypt parameters: {e}")))?;
    let mut stream = Zeroizing::new([0_u8; 104]);
    scrypt::scrypt(password, &salt, &params, stream.as_mut())
        .map_err(|e| invalid("minisign secret key", format!("scrypt: {e}")))?;
    for (byte, mask) in bytes[54..].iter_mut().zip(stream.iter()) {
        *byte ^= mask;
    }
    Ok(())
}

/// libsodium's `pickparams`: scrypt's log2 N, r and p from an opslimit and a memlimit.
fn scrypt_parameters(opslimit: u64, memlimit: u64) -> (u8, u32, u32) {
    let opslimit = opslimit.max(32768);
    let r: u32 = 8;
    let log_n_below = |max_n: u64| {
        (1_u8..63)
            .find(|log_n| (1_u64 << log_n) > max_n / 2)
            .unwrap_or(63)
    };
    if opslimit < memlimit / 32 {
        (log_n_below(opslimit / (u64::from(r) * 4)), r, 1)
    } else {
        let log_n = log_n_below(memlimit / (u64::from(r) * 128));
        let max_rp = ((opslimit / 4) / (1_u64 << log_n)).min(0x3fff_ffff);
        (log_n, r, (max_rp as u32 / r).max(1))
    }
}

/// BLAKE2b-512 of the file at `path`.
pub fn blake2b512_file(path: &Path) -> Result<[u8; 64]> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut hasher = Blake2b512::new();
    let mut buffer = vec![0_u8; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read", path, e)),
        }
    }
}

impl MinisignPublicKey {
    /// A public key file's text, or the base64 line alone (as `minisign -P` takes it).
    pub fn from_text(text: &str) -> Result<MinisignPublicKey> {
        const WHAT: &str = "minisign public key";
        let line = payload_line(text).ok_or_else(|| invalid(WHAT, "no base64 line"))?;
        let bytes = STANDARD
            .decode(line)
            .map_err(|e| invalid(WHAT, format!("not base64: {e}")))?;
        if bytes.len() != PUBLIC_KEY_LEN || &bytes[0..2] != b"Ed" {
            return Err(invalid(
                WHAT,
                format!(
                    "expected {PUBLIC_KEY_LEN} bytes starting with `Ed`, got {}",
                    bytes.len()
                ),
            ));
        }
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&bytes[10..42].try_into().expect("32 bytes"))
                .map_err(|e| invalid(WHAT, e.to_string()))?;
        Ok(MinisignPublicKey {
            key_id: MinisignKeyId(bytes[2..10].try_into().expect("8 bytes")),
            key,
        })
    }

    /// Whether `text` looks like a minisign public key (rather than a PEM one).
    pub fn is_minisign(text: &str) -> bool {
        text.trim_start().starts_with(UNTRUSTED)
            || payload_line(text)
                .and_then(|line| STANDARD.decode(line).ok())
                .is_some_and(|b| b.len() == PUBLIC_KEY_LEN && b.starts_with(b"Ed"))
    }

    /// The public key file.
    pub fn to_text(&self) -> String {
        let mut bytes = Vec::with_capacity(PUBLIC_KEY_LEN);
        bytes.extend_from_slice(b"Ed");
        bytes.extend_from_slice(&self.key_id.0);
        bytes.extend_from_slice(self.key.as_bytes());
        format!(
            "{UNTRUSTED}minisign public key {}\n{}\n",
            self.key_id,
            STANDARD.encode(bytes)
        )
    }

    pub fn key_id(&self) -> MinisignKeyId {
        self.key_id
    }

    /// Checks `signature` of `data`: the key id, the signature, then the trusted comment's.
    pub fn verify(&self, data: &[u8], signature: &MinisignSignature, subject: &str) -> Result<()> {
        if signature.prehashed {
            self.verify_prehashed(&Blake2b512::digest(data).into(), signature, subject)
        } else {
            self.check(data, signature, subject)
        }
    }

    /// [`Self::verify`] of the file at `path`, read as a stream when the signature is `ED`.
    pub fn verify_file(&self, path: &Path, signature: &MinisignSignature) -> Result<()> {
        let subject = path.display().to_string();
        if signature.prehashed {
            self.verify_prehashed(&blake2b512_file(path)?, signature, &subject)
        } else {
            let data = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
            self.check(&data, signature, &subject)
        }
    }

    fn verify_prehashed(
        &self,
        digest: &[u8; 64],
        signature: &MinisignSignature,
        subject: &str,
    ) -> Result<()> {
        self.check(digest, signature, subject)
    }

    fn check(&self, message: &[u8], signature: &MinisignSignature, subject: &str) -> Result<()> {
        if signature.key_id != self.key_id {
            return Err(Error::OtherKey {
                subject: subject.to_string(),
                signed_by: signature.key_id.to_string(),
                key_id: self.key_id.to_string(),
            });
        }
        let mismatch = || Error::SignatureMismatch {
            subject: subject.to_string(),
            key_id: self.key_id.to_string(),
        };
        self.key
            .verify(
                message,
                &ed25519_dalek::Signature::from_bytes(&signature.signature),
            )
            .map_err(|_| mismatch())?;
        let mut global = signature.signature.to_vec();
        global.extend_from_slice(signature.trusted_comment.as_bytes());
        self.key
            .verify(
                &global,
                &ed25519_dalek::Signature::from_bytes(&signature.global_signature),
            )
            .map_err(|_| Error::SignatureMismatch {
                subject: format!("the trusted comment of {subject}'s signature"),
                key_id: self.key_id.to_string(),
            })
    }
}

impl MinisignSignature {
    /// Whether `text` looks like a minisign signature file (rather than cosign's base64).
    pub fn is_minisign(text: &str) -> bool {
        text.trim_start().starts_with(UNTRUSTED)
    }

    /// A signature file's text.
    pub fn parse(text: &str) -> Result<MinisignSignature> {
        let malformed = |reason: &str| Error::MalformedSignature {
            reason: format!("minisign signature: {reason}"),
        };
        let mut lines = text.lines();
        let untrusted_comment = lines
            .next()
            .and_then(|l| l.strip_prefix(UNTRUSTED))
            .ok_or_else(|| malformed("no `untrusted comment:` line"))?
            .to_string();
        let signature = lines
            .next()
            .and_then(|l| STANDARD.decode(l.trim()).ok())
            .filter(|b| b.len() == SIGNATURE_LEN)
            .ok_or_else(|| malformed("the signature line is not base64 of 74 bytes"))?;
        let prehashed = match &signature[0..2] {
            b"ED" => true,
            b"Ed" => false,
            _ => return Err(malformed("unknown signature algorithm")),
        };
        let trusted_comment = lines
            .next()
            .and_then(|l| l.strip_prefix(TRUSTED))
            .ok_or_else(|| malformed("no `trusted comment:` line"))?
            .to_string();
        let global_signature: [u8; 64] = lines
            .next()
            .and_then(|l| STANDARD.decode(l.trim()).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| malformed("the global signature is not base64 of 64 bytes"))?;
        Ok(MinisignSignature {
            untrusted_comment,
            key_id: MinisignKeyId(signature[2..10].try_into().expect("8 bytes")),
            prehashed,
            signature: signature[10..74].try_into().expect("64 bytes"),
            trusted_comment,
            global_signature,
        })
    }

    /// The signature file, as minisign writes it.
    pub fn to_text(&self) -> String {
        let mut bytes = Vec::with_capacity(SIGNATURE_LEN);
        bytes.extend_from_slice(if self.prehashed { b"ED" } else { b"Ed" });
        bytes.extend_from_slice(&self.key_id.0);
        bytes.extend_from_slice(&self.signature);
        format!(
            "{UNTRUSTED}{}\n{}\n{TRUSTED}{}\n{}\n",
            self.untrusted_comment,
            STANDARD.encode(bytes),
            self.trusted_comment,
            STANDARD.encode(self.global_signature)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let key = MinisignSecretKey::generate().unwrap();
        let again = MinisignSecretKey::from_text(&key.to_text()).unwrap();
        assert_eq!(again.key_id(), key.key_id());
        assert_eq!(again.public_key(), key.public_key());
        let public = MinisignPublicKey::from_text(&key.public_key().to_text()).unwrap();
        assert_eq!(public, key.public_key());
        assert!(MinisignPublicKey::is_minisign(&public.to_text()));
        let line = public.to_text().lines().nth(1).unwrap().to_string();
        assert_eq!(MinisignPublicKey::from_text(&line).unwrap(), public);
        assert!(key.to_text().starts_with("untrusted comment: "));
    }

    #[test]
    fn signatures_round_trip_and_verify() {
        let key = MinisignSecretKey::generate().unwrap();
        let signature = key.sign(b"hello", "timestamp:0\tfile:hello");
        let parsed = MinisignSignature::parse(&signature.to_text()).unwrap();
        assert_eq!(parsed, signature);
        assert!(parsed.prehashed);
        assert!(parsed.to_text().lines().nth(1).unwrap().starts_with("RU"));
        let public = key.public_key();
        public.verify(b"hello", &parsed, "hello").unwrap();

        let error = public.verify(b"hellO", &parsed, "hello").unwrap_err();
        assert!(matches!(error, Error::SignatureMismatch { .. }), "{error}");
        let mut tampered = parsed.clone();
        tampered.trusted_comment = "timestamp:1\tfile:hello".into();
        let error = public.verify(b"hello", &tampered, "hello").unwrap_err();
        assert!(error.to_string().contains("trusted comment"), "{error}");

        let other = MinisignSecretKey::generate().unwrap().public_key();
        let error = other.verify(b"hello", &parsed, "hello").unwrap_err();
        assert!(matches!(error, Error::OtherKey { .. }), "{error}");
        assert!(error.is_verification_failure());
    }

    #[test]
    fn file_signatures_equal_data_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, b"contents").unwrap();
        let key = MinisignSecretKey::generate().unwrap();
        let from_file = key.sign_file(&path, "t").unwrap();
        assert_eq!(from_file, key.sign(b"contents", "t"));
        key.public_key().verify_file(&path, &from_file).unwrap();
    }

    #[test]
    fn refuses_encrypted_and_corrupt_keys() {
        let key = MinisignSecretKey::generate().unwrap();
        let text = key.to_text();
        let line = text.lines().nth(1).unwrap();
        let mut bytes = STANDARD.decode(line).unwrap();
        bytes[2..4].copy_from_slice(b"Sc");
        let error = MinisignSecretKey::from_text(&STANDARD.encode(&bytes)).unwrap_err();
        assert!(matches!(error, Error::PasswordRequired), "{error}");
        // Cheap limits; a password that does not open it fails the checksum.
        bytes[38..46].copy_from_slice(&32768_u64.to_le_bytes());
        bytes[46..54].copy_from_slice(&(1_u64 << 20).to_le_bytes());
        let error =
            MinisignSecretKey::from_text_with_password(&STANDARD.encode(&bytes), Some(b"pw"))
                .unwrap_err();
        assert!(matches!(error, Error::WrongPassword), "{error}");
        bytes[2..4].copy_from_slice(&[0, 0]);
        bytes[100] ^= 1;
        let error = MinisignSecretKey::from_text(&STANDARD.encode(&bytes)).unwrap_err();
        assert!(error.to_string().contains("checksum"), "{error}");
    }

    #[test]
    fn scrypt_parameters_are_libsodiums() {
        // minisign's defaults (OPSLIMIT_SENSITIVE, MEMLIMIT_SENSITIVE): N = 2^20, r = 8, p = 1.
        assert_eq!(scrypt_parameters(33_554_432, 1_073_741_824), (20, 8, 1));
        // Interactive limits: N = 2^14.
        assert_eq!(scrypt_parameters(524_288, 16_777_216), (14, 8, 1));
    }

    #[test]
    fn key_ids_print_as_minisign_does() {
        let id = MinisignKeyId([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
        assert_eq!(id.to_string(), "0123456789ABCDEF");
    }
}
