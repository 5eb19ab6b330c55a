//! The one HTTP client of this crate: requests, pagination bounds and error mapping.
//!
//! - The client is `boxwright-http`'s (rustls with ring, the system's trust store).
//! - The token travels in the client's default headers, marked sensitive, and only to the
//!   API's origin: redirects ([`Redirects::SameOrigin`]) and next-page links to another
//!   origin are not followed.
//! - A 5xx answer is retried once; everything else fails at once.

use std::time::Duration;

use boxwright_http::{ClientConfig, Redirects, RetryPolicy};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::Error;

/// Items asked for per page (the most both APIs give).
pub(crate) const PER_PAGE: u32 = 100;

/// Pages read at most per discovery: 20 pages of 100 are the newest 2,000 releases or tags,
/// far more than any `max_versions`. Later pages are not read.
pub const MAX_PAGES: usize = 20;

/// The largest answer read: a page of 100 GitHub releases with long notes stays well below.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The wait before the one retry of a 5xx answer.
const RETRY_DELAY: Duration = Duration::from_millis(300);

/// How much of an error answer's message is kept.
const MESSAGE_CHARS: usize = 200;

/// Which forge the client speaks to, for the rate-limit hint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Forge {
    /// The environment variable its token comes from.
    pub token_variable: &'static str,
    /// Whether a token is sent.
    pub authenticated: bool,
}

/// A 2xx answer, read whole.
pub(crate) struct Page {
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Page {
    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Malformed {
            url: self.url.to_string(),
            reason: e.to_string(),
        })
    }

    /// A header as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The client and the count of requests it sent.
pub(crate) struct Http {
    client: reqwest::Client,
    forge: Forge,
    requests: usize,
}

impl Http {
    /// A client sending `headers` with every request (the token among them, if any).
    pub fn new(headers: HeaderMap, forge: Forge) -> Result<Http, Error> {
        let client = boxwright_http::client(&ClientConfig {
            default_headers: headers,
            redirects: Redirects::SameOrigin,
            ..ClientConfig::default()
        })
        .map_err(Error::Client)?;
        Ok(Http {
            client,
            forge,
            requests: 0,
        })
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// GETs `url`; any answer but 2xx is an error. A 5xx is retried once.
    pub async fn get(&mut self, url: &Url) -> Result<Page, Error> {
        let policy = RetryPolicy {
            attempts: 2,
            backoff: RETRY_DELAY,
        };
        let (client, forge, requests) = (&self.client, self.forge, &mut self.requests);
        policy
            .run(
                || {
                    *requests += 1;
                    get_once(client, forge, url)
                },
                |error| matches!(error, Error::Status { status, .. } if *status >= 500),
                |_, _, _| {},
            )
            .await
            .map_err(|(error, _)| error)
    }
}

/// One GET of `url`: the page when the answer is 2xx, else the error it stands for.
async fn get_once(client: &reqwest::Client, forge: Forge, url: &Url) -> Result<Page, Error> {
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|source| Error::Request {
            url: url.to_string(),
            source,
        })?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body(url, response).await?;
    if status.is_success() {
        return Ok(Page {
            url: url.clone(),
            headers,
            body,
        });
    }
    Err(failure(forge, url, status, &headers, &body))
}

/// The error a non-2xx answer stands for.
fn failure(forge: Forge, url: &Url, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    if let Some(resets) = rate_limit_reset(status, headers) {
        return Error::RateLimited {
            url: url.to_string(),
            resets,
            variable: forge.token_variable,
            authenticated: forge.authenticated,
        };
    }
    if status.is_redirection()
        && let Some(location) = headers.get(LOCATION).and_then(|v| v.to_str().ok())
    {
        return Error::ForeignLink {
            url: url.to_string(),
            next: location.to_string(),
        };
    }
    Error::Status {
        url: url.to_string(),
        status: status.as_u16(),
        message: error_message(body),
    }
}

/// Reads every page from `first` on, at most [`MAX_PAGES`], each a JSON array of `T`;
/// `next` gives the following page's URL from a page, if any.
pub(crate) async fn collect_pages<T: DeserializeOwned>(
    http: &mut Http,
    first: Url,
    next: impl Fn(&Page) -> Result<Option<Url>, Error>,
) -> Result<Vec<T>, Error> {
    let mut items = Vec::new();
    let mut url = Some(first);
    for _ in 0..MAX_PAGES {
        let Some(current) = url.take() else { break };
        let page = http.get(&current).await?;
        items.extend(page.json::<Vec<T>>()?);
        url = next(&page)?;
    }
    Ok(items)
}

