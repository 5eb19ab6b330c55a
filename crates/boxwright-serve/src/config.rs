//! `repo.yaml`: seed 003's reposerve configuration plus boxwright's keys.
//!
//! ```yaml
//! dir: /srv/packages
//! addr: 127.0.0.1:8080
//! tls: { crt: tls.crt, key: tls.key }
//! jwt:
//!   jwks: https://gitlab.example.com/-/jwks
//!   claims: { iss: gitlab.example.com, ref_protected: 'true', ref_type: tag }
//!   issuer: gitlab.example.com                 # optional, the same as claims.iss
//!   audience: https://packages.example.com     # optional
//!   algorithms: [RS256, ES256, EdDSA]          # the default
//!   refresh_interval: 10                       # seconds between JWKS fetches for unknown kids
//! keys: { apk: keys/repo.rsa, apt: keys/repo.key }
//! apt: { origin: Example, label: Example }
//! limits:
//!   max_body: 1G           # largest upload body (bytes, K, M, G)
//!   max_files: 64          # files in one upload
//!   max_connections: 256   # connections served at once; more wait in the listen queue
//!   body_timeout: 60       # seconds an upload body may stall before it is answered 408
//!   max_unpacked: 16G      # what one package unpacks to (see below)
//!   max_ratio: 100         # unpacked bytes per byte of the package file
//! ```
//!
//! `limits`: `max_body` bounds a request body, `max_files` the files of one upload;
//! `max_unpacked` (a size like `max_body`, default 16 GiB) bounds what one package's
//! compressed members unpack to, and `max_ratio` (default 100) what they unpack to per byte
//! of the package file (checked past the first 16 MiB). Both also bound the server's reads of
//! packages already in the tree when it reindexes. Tar header records (long names and links,
//! pax headers) are bounded to 1 MiB per entry whatever the configuration.
//!
//! Unknown keys are errors naming the key and the file; relative paths are resolved against
//! the file's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use boxwright_package::ReadLimits;
use serde::Deserialize;

use crate::Error;

/// The default address when neither the file nor `--addr` gives one.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Default largest upload body: 1 GiB.
pub const DEFAULT_MAX_BODY: u64 = 1 << 30;
/// Default most files in one upload.
pub const DEFAULT_MAX_FILES: usize = 64;
/// Default most connections served at once: with a socket and a staging file each, well
/// within the usual 1024 open files.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default longest wait for the next bytes of an upload body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Default least time between two JWKS fetches caused by unknown key ids.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// The loaded configuration, paths absolute.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Root of the repository tree.
    pub dir: PathBuf,
    /// `host:port` to listen on.
    pub addr: String,
    pub tls: Option<TlsConfig>,
    /// Upload authorisation; `None` leaves uploads open.
    pub jwt: Option<JwtConfig>,
    /// Private key of apk indexes (RSA PEM).
    pub apk_key: Option<PathBuf>,
    /// Private key of apt indexes (OpenPGP).
    pub apt_key: Option<PathBuf>,
    pub apt_origin: String,
    pub apt_label: String,
    pub limits: Limits,
    /// The time written into indexes, from `SOURCE_DATE_EPOCH` (set by the caller, not in
    /// `repo.yaml`); `None`: the newest package's time.
    pub index_time: Option<u64>,
}

/// Certificate chain and private key, PEM.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub crt: PathBuf,
    pub key: PathBuf,
}

/// How upload tokens are checked.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// URL of the JSON Web Key Set.
    pub jwks: String,
    /// Claims every token must carry, values compared as strings (`true` and `'true'` alike).
    /// `iss` is the issuer.
    pub claims: BTreeMap<String, String>,
    /// Required audience (one of the token's `aud` values), when set.
    pub audience: Option<String>,
    /// Signature algorithms accepted.
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    /// Least time between two JWKS fetches caused by unknown key ids.
    pub refresh_interval: Duration,
}

/// Upload limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, bytes.
    pub max_body: u64,
    /// Most files in one request.
    pub max_files: usize,
    /// Most connections served at once; further ones wait in the listen queue.
    pub max_connections: usize,
    /// Longest wait for the next bytes of an upload body (408 after it).
    pub body_timeout: Duration,
    /// What one package may unpack to: in bytes, and per byte of the package file.
    pub read: ReadLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: DEFAULT_MAX_BODY,
            max_files: DEFAULT_MAX_FILES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            read: ReadLimits::default(),
        }
    }
}

