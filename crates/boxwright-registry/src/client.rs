//! The HTTP side: scheme choice, authentication (anonymous, basic, bearer tokens cached per
//! scope), retries, and the read-only operations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boxwright_archive::progress::{NoProgress, Progress};
use boxwright_http::{ClientConfig, RetryPolicy, link};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::descriptor::MANIFEST_TYPES;
use crate::{AuthFile, Error, Reference};

/// A user name and password for basic authentication and token requests.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// How the client talks to registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Allow plain http (and TLS certificates that do not verify) for a registry that is not
    /// on a loopback address.
    pub insecure: bool,
    /// Credentials for every registry the client talks to (`--registry-username`).
    pub credentials: Option<Credentials>,
    /// Where to look up credentials per registry when `credentials` is `None`.
    pub auth_file: Option<AuthFile>,
    /// PEM certificates trusted as roots in addition to the system's (`--ca-file`).
    pub ca_pem: Option<Vec<u8>>,
    /// Blob uploads at once.
    pub jobs: usize,
    /// Attempts per request (or per blob upload) for retryable failures.
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// Tags per page of a tag list (`?n=`); `None` leaves the page size to the registry.
    pub page_size: Option<u32>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            insecure: false,
            credentials: None,
            auth_file: None,
            ca_pem: None,
            jobs: 4,
            attempts: 4,
            backoff: Duration::from_millis(500),
            page_size: None,
        }
    }
}

/// A manifest or index as the registry returned it.
#[derive(Debug, Clone, Serialize)]
pub struct Inspected {
    pub reference: String,
    pub media_type: String,
    /// `sha256:` of the bytes received.
    pub digest: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// A registry client. Bearer tokens are kept per registry and scope for its lifetime.
pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) options: ClientOptions,
    tokens: Mutex<HashMap<String, String>>,
    /// Held while a token is requested.
    token_fetch: tokio::sync::Mutex<()>,
    /// `http` or `https` per registry, once known.
    schemes: Mutex<HashMap<String, &'static str>>,
    /// Credentials per registry, once looked up.
    credentials: Mutex<HashMap<String, Option<Credentials>>>,
    /// Where pushes and pulls report the bytes they move.
    pub(crate) progress: Arc<dyn Progress>,
}

/// What a request is about, for error messages and authentication.
pub(crate) struct Call<'a> {
    pub reference: &'a Reference,
    pub what: String,
    pub push: bool,
    /// Another repository of the same registry read by the request (a cross-repository
    /// mount): its pull scope is asked for too.
    pub mount_from: Option<&'a str>,
}

impl<'a> Call<'a> {
    /// A call without a second repository.
    pub(crate) fn new(reference: &'a Reference, what: impl Into<String>, push: bool) -> Self {
        Call {
            reference,
            what: what.into(),
            push,
            mount_from: None,
        }
    }
}

impl Call<'_> {
    pub(crate) fn status_error(&self, status: StatusCode, detail: String) -> Error {
        let registry = self.reference.registry.clone();
        let repository = self.reference.repository.clone();
        let what = self.what.clone();
        match status.as_u16() {
            401 => Error::Unauthorized {
                registry,
                repository,
                what,
                hint: "",
            },
            403 => Error::Forbidden {
                registry,
                repository,
                what,
            },
            404 => Error::NotFound {
                registry,
                repository,
                what,
                detail,
            },
            status => Error::Status {
                registry,
                repository,
                what,
                status,
                detail,
            },
        }
    }

    pub(crate) fn http_error(&self, source: reqwest::Error) -> Error {
        if let Some(message) = certificate_problem(&source) {
            return Error::Certificate {
                registry: self.reference.registry.clone(),
                message,
            };
        }
        Error::Http {
            registry: self.reference.registry.clone(),
            repository: self.reference.repository.clone(),
            what: self.what.clone(),
            source,
        }
    }

    pub(crate) fn protocol(&self, message: impl Into<String>) -> Error {
        Error::Protocol {
            registry: self.reference.registry.clone(),
            repository: self.reference.repository.clone(),
            what: self.what.clone(),
            message: message.into(),
        }
    }

    /// An error for an unexpected answer, with the registry's own message when it sent one.
    pub(crate) async fn fail(&self, response: Response) -> Error {
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        self.status_error(status, error_detail(&body))
    }
}

