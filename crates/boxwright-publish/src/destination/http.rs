//! What the GitHub and GitLab destinations share: the client, one request with a time limit,
//! answers read whole or hashed as they stream, and request bodies that report progress.

use std::time::Duration;

use boxwright_http::{ClientConfig, RetryPolicy};
use futures_util::StreamExt as _;
use reqwest::{Method, RequestBuilder, StatusCode};

use crate::object::Digests;
use crate::{Error, Progress};

/// The longest one request to an API may take, answer included.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Attempts of a request to the GitHub or GitLab API outside the publication order (finding
/// or creating a release): 0.2 s, doubling, at most four tries.
pub(super) const API_RETRY: RetryPolicy = RetryPolicy {
    attempts: 4,
    backoff: Duration::from_millis(200),
};

/// The API client: boxwright's one client builder, redirects followed within http(s) (asset
/// downloads are redirected to storage; reqwest drops the token on the way).
pub(super) fn client() -> Result<reqwest::Client, Error> {
    boxwright_http::client(&ClientConfig::with_read_timeout(REQUEST_TIMEOUT)).map_err(Error::Client)
}

/// An answer read whole.
pub(super) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    url: String,
}

/// Sends `request` (`method` to `url`) and reads the whole answer, within [`REQUEST_TIMEOUT`].
pub(super) async fn exchange(
    request: RequestBuilder,
    method: &Method,
    url: &str,
) -> Result<Answer, Error> {
    let exchange = async {
        let response = request.send().await.map_err(|source| Error::Request {
            method: method.clone(),
            url: url.to_string(),
            source,
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|source| Error::Answer {
            url: url.to_string(),
            source,
        })?;
        Ok(Answer {
            status,
            body: body.to_vec(),
            url: url.to_string(),
        })
    };
    within(url, exchange).await
}

async fn within<T>(url: &str, future: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::time::timeout(REQUEST_TIMEOUT, future)
        .await
        .unwrap_or_else(|_| {
            Err(Error::TimedOut {
                url: url.to_string(),
                seconds: REQUEST_TIMEOUT.as_secs(),
            })
        })
}

impl Answer {
    /// The body of a successful answer; an error naming the status and URL otherwise.
    pub fn success(self) -> Result<Vec<u8>, Error> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        Err(Error::Status {
            status: self.status,
            body: excerpt(&self.body),
            url: self.url,
        })
    }

    /// The JSON of a successful answer.
    pub fn json(self) -> Result<serde_json::Value, Error> {
        let url = self.url.clone();
        serde_json::from_slice(&self.success()?).map_err(|source| Error::NotJson { url, source })
    }
}

/// The start of an answer's body, for messages.
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}

/// The size and SHA-256 of what `request` (a GET of `url`) answers, hashed as it streams;
/// `None` for 404.
async fn download_digests(request: RequestBuilder, url: &str) -> Result<Option<Digests>, Error> {
    let download = async {
        let response = request.send().await.map_err(|source| Error::Request {
            method: Method::GET,
            url: url.to_string(),
            source,
        })?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return Err(Error::Status {
                url: url.to_string(),
                status,
                body: excerpt(&body),
            });
        }
        let answer = |source| Error::Answer {
            url: url.to_string(),
            source,
        };
        Digests::of_stream(response.bytes_stream(), answer)
            .await
            .map(Some)
    };
    within(url, download).await
}

/// [`download_digests`] for the read-back of the destination's object `name`: its errors
/// as [`Error::Download`] of that name.
pub(super) async fn read_back(
    request: RequestBuilder,
    url: &str,
    name: String,
) -> Result<Option<Digests>, Error> {
    download_digests(request, url)
        .await
        .map_err(|source| Error::Download {
            name,
            source: Box::new(source),
        })
}

/// A request body sent in 64 KiB pieces, reported to `progress` as reqwest takes them. The
/// caller sets Content-Length, so the request is not chunked.
pub(super) fn counted_body(body: &[u8], progress: &Progress) -> reqwest::Body {
    let progress = progress.clone();
    let pieces: Vec<Vec<u8>> = body.chunks(64 * 1024).map(<[u8]>::to_vec).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces).map(move |piece| {
        progress.add(piece.len() as u64);
        Ok::<_, std::io::Error>(piece)
    }))
}
