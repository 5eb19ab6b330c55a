//! What commands share: the loaded project, the reproducible timestamp, the registry client
//! and async runtime, and the host side of SUBJECT resolution. It is also the one reader of
//! the process environment: libraries get what the variables say as arguments.
//!
//! - `env.rs`: the process environment and the settings read from it.
//! - `registry.rs`: the registry client of the command's registry arguments.
//! - `hosts.rs`: the host sides of SUBJECT resolution and image assembly.

mod env;
mod hosts;
pub mod prompt;
mod registry;

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use boxwright_fetch::FetchReport;
use boxwright_metadata::{Project, SourceUrl, Target};

pub use env::{
    env_source_date_epoch, env_source_date_epoch_lenient, environment, fetch_options, var,
};
pub use hosts::{ImageHost, SubjectHost, build_image};
pub use registry::{registry_client, registry_client_with, registry_password};

use crate::cli::GlobalArgs;
use crate::printer::Printer;

/// Loads the project named by `--project`, or the nearest one upwards; templates and
/// `BUILD_OUTPUT_DEST` come from the process environment.
pub fn project(global: &GlobalArgs) -> Result<Project> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(Project::discover(global.project.as_deref(), &cwd, &var)?)
}

/// The project, when there is one: none is fine unless `--project` names one; one that is
/// there but does not load is an error.
pub fn optional_project(global: &GlobalArgs) -> Result<Option<Project>> {
    match project(global) {
        Ok(project) => Ok(Some(project)),
        Err(error)
            if global.project.is_none()
                && matches!(
                    error.downcast_ref(),
                    Some(boxwright_metadata::Error::NotFound { .. })
                ) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// The target called `name`; an error naming the closest known one, or listing them, when
/// there is none.
pub fn target<'a>(project: &'a Project, name: &str) -> Result<&'a Target> {
    Ok(project.metadata.require_target(name)?)
}

/// Drops one final line break (`\n` or `\r\n`) from a password as typed or piped.
pub fn strip_line_break(password: &mut Vec<u8>) {
    if password.ends_with(b"\n") {
        password.pop();
        if password.ends_with(b"\r") {
            password.pop();
        }
    }
}

/// The password of a cosign key: with `--key-password-stdin` (`from_stdin`) all of standard
/// input less one final line break, else `COSIGN_PASSWORD`, else none.
pub fn key_password(from_stdin: bool) -> Result<Option<boxwright_sign::Zeroizing<Vec<u8>>>> {
    let explicit = if from_stdin {
        let mut input = boxwright_sign::Zeroizing::new(Vec::new());
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut input)
            .context("cannot read the key's password from standard input")?;
        strip_line_break(&mut input);
        Some(input)
    } else {
        None
    };
    Ok(boxwright_sign::source::password(explicit))
}

/// `SOURCE_DATE_EPOCH` if set, else the time of the project's last git commit, else 0.
pub fn source_date_epoch(root: &Path) -> Result<u64> {
    source_date_epoch_at(root, "HEAD")
}

/// `SOURCE_DATE_EPOCH` if set, else the commit time of `revision` in the project's git
/// repository, else 0.
pub fn source_date_epoch_at(root: &Path, revision: &str) -> Result<u64> {
    if let Some(epoch) = env_source_date_epoch()? {
        return Ok(epoch);
    }
    Ok(boxwright_release::git::commit_time(root, revision).unwrap_or(0))
}

/// The publishable source URL of `target` (see `boxwright_metadata::source`): its
/// `source_url`, `BOXWRIGHT_SOURCE_URL`, CI variables or the `origin` remote, cleaned.
/// Every output that records the project's source takes it from here.
pub fn source_url(project: &Project, target: &Target) -> Option<SourceUrl> {
    boxwright_metadata::source::resolve_source_url(target.source_url.as_deref(), &var, &|| {
        boxwright_release::git::origin_url(&project.root)
    })
}

