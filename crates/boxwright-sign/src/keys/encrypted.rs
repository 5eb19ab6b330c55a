//! cosign's password-protected private key: the PEM body is JSON (go-securesystemslib's
//! `encrypted` format) holding the PKCS#8 DER of the key sealed with NaCl secretbox
//! (XSalsa20-Poly1305) under a key derived from the password with scrypt:
//!
//! ```json
//! {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<base64, 32 bytes>"},
//!  "cipher":{"name":"nacl/secretbox","nonce":"<base64, 24 bytes>"},
//!  "ciphertext":"<base64: 16-byte Poly1305 tag, then the encrypted PKCS#8 DER>"}
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// scrypt cost written into new keys: cosign's (go-securesystemslib's "standard") N = 2^16.
const WRITE_LOG_N: u8 = 16;
const WRITE_R: u32 = 8;
const WRITE_P: u32 = 1;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// Loading accepts other parameters, bounded so a hostile file cannot ask for unbounded
/// memory or time: scrypt needs 128 * N * r bytes.
const MAX_SCRYPT_MEMORY: u64 = 256 << 20;
const MAX_LOG_N: u32 = 20;
const MAX_R: u32 = 32;
const MAX_P: u32 = 4;

const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";

// Field order is cosign's (Go writes struct fields in declaration order).
#[derive(Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Seals `plaintext` (a PKCS#8 DER key) under `password`: the JSON body of the PEM block.
pub(crate) fn seal(plaintext: &[u8], password: &[u8]) -> Result<Vec<u8>> {
    let mut salt = [0_u8; SALT_LEN];
    let mut nonce = [0_u8; NONCE_LEN];
    crate::keys::random(&mut salt)?;
    crate::keys::random(&mut nonce)?;
    let params = scrypt::Params::new(WRITE_LOG_N, WRITE_R, WRITE_P)
        .expect("cosign's scrypt parameters are valid");
    let key = derive(password, &salt, &params);
    let ciphertext = XSalsa20Poly1305::new(&key)
        .encrypt(&Nonce::from(nonce), plaintext)
        .expect("secretbox encryption of a small buffer cannot fail");
    let envelope = Envelope {
        kdf: Kdf {
            name: KDF_NAME.into(),
            params: ScryptParams {
                n: 1 << WRITE_LOG_N,
                r: WRITE_R,
                p: WRITE_P,
            },
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_NAME.into(),
            nonce: STANDARD.encode(nonce),
        },
        ciphertext: STANDARD.encode(ciphertext),
    };
    Ok(serde_json::to_vec(&envelope).expect("the envelope serialises"))
}

/// Opens the JSON body of a cosign encrypted key: the PKCS#8 DER inside.
pub(crate) fn open(body: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let malformed = |reason: String| Error::MalformedEncryptedKey { reason };
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| malformed(format!("not cosign's JSON: {e}")))?;
    if envelope.kdf.name != KDF_NAME {
        return Err(malformed(format!(
            "key derivation `{}` (only {KDF_NAME} is known)",
            envelope.kdf.name
        )));
    }
    if envelope.cipher.name != CIPHER_NAME {
        return Err(malformed(format!(
            "cipher `{}` (only {CIPHER_NAME} is known)",
            envelope.cipher.name
        )));
    }
    let params = scrypt_params(&envelope.kdf.params).map_err(|e| malformed(e.to_string()))?;
    let decode = |field: &str, text: &str| {
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| malformed(format!("{field} is not base64: {e}")))
    };
    let salt = decode("kdf.salt", &envelope.kdf.salt)?;
    let nonce: [u8; NONCE_LEN] = decode("cipher.nonce", &envelope.cipher.nonce)?
        .try_into()
        .map_err(|n: Vec<u8>| {
            malformed(format!(
                "cipher.nonce has {} bytes, not {NONCE_LEN}",
                n.len()
            ))
        })?;
    let ciphertext = decode("ciphertext", &envelope.ciphertext)?;
    let key = derive(password, &salt, &params);
    XSalsa20Poly1305::new(&key)
        .decrypt(&Nonce::from(nonce), ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| Error::WrongPassword)
}

