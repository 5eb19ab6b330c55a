//! Authentication: basic (htpasswd) and bearer tokens from a token server.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::fixture::{Registry, Setup, boxwright, hello_layout, ok};
use super::token::TokenIssuer;
use crate::support::{TestProject, require_tool};

/// `boxwright ARGS` as `user` with `password` in BOXWRIGHT_REGISTRY_PASSWORD; without a user,
/// with no credentials at all.
fn as_user(project: &TestProject, user: Option<(&str, &str)>, args: &[&str]) -> Output {
    let mut cmd = boxwright(project);
    cmd.args(args);
    if let Some((user, password)) = user {
        cmd.env("BOXWRIGHT_REGISTRY_PASSWORD", password)
            .args(["--registry-username", user]);
    }
    cmd.output().unwrap()
}

#[test]
fn basic_auth() {
    let (project, layout) = hello_layout();
    let registry = Registry::start(Some(&[("pusher", "right-password")]));
    let reference = format!("{}/hello:1.0.0", registry.host());
    let push = |password: Option<&str>| {
        as_user(
            &project,
            password.map(|p| ("pusher", p)),
            &["image", "push", layout.to_str().unwrap(), &reference],
        )
    };

    let out = push(None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("needs credentials"),
        "{stderr}"
    );

    let out = push(Some("wrong-password"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rejected the credentials") && stderr.contains("401"),
        "{stderr}"
    );

    let out = push(Some("right-password"));
    let digest = ok(&out, "authenticated push").trim().to_string();
    assert!(digest.starts_with("sha256:"));
}

/// The registry in `auth: token` mode: every request needs a JWT from the token server, which
/// wants alice's password.
#[test]
fn bearer_token_auth() {
    require_tool("skopeo", "apt-get install skopeo");
    let (project, layout) = hello_layout();
    let issuer = TokenIssuer::start("alice", "right");
    let registry = Registry::start_with(Setup {
        token: Some(&issuer),
        ..Setup::default()
    });
    let host = registry.host();
    let reference = format!("{host}/hello:1.0.0");
    let alice = Some(("alice", "right"));
    let layout = layout.to_str().unwrap();

    let before = issuer.requests();
    let out = as_user(
        &project,
        alice,
        &["--json", "image", "push", layout, &reference],
    );
    let report: Value = serde_json::from_str(&ok(&out, "push with a token")).unwrap_or_else(|e| {
        panic!("{e}: {}", registry.log());
    });
    let digest = report["digest"].as_str().unwrap().to_string();
    assert!(report["uploaded"].as_u64().unwrap() >= 2, "{report}");
    // Tokens are cached per scope, and parallel uploads wait for the first request's token:
    // one for the whole push, not one per blob, upload job or manifest.
    let push_tokens = issuer.requests() - before;
    assert!(
        push_tokens == 1,
        "{push_tokens} token requests for one push: {:?}",
        issuer.scopes()
    );
    assert!(
        issuer
            .scopes()
            .iter()
            .all(|s| s == "repository:hello:pull,push"),
        "{:?}",
        issuer.scopes()
    );
    // The registry accepted alice's token for what it did.
    assert!(
        registry.log().contains("auth.user.name=alice")
            || registry.log().contains("auth.user.name=\"alice\""),
        "{}",
        registry.log()
    );

    // Reading with credentials: one token each (a pull scope).
    let before = issuer.requests();
    let out = as_user(&project, alice, &["image", "exists", &reference]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = as_user(&project, alice, &["--json", "image", "inspect", &reference]);
    let inspected: Value = serde_json::from_str(&ok(&out, "inspect with a token")).unwrap();
    assert_eq!(inspected["digest"], digest.as_str());
    let pulled = project.path().join("pulled");
    let out = as_user(
        &project,
        alice,
        &["image", "pull", &reference, "-o", pulled.to_str().unwrap()],
    );
    assert_eq!(ok(&out, "pull with a token").trim(), digest);
    assert!(pulled.join("index.json").is_file());
    let reads = issuer.requests() - before;
    assert_eq!(reads, 3, "one per command: {:?}", issuer.scopes());
    assert!(
        issuer
            .scopes()
            .iter()
            .rev()
            .take(reads)
            .all(|s| s == "repository:hello:pull"),
        "{:?}",
        issuer.scopes()
    );

    refused_without_the_right_password(&project, layout, &reference, &host);

    // skopeo, with a token of its own, sees the pushed tag.
    let out = skopeo_with_creds("alice:right", &reference);
    let inspect: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("skopeo inspect: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(inspect["Digest"], digest.as_str());
}

/// A push with a wrong password fails with the token server's 401, and with no credentials
/// the error tells how to give them.
fn refused_without_the_right_password(
    project: &TestProject,
    layout: &str,
    reference: &str,
    host: &str,
) {
    // A wrong password: the token server refuses it, and the error says so.
    let out = as_user(
        project,
        Some(("alice", "wrong")),
        &["image", "push", layout, reference],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("credentials") && stderr.contains(host),
        "{stderr}"
    );

    // No credentials: the error tells how to give them.
    for args in [
        ["image", "push", layout, reference].as_slice(),
        ["image", "exists", reference].as_slice(),
    ] {
        let out = as_user(project, None, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(host)
                && stderr.contains("--registry-username")
                && stderr.contains("BOXWRIGHT_REGISTRY_PASSWORD"),
            "{args:?}: {stderr}"
        );
    }
}

fn skopeo_with_creds(creds: &str, reference: &str) -> Output {
    Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--creds", creds])
        .arg(format!("docker://{reference}"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}
