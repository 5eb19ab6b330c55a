//! One vocabulary across the command line (issue 22): the clap tree walked for a name with two
//! meanings, and the renamed options tried under their new and their retired names.

use std::collections::BTreeMap;

use clap::{Arg, ArgAction, Command, CommandFactory};

use crate::support::{TestProject, assert_success, boxwright};

#[allow(dead_code, reason = "only the clap definitions are used here")]
#[path = "../../src/cli.rs"]
mod cli;

/// A visible long option of one command.
#[derive(Debug)]
struct Flag {
    /// `boxwright image build`.
    command: String,
    long: String,
    short: Option<char>,
    /// The value name, `None` for a switch.
    value: Option<String>,
    /// The whole help text.
    help: String,
}

impl Flag {
    fn first_sentence(&self) -> &str {
        self.help.split(". ").next().unwrap_or_default()
    }
}

/// The pinned meaning of a name shared by several commands.
struct Meaning {
    long: &'static str,
    /// The value names it may take; empty: a switch.
    values: &'static [&'static str],
    /// Words its help must hold (lower case), when any.
    help_has: &'static str,
    /// The commands it may appear on, when limited.
    only_on: &'static [&'static str],
    short: Option<char>,
}

const fn meaning(long: &'static str, values: &'static [&'static str]) -> Meaning {
    Meaning {
        long,
        values,
        help_has: "",
        only_on: &[],
        short: None,
    }
}

/// What the shared names mean (docs/cli.md, "Vocabulary").
const MEANINGS: &[Meaning] = &[
    Meaning {
        short: Some('o'),
        ..meaning("output", &["FILE", "DIR", "PATH", "PREFIX"])
    },
    Meaning {
        help_has: "os/arch",
        ..meaning("platform", &["PLATFORM"])
    },
    Meaning {
        help_has: "architecture",
        only_on: &["boxwright build", "boxwright package"],
        ..meaning("arch", &["ARCH"])
    },
    Meaning {
        help_has: "env://",
        ..meaning("key", &["KEY"])
    },
    Meaning {
        help_has: "image tag",
        only_on: &["boxwright image build", "boxwright image merge"],
        ..meaning("tag", &["TAG"])
    },
    Meaning {
        help_has: "release tag",
        ..meaning("release", &["TAG"])
    },
    meaning("format", &["FORMAT"]),
    Meaning {
        help_has: "user name",
        ..meaning("registry-username", &["USER"])
    },
    Meaning {
        help_has: "registry password",
        ..meaning("registry-password-stdin", &[])
    },
    Meaning {
        help_has: "key's password",
        ..meaning("key-password-stdin", &[])
    },
];

/// Names retired in issue 22: never visible (they stay as hidden aliases for one release).
const RETIRED: &[&str] = &["out", "username", "password-stdin"];

fn flags(command: &Command) -> Vec<Flag> {
    let mut command = command.clone();
    command.build();
    let mut flags = Vec::new();
    walk(&command, command.get_name(), &mut flags);
    flags
}

fn walk(command: &Command, path: &str, flags: &mut Vec<Flag>) {
    for arg in command.get_arguments().filter(|arg| visible_option(arg)) {
        let value = arg
            .get_action()
            .takes_values()
            .then(|| match arg.get_value_names() {
                Some(names) => names
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                None => arg.get_id().as_str().to_uppercase(),
            });
        flags.push(Flag {
            command: path.to_string(),
            long: arg.get_long().unwrap_or_default().to_string(),
            short: arg.get_short(),
            value,
            help: arg
                .get_long_help()
                .or(arg.get_help())
                .map(ToString::to_string)
                .unwrap_or_default(),
        });
    }
    for sub in command.get_subcommands() {
        walk(sub, &format!("{path} {}", sub.get_name()), flags);
    }
}

/// A long option shown in help, other than clap's own `--help` and `--version`.
fn visible_option(arg: &Arg) -> bool {
    arg.get_long().is_some()
        && !arg.is_hide_set()
        && !matches!(
            arg.get_action(),
            ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
        )
}

/// Every way the tree breaks the vocabulary: one name with two value names or two kinds (a
/// switch and an option) unless its meaning allows them, a shared name against its pinned
/// meaning, and a retired name still visible.
fn problems(command: &Command) -> Vec<String> {
    let flags = flags(command);
    let mut problems = Vec::new();
    let mut by_name: BTreeMap<&str, Vec<&Flag>> = BTreeMap::new();
    for flag in &flags {
        by_name.entry(&flag.long).or_default().push(flag);
    }
    for (long, uses) in &by_name {
        let first = uses[0];
        let pinned = MEANINGS.iter().find(|m| m.long == *long);
        for other in &uses[1..] {
            let kinds_differ = first.value.is_some() != other.value.is_some();
            if kinds_differ || (pinned.is_none() && first.value != other.value) {
                problems.push(format!(
                    "--{long} is {:?} in `{}` (\"{}\") but {:?} in `{}` (\"{}\")",
                    first.value,
                    first.command,
                    first.first_sentence(),
                    other.value,
                    other.command,
                    other.first_sentence()
                ));
            }
        }
        for flag in uses {
            if let Some(meaning) = pinned {
                problems.extend(against(flag, meaning));
            }
            if RETIRED.contains(long) {
                problems.push(format!("retired --{long} is visible in `{}`", flag.command));
            }
        }
    }
    problems
}

/// How `flag` departs from its pinned `meaning`.
fn against(flag: &Flag, meaning: &Meaning) -> Vec<String> {
    let mut problems = Vec::new();
    let at = format!("--{} in `{}`", flag.long, flag.command);
    match &flag.value {
        Some(value) if !meaning.values.contains(&value.as_str()) => problems.push(format!(
            "{at} takes {value}, not one of {:?}",
            meaning.values
        )),
        None if !meaning.values.is_empty() => problems.push(format!("{at} takes no value")),
        _ => {}
    }
    if !flag.help.to_lowercase().contains(meaning.help_has) {
        problems.push(format!(
            "{at} does not mean {:?}: \"{}\"",
            meaning.help_has, flag.help
        ));
    }
    if !meaning.only_on.is_empty() && !meaning.only_on.contains(&flag.command.as_str()) {
        problems.push(format!("{at}: only on {:?}", meaning.only_on));
    }
    if meaning.short.is_some() && flag.short != meaning.short {
        problems.push(format!("{at} lacks -{}", meaning.short.unwrap_or(' ')));
    }
    problems
}

#[test]
fn one_name_has_one_meaning_across_every_command() {
    let problems = problems(&cli::Cli::command());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_vocabulary_check_catches_a_tree_that_breaks_it() {
    let option = |name: &'static str, value: &'static str, help: &'static str| {
        Arg::new(name).long(name).value_name(value).help(help)
    };
    let toy = Command::new("toy")
        .subcommand(Command::new("a").arg(option("output", "FILE", "Write here.").short('o')))
        .subcommand(
            Command::new("b").arg(Arg::new("output").long("output").action(ArgAction::SetTrue)),
        )
        .subcommand(Command::new("c").arg(option("username", "USER", "The user name.")))
        .subcommand(Command::new("d").arg(option("platform", "ARCH", "The architecture.")))
        .subcommand(Command::new("e").arg(option("level", "N", "Level.")))
        .subcommand(Command::new("f").arg(option("level", "LEVEL", "Level.")))
        .subcommand(Command::new("g").arg(option("tag", "TAG", "The image tag.")));
    let found = problems(&toy);
    for expected in [
        "--output is Some(\"FILE\") in `toy a`",
        "--output in `toy b` takes no value",
        "--output in `toy b` lacks -o",
        "retired --username is visible in `toy c`",
        "--platform in `toy d` takes ARCH",
        "--platform in `toy d` does not mean \"os/arch\"",
        "--level is Some(\"N\") in `toy e` (\"Level.\") but Some(\"LEVEL\") in `toy f`",
        "--tag in `toy g`: only on",
    ] {
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected}: {found:#?}"
        );
    }
}