/// The next page from `Link: <url>; rel="next"`, resolved against the page's URL and kept
/// to its origin.
pub(crate) fn link_next(page: &Page) -> Result<Option<Url>, Error> {
    match boxwright_http::link::next(&page.headers) {
        Some(link) => same_origin(&page.url, link).map(Some),
        None => Ok(None),
    }
}

/// `link` resolved against `base`, refused when it leaves `base`'s origin.
pub(crate) fn same_origin(base: &Url, link: &str) -> Result<Url, Error> {
    let foreign = || Error::ForeignLink {
        url: base.to_string(),
        next: link.to_string(),
    };
    let next = base.join(link).map_err(|_| foreign())?;
    if next.origin() == base.origin() {
        Ok(next)
    } else {
        Err(foreign())
    }
}

/// A header value marked sensitive (kept out of debug output).
pub(crate) fn secret_header(variable: &'static str, value: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(value).map_err(|_| Error::InvalidToken { variable })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Inserts a static header.
pub(crate) fn insert(headers: &mut HeaderMap, name: &'static str, value: &'static str) {
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    );
}

/// The API base URL: `api_url` or `default`, an http(s) URL without a trailing slash.
pub(crate) fn api_base(api_url: Option<&str>, default: &str) -> Result<String, Error> {
    let text = api_url.unwrap_or(default).trim_end_matches('/');
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(text.to_string())
        }
        _ => Err(Error::InvalidApiUrl {
            url: text.to_string(),
        }),
    }
}

/// Parses a URL built from the API base.
pub(crate) fn parse_url(text: &str) -> Result<Url, Error> {
    Url::parse(text).map_err(|_| Error::InvalidApiUrl {
        url: text.to_string(),
    })
}

/// One path segment percent-encoded: everything but RFC 3986's unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`, so `group/sub/project` is one segment,
/// `group%2Fsub%2Fproject`, as GitLab's API wants. Hand-written: it is the only encoding
/// this crate needs, not worth a crate.
pub(crate) fn encode_segment(text: &str) -> String {
    use std::fmt::Write;
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

async fn read_body(url: &Url, mut response: reqwest::Response) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|source| Error::Request {
        url: url.to_string(),
        source,
    })? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Error::TooLarge {
                url: url.to_string(),
                limit: MAX_BODY,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// When a rate-limit answer says the limit resets, or `None` when the answer is not one:
/// 429, or 403 with `x-ratelimit-remaining: 0` (`ratelimit-remaining` on GitLab) or
/// `retry-after`.
fn rate_limit_reset(status: StatusCode, headers: &HeaderMap) -> Option<String> {
    let text = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
            .map(str::trim)
    };
    let retry_after = text(&[RETRY_AFTER.as_str()]);
    let exhausted = text(&["x-ratelimit-remaining", "ratelimit-remaining"]) == Some("0");
    let limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN && (exhausted || retry_after.is_some()));
    if !limited {
        return None;
    }
    let reset = text(&["x-ratelimit-reset", "ratelimit-reset"]).and_then(|t| t.parse().ok());
    Some(match (retry_after, reset) {
        (Some(seconds), _) if seconds.bytes().all(|b| b.is_ascii_digit()) => {
            format!("in {seconds} s")
        }
        (Some(date), _) => format!("at {date}"),
        (None, Some(epoch)) => format!("at {}", utc(epoch)),
        (None, None) => "at an unknown time".to_string(),
    })
}

