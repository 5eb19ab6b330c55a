//! `plan`, `mirror run`, `mirror build`, `mirror merge`: upstream versions of a mirror target
//! built into images from their release archives, pushed by digest, merged per version. The
//! orchestration is `boxwright-mirror`'s `Mirror`; this module reads arguments, hands in
//! what only the command knows (tokens, fetch options, time, source) and prints.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use boxwright_metadata::{Project, Target, env_vars};
use boxwright_mirror::{Event, Mirror, Plan, RunReport, Settings, Signing};
use boxwright_registry::{Client, Reference, TagScheme};
use boxwright_sbom::SourceInfo;
use boxwright_sbom::resolve::HostError;

use super::ExitStatus;
use crate::cli::{
    GlobalArgs, MirrorBuildArgs, MirrorMergeArgs, MirrorRunArgs, MirrorTargetArgs, PlanArgs,
};
use crate::context::{self, ImageHost, SubjectHost};
use crate::printer::Printer;

/// The command's side of the orchestration: registry client, git and environment, pulls,
/// download progress, and events printed on stderr.
struct CliHost<'a> {
    printer: &'a Printer,
    image: ImageHost<'a>,
    subject: SubjectHost<'a>,
}

impl<'a> CliHost<'a> {
    fn new(printer: &'a Printer, args: &'a MirrorTargetArgs) -> CliHost<'a> {
        CliHost {
            printer,
            image: ImageHost {
                printer,
                registry: &args.access,
                progress: Box::new(boxwright_fetch::NoProgress),
            },
            subject: SubjectHost {
                printer,
                registry: &args.access,
                progress: std::sync::Arc::new(boxwright_fetch::NoProgress),
            },
        }
    }
}

impl boxwright_image::Host for CliHost<'_> {
    fn client(&self) -> Result<Client, HostError> {
        self.image.client()
    }

    fn pulled_base(&self, written: &str, resolved: &str, platform: &str) {
        self.image.pulled_base(written, resolved, platform);
    }
}

impl boxwright_sbom::resolve::Host for CliHost<'_> {
    fn source(&self, project: &Project, target: &Target) -> Option<SourceInfo> {
        self.subject.source(project, target)
    }

    fn var(&self, name: &str) -> Option<String> {
        self.subject.var(name)
    }

    fn pull(
        &self,
        reference: &Reference,
        layout: &Path,
        platform: Option<&str>,
    ) -> Result<(), HostError> {
        self.subject.pull(reference, layout, platform)
    }
}

impl boxwright_mirror::Host for CliHost<'_> {
    fn event(&self, event: &Event<'_>) {
        if event.is_detail() {
            self.printer.detail(event);
        } else {
            self.printer.info(event);
        }
    }

    fn progress(&self) -> Box<dyn boxwright_fetch::Progress> {
        crate::progress::reporter(self.printer.quiet() || self.printer.json)
    }
}

/// The mirror of `args.target` with what the command knows: tokens, fetch options, the
/// project's time and source.
fn mirror<'a>(
    project: &'a Project,
    args: &'a MirrorTargetArgs,
    host: &'a CliHost<'a>,
) -> anyhow::Result<Mirror<'a>> {
    let target = context::target(project, &args.target)?;
    let token = |name| context::var(name).filter(|t: &String| !t.is_empty());
    let settings = Settings {
        github_token: token(env_vars::GITHUB_TOKEN),
        gitlab_token: token(env_vars::GITLAB_TOKEN),
        fetch: context::fetch_options(false, None)?,
        created: context::source_date_epoch(&project.root)?,
        source_url: context::source_url(project, target).map(|s| s.url),
        revision: context::revision(project),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        environment: context::environment(),
    };
    let client = context::registry_client(&args.access)?;
    Ok(Mirror::new(
        project,
        &args.target,
        args.registry.as_deref(),
        client,
        settings,
        host,
        context::runtime_handle()?,
    )?)
}

