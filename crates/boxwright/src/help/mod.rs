//! The clap command as users see it: the derived tree, the long version (commit, date and
//! target from build.rs), and an "Examples:" section after each command's help, read from
//! examples.txt (sections headed `## <command path>`).

use std::collections::BTreeMap;

use clap::CommandFactory;

use crate::cli::Cli;

/// Sections of examples.txt: `## image push` followed by `# comment` and invocation lines.
const EXAMPLES: &str = include_str!("examples.txt");

/// The section of the top-level help.
const ROOT: &str = "boxwright";

/// `0.1.0 (<commit> <date> <target>)`, shown by `--version`.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("BOXWRIGHT_COMMIT"),
    " ",
    env!("BOXWRIGHT_BUILD_DATE"),
    " ",
    env!("BOXWRIGHT_TARGET"),
    ")"
);

/// The command tree with the long version and every command's examples.
pub fn command() -> clap::Command {
    let sections = sections(EXAMPLES);
    attach(Cli::command().long_version(LONG_VERSION), "", &sections)
}

/// Example sections by command path (`image push`), in file order within each.
fn sections(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<&mut Vec<String>> = None;
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("## ") {
            current = Some(sections.entry(path.trim().to_string()).or_default());
        } else if let Some(lines) = current.as_mut()
            && !line.trim().is_empty()
        {
            lines.push(line.to_string());
        }
    }
    sections
}

/// `command` and its subcommands with their sections as `after_help`.
fn attach(
    mut command: clap::Command,
    path: &str,
    sections: &BTreeMap<String, Vec<String>>,
) -> clap::Command {
    let key = if path.is_empty() { ROOT } else { path };
    if let Some(lines) = sections.get(key) {
        let body: Vec<String> = lines.iter().map(|line| format!("  {line}")).collect();
        command = command.after_help(format!("Examples:\n{}", body.join("\n")));
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        let child = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        command = command.mut_subcommand(&name, |sub| attach(sub, &child, sections));
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command path of the tree, with whether the command has options of its own.
    fn paths(command: &clap::Command, path: &str, out: &mut BTreeMap<String, bool>) {
        let own_options = command.get_arguments().any(|arg| {
            !arg.is_positional()
                && !arg.is_global_set()
                && !matches!(arg.get_id().as_str(), "help" | "version")
        });
        if !path.is_empty() {
            out.insert(path.to_string(), own_options);
        }
        for sub in command.get_subcommands() {
            let child = if path.is_empty() {
                sub.get_name().to_string()
            } else {
                format!("{path} {}", sub.get_name())
            };
            paths(sub, &child, out);
        }
    }

    /// The words of a `boxwright ...` invocation: the pipeline stage that runs boxwright, up
    /// to a redirection, split as the shell splits quoted words.
    fn words(line: &str) -> Option<Vec<String>> {
        let stage = line
            .split(" | ")
            .map(str::trim)
            .find(|stage| stage.starts_with("boxwright "))?;
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quote = None;
        for c in stage.chars() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, ' ') => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                (None, '>' | '<') if word.is_empty() => return Some(words),
                _ => word.push(c),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        Some(words)
    }

    /// The invocations of a section: its non-comment lines, continuations joined.
    fn invocations(lines: &[String]) -> Vec<String> {
        let mut joined: Vec<String> = Vec::new();
        let mut continued = false;
        for line in lines.iter().filter(|l| !l.starts_with('#')) {
            let (text, goes_on) = match line.strip_suffix(" \\") {
                Some(text) => (text.trim(), true),
                None => (line.trim(), false),
            };
            match joined.last_mut() {
                Some(last) if continued => {
                    last.push(' ');
                    last.push_str(text);
                }
                _ => joined.push(text.to_string()),
            }
            continued = goes_on;
        }
        joined
    }

    #[test]
    fn examples_fit_a_terminal() {
        let wide: Vec<String> = sections(EXAMPLES)
            .into_values()
            .flatten()
            .filter(|line| line.len() + 2 > 80)
            .collect();
        assert!(wide.is_empty(), "lines over 80 columns: {wide:#?}");
    }

    #[test]
    fn every_command_with_options_has_examples_and_every_section_a_command() {
        let mut all = BTreeMap::new();
        paths(&Cli::command(), "", &mut all);
        let sections = sections(EXAMPLES);
        let missing: Vec<&String> = all
            .iter()
            .filter(|(path, options)| **options && !sections.contains_key(*path))
            .map(|(path, _)| path)
            .collect();
        assert!(missing.is_empty(), "commands without examples: {missing:?}");
        let unknown: Vec<&String> = sections
            .keys()
            .filter(|s| *s != ROOT && !all.contains_key(*s))
            .collect();
        assert!(
            unknown.is_empty(),
            "sections naming no command: {unknown:?}"
        );
        for (path, lines) in &sections {
            let invocations = invocations(lines).len();
            assert!(
                (1..=3).contains(&invocations),
                "`## {path}` has {invocations} invocations (1 to 3)"
            );
        }
    }

    #[test]
    fn every_example_parses_as_its_own_command() {
        let command = command();
        let mut failures = Vec::new();
        for (path, lines) in sections(EXAMPLES) {
            for line in &invocations(&lines) {
                let Some(words) = words(line) else {
                    failures.push(format!("{path}: `{line}` runs no boxwright"));
                    continue;
                };
                match command.clone().try_get_matches_from(&words) {
                    Ok(matches) => {
                        let mut ran = Vec::new();
                        let mut current = &matches;
                        while let Some((name, sub)) = current.subcommand() {
                            ran.push(name);
                            current = sub;
                        }
                        if path != ROOT && ran.join(" ") != path {
                            failures.push(format!("{path}: `{line}` runs `{}`", ran.join(" ")));
                        }
                    }
                    Err(error) => failures.push(format!("{path}: `{line}`: {error}")),
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn examples_follow_the_help() {
        let mut push = command();
        let help = push
            .find_subcommand_mut("image")
            .and_then(|image| image.find_subcommand_mut("push"))
            .unwrap()
            .render_long_help()
            .to_string();
        let examples = help.find("Examples:\n  # Push a layout").expect(&help);
        assert!(help.find("--digest-file").unwrap() < examples, "{help}");
    }

    #[test]
    fn words_split_like_the_shell() {
        assert_eq!(
            words(r#"printf x | boxwright a --p "linux/$ARCH" 'b c' > out"#).unwrap(),
            ["boxwright", "a", "--p", "linux/$ARCH", "b c"]
        );
        assert_eq!(words("echo boxwright"), None);
    }

    #[test]
    fn long_version_names_commit_date_and_target() {
        let version = command().render_long_version();
        let inner = version
            .strip_prefix(concat!("boxwright ", env!("CARGO_PKG_VERSION"), " ("))
            .and_then(|rest| rest.trim_end().strip_suffix(')'))
            .expect(&version);
        let parts: Vec<&str> = inner.split(' ').collect();
        assert_eq!(parts.len(), 3, "{version}");
        assert!(
            parts[0] == "unknown"
                || (parts[0].len() == 12 && parts[0].bytes().all(|b| b.is_ascii_hexdigit())),
            "{version}"
        );
        let date: Vec<&str> = parts[1].split('-').collect();
        assert!(
            parts[1] == "unknown" || date.iter().map(|p| p.len()).eq([4, 2, 2]),
            "{version}"
        );
        assert!(
            parts[2].contains("-linux-") || parts[2].contains('-'),
            "{version}"
        );
    }
}
