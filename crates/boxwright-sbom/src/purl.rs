//! Package URLs (<https://github.com/package-url/purl-spec>) for what boxwright builds.
//!
//! - a target with `upstream.github`: `pkg:github/owner/repo@version`;
//! - any other target: `pkg:generic/name@version?checksum=sha256:…&download_url=…` (the
//!   qualifiers of its first download, when it has one; the spec's own example has this form);
//! - an image: `pkg:oci/name@sha256%3A…?repository_url=host/path` (the repository only for a
//!   registry reference).
//!
//! Name and version segments are percent-encoded except for unreserved characters; qualifier
//! values keep `:` and `/` as the spec's examples do. Qualifiers are sorted by key.

use std::fmt::Write as _;

/// `pkg:generic/<name>@<version>` with the download's checksum and URL as qualifiers.
pub fn generic(
    name: &str,
    version: Option<&str>,
    sha256: Option<&str>,
    download_url: Option<&str>,
) -> String {
    let mut purl = format!("pkg:generic/{}", segment(name));
    if let Some(version) = version.filter(|v| !v.is_empty()) {
        let _ = write!(purl, "@{}", segment(version));
    }
    let mut qualifiers = Vec::new();
    if let Some(sha256) = sha256 {
        qualifiers.push(("checksum", format!("sha256:{sha256}")));
    }
    if let Some(url) = download_url {
        qualifiers.push(("download_url", url.to_string()));
    }
    push_qualifiers(&mut purl, &qualifiers);
    purl
}

/// `pkg:github/<owner>/<repo>@<version>` (GitHub names are case-insensitive: lower-cased, as
/// the spec asks), or `None` when `repository` is not `owner/repo`.
pub fn github(repository: &str, version: Option<&str>) -> Option<String> {
    let (owner, repo) = repository.trim_matches('/').split_once('/')?;
    if owner.is_empty() || repo.is_empty() || repo.contains('/') {
        return None;
    }
    let mut purl = format!(
        "pkg:github/{}/{}",
        segment(&owner.to_ascii_lowercase()),
        segment(&repo.to_ascii_lowercase())
    );
    if let Some(version) = version.filter(|v| !v.is_empty()) {
        let _ = write!(purl, "@{}", segment(version));
    }
    Some(purl)
}

/// `pkg:oci/<name>@<digest>` with the registry repository (`host[:port]/path`) when known.
pub fn oci(name: &str, digest: &str, repository_url: Option<&str>) -> String {
    let mut purl = format!(
        "pkg:oci/{}@{}",
        segment(&name.to_ascii_lowercase()),
        segment(digest)
    );
    if let Some(repository) = repository_url {
        push_qualifiers(&mut purl, &[("repository_url", repository.to_string())]);
    }
    purl
}

/// A distribution package: `pkg:<kind>/<namespace>/<name>@<version>?<qualifiers>`
/// (`pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12`, `pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64`);
/// empty qualifier values are left out.
pub fn distribution(
    kind: &str,
    namespace: &str,
    name: &str,
    version: &str,
    qualifiers: &[(&str, String)],
) -> String {
    let mut purl = format!(
        "pkg:{kind}/{}/{}@{}",
        segment(&namespace.to_ascii_lowercase()),
        segment(name),
        segment(version)
    );
    let qualifiers: Vec<(&str, String)> = qualifiers
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .cloned()
        .collect();
    push_qualifiers(&mut purl, &qualifiers);
    purl
}

fn push_qualifiers(purl: &mut String, qualifiers: &[(&str, String)]) {
    let mut sorted: Vec<&(&str, String)> = qualifiers.iter().collect();
    sorted.sort_by_key(|(key, _)| *key);
    for (i, (key, value)) in sorted.into_iter().enumerate() {
        purl.push(if i == 0 { '?' } else { '&' });
        let _ = write!(purl, "{key}={}", encode(value, b":/"));
    }
}

fn segment(text: &str) -> String {
    encode(text, b"")
}

/// Percent-encodes everything but unreserved characters and `keep`.
fn encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || keep.contains(&b)
        {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_purls_carry_checksum_and_download_url() {
        assert_eq!(
            generic(
                "hello",
                Some("1.0.0"),
                Some("ab12"),
                Some("https://example.org/hello-1.0.0.tar.gz")
            ),
            "pkg:generic/hello@1.0.0?checksum=sha256:ab12&download_url=https://example.org/hello-1.0.0.tar.gz"
        );
        assert_eq!(generic("a b", None, None, None), "pkg:generic/a%20b");
        assert_eq!(
            generic("x", Some("1+2"), None, Some("file:sources/x y.tgz")),
            "pkg:generic/x@1%2B2?download_url=file:sources/x%20y.tgz"
        );
    }

    #[test]
    fn github_purls_are_lower_case() {
        assert_eq!(
            github("Mattermost/Mattermost", Some("10.5.1")).as_deref(),
            Some("pkg:github/mattermost/mattermost@10.5.1")
        );
        assert_eq!(github("nope", Some("1")), None);
        assert_eq!(github("a/b/c", Some("1")), None);
    }

    #[test]
    fn oci_purls_encode_the_digest() {
        assert_eq!(
            oci("Hello", "sha256:ab", Some("127.0.0.1:5000/ns/hello")),
            "pkg:oci/hello@sha256%3Aab?repository_url=127.0.0.1:5000/ns/hello"
        );
    }
}
