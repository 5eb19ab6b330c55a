//! A GitLab generic package, `gitlab://PROJECT` (a numeric id or `group/project`): the
//! versioned objects are the files of package `<target>`, version `<version>`. There is no
//! stable object.

use reqwest::Method;

use super::Destination;
use super::http;
use crate::object::{Content, Digests, asset_name};
use crate::{Error, Progress};

/// A GitLab token and how it is sent.
#[derive(Debug, Clone)]
pub enum GitLabToken {
    /// A personal, project or group access token (`GITLAB_TOKEN`): `PRIVATE-TOKEN`.
    Private(String),
    /// A CI job's token (`CI_JOB_TOKEN`): `JOB-TOKEN`.
    Job(String),
}

/// Where the GitLab API is and the token for it, as the caller found them.
#[derive(Debug, Clone)]
pub struct GitLabSettings {
    /// The API's base URL (`CI_API_V4_URL`, `GITLAB_API_URL`); `https://gitlab.com/api/v4`
    /// when `None`.
    pub api_url: Option<String>,
    pub token: Option<GitLabToken>,
}

/// The files of one version of a generic package.
pub struct GitLabDestination {
    client: reqwest::Client,
    /// `.../projects/<id>/packages/generic/<package>/<version>`
    base: String,
    project: String,
    /// `<package>/<version>`
    package: String,
    /// The header name and the token.
    auth: (&'static str, String),
}

impl GitLabDestination {
    /// The version of generic package `package` a release `tag` goes to: the tag without
    /// `<package>-` (version and revision).
    pub fn default_version<'a>(tag: &'a str, package: &str) -> &'a str {
        tag.strip_prefix(package)
            .and_then(|rest| rest.strip_prefix('-'))
            .unwrap_or(tag)
    }

    /// Version `version` of generic package `package` in `project`.
    pub fn new(
        project: &str,
        package: &str,
        version: &str,
        settings: &GitLabSettings,
    ) -> Result<GitLabDestination, Error> {
        if project.is_empty() || project.starts_with('/') || project.ends_with('/') {
            return Err(Error::GitLabProject {
                project: project.to_string(),
            });
        }
        let auth = match &settings.token {
            Some(GitLabToken::Private(token)) => ("PRIVATE-TOKEN", token.clone()),
            Some(GitLabToken::Job(token)) => ("JOB-TOKEN", token.clone()),
            None => {
                return Err(Error::NoToken {
                    scheme: "gitlab",
                    variables: "GITLAB_TOKEN or CI_JOB_TOKEN",
                });
            }
        };
        let api = settings
            .api_url
            .as_deref()
            .unwrap_or("https://gitlab.com/api/v4");
        let base = format!(
            "{}/projects/{}/packages/generic/{package}/{version}",
            api.trim_end_matches('/'),
            project.replace('/', "%2F")
        );
        Ok(GitLabDestination {
            client: http::client()?,
            base,
            project: project.to_string(),
            package: format!("{package}/{version}"),
            auth,
        })
    }

    fn url(&self, relative: &str) -> String {
        format!("{}/{}", self.base, asset_name(relative))
    }
}

impl Destination for GitLabDestination {
    fn name(&self, relative: &str) -> String {
        format!(
            "gitlab://{}/packages/generic/{}/{}",
            self.project,
            self.package,
            asset_name(relative)
        )
    }

    async fn digests(&self, relative: &str) -> Result<Option<Digests>, Error> {
        let url = self.url(relative);
        let request = self.client.get(&url).header(self.auth.0, &self.auth.1);
        http::read_back(request, &url, self.name(relative)).await
    }

    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        progress: &Progress,
    ) -> Result<(), Error> {
        let body = content.read().await?;
        let url = self.url(relative);
        let request = self
            .client
            .put(&url)
            .header(self.auth.0, &self.auth.1)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, body.len())
            .body(http::counted_body(&body, progress));
        http::exchange(request, &Method::PUT, &url)
            .await
            .and_then(http::Answer::json)
            .map_err(|source| Error::Upload {
                name: self.name(relative),
                source: Box::new(source),
            })?;
        Ok(())
    }
}
