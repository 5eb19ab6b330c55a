//! Strict modes for CI (issue 22): `--locked` refuses unpinned downloads and bases by tag,
//! an unsigned release manifest needs `--allow-unsigned`, `key generate` never picks an
//! empty password by itself.

use std::process::Output;

use crate::support::{TestProject, boxwright, require_tool, sha256_hex};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A target with one `file:` download, pinned by `sha256` when given.
fn with_download(sha256: Option<&str>) -> TestProject {
    let pin = sha256.map_or(String::new(), |s| format!(r#", "sha256": "{s}""#));
    let project = TestProject::new(&format!(
        r#"{{"tool": {{"version_env_var": "V", "env": {{"V": "1.0.0"}},
             "downloads": [{{"url": "file:src/tool.tar.gz", "name": "tool.tar.gz"{pin}}}]}}}}"#
    ));
    project.write("src/tool.tar.gz", b"source bytes", 0o644);
    project.write("tool/build.sh", b"#!/bin/sh\nexit 0\n", 0o755);
    project
}

#[test]
fn fetch_locked_refuses_an_unpinned_download_naming_target_and_url() {
    let project = with_download(None);
    for command in [&["fetch", "--locked"][..], &["build", "tool", "--locked"]] {
        let out = project.boxwright().args(command).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{command:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("`file:src/tool.tar.gz` of `tool` has no digest to check"),
            "{command:?}: {}",
            stderr(&out)
        );
    }
    assert!(
        !project.path().join(".tmp/tool.tar.gz").exists(),
        "nothing fetched"
    );
    assert!(
        !project.path().join("metadata.lock.json").exists(),
        "nothing recorded"
    );
    // Without --locked the download is fetched, with a note.
    let out = project.boxwright().arg("fetch").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no digest in metadata.json"));
}

#[test]
fn fetch_locked_takes_digests_from_metadata_or_the_lock() {
    let digest = sha256_hex(b"source bytes");
    let pinned = with_download(Some(&digest));
    let out = pinned
        .boxwright()
        .args(["fetch", "--locked"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let locked = with_download(None);
    let lock = format!(
        r#"{{"version": 1, "targets": {{"tool": {{"file:src/tool.tar.gz": "{digest}"}}}}}}"#
    );
    locked.write("metadata.lock.json", lock.as_bytes(), 0o644);
    let out = locked
        .boxwright()
        .args(["fetch", "--locked"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("no digest"), "{}", stderr(&out));
    // The lock's digest is checked, not only looked up.
    let wrong = lock.replace(&digest, &"0".repeat(64));
    locked.write("metadata.lock.json", wrong.as_bytes(), 0o644);
    std::fs::remove_file(locked.path().join(".tmp/tool.tar.gz")).unwrap();
    let out = locked
        .boxwright()
        .args(["fetch", "--locked"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn image_build_locked_refuses_a_base_by_tag() {
    let project = TestProject::new(
        r#"{"app": {"version_env_var": "V", "env": {"V": "1.0.0"},
             "image": {"base": "registry.invalid/library/alpine:3.20", "contents": {"/etc/app": "x"}}}}"#,
    );
    std::fs::create_dir_all(project.path().join(".out/app")).unwrap();
    let out = project
        .boxwright()
        .args([
            "image",
            "build",
            "app",
            "--format",
            "oci",
            "--platform",
            "linux/amd64",
        ])
        .args(["--locked", "-o"])
        .arg(project.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "image.base `registry.invalid/library/alpine:3.20` is given by tag, not by digest"
        ),
        "{}",
        stderr(&out)
    );
}

fn release_project() -> TestProject {
    let project = TestProject::new(
        r#"{"tool": {"version_env_var": "V", "env": {"V": "1.0.0"},
             "release": {"artifacts": {"notes.txt": "file:notes.txt"}, "manifest_key_env": "TOOL_KEY"}}}"#,
    );
    project.write("notes.txt", b"notes\n", 0o644);
    project
}

#[test]
fn release_manifest_without_a_key_exits_2_unless_allow_unsigned() {
    let project = release_project();
    let manifest = project.path().join("m");
    let published = project.path().join("pub");
    for command in [
        &[
            "release",
            "manifest",
            "tool-1.0.0.0",
            "-o",
            manifest.to_str().unwrap(),
        ][..],
        &[
            "release",
            "publish",
            "tool-1.0.0.0",
            "--to",
            published.to_str().unwrap(),
        ],
    ] {
        let out = project
            .boxwright()
            .args(command)
            .env_remove("TOOL_KEY")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command:?}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains(
                "the manifest of tool-1.0.0.0 would be unsigned: no --key, and the release's \
                 manifest_key_env TOOL_KEY is unset or empty"
            ) && text.contains("hint:")
                && text.contains("--allow-unsigned"),
            "{text}"
        );
    }
    assert!(!manifest.exists() && !published.exists());
    let out = project
        .boxwright()
        .args([
            "release",
            "manifest",
            "tool-1.0.0.0",
            "--allow-unsigned",
            "-o",
        ])
        .arg(&manifest)
        .env_remove("TOOL_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(project.path().join("m/manifest.json").is_file());
    assert!(stderr(&out).contains("unsigned"), "{}", stderr(&out));
}

