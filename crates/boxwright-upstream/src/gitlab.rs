//! GitLab tags: `GET {api}/api/v4/projects/{id or encoded path}/repository/tags?per_page=100`,
//! following `Link: rel="next"` when present, else `x-next-page`.

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName};
use serde::Deserialize;

use crate::Error;
use crate::http::{self, Forge, Http, PER_PAGE, Page};

/// gitlab.com.
pub(crate) const DEFAULT_API: &str = "https://gitlab.com";

/// The environment variable the binary reads the token from.
pub(crate) const TOKEN_VARIABLE: &str = "GITLAB_TOKEN";

/// One tag as the API lists it (the field used).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Tag {
    pub name: String,
}

/// The tags of `project` (a path `group/sub/project` or a numeric id).
pub(crate) async fn tags(
    http: &mut Http,
    api_url: Option<&str>,
    project: &str,
) -> Result<Vec<Tag>, Error> {
    let url = http::parse_url(&tags_url(api_url, project)?)?;
    http::collect_pages(http, url, next_page).await
}

/// The client for GitLab, sending `PRIVATE-TOKEN` when a token is given.
pub(crate) fn client(token: Option<&str>) -> Result<Http, Error> {
    let mut headers = HeaderMap::new();
    if let Some(token) = token {
        headers.insert(
            HeaderName::from_static("private-token"),
            http::secret_header(TOKEN_VARIABLE, token)?,
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

/// `api_url` is the GitLab host (`https://gitlab.example`); `/api/v4` is added unless it is
/// there already.
fn tags_url(api_url: Option<&str>, project: &str) -> Result<String, Error> {
    let base = http::api_base(api_url, DEFAULT_API)?;
    let base = base.strip_suffix("/api/v4").unwrap_or(&base);
    if project.is_empty() || project.starts_with('/') || project.ends_with('/') {
        return Err(Error::InvalidUpstream {
            reason: format!("gitlab {project:?} must be a project path (`group/project`) or id"),
        });
    }
    Ok(format!(
        "{base}/api/v4/projects/{}/repository/tags?per_page={PER_PAGE}",
        http::encode_segment(project)
    ))
}

/// `Link: rel="next"` if the answer has one (keyset pagination has only that), else the
/// page's URL with `page` set to `x-next-page` (empty on the last page).
fn next_page(page: &Page) -> Result<Option<Url>, Error> {
    if let Some(next) = http::link_next(page)? {
        return Ok(Some(next));
    }
    let Some(number) = page.header("x-next-page").map(str::trim) else {
        return Ok(None);
    };
    if number.is_empty() {
        return Ok(None);
    }
    let number: u64 = number.parse().map_err(|_| Error::Malformed {
        url: page.url.to_string(),
        reason: format!("x-next-page {number:?} is not a page number"),
    })?;
    Ok(Some(with_page(&page.url, number)))
}

/// `url` with its `page` query parameter set to `number`, other parameters kept.
fn with_page(url: &Url, number: u64) -> Url {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("page", &number.to_string());
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use rstest::rstest;

    #[rstest]
    #[case(
        None,
        "group/sub/project",
        "https://gitlab.com/api/v4/projects/group%2Fsub%2Fproject/repository/tags?per_page=100"
    )]
    #[case(
        None,
        "278964",
        "https://gitlab.com/api/v4/projects/278964/repository/tags?per_page=100"
    )]
    #[case(
        Some("https://git.example/"),
        "a/b",
        "https://git.example/api/v4/projects/a%2Fb/repository/tags?per_page=100"
    )]
    #[case(
        Some("https://git.example/api/v4"),
        "a/b",
        "https://git.example/api/v4/projects/a%2Fb/repository/tags?per_page=100"
    )]
    fn urls(#[case] api_url: Option<&str>, #[case] project: &str, #[case] url: &str) {
        assert_eq!(tags_url(api_url, project).unwrap(), url);
    }

    #[rstest]
    #[case("")]
    #[case("/a")]
    #[case("a/")]
    fn refuses_bad_projects(#[case] project: &str) {
        assert!(matches!(
            tags_url(None, project),
            Err(Error::InvalidUpstream { .. })
        ));
    }

    fn page(url: &str, pairs: &[(&'static str, &'static str)]) -> Page {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        Page {
            url: Url::parse(url).unwrap(),
            headers,
            body: Vec::new(),
        }
    }

    #[rstest]
    #[case("https://g.example/t?per_page=100", &[("x-next-page", "2")], Some("https://g.example/t?per_page=100&page=2"))]
    #[case("https://g.example/t?per_page=100&page=2", &[("x-next-page", "3")], Some("https://g.example/t?per_page=100&page=3"))]
    #[case("https://g.example/t?per_page=100&page=3", &[("x-next-page", "")], None)]
    #[case("https://g.example/t?per_page=100", &[], None)]
    #[case("https://g.example/t?per_page=100", &[("x-next-page", "2"), ("link", r#"<https://g.example/t?per_page=100&id_after=9>; rel="next""#)], Some("https://g.example/t?per_page=100&id_after=9"))]
    fn next_pages(
        #[case] url: &str,
        #[case] pairs: &[(&'static str, &'static str)],
        #[case] next: Option<&str>,
    ) {
        let next_url = next_page(&page(url, pairs)).unwrap();
        assert_eq!(next_url.as_ref().map(Url::as_str), next);
    }

    #[test]
    fn a_bad_next_page_names_the_url() {
        let err = next_page(&page(
            "https://g.example/t?page=1",
            &[("x-next-page", "two")],
        ))
        .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }));
        assert!(
            err.to_string().contains("https://g.example/t?page=1"),
            "{err}"
        );
    }
}
