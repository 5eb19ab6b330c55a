//! Where a project's source lives, in a form fit to publish.
//!
//! Outputs record the project's source (image annotations and labels, later SBOMs, provenance
//! and release manifests). The raw git remote is not fit for that: CI checkouts carry a job
//! token in it (`https://gitlab-ci-token:<token>@host/group/project.git`), and a local clone's
//! remote is a path on the builder that would change digests between two checkouts of one
//! commit. [`publishable_source_url`] is the one place that cleans such a value, and
//! [`resolve_source_url`] the one place that decides which value to clean.

use serde::Serialize;

use crate::env_vars;

/// A source URL ready to publish, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceUrl {
    /// `https://host/group/project` (or `http://`): no credentials, query, fragment or `.git`.
    pub url: String,
    /// Which setting or detection gave it.
    pub origin: SourceOrigin,
}

/// Where a [`SourceUrl`] came from, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceOrigin {
    /// The target's `source_url` in metadata.json.
    Metadata,
    /// `BOXWRIGHT_SOURCE_URL`.
    Environment,
    /// GitLab CI's `CI_PROJECT_URL`.
    GitlabCi,
    /// GitHub Actions' `GITHUB_SERVER_URL` and `GITHUB_REPOSITORY`.
    GithubActions,
    /// The `origin` remote of the project's git repository.
    GitRemote,
}

/// Turns a git remote or URL into a publishable `https://` (or `http://`) URL, or `None` when
/// it names nothing on the network.
///
/// - user names, passwords and tokens are removed (everything up to the last `@` of the
///   authority, so tokens holding `@` go too), as are the query and fragment;
/// - `ssh://`, `git://`, `git+ssh://` and scp-like remotes (`git@host:group/project.git`)
///   become `https://host/group/project` (an ssh port says nothing about the web address);
/// - a trailing `/` and `.git` are dropped, the host is lower-cased;
/// - paths, `file://` URLs, other schemes and anything whose host is not a plain host name
///   give `None`: nothing is recorded rather than something that may leak.
pub fn publishable_source_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => return scp_like(raw),
    };
    // (scheme written, whether its port is a web port)
    let (scheme, web_port) = match scheme.as_str() {
        "https" | "git+https" => ("https", true),
        "http" => ("http", true),
        "ssh" | "git" | "git+ssh" | "ssh+git" => ("https", false),
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if web_port {
        host_port
    } else {
        strip_port(host_port)
    };
    let path = tail.split(['?', '#']).next().unwrap_or("");
    assemble(scheme, host_port, path)
}

/// `[user@]host:path`, git's scp-like syntax: a `:` before any `/`.
fn scp_like(raw: &str) -> Option<String> {
    let colon = raw.find(':')?;
    if raw[..colon].contains('/') {
        return None;
    }
    let (authority, path) = (&raw[..colon], &raw[colon + 1..]);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // A single letter before `:` is a Windows drive (`C:\repo`), not a host.
    if host.len() < 2 {
        return None;
    }
    let path = path.trim_start_matches('/');
    assemble("https", host, &format!("/{path}"))
}

fn strip_port(host_port: &str) -> &str {
    if host_port.starts_with('[') {
        return host_port.find(']').map_or(host_port, |i| &host_port[..=i]);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

fn assemble(scheme: &str, host_port: &str, path: &str) -> Option<String> {
    if !valid_host_port(host_port) {
        return None;
    }
    let mut path = path.trim_end_matches('/');
    if let Some(stripped) = path.strip_suffix(".git") {
        path = stripped.trim_end_matches('/');
    }
    if path.contains('@') && path.contains(':') {
        // `host/user:secret@…` is not a path anyone publishes; refuse rather than guess.
        return None;
    }
    Some(format!(
        "{scheme}://{}{path}",
        host_port.to_ascii_lowercase()
    ))
}

/// A DNS name, IPv4 or bracketed IPv6 address, with an optional numeric port.
fn valid_host_port(host_port: &str) -> bool {
    let port_ok = |port: Option<&str>| {
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split_once(']').is_some_and(|(inside, after)| {
            !inside.is_empty()
                && inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
                && (after.is_empty() || port_ok(after.strip_prefix(':').or(Some(""))))
        });
    }
    let (host, port) = match host_port.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_port, None),
    };
    !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['.', '-'])
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && port_ok(port)
}

/// Turns a download URL (or a CI run URL) into one fit to publish, or `None`.
///
/// - `https://` and `http://`: user names, passwords and tokens (everything up to the last
///   `@` of the authority), the query and the fragment are removed and the host lower-cased;
///   the path is kept as written (unlike [`publishable_source_url`], no `.git` or trailing `/`
///   is dropped: it names a file);
/// - `file:` URLs relative to the metadata file (`file:sources/x.tar.gz`) are kept as written:
///   they name a file of the project, not of the builder; absolute ones (`file:/srv/x`,
///   `file:///srv/x`) and ones with a `..` component name the builder's disk and give `None`;
/// - anything else, and hosts that are not a plain host name or IP address, give `None`.
pub fn publishable_download_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    if let Some(path) = raw.strip_prefix("file:") {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let relative = !path.is_empty()
            && !path.starts_with('/')
            && !path.starts_with('\\')
            && !path.split(['/', '\\']).any(|c| c == "..");
        return relative.then(|| format!("file:{path}"));
    }
    let (scheme, rest) = raw.split_once("://")?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "https" => "https",
        "http" => "http",
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if !valid_host_port(host_port) {
        return None;
    }
    let path = tail.split(['?', '#']).next().unwrap_or("");
    Some(format!(
        "{scheme}://{}{path}",
        host_port.to_ascii_lowercase()
    ))
}

