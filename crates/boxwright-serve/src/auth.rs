//! Upload authorisation: `Authorization: Bearer <JWT>` checked against a JWKS.
//!
//! Rules, in order (the first failure decides):
//! 1. a bearer token must be present (401);
//! 2. its header's `alg` must be in the allow-list; `none` and HMAC never are (401);
//! 3. the key is found by `kid` in the cached JWKS; an unknown `kid` refetches the set at
//!    most once per kid and once per `refresh_interval` (401 when still unknown). Keys that
//!    may not verify signatures (`use` other than `sig`, or `key_ops` without `verify`) are
//!    dropped from the set when it is fetched, as if the issuer had not published them;
//! 4. the signature, `exp` and `nbf` (60 s leeway), `iss` (the `iss` entry of the required
//!    claims) and, when `audience` is configured, `aud`: required, and it must be the audience
//!    or a list holding it (401);
//! 5. every other required claim must be present and equal, compared as strings: a token's
//!    `true` and `"true"` both match a configured `true` or `'true'` (403).
//!
//! Reasons never contain the token. They may quote header fields (cut to [`MAX_SHOWN`]
//! characters) and claims, which the client controls: the server escapes every reason
//! ([`crate::log::escape`]) before it logs or answers it.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::config::JwtConfig;

/// Leeway on `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(60);
/// Largest JWKS document read.
const MAX_JWKS: usize = 1 << 20;
/// After this long the whole JWKS is fetched again on the next request.
const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// Most characters of a header field quoted in a reason.
pub const MAX_SHOWN: usize = 64;

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// 401: no usable credentials.
    Unauthorized(String),
    /// 403: a valid token whose claims do not allow uploads.
    Forbidden(String),
    /// 503: the JWKS could not be fetched.
    Unavailable(String),
}

impl Rejection {
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Unauthorized(_) => 401,
            Rejection::Forbidden(_) => 403,
            Rejection::Unavailable(_) => 503,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Rejection::Unauthorized(r) | Rejection::Forbidden(r) | Rejection::Unavailable(r) => r,
        }
    }
}

fn unauthorized(reason: impl Into<String>) -> Rejection {
    Rejection::Unauthorized(reason.into())
}

/// Checks upload tokens; shared by all requests.
pub struct Authoriser {
    config: JwtConfig,
    jwks: tokio::sync::Mutex<KeyCache>,
    client: reqwest::Client,
}

#[derive(Default)]
struct KeyCache {
    set: Option<JwkSet>,
    fetched: Option<Instant>,
    /// Fetches so far (for tests and logs).
    fetches: u64,
    /// Key ids a refetch did not find; cleared when the set is fetched for its age.
    missed: HashSet<String>,
    /// Key ids of the last fetched set whose `use` or `key_ops` forbid verifying signatures.
    unusable: HashSet<String>,
}

