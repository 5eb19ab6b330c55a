//! Who ran the build: GitHub Actions, GitLab CI or a local host, from the environment passed
//! in as a map (tests hand in their own; the binary hands in the process environment).
//!
//! Only these variables are read, and every URL made from them goes through the metadata
//! crate's cleaning (no credentials, queries or paths of the builder): `GITHUB_ACTIONS`,
//! `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`, `GITHUB_WORKFLOW_REF`, `GITHUB_RUN_ID`,
//! `GITHUB_RUN_ATTEMPT`, `GITHUB_SHA`; `GITLAB_CI`, `CI_SERVER_URL`, `CI_PROJECT_URL`,
//! `CI_JOB_URL`, `CI_PIPELINE_URL`, `CI_COMMIT_SHA`, `CI_CONFIG_PATH`. A local run records a
//! fixed builder id: no host name, user or path.

use std::collections::BTreeMap;

use boxwright_metadata::{
    env_vars, publishable_download_url, publishable_revision, publishable_source_url,
};
use serde::Serialize;

/// The builder id of a run outside CI.
pub const LOCAL_BUILDER_ID: &str = "https://boxwright.invalid/builder/local";
/// The builder id of a CI run whose repository could not be told.
const GITHUB_FALLBACK_ID: &str = "https://boxwright.invalid/builder/github-actions";
const GITLAB_FALLBACK_ID: &str = "https://boxwright.invalid/builder/gitlab-ci";

/// Where the build ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    GithubActions,
    GitlabCi,
    Local,
}

/// What the environment says about the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub platform: Platform,
    /// `runDetails.builder.id`.
    pub builder_id: String,
    /// `runDetails.metadata.invocationId`: the run's (job's) web page.
    pub invocation_id: Option<String>,
    /// The CI configuration that ran.
    pub workflow: Option<Workflow>,
    /// The commit CI checked out.
    pub commit: Option<String>,
    /// The repository CI ran for.
    pub repository: Option<String>,
}

/// A CI configuration file of a repository at a ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workflow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub path: String,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Detects the run from `env`.
pub fn detect(env: &BTreeMap<String, String>) -> Run {
    let get = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    if get(env_vars::GITHUB_ACTIONS) == Some("true") {
        return github(&get);
    }
    if get(env_vars::GITLAB_CI) == Some("true") {
        return gitlab(&get);
    }
    Run {
        platform: Platform::Local,
        builder_id: LOCAL_BUILDER_ID.into(),
        invocation_id: None,
        workflow: None,
        commit: None,
        repository: None,
    }
}

