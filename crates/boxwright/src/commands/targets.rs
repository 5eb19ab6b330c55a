use serde::Serialize;

use super::ExitStatus;
use crate::cli::GlobalArgs;
use crate::context;
use crate::printer::Printer;

#[derive(Serialize)]
struct TargetRow<'a> {
    name: &'a str,
    version: &'a str,
    tag_prefix: &'a str,
    version_env_var: &'a str,
    downloads: usize,
    release_files: &'a [String],
}

pub fn run(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let rows: Vec<TargetRow<'_>> = project
        .metadata
        .targets
        .iter()
        .map(|(name, target)| TargetRow {
            name,
            version: target.version(),
            tag_prefix: target.tag_prefix(name),
            version_env_var: &target.version_env_var,
            downloads: target.downloads.len(),
            release_files: &target.release_files,
        })
        .collect();
    if printer.json {
        printer.json(&rows);
        return Ok(ExitStatus::Success);
    }
    let width = |f: &dyn Fn(&TargetRow<'_>) -> usize, title: &str| {
        rows.iter().map(f).chain([title.len()]).max().unwrap_or(0)
    };
    let (w_name, w_version, w_prefix) = (
        width(&|r| r.name.len(), "TARGET"),
        width(&|r| r.version.len(), "VERSION"),
        width(&|r| r.tag_prefix.len(), "TAG PREFIX"),
    );
    printer.line(format!(
        "{:w_name$}  {:w_version$}  {:w_prefix$}  DOWNLOADS  RELEASE FILES",
        "TARGET", "VERSION", "TAG PREFIX"
    ));
    for row in &rows {
        printer.line(format!(
            "{:w_name$}  {:w_version$}  {:w_prefix$}  {:>9}  {}",
            row.name,
            row.version,
            row.tag_prefix,
            row.downloads,
            row.release_files.len()
        ));
    }
    Ok(ExitStatus::Success)
}
