//! Where `release verify` reads a release from: a directory or an http(s) base. Objects are
//! read as streams with a byte limit, never whole into memory first; redirects are
//! followed only to http and https.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

use boxwright_http::{ClientConfig, Redirects};

use crate::Error;

/// The most bytes a manifest or a signature may have (1 MiB).
pub const MAX_SIGNED_BYTES: u64 = 1 << 20;
/// The size of the pieces a file is read in.
const PIECE: usize = 64 * 1024;
/// The longest one object's download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// A directory or an http(s) base URL.
pub enum Base {
    Dir(PathBuf),
    Url(String, reqwest::Client),
}

/// Why a read failed: the object is not as it should be (a failed check), is missing, or
/// could not be read (an error).
pub(crate) enum ReadError {
    /// Cut short, too large, or redirected somewhere refused.
    Check(Error),
    /// No such file, or HTTP 404.
    Missing(Error),
    Other(Error),
}

/// An object being read: a file or a response body.
enum Body {
    File(std::fs::File, u64),
    Http(reqwest::Response),
}

impl Base {
    /// A base from `release verify`'s argument: an http(s) URL or a directory.
    pub fn new(text: &str) -> Result<Base, Error> {
        if text.starts_with("http://") || text.starts_with("https://") {
            // Redirects are followed within http(s), at most 10; one elsewhere comes back as
            // the answer and is refused in `open`.
            let config = ClientConfig {
                redirects: Redirects::Web,
                ..ClientConfig::default()
            };
            let client = boxwright_http::client(&config).map_err(Error::Client)?;
            Ok(Base::Url(text.trim_end_matches('/').to_string(), client))
        } else if let Some((scheme, _)) = text.split_once("://") {
            Err(Error::UnsupportedBase {
                scheme: scheme.to_string(),
            })
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
    pub(crate) async fn read_signed_part(&self, relative: &str) -> Result<Vec<u8>, ReadError> {
        let mut bytes = Vec::new();
        let size = self
            .stream(relative, MAX_SIGNED_BYTES, |piece| {
                bytes.extend_from_slice(piece);
                Ok(())
            })
            .await?;
        if size.is_none() {
            return Err(ReadError::Check(Error::SignedPartTooLarge {
                name: self.name(relative),
            }));
        }
        Ok(bytes)
    }

    /// Passes `relative` to `sink` piece by piece: `Some(size)` when it ended within `limit`
    /// bytes, `None` as soon as it is known to be longer (announced, or more arrived; the
    /// piece that crosses the limit is not passed on). A download ends within
    /// [`DOWNLOAD_TIMEOUT`].
    pub(crate) async fn stream(
        &self,
        relative: &str,
        limit: u64,
        sink: impl FnMut(&[u8]) -> Result<(), ReadError>,
    ) -> Result<Option<u64>, ReadError> {
        let read = self.stream_unlimited(relative, limit, sink);
        if matches!(self, Base::Dir(_)) {
            return read.await;
        }
        tokio::time::timeout(DOWNLOAD_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| {
                Err(ReadError::Check(Error::Stalled {
                    name: self.name(relative),
                    seconds: DOWNLOAD_TIMEOUT.as_secs(),
                }))
            })
    }

    async fn stream_unlimited(
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
            return Err(ReadError::Check(Error::CutShort {
                name,
                size,
                declared,
            }));
        }
        Ok(Some(size))
    }

    async fn open(&self, relative: &str) -> Result<Body, ReadError> {
        match self {
            Base::Dir(dir) => {
                let path = dir.join(relative);
                let cannot = |source: std::io::Error| {
                    if source.kind() == std::io::ErrorKind::NotFound {
                        return ReadError::Missing(Error::FileMissing { path: path.clone() });
                    }
                    ReadError::Other(Error::Read {
                        path: path.clone(),
                        source,
                    })
                };
                let file = std::fs::File::open(&path).map_err(cannot)?;
                let length = file.metadata().map_err(cannot)?.len();
                Ok(Body::File(file, length))
            }
            Base::Url(url, client) => open_url(client, format!("{url}/{relative}")).await,
        }
    }
}

/// A GET of `url`, its answer checked: refused redirects and 404 told apart.
async fn open_url(client: &reqwest::Client, url: String) -> Result<Body, ReadError> {
    let response = match client.get(&url).send().await {
        Ok(response) => response,
        Err(source) if source.is_redirect() => {
            let reason = innermost(&source);
            return Err(ReadError::Check(Error::RedirectRefused { url, reason }));
        }
        Err(source) => return Err(ReadError::Other(Error::Get { url, source })),
    };
    // A redirect the client did not follow: to a scheme it cannot even parse as a request
    // target (file:, data:...). Never read as an empty body.
    if response.status().is_redirection() {
        let location = boxwright_http::unfollowed(&response).unwrap_or_default();
        let reason = redirect_refusal(&location);
        return Err(ReadError::Check(Error::RedirectRefused { url, reason }));
    }
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(ReadError::Missing(Error::NotFound { url }));
    }
    match response.error_for_status() {
        Ok(response) => Ok(Body::Http(response)),
        Err(source) => Err(ReadError::Other(Error::Get { url, source })),
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
                        Err(source) => {
                            return Err(ReadError::Other(Error::Read {
                                path: PathBuf::from(name),
                                source,
                            }));
                        }
                    }
                };
                Ok((n > 0).then(|| &buffer[..n]))
            }
            Body::Http(response) => {
                let chunk = response.chunk().await.map_err(|source| {
                    ReadError::Check(Error::Interrupted {
                        name: name.to_string(),
                        source,
                    })
                })?;
                Ok(chunk.map(|chunk| {
                    buffer.clear();
                    buffer.extend_from_slice(&chunk);
                    &buffer[..]
                }))
            }
        }
    }
}

/// Why a redirect to `location` is not followed.
fn redirect_refusal(location: &str) -> String {
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
    fn refused_redirects_name_their_location() {
        for refused in ["file:///etc/passwd", "ftp://example.org/a", "data:,x"] {
            let reason = redirect_refusal(refused);
            assert!(reason.contains(refused), "{reason}");
            assert!(reason.contains("only http and https"), "{reason}");
        }
    }

    #[test]
    fn bases_by_scheme() {
        assert!(matches!(Base::new("dir/x"), Ok(Base::Dir(_))));
        let url = Base::new("http://127.0.0.1:1/r/").unwrap();
        assert_eq!(
            url.name("manifest.json"),
            "http://127.0.0.1:1/r/manifest.json"
        );
        let error = Base::new("ftp://x/y").err().unwrap();
        assert!(error.to_string().starts_with("ftp:// bases"), "{error}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_file_past_the_limit_is_not_passed_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), vec![7_u8; 10]).unwrap();
        let base = Base::Dir(dir.path().to_path_buf());
        let mut seen = 0;
        let read = base
            .stream("a", 9, |piece| {
                seen += piece.len();
                Ok(())
            })
            .await;
        assert!(matches!(read, Ok(None)));
        assert_eq!(seen, 0);
        let read = base.stream("a", 10, |_| Ok(())).await;
        assert!(matches!(read, Ok(Some(10))));
        let missing = base.read_signed_part("b").await;
        assert!(matches!(missing, Err(ReadError::Missing(_))));
    }
}
