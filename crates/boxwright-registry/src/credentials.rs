//! Registry credentials from the files container tools already keep: the `auths` map of
//! Docker's `config.json` (and of the containers `auth.json`, which has the same shape),
//! including `credsStore` and `credHelpers` credential helpers.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde::Deserialize;

use crate::{Credentials, Error};

/// One file's credentials, looked up by registry host.
#[derive(Debug, Clone, Default)]
pub struct AuthFile {
    pub path: PathBuf,
    auths: BTreeMap<String, AuthEntry>,
    creds_store: Option<String>,
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

/// What a credential helper prints for `get`.
#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// Where credentials files may be, as the caller's environment says (the binary reads
/// `REGISTRY_AUTH_FILE`, `DOCKER_CONFIG` and `HOME`).
#[derive(Debug, Clone, Default)]
pub struct AuthLocations {
    /// `$REGISTRY_AUTH_FILE`: a credentials file (podman, skopeo).
    pub registry_auth_file: Option<PathBuf>,
    /// `$DOCKER_CONFIG`: a directory holding `config.json`.
    pub docker_config: Option<PathBuf>,
    /// The home directory, holding `.docker/config.json`.
    pub home: Option<PathBuf>,
}

impl AuthFile {
    /// The first of `registry_auth_file`, `docker_config/config.json` and
    /// `home/.docker/config.json` that exists, parsed; `None` when there is none.
    pub fn discover(locations: &AuthLocations) -> Result<Option<AuthFile>, Error> {
        let candidates = [
            locations.registry_auth_file.clone(),
            locations
                .docker_config
                .as_ref()
                .map(|d| d.join("config.json")),
            locations
                .home
                .as_ref()
                .map(|h| h.join(".docker/config.json")),
        ];
        for path in candidates.into_iter().flatten() {
            if path.is_file() {
                return AuthFile::load(&path).map(Some);
            }
        }
        Ok(None)
    }

    /// Parses one `config.json` / `auth.json`.
    pub fn load(path: &Path) -> Result<AuthFile, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let raw: RawFile = serde_json::from_slice(&bytes).map_err(|e| Error::Credentials {
            path: path.to_path_buf(),
            message: format!("not a credentials file: {e}"),
        })?;
        Ok(AuthFile {
            path: path.to_path_buf(),
            auths: raw
                .auths
                .into_iter()
                .map(|(key, entry)| (normalise_key(&key), entry))
                .collect(),
            creds_store: raw.creds_store.filter(|s| !s.is_empty()),
            cred_helpers: raw
                .cred_helpers
                .into_iter()
                .map(|(key, helper)| (normalise_key(&key), helper))
                .collect(),
        })
    }

    /// The credentials stored for `registry` (`host[:port]`), if any.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credentials>, Error> {
        let key = normalise_key(registry);
        if let Some(helper) = self.cred_helpers.get(&key) {
            return self.run_helper(helper, registry);
        }
        if let Some(entry) = self.auths.get(&key)
            && let Some(credentials) = self.decode(&key, entry)?
        {
            return Ok(Some(credentials));
        }
        match &self.creds_store {
            Some(store) => self.run_helper(store, registry),
            None => Ok(None),
        }
    }

    fn decode(&self, key: &str, entry: &AuthEntry) -> Result<Option<Credentials>, Error> {
        if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
            return Ok(Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            }));
        }
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let bad = |why: &str| Error::Credentials {
                path: self.path.clone(),
                message: format!("auths.\"{key}\".auth {why}"),
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad("is not base64"))?;
            let text = String::from_utf8(decoded).map_err(|_| bad("is not UTF-8"))?;
            let (username, password) = text
                .split_once(':')
                .ok_or_else(|| bad("is not base64 of USER:PASSWORD"))?;
            return Ok(Some(Credentials {
                username: username.to_string(),
                password: password.to_string(),
            }));
        }
        if entry.identitytoken.is_some() {
            return Err(Error::Credentials {
                path: self.path.clone(),
                message: format!(
                    "auths.\"{key}\" holds an identity token, which boxwright does not use: log in with a user name and password, or pass --registry-username"
                ),
            });
        }
        Ok(None)
    }

    /// `docker-credential-<helper> get`, with the registry on stdin.
    fn run_helper(&self, helper: &str, registry: &str) -> Result<Option<Credentials>, Error> {
        let program = format!("docker-credential-{helper}");
        let failed = |message: String| Error::Credentials {
            path: self.path.clone(),
            message: format!("credential helper {program}: {message}"),
        };
        let mut child = Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("cannot run it ({e})")))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(registry.as_bytes())
                .map_err(|e| failed(e.to_string()))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| failed(e.to_string()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            // Helpers answer "credentials not found in native keychain" for unknown hosts.
            if stdout.contains("not found") {
                return Ok(None);
            }
            return Err(failed(format!(
                "exit {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
            .map_err(|e| failed(format!("unexpected answer: {e}")))?;
        Ok(Some(Credentials {
            username: answer.username,
            password: answer.secret,
        }))
    }
}

/// `host[:port]` of an `auths` key: keys may carry a scheme and a path
/// (`https://host/v1/`), and Docker's own registry has several names (its `auths` key is
/// `https://index.docker.io/v1/`).
fn normalise_key(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_string(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_file(json: &str) -> (tempfile::TempDir, AuthFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        let file = AuthFile::load(&path).unwrap();
        (dir, file)
    }

    #[test]
    fn auth_entries_by_host() {
        // "alice:s3cr:et" and "bob:pw"
        let (_dir, file) = auth_file(
            r#"{"auths": {
                "registry.example:5000": {"auth": "YWxpY2U6czNjcjpldA=="},
                "https://other.example/v1/": {"username": "bob", "password": "pw"},
                "https://index.docker.io/v1/": {"auth": "Ym9iOnB3"},
                "empty.example": {}
            }}"#,
        );
        let alice = file.lookup("registry.example:5000").unwrap().unwrap();
        assert_eq!(
            (alice.username.as_str(), alice.password.as_str()),
            ("alice", "s3cr:et")
        );
        assert_eq!(
            file.lookup("other.example").unwrap().unwrap().username,
            "bob"
        );
        assert_eq!(
            file.lookup("registry-1.docker.io")
                .unwrap()
                .unwrap()
                .username,
            "bob"
        );
        assert!(file.lookup("registry.example").unwrap().is_none());
        assert!(file.lookup("empty.example").unwrap().is_none());
    }

    #[test]
    fn bad_entries_name_the_file_and_key() {
        let (_dir, file) = auth_file(r#"{"auths": {"r.example": {"auth": "%%%"}}}"#);
        let message = file.lookup("r.example").unwrap_err().to_string();
        assert!(message.contains("config.json"), "{message}");
        assert!(message.contains("auths.\"r.example\".auth"), "{message}");

        let (_dir, file) = auth_file(r#"{"auths": {"r.example": {"identitytoken": "x"}}}"#);
        assert!(
            file.lookup("r.example")
                .unwrap_err()
                .to_string()
                .contains("identity token")
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{").unwrap();
        assert!(
            AuthFile::load(&path)
                .unwrap_err()
                .to_string()
                .contains("config.json")
        );
    }

    #[test]
    fn missing_helper_is_a_clear_error() {
        let (_dir, file) =
            auth_file(r#"{"credHelpers": {"r.example": "boxwright-no-such-helper"}}"#);
        let message = file.lookup("r.example").unwrap_err().to_string();
        assert!(
            message.contains("docker-credential-boxwright-no-such-helper"),
            "{message}"
        );
    }
}
