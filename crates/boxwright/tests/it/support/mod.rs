//! Shared test aids: temporary projects and the boxwright command.

#![allow(dead_code)]

pub mod fake_api;
pub mod http;
pub mod podman;
pub mod rss;
pub mod serve;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temporary project directory with a metadata.json.
pub struct TestProject {
    pub dir: tempfile::TempDir,
}

impl TestProject {
    /// A project whose metadata.json is `metadata`.
    pub fn new(metadata: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("metadata.json"), metadata).expect("write metadata");
        TestProject { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `boxwright --project <dir>` with a fixed SOURCE_DATE_EPOCH and fast retries.
    pub fn boxwright(&self) -> Command {
        let mut cmd = boxwright();
        cmd.arg("--project").arg(self.path());
        cmd
    }

    /// Writes `content` at `relative` (creating parents) with `mode`.
    pub fn write(&self, relative: &str, content: &[u8], mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// Every file name in `relative` (empty when it does not exist).
    pub fn list(&self, relative: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join(relative))
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// The boxwright binary with a clean, reproducible environment.
pub fn boxwright() -> Command {
    Command::from_std(boxwright_std())
}

/// [`boxwright`] as a `std::process::Command` (for spawning, or measuring with
/// [`rss::run_measured`]).
pub fn boxwright_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("boxwright"));
    cmd.env_remove("BUILD_OUTPUT_DEST");
    // CI variables of the machine running the tests must not change what the tests see.
    for name in [
        "BOXWRIGHT_SOURCE_URL",
        "CI_PROJECT_URL",
        "CI_COMMIT_SHA",
        "GITHUB_SERVER_URL",
        "GITHUB_REPOSITORY",
        "GITHUB_SHA",
    ] {
        cmd.env_remove(name);
    }
    cmd.env("SOURCE_DATE_EPOCH", "1700000000")
        .env("BOXWRIGHT_FETCH_BACKOFF_MS", "10");
    cmd
}

/// sha256 of bytes, hex (computed by coreutils' sha256sum, not by the code under test).
pub fn sha256_hex(data: &[u8]) -> String {
    coreutils_digest("sha256sum", data)
}

/// The hex digest coreutils' `tool` (sha256sum, sha512sum...) prints for `data`.
pub fn coreutils_digest(tool: &str, data: &[u8]) -> String {
    use std::io::Write;
    use std::process::{Command as Std, Stdio};
    let mut child = Std::new(tool)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool} (coreutils) runs: {e}"));
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{tool} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Fails the test, with the install command, when `tool` is not on PATH.
pub fn require_tool(tool: &str, install: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test needs `{tool}`: {install} (scripts/test-all.sh installs it)"
    );
}

/// The bundled example project, copied into a temporary directory (without caches/outputs).
pub fn example_project() -> TestProject {
    let project = TestProject::new("{}");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    copy_tree(
        &examples,
        project.path(),
        &[".tmp", ".out", ".cache", "target"],
    );
    project
}

/// Copies a directory tree (symlinks kept), leaving out top-level names in `skip`.
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let target = to.join(&name);
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target, skip);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Fails unless the tools the example project's recipes use are installed.
pub fn tools_for_examples() {
    for (tool, install) in [
        ("bwrap", "apt-get install bubblewrap"),
        ("musl-gcc", "apt-get install musl-tools"),
        ("clang", "apt-get install clang"),
        ("readelf", "apt-get install binutils"),
    ] {
        require_tool(tool, install);
    }
}

/// What the examples need, plus what building for aarch64 and running the result needs.
pub fn tools_for_aarch64() {
    tools_for_examples();
    require_tool("qemu-aarch64-static", "apt-get install qemu-user-static");
    require_tool(
        "aarch64-linux-gnu-gcc",
        "apt-get install gcc-aarch64-linux-gnu",
    );
}

/// Drops `pie` from the example's static-proxy verify policy: Rust's aarch64 musl target
/// links a static executable at a fixed address, not a static PIE, so `build static-proxy
/// --arch aarch64` needs that.
pub fn relax_static_proxy_pie(project: &TestProject) {
    let metadata = project.path().join("metadata.json");
    let text = std::fs::read_to_string(&metadata).unwrap();
    let relaxed = text.replacen(
        "\"pie\": true,\n      \"nx\": true,\n      \"smoke\": [\n        \"bin/static_proxy\"",
        "\"nx\": true,\n      \"smoke\": [\n        \"bin/static_proxy\"",
        1,
    );
    assert_ne!(
        relaxed, text,
        "the example's static-proxy policy changed: update this test"
    );
    std::fs::write(&metadata, relaxed).unwrap();
}

/// Rewrites the project's metadata.json through `edit`.
pub fn edit_metadata(project: &TestProject, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = project.path().join("metadata.json");
    let mut metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut metadata);
    std::fs::write(&path, serde_json::to_vec_pretty(&metadata).unwrap()).unwrap();
}

/// The example project with static-proxy built for x86_64 and aarch64 (its `pie` policy
/// relaxed, see [`relax_static_proxy_pie`]) and an image for both platforms with the binary
/// at /bin/static_proxy as its entrypoint.
pub fn static_proxy_for_two_arches() -> TestProject {
    tools_for_aarch64();
    let project = example_project();
    relax_static_proxy_pie(&project);
    edit_metadata(&project, |m| {
        assert!(
            m["static-proxy"]["image"].is_null(),
            "the example's static-proxy has an image now: use it"
        );
        m["static-proxy"]["image"] = serde_json::json!({
            "entrypoint": ["/bin/static_proxy"],
            "files": {"/bin/static_proxy": "bin/static_proxy"},
            "platforms": ["linux/amd64", "linux/arm64"]
        });
    });
    for args in [
        ["build", "static-proxy"].as_slice(),
        ["build", "static-proxy", "--arch", "aarch64"].as_slice(),
    ] {
        assert_success(&project.boxwright().args(args).output().unwrap());
    }
    assert!(
        project
            .path()
            .join(".out/static-proxy@aarch64/bin/static_proxy")
            .is_file()
    );
    project
}

/// Fails the test with the command's stderr unless it exited 0.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The independent cosign verifier (`tests/verifiers/cosign-verify`, on the sigstore crate),
/// built by `scripts/build-verifiers.sh` into `<checkout>/target/verifiers/`. Fails the test
/// with that hint when it is missing. Usage: see its `src/main.rs` doc comment.
pub fn cosign_verify() -> std::process::Command {
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/verifiers/cosign-verify");
    assert!(
        binary.is_file(),
        "this test needs {}: run scripts/build-verifiers.sh (scripts/test-all.sh does)",
        binary.display()
    );
    let mut command = std::process::Command::new(binary);
    command.env_remove("COSIGN_PASSWORD");
    command
}