pub fn plan(global: &GlobalArgs, printer: &Printer, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let host = CliHost::new(printer, &args.mirror);
    let mirror = mirror(&project, &args.mirror, &host)?;
    let plan = mirror.plan(args.max_versions, &args.platform)?;
    if let Some(path) = context::var(env_vars::GITHUB_OUTPUT)
        && !path.is_empty()
    {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open GITHUB_OUTPUT {path}"))?;
        file.write_all(boxwright_mirror::github_outputs(&plan).as_bytes())
            .with_context(|| format!("cannot write GITHUB_OUTPUT {path}"))?;
    }
    if printer.json {
        printer.json(&plan);
    } else {
        print_plan(printer, &plan);
    }
    Ok(ExitStatus::Success)
}

fn print_plan(printer: &Printer, plan: &Plan) {
    printer.line(format!(
        "{} ({}): {} versions, latest {}",
        plan.target,
        plan.repository,
        plan.versions.len(),
        plan.latest.as_deref().unwrap_or("none")
    ));
    for version in &plan.versions {
        let state = if plan.existing.contains(version) {
            "in the registry"
        } else {
            "to build"
        };
        printer.line(format!("  {version:20} {state}"));
    }
    printer.line(format!(
        "{} builds ({} versions x architectures)",
        plan.matrix.len(),
        plan.merge.len()
    ));
}

pub fn build(
    global: &GlobalArgs,
    printer: &Printer,
    args: &MirrorBuildArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let host = CliHost::new(printer, &args.mirror);
    let mirror = mirror(&project, &args.mirror, &host)?;
    let arch = boxwright_mirror::platform_arch(&args.platform)?;
    let digest = mirror.build_pair(&args.version, arch, args.locked)?;
    if let Some(path) = &args.digest_file {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, format!("{digest}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if printer.json {
        printer.json(&serde_json::json!({
            "target": mirror.name(), "version": args.version, "arch": arch,
            "repository": mirror.repository().name(), "digest": digest,
        }));
    } else {
        printer.line(&digest);
    }
    Ok(ExitStatus::Success)
}

pub fn merge(
    global: &GlobalArgs,
    printer: &Printer,
    args: &MirrorMergeArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let host = CliHost::new(printer, &args.mirror);
    let mirror = mirror(&project, &args.mirror, &host)?;
    let digests = boxwright_mirror::merge_digests(&args.digest, args.digests_dir.as_deref())?;
    let index = mirror.merge(&args.version, &digests, args.latest)?;
    printer.info(format!(
        "merged {} platforms into {}:{}{}",
        digests.len(),
        mirror.repository().name(),
        args.version,
        if args.latest { " and latest" } else { "" }
    ));
    if printer.json {
        printer.json(&serde_json::json!({
            "target": mirror.name(), "version": args.version, "digest": index, "latest": args.latest,
        }));
    } else {
        printer.line(&index);
    }
    Ok(ExitStatus::Success)
}

pub fn run(
    global: &GlobalArgs,
    printer: &Printer,
    args: &MirrorRunArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let host = CliHost::new(printer, &args.plan.mirror);
    let mirror = mirror(&project, &args.plan.mirror, &host)?;
    let plan = mirror.plan(args.plan.max_versions, &args.plan.platform)?;
    let signing = match args.key.as_deref() {
        Some(key) => Some(Signing {
            key: context::signing_key(key, false)?,
            scheme: args
                .tag_scheme
                .parse::<TagScheme>()
                .map_err(|e| anyhow::anyhow!(e))?,
        }),
        None => None,
    };
    let (report, errors) = mirror.run(&plan, args.locked, signing.as_ref())?;
    let mut errors = errors.into_iter().map(anyhow::Error::new);
    let Some(last) = errors.next_back() else {
        print_run(printer, mirror.name(), &report);
        return Ok(ExitStatus::Success);
    };
    // A failure's error object is the one document on stdout: the report goes to stderr.
    if printer.json {
        printer.info(serde_json::to_string(&report)?);
    } else {
        print_run(printer, mirror.name(), &report);
    }
    for error in errors {
        printer.failed(&error);
    }
    Err(last)
}

fn print_run(printer: &Printer, name: &str, report: &RunReport) {
    if printer.json {
        printer.json(report);
        return;
    }
    printer.line(format!(
        "{name}: {} built, {} reused, {} versions merged{}",
        report.built.len(),
        report.reused.len(),
        report.merged.len(),
        report
            .latest_moved
            .as_ref()
            .map(|v| format!(", latest = {v}"))
            .unwrap_or_default()
    ));
}
