//! The step-by-step guides in docs/guides/ are tested walkthroughs: every ```sh block of a
//! guide runs, in order, in one bash process (`set -euo pipefail`) in an empty temporary
//! directory, with the boxwright under test first on PATH. Other blocks (```json, ```yaml,
//! plain ```) are for reading only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{copy_tree, require_tool, tools_for_examples};

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The ```sh blocks of a Markdown text, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start() == "```sh" => current = Some(String::new()),
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "a ```sh block is not closed");
    blocks
}

/// Kills what the guide left running in the background (its whole process group).
struct Group(u32);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs the guide `docs/guides/<name>.md` in a fresh directory; `examples` copies the bundled
/// example project into it first (as `examples/`, the guide's starting point).
fn run_guide(name: &str, examples: bool) {
    let path = checkout().join(format!("docs/guides/{name}.md"));
    let text = std::fs::read_to_string(&path).unwrap();
    let blocks = shell_blocks(&text);
    assert!(!blocks.is_empty(), "{} has no ```sh block", path.display());
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join(".home");
    std::fs::create_dir(&home).unwrap();
    let scratch = dir.path().join(".scratch");
    std::fs::create_dir(&scratch).unwrap();
    if examples {
        let to = dir.path().join("examples");
        std::fs::create_dir(&to).unwrap();
        copy_tree(
            &checkout().join("examples"),
            &to,
            &[".tmp", ".out", ".cache", "target"],
        );
    }
    let script = format!("set -euo pipefail\n{}", blocks.join("\n"));
    std::fs::write(dir.path().join(".guide.sh"), &script).unwrap();
    let binary = PathBuf::from(assert_cmd::cargo::cargo_bin!("boxwright"));
    let path_var = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let log = dir.path().join(".guide.log");
    let mut command = Command::new("bash");
    // HOME is the guide's own (no docker config or keys of the machine leak in), but the
    // Rust toolchain the recipes use stays where rustup put it.
    let real_home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    for (name, default) in [("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")] {
        let value = std::env::var_os(name).map_or_else(|| real_home.join(default), PathBuf::from);
        command.env(name, value);
    }
    command
        .arg(".guide.sh")
        .current_dir(dir.path())
        .env("PATH", path_var)
        .env("HOME", &home)
        .env("TMPDIR", &scratch)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("CI", "true")
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("BUILD_OUTPUT_DEST")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join(".guide.err")).unwrap());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().unwrap();
    let _group = Group(child.id());
    // A guard against a hang only (a server that never starts), not a speed check.
    let deadline = Instant::now() + Duration::from_secs(1800);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "guide {name} hangs");
        std::thread::sleep(Duration::from_millis(200));
    };
    let tail = |file: &str| {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    assert!(
        status.success(),
        "guide docs/guides/{name}.md failed ({status}):\n--- stdout\n{}\n--- stderr\n{}",
        tail(".guide.log"),
        tail(".guide.err")
    );
}

#[test]
fn shell_blocks_are_taken_in_order_and_only_sh() {
    let text = "a\n```sh\necho 1\n```\n```json\n{}\n```\n```\nplain\n```\n  ```sh\necho 2\n  ```\n";
    assert_eq!(shell_blocks(text), vec!["echo 1\n", "echo 2\n"]);
}

#[test]
fn static_builds() {
    tools_for_examples();
    run_guide("static-builds", false);
}

#[test]
fn distro_release() {
    tools_for_examples();
    require_tool("minisign", "apt-get install minisign");
    run_guide("distro-release", true);
}

#[test]
fn registry_mirror() {
    require_tool("docker-registry", "apt-get install docker-registry");
    require_tool("curl", "apt-get install curl");
    run_guide("registry-mirror", false);
}

#[test]
fn package_repository() {
    tools_for_examples();
    require_tool("curl", "apt-get install curl");
    run_guide("package-repository", false);
}

/// Every guide in docs/guides/ has a test above.
#[test]
fn every_guide_runs_as_a_test() {
    let tested = [
        "static-builds",
        "distro-release",
        "registry-mirror",
        "package-repository",
    ];
    let mut found: Vec<String> = std::fs::read_dir(checkout().join("docs/guides"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut expected: Vec<String> = tested.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(found, expected, "docs/guides/ and the tests here differ");
}
