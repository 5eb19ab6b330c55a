//! What a new user meets around the commands: shell completions, man pages, `--version`, and
//! `init`'s starter project, which `targets`, `ci check` and `build` accept as it is.

use std::path::Path;
use std::process::Output;

use crate::support::{boxwright, require_tool, tools_for_examples};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn bash_completion_completes_im_to_image() {
    require_tool("bash", "apt-get install bash");
    let script = ok(
        &boxwright().args(["completions", "bash"]).output().unwrap(),
        "completions bash",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boxwright.bash");
    std::fs::write(&path, script).unwrap();
    let complete = |words: &str, cword: usize| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; \
             COMP_POINT=${{#COMP_LINE}}; _boxwright boxwright \"${{COMP_WORDS[$COMP_CWORD]}}\" \
             \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path.display()
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .unwrap();
        let mut words: Vec<String> = ok(&out, "bash").lines().map(str::to_string).collect();
        words.retain(|w| !w.is_empty());
        words
    };
    assert_eq!(complete("boxwright im", 1), ["image"]);
    let image = complete("boxwright image p", 2);
    assert_eq!(image, ["push", "pull"], "{image:?}");
    let shells = complete("boxwright completions ", 2);
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(shells.iter().any(|s| s == shell), "{shells:?}");
    }
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("zsh", "#compdef boxwright"),
        ("fish", "complete -c boxwright"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = boxwright().args(["completions", shell]).output().unwrap();
        assert!(ok(&out, shell).contains(marker), "{shell}");
    }
    let out = boxwright().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `groff -man -Tutf8` of `page`, without overstrike, hyphenation or justification, spaces
/// collapsed.
fn render(page: &Path) -> String {
    let out = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-P", "-cbou", "-rHY=0", "-dAD=l"])
        .arg(page)
        .output()
        .unwrap();
    ok(&out, "groff")
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn man_pages_render_and_name_their_command() {
    require_tool("groff", "apt-get install groff-base");
    let dir = tempfile::tempdir().unwrap();
    let out = boxwright()
        .args(["man", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    let listed = ok(&out, "man -o");
    for name in ["boxwright.1", "boxwright-image-push.1", "boxwright-init.1"] {
        assert!(listed.contains(name), "{listed}");
    }
    let page = render(&dir.path().join("boxwright-image-push.1"));
    let name = page
        .split("NAME")
        .nth(1)
        .and_then(|rest| rest.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or_default();
    assert!(name.starts_with("boxwright-image-push - Push"), "{page}");
    assert!(page.contains("--digest-file"), "{page}");
    assert!(
        page.contains("boxwright image push .out/image/hello"),
        "{page}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".1"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Without -o, the top page on stdout.
    let top = ok(&boxwright().arg("man").output().unwrap(), "man");
    let file = dir.path().join("top.1");
    std::fs::write(&file, top).unwrap();
    let page = render(&file);
    assert!(page.contains("boxwright - Daemonless"), "{page}");
    assert!(page.contains("completions"), "{page}");
}

#[test]
fn version_names_commit_date_and_target() {
    let long = ok(&boxwright().arg("--version").output().unwrap(), "--version");
    let words: Vec<&str> = long.trim().split(' ').collect();
    assert_eq!(words.len(), 5, "{long}");
    assert_eq!(
        words[..2],
        ["boxwright", env!("CARGO_PKG_VERSION")],
        "{long}"
    );
    let commit = words[2].trim_start_matches('(');
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{long}"
    );
    let date: Vec<&str> = words[3].split('-').collect();
    assert!(date.iter().map(|p| p.len()).eq([4, 2, 2]), "{long}");
    assert!(
        words[4].ends_with("-linux-gnu)") || words[4].ends_with("-linux-musl)"),
        "{long}"
    );
    let short = ok(&boxwright().arg("-V").output().unwrap(), "-V");
    assert_eq!(
        short.trim(),
        concat!("boxwright ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn init_writes_a_starter_that_the_other_commands_accept() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("My Tool");
    let out = boxwright()
        .current_dir(dir.path())
        .args(["init", "My Tool", "--ci", "github"])
        .output()
        .unwrap();
    let listed = ok(&out, "init");
    for file in [
        "metadata.json",
        ".gitignore",
        "My-Tool/build.sh",
        "My-Tool/main.c",
    ] {
        assert!(root.join(file).is_file(), "{file}: {listed}");
    }
    assert!(
        listed.contains(".github/workflows/boxwright-release.yml"),
        "{listed}"
    );
    let targets = ok(
        &boxwright()
            .arg("--project")
            .arg(&root)
            .arg("targets")
            .output()
            .unwrap(),
        "targets",
    );
    assert!(targets.contains("My-Tool"), "{targets}");
    ok(
        &boxwright()
            .arg("--project")
            .arg(&root)
            .args(["ci", "check"])
            .output()
            .unwrap(),
        "ci check",
    );

    // A second init refuses, naming every file, and changes nothing.
    std::fs::write(root.join(".gitignore"), "mine\n").unwrap();
    let out = boxwright().arg("init").arg(&root).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for file in ["metadata.json", ".gitignore", "My-Tool/build.sh", "--force"] {
        assert!(stderr.contains(file), "{stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(root.join(".gitignore")).unwrap(),
        "mine\n"
    );
    // --force replaces them; --name names the target.
    let out = boxwright()
        .arg("init")
        .arg(&root)
        .args(["--name", "tool", "--force"])
        .output()
        .unwrap();
    ok(&out, "init --force");
    assert_ne!(
        std::fs::read_to_string(root.join(".gitignore")).unwrap(),
        "mine\n"
    );
    assert!(root.join("tool/build.sh").is_file());
}

#[test]
fn the_starter_builds_a_hardened_static_binary() {
    tools_for_examples();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("hello");
    ok(
        &boxwright().arg("init").arg(&root).output().unwrap(),
        "init",
    );
    let out = boxwright()
        .arg("--project")
        .arg(&root)
        .args(["build", "hello", "--sandbox", "bwrap"])
        .output()
        .unwrap();
    ok(&out, "build");
    let binary = root.join(".out/hello/bin/hello");
    let run = std::process::Command::new(&binary)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(ok(&run, "hello --version"), "hello 0.1.0\n");
    let out = boxwright()
        .arg("--project")
        .arg(&root)
        .args(["release", "package", "hello-0.1.0.0", "--dry-run"])
        .output()
        .unwrap();
    ok(&out, "release package --dry-run");
}
