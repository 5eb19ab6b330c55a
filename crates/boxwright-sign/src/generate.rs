//! New key pairs in every format boxwright signs with, named as each tool expects.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::minisign::MinisignSecretKey;
use crate::{Error, Result, SigningKey, Zeroizing};

/// The kinds of key pairs boxwright makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// ECDSA P-256 in cosign's encrypted private key file and a PEM public key.
    Cosign,
    /// Ed25519 in minisign's files (the secret key unencrypted, as `minisign -G -W` does).
    Minisign,
    /// RSA for apk: `PREFIX.rsa` and `PREFIX.rsa.pub`, unencrypted PEM.
    Rsa,
    /// OpenPGP (v4 Ed25519) for apt: armored, the secret key unencrypted.
    OpenPgp,
}

impl KeyFormat {
    /// The format's name in reports (`cosign`, `minisign`, `rsa`, `openpgp`).
    pub fn name(self) -> &'static str {
        match self {
            KeyFormat::Cosign => "cosign",
            KeyFormat::Minisign => "minisign",
            KeyFormat::Rsa => "rsa",
            KeyFormat::OpenPgp => "openpgp",
        }
    }

    /// The private and public key files of `prefix`: `PREFIX.key` and `PREFIX.pub`, or
    /// abuild's `PREFIX.rsa` and `PREFIX.rsa.pub` for RSA.
    pub fn paths(self, prefix: &Path) -> (PathBuf, PathBuf) {
        let (private, public) = match self {
            KeyFormat::Rsa => (".rsa", ".rsa.pub"),
            _ => (".key", ".pub"),
        };
        (with_suffix(prefix, private), with_suffix(prefix, public))
    }

    /// What to call the keys when a password is refused (all but cosign keys are unencrypted).
    fn unencrypted(self) -> Option<&'static str> {
        match self {
            KeyFormat::Cosign => None,
            KeyFormat::Minisign => Some("minisign keys"),
            KeyFormat::Rsa => Some("RSA keys for apk"),
            KeyFormat::OpenPgp => Some("OpenPGP keys for apt"),
        }
    }
}

/// What a new key pair needs besides its format.
#[derive(Debug, Clone, Copy)]
pub struct KeyRequest<'a> {
    pub format: KeyFormat,
    /// The password given for the private key; only cosign keys take one (none: the empty
    /// password, as cosign does).
    pub password: Option<&'a [u8]>,
    /// The files are `PREFIX` plus the format's suffixes ([`KeyFormat::paths`]).
    pub prefix: &'a Path,
    /// RSA key size in bits.
    pub rsa_bits: usize,
    /// The user ID of an OpenPGP key (`Name <email>`).
    pub user_id: &'a str,
}

/// A new key pair, ready to be written with [`crate::files::write_key_files`].
#[derive(Debug)]
pub struct KeyPair {
    pub format: KeyFormat,
    pub private: Zeroizing<Vec<u8>>,
    pub public: Vec<u8>,
    pub private_path: PathBuf,
    pub public_path: PathBuf,
    /// The key id: cosign's and minisign's ids, the OpenPGP fingerprint, or for RSA the public
    /// key file's name (apk finds keys by it).
    pub key_id: String,
    /// Whether the private key opens without a password (always, but for cosign keys given
    /// a non-empty password).
    pub empty_password: bool,
}

impl KeyPair {
    /// Generates the key pair of `request`; a password for any format but cosign is refused.
    pub fn generate(request: &KeyRequest<'_>) -> Result<KeyPair> {
        let format = request.format;
        if let (Some(keys), Some(_)) = (format.unencrypted(), request.password) {
            return Err(Error::Unencrypted { keys });
        }
        let (private_path, public_path) = format.paths(request.prefix);
        let (private, public, key_id) = match format {
            KeyFormat::Cosign => {
                let key = SigningKey::generate()?;
                let private = key.to_cosign_pem(request.password.unwrap_or_default())?;
                let public = key.verifying_key();
                (
                    bytes(&private),
                    public.to_pem(),
                    public.key_id().to_string(),
                )
            }
            KeyFormat::Minisign => {
                let key = MinisignSecretKey::generate()?;
                let public = key.public_key().to_text();
                (bytes(&key.to_text()), public, key.key_id().to_string())
            }
            KeyFormat::Rsa => {
                let (private, public) = crate::rsa::generate(request.rsa_bits)?;
                let name = public_path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                (bytes(&private), public, name.unwrap_or_default())
            }
            KeyFormat::OpenPgp => {
                let (secret, public) = crate::openpgp::generate(request.user_id)?;
                let key = crate::openpgp::OpenPgpSigningKey::from_armored(&secret)?;
                (bytes(&secret), public, key.fingerprint())
            }
        };
        Ok(KeyPair {
            format,
            private,
            public: public.into_bytes(),
            private_path,
            public_path,
            key_id,
            empty_password: request.password.is_none_or(<[u8]>::is_empty),
        })
    }
}

fn bytes(text: &str) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(text.as_bytes().to_vec())
}

/// `PREFIX` + `suffix`, for prefixes that are not UTF-8 too.
fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut path = OsString::from(prefix.as_os_str());
    path.push(suffix);
    PathBuf::from(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(format: KeyFormat, password: Option<&[u8]>) -> KeyRequest<'_> {
        KeyRequest {
            format,
            password,
            prefix: Path::new("/keys/release"),
            rsa_bits: 4096,
            user_id: "Release <release@example.org>",
        }
    }

    #[test]
    fn rsa_keys_take_abuild_names_and_others_key_and_pub() {
        let rsa = KeyFormat::Rsa.paths(Path::new("/k/a"));
        assert_eq!(rsa, ("/k/a.rsa".into(), "/k/a.rsa.pub".into()));
        let cosign = KeyFormat::Cosign.paths(Path::new("/k/a"));
        assert_eq!(cosign, ("/k/a.key".into(), "/k/a.pub".into()));
    }

    #[test]
    fn only_cosign_keys_take_a_password() {
        for format in [KeyFormat::Minisign, KeyFormat::Rsa, KeyFormat::OpenPgp] {
            let error = KeyPair::generate(&request(format, Some(b"secret"))).unwrap_err();
            assert!(matches!(error, Error::Unencrypted { .. }), "{error}");
        }
    }

    #[test]
    fn a_cosign_key_opens_with_its_password_and_reports_it_is_not_empty() {
        let pair = KeyPair::generate(&request(KeyFormat::Cosign, Some(b"pw"))).unwrap();
        assert!(!pair.empty_password);
        let key =
            SigningKey::from_pem(std::str::from_utf8(&pair.private).unwrap(), Some(b"pw")).unwrap();
        assert_eq!(key.verifying_key().key_id().to_string(), pair.key_id);
        assert_eq!(pair.private_path, Path::new("/keys/release.key"));
    }

    #[test]
    fn a_minisign_key_reports_its_key_id_in_the_public_file() {
        let pair = KeyPair::generate(&request(KeyFormat::Minisign, None)).unwrap();
        assert!(pair.empty_password);
        let public = crate::minisign::MinisignPublicKey::from_text(
            std::str::from_utf8(&pair.public).unwrap(),
        )
        .unwrap();
        assert_eq!(public.key_id().to_string(), pair.key_id);
    }
}