/// A 401: the credentials sent were refused, or there were none.
fn unauthorized(call: &Call<'_>, what: String, credentials: Option<&Credentials>) -> Error {
    let registry = call.reference.registry.clone();
    let repository = call.reference.repository.clone();
    if credentials.is_some() {
        Error::Unauthorized {
            registry,
            repository,
            what,
            hint: ": check the user name and the password (--registry-password-stdin, BOXWRIGHT_REGISTRY_PASSWORD or the auth file)",
        }
    } else {
        Error::NeedsCredentials {
            registry,
            repository,
            what,
            hint: ": pass --registry-username with --registry-password-stdin (or set BOXWRIGHT_REGISTRY_USERNAME and BOXWRIGHT_REGISTRY_PASSWORD), or log in with a tool that writes ~/.docker/config.json",
        }
    }
}

/// `scheme://registry/`.
fn parse_base(reference: &Reference, scheme: &str) -> Result<Url, Error> {
    Url::parse(&format!("{scheme}://{}/", reference.registry)).map_err(|e| Error::Protocol {
        registry: reference.registry.clone(),
        repository: reference.repository.clone(),
        what: "address".into(),
        message: e.to_string(),
    })
}

/// The errors behind `error`, including those wrapped inside `std::io::Error`s (whose own
/// `source()` skips the wrapped error).
fn error_chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut chain = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        chain.push(current);
        next = match current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    chain
}

/// Whether the request failed because nothing listens at the address.
fn connection_refused(error: &reqwest::Error) -> bool {
    error_chain(error).into_iter().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
    })
}

/// Whether the server answered the TLS handshake with something that is not TLS (a plain
/// http server's error page), or closed the connection without a word.
fn speaks_no_tls(error: &reqwest::Error) -> bool {
    error_chain(error).into_iter().any(|e| {
        matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidMessage(_))
        ) || e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
    })
}

/// What is wrong with the server's certificate, when that is why the request failed.
fn certificate_problem(error: &reqwest::Error) -> Option<String> {
    error_chain(error)
        .into_iter()
        .find_map(|e| match e.downcast_ref::<rustls::Error>()? {
            rustls::Error::InvalidCertificate(problem) => Some(format!("{problem:?}")),
            rustls::Error::NoCertificatesPresented => Some("no certificate presented".into()),
            _ => None,
        })
}