#[derive(Deserialize)]
struct RawConfig {
    dir: PathBuf,
    addr: Option<String>,
    tls: Option<RawTls>,
    jwt: Option<RawJwt>,
    #[serde(default)]
    keys: RawKeys,
    #[serde(default)]
    apt: RawApt,
    #[serde(default)]
    limits: RawLimits,
}

#[derive(Deserialize)]
struct RawTls {
    crt: PathBuf,
    key: PathBuf,
}

#[derive(Deserialize)]
struct RawJwt {
    jwks: String,
    #[serde(default)]
    claims: BTreeMap<String, serde_norway::Value>,
    audience: Option<String>,
    issuer: Option<String>,
    algorithms: Option<Vec<String>>,
    refresh_interval: Option<u64>,
}

#[derive(Deserialize, Default)]
struct RawKeys {
    apk: Option<PathBuf>,
    apt: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
struct RawApt {
    origin: Option<String>,
    label: Option<String>,
}

// The names are the keys of `repo.yaml`.
#[allow(clippy::struct_field_names)]
#[derive(Deserialize, Default)]
struct RawLimits {
    max_body: Option<serde_norway::Value>,
    max_files: Option<usize>,
    max_connections: Option<usize>,
    body_timeout: Option<u64>,
    max_unpacked: Option<serde_norway::Value>,
    max_ratio: Option<u64>,
}

impl ServeConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<ServeConfig, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::path::absolute(base).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, &base)
    }

    /// Parses `text` (read from `path`), resolving relative paths against `base`.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<ServeConfig, Error> {
        let config_error = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let mut unknown = Vec::new();
        let deserializer = serde_norway::Deserializer::from_str(text);
        let raw: RawConfig = serde_ignored::deserialize(deserializer, |key| {
            // Optional sections show as `?` in the path: `jwt.?.claim` → `jwt.claim`.
            let path = key.to_string();
            let parts: Vec<&str> = path.split('.').filter(|part| *part != "?").collect();
            unknown.push(parts.join("."));
        })
        .map_err(|e| config_error(e.to_string()))?;
        if let Some(key) = unknown.into_iter().next() {
            return Err(Error::UnknownKey {
                path: path.to_path_buf(),
                key,
            });
        }
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let jwt = raw
            .jwt
            .map(|jwt| jwt_config(jwt).map_err(|e| config_error(e.to_string())))
            .transpose()?;
        let size = |key: &str, value: Option<serde_norway::Value>, default: u64| match value {
            None => Ok(default),
            Some(value) => parse_size(&value)
                .ok_or_else(|| config_error(format!("limits.{key}: not a size: {value:?}"))),
        };
        let max_body = size("max_body", raw.limits.max_body, DEFAULT_MAX_BODY)?;
        let max_unpacked = size(
            "max_unpacked",
            raw.limits.max_unpacked,
            ReadLimits::default().max_unpacked,
        )?;
        let max_ratio = raw
            .limits
            .max_ratio
            .unwrap_or(ReadLimits::default().max_ratio);
        let max_files = raw.limits.max_files.unwrap_or(DEFAULT_MAX_FILES);
        let max_connections = raw
            .limits
            .max_connections
            .unwrap_or(DEFAULT_MAX_CONNECTIONS);
        let body_timeout = raw
            .limits
            .body_timeout
            .map_or(DEFAULT_BODY_TIMEOUT, Duration::from_secs);
        if max_files == 0
            || max_body == 0
            || max_connections == 0
            || body_timeout.is_zero()
            || max_unpacked == 0
            || max_ratio == 0
        {
            return Err(config_error("limits must be greater than zero".into()));
        }
        Ok(ServeConfig {
            dir: resolve(raw.dir),
            addr: raw.addr.unwrap_or_else(|| DEFAULT_ADDR.to_string()),
            tls: raw.tls.map(|tls| TlsConfig {
                crt: resolve(tls.crt),
                key: resolve(tls.key),
            }),
            jwt,
            apk_key: raw.keys.apk.map(resolve),
            apt_key: raw.keys.apt.map(resolve),
            apt_origin: raw.apt.origin.unwrap_or_else(|| "boxwright".into()),
            apt_label: raw.apt.label.unwrap_or_else(|| "boxwright".into()),
            index_time: None,
            limits: Limits {
                max_body,
                max_files,
                max_connections,
                body_timeout,
                read: ReadLimits {
                    max_unpacked,
                    max_ratio,
                },
            },
        })
    }
}

