use std::path::{Path, PathBuf};
use std::time::Duration;

use boxwright_http::{ClientConfig, RetryPolicy};
use boxwright_metadata::{Checksum, ChecksumAlgorithm};
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Error, FetchRequest, Progress, Source};

/// How downloads are made.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Fail instead of touching the network or a `file:` source when a file is not cached.
    pub offline: bool,
    /// Downloads at once.
    pub jobs: usize,
    /// Attempts per download for retryable failures.
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            offline: false,
            jobs: 4,
            attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// What happened to one download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Already in the cache with matching digests: nothing was transferred.
    Cached,
    /// Transferred and verified.
    Downloaded,
    /// A cached file did not match its digest and was transferred again.
    Replaced,
}

/// The result of one successful download.
#[derive(Debug, Clone, Serialize)]
pub struct FetchReport {
    pub target: String,
    pub name: String,
    pub url: String,
    pub path: PathBuf,
    pub outcome: Outcome,
    pub size: u64,
    pub sha256: String,
    /// Whether metadata pins a digest for this file.
    pub pinned: bool,
}

/// Fetches every request, `options.jobs` at a time; results come in request order.
pub async fn fetch_all(
    requests: &[FetchRequest],
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<Vec<Result<FetchReport, Error>>, Error> {
    // 30 s to connect, 60 s between two reads, redirects within http(s).
    let client = boxwright_http::client(&ClientConfig::default()).map_err(Error::Client)?;
    let results = futures_util::stream::iter(requests)
        .map(|request| fetch_one(&client, request, options, progress))
        .buffered(options.jobs.max(1))
        .collect()
        .await;
    Ok(results)
}

async fn fetch_one(
    client: &reqwest::Client,
    request: &FetchRequest,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<FetchReport, Error> {
    let report = |outcome, size, sha256| FetchReport {
        target: request.target.clone(),
        name: request.name.clone(),
        url: request.url.clone(),
        path: request.dest.clone(),
        outcome,
        size,
        sha256,
        pinned: !request.checksums.is_empty(),
    };
    let mut outcome = Outcome::Downloaded;
    if let Some(cached) = hash_file(&request.dest, &request.checksums).await? {
        if cached.mismatch(&request.checksums).is_none() {
            return Ok(report(Outcome::Cached, cached.size, cached.sha256));
        }
        outcome = Outcome::Replaced;
    }
    if options.offline {
        return Err(Error::NotCached {
            name: request.name.clone(),
            url: request.url.clone(),
            path: request.dest.clone(),
        });
    }
    let dir = request.dest.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    let policy = RetryPolicy {
        attempts: options.attempts,
        backoff: options.backoff,
    };
    let (temp, digests) = policy
        .run(
            || transfer(client, request, progress),
            Error::is_retryable,
            |attempt, error, wait| progress.retry(&request.name, attempt, error, wait),
        )
        .await
        .map_err(|(error, attempts)| {
            if attempts > 1 {
                Error::GaveUp {
                    url: request.url.clone(),
                    attempts,
                    last: Box::new(error),
                }
            } else {
                error
            }
        })?;
    if let Some((checksum, actual)) = digests.mismatch(&request.checksums) {
        // `temp` is dropped here, which removes it: nothing unverified stays in the cache.
        return Err(Error::ChecksumMismatch {
            name: request.name.clone(),
            url: request.url.clone(),
            algorithm: checksum.algorithm.key(),
            expected: checksum.hex.clone(),
            actual,
        });
    }
    // Temporary files are created private (0600); a cached download is an ordinary file.
    std::fs::set_permissions(&temp, std::os::unix::fs::PermissionsExt::from_mode(0o644)).map_err(
        |source| Error::Write {
            path: temp.to_path_buf(),
            source,
        },
    )?;
    temp.persist(&request.dest).map_err(|e| Error::Write {
        path: request.dest.clone(),
        source: e.error,
    })?;
    Ok(report(outcome, digests.size, digests.sha256))
}

/// Digests of a transfer or a cached file.
struct Digests {
    size: u64,
    sha256: String,
    sha512: Option<String>,
}

impl Digests {
    /// The first expected checksum that does not match, with the actual value.
    fn mismatch<'a>(&self, expected: &'a [Checksum]) -> Option<(&'a Checksum, String)> {
        expected.iter().find_map(|checksum| {
            let actual = match checksum.algorithm {
                ChecksumAlgorithm::Sha256 => Some(self.sha256.clone()),
                ChecksumAlgorithm::Sha512 => self.sha512.clone(),
            }
            .unwrap_or_default();
            (actual != checksum.hex).then_some((checksum, actual))
        })
    }
}

/// Hashes while bytes stream through.
struct Hashers {
    size: u64,
    sha256: Sha256,
    sha512: Option<Sha512>,
}

impl Hashers {
    fn new(expected: &[Checksum]) -> Self {
        let wants_sha512 = expected
            .iter()
            .any(|c| c.algorithm == ChecksumAlgorithm::Sha512);
        Hashers {
            size: 0,
            sha256: Sha256::new(),
            sha512: wants_sha512.then(Sha512::new),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.sha256.update(bytes);
        if let Some(h) = &mut self.sha512 {
            h.update(bytes);
        }
    }

    fn finish(self) -> Digests {
        Digests {
            size: self.size,
            sha256: hex::encode(self.sha256.finalize()),
            sha512: self.sha512.map(|h| hex::encode(h.finalize())),
        }
    }
}

/// Digests of an existing file, or `None` when there is none.
async fn hash_file(path: &Path, expected: &[Checksum]) -> Result<Option<Digests>, Error> {
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(e)),
    };
    let mut hashers = Hashers::new(expected);
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer).await.map_err(read_error)?;
        if n == 0 {
            break;
        }
        hashers.update(&buffer[..n]);
    }
    Ok(Some(hashers.finish()))
}