impl Authoriser {
    pub fn new(config: JwtConfig) -> Result<Authoriser, crate::Error> {
        // 10 s to connect, 30 s for the whole fetch; the JWKS URL is configured, so
        // redirects within http(s) are followed as before.
        let client = boxwright_http::client(&boxwright_http::ClientConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: None,
            timeout: Some(Duration::from_secs(30)),
            ..boxwright_http::ClientConfig::default()
        })
        .map_err(crate::Error::HttpClient)?;
        Ok(Authoriser {
            config,
            jwks: tokio::sync::Mutex::new(KeyCache::default()),
            client,
        })
    }

    /// Checks the `Authorization` header's value; the token's claims when it allows uploads.
    pub async fn check(
        &self,
        authorization: Option<&str>,
    ) -> Result<serde_json::Map<String, Value>, Rejection> {
        let token = authorization
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| unauthorized("missing bearer token"))?;
        let (alg_name, kid) = header_fields(token)?;
        let algorithm = self
            .config
            .algorithms
            .iter()
            .copied()
            .find(|a| format!("{a:?}") == alg_name)
            .ok_or_else(|| {
                unauthorized(format!("algorithm {} is not allowed", shown(&alg_name)))
            })?;
        let jwk = self.key(kid.as_deref(), algorithm).await?;
        if let Some(key_algorithm) = jwk.common.key_algorithm
            && format!("{key_algorithm:?}") != alg_name
        {
            return Err(unauthorized(format!(
                "key {} is for {key_algorithm:?}, token says {alg_name}",
                kid.as_deref().map_or_else(|| "(no kid)".to_string(), shown)
            )));
        }
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|e| unauthorized(format!("unusable key in the JWKS: {e}")))?;
        let claims = self.decode(token, &key, algorithm)?;
        if let Some(audience) = &self.config.audience {
            audience_matches(&claims, audience)?;
        }
        self.match_claims(&claims)?;
        Ok(claims)
    }

    fn decode(
        &self,
        token: &str,
        key: &DecodingKey,
        algorithm: Algorithm,
    ) -> Result<serde_json::Map<String, Value>, Rejection> {
        use jsonwebtoken::errors::ErrorKind;
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.leeway = LEEWAY.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        if let Some(audience) = &self.config.audience {
            validation.set_required_spec_claims(&["exp", "aud"]);
            validation.set_audience(&[audience]);
        } else {
            validation.set_required_spec_claims(&["exp"]);
            validation.validate_aud = false;
        }
        if let Some(issuer) = self.config.claims.get("iss") {
            validation.set_issuer(&[issuer]);
        }
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, key, &validation)
            .map_err(|e| {
                unauthorized(match e.kind() {
                    ErrorKind::ExpiredSignature => "token expired".to_string(),
                    ErrorKind::ImmatureSignature => "token not yet valid (nbf)".to_string(),
                    ErrorKind::InvalidSignature => "bad signature".to_string(),
                    ErrorKind::InvalidIssuer => "wrong issuer".to_string(),
                    ErrorKind::InvalidAudience => "wrong audience".to_string(),
                    ErrorKind::MissingRequiredClaim(claim) => format!("claim {claim} missing"),
                    ErrorKind::InvalidAlgorithm => "algorithm does not fit the key".to_string(),
                    _ => format!("invalid token: {e}"),
                })
            })?;
        Ok(data.claims)
    }

    fn match_claims(&self, claims: &serde_json::Map<String, Value>) -> Result<(), Rejection> {
        for (name, required) in &self.config.claims {
            let Some(value) = claims.get(name) else {
                return Err(Rejection::Forbidden(format!("claim {name} missing")));
            };
            let matches = match value {
                Value::String(s) => s == required,
                Value::Bool(b) => b.to_string() == *required,
                Value::Number(n) => n.to_string() == *required,
                // `aud` may be a list: one member must match.
                Value::Array(items) if name == "aud" => {
                    items.iter().any(|i| i.as_str() == Some(required))
                }
                _ => false,
            };
            if !matches {
                return Err(Rejection::Forbidden(format!(
                    "claim {name} is {value}, required \"{required}\""
                )));
            }
        }
        Ok(())
    }

    /// The key for `kid`, from the cache or a (rate-limited) fetch.
    async fn key(&self, kid: Option<&str>, algorithm: Algorithm) -> Result<Jwk, Rejection> {
        let mut cache = self.jwks.lock().await;
        let stale = cache
            .fetched
            .is_none_or(|fetched| fetched.elapsed() >= JWKS_MAX_AGE);
        if stale {
            self.fetch(&mut cache).await?;
            cache.missed.clear();
        }
        if let Some(jwk) = find(cache.set.as_ref(), kid, algorithm) {
            return Ok(jwk);
        }
        let label = kid.map_or_else(|| "(none)".to_string(), shown);
        let may_refetch = !stale
            && !cache.missed.contains(&label)
            && cache
                .fetched
                .is_none_or(|fetched| fetched.elapsed() >= self.config.refresh_interval);
        if may_refetch {
            self.fetch(&mut cache).await?;
            if let Some(jwk) = find(cache.set.as_ref(), kid, algorithm) {
                return Ok(jwk);
            }
            if cache.missed.len() >= 1024 {
                cache.missed.clear();
            }
            cache.missed.insert(label.clone());
        }
        if kid.is_some_and(|kid| cache.unusable.contains(kid)) {
            return Err(unauthorized(format!(
                "unusable key id {label}: its use or key_ops do not allow verifying signatures"
            )));
        }
        Err(unauthorized(format!("unknown key id {label}")))
    }

    async fn fetch(&self, cache: &mut KeyCache) -> Result<(), Rejection> {
        let url = &self.config.jwks;
        let unavailable = |e: &dyn std::fmt::Display| {
            Rejection::Unavailable(format!("cannot fetch the JWKS from {url}: {e}"))
        };
        cache.fetches += 1;
        // Whatever the outcome, the next fetch waits for the interval.
        cache.fetched = Some(Instant::now());
        let response = self
            .client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable(&e))?;
        let mut response = response;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(&e))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_JWKS {
                return Err(unavailable(&format!("larger than {MAX_JWKS} bytes")));
            }
        }
        let mut set: JwkSet = serde_json::from_slice(&bytes).map_err(|e| unavailable(&e))?;
        let (usable, unusable): (Vec<Jwk>, Vec<Jwk>) =
            set.keys.into_iter().partition(verifies_signatures);
        set.keys = usable;
        cache.unusable = unusable
            .into_iter()
            .filter_map(|jwk| jwk.common.key_id)
            .collect();
        cache.set = Some(set);
        Ok(())
    }

    /// JWKS fetches so far.
    pub async fn fetches(&self) -> u64 {
        self.jwks.lock().await.fetches
    }
}

