//! Pagination by the `Link` header (RFC 8288): `Link: <url>; rel="next"`, as GitHub, GitLab
//! and OCI registries send it.

use reqwest::Url;
use reqwest::header::{HeaderMap, LINK};

/// The target of the link whose relation types include `next` (of several links, in one
/// header or many; `rel="next prev"` lists two types), as written.
pub fn next(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let is_next = params.split(';').any(|param| {
                let Some((name, value)) = param.split_once('=') else {
                    return false;
                };
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then_some(target)
        })
}

/// A `next` link that is not a URL reference.
#[derive(Debug, thiserror::Error)]
#[error("invalid `Link: rel=\"next\"` target {0:?}")]
pub struct InvalidLink(pub String);

/// The `next` link resolved against the page's URL; `None` on the last page. Callers decide
/// whether a link to another origin is acceptable ([`same_origin`]).
pub fn next_url(base: &Url, headers: &HeaderMap) -> Result<Option<Url>, InvalidLink> {
    next(headers)
        .map(|link| base.join(link).map_err(|_| InvalidLink(link.to_string())))
        .transpose()
}

/// Whether `next` is on `base`'s origin (scheme, host and port).
pub fn same_origin(base: &Url, next: &Url) -> bool {
    base.origin() == next.origin()
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use rstest::rstest;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(LINK, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[rstest]
    #[case(&[r#"<https://a/r?page=2>; rel="next", <https://a/r?page=5>; rel="last""#], Some("https://a/r?page=2"))]
    #[case(&[r#"<https://a/r?page=1>; rel="prev", <https://a/r?page=3>; rel="next""#], Some("https://a/r?page=3"))]
    #[case(&[r#"<https://a/1>; rel="prev""#, r#"<https://a/3>; rel="next""#], Some("https://a/3"))]
    #[case(&[r#"<https://a/3>; rel="next prev""#], Some("https://a/3"))]
    #[case(&[r#"<https://a/3>; rel="prev next""#], Some("https://a/3"))]
    #[case(&["</v2/r/tags/list?n=2&last=b>; rel=next"], Some("/v2/r/tags/list?n=2&last=b"))]
    #[case(&[r#"<https://a/3>; REL="Next""#], Some("https://a/3"))]
    #[case(&[r#"<https://a/3>; rel="nextish""#], None)]
    #[case(&[r#"<https://a/3>; title="next""#], None)]
    #[case(&[r#"https://a/3; rel="next""#], None)]
    #[case(&[], None)]
    fn next_links(#[case] values: &[&str], #[case] expected: Option<&str>) {
        assert_eq!(next(&headers(values)), expected);
    }

    #[test]
    fn next_urls_resolve_against_the_page() {
        let base = Url::parse("http://127.0.0.1:5000/v2/r/tags/list").unwrap();
        let link = headers(&[r#"</v2/r/tags/list?last=b>; rel="next""#]);
        let next = next_url(&base, &link).unwrap().unwrap();
        assert!(next_url(&base, &HeaderMap::new()).unwrap().is_none());
        let bad = headers(&[r#"<http://[::1>; rel="next""#]);
        assert!(next_url(&base, &bad).is_err());
        assert_eq!(next.as_str(), "http://127.0.0.1:5000/v2/r/tags/list?last=b");
        assert!(same_origin(&base, &next));
        let foreign = Url::parse("http://127.0.0.2:5000/x").unwrap();
        assert!(!same_origin(&base, &foreign));
    }
}