fn github<'a>(get: &dyn Fn(&str) -> Option<&'a str>) -> Run {
    let server = get("GITHUB_SERVER_URL")
        .and_then(publishable_source_url)
        .unwrap_or_else(|| "https://github.com".into());
    let name = get("GITHUB_REPOSITORY").map(|r| r.trim_matches('/'));
    let repository = name.and_then(|r| publishable_source_url(&format!("{server}/{r}")));
    // `owner/repo/.github/workflows/release.yml@refs/heads/main`
    let workflow_ref = get("GITHUB_WORKFLOW_REF");
    let builder_id = workflow_ref
        .and_then(|w| publishable_download_url(&format!("{server}/{}", w.trim_start_matches('/'))))
        .or_else(|| repository.as_ref().map(|r| format!("{r}/actions")))
        .unwrap_or_else(|| GITHUB_FALLBACK_ID.into());
    let workflow = workflow_ref.map(|w| {
        let (file, reference) = w.split_once('@').map_or((w, None), |(f, r)| (f, Some(r)));
        let path = name
            .and_then(|n| file.strip_prefix(n))
            .map_or(file, |p| p.trim_start_matches('/'));
        Workflow {
            repository: repository.clone(),
            path: path.to_string(),
            reference: reference.map(str::to_string),
        }
    });
    let run_id = get("GITHUB_RUN_ID").filter(|id| id.bytes().all(|b| b.is_ascii_digit()));
    let attempt = get("GITHUB_RUN_ATTEMPT")
        .filter(|a| a.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("1");
    let invocation_id = match (&repository, run_id) {
        (Some(repository), Some(id)) => {
            Some(format!("{repository}/actions/runs/{id}/attempts/{attempt}"))
        }
        _ => None,
    };
    Run {
        platform: Platform::GithubActions,
        builder_id,
        invocation_id,
        workflow,
        commit: get("GITHUB_SHA").and_then(publishable_revision),
        repository,
    }
}

fn gitlab<'a>(get: &dyn Fn(&str) -> Option<&'a str>) -> Run {
    let project = get("CI_PROJECT_URL").and_then(publishable_source_url);
    let commit = get("CI_COMMIT_SHA").and_then(publishable_revision);
    let config = get("CI_CONFIG_PATH")
        .filter(|p| !p.starts_with('/') && !p.split('/').any(|c| c == ".."))
        .unwrap_or(".gitlab-ci.yml");
    let builder_id = project
        .as_ref()
        .map(|p| {
            format!(
                "{p}/-/blob/{}/{config}",
                commit.as_deref().unwrap_or("HEAD")
            )
        })
        .and_then(|url| publishable_download_url(&url))
        .or_else(|| get("CI_SERVER_URL").and_then(publishable_source_url))
        .unwrap_or_else(|| GITLAB_FALLBACK_ID.into());
    let invocation_id = get("CI_JOB_URL")
        .or_else(|| get("CI_PIPELINE_URL"))
        .and_then(publishable_download_url);
    Run {
        platform: Platform::GitlabCi,
        builder_id,
        invocation_id,
        workflow: Some(Workflow {
            repository: project.clone(),
            path: config.to_string(),
            reference: None,
        }),
        commit,
        repository: project,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn github_actions_names_the_workflow_and_the_run() {
        let run = detect(&env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/tools"),
            (
                "GITHUB_WORKFLOW_REF",
                "acme/tools/.github/workflows/release.yml@refs/tags/v1",
            ),
            ("GITHUB_RUN_ID", "123456"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ]));
        assert_eq!(run.platform, Platform::GithubActions);
        assert_eq!(
            run.builder_id,
            "https://github.com/acme/tools/.github/workflows/release.yml@refs/tags/v1"
        );
        assert_eq!(
            run.invocation_id.as_deref(),
            Some("https://github.com/acme/tools/actions/runs/123456/attempts/2")
        );
        assert_eq!(
            run.workflow,
            Some(Workflow {
                repository: Some("https://github.com/acme/tools".into()),
                path: ".github/workflows/release.yml".into(),
                reference: Some("refs/tags/v1".into()),
            })
        );
        assert_eq!(
            run.commit.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
    }

    #[test]
    fn gitlab_ci_names_the_pipeline_file_and_the_job() {
        let run = detect(&env(&[
            ("GITLAB_CI", "true"),
            ("CI_SERVER_URL", "https://gitlab.example.com"),
            (
                "CI_PROJECT_URL",
                "https://gitlab-ci-token:s3cr3t@gitlab.example.com/group/project",
            ),
            (
                "CI_JOB_URL",
                "https://gitlab.example.com/group/project/-/jobs/42?token=x",
            ),
            ("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ]));
        assert_eq!(run.platform, Platform::GitlabCi);
        assert_eq!(
            run.builder_id,
            "https://gitlab.example.com/group/project/-/blob/0123456789abcdef0123456789abcdef01234567/.gitlab-ci.yml"
        );
        assert_eq!(
            run.invocation_id.as_deref(),
            Some("https://gitlab.example.com/group/project/-/jobs/42")
        );
        assert!(!format!("{run:?}").contains("s3cr3t"));
    }

    #[test]
    fn anything_else_is_a_local_run_without_host_facts() {
        let run = detect(&env(&[
            ("GITHUB_ACTIONS", "false"),
            ("HOSTNAME", "builder-7"),
            ("USER", "alice"),
        ]));
        assert_eq!(run.platform, Platform::Local);
        assert_eq!(run.builder_id, LOCAL_BUILDER_ID);
        assert_eq!(run.invocation_id, None);
        assert_eq!(run.workflow, None);
    }

    #[test]
    fn ci_values_that_do_not_clean_are_left_out() {
        let run = detect(&env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/tools"),
            ("GITHUB_RUN_ID", "not a number"),
            ("GITHUB_SHA", "HEAD"),
        ]));
        assert_eq!(run.builder_id, "https://github.com/acme/tools/actions");
        assert_eq!(run.invocation_id, None);
        assert_eq!(run.commit, None);
    }
}
