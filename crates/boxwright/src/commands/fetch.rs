use boxwright_fetch::Outcome;

use super::ExitStatus;
use crate::cli::{FetchArgs, GlobalArgs};
use crate::context;
use crate::printer::Printer;

pub fn run(global: &GlobalArgs, printer: &Printer, args: &FetchArgs) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let (reports, outcome) = context::fetch(
        &project,
        &args.targets,
        args.offline,
        args.jobs,
        printer,
        args.locked,
    )?;
    if printer.json {
        // A failure's error object is the one document on stdout.
        if outcome.is_ok() {
            printer.json(&reports);
        }
    } else {
        for report in &reports {
            printer.line(format!(
                "{:10} {}  sha256:{}",
                verb(report.outcome),
                report.name,
                report.sha256
            ));
        }
    }
    outcome.map(|()| ExitStatus::Success)
}

/// The word for an outcome: the same as its `outcome` value in the JSON output.
fn verb(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Cached => "cached",
        Outcome::Downloaded => "downloaded",
        Outcome::Replaced => "replaced",
    }
}
