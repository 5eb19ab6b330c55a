//! Retired option names, kept one release. The clap definitions are the one table: a retired
//! name is a hidden alias of its new name (`alias = "out"` on `--output`), or, when it split
//! into two options, a hidden option whose help reads `Deprecated: use ...`. This pass parses
//! the command line and warns on stderr, once per retired name the command line used.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command, FromArgMatches};

use crate::cli::Cli;

/// What the help of a split retired option starts with, before its replacement.
const SPLIT_PREFIX: &str = "Deprecated: use ";

/// Parses the process's arguments with the command tree users see (help with examples) and
/// warns about each retired option name given; a refused command line is the caller's.
pub fn parse() -> Result<Cli, clap::Error> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut command = crate::help::command();
    let matches = command.try_get_matches_from_mut(&args)?;
    for (old, new) in retired_names_used(&command, &matches, &args) {
        eprintln!("warning: --{old} is deprecated; use {new}");
    }
    Cli::from_arg_matches(&matches).map_err(|error| error.format(&mut command))
}

/// The (retired name, replacement) pairs of the command line, in definition order.
fn retired_names_used(
    command: &Command,
    matches: &ArgMatches,
    args: &[OsString],
) -> Vec<(String, String)> {
    let (mut command, mut matches) = (command, matches);
    while let Some((name, sub_matches)) = matches.subcommand() {
        let Some(sub) = command.find_subcommand(name) else {
            break;
        };
        (command, matches) = (sub, sub_matches);
    }
    let given = |name: &str| {
        let flag = format!("--{name}");
        let with_value = format!("{flag}=");
        args.iter()
            .skip(1)
            .filter_map(|arg| arg.to_str())
            .take_while(|arg| *arg != "--")
            .any(|arg| arg == flag || arg.starts_with(&with_value))
    };
    let mut used = Vec::new();
    for arg in command.get_arguments() {
        if matches.value_source(arg.get_id().as_str()) != Some(ValueSource::CommandLine) {
            continue;
        }
        for (old, new) in retired_names(arg) {
            if given(&old) && !used.iter().any(|(name, _)| *name == old) {
                used.push((old, new));
            }
        }
    }
    used
}

/// The retired names of `arg` with what replaces each.
fn retired_names(arg: &Arg) -> Vec<(String, String)> {
    let Some(long) = arg.get_long() else {
        return Vec::new();
    };
    let visible = arg.get_visible_aliases().unwrap_or_default();
    let mut names: Vec<(String, String)> = arg
        .get_all_aliases()
        .unwrap_or_default()
        .into_iter()
        .filter(|alias| !visible.contains(alias))
        .map(|alias| (alias.to_string(), format!("--{long}")))
        .collect();
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    if arg.is_hide_set()
        && let Some(new) = help.strip_prefix(SPLIT_PREFIX)
    {
        names.push((long.to_string(), new.trim_end_matches('.').to_string()));
    }
    names
}