/// `: message` from a distribution error body (`{"errors":[{"code","message"}]}`).
fn error_detail(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let messages: Vec<String> = value["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{} {}",
                e["code"].as_str().unwrap_or_default(),
                e["message"].as_str().unwrap_or_default()
            )
            .trim()
            .to_string()
        })
        .filter(|m| !m.is_empty())
        .collect();
    if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join("; "))
    }
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, Error> {
        let config = ClientConfig {
            read_timeout: Some(Duration::from_secs(120)),
            ca_pem: options.ca_pem.clone(),
            accept_invalid_certs: options.insecure,
            ..ClientConfig::default()
        };
        let http = boxwright_http::client(&config).map_err(|error| match error {
            boxwright_http::Error::CaBundle(source) => Error::CaFile(source),
            boxwright_http::Error::NoCertificates => Error::NoCertificates,
            boxwright_http::Error::Client(source) => Error::Client(source),
        })?;
        Ok(Client {
            http,
            options,
            tokens: Mutex::new(HashMap::new()),
            token_fetch: tokio::sync::Mutex::new(()),
            schemes: Mutex::new(HashMap::new()),
            credentials: Mutex::new(HashMap::new()),
            progress: Arc::new(NoProgress),
        })
    }

    /// The client reporting the bytes of pushes and pulls to `progress`.
    #[must_use]
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Client {
        self.progress = progress;
        self
    }

    /// `http(s)://host[:port]` of the reference's registry. Registries must speak https,
    /// except loopback ones and all with `--insecure`: for those https is tried first (once
    /// per registry), and plain http is used when the server does not speak TLS at all. A
    /// certificate that does not verify is an error, never a reason to drop TLS.
    pub(crate) async fn base(&self, reference: &Reference) -> Result<Url, Error> {
        if !reference.is_loopback() && !self.options.insecure {
            return parse_base(reference, "https");
        }
        let known = self
            .schemes
            .lock()
            .expect("not poisoned")
            .get(&reference.registry)
            .copied();
        let scheme = if let Some(scheme) = known {
            scheme
        } else {
            let probed = self.probe(reference).await?;
            if let Some(scheme) = probed {
                let mut schemes = self.schemes.lock().expect("not poisoned");
                schemes.insert(reference.registry.clone(), scheme);
            }
            probed.unwrap_or("http")
        };
        parse_base(reference, scheme)
    }

    /// Whether the registry answers over TLS: `https`, or `http` when the server does not
    /// speak TLS. `None` when nothing answers at all (nothing to remember: the request
    /// itself, over http, reports it).
    async fn probe(&self, reference: &Reference) -> Result<Option<&'static str>, Error> {
        let url = parse_base(reference, "https")?
            .join("v2/")
            .expect("a fixed path joins");
        let result = self
            .http
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some("https")),
            Err(error) if certificate_problem(&error).is_some() => {
                Err(Call::new(reference, "TLS handshake", false).http_error(error))
            }
            Err(error) if speaks_no_tls(&error) => Ok(Some("http")),
            Err(error) if connection_refused(&error) => Ok(None),
            // Any other TLS failure (an alert, a reset, a timeout) is reported: dropping to
            // plain http would send credentials in the clear to a server that wants TLS.
            Err(source) => Err(Error::Tls {
                registry: reference.registry.clone(),
                source,
            }),
        }
    }

    /// The credentials for the registry: `--registry-username`'s, else the auth file's.
    fn credentials_for(&self, registry: &str) -> Result<Option<Credentials>, Error> {
        if let Some(credentials) = &self.options.credentials {
            return Ok(Some(credentials.clone()));
        }
        let Some(file) = &self.options.auth_file else {
            return Ok(None);
        };
        if let Some(known) = self.credentials.lock().expect("not poisoned").get(registry) {
            return Ok(known.clone());
        }
        let found = file.lookup(registry)?;
        self.credentials
            .lock()
            .expect("not poisoned")
            .insert(registry.to_string(), found.clone());
        Ok(found)
    }

    /// `<base>/v2/<repository>/<rest>`.
    pub(crate) async fn url(&self, reference: &Reference, rest: &str) -> Result<Url, Error> {
        let base = self.base(reference).await?;
        base.join(&format!("v2/{}/{rest}", reference.repository))
            .map_err(|e| Error::Protocol {
                registry: reference.registry.clone(),
                repository: reference.repository.clone(),
                what: rest.into(),
                message: e.to_string(),
            })
    }

    /// Sends the request `build` makes, authenticating as needed, and retries connection
    /// failures and 5xx/408/429 answers with backoff. Any other answer is returned as is,
    /// except 401, which becomes [`Error::Unauthorized`].
    pub(crate) async fn send(
        &self,
        call: &Call<'_>,
        build: &(dyn Fn(&reqwest::Client) -> RequestBuilder + Sync),
    ) -> Result<Response, Error> {
        self.retrying(
            || {
                format!(
                    "{} of {}/{}",
                    call.what, call.reference.registry, call.reference.repository
                )
            },
            || self.send_once(call, build),
        )
        .await
    }

    /// Runs `attempt` until it succeeds, fails for good, or has been tried
    /// `options.attempts` times, waiting `options.backoff` (doubled each time) between
    /// tries. A failure after retries is [`Error::GaveUp`] about `what`.
    pub(crate) async fn retrying<T, F>(
        &self,
        what: impl Fn() -> String,
        mut attempt: impl FnMut() -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let policy = RetryPolicy {
            attempts: self.options.attempts,
            backoff: self.options.backoff,
        };
        policy
            .run(&mut attempt, Error::is_retryable, |_, _, _| {})
            .await
            .map_err(|(error, attempts)| {
                if attempts > 1 {
                    Error::GaveUp {
                        what: what(),
                        attempts,
                        last: Box::new(error),
                    }
                } else {
                    error
                }
            })
    }

    /// The token cache key and the scopes a token for the call needs.
    fn scope_key(call: &Call<'_>) -> (String, Vec<String>) {
        let mut scopes = vec![format!(
            "repository:{}:{}",
            call.reference.repository,
            if call.push { "pull,push" } else { "pull" }
        )];
        if let Some(from) = call.mount_from {
            scopes.push(format!("repository:{from}:pull"));
        }
        (
            format!("{} {}", call.reference.registry, scopes.join(" ")),
            scopes,
        )
    }

    /// One attempt of [`Client::send`] (authentication included, no retry).
    pub(crate) async fn send_once(
        &self,
        call: &Call<'_>,
        build: &(dyn Fn(&reqwest::Client) -> RequestBuilder + Sync),
    ) -> Result<Response, Error> {
        let (key, scopes) = Self::scope_key(call);
        let credentials = self.credentials_for(&call.reference.registry)?;
        let mut fetched_token = false;
        loop {
            let token = self.tokens.lock().expect("not poisoned").get(&key).cloned();
            let mut request = build(&self.http);
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            } else if let Some(credentials) = &credentials {
                request = request.basic_auth(&credentials.username, Some(&credentials.password));
            }
            let response = request.send().await.map_err(|e| call.http_error(e))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                let challenge = parse_challenge(response.headers());
                if let Some(challenge) =
                    challenge.filter(|c| c.scheme.eq_ignore_ascii_case("bearer"))
                    && !fetched_token
                {
                    // One token request at a time: uploads running in parallel that meet the
                    // same challenge wait for the first one's token instead of asking too.
                    let _fetching = self.token_fetch.lock().await;
                    let current = self.tokens.lock().expect("not poisoned").get(&key).cloned();
                    if current.is_none() || current == token {
                        let fresh = self
                            .fetch_token(call, &challenge, &scopes, credentials.as_ref())
                            .await?;
                        self.tokens
                            .lock()
                            .expect("not poisoned")
                            .insert(key.clone(), fresh);
                    }
                    fetched_token = true;
                    continue;
                }
                return Err(unauthorized(call, call.what.clone(), credentials.as_ref()));
            }
            if status.is_server_error()
                || status == StatusCode::REQUEST_TIMEOUT
                || status == StatusCode::TOO_MANY_REQUESTS
            {
                return Err(call.fail(response).await);
            }
            return Ok(response);
        }
    }

    pub(crate) async fn fetch_token(
        &self,
        call: &Call<'_>,
        challenge: &Challenge,
        scopes: &[String],
        credentials: Option<&Credentials>,
    ) -> Result<String, Error> {
        let realm = challenge.param("realm").unwrap_or_default().to_string();
        let token_error = |message: String| Error::Token {
            registry: call.reference.registry.clone(),
            repository: call.reference.repository.clone(),
            realm: realm.clone(),
            message,
        };
        let mut url = Url::parse(&realm)
            .map_err(|e| token_error(format!("the challenge's realm is not a URL: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = challenge.param("service") {
                query.append_pair("service", service);
            }
            for scope in scopes {
                query.append_pair("scope", scope);
            }
        }
        let mut request = self.http.get(url);
        if let Some(credentials) = credentials {
            request = request.basic_auth(&credentials.username, Some(&credentials.password));
        }
        let response = request
            .send()
            .await
            .map_err(|e| token_error(e.to_string()))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(unauthorized(
                call,
                format!("token request to {realm}"),
                credentials,
            ));
        }
        if !status.is_success() {
            return Err(token_error(format!("HTTP {}", status.as_u16())));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| token_error(e.to_string()))?;
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| token_error(format!("answer is not JSON: {e}")))?;
        value["token"]
            .as_str()
            .or(value["access_token"].as_str())
            .map(str::to_string)
            .ok_or_else(|| token_error("answer has no token".into()))
    }

    /// Requests the manifest (or index) the reference names, accepting every manifest type.
    async fn manifest<'a>(
        &self,
        reference: &'a Reference,
        method: Method,
    ) -> Result<(Call<'a>, Response), Error> {
        let call = Call::new(
            reference,
            format!("manifest {}", reference.manifest_reference()),
            false,
        );
        let url = self
            .url(
                reference,
                &format!("manifests/{}", reference.manifest_reference()),
            )
            .await?;
        let accept = MANIFEST_TYPES.join(", ");
        let response = self
            .send(&call, &|http| {
                http.request(method.clone(), url.clone())
                    .header(ACCEPT, &accept)
            })
            .await?;
        Ok((call, response))
    }

    /// Whether the manifest the reference names exists (HEAD; 404 is `false`).
    pub async fn exists(&self, reference: &Reference) -> Result<bool, Error> {
        let (call, response) = self.manifest(reference, Method::HEAD).await?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(call.fail(response).await),
        }
    }

    /// Every tag of the repository, following `Link: <...>; rel="next"` pages.
    pub async fn tags(&self, repository: &Reference) -> Result<Vec<String>, Error> {
        let call = Call::new(repository, "tag list", false);
        let mut url = self.url(repository, "tags/list").await?;
        if let Some(n) = self.options.page_size {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let mut tags = Vec::new();
        loop {
            let page = url.clone();
            let response = self.send(&call, &|http| http.get(page.clone())).await?;
            if !response.status().is_success() {
                return Err(call.fail(response).await);
            }
            let next = link::next_url(&page, response.headers())
                .map_err(|e| call.protocol(e.to_string()))?;
            let body = response.bytes().await.map_err(|e| call.http_error(e))?;
            let value: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| call.protocol(format!("answer is not JSON: {e}")))?;
            tags.extend(
                value["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_string)),
            );
            match next {
                Some(next) => url = next,
                None => return Ok(tags),
            }
        }
    }

    /// The manifest or index the reference names, as received; its digest is checked when
    /// the reference has one.
    pub async fn inspect(&self, reference: &Reference) -> Result<Inspected, Error> {
        let (call, response) = self.manifest(reference, Method::GET).await?;
        if !response.status().is_success() {
            return Err(call.fail(response).await);
        }
        let header_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_string());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| call.http_error(e))?
            .to_vec();
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        if let Some(expected) = &reference.digest
            && *expected != digest
        {
            return Err(Error::DigestMismatch {
                registry: reference.registry.clone(),
                repository: reference.repository.clone(),
                expected: expected.clone(),
                actual: digest,
            });
        }
        let body_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_string));
        let media_type = body_type
            .or(header_type)
            .ok_or_else(|| call.protocol("the answer has no media type"))?;
        Ok(Inspected {
            reference: reference.to_string(),
            media_type,
            digest,
            bytes,
        })
    }
}