/// Whether `jwk` may verify signatures (RFC 7517 4.2, 4.3): `use` absent or `sig`, and
/// `key_ops` absent or holding `verify`.
fn verifies_signatures(jwk: &Jwk) -> bool {
    use jsonwebtoken::jwk::{KeyOperations, PublicKeyUse};
    let use_allows = jwk
        .common
        .public_key_use
        .as_ref()
        .is_none_or(|key_use| *key_use == PublicKeyUse::Signature);
    let operations_allow = jwk
        .common
        .key_operations
        .as_ref()
        .is_none_or(|operations| operations.contains(&KeyOperations::Verify));
    use_allows && operations_allow
}

/// With an `audience` configured, the token's `aud` must be it, or a list holding it.
fn audience_matches(
    claims: &serde_json::Map<String, Value>,
    audience: &str,
) -> Result<(), Rejection> {
    match claims.get("aud") {
        None | Some(Value::Null) => Err(unauthorized("claim aud missing")),
        Some(Value::String(aud)) if aud == audience => Ok(()),
        Some(Value::Array(items)) if items.iter().any(|i| i.as_str() == Some(audience)) => Ok(()),
        Some(_) => Err(unauthorized("wrong audience")),
    }
}

/// A header field as a reason quotes it: at most [`MAX_SHOWN`] characters.
fn shown(field: &str) -> String {
    match field.char_indices().nth(MAX_SHOWN) {
        None => field.to_string(),
        Some((end, _)) => format!("{}...", &field[..end]),
    }
}

/// The key named `kid`; without a `kid`, the only key of the set that fits the algorithm.
fn find(set: Option<&JwkSet>, kid: Option<&str>, algorithm: Algorithm) -> Option<Jwk> {
    let set = set?;
    if let Some(kid) = kid {
        return set.find(kid).cloned();
    }
    let fitting: Vec<&Jwk> = set
        .keys
        .iter()
        .filter(|k| {
            DecodingKey::from_jwk(k).is_ok()
                && k.common
                    .key_algorithm
                    .is_none_or(|a| format!("{a:?}") == format!("{algorithm:?}"))
        })
        .collect();
    match fitting.as_slice() {
        [only] => Some((*only).clone()),
        _ => None,
    }
}

