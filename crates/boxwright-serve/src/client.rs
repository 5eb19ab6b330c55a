//! `boxwright repo upload`: the client side of `POST /upload`.
//!
//! Files are grouped into one request per (version, repo, arch), as seed 003's
//! `apkdeploy.sh` posts one request per architecture directory. What a flag does not give
//! is read from where the file sits, in the tree `repo index` and `boxwright serve` write:
//! - apk, `<alpine>/<repo>/<arch>/x.apk` (or abuild's `<repo>/<arch>/x.apk`): `arch` is
//!   the directory's name when it fits the package (else the package's own architecture),
//!   `repo` the directory above it, and the Alpine version the one above that when it looks
//!   like one (`3.20`, `v3.20`, `edge`), else the running Alpine's `VERSION_ID` as
//!   `major.minor` from `/etc/os-release`, as apkdeploy.sh does;
//! - deb, `apt/pool/<suite>/<component>/x.deb`: suite and component; `arch` is the
//!   package's own.
//!
//! What can be told neither way is an [`Error::Infer`] naming the part and the path.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use boxwright_archive::progress::{Progress, ProgressItem};

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

/// What the user gave on the command line; each value given wins over the file's place.
#[derive(Debug, Clone, Default)]
pub struct GroupOptions {
    /// apk: the Alpine version directory (`--alpine`).
    pub alpine: Option<String>,
    /// apk: the repository (`--repo`).
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

/// The layouts named in the errors.
const APK_LAYOUT: &str = "<alpine>/<repo>/<arch>/ (e.g. 3.20/main/x86_64/)";
const APT_LAYOUT: &str = "apt/pool/<suite>/<component>/";

/// Groups `files` into requests (in a stable order).
pub fn plan(files: &[PathBuf], options: &GroupOptions) -> Result<Vec<UploadRequest>, Error> {
    let mut groups: BTreeMap<(String, String, String), Vec<PathBuf>> = BTreeMap::new();
    for path in files {
        let info = inspect(path).map_err(|source| Error::Package {
            path: path.clone(),
            source: Box::new(source),
        })?;
        let (version, repo, arch) = match info.format {
            PackageFormat::Apk => {
                apk_fields(path, &info.arch, |dir| arch_matches(&info, dir), options)?
            }
            PackageFormat::Deb => deb_fields(path, &info.arch, options)?,
        };
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

/// (Alpine version, repo, arch) of an apk at `path` built for `package_arch`; `fits` tells
/// whether a directory name is an architecture the package fits.
fn apk_fields(
    path: &Path,
    package_arch: &str,
    fits: impl Fn(&str) -> bool,
    options: &GroupOptions,
) -> Result<(String, String, String), Error> {
    let above = directories_above(path);
    // `<repo>/<arch>/`: the file's directory names its architecture.
    let in_layout = above.len() >= 2 && fits(&above[0]);
    let arch = if in_layout {
        above[0].clone()
    } else {
        package_arch.to_string()
    };
    let missing = |part, flag| Error::Infer {
        part,
        path: path.to_path_buf(),
        flag,
        layout: APK_LAYOUT,
    };
    let repo = options
        .repo
        .clone()
        .or_else(|| in_layout.then(|| above[1].clone()))
        .ok_or_else(|| missing("apk repository", "--repo"))?;
    let from_tree = above
        .get(2)
        .filter(|name| in_layout && looks_like_alpine_version(name));
    let version = options
        .alpine
        .clone()
        .or_else(|| from_tree.cloned())
        .or_else(|| options.os_release.as_deref().and_then(alpine_version))
        .ok_or_else(|| missing("Alpine version", "--alpine"))?;
    boxwright_package::repo::apk_location(&version, &repo).map_err(|e| Error::Group {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok((version, repo, arch))
}

/// (suite, component, arch) of a deb at `path` built for `package_arch`.
fn deb_fields(
    path: &Path,
    package_arch: &str,
    options: &GroupOptions,
) -> Result<(String, String, String), Error> {
    let above = directories_above(path);
    // `apt/pool/<suite>/<component>/`.
    let in_pool = above.len() >= 4 && above[2] == "pool" && above[3] == "apt";
    let missing = |part, flag| Error::Infer {
        part,
        path: path.to_path_buf(),
        flag,
        layout: APT_LAYOUT,
    };
    let suite = options
        .suite
        .clone()
        .or_else(|| in_pool.then(|| above[1].clone()))
        .ok_or_else(|| missing("apt suite", "--suite"))?;
    let component = options
        .component
        .clone()
        .or_else(|| in_pool.then(|| above[0].clone()))
        .ok_or_else(|| missing("apt component", "--component"))?;
    Ok((suite, component, package_arch.to_string()))
}

/// The names of the directories holding `path`, nearest first (from its absolute form,
/// `..` taken lexically, so a relative path names the same directories as its absolute one).
fn directories_above(path: &Path) -> Vec<String> {
    let Ok(absolute) = std::path::absolute(path) else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    for component in absolute.components() {
        match component {
            Component::Normal(name) => names.push(name.to_string_lossy().into_owned()),
            Component::ParentDir => {
                names.pop();
            }
            _ => {}
        }
    }
    names.pop(); // the file itself
    names.reverse();
    names
}

/// `3.20`, `v3.20` and `edge`: the names Alpine gives its release directories.
fn looks_like_alpine_version(name: &str) -> bool {
    let number = name.strip_prefix('v').unwrap_or(name);
    let numeric = number.split_once('.').is_some_and(|(major, minor)| {
        [major, minor]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    });
    numeric || name == "edge"
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

/// Sends one request to `<url>/upload` (or `url` itself when it ends with `/upload`),
/// reporting the bytes sent to `progress`.
pub async fn upload(
    url: &str,
    request: &UploadRequest,
    token: Option<&str>,
    progress: &dyn Progress,
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
    let mut sizes = Vec::new();
    for path in &request.files {
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        sizes.push(size);
    }
    let sent: Arc<dyn ProgressItem> = Arc::from(progress.begin(
        &format!(
            "uploading to {}/{}/{}",
            request.version, request.repo, request.arch
        ),
        Some(sizes.iter().sum()),
    ));
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
        let counted = Counted {
            inner: file,
            sent: Arc::clone(&sent),
        };
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(counted));
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
    let response = builder.send().await.map_err(request_error);
    sent.finish();
    let response = response?;
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

/// A reader reporting what it reads to `sent` (the file goes out as it is read).
struct Counted<R> {
    inner: R,
    sent: Arc<dyn ProgressItem>,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        buffer: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buffer.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(context, buffer);
        self.sent.advance((buffer.filled().len() - before) as u64);
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apk(path: &str, options: &GroupOptions) -> Result<(String, String, String), Error> {
        apk_fields(Path::new(path), "x86_64", |dir| dir == "x86_64", options)
    }

    fn deb(path: &str, options: &GroupOptions) -> Result<(String, String, String), Error> {
        deb_fields(Path::new(path), "amd64", options)
    }

    fn fields(version: &str, repo: &str, arch: &str) -> (String, String, String) {
        (version.into(), repo.into(), arch.into())
    }

    #[test]
    fn an_apk_in_the_index_tree_needs_no_flags() {
        let none = GroupOptions::default();
        for (path, expected) in [
            (
                "repo/3.20/main/x86_64/a-1.0-r0.apk",
                fields("3.20", "main", "x86_64"),
            ),
            (
                "/srv/v3.21/community/x86_64/a.apk",
                fields("v3.21", "community", "x86_64"),
            ),
            (
                "edge/testing/x86_64/a.apk",
                fields("edge", "testing", "x86_64"),
            ),
            (
                "3.20/main/x86_64/../x86_64/a.apk",
                fields("3.20", "main", "x86_64"),
            ),
        ] {
            assert_eq!(apk(path, &none).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn flags_win_over_the_apk_tree() {
        let options = GroupOptions {
            alpine: Some("3.19".into()),
            repo: Some("extra".into()),
            ..GroupOptions::default()
        };
        assert_eq!(
            apk("3.20/main/x86_64/a.apk", &options).unwrap(),
            fields("3.19", "extra", "x86_64")
        );
    }

    #[test]
    fn abuilds_tree_takes_the_version_from_the_running_alpine_or_asks() {
        let path = "/home/builder/packages/main/x86_64/a.apk";
        let on_alpine = GroupOptions {
            os_release: Some("ID=alpine\nVERSION_ID=3.20.3\n".into()),
            ..GroupOptions::default()
        };
        assert_eq!(
            apk(path, &on_alpine).unwrap(),
            fields("3.20", "main", "x86_64")
        );
        let error = apk(path, &GroupOptions::default()).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "cannot tell the Alpine version of {path}: give --alpine or put it under \
                 <alpine>/<repo>/<arch>/ (e.g. 3.20/main/x86_64/)"
            )
        );
    }

    #[test]
    fn a_loose_apk_asks_for_its_repository() {
        let options = GroupOptions {
            alpine: Some("3.20".into()),
            ..GroupOptions::default()
        };
        let error = apk("a.apk", &options).unwrap_err().to_string();
        assert!(
            error.starts_with("cannot tell the apk repository of a.apk: give --repo"),
            "{error}"
        );
    }

    #[test]
    fn a_deb_in_the_pool_needs_no_flags_and_flags_win() {
        let path = "/srv/repo/apt/pool/stable/main/a_1.0_amd64.deb";
        assert_eq!(
            deb(path, &GroupOptions::default()).unwrap(),
            fields("stable", "main", "amd64")
        );
        let options = GroupOptions {
            suite: Some("testing".into()),
            component: Some("contrib".into()),
            ..GroupOptions::default()
        };
        assert_eq!(
            deb(path, &options).unwrap(),
            fields("testing", "contrib", "amd64")
        );
    }

    #[test]
    fn a_deb_outside_the_pool_names_what_is_missing() {
        let error = deb("apt/x.deb", &GroupOptions::default())
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "cannot tell the apt suite of apt/x.deb: give --suite or put it under \
             apt/pool/<suite>/<component>/"
        );
        let options = GroupOptions {
            suite: Some("stable".into()),
            ..GroupOptions::default()
        };
        // `stable/main/` without `apt/pool/` above is not taken for the pool.
        let error = deb("stable/main/x.deb", &options).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "cannot tell the apt component of stable/main/x.deb: give --component"
            ),
            "{error}"
        );
    }

    #[test]
    fn alpine_versions_are_recognised_by_name() {
        for name in ["3.20", "v3.9", "edge"] {
            assert!(looks_like_alpine_version(name), "{name}");
        }
        for name in ["packages", "3", "v", "3.x", ".20", "main"] {
            assert!(!looks_like_alpine_version(name), "{name}");
        }
    }

    #[test]
    fn alpine_version_is_major_minor() {
        let alpine = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n";
        assert_eq!(alpine_version(alpine).as_deref(), Some("3.20"));
        assert_eq!(alpine_version("ID=debian\nVERSION_ID=\"12\"\n"), None);
    }
}
