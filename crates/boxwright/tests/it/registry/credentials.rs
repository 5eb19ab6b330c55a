//! Where credentials come from: `--password-stdin`, and the `auths` and `credHelpers` of a
//! docker `config.json`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use base64::Engine;

use super::fixture::{Registry, boxwright, hello_layout, ok};
use crate::support::TestProject;

/// A `DOCKER_CONFIG` directory holding `config` as its `config.json`.
fn docker_config(project: &TestProject, name: &str, config: &serde_json::Value) -> String {
    let dir = project.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir.to_str().unwrap().to_string()
}

/// `image push LAYOUT REF` with extra environment and arguments, and optional stdin.
fn push(
    project: &TestProject,
    layout: &Path,
    reference: &str,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut cmd = boxwright(project);
    cmd.args(["image", "push"])
        .arg(layout)
        .arg(reference)
        .args(args)
        .envs(env.iter().copied());
    if let Some(text) = stdin {
        cmd.write_stdin(text);
    }
    cmd.output().unwrap()
}

fn auth(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

#[test]
fn password_stdin_and_no_credentials() {
    let (project, layout) = hello_layout();
    let registry = Registry::start(Some(&[("alice", "right")]));
    let host = registry.host();
    let reference = format!("{host}/hello:1");

    // No credentials at all: a clear 401.
    let out = push(&project, &layout, &reference, &[], &[], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("401") && stderr.contains(&host), "{stderr}");
    assert!(stderr.contains("--password-stdin"), "{stderr}");

    // --password-stdin.
    let out = push(
        &project,
        &layout,
        &reference,
        &[],
        &["--username", "alice", "--password-stdin"],
        Some("right\n"),
    );
    ok(&out, "push with --password-stdin");
    let out = push(
        &project,
        &layout,
        &reference,
        &[],
        &["--password-stdin"],
        Some("right\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--username"));
}

#[test]
fn credentials_from_auth_files_and_helpers() {
    let (project, layout) = hello_layout();
    let registry = Registry::start(Some(&[("alice", "right")]));
    let host = registry.host();
    let reference = format!("{host}/hello:1");

    // config.json `auths`, keyed by host and written as a URL.
    for key in [host.clone(), format!("https://{host}/v1/")] {
        let dir = docker_config(
            &project,
            "docker-good",
            &serde_json::json!({"auths": {key: {"auth": auth("alice", "right")}}}),
        );
        let out = push(
            &project,
            &layout,
            &reference,
            &[("DOCKER_CONFIG", &dir)],
            &[],
            None,
        );
        ok(&out, "push with config.json auths");
    }
    let bad = docker_config(
        &project,
        "docker-bad",
        &serde_json::json!({"auths": {host.clone(): {"auth": auth("alice", "wrong")}}}),
    );
    let out = push(
        &project,
        &layout,
        &reference,
        &[("DOCKER_CONFIG", &bad)],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("check the user name"),
        "{stderr}"
    );
    // The command line wins over the file.
    let out = push(
        &project,
        &layout,
        &reference,
        &[("DOCKER_CONFIG", &bad)],
        &["--username", "alice", "--password-stdin"],
        Some("right"),
    );
    ok(&out, "--password-stdin over a wrong config.json");
    // REGISTRY_AUTH_FILE (the containers auth.json) comes first.
    let auth_file = project.path().join("auth.json");
    std::fs::write(
        &auth_file,
        serde_json::json!({"auths": {host.clone(): {"auth": auth("alice", "right")}}}).to_string(),
    )
    .unwrap();
    let out = push(
        &project,
        &layout,
        &reference,
        &[
            ("DOCKER_CONFIG", &bad),
            ("REGISTRY_AUTH_FILE", auth_file.to_str().unwrap()),
        ],
        &[],
        None,
    );
    ok(&out, "push with REGISTRY_AUTH_FILE");
}

#[test]
fn credential_helpers() {
    let (project, layout) = hello_layout();
    let registry = Registry::start(Some(&[("alice", "right")]));
    let host = registry.host();
    let reference = format!("{host}/hello:1");

    // A credential helper, found on PATH.
    let bin = project.path().join("helper-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-boxtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\n[ \"$host\" = \"{host}\" ] || {{ echo 'credentials not found'; exit 1; }}\necho '{{\"Username\":\"alice\",\"Secret\":\"right\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = docker_config(
        &project,
        "docker-helper",
        &serde_json::json!({"credHelpers": {host.clone(): "boxtest"}}),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = push(
        &project,
        &layout,
        &reference,
        &[("DOCKER_CONFIG", &dir), ("PATH", &path)],
        &[],
        None,
    );
    ok(&out, "push with a credential helper");
    let dir = docker_config(
        &project,
        "docker-missing-helper",
        &serde_json::json!({"credHelpers": {host.clone(): "boxwright-absent"}}),
    );
    let out = push(
        &project,
        &layout,
        &reference,
        &[("DOCKER_CONFIG", &dir)],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("docker-credential-boxwright-absent") && stderr.contains("config.json"),
        "{stderr}"
    );
}
