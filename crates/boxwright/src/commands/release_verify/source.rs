//! Where `release verify` reads a release from: a directory or an http(s) base. Objects are
//! read as streams with a byte limit, never whole into memory first; redirects are
//! followed only to http and https.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::bail;

/// The most bytes a manifest or a signature may have (1 MiB).
pub const MAX_SIGNED_BYTES: u64 = 1 << 20;
/// The most redirects followed for one object.
const MAX_REDIRECTS: usize = 10;
/// The size of the pieces a file is read in.
const PIECE: usize = 64 * 1024;

/// A directory or an http(s) base URL.
pub enum Base {
    Dir(PathBuf),
    Url(String, reqwest::Client),
}

/// Why a read failed: the object is not as it should be (exit 1), is missing, or could not
/// be read (exit 2).
pub enum ReadError {
    /// Cut short, too large, or redirected somewhere refused.
    Check(String),
    /// No such file, or HTTP 404.
    Missing(String),
    Other(anyhow::Error),
}

/// An object being read: a file or a response body.
enum Body {
    File(std::fs::File, u64),
    Http(reqwest::Response),
}

impl Base {
    /// A base from `release verify`'s argument.
    pub fn new(text: &str) -> anyhow::Result<Base> {
        if text.starts_with("http://") || text.starts_with("https://") {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let client = reqwest::Client::builder()
                .user_agent(concat!("boxwright/", env!("CARGO_PKG_VERSION")))
                .timeout(std::time::Duration::from_secs(300))
                .redirect(redirect_policy())
                .build()?;
            Ok(Base::Url(text.trim_end_matches('/').to_string(), client))
        } else if let Some((scheme, _)) = text.split_once("://") {
            bail!("{scheme}:// bases are not supported yet; give a directory or an http(s) URL")
        } else {
            Ok(Base::Dir(PathBuf::from(text)))
        }
    }

    /// What to call `relative` in messages: a path or a URL.
    pub fn name(&self, relative: &str) -> String {
        match self {
            Base::Dir(dir) => dir.join(relative).display().to_string(),
            Base::Url(url, _) => format!("{url}/{relative}"),
        }
    }

    /// A manifest or signature, refused when larger than [`MAX_SIGNED_BYTES`].
    pub async fn read_signed_part(&self, relative: &str) -> Result<Vec<u8>, ReadError> {
        let mut bytes = Vec::new();
        let size = self
            .stream(relative, MAX_SIGNED_BYTES, |piece| {
                bytes.extend_from_slice(piece);
                Ok(())
            })
            .await?;
        if size.is_none() {
            return Err(ReadError::Check(format!(
                "{} is larger than 1 MiB, the most a manifest or signature may be",
                self.name(relative)
            )));
        }
        Ok(bytes)
    }

    /// Passes `relative` to `sink` piece by piece: `Some(size)` when it ended within `limit`
    /// bytes, `None` as soon as it is known to be longer (announced, or more arrived; the
    /// piece that crosses the limit is not passed on).
    pub async fn stream(
        &self,
        relative: &str,
        limit: u64,
        mut sink: impl FnMut(&[u8]) -> Result<(), ReadError>,
    ) -> Result<Option<u64>, ReadError> {
        let name = self.name(relative);
        let mut body = self.open(relative).await?;
        let declared = body.declared();
        if declared.is_some_and(|n| n > limit) {
            return Ok(None);
        }
        let mut size = 0_u64;
        let mut buffer = Vec::new();
        while let Some(piece) = body.piece(&mut buffer, &name).await? {
            size += piece.len() as u64;
            if size > limit {
                return Ok(None);
            }
            sink(piece)?;
        }
        if let Some(declared) = declared.filter(|&n| n != size) {
            return Err(ReadError::Check(format!(
                "download of {name} cut short: {size} of {declared} bytes"
            )));
        }
        Ok(Some(size))
    }