/// The start of an error answer's `message` (or `error`, or the body's text), on one line.
fn error_message(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let text = json
        .as_ref()
        .and_then(|v| ["message", "error"].iter().find_map(|k| v[*k].as_str()))
        .map_or_else(
            || String::from_utf8_lossy(body).into_owned(),
            str::to_string,
        );
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &one_line[..end]),
        None => one_line,
    }
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian).
fn utc(epoch: u64) -> String {
    let (days, seconds) = (epoch / 86_400, epoch % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[rstest]
    #[case(&[("link", r#"<https://api.example/r?page=2>; rel="next", <https://api.example/r?page=5>; rel="last""#)], Some("https://api.example/r?page=2"))]
    #[case(&[("link", r#"<https://a/r?page=1>; rel="prev", <https://a/r?page=3>; rel="next""#)], Some("https://a/r?page=3"))]
    #[case(&[("link", r#"<https://a/1>; rel="first""#), ("link", r"<https://a/3>; rel=next")], Some("https://a/3"))]
    #[case(&[("link", r#"<https://a/3>; rel="next last""#)], Some("https://a/3"))]
    #[case(&[("link", r#"<https://a/5>; rel="last""#)], None)]
    #[case(&[("link", r#"https://a/3; rel="next""#)], None)]
    #[case(&[], None)]
    fn next_links(#[case] pairs: &[(&'static str, &'static str)], #[case] next: Option<&str>) {
        assert_eq!(boxwright_http::link::next(&headers(pairs)), next);
    }

    #[rstest]
    #[case("https://api.example/r?page=1", "https://api.example/r?page=2", true)]
    #[case("https://api.example/r?page=1", "/r?page=2", true)]
    #[case("https://api.example/r", "https://api.example:8443/r?page=2", false)]
    #[case("https://api.example/r", "http://api.example/r?page=2", false)]
    #[case("https://api.example/r", "https://evil.example/r?page=2", false)]
    fn next_pages_stay_on_the_origin(#[case] base: &str, #[case] link: &str, #[case] ok: bool) {
        let result = same_origin(&Url::parse(base).unwrap(), link);
        assert_eq!(result.is_ok(), ok, "{result:?}");
        if let Err(err) = result {
            assert!(matches!(err, Error::ForeignLink { .. }));
            assert!(err.to_string().contains(base), "{err}");
        }
    }

    #[rstest]
    #[case("group/sub/project", "group%2Fsub%2Fproject")]
    #[case("12345", "12345")]
    #[case("a.b-c_d~e", "a.b-c_d~e")]
    #[case("with space/ü", "with%20space%2F%C3%BC")]
    #[case("x?y#z%", "x%3Fy%23z%25")]
    fn encodes_segments(#[case] text: &str, #[case] encoded: &str) {
        assert_eq!(encode_segment(text), encoded);
    }

    #[rstest]
    #[case(None, "https://api.github.com")]
    #[case(Some("https://ghe.example/api/v3/"), "https://ghe.example/api/v3")]
    #[case(Some("http://127.0.0.1:8080"), "http://127.0.0.1:8080")]
    fn api_bases(#[case] api_url: Option<&str>, #[case] base: &str) {
        assert_eq!(api_base(api_url, "https://api.github.com").unwrap(), base);
    }

    #[rstest]
    #[case("ftp://example/api")]
    #[case("not a url")]
    #[case("file:///tmp/api")]
    fn bad_api_bases(#[case] api_url: &str) {
        let err = api_base(Some(api_url), "https://api.github.com").unwrap_err();
        assert!(err.to_string().contains(api_url), "{err}");
    }

    #[rstest]
    #[case(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1767225600")], Some("at 2026-01-01 00:00:00 UTC"))]
    #[case(403, &[("ratelimit-remaining", "0"), ("ratelimit-reset", "1700000000")], Some("at 2023-11-14 22:13:20 UTC"))]
    #[case(429, &[("retry-after", "60"), ("x-ratelimit-reset", "1767225600")], Some("in 60 s"))]
    #[case(403, &[("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")], Some("at Wed, 21 Oct 2026 07:28:00 GMT"))]
    #[case(429, &[], Some("at an unknown time"))]
    #[case(403, &[("x-ratelimit-remaining", "12")], None)]
    #[case(403, &[], None)]
    #[case(404, &[("x-ratelimit-remaining", "0")], None)]
    fn rate_limits(
        #[case] status: u16,
        #[case] pairs: &[(&'static str, &'static str)],
        #[case] resets: Option<&str>,
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        assert_eq!(rate_limit_reset(status, &headers(pairs)).as_deref(), resets);
    }

    #[rstest]
    #[case(0, "1970-01-01 00:00:00 UTC")]
    #[case(951_782_400, "2000-02-29 00:00:00 UTC")]
    #[case(1_767_225_599, "2025-12-31 23:59:59 UTC")]
    #[case(4_107_542_400, "2100-03-01 00:00:00 UTC")]
    fn utc_dates(#[case] epoch: u64, #[case] text: &str) {
        assert_eq!(utc(epoch), text);
    }

    #[test]
    fn error_messages_are_short_single_lines() {
        assert_eq!(
            error_message(br#"{"message":"Not Found","documentation_url":"x"}"#),
            "Not Found"
        );
        assert_eq!(
            error_message(br#"{"error":"insufficient_scope"}"#),
            "insufficient_scope"
        );
        assert_eq!(
            error_message(b"<html>\n  Bad\tgateway\n</html>"),
            "<html> Bad gateway </html>"
        );
        assert_eq!(error_message(b""), "");
        let long = format!(r#"{{"message":"{}"}}"#, "é".repeat(500));
        let message = error_message(long.as_bytes());
        assert_eq!(message.chars().count(), MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn tokens_are_sensitive_and_checked() {
        assert!(
            secret_header("GITHUB_TOKEN", "Bearer abc")
                .unwrap()
                .is_sensitive()
        );
        let err = secret_header("GITLAB_TOKEN", "abc\ndef").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the token from GITLAB_TOKEN is not a valid HTTP header value"
        );
    }
}
