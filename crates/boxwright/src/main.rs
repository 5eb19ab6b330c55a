//! The `boxwright` command: parse arguments, run one command, classify the exit status.

mod cli;
mod commands;
mod context;
mod deprecated;
mod exit;
mod help;
mod printer;
mod progress;
mod report;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match deprecated::parse() {
        Ok(cli) => cli,
        Err(error) => return refused(&error),
    };
    let printer = printer::Printer::new(cli.global.json, cli.global.quiet, cli.global.verbose);
    match commands::run(cli, &printer) {
        Ok(status) => status.into(),
        Err(error) => {
            let status = exit::classify(&error);
            printer.error(&error);
            status.into()
        }
    }
}

/// A command line clap refused: help and `--version` as clap prints them; a usage error as
/// clap prints it, and under `--json` (looked for in the raw arguments) also as the error
/// object on stdout. Exit 2 either way.
fn refused(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let json = std::env::args_os()
        .skip(1)
        .take_while(|arg| arg != "--")
        .any(|arg| arg == "--json");
    if json
        && !matches!(
            error.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        )
    {
        printer::Printer::new(true, false, false).json(&report::Envelope {
            error: &report::ErrorReport::usage(error),
        });
    }
    error.exit()
}
