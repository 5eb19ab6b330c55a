//! What every project command needs: the loaded project and the reproducible timestamp.

use std::path::Path;

use anyhow::{Context, Result};
use boxwright_metadata::{Project, SourceUrl, Target, env_vars};

use crate::cli::GlobalArgs;

/// Loads the project named by `--project`, or the nearest one upwards.
pub fn project(global: &GlobalArgs) -> Result<Project> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(Project::discover(global.project.as_deref(), &cwd)?)
}

/// The target called `name`; an error listing the known ones when there is none.
pub fn target<'a>(project: &'a Project, name: &str) -> Result<&'a Target> {
    project.metadata.target(name).ok_or_else(|| {
        let known: Vec<&str> = project
            .metadata
            .targets
            .keys()
            .map(String::as_str)
            .collect();
        anyhow::anyhow!("unknown target `{name}` (known: {})", known.join(", "))
    })
}

/// `SOURCE_DATE_EPOCH` if set, else the time of the project's last git commit, else 0.
pub fn source_date_epoch(root: &Path) -> Result<u64> {
    source_date_epoch_at(root, "HEAD")
}

/// `SOURCE_DATE_EPOCH` if set, else the commit time of `revision` in the project's git
/// repository, else 0.
pub fn source_date_epoch_at(root: &Path, revision: &str) -> Result<u64> {
    if let Ok(value) = std::env::var(env_vars::SOURCE_DATE_EPOCH) {
        return value.trim().parse().with_context(|| {
            format!(
                "{} must be a whole number of seconds, not {value:?}",
                env_vars::SOURCE_DATE_EPOCH
            )
        });
    }
    Ok(git(root, &["log", "-1", "--format=%ct", revision, "--"])
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// The publishable source URL of `target` (see `boxwright_metadata::source`): its
/// `source_url`, `BOXWRIGHT_SOURCE_URL`, CI variables or the `origin` remote, cleaned.
/// Every output that records the project's source takes it from here.
pub fn source_url(project: &Project, target: &Target) -> Option<SourceUrl> {
    boxwright_metadata::source::resolve_source_url(
        target.source_url.as_deref(),
        &|name| std::env::var(name).ok(),
        &|| git(&project.root, &["remote", "get-url", "origin"]),
    )
}

/// The commit being built: `git rev-parse HEAD`, else GitLab's `CI_COMMIT_SHA` or GitHub's
/// `GITHUB_SHA`; only a well-formed commit id is returned.
pub fn revision(project: &Project) -> Option<String> {
    git(&project.root, &["rev-parse", "--verify", "-q", "HEAD"])
        .or_else(|| std::env::var("CI_COMMIT_SHA").ok())
        .or_else(|| std::env::var("GITHUB_SHA").ok())
        .and_then(|raw| boxwright_metadata::publishable_revision(&raw))
}

/// One line of `git` output in the project (empty when git or the repository is missing).
pub fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}