#[test]
fn key_generate_without_a_password_source_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("k");
    let out = boxwright()
        .args(["key", "generate", "--out"])
        .arg(&prefix)
        .env_remove("COSIGN_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "no password for the private key: give --key-password-stdin, COSIGN_PASSWORD or \
             --no-password"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("k.key").exists());
    // An empty COSIGN_PASSWORD is a choice; so is --no-password; other formats need none.
    for (args, env) in [
        (&["--force"][..], Some("")),
        (&["--force", "--no-password"], None),
        (&["--force", "--format", "minisign"], None),
    ] {
        let mut command = boxwright();
        command
            .args(["key", "generate", "--out"])
            .arg(&prefix)
            .args(args);
        match env {
            Some(value) => command.env("COSIGN_PASSWORD", value),
            None => command.env_remove("COSIGN_PASSWORD"),
        };
        let out = command.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
}

/// `key generate` on a pseudo-terminal (util-linux `script`) with `input` typed.
fn generate_on_a_terminal(prefix: &std::path::Path, input: &str) -> Output {
    require_tool("script", "apt-get install bsdutils");
    let binary = assert_cmd::cargo::cargo_bin!("boxwright");
    let command = format!(
        "{} --json key generate --out {}",
        binary.display(),
        prefix.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("COSIGN_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[test]
fn key_generate_on_a_terminal_asks_twice_and_refuses_an_empty_password() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("k");
    let out = generate_on_a_terminal(&prefix, "\n");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("Enter password for the private key:"),
        "{shown}"
    );
    assert!(shown.contains("an empty password is refused"), "{shown}");
    assert!(!dir.path().join("k.key").exists());

    let out = generate_on_a_terminal(&prefix, "s3cret\nother\n");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("the passwords do not match"), "{shown}");

    let out = generate_on_a_terminal(&prefix, "s3cret\ns3cret\n");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("again:"), "{shown}");
    // `script` types the input before the echo goes off; nothing is echoed after the prompt.
    let after_prompt = shown
        .split("Enter password for the private key:")
        .nth(1)
        .unwrap();
    assert!(!after_prompt.contains("s3cret"), "echoed: {shown}");
    assert!(shown.contains(r#""empty_password": false"#), "{shown}");
    // The key opens with that password.
    std::fs::write(dir.path().join("f"), b"data").unwrap();
    let out = boxwright()
        .args(["sign-blob", "--password-stdin", "--key"])
        .arg(dir.path().join("k.key"))
        .arg(dir.path().join("f"))
        .write_stdin("s3cret\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
