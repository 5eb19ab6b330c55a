//! GitHub releases: `GET {api}/repos/{owner}/{repo}/releases?per_page=100`, following
//! `Link: rel="next"`.

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap};
use serde::Deserialize;

use crate::Error;
use crate::http::{self, Forge, Http, PER_PAGE};

/// github.com's API.
pub(crate) const DEFAULT_API: &str = "https://api.github.com";

/// The environment variable the binary reads the token from.
pub(crate) const TOKEN_VARIABLE: &str = "GITHUB_TOKEN";

/// One release as the API lists it (the fields used).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Release {
    pub tag_name: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
}

/// The releases of `repository` (`owner/repo`), newest first as GitHub lists them.
pub(crate) async fn releases(
    http: &mut Http,
    api_url: Option<&str>,
    repository: &str,
) -> Result<Vec<Release>, Error> {
    let url = http::parse_url(&releases_url(api_url, repository)?)?;
    http::collect_pages(http, url, http::link_next).await
}

/// The client for GitHub: its headers, and the token as a bearer token when given.
pub(crate) fn client(token: Option<&str>) -> Result<Http, Error> {
    let mut headers = HeaderMap::new();
    headers.insert(
        ACCEPT,
        reqwest::header::HeaderValue::from_static("application/vnd.github+json"),
    );
    http::insert(&mut headers, "x-github-api-version", "2022-11-28");
    if let Some(token) = token {
        headers.insert(
            AUTHORIZATION,
            http::secret_header(TOKEN_VARIABLE, &format!("Bearer {token}"))?,
        );
    }
    Http::new(
        headers,
        Forge {
            token_variable: TOKEN_VARIABLE,
            authenticated: token.is_some(),
        },
    )
}

fn releases_url(api_url: Option<&str>, repository: &str) -> Result<String, Error> {
    let base = http::api_base(api_url, DEFAULT_API)?;
    let (owner, repo) = repository
        .split_once('/')
        .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
        .ok_or_else(|| Error::InvalidUpstream {
            reason: format!("github {repository:?} must be `owner/repo`"),
        })?;
    Ok(format!(
        "{base}/repos/{}/{}/releases?per_page={PER_PAGE}",
        http::encode_segment(owner),
        http::encode_segment(repo)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        None,
        "nginx/nginx",
        "https://api.github.com/repos/nginx/nginx/releases?per_page=100"
    )]
    #[case(
        Some("https://ghe.example/api/v3"),
        "a/b.c",
        "https://ghe.example/api/v3/repos/a/b.c/releases?per_page=100"
    )]
    #[case(
        Some("http://127.0.0.1:9/"),
        "o/r",
        "http://127.0.0.1:9/repos/o/r/releases?per_page=100"
    )]
    fn urls(#[case] api_url: Option<&str>, #[case] repository: &str, #[case] url: &str) {
        assert_eq!(releases_url(api_url, repository).unwrap(), url);
    }

    #[rstest]
    #[case("nginx")]
    #[case("a/b/c")]
    #[case("/b")]
    #[case("a/")]
    fn refuses_other_than_owner_repo(#[case] repository: &str) {
        let err = releases_url(None, repository).unwrap_err();
        assert!(matches!(err, Error::InvalidUpstream { .. }), "{err}");
    }

    #[test]
    fn reads_the_fields_it_needs() {
        let releases: Vec<Release> = serde_json::from_str(
            r#"[{"tag_name":"v1.0","draft":true,"prerelease":false,"name":"x","id":7},
                {"tag_name":"v0.9"}]"#,
        )
        .unwrap();
        assert_eq!(releases[0].tag_name, "v1.0");
        assert!(releases[0].draft && !releases[0].prerelease);
        assert!(!releases[1].draft && !releases[1].prerelease);
    }
}
