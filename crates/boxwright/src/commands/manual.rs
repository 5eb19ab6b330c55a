//! `completions` and `man`: shell completion scripts and man pages generated from the command
//! tree users see (with its examples), by clap's own generators.

use std::path::Path;

use anyhow::Context;

use super::ExitStatus;
use crate::cli::{CompletionsArgs, ManArgs};
use crate::printer::Printer;

/// `completions SHELL`: the script on stdout.
pub fn completions(printer: &Printer, args: &CompletionsArgs) -> ExitStatus {
    let mut command = crate::help::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "boxwright", &mut script);
    printer.bytes(&script);
    ExitStatus::Success
}

/// `man [-o DIR]`: every page into DIR (their paths printed), else the top page on stdout.
pub fn man(printer: &Printer, args: &ManArgs) -> anyhow::Result<ExitStatus> {
    let mut command = crate::help::command().disable_help_subcommand(true);
    command.build();
    let Some(dir) = &args.output else {
        printer.bytes(&render(&command)?);
        return Ok(ExitStatus::Success);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    write_pages(&command, dir, &mut written)?;
    if printer.json {
        printer.json(&serde_json::json!({ "pages": written }));
    } else {
        for page in &written {
            printer.line(page);
        }
    }
    Ok(ExitStatus::Success)
}

/// `command`'s page and those of its visible subcommands, each written to a temporary name
/// and renamed; their paths are added to `written`.
fn write_pages(
    command: &clap::Command,
    dir: &Path,
    written: &mut Vec<String>,
) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(command.clone());
    let path = dir.join(man.get_filename());
    let temp = dir.join(format!(".{}.tmp", man.get_filename()));
    std::fs::write(&temp, render(command)?)
        .and_then(|()| std::fs::rename(&temp, &path))
        .with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path.display().to_string());
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

fn render(command: &clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .with_context(|| format!("cannot render the man page of {}", command.get_name()))?;
    Ok(page)
}
