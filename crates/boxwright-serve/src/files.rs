//! GET and HEAD of the repository tree.
//!
//! - Paths are percent-decoded, then split; `..`, backslashes and NUL are refused (400) and
//!   any component starting with `.` (the upload staging area, hidden files) is not found.
//! - The resolved file must be a regular file whose canonical path lies under the canonical
//!   root, so a symlink pointing outside is not served (404). No directory listings.
//! - The file is opened first and its metadata read from the open file, so `ETag`,
//!   `Last-Modified`, length and content always describe the same bytes, even while an index
//!   is being replaced by a rename.
//! - Conditional requests: `If-None-Match` (weak comparison, `*`), else `If-Modified-Since`,
//!   give 304. One byte range (`bytes=a-b`, `a-`, `-n`) gives 206, honouring `If-Range`;
//!   several ranges are answered with the whole file (200), an unsatisfiable one with 416.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

/// Read size of file bodies.
const CHUNK: usize = 64 * 1024;

/// Answers a GET or HEAD for `uri_path` under `root` (canonical).
pub async fn serve(root: &Path, method: &Method, uri_path: &str, headers: &HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let relative = match request_path(uri_path) {
        Ok(Some(relative)) => relative,
        Ok(None) => return not_found(),
        Err(reason) => return (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response(),
    };
    let Ok(path) = tokio::fs::canonicalize(root.join(&relative)).await else {
        return not_found();
    };
    // Inside the root, and not inside a hidden directory reached through a symlink.
    let inside = path.strip_prefix(root).is_ok_and(|relative| {
        relative.components().all(
            |c| matches!(c, Component::Normal(name) if !name.to_string_lossy().starts_with('.')),
        )
    });
    if !inside {
        return not_found();
    }
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        return not_found();
    };
    let Ok(metadata) = file.metadata().await else {
        return not_found();
    };
    if !metadata.is_file() {
        return not_found();
    }
    let size = metadata.len();
    let modified = metadata.modified().unwrap_or(UNIX_EPOCH);
    let etag = format!(
        "\"{:x}-{:x}-{:x}\"",
        metadata.ino(),
        size,
        modified
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let last_modified = httpdate::fmt_http_date(modified);
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::CONTENT_TYPE, content_type(&path));
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&last_modified) {
        response_headers.insert(header::LAST_MODIFIED, value);
    }
    if not_modified(headers, &etag, modified) {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| if_range_holds(headers, &etag, &last_modified))
        .map(|v| parse_range(v, size));
    let (status, start, length) = match range {
        None | Some(RangeRequest::Ignored) => (StatusCode::OK, 0, size),
        Some(RangeRequest::Unsatisfiable) => {
            let mut h = response_headers;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                h.insert(header::CONTENT_RANGE, v);
            }
            return (StatusCode::RANGE_NOT_SATISFIABLE, h).into_response();
        }
        Some(RangeRequest::Bytes { start, end }) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
                response_headers.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
    };
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if method == Method::HEAD {
        return (status, response_headers).into_response();
    }
    if start > 0 && file.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(length), CHUNK);
    (status, response_headers, Body::from_stream(stream)).into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// The relative path a request names; `None` for names never served (hidden components,
/// directories), an error for paths that try to leave the tree.
fn request_path(uri_path: &str) -> Result<Option<PathBuf>, &'static str> {
    let decoded = percent_encoding::percent_decode_str(uri_path)
        .decode_utf8()
        .map_err(|_| "path is not UTF-8")?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return Err("invalid character in path");
    }
    let mut relative = PathBuf::new();
    for part in decoded.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("path leaves the repository"),
            hidden if hidden.starts_with('.') => return Ok(None),
            name => relative.push(name),
        }
    }
    if relative.as_os_str().is_empty()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Ok(None);
    }
    Ok(Some(relative))
}

/// Whether the client's copy is current: `If-None-Match` decides when present, else
/// `If-Modified-Since`.
fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(value) = headers.get(header::IF_NONE_MATCH) {
        let Ok(value) = value.to_str() else {
            return false;
        };
        let bare = etag.trim_start_matches("W/");
        return value
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == bare);
    }
    let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    else {
        return false;
    };
    let seconds = modified
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(seconds) <= since
}

/// `If-Range`: the range applies only when the validator names the current file.
fn if_range_holds(headers: &HeaderMap, etag: &str, last_modified: &str) -> bool {
    headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == etag || v == last_modified)
}