/// A `WWW-Authenticate` challenge: scheme and parameters.
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn parse_challenge(headers: &HeaderMap) -> Option<Challenge> {
    let text = headers.get(WWW_AUTHENTICATE)?.to_str().ok()?.trim();
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut params = Vec::new();
    let mut chars = rest.trim().chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.push((key.trim().to_string(), value.trim().to_string()));
    }
    Some(Challenge {
        scheme: scheme.to_string(),
        params,
    })
}

impl Client {
    pub(crate) fn blob_call<'a>(reference: &'a Reference, digest: &str) -> Call<'a> {
        Call::new(reference, format!("blob {digest}"), false)
    }

    pub(crate) async fn get_blob(&self, call: &Call<'_>, digest: &str) -> Result<Response, Error> {
        let url = self.url(call.reference, &format!("blobs/{digest}")).await?;
        let response = self.send(call, &|http| http.get(url.clone())).await?;
        if !response.status().is_success() {
            return Err(call.fail(response).await);
        }
        Ok(response)
    }

    /// A whole (small) blob, its digest checked: configs and other JSON.
    pub async fn blob_bytes(&self, reference: &Reference, digest: &str) -> Result<Vec<u8>, Error> {
        let call = Self::blob_call(reference, digest);
        let response = self.get_blob(&call, digest).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| call.http_error(e))?
            .to_vec();
        let actual = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        if actual != digest {
            return Err(Error::DigestMismatch {
                registry: reference.registry.clone(),
                repository: reference.repository.clone(),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, LINK};

    #[test]
    fn challenges_and_links() {
        let mut headers = HeaderMap::new();
        headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
            ),
        );
        headers.insert(
            LINK,
            HeaderValue::from_static(r#"</v2/a/tags/list?last=x&n=2>; rel="next""#),
        );
        let challenge = parse_challenge(&headers).unwrap();
        assert_eq!(challenge.scheme, "Bearer");
        assert_eq!(challenge.param("realm"), Some("https://auth.example/token"));
        assert_eq!(challenge.param("service"), Some("registry.example"));
        assert_eq!(challenge.param("scope"), Some("repository:a/b:pull,push"));
        assert_eq!(link::next(&headers), Some("/v2/a/tags/list?last=x&n=2"));
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_detail(
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
            ),
            ": MANIFEST_UNKNOWN manifest unknown"
        );
        assert_eq!(error_detail(b"nope"), "");
    }
}
