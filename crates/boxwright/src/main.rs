//! The `boxwright` command: parse arguments, run one command, classify the exit status.

mod cli;
mod commands;
mod context;
mod deprecated;
mod exit;
mod printer;
mod progress;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = deprecated::parse();
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
