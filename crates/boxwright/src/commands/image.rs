//! `image build`: a target's image (assembled by `boxwright-image`) in the asked format.

use anyhow::bail;

use super::ExitStatus;
use boxwright_image::packages::{self, FetchSettings};

use crate::cli::{GlobalArgs, ImageBuildArgs, ImageLockArgs};
use crate::context;
use crate::printer::Printer;

pub fn build(
    global: &GlobalArgs,
    printer: &Printer,
    args: &ImageBuildArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    if project
        .metadata
        .target(&args.target)
        .is_some_and(|t| t.upstream.is_some())
    {
        bail!(
            "`{}` is a mirror target: its versions come from upstream; build it with \
             `boxwright mirror build {} --version V --platform linux/A` or `mirror run`",
            args.target,
            args.target
        );
    }
    let written = context::build_image(&project, printer, args)?;
    print_written(printer, &written);
    Ok(ExitStatus::Success)
}

fn print_written(printer: &Printer, written: &boxwright_oci::Written) {
    if printer.json {
        printer.json(written);
    } else {
        printer.line(format!("{}  {}", written.digest, written.path.display()));
        for platform in &written.platforms {
            printer.info(format!(
                "{}: manifest {}, {} layers, {} bytes{}",
                platform.platform,
                platform.manifest,
                platform.layers,
                platform.size,
                match (&platform.base_name, &platform.base_digest) {
                    (Some(name), Some(digest)) => format!(", base {name} ({digest})"),
                    _ => String::new(),
                }
            ));
        }
    }
}

/// `image lock TARGET`: resolves `image.packages` and records the lock.
pub fn lock(
    global: &GlobalArgs,
    printer: &Printer,
    args: &ImageLockArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let target = project.metadata.require_target(&args.target)?;
    let Some(packages) = target.image.as_ref().and_then(|i| i.packages.as_ref()) else {
        bail!(
            "target `{}` has no `image.packages` in {}",
            args.target,
            project.metadata.path.display()
        );
    };
    let progress = crate::progress::reporter(printer.quiet() || printer.json);
    let runtime = context::runtime_handle()?;
    let settings = FetchSettings::new(false, &runtime, progress.as_ref());
    let lock = packages::lock(&project, &args.target, packages, &settings)?;
    let (path, written) = packages::record(&project, &args.target, lock.clone())?;
    if printer.json {
        printer.json(&lock);
    } else {
        for (arch, locked) in &lock.architectures {
            printer.line(format!(
                "{}  {arch}: {} packages from {} index files",
                args.target,
                locked.packages.len(),
                locked.indexes.len()
            ));
            for package in &locked.packages {
                printer.detail(format!(
                    "  {} {} ({})",
                    package.name, package.version, package.arch
                ));
            }
        }
        printer.info(if written {
            format!("wrote {}", path.display())
        } else {
            format!("{} is up to date", path.display())
        });
    }
    Ok(ExitStatus::Success)
}