/// Why an envelope's scrypt parameters are refused.
#[derive(Debug, thiserror::Error)]
enum ScryptParamsError {
    /// N is not a power of two in the accepted range.
    #[error("scrypt N = {n} (a power of two up to 2^{MAX_LOG_N} is accepted)")]
    LogN { n: u64 },
    /// r or p is out of range.
    #[error("scrypt r = {r}, p = {p} (accepted: r 1 to {MAX_R}, p 1 to {MAX_P})")]
    CostFactors { r: u32, p: u32 },
    /// N and r together would need too much memory.
    #[error("scrypt N = {n}, r = {r} would need more than {} MiB", MAX_SCRYPT_MEMORY >> 20)]
    Memory { n: u64, r: u32 },
    /// The scrypt crate refused the parameters.
    #[error("scrypt parameters: {0}")]
    Refused(#[source] scrypt::errors::InvalidParams),
}

fn scrypt_params(params: &ScryptParams) -> std::result::Result<scrypt::Params, ScryptParamsError> {
    let n = params.n;
    if !n.is_power_of_two() || n < 2 || n.trailing_zeros() > MAX_LOG_N {
        return Err(ScryptParamsError::LogN { n });
    }
    if params.r == 0 || params.r > MAX_R || params.p == 0 || params.p > MAX_P {
        return Err(ScryptParamsError::CostFactors {
            r: params.r,
            p: params.p,
        });
    }
    if 128 * n * u64::from(params.r) > MAX_SCRYPT_MEMORY {
        return Err(ScryptParamsError::Memory { n, r: params.r });
    }
    let log_n = u8::try_from(n.trailing_zeros()).expect("at most 20");
    scrypt::Params::new(log_n, params.r, params.p).map_err(ScryptParamsError::Refused)
}

fn derive(password: &[u8], salt: &[u8], params: &scrypt::Params) -> Key {
    let mut key = Key::default();
    scrypt::scrypt(password, salt, params, &mut key).expect("a 32-byte output is valid");
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open() {
        let sealed = seal(b"pkcs8 bytes", b"pw").unwrap();
        let json: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        assert_eq!(json["kdf"]["name"], "scrypt");
        assert_eq!(json["kdf"]["params"]["N"], 65536);
        assert_eq!(json["kdf"]["params"]["r"], 8);
        assert_eq!(json["kdf"]["params"]["p"], 1);
        assert_eq!(json["cipher"]["name"], "nacl/secretbox");
        assert_eq!(
            STANDARD
                .decode(json["kdf"]["salt"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        // Key order as cosign writes it.
        let text = String::from_utf8(sealed.clone()).unwrap();
        assert!(
            text.starts_with(
                r#"{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":""#
            )
        );
        assert_eq!(*open(&sealed, b"pw").unwrap(), b"pkcs8 bytes");
        assert!(matches!(open(&sealed, b"other"), Err(Error::WrongPassword)));
    }

    #[test]
    fn unbounded_or_unknown_parameters_are_refused() {
        let sealed = seal(b"x", b"").unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        for (pointer, value) in [
            ("/kdf/params/N", serde_json::json!(1_u64 << 30)),
            ("/kdf/params/N", serde_json::json!(1000)),
            ("/kdf/params/r", serde_json::json!(0)),
            ("/kdf/params/p", serde_json::json!(99)),
            ("/kdf/name", serde_json::json!("argon2")),
            ("/cipher/name", serde_json::json!("aes")),
            ("/cipher/nonce", serde_json::json!("AAAA")),
            ("/ciphertext", serde_json::json!("***")),
        ] {
            let mut changed = json.clone();
            *changed.pointer_mut(pointer).unwrap() = value.clone();
            let body = serde_json::to_vec(&changed).unwrap();
            assert!(
                matches!(open(&body, b""), Err(Error::MalformedEncryptedKey { .. })),
                "{pointer} = {value}"
            );
        }
        // A tampered ciphertext fails like a wrong password: secretbox cannot tell them apart.
        let ciphertext = json["ciphertext"].as_str().unwrap();
        let mut bytes = STANDARD.decode(ciphertext).unwrap();
        bytes[0] ^= 1;
        json["ciphertext"] = STANDARD.encode(bytes).into();
        let body = serde_json::to_vec(&json).unwrap();
        assert!(matches!(open(&body, b""), Err(Error::WrongPassword)));
    }
}
