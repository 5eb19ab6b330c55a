//! Where `release publish` writes a target's objects, behind one [`Destination`] interface:
//! a directory, an S3 bucket, a GitHub release or a GitLab generic package.

mod dir;
mod github;
mod gitlab;
mod http;
mod s3;

use std::future::Future;
use std::path::PathBuf;

pub use dir::DirDestination;
pub use github::{GitHubDestination, GitHubSettings};
pub use gitlab::{GitLabDestination, GitLabSettings, GitLabToken};
pub use s3::{S3Destination, S3Settings};

use crate::object::{Content, Digests};
use crate::{Error, Progress};

/// A place objects are published to, below a base (`DEST/<target>/`). The order (versioned
/// objects first, each read back, then the stable pair) is not the destination's business:
/// it lives once, in [`crate::publish`].
pub trait Destination {
    /// What to call an object in messages and output: a path or a URL.
    fn name(&self, relative: &str) -> String;
    /// The object's size and SHA-256 as stored (read in full), `None` when there is none.
    fn digests(&self, relative: &str) -> impl Future<Output = Result<Option<Digests>, Error>>;
    /// Writes the object whole, reporting the bytes sent to `progress`: readers see the old
    /// contents or the new, never a part.
    fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        progress: &Progress,
    ) -> impl Future<Output = Result<(), Error>>;
}

/// A destination as `release publish --to` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory; the target's objects go below `DIR/<target>/`.
    Dir(PathBuf),
    /// `s3://BUCKET[/PREFIX]`, as `BUCKET[/PREFIX]`.
    S3(String),
    /// `github://OWNER/REPO`, as `OWNER/REPO`.
    GitHub(String),
    /// `gitlab://PROJECT`, as `PROJECT`.
    GitLab(String),
}

impl Location {
    /// Parses `--to`: a directory (no scheme), `s3://`, `github://` or `gitlab://`.
    pub fn parse(text: &str) -> Result<Location, Error> {
        if let Some(location) = text.strip_prefix("s3://") {
            return Ok(Location::S3(location.to_string()));
        }
        if let Some(repo) = text.strip_prefix("github://") {
            return Ok(Location::GitHub(repo.to_string()));
        }
        if let Some(project) = text.strip_prefix("gitlab://") {
            return Ok(Location::GitLab(project.to_string()));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(Error::UnsupportedScheme {
                scheme: scheme.to_string(),
            });
        }
        Ok(Location::Dir(PathBuf::from(text)))
    }

    /// Whether the destination has stable objects. A GitHub release's assets and a GitLab
    /// package's files are flat and versioned: GitHub's latest release stands for the stable
    /// objects, and a GitLab package has none.
    pub fn has_stable(&self) -> bool {
        matches!(self, Location::Dir(_) | Location::S3(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_by_scheme() {
        assert_eq!(
            Location::parse("out/dir").unwrap(),
            Location::Dir("out/dir".into())
        );
        assert_eq!(
            Location::parse("s3://b/p").unwrap(),
            Location::S3("b/p".into())
        );
        assert_eq!(
            Location::parse("github://o/r").unwrap(),
            Location::GitHub("o/r".into())
        );
        assert_eq!(
            Location::parse("gitlab://g/p").unwrap(),
            Location::GitLab("g/p".into())
        );
        let error = Location::parse("gs://bucket/prefix").unwrap_err();
        assert!(
            error.to_string().contains("gs:// is not supported"),
            "{error}"
        );
        assert!(!Location::parse("github://o/r").unwrap().has_stable());
        assert!(Location::parse("s3://b").unwrap().has_stable());
    }
}