/// One attempt: the source's bytes into a temporary file next to the destination.
async fn transfer(
    client: &reqwest::Client,
    request: &FetchRequest,
    progress: &dyn Progress,
) -> Result<(tempfile::TempPath, Digests), Error> {
    let dir = request.dest.parent().unwrap_or(Path::new("."));
    let write_error = |source| Error::Write {
        path: dir.to_path_buf(),
        source,
    };
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", request.name))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(write_error)?;
    let (file, temp_path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut hashers = Hashers::new(&request.checksums);
    match &request.source {
        Source::Http(url) => {
            let mut response = client.get(url).send().await.map_err(|source| Error::Http {
                url: url.clone(),
                source,
            })?;
            let status = response.status();
            if !status.is_success() {
                return Err(Error::Status {
                    url: url.clone(),
                    status: status.as_u16(),
                });
            }
            let expected = response.content_length();
            let item = progress.begin(&request.name, expected);
            let result = async {
                while let Some(chunk) = response.chunk().await.map_err(|source| Error::Http {
                    url: url.clone(),
                    source,
                })? {
                    hashers.update(&chunk);
                    file.write_all(&chunk).await.map_err(write_error)?;
                    item.advance(chunk.len() as u64);
                }
                Ok(())
            }
            .await;
            item.finish();
            result?;
            if let Some(expected) = expected.filter(|e| *e != hashers.size) {
                return Err(Error::Truncated {
                    url: url.clone(),
                    expected,
                    received: hashers.size,
                });
            }
        }
        Source::File(path) => {
            let read_error = |source| Error::Read {
                path: path.clone(),
                source,
            };
            let mut source = tokio::fs::File::open(path).await.map_err(read_error)?;
            let total = source.metadata().await.map_err(read_error)?.len();
            let item = progress.begin(&request.name, Some(total));
            let mut buffer = vec![0; 1 << 20];
            loop {
                let n = source.read(&mut buffer).await.map_err(read_error)?;
                if n == 0 {
                    break;
                }
                hashers.update(&buffer[..n]);
                file.write_all(&buffer[..n]).await.map_err(write_error)?;
                item.advance(n as u64);
            }
            item.finish();
        }
    }
    file.flush().await.map_err(write_error)?;
    file.sync_all().await.map_err(write_error)?;
    Ok((temp_path, hashers.finish()))
}