#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// Not a single byte range: answer with the whole file.
    Ignored,
    Unsatisfiable,
    /// Inclusive bounds.
    Bytes {
        start: u64,
        end: u64,
    },
}

fn parse_range(value: &str, size: u64) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Ignored;
    };
    if spec.contains(',') {
        return RangeRequest::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignored;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        (true, true) => RangeRequest::Ignored,
        (true, false) => match parsed(last) {
            None => RangeRequest::Ignored,
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if size == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Bytes {
                start: size.saturating_sub(n),
                end: size - 1,
            },
        },
        (false, _) => {
            let Some(start) = parsed(first) else {
                return RangeRequest::Ignored;
            };
            let end = if last.is_empty() {
                Some(u64::MAX)
            } else {
                parsed(last)
            };
            match end {
                None => RangeRequest::Ignored,
                Some(end) if end < start => RangeRequest::Ignored,
                Some(_) if start >= size => RangeRequest::Unsatisfiable,
                Some(end) => RangeRequest::Bytes {
                    start,
                    end: end.min(size - 1),
                },
            }
        }
    }
}

/// Content types of repository files.
fn content_type(path: &Path) -> HeaderValue {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
    HeaderValue::from_static(match (name, extension) {
        ("InRelease" | "Release" | "Packages" | "Sources" | "APKINDEX" | "DESCRIPTION", _)
        | (_, "txt" | "pub") => "text/plain; charset=utf-8",
        (_, "deb" | "udeb") => "application/vnd.debian.binary-package",
        (_, "gz" | "tgz") => "application/gzip",
        (_, "xz") => "application/x-xz",
        (_, "zst") => "application/zstd",
        (_, "bz2") => "application/x-bzip2",
        (_, "gpg" | "sig") => "application/pgp-signature",
        (_, "asc") => "application/pgp-keys",
        (_, "json") => "application/json",
        (_, "html" | "htm") => "text/html; charset=utf-8",
        // Alpine packages have no registered type; not Android's `.apk`.
        _ => "application/octet-stream",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_tree_are_refused() {
        assert!(request_path("/../etc/passwd").is_err());
        assert!(request_path("/%2e%2e/etc/passwd").is_err());
        assert!(request_path("/a/%2E%2E/%2e%2e/etc").is_err());
        assert!(request_path("/a/..%2f..%2fetc").is_err());
        assert!(request_path("/a%5c..%5cetc").is_err());
        assert!(request_path("/a%00b").is_err());
        assert_eq!(request_path("/.uploads/x").unwrap(), None);
        assert_eq!(request_path("/").unwrap(), None);
        assert_eq!(
            request_path("/3.20/main//x86_64/APKINDEX.tar.gz").unwrap(),
            Some(PathBuf::from("3.20/main/x86_64/APKINDEX.tar.gz"))
        );
        assert_eq!(
            request_path("/a%20b.deb").unwrap(),
            Some(PathBuf::from("a b.deb"))
        );
    }

    #[test]
    fn ranges() {
        use RangeRequest::{Bytes, Ignored, Unsatisfiable};
        assert_eq!(parse_range("bytes=0-9", 100), Bytes { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=90-", 100), Bytes { start: 90, end: 99 });
        assert_eq!(parse_range("bytes=-10", 100), Bytes { start: 90, end: 99 });
        assert_eq!(parse_range("bytes=-500", 100), Bytes { start: 0, end: 99 });
        assert_eq!(
            parse_range("bytes=50-500", 100),
            Bytes { start: 50, end: 99 }
        );
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ignored);
        assert_eq!(parse_range("items=0-1", 100), Ignored);
        assert_eq!(parse_range("bytes=5-1", 100), Ignored);
    }

    #[test]
    fn content_types() {
        let t = |n: &str| content_type(Path::new(n)).to_str().unwrap().to_string();
        assert_eq!(
            t("a_1.0_amd64.deb"),
            "application/vnd.debian.binary-package"
        );
        assert_eq!(t("APKINDEX.tar.gz"), "application/gzip");
        assert_eq!(t("Packages.gz"), "application/gzip");
        assert_eq!(t("InRelease"), "text/plain; charset=utf-8");
        assert_eq!(t("Release"), "text/plain; charset=utf-8");
        assert_eq!(t("hello-1.0-r0.apk"), "application/octet-stream");
    }
}
