//! The one place boxwright builds HTTP clients, and the policies every client shares.
//!
//! - [`client`]: a `reqwest::Client` with rustls (ring provider) checking certificates against
//!   the system's trust store, extra roots from a PEM bundle, boxwright's user agent, connect and
//!   read timeouts, and a [`Redirects`] policy that never leaves http(s).
//! - [`RetryPolicy`]: attempts and exponential backoff, and [`RetryPolicy::run`], the retry loop;
//!   [`retryable_status`] and [`retryable_error`] say what is worth another attempt.
//! - [`link`]: pagination by `Link: <url>; rel="next"`.

pub mod link;
mod redirect;
mod retry;

use std::time::Duration;

use reqwest::header::HeaderMap;

pub use redirect::{Redirects, unfollowed};
pub use retry::{RetryPolicy, retryable_error, retryable_status};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("boxwright/", env!("CARGO_PKG_VERSION"));

/// Errors building a client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the CA certificates")]
    CaBundle(#[source] reqwest::Error),
    #[error("the CA file holds no certificate")]
    NoCertificates,
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// How a client is built. `ClientConfig::default()` suits a download: 30 s to connect, 60 s
/// between two reads, redirects followed within http(s).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response (not a limit on the whole transfer);
    /// `None` waits as long as the server takes (an upload's answer after server-side work).
    pub read_timeout: Option<Duration>,
    /// Limit on a whole request, answer included; `None` for none (downloads of any size).
    pub timeout: Option<Duration>,
    /// Extra trusted roots, a PEM bundle (`--ca-file`).
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any certificate (`--insecure` registries only).
    pub accept_invalid_certs: bool,
    /// Headers sent with every request (mark secrets sensitive).
    pub default_headers: HeaderMap,
    pub redirects: Redirects,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Some(Duration::from_secs(60)),
            timeout: None,
            ca_pem: None,
            accept_invalid_certs: false,
            default_headers: HeaderMap::new(),
            redirects: Redirects::Web,
        }
    }
}

impl ClientConfig {
    /// The default configuration with another read timeout.
    pub fn with_read_timeout(read_timeout: Duration) -> Self {
        ClientConfig {
            read_timeout: Some(read_timeout),
            ..ClientConfig::default()
        }
    }
}

/// Builds a client from `config`.
pub fn client(config: &ClientConfig) -> Result<reqwest::Client, Error> {
    // Every client of the process uses ring; a second install is a no-op error.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(config.connect_timeout)
        .default_headers(config.default_headers.clone())
        .redirect(config.redirects.policy());
    if let Some(read_timeout) = config.read_timeout {
        builder = builder.read_timeout(read_timeout);
    }
    if let Some(timeout) = config.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(pem) = &config.ca_pem {
        let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(Error::CaBundle)?;
        if certificates.is_empty() {
            return Err(Error::NoCertificates);
        }
        builder = builder.tls_certs_merge(certificates);
    }
    if config.accept_invalid_certs {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder.build().map_err(Error::Client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_build_and_refuse_an_empty_ca_bundle() {
        assert!(client(&ClientConfig::default()).is_ok());
        let empty = ClientConfig {
            ca_pem: Some(b"no certificate here\n".to_vec()),
            ..ClientConfig::default()
        };
        assert!(matches!(client(&empty), Err(Error::NoCertificates)));
    }

    /// A one-shot server answering every connection with `response`.
    async fn answering(response: &'static str) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        format!("http://{addr}/")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn redirects_away_from_http_come_back_unfollowed() {
        let url = answering(
            "HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        for redirects in [Redirects::Web, Redirects::SameOrigin, Redirects::None] {
            let config = ClientConfig {
                redirects,
                ..ClientConfig::default()
            };
            let response = client(&config).unwrap().get(&url).send().await.unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::FOUND);
            assert_eq!(unfollowed(&response).as_deref(), Some("file:///etc/passwd"));
        }
        let ok = answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        let response = client(&ClientConfig::default())
            .unwrap()
            .get(&ok)
            .send()
            .await
            .unwrap();
        assert_eq!(unfollowed(&response), None);
    }
}
