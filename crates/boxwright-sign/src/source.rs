//! Where keys and their passwords come from: a file, or a CI secret variable holding the PEM
//! text itself (`env://NAME`), and `COSIGN_PASSWORD`.

use std::ffi::OsString;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};

/// The variable cosign (and boxwright) read a private key's password from.
pub const PASSWORD_ENV: &str = "COSIGN_PASSWORD";

const ENV_SCHEME: &str = "env://";

/// A key named on the command line: `env://NAME` (the variable holds the PEM text, as a CI
/// secret does) or a file path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Env(String),
    Path(PathBuf),
}

impl KeySource {
    /// `env://NAME` or a path.
    pub fn parse(text: &str) -> KeySource {
        match text.strip_prefix(ENV_SCHEME) {
            Some(name) => KeySource::Env(name.to_string()),
            None => KeySource::Path(PathBuf::from(text)),
        }
    }

    /// The PEM text, environment variables read from the process environment.
    pub fn read(&self) -> Result<Zeroizing<String>> {
        self.read_with(&|name| std::env::var_os(name))
    }

    /// The PEM text, environment variables read through `env` (for tests and callers that
    /// hold their own environment).
    pub fn read_with(&self, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Zeroizing<String>> {
        match self {
            KeySource::Env(name) => env(name)
                .filter(|_| !name.is_empty())
                .and_then(|value| value.into_string().ok())
                .map(Zeroizing::new)
                .ok_or_else(|| Error::EnvNotSet { name: name.clone() }),
            KeySource::Path(path) => std::fs::read_to_string(path)
                .map(Zeroizing::new)
                .map_err(|e| Error::io("read", path, e)),
        }
    }

    /// Loads a private key (see [`SigningKey::from_pem`] for the password rules).
    pub fn signing_key(&self, password: Option<&[u8]>) -> Result<SigningKey> {
        SigningKey::from_pem(&self.read()?, password)
    }

    /// Loads a public key.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        VerifyingKey::from_pem(&self.read()?)
    }
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env(name) => write!(f, "{ENV_SCHEME}{name}"),
            KeySource::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The password to use: `explicit` when given (read by the binary from `--key-password-stdin`),
/// else `COSIGN_PASSWORD` when set (it may be empty), else none.
pub fn password(explicit: Option<Zeroizing<Vec<u8>>>) -> Option<Zeroizing<Vec<u8>>> {
    password_with(explicit, &|name| std::env::var_os(name))
}

/// [`password`] with the environment read through `env`.
pub fn password_with(
    explicit: Option<Zeroizing<Vec<u8>>>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Option<Zeroizing<Vec<u8>>> {
    explicit.or_else(|| env(PASSWORD_ENV).map(|value| Zeroizing::new(value.into_encoded_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn parses_env_and_paths() {
        assert_eq!(
            KeySource::parse("env://SIGNING_KEY"),
            KeySource::Env("SIGNING_KEY".into())
        );
        assert_eq!(
            KeySource::parse("keys/cosign.key"),
            KeySource::Path("keys/cosign.key".into())
        );
        assert_eq!(KeySource::parse("env://X").to_string(), "env://X");
    }

    #[test]
    fn reads_the_variable_or_says_it_is_missing() {
        let env = env(&[("KEY", "-----BEGIN PUBLIC KEY-----")]);
        assert_eq!(
            *KeySource::parse("env://KEY").read_with(&env).unwrap(),
            "-----BEGIN PUBLIC KEY-----"
        );
        let error = KeySource::parse("env://MISSING")
            .read_with(&env)
            .unwrap_err();
        assert!(error.to_string().contains("MISSING"), "{error}");
        assert!(matches!(
            KeySource::parse("env://").read_with(&env),
            Err(Error::EnvNotSet { .. })
        ));
    }

    #[test]
    fn missing_file_names_the_path() {
        let error = KeySource::parse("/nonexistent/cosign.key")
            .read()
            .unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/cosign.key"),
            "{error}"
        );
    }

    #[test]
    fn explicit_password_wins_over_the_environment() {
        let env = env(&[(PASSWORD_ENV, "from-env")]);
        let explicit = Some(Zeroizing::new(b"stdin".to_vec()));
        assert_eq!(password_with(explicit, &env).unwrap().as_slice(), b"stdin");
        assert_eq!(password_with(None, &env).unwrap().as_slice(), b"from-env");
        let empty = self::env(&[(PASSWORD_ENV, "")]);
        assert_eq!(password_with(None, &empty).unwrap().as_slice(), b"");
        assert!(password_with(None, &self::env(&[])).is_none());
    }
}
