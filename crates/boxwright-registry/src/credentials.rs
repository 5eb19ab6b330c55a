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

impl AuthLocations {
    /// The file `login` writes: `registry_auth_file`, else `docker_config/config.json`, else
    /// `home/.docker/config.json` (whether it exists or not); `None` without any of them.
    pub fn login_file(&self) -> Option<PathBuf> {
        self.registry_auth_file
            .clone()
            .or_else(|| self.docker_config.as_ref().map(|d| d.join("config.json")))
            .or_else(|| self.home.as_ref().map(|h| h.join(".docker/config.json")))
    }
}

/// Stores `credentials` for `registry` in the credentials file at `path` as
/// `auths.<host>.auth` (base64 of `user:password`), replacing any other entry for the same
/// host and keeping every other key of the file. The file is replaced atomically, mode 0600.
pub fn store_credentials(
    path: &Path,
    registry: &str,
    credentials: &Credentials,
) -> Result<(), Error> {
    let mut file = read_json(path)?;
    let auths = auths_of(&mut file, path)?;
    let host = normalise_key(registry);
    auths.retain(|key, _| normalise_key(key) != host);
    let key = if host == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        host
    };
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", credentials.username, credentials.password));
    auths.insert(key, serde_json::json!({ "auth": auth }));
    write_json(path, &file)
}

/// Removes every `auths` entry for `registry` from the credentials file at `path`; `false`
/// when there was none (the file is then left alone).
pub fn forget_credentials(path: &Path, registry: &str) -> Result<bool, Error> {
    if !path.is_file() {
        return Ok(false);
    }
    let mut file = read_json(path)?;
    let auths = auths_of(&mut file, path)?;
    let host = normalise_key(registry);
    let before = auths.len();
    auths.retain(|key, _| normalise_key(key) != host);
    if auths.len() == before {
        return Ok(false);
    }
    write_json(path, &file)?;
    Ok(true)
}

/// The file's JSON object; an empty one when the file does not exist.
fn read_json(path: &Path) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(serde_json::Map::new()),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| Error::Credentials {
        path: path.to_path_buf(),
        message: format!("not a credentials file (a JSON object): {e}"),
    })
}

/// The `auths` object of a credentials file, created when missing.
fn auths_of<'a>(
    file: &'a mut serde_json::Map<String, serde_json::Value>,
    path: &Path,
) -> Result<&'a mut serde_json::Map<String, serde_json::Value>, Error> {
    file.entry("auths")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()))
        .as_object_mut()
        .ok_or_else(|| Error::Credentials {
            path: path.to_path_buf(),
            message: "`auths` is not an object".into(),
        })
}

/// Writes the file through a temporary file beside it, mode 0600, renamed into place.
fn write_json(path: &Path, file: &serde_json::Map<String, serde_json::Value>) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".boxwright-auth")
        .tempfile_in(dir)
        .map_err(failed)?;
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(failed)?;
    let mut text = serde_json::to_vec_pretty(file).expect("JSON values serialise");
    text.push(b'\n');
    temp.write_all(&text).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
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
    fn store_and_forget_keep_the_other_keys() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker/config.json");
        let alice = Credentials {
            username: "alice".into(),
            password: "s3cr:et".into(),
        };
        // A new file in a new directory.
        store_credentials(&path, "r.example:5000", &alice).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let found = AuthFile::load(&path)
            .unwrap()
            .lookup("r.example:5000")
            .unwrap();
        assert_eq!(found.unwrap().password, "s3cr:et");

        // Other keys and hosts stay; an old entry for the host written as a URL goes.
        std::fs::write(
            &path,
            r#"{"auths": {"https://r.example:5000/v1/": {"auth": "eDp5"}, "o.example": {"auth": "eDp5"}},
                "credHelpers": {"g.example": "gcloud"}, "psFormat": "table"}"#,
        )
        .unwrap();
        store_credentials(&path, "R.example:5000", &alice).unwrap();
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(value["psFormat"], "table");
        assert_eq!(value["credHelpers"]["g.example"], "gcloud");
        let keys: Vec<&String> = value["auths"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["o.example", "r.example:5000"]);

        assert!(forget_credentials(&path, "r.example:5000").unwrap());
        assert!(!forget_credentials(&path, "r.example:5000").unwrap());
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(value["auths"].as_object().unwrap().len(), 1);
        assert_eq!(value["psFormat"], "table");
        assert!(!forget_credentials(&dir.path().join("none.json"), "r.example").unwrap());
    }

    #[test]
    fn login_file_order() {
        let all = AuthLocations {
            registry_auth_file: Some("/a/auth.json".into()),
            docker_config: Some("/d".into()),
            home: Some("/h".into()),
        };
        assert_eq!(all.login_file(), Some(PathBuf::from("/a/auth.json")));
        let no_file = AuthLocations {
            registry_auth_file: None,
            ..all.clone()
        };
        assert_eq!(no_file.login_file(), Some(PathBuf::from("/d/config.json")));
        let home = AuthLocations {
            home: Some("/h".into()),
            ..AuthLocations::default()
        };
        assert_eq!(
            home.login_file(),
            Some(PathBuf::from("/h/.docker/config.json"))
        );
        assert_eq!(AuthLocations::default().login_file(), None);
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