/// The commit being built: `git rev-parse HEAD`, else GitLab's `CI_COMMIT_SHA` or GitHub's
/// `GITHUB_SHA`; only a well-formed commit id is returned.
pub fn revision(project: &Project) -> Option<String> {
    boxwright_release::git::head(&project.root)
        .or_else(|| var("CI_COMMIT_SHA"))
        .or_else(|| var("GITHUB_SHA"))
        .and_then(|raw| boxwright_metadata::publishable_revision(&raw))
}

/// The process's one async runtime, started on first use; libraries take its handle or
/// expose async functions, and never start their own.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))
}

/// A handle of the process's runtime, for libraries that run futures from sync code.
pub fn runtime_handle() -> Result<tokio::runtime::Handle> {
    Ok(runtime()?.handle().clone())
}

/// Runs `future` to completion on the process's runtime.
pub fn block_on<T>(future: impl Future<Output = T>) -> anyhow::Result<T> {
    Ok(runtime()?.block_on(future))
}

/// Brings the downloads of `targets` (all when empty) into the cache, checked against the
/// digests of metadata.json or metadata.lock.json; under `locked` (`--locked`) a download
/// pinned in neither is an error before anything is fetched. Returns the reports of the
/// files that arrived and, separately, the failure of the others: notes for unpinned files
/// and every failure but the last go to stderr, the last failure is the error.
pub fn fetch(
    project: &Project,
    targets: &[String],
    offline: bool,
    jobs: Option<usize>,
    printer: &Printer,
    locked: bool,
) -> Result<(Vec<FetchReport>, Result<()>)> {
    let options = fetch_options(offline, jobs)?;
    let mut project = project.clone();
    boxwright_fetch::pin_targets(&mut project, targets, locked)?;
    let project = &project;
    let reporter = crate::progress::reporter(printer.quiet() || printer.json);
    let fetched = block_on(boxwright_fetch::fetch_targets(
        project,
        targets,
        &options,
        reporter.as_ref(),
    ))??;
    for report in fetched.reports.iter().filter(|r| !r.pinned) {
        printer.info(format!(
            "note: `{}` of target `{}` has no digest in metadata.json; pin it with \"sha256\": \"{}\"",
            report.name, report.target, report.sha256
        ));
    }
    let count = fetched.failures.len();
    let mut failures = fetched.failures.into_iter();
    let Some((_, last)) = failures.next_back() else {
        return Ok((fetched.reports, Ok(())));
    };
    for (name, error) in failures {
        printer.failed(&anyhow::Error::new(error).context(format!("cannot fetch `{name}`")));
    }
    Ok((
        fetched.reports,
        Err(anyhow::Error::new(last)
            .context(format!("{count} of {} downloads failed", fetched.total))),
    ))
}

/// The private key of `--key` (a file or env://VAR) for signing; an encrypted key's password
/// comes from standard input with `--key-password-stdin` (`password_stdin`), else
/// COSIGN_PASSWORD.
pub fn signing_key(key: &str, password_stdin: bool) -> Result<boxwright_sign::SigningKey> {
    let source = boxwright_sign::KeySource::parse(key);
    let password = key_password(password_stdin)?;
    source
        .signing_key(password.as_deref().map(Vec::as_slice))
        .with_context(|| format!("cannot load the private key {source}"))
}

/// The CI provider of `ci generate`/`ci check`/`init --ci`.
pub fn ci_provider(chosen: crate::cli::CiProvider) -> boxwright_ci::Provider {
    match chosen {
        crate::cli::CiProvider::Github => boxwright_ci::Provider::Github,
        crate::cli::CiProvider::Gitlab => boxwright_ci::Provider::Gitlab,
    }
}

/// What generated CI files depend on: CI installs the boxwright that generated them.
pub fn ci_options() -> boxwright_ci::Options {
    boxwright_ci::Options {
        boxwright_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}
