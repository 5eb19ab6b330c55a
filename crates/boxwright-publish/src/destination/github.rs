//! A GitHub release, `github://OWNER/REPO`: the tag's release (created when missing) holds
//! the versioned objects as assets named by their file names. There is no stable object:
//! GitHub's latest release (`releases/latest/download/manifest.json`) is the stable one.

use boxwright_release::manifest;
use reqwest::{Method, StatusCode};

use super::Destination;
use super::http::{self, API_RETRY};
use crate::object::{Content, Digests, asset_name};
use crate::{Error, Progress, PublishObserver};

/// GitHub's API version header.
const API_VERSION: (&str, &str) = ("X-GitHub-Api-Version", "2022-11-28");

/// Where the GitHub API is and the token for it, as the caller found them.
#[derive(Debug, Clone)]
pub struct GitHubSettings {
    /// The API's base URL (`GITHUB_API_URL`); `https://api.github.com` when `None`.
    pub api_url: Option<String>,
    /// A token allowed to write releases (`GITHUB_TOKEN`).
    pub token: Option<String>,
}

/// A release of a GitHub repository.
pub struct GitHubDestination {
    client: reqwest::Client,
    api: String,
    repo: String,
    token: String,
    release_id: u64,
    /// The release's `upload_url` without its `{?name,label}` template.
    upload_url: String,
}

/// An asset of a release: its id and name.
struct Asset {
    id: u64,
    name: String,
}

impl GitHubDestination {
    /// The release of `tag` in `repo` (`OWNER/REPO`), created when missing; its requests are
    /// retried (reported to `observer`).
    pub async fn connect(
        repo: &str,
        tag: &str,
        settings: &GitHubSettings,
        observer: &dyn PublishObserver,
    ) -> Result<GitHubDestination, Error> {
        if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
            return Err(Error::GitHubRepository {
                repo: repo.to_string(),
            });
        }
        let token = settings.token.clone().ok_or(Error::NoToken {
            scheme: "github",
            variables: "GITHUB_TOKEN",
        })?;
        let api = settings
            .api_url
            .as_deref()
            .unwrap_or("https://api.github.com")
            .trim_end_matches('/')
            .to_string();
        let mut destination = GitHubDestination {
            client: http::client()?,
            api,
            repo: repo.to_string(),
            token,
            release_id: 0,
            upload_url: String::new(),
        };
        let release = API_RETRY
            .run(
                || destination.find_or_create(tag),
                Error::is_transient,
                |attempt, error, wait| {
                    observer.retrying(&format!("{tag} in {repo}"), attempt, error, wait);
                },
            )
            .await
            .map_err(|(error, _)| error)?;
        let field = |field| Error::ReleaseField {
            tag: tag.to_string(),
            repo: repo.to_string(),
            field,
        };
        destination.release_id = release["id"].as_u64().ok_or_else(|| field("id"))?;
        let upload_url = release["upload_url"]
            .as_str()
            .ok_or_else(|| field("upload_url"))?;
        destination.upload_url = upload_url
            .split('{')
            .next()
            .unwrap_or(upload_url)
            .to_string();
        Ok(destination)
    }

    /// The release of `tag`, created when there is none.
    async fn find_or_create(&self, tag: &str) -> Result<serde_json::Value, Error> {
        let url = format!("{}/repos/{}/releases/tags/{tag}", self.api, self.repo);
        let answer = http::exchange(self.request(Method::GET, &url), &Method::GET, &url).await?;
        if answer.status != StatusCode::NOT_FOUND {
            return answer.json();
        }
        let url = format!("{}/repos/{}/releases", self.api, self.repo);
        let body = serde_json::json!({ "tag_name": tag, "name": tag }).to_string();
        let request = self
            .request(Method::POST, &url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        http::exchange(request, &Method::POST, &url).await?.json()
    }

    /// A request with the token and GitHub's headers.
    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header(API_VERSION.0, API_VERSION.1)
    }

    async fn assets(&self) -> Result<Vec<Asset>, Error> {
        let url = format!(
            "{}/repos/{}/releases/{}/assets?per_page=100",
            self.api, self.repo, self.release_id
        );
        let list = http::exchange(self.request(Method::GET, &url), &Method::GET, &url)
            .await?
            .json()?;
        let Some(list) = list.as_array() else {
            return Err(Error::NotAssetList { url });
        };
        Ok(list
            .iter()
            .filter_map(|a| {
                Some(Asset {
                    id: a["id"].as_u64()?,
                    name: a["name"].as_str()?.to_string(),
                })
            })
            .collect())
    }

    async fn asset(&self, relative: &str) -> Result<Option<Asset>, Error> {
        let name = asset_name(relative);
        Ok(self.assets().await?.into_iter().find(|a| a.name == name))
    }

    fn asset_url(&self, asset: &Asset) -> String {
        format!(
            "{}/repos/{}/releases/assets/{}",
            self.api, self.repo, asset.id
        )
    }

    async fn delete(&self, relative: &str, asset: &Asset) -> Result<(), Error> {
        let url = self.asset_url(asset);
        let answer =
            http::exchange(self.request(Method::DELETE, &url), &Method::DELETE, &url).await?;
        if answer.status.is_success() {
            return Ok(());
        }
        if boxwright_http::retryable_status(answer.status) {
            return answer.success().map(drop);
        }
        Err(Error::Delete {
            name: self.name(relative),
            url,
            status: answer.status,
        })
    }
}

impl Destination for GitHubDestination {
    fn name(&self, relative: &str) -> String {
        format!("github://{}/releases/{relative}", self.repo)
    }

    async fn digests(&self, relative: &str) -> Result<Option<Digests>, Error> {
        let Some(asset) = self.asset(relative).await? else {
            return Ok(None);
        };
        let url = self.asset_url(&asset);
        let request = self
            .client
            .get(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/octet-stream")
            .header(API_VERSION.0, API_VERSION.1);
        http::read_back(request, &url, self.name(relative)).await
    }

    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        progress: &Progress,
    ) -> Result<(), Error> {
        let name = asset_name(relative);
        // Reached for an existing asset only with --force (or for a differing one), or
        // after an attempt that failed halfway.
        if let Some(asset) = self.asset(relative).await? {
            self.delete(relative, &asset).await?;
        }
        let body = content.read().await?;
        let mut url = reqwest::Url::parse(&self.upload_url).map_err(|_| Error::UploadUrl {
            url: self.upload_url.clone(),
        })?;
        url.query_pairs_mut().append_pair("name", name);
        let url = url.to_string();
        let request = self
            .request(Method::POST, &url)
            .header(reqwest::header::CONTENT_TYPE, manifest::media_type(name))
            .header(reqwest::header::CONTENT_LENGTH, body.len())
            .body(http::counted_body(&body, progress));
        http::exchange(request, &Method::POST, &url)
            .await
            .and_then(http::Answer::json)
            .map_err(|source| Error::Upload {
                name: self.name(relative),
                source: Box::new(source),
            })?;
        Ok(())
    }
}
