use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

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
    crate::context::fetch(&project, &names, args.offline, None, printer, true)?.1?;

    let forced: Vec<&str> = if args.force {
        requested.iter().map(String::as_str).collect()
    } else {
        Vec::new()
    };
    let results = Scheduler::new(&plans).run(args.jobs.unwrap_or(1), &forced, printer);
    let mut built = Vec::new();
    let mut errors = Vec::new();
    for result in results {
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

/// Runs plans on worker threads, each as soon as its build dependencies are done; a target
/// whose dependency failed is not started. Plans come in dependency order.
struct Scheduler<'a> {
    plans: &'a [BuildPlan],
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// Indexes of plans not started yet, in order.
    pending: Vec<usize>,
    /// Finished targets: what dependents need, or `None` when it failed.
    finished: BTreeMap<String, Option<Built>>,
    results: Vec<(usize, anyhow::Result<BuildReport>)>,
}

/// What a worker does next.
enum Next {
    Run(usize, Vec<Built>),
    Skip(usize, String),
    Wait,
    Stop,
}

impl<'a> Scheduler<'a> {
    fn new(plans: &'a [BuildPlan]) -> Self {
        Scheduler {
            plans,
            state: Mutex::new(State {
                pending: (0..plans.len()).collect(),
                ..State::default()
            }),
            changed: Condvar::new(),
        }
    }

    fn run(
        self,
        workers: usize,
        forced: &[&str],
        printer: &Printer,
    ) -> Vec<anyhow::Result<BuildReport>> {
        let spinners = build_spinners(printer.quiet());
        let workers = workers.clamp(1, self.plans.len());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| self.work(forced, printer, spinners.as_ref()));
            }
        });
        let mut results = self.state.into_inner().expect("not poisoned").results;
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect()
    }

    /// The first pending plan whose dependencies are all finished.
    fn next(&self, state: &mut State) -> Next {
        if state.pending.is_empty() {
            return Next::Stop;
        }
        for position in 0..state.pending.len() {
            let index = state.pending[position];
            let plan = &self.plans[index];
            let mut ready = Vec::new();
            let mut waiting = false;
            for dependency in &plan.depends {
                match state.finished.get(dependency) {
                    Some(Some(built)) => ready.push(built.clone()),
                    Some(None) => {
                        state.pending.remove(position);
                        return Next::Skip(index, dependency.clone());
                    }
                    None => waiting = true,
                }
            }
            if !waiting {
                state.pending.remove(position);
                return Next::Run(index, ready);
            }
        }
        Next::Wait
    }

    fn work(
        &self,
        forced: &[&str],
        printer: &Printer,
        spinners: Option<&indicatif::MultiProgress>,
    ) {
        loop {
            let next = {
                let mut state = self.state.lock().expect("not poisoned");
                loop {
                    match self.next(&mut state) {
                        Next::Wait => state = self.changed.wait(state).expect("not poisoned"),
                        next => break next,
                    }
                }
            };
            let (index, result) = match next {
                Next::Stop => return,
                Next::Wait => unreachable!("waited above"),
                Next::Skip(index, dependency) => {
                    let target = self.plans[index].target.clone();
                    let error = boxwright_build::Error::DependencyFailed { target, dependency };
                    (index, Err(anyhow::Error::new(error)))
                }
                Next::Run(index, dependencies) => {
                    let plan = &self.plans[index];
                    let force = forced.contains(&plan.target.as_str());
                    (
                        index,
                        build_one(plan, &dependencies, force, printer, spinners),
                    )
                }
            };
            let plan = &self.plans[index];
            let mut state = self.state.lock().expect("not poisoned");
            let built = result.as_ref().ok().map(|report| Built {
                target: plan.target.clone(),
                key: report.key.clone(),
                output_dir: report.output_dir.clone(),
            });
            state.finished.insert(plan.target.clone(), built);
            state.results.push((index, result));
            self.changed.notify_all();
        }
    }
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