/// Why the `jwt` section is refused.
#[derive(Debug, thiserror::Error)]
enum JwtConfigError {
    /// `jwt.jwks` is not an http(s) URL.
    #[error("jwt.jwks: not an http(s) URL: {0}")]
    Jwks(String),
    /// A claim's value is neither a string, a boolean nor a number.
    #[error("jwt.claims.{0}: a string, boolean or number, please")]
    Claim(String),
    /// `jwt.issuer` and `jwt.claims.iss` disagree.
    #[error("jwt.issuer ({issuer}) and jwt.claims.iss ({iss}) differ")]
    Issuer { issuer: String, iss: String },
    /// `jwt.algorithms` is an empty list.
    #[error("jwt.algorithms: empty")]
    NoAlgorithm,
    /// An algorithm name that JOSE does not know.
    #[error("jwt.algorithms: unknown algorithm {0}")]
    UnknownAlgorithm(String),
    /// An HMAC algorithm, which a JWKS's public keys must never serve.
    #[error(
        "jwt.algorithms: {0} is an HMAC algorithm; only public-key algorithms (RS*, PS*, ES*, EdDSA) can be checked against a JWKS"
    )]
    Hmac(String),
}

fn jwt_config(raw: RawJwt) -> Result<JwtConfig, JwtConfigError> {
    if !(raw.jwks.starts_with("https://") || raw.jwks.starts_with("http://")) {
        return Err(JwtConfigError::Jwks(raw.jwks));
    }
    let mut claims = BTreeMap::new();
    for (name, value) in raw.claims {
        let Some(text) = claim_text(&value) else {
            return Err(JwtConfigError::Claim(name));
        };
        claims.insert(name, text);
    }
    // `issuer` is another way to write `claims.iss`.
    if let Some(issuer) = raw.issuer {
        match claims.get("iss") {
            Some(iss) if *iss != issuer => {
                return Err(JwtConfigError::Issuer {
                    issuer,
                    iss: iss.clone(),
                });
            }
            _ => {
                claims.insert("iss".into(), issuer);
            }
        }
    }
    let algorithms = match raw.algorithms {
        None => vec![
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::Algorithm::ES256,
            jsonwebtoken::Algorithm::EdDSA,
        ],
        Some(names) if names.is_empty() => return Err(JwtConfigError::NoAlgorithm),
        Some(names) => names
            .iter()
            .map(|name| parse_algorithm(name))
            .collect::<Result<_, _>>()?,
    };
    Ok(JwtConfig {
        jwks: raw.jwks,
        claims,
        audience: raw.audience,
        algorithms,
        refresh_interval: raw
            .refresh_interval
            .map_or(DEFAULT_REFRESH_INTERVAL, Duration::from_secs),
    })
}

/// An asymmetric algorithm by its JOSE name; `none` and the HMAC family are refused, since
/// a public key must never serve as an HMAC secret.
fn parse_algorithm(name: &str) -> Result<jsonwebtoken::Algorithm, JwtConfigError> {
    use jsonwebtoken::Algorithm;
    let algorithm: Algorithm = name
        .parse()
        .map_err(|_| JwtConfigError::UnknownAlgorithm(name.to_string()))?;
    match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            Err(JwtConfigError::Hmac(name.to_string()))
        }
        other => Ok(other),
    }
}