    async fn open(&self, relative: &str) -> Result<Body, ReadError> {
        match self {
            Base::Dir(dir) => {
                let path = dir.join(relative);
                let cannot = |e: std::io::Error| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        return ReadError::Missing(format!("{} does not exist", path.display()));
                    }
                    ReadError::Other(
                        anyhow::Error::new(e).context(format!("cannot read {}", path.display())),
                    )
                };
                let file = std::fs::File::open(&path).map_err(cannot)?;
                let length = file.metadata().map_err(cannot)?.len();
                Ok(Body::File(file, length))
            }
            Base::Url(url, client) => {
                let url = format!("{url}/{relative}");
                let response = client.get(&url).send().await.map_err(|e| {
                    if e.is_redirect() {
                        return ReadError::Check(format!("cannot get {url}: {}", innermost(&e)));
                    }
                    ReadError::Other(anyhow::Error::new(e).context(format!("cannot get {url}")))
                })?;
                // A redirect the client did not follow: to a scheme it cannot even parse
                // as a request target (file:, data:...). Never read as an empty body.
                if response.status().is_redirection() {
                    let location = response
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                        .unwrap_or_default();
                    let reason = redirect_refusal_text(&location);
                    return Err(ReadError::Check(format!("cannot get {url}: {reason}")));
                }
                if response.status() == reqwest::StatusCode::NOT_FOUND {
                    return Err(ReadError::Missing(format!("{url} does not exist (404)")));
                }
                let response = response.error_for_status().map_err(|e| {
                    ReadError::Other(anyhow::Error::new(e).context(format!("cannot get {url}")))
                })?;
                Ok(Body::Http(response))
            }
        }
    }
}

impl Body {
    /// The length the file has or the server announced.
    fn declared(&self) -> Option<u64> {
        match self {
            Body::File(_, length) => Some(*length),
            Body::Http(response) => response.content_length(),
        }
    }

    /// The next piece (kept in `buffer`), `None` at the end.
    async fn piece<'b>(
        &mut self,
        buffer: &'b mut Vec<u8>,
        name: &str,
    ) -> Result<Option<&'b [u8]>, ReadError> {
        match self {
            Body::File(file, _) => {
                buffer.resize(PIECE, 0);
                let n = loop {
                    match file.read(buffer) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            return Err(ReadError::Other(
                                anyhow::Error::new(e).context(format!("cannot read {name}")),
                            ));
                        }
                    }
                };
                Ok((n > 0).then(|| &buffer[..n]))
            }
            Body::Http(response) => {
                let chunk = response
                    .chunk()
                    .await
                    .map_err(|e| ReadError::Check(format!("download of {name} cut short: {e}")))?;
                Ok(chunk.map(|chunk| {
                    buffer.clear();
                    buffer.extend_from_slice(&chunk);
                    &buffer[..]
                }))
            }
        }
    }
}

/// Follows at most [`MAX_REDIRECTS`] redirects, and only to http and https: a server must
/// not turn a download into a read of a local file.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        match redirect_refusal(attempt.url(), attempt.previous().len()) {
            Some(reason) => attempt.error(reason),
            None => attempt.follow(),
        }
    })
}

/// Why a redirect to `location`, after `hops` requests, is not followed; `None` to follow.
fn redirect_refusal(location: &reqwest::Url, hops: usize) -> Option<String> {
    if !matches!(location.scheme(), "http" | "https") {
        return Some(redirect_refusal_text(location.as_str()));
    }
    (hops > MAX_REDIRECTS)
        .then(|| format!("more than {MAX_REDIRECTS} redirects, the last to {location}"))
}

fn redirect_refusal_text(location: &str) -> String {
    format!("redirect to {location:?} refused: only http and https redirects are followed")
}

/// The last message in `error`'s chain of causes.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(source) = last.source() {
        last = source;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_only_to_http_and_https() {
        let url = |text: &str| reqwest::Url::parse(text).unwrap();
        assert_eq!(redirect_refusal(&url("https://example.org/a"), 1), None);
        assert_eq!(redirect_refusal(&url("http://127.0.0.1:8/a"), 1), None);
        for refused in ["file:///etc/passwd", "ftp://example.org/a", "data:,x"] {
            let reason = redirect_refusal(&url(refused), 1).expect(refused);
            assert!(reason.contains(refused), "{reason}");
        }
        let reason = redirect_refusal(&url("https://example.org/a"), MAX_REDIRECTS + 1).unwrap();
        assert!(reason.contains("more than 10 redirects"), "{reason}");
    }
}
