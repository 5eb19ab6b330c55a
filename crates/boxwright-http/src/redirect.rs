//! Which redirects a client follows.

use reqwest::redirect;

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 10;

/// A client's redirect policy. None of them follows a redirect away from http(s) (`file:`,
/// `ftp:`...): reqwest hands such a redirect back as the answer, and [`unfollowed`] tells it
/// from a real answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Up to [`MAX_REDIRECTS`], to any http(s) location (downloads, release assets on a CDN).
    Web,
    /// Only within the first URL's origin; a redirect elsewhere is returned as the answer
    /// (APIs that carry a token).
    SameOrigin,
    /// Never followed; the 3xx is the answer.
    None,
}

impl Redirects {
    pub(crate) fn policy(self) -> redirect::Policy {
        match self {
            Redirects::None => redirect::Policy::none(),
            Redirects::Web | Redirects::SameOrigin => redirect::Policy::custom(move |attempt| {
                let scheme = attempt.url().scheme();
                if scheme != "http" && scheme != "https" {
                    let location = attempt.url().to_string();
                    return attempt.error(format!("redirect to a non-http location {location:?}"));
                }
                let same_origin = attempt
                    .previous()
                    .last()
                    .is_some_and(|previous| previous.origin() == attempt.url().origin());
                if self == Redirects::SameOrigin && !same_origin {
                    attempt.stop()
                } else if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
                } else {
                    attempt.follow()
                }
            }),
        }
    }
}

/// The location of a redirection the client handed back instead of following (a 3xx with a
/// `Location` header: one to a non-http scheme, past the limit, or off the origin under
/// [`Redirects::SameOrigin`]). Callers expecting content refuse such an answer by this.
pub fn unfollowed(response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(reqwest::header::LOCATION)?;
    Some(String::from_utf8_lossy(location.as_bytes()).into_owned())
}
