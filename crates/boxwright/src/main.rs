//! The `boxwright` command: parse arguments, run one command, classify the exit status.

mod cli;
mod commands;
mod context;
mod exit;
mod help;
mod printer;
mod progress;

use std::process::ExitCode;

use clap::FromArgMatches;

fn main() -> ExitCode {
    let matches = help::command().get_matches();
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
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
