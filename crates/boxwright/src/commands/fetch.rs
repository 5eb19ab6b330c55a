use std::time::Duration;

use anyhow::{Context, bail};
use boxwright_fetch::{FetchOptions, FetchReport, Outcome};
use boxwright_metadata::{Project, env_vars};

use super::ExitStatus;
use crate::cli::{FetchArgs, GlobalArgs};
use crate::printer::Printer;
use crate::{context, progress};

pub fn run(global: &GlobalArgs, printer: &Printer, args: &FetchArgs) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let (reports, outcome) = fetch(
        &project,
        &args.targets,
        args.offline,
        args.jobs,
        printer,
        true,
    )?;
    if printer.json {
        printer.json(&reports);
    } else {
        for report in &reports {
            printer.line(format!(
                "{:8} {}  sha256:{}",
                verb(report.outcome),
                report.name,
                report.sha256
            ));
        }
    }
    outcome.map(|()| ExitStatus::Success)
}

fn verb(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Cached => "cached",
        Outcome::Downloaded => "fetched",
        Outcome::Replaced => "replaced",
    }
}

/// Brings the downloads of `targets` (all when empty) into the cache. Returns the reports of
/// the files that arrived and, separately, the failure of the others: notes for unpinned
/// files (with `pin_notes`) and every failure but the last go to stderr, the last failure is
/// the error.
pub fn fetch(
    project: &Project,
    targets: &[String],
    offline: bool,
    jobs: Option<usize>,
    printer: &Printer,
    pin_notes: bool,
) -> anyhow::Result<(Vec<FetchReport>, anyhow::Result<()>)> {
    let requests = boxwright_fetch::plan(project, targets)?;
    if requests.is_empty() {
        return Ok((Vec::new(), Ok(())));
    }
    let defaults = FetchOptions::default();
    let options = FetchOptions {
        offline,
        jobs: match jobs {
            Some(jobs) => jobs,
            None => env_number(env_vars::BOXWRIGHT_FETCH_JOBS)?.unwrap_or(defaults.jobs),
        },
        attempts: env_number(env_vars::BOXWRIGHT_FETCH_ATTEMPTS)?.unwrap_or(defaults.attempts),
        backoff: env_number(env_vars::BOXWRIGHT_FETCH_BACKOFF_MS)?
            .map_or(defaults.backoff, Duration::from_millis),
    };
    let reporter = progress::reporter(printer.quiet() || printer.json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let results = runtime.block_on(boxwright_fetch::fetch_all(
        &requests,
        &options,
        reporter.as_ref(),
    ))?;

    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (request, result) in requests.iter().zip(results) {
        match result {
            Ok(report) => {
                if pin_notes && !report.pinned {
                    printer.info(format!(
                        "note: `{}` of target `{}` has no digest in metadata.json; pin it with \"sha256\": \"{}\"",
                        report.name, report.target, report.sha256
                    ));
                }
                reports.push(report);
            }
            Err(error) => failures.push((request, anyhow::Error::new(error))),
        }
    }
    if failures.is_empty() {
        return Ok((reports, Ok(())));
    }
    let total = requests.len();
    let count = failures.len();
    let mut failures = failures.into_iter();
    let (_, last) = failures.next_back().expect("not empty");
    for (request, error) in failures {
        printer.error(&error.context(format!("cannot fetch `{}`", request.name)));
    }
    Ok((
        reports,
        Err(last.context(format!("{count} of {total} downloads failed"))),
    ))
}

fn env_number<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match std::env::var(name) {
        Ok(value) => match value.trim().parse() {
            Ok(n) => Ok(Some(n)),
            Err(_) => bail!("{name} must be a whole number, not {value:?}"),
        },
        Err(_) => Ok(None),
    }
}
