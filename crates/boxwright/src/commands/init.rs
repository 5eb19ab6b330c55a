//! `init [DIR]`: a starter project (`boxwright_ci::starter`) written into DIR.

use anyhow::Context;
use boxwright_ci::starter;

use super::ExitStatus;
use crate::cli::InitArgs;
use crate::context::{ci_options, ci_provider};
use crate::printer::Printer;

pub fn run(printer: &Printer, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let root = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let name = if let Some(name) = &args.name {
        name.clone()
    } else {
        let absolute = std::path::absolute(&root)
            .with_context(|| format!("cannot resolve {}", root.display()))?;
        let directory = absolute
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        starter::target_name(&directory)
    };
    let files = starter::files(&name, args.ci.map(ci_provider), &ci_options())?;
    let written = starter::write(&root, &files, args.force)?;
    if printer.json {
        printer.json(&serde_json::json!({ "target": name, "files": written }));
    } else {
        for path in &written {
            printer.line(path.display());
        }
        printer.info(format!(
            "target `{name}`: build it with `boxwright build {name}`"
        ));
    }
    Ok(ExitStatus::Success)
}