/// A claim value as the string it is compared as: GitLab sends booleans as `"true"`, and a
/// YAML file may write `true` or `'true'`.
pub(crate) fn claim_text(value: &serde_norway::Value) -> Option<String> {
    match value {
        serde_norway::Value::String(s) => Some(s.clone()),
        serde_norway::Value::Bool(b) => Some(b.to_string()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `1048576`, `512K`, `100M`, `1G` (binary multiples).
fn parse_size(value: &serde_norway::Value) -> Option<u64> {
    match value {
        serde_norway::Value::Number(n) => n.as_u64(),
        serde_norway::Value::String(s) => {
            let s = s.trim();
            let (digits, multiplier) = match s.chars().last()? {
                'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
                'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
                'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
                _ => (s, 1),
            };
            digits.trim().parse::<u64>().ok()?.checked_mul(multiplier)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "dir: /home/packager/packages
tls:
  crt: /var/run/secrets/reposerve/tls.crt
  key: /var/run/secrets/reposerve/tls.key
jwt:
  jwks: https://gitlab.example.com/-/jwks
  claims:
    iss: 'gitlab.example.com'
    ref_protected: 'true'
    ref_type: 'tag'
    namespace_path: 'alpine'
";

    fn parse(text: &str) -> Result<ServeConfig, Error> {
        ServeConfig::parse(text, Path::new("/etc/repo.yaml"), Path::new("/etc"))
    }

    #[test]
    fn seed_config_loads_unchanged() {
        let config = parse(SEED).unwrap();
        assert_eq!(config.dir, Path::new("/home/packager/packages"));
        let jwt = config.jwt.unwrap();
        assert_eq!(jwt.claims["ref_protected"], "true");
        assert_eq!(jwt.claims["iss"], "gitlab.example.com");
        assert_eq!(jwt.algorithms.len(), 3);
        assert_eq!(config.addr, DEFAULT_ADDR);
        assert_eq!(config.limits.max_files, DEFAULT_MAX_FILES);
        let tls = config.tls.unwrap();
        assert_eq!(tls.key, Path::new("/var/run/secrets/reposerve/tls.key"));
    }

    #[test]
    fn booleans_and_quoted_booleans_compare_alike() {
        let config =
            parse("dir: d\njwt:\n  jwks: http://x/jwks\n  claims: { a: true, b: 'true', c: 12 }\n")
                .unwrap();
        let claims = config.jwt.unwrap().claims;
        assert_eq!(claims["a"], "true");
        assert_eq!(claims["b"], "true");
        assert_eq!(claims["c"], "12");
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let config = parse("dir: packages\nkeys: { apk: keys/r.rsa, apt: /abs/k.key }\n").unwrap();
        assert_eq!(config.dir, Path::new("/etc/packages"));
        assert_eq!(config.apk_key.unwrap(), Path::new("/etc/keys/r.rsa"));
        assert_eq!(config.apt_key.unwrap(), Path::new("/abs/k.key"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = parse("dir: d\njwt:\n  jwks: http://x\n  claim: {}\n").unwrap_err();
        assert_eq!(error.to_string(), "/etc/repo.yaml: unknown key `jwt.claim`");
        let error = parse("dir: d\nport: 1\n").unwrap_err();
        assert!(error.to_string().contains("`port`"), "{error}");
    }

    #[test]
    fn hmac_and_none_are_refused() {
        for alg in ["HS256", "none", "XX1"] {
            let text = format!("dir: d\njwt:\n  jwks: http://x\n  algorithms: [{alg}]\n");
            let error = parse(&text).unwrap_err().to_string();
            assert!(error.contains("jwt.algorithms"), "{error}");
        }
        let ok = parse("dir: d\njwt:\n  jwks: http://x\n  algorithms: [ES256]\n").unwrap();
        assert_eq!(ok.jwt.unwrap().algorithms, [jsonwebtoken::Algorithm::ES256]);
    }

    #[test]
    fn issuer_is_claims_iss() {
        let config = parse("dir: d\njwt:\n  jwks: http://x\n  issuer: gl.example\n").unwrap();
        assert_eq!(config.jwt.unwrap().claims["iss"], "gl.example");
        let error = parse("dir: d\njwt:\n  jwks: http://x\n  issuer: a\n  claims: { iss: b }\n")
            .unwrap_err();
        assert!(error.to_string().contains("differ"), "{error}");
    }

    #[test]
    fn sizes() {
        let config = parse("dir: d\nlimits: { max_body: 10M, max_files: 3 }\n").unwrap();
        assert_eq!(config.limits.max_body, 10 << 20);
        assert_eq!(config.limits.max_files, 3);
        assert!(parse("dir: d\nlimits: { max_body: lots }\n").is_err());
        assert_eq!(config.limits.read, ReadLimits::default());
        let config = parse("dir: d\nlimits: { max_unpacked: 2G, max_ratio: 20 }\n").unwrap();
        assert_eq!(config.limits.read.max_unpacked, 2 << 30);
        assert_eq!(config.limits.read.max_ratio, 20);
        let error = parse("dir: d\nlimits: { max_unpacked: lots }\n").unwrap_err();
        assert!(error.to_string().contains("limits.max_unpacked"), "{error}");
        assert!(parse("dir: d\nlimits: { max_ratio: 0 }\n").is_err());
    }

    #[test]
    fn connection_cap_and_body_timeout() {
        let defaults = parse("dir: d\n").unwrap().limits;
        assert_eq!(defaults.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(defaults.body_timeout, DEFAULT_BODY_TIMEOUT);
        let limits = parse("dir: d\nlimits: { max_connections: 8, body_timeout: 5 }\n")
            .unwrap()
            .limits;
        assert_eq!(limits.max_connections, 8);
        assert_eq!(limits.body_timeout, Duration::from_secs(5));
        for zero in ["max_connections: 0", "body_timeout: 0"] {
            let error = parse(&format!("dir: d\nlimits: {{ {zero} }}\n")).unwrap_err();
            assert!(error.to_string().contains("greater than zero"), "{error}");
        }
    }
}
