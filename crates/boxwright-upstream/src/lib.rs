//! The versions of an upstream project, from GitHub releases or GitLab tags.
//!
//! [`discover`] lists an [`Upstream`]'s releases (GitHub) or tags (GitLab), turns tags into
//! [`Version`]s by its `tag_regex`, and keeps the highest `max_versions` of them, highest
//! first; [`latest`] picks the highest that is not a prerelease. Every request goes through
//! one client (`http.rs`); tokens come in through [`DiscoverOptions`] and appear in no
//! message.

mod error;
mod github;
mod gitlab;
mod http;
mod select;
mod tag;
mod version;

use std::fmt;

use boxwright_metadata::Upstream;
use serde::Serialize;

pub use error::Error;
pub use http::MAX_PAGES;
pub use select::latest;
pub use version::Version;

use select::Candidate;
use tag::TagRule;

/// How to discover: tokens (read from `GITHUB_TOKEN`/`GITLAB_TOKEN` by the caller) and an
/// override of the upstream's `max_versions`.
#[derive(Clone, Default)]
pub struct DiscoverOptions {
    /// Sent as `Authorization: Bearer …` to GitHub.
    pub github_token: Option<String>,
    /// Sent as `PRIVATE-TOKEN` to GitLab.
    pub gitlab_token: Option<String>,
    /// Keep at most this many versions instead of `upstream.max_versions`.
    pub max_versions: Option<usize>,
}

/// Tokens shown as `<redacted>`.
impl fmt::Debug for DiscoverOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |token: &Option<String>| token.as_ref().map(|_| "<redacted>");
        f.debug_struct("DiscoverOptions")
            .field("github_token", &redacted(&self.github_token))
            .field("gitlab_token", &redacted(&self.gitlab_token))
            .field("max_versions", &self.max_versions)
            .finish()
    }
}

/// One version of the upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamVersion {
    /// The version, as the tag wrote it (`10.10.0`, `2.0-rc1`), without a leading `v`.
    pub version: String,
    /// The tag it comes from (`v10.10.0`).
    pub tag: String,
    /// What `tag_regex` matched outside its `version` group (`-limitless`), if anything.
    pub flavour: Option<String>,
    /// A GitHub prerelease, or a version with a pre-release part.
    pub prerelease: bool,
}

/// A tag that gave no version, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedTag {
    pub tag: String,
    pub reason: String,
}

/// What [`discover`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// Highest version first, one per version and flavour, at most `max_versions`.
    pub versions: Vec<UpstreamVersion>,
    /// Drafts, prereleases not asked for, tags not matching `tag_regex` or not versions,
    /// duplicates; in the order the forge listed them (duplicates last).
    pub skipped: Vec<SkippedTag>,
    /// HTTP requests made (pages, and retries of 5xx answers).
    pub requests: usize,
}

/// Lists the upstream's versions: GitHub releases (drafts always skipped, prereleases
/// unless `prereleases`) or GitLab tags (pre-release versions unless `prereleases`), at most
/// [`MAX_PAGES`] pages of 100.
pub async fn discover(upstream: &Upstream, options: &DiscoverOptions) -> Result<Discovery, Error> {
    let max = options.max_versions.unwrap_or(upstream.max_versions);
    if max == 0 {
        return Err(Error::InvalidUpstream {
            reason: "max_versions must be at least 1".into(),
        });
    }
    let rule = TagRule::new(upstream.tag_regex.as_deref())?;
    let api_url = upstream.api_url.as_deref();
    let (candidates, requests) = match (&upstream.github, &upstream.gitlab) {
        (Some(repository), None) => {
            let mut http = github::client(options.github_token.as_deref())?;
            let releases = github::releases(&mut http, api_url, repository).await?;
            let candidates = releases
                .into_iter()
                .map(|r| Candidate {
                    tag: r.tag_name,
                    draft: r.draft,
                    prerelease: r.prerelease,
                })
                .collect::<Vec<_>>();
            (candidates, http.requests())
        }
        (None, Some(project)) => {
            let mut http = gitlab::client(options.gitlab_token.as_deref())?;
            let tags = gitlab::tags(&mut http, api_url, project).await?;
            let candidates = tags
                .into_iter()
                .map(|t| Candidate {
                    tag: t.name,
                    draft: false,
                    prerelease: false,
                })
                .collect::<Vec<_>>();
            (candidates, http.requests())
        }
        _ => {
            return Err(Error::InvalidUpstream {
                reason: "needs exactly one of `github` (owner/repo) and `gitlab` (project)".into(),
            });
        }
    };
    let (versions, skipped) = select::select(candidates, &rule, upstream.prereleases, max);
    Ok(Discovery {
        versions,
        skipped,
        requests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_never_show_tokens() {
        let options = DiscoverOptions {
            github_token: Some("ghp_secret".into()),
            gitlab_token: None,
            max_versions: Some(3),
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("ghp_secret"), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("max_versions: Some(3)"));
    }
}
