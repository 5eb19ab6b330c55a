/// Why discovery failed. Messages name the URL; they never hold a token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `upstream` object cannot be used (metadata loading normally refuses it first).
    #[error("invalid upstream: {reason}")]
    InvalidUpstream { reason: String },

    /// `tag_regex` does not compile.
    #[error("tag_regex `{pattern}` does not compile")]
    TagRegex {
        pattern: String,
        #[source]
        source: regex::Error,
    },

    /// `api_url` is not an http(s) URL.
    #[error("api_url `{url}` is not an http or https URL")]
    InvalidApiUrl { url: String },

    /// A string is not a version (see [`crate::Version`] for the grammar).
    #[error("`{text}` is not a version: {reason}")]
    InvalidVersion { text: String, reason: &'static str },

    /// A token holds characters an HTTP header cannot carry; the value is not shown.
    #[error("the token from {variable} is not a valid HTTP header value")]
    InvalidToken { variable: &'static str },

    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client")]
    Client(#[source] boxwright_http::Error),

    /// No answer: connection, TLS, timeout or a broken transfer.
    #[error("request to {url} failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The API's rate limit is used up.
    #[error(
        "{url} refused the request: rate limit reached (resets {resets}); {}",
        rate_limit_hint(variable, *authenticated)
    )]
    RateLimited {
        url: String,
        /// When it resets, from the server's headers: `at 2026-01-01 00:00:00 UTC`,
        /// `in 60 s`, or `at an unknown time`.
        resets: String,
        /// The environment variable of the forge's token.
        variable: &'static str,
        /// Whether a token was sent.
        authenticated: bool,
    },

    /// Any other answer than 2xx.
    #[error("{url} answered HTTP {status}{}", detail(message))]
    Status {
        url: String,
        status: u16,
        /// The start of the body's `message` (or of the body), possibly empty.
        message: String,
    },

    /// The answer is not the JSON expected.
    #[error("{url} did not answer the expected JSON: {reason}")]
    Malformed { url: String, reason: String },

    /// The answer is larger than a page of tags can be.
    #[error("{url} answered more than {limit} bytes")]
    TooLarge { url: String, limit: usize },

    /// A next-page link or redirect leads to another host, which would receive the token.
    #[error("{url} points its next page to another origin ({next}); not followed")]
    ForeignLink { url: String, next: String },
}

fn rate_limit_hint(variable: &str, authenticated: bool) -> String {
    if authenticated {
        format!("the limit of the token in {variable} is used up; wait for the reset")
    } else {
        format!("set {variable} for a higher limit")
    }
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}
