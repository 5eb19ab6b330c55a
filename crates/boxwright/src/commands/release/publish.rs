//! `release publish`: a release's objects written to a directory, S3, a GitHub release or a
//! GitLab generic package, in `boxwright-publish`'s order; the destinations' settings come
//! from the environment here.

use std::sync::Arc;

use anyhow::bail;
use boxwright_publish::destination::{
    DirDestination, GitHubDestination, GitHubSettings, GitLabDestination, GitLabSettings,
    GitLabToken, S3Destination, S3Settings,
};
use boxwright_publish::{Location, Object, Options, PublishObserver, Published};

use super::Reporter;
use crate::cli::{GlobalArgs, PublishArgs};
use crate::commands::ExitStatus;
use crate::context;
use crate::printer::Printer;

pub fn publish(
    global: &GlobalArgs,
    printer: &Printer,
    args: &PublishArgs,
) -> anyhow::Result<ExitStatus> {
    let location = Location::parse(&args.to)?;
    if !matches!(location, Location::GitLab(_)) && args.package_version.is_some() {
        bail!("--package-version is for gitlab:// destinations");
    }
    let key = (
        args.key.as_deref(),
        args.allow_unsigned,
        args.key_password_stdin,
    );
    let (_, prepared) = super::prepare(global, printer, &args.tag, key, &args.registry)?;
    let objects = prepared.publish_objects(location.has_stable());
    let reporter = Arc::new(Reporter::new(printer));
    let observer: Arc<dyn PublishObserver> = reporter.clone();
    let published = context::block_on(publish_to(
        &location,
        &prepared.manifest.target,
        &objects,
        args,
        &observer,
    ));
    reporter.clear();
    let published = published??;
    if printer.json {
        printer.json(&published);
    } else {
        for name in &published.written_names {
            printer.line(name);
        }
        printer.info(format!(
            "published {} to {} ({} written, {} unchanged)",
            args.tag,
            published.base,
            published.written.len(),
            published.unchanged.len()
        ));
    }
    Ok(ExitStatus::Success)
}

/// Publishes `objects` of `target` to `location`.
async fn publish_to(
    location: &Location,
    target: &str,
    objects: &[Object<'_>],
    args: &PublishArgs,
    observer: &Arc<dyn PublishObserver>,
) -> Result<Published, boxwright_publish::Error> {
    let options = Options {
        force: args.force,
        ..Options::default()
    };
    match location {
        Location::GitLab(project) => {
            // The tag without `<target>-`: version and revision, one package version each.
            let version = args
                .package_version
                .as_deref()
                .unwrap_or_else(|| GitLabDestination::default_version(&args.tag, target));
            let destination = GitLabDestination::new(project, target, version, &gitlab())?;
            boxwright_publish::publish(&destination, objects, &options, observer).await
        }
        Location::GitHub(repo) => {
            let destination =
                GitHubDestination::connect(repo, &args.tag, &github(), observer.as_ref()).await?;
            boxwright_publish::publish(&destination, objects, &options, observer).await
        }
        Location::S3(bucket) => {
            let destination = S3Destination::new(bucket, target, &s3())?;
            boxwright_publish::publish(&destination, objects, &options, observer).await
        }
        Location::Dir(dir) => {
            let destination = DirDestination(dir.join(target));
            boxwright_publish::publish(&destination, objects, &options, observer).await
        }
    }
}

/// `GITHUB_API_URL` and `GITHUB_TOKEN`.
fn github() -> GitHubSettings {
    GitHubSettings {
        api_url: env_value(&["GITHUB_API_URL"]),
        token: env_value(&["GITHUB_TOKEN"]),
    }
}

/// `CI_API_V4_URL` or `GITLAB_API_URL`, and `GITLAB_TOKEN` or else `CI_JOB_TOKEN`.
fn gitlab() -> GitLabSettings {
    let token = env_value(&["GITLAB_TOKEN"])
        .map(GitLabToken::Private)
        .or_else(|| env_value(&["CI_JOB_TOKEN"]).map(GitLabToken::Job));
    GitLabSettings {
        api_url: env_value(&["CI_API_V4_URL", "GITLAB_API_URL"]),
        token,
    }
}

/// Every `AWS_*` variable (endpoint, region, credentials, `AWS_ALLOW_HTTP`...).
fn s3() -> S3Settings {
    S3Settings {
        variables: std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, _)| name.starts_with("AWS_"))
            .collect(),
    }
}

/// The value of the first of `names` that is set and not blank.
fn env_value(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}
