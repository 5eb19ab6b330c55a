//! `POST /upload`: the multipart body reposerve takes (`version`, `repo`, `arch`, one or more
//! `file`), streamed into a staging directory inside the repository root (same file system,
//! so files are later moved into place by rename), within the configured limits. Every read
//! of the body waits at most `limits.body_timeout`: a stalled upload is answered 408, and its
//! staging directory is removed with everything in it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::http::StatusCode;
use tokio::io::AsyncWriteExt as _;

use crate::config::Limits;

/// Directory under the root where uploads are staged; never served, emptied at start.
pub const STAGING_DIR: &str = ".uploads";
/// Longest accepted text field.
const MAX_FIELD: usize = 256;

/// A refused request: the status and a reason for the client and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: String,
}

impl Refusal {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
        }
    }
}

/// An upload received in full, before any check of its packages.
#[derive(Debug)]
pub struct Staged {
    /// Removed (with the files still in it) when dropped.
    pub dir: tempfile::TempDir,
    pub version: String,
    pub repo: String,
    pub arch: String,
    pub files: Vec<StagedFile>,
}

/// One `file` field.
#[derive(Debug)]
pub struct StagedFile {
    /// The file name the client sent (for messages only).
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
}

impl StagedFile {
    /// The staged path as messages print it (replaced by the client's name in answers).
    pub fn staged_display(&self) -> String {
        self.path.display().to_string()
    }
}

/// Reads the whole multipart body into a new directory under `staging`.
pub async fn receive(
    mut multipart: Multipart,
    staging: &Path,
    limits: Limits,
) -> Result<Staged, Refusal> {
    let dir = tempfile::Builder::new()
        .prefix("upload-")
        .tempdir_in(staging)
        .map_err(|e| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot stage the upload: {e}"),
            )
        })?;
    let (mut version, mut repo, mut arch) = (None, None, None);
    let mut files = Vec::new();
    let mut total: u64 = 0;
    loop {
        let Some(field) = within(limits.body_timeout, multipart.next_field()).await? else {
            break;
        };
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "version" => version = Some(text(field, &name, limits).await?),
            "repo" => repo = Some(text(field, &name, limits).await?),
            "arch" => arch = Some(text(field, &name, limits).await?),
            "file" => {
                if files.len() >= limits.max_files {
                    return Err(Refusal::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("more than {} files in one upload", limits.max_files),
                    ));
                }
                let client_name = field.file_name().unwrap_or("(unnamed)").to_string();
                let path = dir.path().join(format!("{}.pkg", files.len()));
                let size = store(field, &path, &mut total, limits).await?;
                files.push(StagedFile {
                    name: client_name,
                    path,
                    size,
                });
            }
            other => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown field `{other}` (expected version, repo, arch, file)"),
                ));
            }
        }
    }
    let missing =
        |what: &str| Refusal::new(StatusCode::BAD_REQUEST, format!("missing field `{what}`"));
    let version = version.ok_or_else(|| missing("version"))?;
    let repo = repo.ok_or_else(|| missing("repo"))?;
    let arch = arch.ok_or_else(|| missing("arch"))?;
    if files.is_empty() {
        return Err(missing("file"));
    }
    Ok(Staged {
        dir,
        version,
        repo,
        arch,
        files,
    })
}

/// The next piece of the body, or 408 when it does not come within `timeout`.
async fn within<T>(
    timeout: Duration,
    read: impl Future<Output = Result<T, MultipartError>>,
) -> Result<T, Refusal> {
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Refusal::new(e.status(), e.body_text())),
        Err(_) => Err(Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body stalled for more than {} s",
                timeout.as_secs()
            ),
        )),
    }
}

async fn text(mut field: Field<'_>, name: &str, limits: Limits) -> Result<String, Refusal> {
    let mut bytes = Vec::new();
    while let Some(chunk) = within(limits.body_timeout, field.chunk()).await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_FIELD {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("field `{name}` is longer than {MAX_FIELD} bytes"),
            ));
        }
    }
    String::from_utf8(bytes)
        .map(|s| s.trim().to_string())
        .map_err(|_| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("field `{name}` is not UTF-8"),
            )
        })
}

async fn store(
    mut field: Field<'_>,
    path: &Path,
    total: &mut u64,
    limits: Limits,
) -> Result<u64, Refusal> {
    let max_body = limits.max_body;
    let internal = |e: std::io::Error| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot stage the upload: {e}"),
        )
    };
    let mut file = tokio::fs::File::create(path).await.map_err(internal)?;
    let mut size = 0u64;
    while let Some(chunk) = within(limits.body_timeout, field.chunk()).await? {
        size += chunk.len() as u64;
        *total += chunk.len() as u64;
        if *total > max_body {
            return Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("upload larger than {max_body} bytes"),
            ));
        }
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    file.sync_all().await.map_err(internal)?;
    Ok(size)
}

/// Empties the staging directory (uploads cut short by a crash) and creates it.
pub fn prepare_staging(root: &Path) -> Result<PathBuf, crate::Error> {
    let staging = root.join(STAGING_DIR);
    match std::fs::remove_dir_all(&staging) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(crate::Error::io("empty the staging directory", &staging, e)),
    }
    std::fs::create_dir_all(&staging)
        .map_err(|e| crate::Error::io("create the staging directory", &staging, e))?;
    Ok(staging)
}
