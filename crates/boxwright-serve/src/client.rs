//! `boxwright repo upload`: the client side of `POST /upload`.
//!
//! Files are grouped into one request per (version, repo, arch), as seed 003's
//! `apkdeploy.sh` posts one request per architecture directory:
//! - `arch`: the package's own architecture, read with `inspect`; when the file sits in
//!   `<repo>/<arch>/` (abuild's output layout) and that directory's name fits the package,
//!   the directory's name, and `repo` is the directory above it;
//! - `repo`: apk `--repo`, deb `--component` (else `--repo`), else that directory above;
//! - `version`: apk `--alpine`, else the running Alpine's `VERSION_ID` as `major.minor` from
//!   `/etc/os-release`, as apkdeploy.sh does; deb `--suite`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use boxwright_package::{PackageFormat, arch_matches, inspect};
use serde::Deserialize;

use crate::Error;

/// One request: the fields and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    pub version: String,
    pub repo: String,
    pub arch: String,
    pub files: Vec<PathBuf>,
}

/// What the user gave on the command line.
#[derive(Debug, Clone, Default)]
pub struct GroupOptions {
    /// apk: the Alpine version directory (`--alpine`).
    pub alpine: Option<String>,
    /// apk: the repository (`--repo`); deb: the component unless `component` is given.
    pub repo: Option<String>,
    /// deb: the apt suite (`--suite`).
    pub suite: Option<String>,
    /// deb: the apt component (`--component`).
    pub component: Option<String>,
    /// `/etc/os-release` text, for the apk version default.
    pub os_release: Option<String>,
}

/// One package the server reported.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Published {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub format: String,
    pub path: String,
    pub added: bool,
}

#[derive(Deserialize)]
struct Created {
    packages: Vec<Published>,
}

/// Groups `files` into requests (in a stable order).
pub fn plan(files: &[PathBuf], options: &GroupOptions) -> Result<Vec<UploadRequest>, Error> {
    let mut groups: BTreeMap<(String, String, String), Vec<PathBuf>> = BTreeMap::new();
    for path in files {
        let info = inspect(path).map_err(|source| Error::Package {
            path: path.clone(),
            source: Box::new(source),
        })?;
        let group_error = |message: String| Error::Group {
            path: path.clone(),
            message,
        };
        let parent = dir_name(path.parent());
        let grandparent = dir_name(path.parent().and_then(Path::parent));
        let from_layout = parent
            .as_deref()
            .filter(|dir| arch_matches(&info, dir) && *dir != "." && grandparent.is_some());
        let arch = from_layout.map_or_else(|| info.arch.clone(), str::to_string);
        let given_repo = match info.format {
            PackageFormat::Apk => options.repo.clone(),
            PackageFormat::Deb => options.component.clone().or_else(|| options.repo.clone()),
        };
        let repo = given_repo
            .or_else(|| from_layout.and(grandparent.clone()))
            .ok_or_else(|| {
                group_error(
                    "cannot tell the repo (or apt component): give --repo (.apk) or --component (.deb), or keep the file in <repo>/<arch>/".into(),
                )
            })?;
        let given_version = match info.format {
            PackageFormat::Apk => &options.alpine,
            PackageFormat::Deb => &options.suite,
        };
        let version = match (given_version, info.format) {
            (Some(version), _) => version.clone(),
            (None, PackageFormat::Apk) => options
                .os_release
                .as_deref()
                .and_then(alpine_version)
                .ok_or_else(|| {
                    group_error(
                        "cannot tell the Alpine version (not running on Alpine): give --alpine, e.g. 3.20".into(),
                    )
                })?,
            (None, PackageFormat::Deb) => {
                return Err(group_error(
                    "a .deb needs its apt suite: give --suite SUITE (and --component COMPONENT)".into(),
                ));
            }
        };
        if info.format == PackageFormat::Apk {
            boxwright_package::repo::apk_location(&version, &repo)
                .map_err(|e| group_error(e.to_string()))?;
        }
        groups
            .entry((version, repo, arch))
            .or_default()
            .push(path.clone());
    }
    Ok(groups
        .into_iter()
        .map(|((version, repo, arch), files)| UploadRequest {
            version,
            repo,
            arch,
            files,
        })
        .collect())
}

fn dir_name(path: Option<&Path>) -> Option<String> {
    let path = path?;
    let name = if path.as_os_str().is_empty() {
        std::path::absolute(".")
            .ok()?
            .file_name()?
            .to_str()?
            .to_string()
    } else {
        std::path::absolute(path)
            .ok()?
            .file_name()?
            .to_str()?
            .to_string()
    };
    Some(name)
}

/// `3.20` from an Alpine `/etc/os-release` (`ID=alpine`, `VERSION_ID=3.20.3`).
pub fn alpine_version(os_release: &str) -> Option<String> {
    let field = |key: &str| {
        os_release.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    if field("ID")? != "alpine" {
        return None;
    }
    let version = field("VERSION_ID")?;
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    Some(format!("{major}.{minor}"))
}

/// Sends one request to `<url>/upload` (or `url` itself when it ends with `/upload`).
pub async fn upload(
    url: &str,
    request: &UploadRequest,
    token: Option<&str>,
) -> Result<Vec<Published>, Error> {
    // 30 s to connect; no read limit: the answer comes after the server has indexed.
    let client = boxwright_http::client(&boxwright_http::ClientConfig {
        read_timeout: None,
        ..boxwright_http::ClientConfig::default()
    })
    .map_err(Error::HttpClient)?;
    let endpoint = if url.trim_end_matches('/').ends_with("/upload") {
        url.to_string()
    } else {
        format!("{}/upload", url.trim_end_matches('/'))
    };
    let mut form = reqwest::multipart::Form::new()
        .text("version", request.version.clone())
        .text("repo", request.repo.clone())
        .text("arch", request.arch.clone());
    for path in &request.files {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
        let length = file
            .metadata()
            .await
            .map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?
            .len();
        let name = path
            .file_name()
            .map_or_else(|| "package".into(), |n| n.to_string_lossy().into_owned());
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let part = reqwest::multipart::Part::stream_with_length(body, length)
            .file_name(name)
            .mime_str("application/octet-stream")
            .map_err(Error::Client)?;
        form = form.part("file", part);
    }
    let mut builder = client.post(&endpoint).multipart(form);
    if let Some(token) = token {
        builder = builder.bearer_auth(token);
    }
    let request_error = |source| Error::Request {
        url: endpoint.clone(),
        source,
    };
    let response = builder.send().await.map_err(request_error)?;
    let status = response.status();
    let body = response.bytes().await.map_err(request_error)?;
    if !status.is_success() {
        let reason = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        return Err(Error::Refused {
            status: status.as_u16(),
            reason,
        });
    }
    let created: Created = serde_json::from_slice(&body).map_err(|e| Error::Refused {
        status: status.as_u16(),
        reason: format!("unreadable answer: {e}"),
    })?;
    Ok(created.packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpine_version_is_major_minor() {
        let alpine = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n";
        assert_eq!(alpine_version(alpine).as_deref(), Some("3.20"));
        assert_eq!(alpine_version("ID=debian\nVERSION_ID=\"12\"\n"), None);
    }
}
