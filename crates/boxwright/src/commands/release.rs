use anyhow::Context;
use boxwright_metadata::ReleaseTag;

use super::ExitStatus;
use crate::cli::{GlobalArgs, PackageArgs};
use crate::context;
use crate::printer::Printer;

pub fn check(global: &GlobalArgs, printer: &Printer, tag: &str) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let parsed = ReleaseTag::parse(&project.metadata, tag)?;
    if printer.json {
        printer.json(&parsed);
    } else {
        printer.line(format!("target: {}", parsed.target));
        printer.line(format!("version: {}", parsed.version));
        printer.line(format!(
            "prerelease: {}",
            parsed.prerelease.as_deref().unwrap_or("")
        ));
        printer.line(format!("revision: {}", parsed.revision));
    }
    Ok(ExitStatus::Success)
}

pub fn package(
    global: &GlobalArgs,
    printer: &Printer,
    args: &PackageArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let plan = boxwright_release::plan(&project, &args.tag)
        .with_context(|| format!("cannot package {}", args.tag))?;
    let out_dir = args.output.clone().unwrap_or_else(|| project.release_dir());
    if args.dry_run {
        if printer.json {
            printer.json(&plan);
        } else {
            for entry in &plan.entries {
                printer.line(&entry.path);
            }
        }
        return Ok(ExitStatus::Success);
    }
    let mtime = context::source_date_epoch(&project.root)?;
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    printer.detail(format!(
        "packing {} entries from {} (mtime {mtime}, gzip level {}, {threads} threads)",
        plan.entries.len(),
        plan.output_dir.display(),
        args.level
    ));
    let archive = boxwright_release::write(&plan, &out_dir, mtime, args.level, threads)
        .with_context(|| format!("cannot package {}", args.tag))?;
    if printer.json {
        printer.json(&archive);
    } else {
        printer.line(format!("{}  {}", archive.sha256, archive.path.display()));
        printer.info(format!(
            "wrote {} ({} entries, {} bytes) and {}",
            archive.path.display(),
            archive.entries,
            archive.size,
            archive.checksum_path.display()
        ));
    }
    Ok(ExitStatus::Success)
}
