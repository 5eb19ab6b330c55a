//! `login` and `logout` against a registry with htpasswd users: credentials are stored only
//! when the registry accepts them, in the docker config file the client reads, which later
//! commands use without flags.

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use base64::Engine;
use serde_json::{Value, json};

use super::fixture::{Registry, boxwright, hello_layout, ok};
use crate::support::TestProject;

fn login(project: &TestProject, config: &str, host: &str, password: &str) -> Output {
    boxwright(project)
        .env("DOCKER_CONFIG", config)
        .args([
            "login",
            host,
            "--registry-username",
            "alice",
            "--registry-password-stdin",
        ])
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap()
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn login_stores_accepted_credentials_and_logout_removes_them() {
    let (project, layout) = hello_layout();
    let registry = Registry::start(Some(&[("alice", "right")]));
    let host = registry.host();
    let config_dir = project.path().join("docker");
    let config = config_dir.to_str().unwrap();
    let file = config_dir.join("config.json");

    // A wrong password: exit 2, "rejected", nothing written.
    let out = login(&project, config, &host, "wrong");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rejected") && stderr.contains(&host),
        "{stderr}"
    );
    assert!(!file.exists());

    // Other keys of an existing file are kept; the entry is base64 of user:password, 0600.
    std::fs::create_dir_all(&config_dir).unwrap();
    let existing = json!({"auths": {"other.example": {"auth": "eDp5"}}, "psFormat": "table"});
    std::fs::write(&file, existing.to_string()).unwrap();
    ok(&login(&project, config, &host, "right"), "login");
    let stored = read(&file);
    let expected = base64::engine::general_purpose::STANDARD.encode("alice:right");
    assert_eq!(
        stored["auths"][&host]["auth"],
        expected.as_str(),
        "{stored}"
    );
    assert_eq!(stored["auths"]["other.example"]["auth"], "eDp5");
    assert_eq!(stored["psFormat"], "table");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Later commands find the credentials without flags.
    let run = |args: &[&str]| {
        boxwright(&project)
            .env("DOCKER_CONFIG", config)
            .args(args)
            .output()
            .unwrap()
    };
    let reference = format!("{host}/hello:1");
    ok(
        &run(&["image", "push", layout.to_str().unwrap(), &reference]),
        "image push",
    );
    let tags = ok(
        &run(&["image", "tags", &format!("{host}/hello")]),
        "image tags",
    );
    assert_eq!(tags.trim(), "1");

    // logout removes the entry only; a second logout says there is none.
    let logout = |project: &TestProject| {
        boxwright(project)
            .env("DOCKER_CONFIG", config)
            .args(["logout", &host])
            .output()
            .unwrap()
    };
    ok(&logout(&project), "logout");
    let stored = read(&file);
    assert!(stored["auths"].get(&host).is_none(), "{stored}");
    assert_eq!(stored["auths"]["other.example"]["auth"], "eDp5");
    let out = logout(&project);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no credentials"));
}

#[test]
fn login_writes_registry_auth_file_first() {
    let project = TestProject::new("{}");
    let registry = Registry::start(Some(&[("alice", "right")]));
    let host = registry.host();
    let auth_file = project.path().join("containers/auth.json");
    let out = boxwright(&project)
        .env("REGISTRY_AUTH_FILE", &auth_file)
        .env("BOXWRIGHT_REGISTRY_PASSWORD", "right")
        .args(["login", &host, "--registry-username", "alice"])
        .output()
        .unwrap();
    ok(&out, "login with the password from the environment");
    assert!(read(&auth_file)["auths"][&host]["auth"].is_string());
    assert!(
        !project
            .path()
            .join(".no-docker-config/config.json")
            .exists()
    );
}

#[test]
fn login_through_the_token_flow() {
    use super::fixture::Setup;
    use super::token::TokenIssuer;
    let project = TestProject::new("{}");
    let issuer = TokenIssuer::start("alice", "right");
    let registry = Registry::start_with(Setup {
        token: Some(&issuer),
        ..Setup::default()
    });
    let host = registry.host();
    let config_dir = project.path().join("docker");
    let config = config_dir.to_str().unwrap();

    let out = login(&project, config, &host, "wrong");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rejected"), "{stderr}");
    assert!(issuer.requests() >= 1, "the token service was asked");
    assert!(!config_dir.join("config.json").exists());

    ok(
        &login(&project, config, &host, "right"),
        "login with a token",
    );
    assert!(read(&config_dir.join("config.json"))["auths"][&host]["auth"].is_string());
}
