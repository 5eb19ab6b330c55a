//! `ci generate` and `ci check`: the CI files of `boxwright-ci`, written to and compared with
//! the project.

use anyhow::bail;
use boxwright_ci::Provider;
use boxwright_ci::files::{Checked, WriteStatus};

use super::ExitStatus;
use crate::cli::{CiCheckArgs, CiGenerateArgs, GlobalArgs};
use crate::context::{self, ci_options as options, ci_provider as provider};
use crate::printer::Printer;

pub fn generate(
    global: &GlobalArgs,
    printer: &Printer,
    args: &CiGenerateArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let provider = provider(args.provider);
    if args.child {
        if provider != Provider::Gitlab {
            bail!(
                "--child is for `ci generate gitlab` only: GitHub workflows have no child pipelines"
            );
        }
        let text = boxwright_ci::gitlab_child_pipeline(&project.metadata, &options())?;
        if printer.json {
            printer.json(&serde_json::json!({
                "file": boxwright_ci::GITLAB_CHILD_FILE,
                "contents": text,
            }));
        } else {
            printer.raw(&text);
        }
        return Ok(ExitStatus::Success);
    }
    let files = boxwright_ci::generate(&project.metadata, provider, &options())?;
    let root = args.output.clone().unwrap_or_else(|| project.root.clone());
    let results = boxwright_ci::files::write(&root, provider, &files)?;
    if printer.json {
        printer.json(&results);
    } else {
        for result in &results {
            if result.status == WriteStatus::Removed {
                printer.info(format!(
                    "removed {} (no longer generated)",
                    result.path.display()
                ));
            } else {
                printer.line(result.path.display());
            }
        }
        if files.is_empty() {
            printer.info(format!(
                "no {provider} files: no target has release_files or upstream"
            ));
        }
    }
    if provider == Provider::Gitlab && !boxwright_ci::files::included_from_gitlab_ci(&root) {
        printer.info(
            "note: include it from .gitlab-ci.yml:\n  include:\n    - local: .gitlab/boxwright.yml",
        );
    }
    Ok(ExitStatus::Success)
}

pub fn check(
    global: &GlobalArgs,
    printer: &Printer,
    args: &CiCheckArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let root = &project.root;
    let providers = match args.provider {
        Some(chosen) => vec![provider(chosen)],
        None => boxwright_ci::files::providers_on_disk(root)?,
    };
    if providers.is_empty() {
        return Err(boxwright_ci::Error::NothingGenerated {
            looked_for: ".github/workflows/boxwright-*.yml, .gitlab/boxwright.yml".into(),
        }
        .into());
    }
    let mut checks = Vec::new();
    for &provider in &providers {
        let files = boxwright_ci::generate(&project.metadata, provider, &options())?;
        checks.extend(boxwright_ci::files::check(root, provider, &files)?);
    }
    let drifted: Vec<&Checked> = checks.iter().filter(|c| !c.check.is_current()).collect();
    if printer.json {
        printer.json(&checks);
    } else {
        for checked in &drifted {
            printer.raw(checked.check.diff.as_deref().unwrap_or_default());
        }
    }
    if drifted.is_empty() {
        printer.info(format!(
            "{} generated CI file{} current ({})",
            checks.len(),
            if checks.len() == 1 { " is" } else { "s are" },
            providers
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return Ok(ExitStatus::Success);
    }
    let mut drifted_providers: Vec<Provider> = drifted.iter().map(|c| c.provider).collect();
    drifted_providers.dedup();
    let drift = anyhow::Error::from(boxwright_ci::Error::Drift {
        providers: drifted_providers,
        paths: drifted
            .iter()
            .map(|c| format!("{} ({})", c.check.path, c.check.status.name()))
            .collect(),
    });
    if printer.json {
        // The checks are the one document on stdout; the drift is told on stderr (exit 1).
        printer.failed(&drift);
        return Ok(ExitStatus::CheckFailed);
    }
    Err(drift)
}