/// Decides the project's source URL for a target.
///
/// In order: the target's `source_url` (`Some("")` records none), `BOXWRIGHT_SOURCE_URL`
/// (empty records none), GitLab CI's `CI_PROJECT_URL`, GitHub Actions' `GITHUB_SERVER_URL` +
/// `GITHUB_REPOSITORY`, then the git remote. Every candidate goes through
/// [`publishable_source_url`]; one that does not survive it is passed over, never recorded.
pub fn resolve_source_url(
    setting: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    git_remote: &dyn Fn() -> Option<String>,
) -> Option<SourceUrl> {
    let found = |origin: SourceOrigin, value: &str| {
        publishable_source_url(value).map(|url| SourceUrl { url, origin })
    };
    if let Some(value) = setting {
        return found(SourceOrigin::Metadata, value);
    }
    if let Some(value) = env(env_vars::BOXWRIGHT_SOURCE_URL) {
        return found(SourceOrigin::Environment, &value);
    }
    if let Some(url) = env("CI_PROJECT_URL").and_then(|v| found(SourceOrigin::GitlabCi, &v)) {
        return Some(url);
    }
    if let (Some(server), Some(repository)) = (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY"))
        && let Some(url) = found(
            SourceOrigin::GithubActions,
            &format!(
                "{}/{}",
                server.trim_end_matches('/'),
                repository.trim_matches('/')
            ),
        )
    {
        return Some(url);
    }
    git_remote().and_then(|remote| found(SourceOrigin::GitRemote, &remote))
}

/// A commit id fit to publish: 40 (SHA-1) or 64 (SHA-256) hex digits, lower-cased; anything
/// else gives `None`.
pub fn publishable_revision(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (matches!(raw.len(), 40 | 64) && raw.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| raw.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::https_token(
        "https://gitlab-ci-token:glcbt-64_s3cr3t@gitlab.example.com/group/project.git",
        Some("https://gitlab.example.com/group/project")
    )]
    #[case::http_user_password(
        "http://user:s3cr3tTOKEN@example.invalid/acme/bw.git",
        Some("http://example.invalid/acme/bw")
    )]
    #[case::token_with_at_signs(
        "https://user:p@ss@w0rd@example.invalid/acme/bw.git",
        Some("https://example.invalid/acme/bw")
    )]
    #[case::percent_encoded_at(
        "https://user:p%40ss@example.invalid/acme/bw",
        Some("https://example.invalid/acme/bw")
    )]
    #[case::token_only("https://ghp_abc123@github.com/o/r", Some("https://github.com/o/r"))]
    #[case::query_and_fragment(
        "https://example.invalid/o/r.git?private_token=abc#frag",
        Some("https://example.invalid/o/r")
    )]
    #[case::https_port_kept(
        "https://u:p@git.example.invalid:8443/o/r",
        Some("https://git.example.invalid:8443/o/r")
    )]
    #[case::scp_like("git@github.com:owner/repo.git", Some("https://github.com/owner/repo"))]
    #[case::scp_like_no_user(
        "example.invalid:group/sub/project",
        Some("https://example.invalid/group/sub/project")
    )]
    #[case::ssh_user_port(
        "ssh://git@gitlab.example.com:2222/group/project.git",
        Some("https://gitlab.example.com/group/project")
    )]
    #[case::ssh_password("ssh://user:pw@host.example/r.git/", Some("https://host.example/r"))]
    #[case::git_protocol(
        "git://git.kernel.org/pub/scm/git/git.git",
        Some("https://git.kernel.org/pub/scm/git/git")
    )]
    #[case::host_upper_case("https://GitHub.COM/Owner/Repo", Some("https://github.com/Owner/Repo"))]
    #[case::trailing_slash("https://example.invalid/o/r/", Some("https://example.invalid/o/r"))]
    #[case::absolute_path("/srv/checkouts/bw", None)]
    #[case::relative_path("../bw", None)]
    #[case::dot_path("./bw.git", None)]
    #[case::file_url("file:///srv/checkouts/bw", None)]
    #[case::windows_drive("C:\\repos\\bw", None)]
    #[case::other_scheme("ftp://example.invalid/bw", None)]
    #[case::empty("", None)]
    #[case::blank("   ", None)]
    #[case::whitespace_inside("https://example.invalid/a b", None)]
    #[case::slash_in_password("https://user:ab/cd@example.invalid/o/r", None)]
    #[case::bad_host("https://exa_mple/o/r", None)]
    #[case::ipv6("https://u:p@[::1]:5000/o/r", Some("https://[::1]:5000/o/r"))]
    fn cleans_remotes(#[case] raw: &str, #[case] expected: Option<&str>) {
        assert_eq!(publishable_source_url(raw).as_deref(), expected, "{raw}");
    }

    #[test]
    fn a_cleaned_url_never_holds_the_secret() {
        for raw in [
            "https://user:s3cr3tTOKEN@example.invalid/acme/bw.git",
            "https://s3cr3tTOKEN@example.invalid/acme/bw.git",
            "ssh://s3cr3tTOKEN@example.invalid/acme/bw.git",
            "s3cr3tTOKEN@example.invalid:acme/bw.git",
            "https://x:s3cr3tTOKEN@@example.invalid/acme/bw",
        ] {
            let url = publishable_source_url(raw).unwrap();
            assert!(!url.contains("s3cr3t"), "{raw} gave {url}");
            assert_eq!(url, "https://example.invalid/acme/bw", "{raw}");
        }
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        }
    }

    #[test]
    fn precedence_metadata_environment_ci_remote() {
        let remote = || Some("git@example.invalid:remote/project.git".to_string());
        let all = env_of(&[
            ("BOXWRIGHT_SOURCE_URL", "https://env.example/p"),
            ("CI_PROJECT_URL", "https://gitlab.example/g/p"),
            ("GITHUB_SERVER_URL", "https://github.example"),
            ("GITHUB_REPOSITORY", "o/r"),
        ]);
        let got = resolve_source_url(Some("https://meta.example/p"), &all, &remote).unwrap();
        assert_eq!(
            (got.url.as_str(), got.origin),
            ("https://meta.example/p", SourceOrigin::Metadata)
        );
        let got = resolve_source_url(None, &all, &remote).unwrap();
        assert_eq!(got.origin, SourceOrigin::Environment);
        let ci = env_of(&[
            ("CI_PROJECT_URL", "https://gitlab.example/g/p"),
            ("GITHUB_SERVER_URL", "https://github.example"),
            ("GITHUB_REPOSITORY", "o/r"),
        ]);
        assert_eq!(
            resolve_source_url(None, &ci, &remote).unwrap().url,
            "https://gitlab.example/g/p"
        );
        let gh = env_of(&[
            ("GITHUB_SERVER_URL", "https://github.example/"),
            ("GITHUB_REPOSITORY", "o/r"),
        ]);
        let got = resolve_source_url(None, &gh, &remote).unwrap();
        assert_eq!(
            (got.url.as_str(), got.origin),
            ("https://github.example/o/r", SourceOrigin::GithubActions)
        );
        let none = env_of(&[]);
        let got = resolve_source_url(None, &none, &remote).unwrap();
        assert_eq!(
            (got.url.as_str(), got.origin),
            (
                "https://example.invalid/remote/project",
                SourceOrigin::GitRemote
            )
        );
    }

    #[test]
    fn empty_settings_record_nothing_and_paths_are_passed_over() {
        let remote = || Some("https://example.invalid/r".to_string());
        let none = env_of(&[]);
        assert_eq!(resolve_source_url(Some(""), &none, &remote), None);
        let empty = env_of(&[("BOXWRIGHT_SOURCE_URL", "")]);
        assert_eq!(resolve_source_url(None, &empty, &remote), None);
        let local = || Some("/srv/checkouts/bw".to_string());
        assert_eq!(resolve_source_url(None, &none, &local), None);
        let no_remote = || None;
        assert_eq!(resolve_source_url(None, &none, &no_remote), None);
    }

    #[rstest]
    #[case(
        "0123456789abcdef0123456789ABCDEF01234567",
        Some("0123456789abcdef0123456789abcdef01234567")
    )]
    #[case("0123456789abcdef", None)]
    #[case("HEAD", None)]
    #[case("", None)]
    fn revisions(#[case] raw: &str, #[case] expected: Option<&str>) {
        assert_eq!(publishable_revision(raw).as_deref(), expected);
    }

    #[rstest]
    #[case::plain(
        "https://example.org/x-1.0.tar.gz",
        Some("https://example.org/x-1.0.tar.gz")
    )]
    #[case::credentials_and_query(
        "https://user:t0k@n@Example.ORG:8443/a/x.git?token=s3cr3t#f",
        Some("https://example.org:8443/a/x.git")
    )]
    #[case::http("http://u@127.0.0.1:8080/x/", Some("http://127.0.0.1:8080/x/"))]
    #[case::relative_file("file:sources/x.tar.gz", Some("file:sources/x.tar.gz"))]
    #[case::absolute_file("file:/srv/x.tar.gz", None)]
    #[case::file_authority("file:///srv/x.tar.gz", None)]
    #[case::escaping_file("file:../../home/u/x", None)]
    #[case::ftp("ftp://example.org/x", None)]
    #[case::bad_host("https://exa mple.org/x", None)]
    #[case::path("/srv/x.tar.gz", None)]
    fn download_urls(#[case] raw: &str, #[case] expected: Option<&str>) {
        assert_eq!(publishable_download_url(raw).as_deref(), expected);
    }
}
