use anyhow::{Context, anyhow, bail};
use boxwright_build::{Arch, BuildOptions, BuildPlan, BuildReport, Built, Status};
use boxwright_metadata::Project;

use super::ExitStatus;
use crate::cli::{BuildArgs, GlobalArgs};
use crate::context;
use crate::printer::Printer;
use crate::progress::{BuildProgress, build_spinners};

pub fn run(global: &GlobalArgs, printer: &Printer, args: &BuildArgs) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let requested = select_targets(&project, args)?;
    // Build dependencies come first, whether or not they were named.
    let names = project.metadata.build_order(&requested);
    let arch = match &args.arch {
        Some(arch) => arch.parse::<Arch>().map_err(|e| anyhow!(e))?,
        None => {
            Arch::host().context("this machine's architecture is not one boxwright builds on")?
        }
    };
    let jobs = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let options = BuildOptions {
        arch,
        sandbox: args.sandbox.parse().map_err(|e: String| anyhow!(e))?,
        jobs,
        source_date_epoch: context::source_date_epoch(&project.root)?,
        output_dir: None,
        offline: args.offline,
    };
    let plans = names
        .iter()
        .map(|name| {
            let options = BuildOptions {
                output_dir: args.output.as_ref().map(|dir| dir.join(name)),
                ..options.clone()
            };
            boxwright_build::plan(&project, name, &options)
                .with_context(|| format!("cannot plan the build of `{name}`"))
        })
        .collect::<anyhow::Result<Vec<BuildPlan>>>()?;
    if args.dry_run {
        printer.json(&plans);
        return Ok(ExitStatus::Success);
    }
    crate::context::fetch(&project, &names, args.offline, None, printer, args.locked)?.1?;

    let forced: Vec<&str> = if args.force {
        requested.iter().map(String::as_str).collect()
    } else {
        Vec::new()
    };
    let spinners = build_spinners(printer.quiet());
    let results =
        boxwright_build::schedule::run_all(&plans, args.jobs.unwrap_or(1), |plan, dependencies| {
            let force = forced.contains(&plan.target.as_str());
            build_one(plan, dependencies, force, printer, spinners.as_ref())
        });
    let mut built = Vec::new();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(report) => built.push(report),
            Err(error) => errors.push(error),
        }
    }
    if printer.json {
        // A failure's error object is the one document on stdout.
        if errors.is_empty() {
            printer.json(&built);
        }
    } else {
        for report in &built {
            for file in &report.files {
                printer.line(format!("{}/{file}", report.output_dir.display()));
            }
        }
    }
    let fresh = built.iter().filter(|r| r.status == Status::Built).count();
    if fresh == 0 && errors.is_empty() {
        printer.info(format!(
            "nothing to rebuild: {} target{} up to date",
            built.len(),
            if built.len() == 1 { "" } else { "s" }
        ));
    }
    let Some(last) = errors.pop() else {
        return Ok(ExitStatus::Success);
    };
    for error in &errors {
        printer.failed(error);
    }
    Err(last)
}

fn sandbox_name(plan: &BuildPlan) -> &'static str {
    match plan.sandbox {
        boxwright_build::Sandbox::Bwrap(_) => "sandbox: bubblewrap, no network",
        boxwright_build::Sandbox::Host => "no sandbox",
    }
}

/// The targets named on the command line, or with `--all` every target with a recipe.
fn select_targets(project: &Project, args: &BuildArgs) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = if args.all {
        project
            .metadata
            .targets
            .keys()
            .filter(|name| project.root.join(name.as_str()).join("build.sh").is_file())
            .cloned()
            .collect()
    } else {
        if args.targets.is_empty() {
            bail!("name a target, or pass --all");
        }
        for name in &args.targets {
            context::target(project, name)?;
        }
        args.targets.clone()
    };
    if names.is_empty() {
        bail!(
            "no target of {} has a recipe (<target>/build.sh)",
            project.metadata.path.display()
        );
    }
    Ok(names)
}

fn build_one(
    plan: &BuildPlan,
    dependencies: &[Built],
    force: bool,
    printer: &Printer,
    spinners: Option<&indicatif::MultiProgress>,
) -> anyhow::Result<BuildReport> {
    let progress = BuildProgress::new(&plan.target, spinners, printer);
    let result = boxwright_build::run(plan, dependencies, force, &progress)
        .with_context(|| format!("build of `{}` failed", plan.target));
    match &result {
        Ok(report) if report.status == Status::UpToDate => {
            progress.finish(&format!("{}: up to date", report.target));
        }
        Ok(report) => progress.finish(&format!(
            "built {} for {} in {:.1} s ({}; because {}): {} files in {}{}",
            report.target,
            plan.arch,
            report.seconds,
            sandbox_name(plan),
            report.reasons.join(", "),
            report.files.len(),
            report.output_dir.display(),
            report
                .smoke
                .as_ref()
                .map(|s| format!("; `{s}` ran in an empty root"))
                .unwrap_or_default()
        )),
        Err(_) => progress.finish(&format!("{}: failed", plan.target)),
    }
    result
}
