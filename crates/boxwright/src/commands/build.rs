use std::sync::Mutex;

use anyhow::{Context, anyhow, bail};
use boxwright_build::{Arch, BuildOptions, BuildPlan, BuildReport};
use boxwright_metadata::Project;

use super::ExitStatus;
use crate::cli::{BuildArgs, GlobalArgs};
use crate::context;
use crate::printer::Printer;

pub fn run(global: &GlobalArgs, printer: &Printer, args: &BuildArgs) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let names = select_targets(&project, args)?;
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
    };
    let plans = names
        .iter()
        .map(|name| {
            let options = BuildOptions {
                output_dir: args.out.as_ref().map(|dir| dir.join(name)),
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
    super::fetch::fetch(&project, &names, args.offline, None, printer)?.1?;

    let results = run_plans(&plans, args.jobs.unwrap_or(1), printer);
    let mut built = Vec::new();
    let mut errors = Vec::new();
    for (_, result) in results {
        match result {
            Ok(report) => built.push(report),
            Err(error) => errors.push(error),
        }
    }
    if printer.json {
        printer.json(&built);
    } else {
        for report in &built {
            for file in &report.files {
                printer.line(format!("{}/{file}", report.output_dir.display()));
            }
        }
    }
    let Some(last) = errors.pop() else {
        return Ok(ExitStatus::Success);
    };
    for error in &errors {
        printer.error(error);
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

/// Runs the plans on `workers` threads; results come back in plan order.
fn run_plans(
    plans: &[BuildPlan],
    workers: usize,
    printer: &Printer,
) -> Vec<(usize, anyhow::Result<BuildReport>)> {
    let reports: Mutex<Vec<(usize, anyhow::Result<BuildReport>)>> = Mutex::new(Vec::new());
    let next = Mutex::new(0usize);
    let workers = workers.clamp(1, plans.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = {
                        let mut next = next.lock().expect("not poisoned");
                        let index = *next;
                        *next += 1;
                        index
                    };
                    let Some(plan) = plans.get(index) else { break };
                    printer.info(format!(
                        "building {} for {} ({})",
                        plan.target,
                        plan.arch,
                        sandbox_name(plan)
                    ));
                    let prefix = format!("{}| ", plan.target);
                    let result = boxwright_build::run(plan, &|line| {
                        printer.detail(format!("{prefix}{line}"));
                    })
                    .with_context(|| format!("build of `{}` failed", plan.target));
                    if let Ok(report) = &result {
                        printer.info(format!(
                            "built {} in {:.1} s: {} files in {}{}",
                            report.target,
                            report.seconds,
                            report.files.len(),
                            report.output_dir.display(),
                            report
                                .smoke
                                .as_ref()
                                .map(|s| format!("; `{s}` ran in an empty root"))
                                .unwrap_or_default()
                        ));
                    }
                    reports.lock().expect("not poisoned").push((index, result));
                }
            });
        }
    });
    let mut results = reports.into_inner().expect("not poisoned");
    results.sort_by_key(|(index, _)| *index);
    results
}
