//! Where credentials come from: `--registry-password-stdin`, and the `auths` and `credHelpers` of a
//! docker `config.json` (or the containers `auth.json` of `REGISTRY_AUTH_FILE`).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use base64::Engine;
use serde_json::{Value, json};

use super::fixture::{Registry, boxwright, hello_layout, ok};
use crate::support::TestProject;

/// hello's layout, pushed to a registry that knows alice (password `right`).
struct Case {
    project: TestProject,
    layout: PathBuf,
    host: String,
    _registry: Registry,
}

impl Case {
    fn new() -> Case {
        let (project, layout) = hello_layout();
        let registry = Registry::start(Some(&[("alice", "right")]));
        Case {
            project,
            layout,
            host: registry.host(),
            _registry: registry,
        }
    }

    /// `image push LAYOUT HOST/hello:1 ARGS` with extra environment, and `stdin`.
    fn push(&self, env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = boxwright(&self.project);
        cmd.args(["image", "push"])
            .arg(&self.layout)
            .arg(format!("{}/hello:1", self.host))
            .args(args)
            .envs(env.iter().copied());
        if let Some(text) = stdin {
            cmd.write_stdin(text);
        }
        cmd.output().unwrap()
    }

    /// A `DOCKER_CONFIG` directory `name` holding `config` as its `config.json`.
    fn docker_config(&self, name: &str, config: &Value) -> String {
        let dir = self.project.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
        dir.to_str().unwrap().to_string()
    }

    /// A push with `config` as the docker config (and more environment).
    fn push_with_config(&self, name: &str, config: &Value, env: &[(&str, &str)]) -> Output {
        let dir = self.docker_config(name, config);
        let mut all = vec![("DOCKER_CONFIG", dir.as_str())];
        all.extend_from_slice(env);
        self.push(&all, &[], None)
    }
}

/// Asserts the command failed with exit 2 and a message holding every one of `words`.
fn fails_with(out: &Output, words: &[&str]) {
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(words.iter().all(|w| stderr.contains(w)), "{stderr}");
}

fn auth(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

#[test]
fn password_stdin_and_no_credentials() {
    let case = Case::new();
    // No credentials at all: a clear 401 that says how to give them.
    let out = case.push(&[], &[], None);
    fails_with(&out, &["401", &case.host, "--registry-password-stdin"]);

    let login = ["--registry-username", "alice", "--registry-password-stdin"];
    ok(
        &case.push(&[], &login, Some("right\n")),
        "--registry-password-stdin",
    );
    let out = case.push(&[], &["--registry-password-stdin"], Some("right\n"));
    fails_with(&out, &["--registry-username"]);

    // The retired names (issue 22) still log in, each with one warning.
    let retired = ["--username", "alice", "--password-stdin"];
    let out = case.push(&[], &retired, Some("right\n"));
    ok(&out, "--username --password-stdin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for warning in [
        "warning: --username is deprecated; use --registry-username\n",
        "warning: --password-stdin is deprecated; use --registry-password-stdin\n",
    ] {
        assert_eq!(stderr.matches(warning).count(), 1, "{stderr}");
    }
}

#[test]
fn credentials_from_auth_files() {
    let case = Case::new();
    let host = case.host.clone();
    // config.json `auths`, keyed by host or written as a URL.
    for key in [host.clone(), format!("https://{host}/v1/")] {
        let config = json!({"auths": {key: {"auth": auth("alice", "right")}}});
        ok(
            &case.push_with_config("docker-good", &config, &[]),
            "push with config.json auths",
        );
    }
    let bad = json!({"auths": {host.clone(): {"auth": auth("alice", "wrong")}}});
    let out = case.push_with_config("docker-bad", &bad, &[]);
    fails_with(&out, &["401", "check the user name"]);

    // The command line wins over the file.
    let bad_dir = case.docker_config("docker-bad", &bad);
    let login = ["--registry-username", "alice", "--registry-password-stdin"];
    let out = case.push(&[("DOCKER_CONFIG", &bad_dir)], &login, Some("right"));
    ok(&out, "--registry-password-stdin over a wrong config.json");

    // REGISTRY_AUTH_FILE (the containers auth.json) comes before config.json.
    let auth_file = case.project.path().join("auth.json");
    let good = json!({"auths": {host.clone(): {"auth": auth("alice", "right")}}});
    std::fs::write(&auth_file, good.to_string()).unwrap();
    let env = [("REGISTRY_AUTH_FILE", auth_file.to_str().unwrap())];
    ok(
        &case.push_with_config("docker-bad", &bad, &env),
        "push with REGISTRY_AUTH_FILE",
    );
}

#[test]
fn credential_helpers() {
    let case = Case::new();
    let host = case.host.clone();
    // A helper found on PATH, asked with the registry on stdin.
    let bin = case.project.path().join("helper-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-boxtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\n\
             [ \"$host\" = \"{host}\" ] || {{ echo 'credentials not found'; exit 1; }}\n\
             echo '{{\"Username\":\"alice\",\"Secret\":\"right\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let config = json!({"credHelpers": {host.clone(): "boxtest"}});
    let out = case.push_with_config("docker-helper", &config, &[("PATH", &path)]);
    ok(&out, "push with a credential helper");

    let missing = json!({"credHelpers": {host.clone(): "boxwright-absent"}});
    let out = case.push_with_config("docker-missing-helper", &missing, &[]);
    fails_with(&out, &["docker-credential-boxwright-absent", "config.json"]);
}