/// `alg` and `kid` of a compact JWS header, read without trusting anything else.
fn header_fields(token: &str) -> Result<(String, Option<String>), Rejection> {
    let malformed = || unauthorized("malformed token");
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let header: HashMap<String, Value> = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| unauthorized("token header has no alg"))?
        .to_string();
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok((alg, kid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn authoriser(claims: &[(&str, &str)]) -> Authoriser {
        Authoriser::new(JwtConfig {
            jwks: "http://127.0.0.1:9/jwks".into(),
            claims: claims
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect::<BTreeMap<_, _>>(),
            audience: None,
            algorithms: vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
            refresh_interval: Duration::from_secs(10),
        })
        .unwrap()
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[tokio::test]
    async fn missing_and_malformed_tokens() {
        let auth = authoriser(&[]);
        assert_eq!(
            auth.check(None).await.unwrap_err(),
            unauthorized("missing bearer token")
        );
        assert_eq!(
            auth.check(Some("Basic abc")).await.unwrap_err(),
            unauthorized("missing bearer token")
        );
        assert_eq!(
            auth.check(Some("Bearer a.b")).await.unwrap_err(),
            unauthorized("malformed token")
        );
    }

    #[tokio::test]
    async fn none_and_hmac_are_refused_before_any_key_lookup() {
        let auth = authoriser(&[]);
        for alg in ["none", "HS256"] {
            let token = format!("{}.{}.", b64(&format!("{{\"alg\":\"{alg}\"}}")), b64("{}"));
            let rejection = auth
                .check(Some(&format!("Bearer {token}")))
                .await
                .unwrap_err();
            assert_eq!(
                rejection,
                unauthorized(format!("algorithm {alg} is not allowed"))
            );
        }
        assert_eq!(auth.fetches().await, 0);
    }

    #[tokio::test]
    async fn an_unreachable_jwks_is_503_not_a_pass() {
        let auth = authoriser(&[]);
        let header = b64(r#"{"alg":"RS256","kid":"k"}"#);
        let token = format!("{header}.{}.c2ln", b64("{}"));
        let rejection = auth
            .check(Some(&format!("Bearer {token}")))
            .await
            .unwrap_err();
        assert_eq!(rejection.status(), 503, "{rejection:?}");
        assert!(rejection.reason().contains("cannot fetch the JWKS"));
        assert!(!rejection.reason().contains(&token));
    }

    #[test]
    fn audience_is_required_and_must_be_held() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        let aud = "https://packages.example.com";
        for (token_claims, expected) in [
            (serde_json::json!({}), Err("claim aud missing")),
            (serde_json::json!({"aud": null}), Err("claim aud missing")),
            (serde_json::json!({"aud": "other"}), Err("wrong audience")),
            (serde_json::json!({"aud": []}), Err("wrong audience")),
            (serde_json::json!({"aud": 1}), Err("wrong audience")),
            (serde_json::json!({"aud": [null]}), Err("wrong audience")),
            (serde_json::json!({"aud": aud}), Ok(())),
            (serde_json::json!({"aud": ["other", aud]}), Ok(())),
        ] {
            let result = audience_matches(&claims(token_claims.clone()), aud);
            assert_eq!(result, expected.map_err(unauthorized), "{token_claims}");
        }
    }

    #[test]
    fn only_keys_for_signatures_verify() {
        let jwk = |extra: Value| {
            let mut key = serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "kid": "k",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            });
            for (name, value) in extra.as_object().unwrap() {
                key[name] = value.clone();
            }
            serde_json::from_value::<Jwk>(key).unwrap()
        };
        for (extra, usable) in [
            (serde_json::json!({}), true),
            (serde_json::json!({"use": "sig"}), true),
            (serde_json::json!({"key_ops": ["verify"]}), true),
            (
                serde_json::json!({"use": "sig", "key_ops": ["sign", "verify"]}),
                true,
            ),
            (serde_json::json!({"use": "enc"}), false),
            (serde_json::json!({"use": "other"}), false),
            (serde_json::json!({"key_ops": ["encrypt"]}), false),
            (serde_json::json!({"key_ops": []}), false),
            (serde_json::json!({"key_ops": ["sign"]}), false),
            (
                serde_json::json!({"use": "enc", "key_ops": ["verify"]}),
                false,
            ),
            (
                serde_json::json!({"use": "sig", "key_ops": ["wrapKey"]}),
                false,
            ),
        ] {
            assert_eq!(verifies_signatures(&jwk(extra.clone())), usable, "{extra}");
        }
    }

    #[test]
    fn header_fields_are_cut_in_reasons() {
        assert_eq!(shown("rsa-1"), "rsa-1");
        let long = "é".repeat(MAX_SHOWN + 10);
        let cut = shown(&long);
        assert_eq!(cut, format!("{}...", "é".repeat(MAX_SHOWN)));
    }

    #[tokio::test]
    async fn a_long_alg_is_quoted_cut() {
        let auth = authoriser(&[]);
        let alg = format!("RS256\n{}", "x".repeat(500));
        let header = b64(&serde_json::json!({ "alg": alg }).to_string());
        let token = format!("{header}.{}.c2ln", b64("{}"));
        let rejection = auth
            .check(Some(&format!("Bearer {token}")))
            .await
            .unwrap_err();
        assert_eq!(
            rejection.reason(),
            format!("algorithm {} is not allowed", shown(&alg))
        );
        assert!(rejection.reason().len() < 100);
    }

    #[test]
    fn claims_compare_as_strings() {
        let auth = authoriser(&[("ref_protected", "true"), ("project_id", "42")]);
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert!(
            auth.match_claims(&claims(
                serde_json::json!({"ref_protected": "true", "project_id": "42"})
            ))
            .is_ok()
        );
        assert!(
            auth.match_claims(&claims(
                serde_json::json!({"ref_protected": true, "project_id": 42})
            ))
            .is_ok()
        );
        let missing = auth
            .match_claims(&claims(serde_json::json!({"ref_protected": "true"})))
            .unwrap_err();
        assert_eq!(missing.status(), 403);
        assert_eq!(missing.reason(), "claim project_id missing");
        let different = auth
            .match_claims(&claims(
                serde_json::json!({"ref_protected": "false", "project_id": "42"}),
            ))
            .unwrap_err();
        assert_eq!(
            different.reason(),
            "claim ref_protected is \"false\", required \"true\""
        );
    }
}