/// Own options first under "Options", then `--project`, `--json`, `-v`, `-q` under their
/// own heading.
#[test]
fn global_options_have_their_own_heading() {
    for command in [&["build", "--help"][..], &["image", "push", "--help"]] {
        let out = boxwright().args(command).output().unwrap();
        assert_success(&out);
        let help = String::from_utf8(out.stdout).unwrap();
        let own = help.find("Options:").expect(&help);
        let global = help.find("Global options:").expect(&help);
        assert!(own < global, "{help}");
        let project = help.find("--project").unwrap();
        let quiet = help.find("--quiet").unwrap();
        assert!(project > global && quiet > global, "{help}");
        let jobs = help.find("--jobs").unwrap();
        assert!(own < jobs && jobs < global, "{help}");
    }
}

/// Each renamed option: the new name is listed in `--help` and the retired one is not.
#[test]
fn help_lists_the_new_names_only() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["build"], "--output", "--out "),
        (&["key", "generate"], "--output", "--out "),
        (
            &["key", "generate"],
            "--key-password-stdin",
            "--password-stdin",
        ),
        (&["ci", "generate"], "--output", "--out "),
        (&["sign-blob"], "--output", "--password-stdin"),
        (&["image", "push"], "--registry-username", "--username"),
        (
            &["image", "push"],
            "--registry-password-stdin",
            "--password-stdin",
        ),
        (
            &["image", "sign"],
            "--key-password-stdin",
            " --password-stdin",
        ),
        (&["mirror", "build"], "--platform", "--arch"),
        (&["release", "verify"], "--release", "--tag"),
        (&["repo", "upload"], "--suite", "--version"),
    ];
    for (command, new, old) in cases {
        let out = boxwright().args(*command).arg("--help").output().unwrap();
        assert_success(&out);
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains(new), "{command:?} lacks {new}:\n{help}");
        assert!(!help.contains(old), "{command:?} lists {old}:\n{help}");
    }
    // cosign's name stays visible as an alias of `sign-blob -o`.
    let out = boxwright().args(["sign-blob", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("output-signature"));
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `warning: --OLD is deprecated; use NEW`, once.
fn warns_once(out: &std::process::Output, old: &str, new: &str) {
    let stderr = stderr(out);
    let warning = format!("warning: --{old} is deprecated; use {new}\n");
    assert_eq!(stderr.matches(&warning).count(), 1, "{stderr}");
}

#[test]
fn build_output_and_its_retired_out() {
    let project = TestProject::new(r#"{"t": {"version_env_var": "V", "env": {"V": "1"}}}"#);
    project.write("t/build.sh", b"build() { :; }\npackage() { :; }\n", 0o755);
    let dir = project.path().join("elsewhere");
    for flag in ["-o", "--output", "--out"] {
        let out = project
            .boxwright()
            .args(["build", "t", "--dry-run", flag])
            .arg(&dir)
            .output()
            .unwrap();
        assert_success(&out);
        let plan = String::from_utf8_lossy(&out.stdout);
        assert!(plan.contains(&*dir.join("t").to_string_lossy()), "{plan}");
        if flag == "--out" {
            warns_once(&out, "out", "--output");
        } else {
            assert!(!stderr(&out).contains("deprecated"), "{}", stderr(&out));
        }
    }
}

#[test]
fn ci_generate_output_and_its_retired_out() {
    let project = TestProject::new(
        r#"{"t": {"tag_prefix": "t", "version_env_var": "V", "release_files": ["x"], "env": {"V": "1"}}}"#,
    );
    for (flag, dir) in [("-o", "new"), ("--out", "old")] {
        let out = project
            .boxwright()
            .args(["ci", "generate", "github", flag])
            .arg(project.path().join(dir))
            .output()
            .unwrap();
        assert_success(&out);
        assert!(
            project.path().join(dir).join(".github/workflows").is_dir(),
            "{}",
            stderr(&out)
        );
        if flag == "--out" {
            warns_once(&out, "out", "--output");
        }
    }
}

#[test]
fn key_generate_and_sign_blob_with_new_and_retired_names() {
    let dir = tempfile::tempdir().unwrap();
    let generate = |flags: [&str; 2], name: &str| {
        boxwright()
            .env_remove("COSIGN_PASSWORD")
            .args(["key", "generate", flags[0]])
            .arg(dir.path().join(name))
            .arg(flags[1])
            .write_stdin("pw\n")
            .output()
            .unwrap()
    };
    let out = generate(["-o", "--key-password-stdin"], "new");
    assert_success(&out);
    assert!(!stderr(&out).contains("deprecated"), "{}", stderr(&out));
    let out = generate(["--out", "--password-stdin"], "old");
    assert_success(&out);
    warns_once(&out, "out", "--output");
    warns_once(&out, "password-stdin", "--key-password-stdin");

    let file = dir.path().join("file");
    std::fs::write(&file, b"signed").unwrap();
    for (key, password_flag, output_flag) in [
        ("new.key", "--key-password-stdin", "-o"),
        ("old.key", "--password-stdin", "--output-signature"),
    ] {
        let signature = dir.path().join(format!("{key}.sig"));
        let out = boxwright()
            .env_remove("COSIGN_PASSWORD")
            .arg("sign-blob")
            .arg(&file)
            .arg("--key")
            .arg(dir.path().join(key))
            .args([password_flag, output_flag])
            .arg(&signature)
            .write_stdin("pw\n")
            .output()
            .unwrap();
        assert_success(&out);
        assert!(signature.is_file());
        if password_flag == "--password-stdin" {
            warns_once(&out, "password-stdin", "--key-password-stdin");
        }
        // --output-signature is cosign's name, a visible alias: no warning.
        assert!(
            !stderr(&out).contains("output-signature"),
            "{}",
            stderr(&out)
        );
    }
}

/// `image sign|attest` read a key password and may read a registry password: both from
/// standard input is a usage error.
#[test]
fn both_passwords_from_standard_input_is_a_usage_error() {
    for command in ["sign", "attest"] {
        let mut cmd = boxwright();
        cmd.args(["image", command, "127.0.0.1:9/r:t", "--key", "k"]);
        if command == "attest" {
            cmd.args(["--predicate", "p.json"]);
        }
        let out = cmd
            .args(["--key-password-stdin", "--registry-password-stdin"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{}",
            stderr(&out)
        );
    }
}

/// `release manifest` reads an encrypted key's password as the other signing commands do:
/// `--key-password-stdin`, named by the hint when it is missing.
#[test]
fn release_manifest_takes_the_key_password_from_standard_input() {
    let project = TestProject::new(
        r#"{"hello": {"tag_prefix": "hello", "version_env_var": "V", "env": {"V": "1.0.0"},
            "release_files": [],
            "release": {"artifacts": {"notes.txt": "file:notes.txt"}, "signature": "cosign"}}}"#,
    );
    std::fs::write(project.path().join("notes.txt"), "notes\n").unwrap();
    let run = |args: &[&str], stdin: &str| {
        boxwright()
            .current_dir(project.path())
            .env_remove("COSIGN_PASSWORD")
            .args(args)
            .write_stdin(stdin)
            .output()
            .unwrap()
    };
    let generated = run(
        &["key", "generate", "-o", "k", "--key-password-stdin"],
        "s3cret\n",
    );
    assert_success(&generated);
    let locked = run(
        &["release", "manifest", "hello-1.0.0.0", "--key", "k.key"],
        "",
    );
    assert_eq!(locked.status.code(), Some(2), "{}", stderr(&locked));
    assert!(
        stderr(&locked).contains("hint: give the key's password with --key-password-stdin"),
        "{}",
        stderr(&locked)
    );
    let signed = run(
        &[
            "release",
            "manifest",
            "hello-1.0.0.0",
            "--key",
            "k.key",
            "--key-password-stdin",
            "-o",
            "out",
        ],
        "s3cret\n",
    );
    assert_success(&signed);
    assert!(project.path().join("out/manifest.json.sig").is_file());
}
