//! `release publish --to gitlab://PROJECT` against a fake GitLab generic packages API on
//! loopback (support/fake_api.rs): package files kept in memory (a PUT adds a file, a GET
//! answers the newest of that name, as GitLab does); it refuses requests without the token
//! and answers the first PUT with a 503.

use std::process::Output;
use std::sync::{Arc, Mutex};

use super::publish::{KEY_ENV, TAG, key_text, ok, released, text};
use crate::support::TestProject;
use crate::support::fake_api::{FakeApi, Request};

const PROJECT: &str = "group/project";

#[derive(Default)]
struct State {
    /// Package file path below `/api/v4/projects/group%2Fproject/packages/generic/`, contents.
    files: Vec<(String, Vec<u8>)>,
    /// Method, target and the token headers of every request.
    requests: Vec<(String, String, Option<String>, Option<String>)>,
    failing_puts: usize,
}

fn answer(state: &mut State, request: &Request, header: &str, token: &str) -> (u16, Vec<u8>) {
    state.requests.push((
        request.method.clone(),
        request.target.clone(),
        request.header("private-token").map(str::to_string),
        request.header("job-token").map(str::to_string),
    ));
    if request.header(header) != Some(token) {
        return (401, b"{\"message\":\"401 Unauthorized\"}".to_vec());
    }
    let (path, _) = request.path_and_query();
    let Some(file) = path.strip_prefix("/api/v4/projects/group%2Fproject/packages/generic/") else {
        return (404, b"{\"message\":\"404 Not Found\"}".to_vec());
    };
    match request.method.as_str() {
        "PUT" => {
            if state.failing_puts > 0 {
                state.failing_puts -= 1;
                return (503, b"{}".to_vec());
            }
            state.files.push((file.to_string(), request.body.clone()));
            (201, b"{\"message\":\"201 Created\"}".to_vec())
        }
        "GET" => match state.files.iter().rev().find(|(f, _)| f == file) {
            Some((_, data)) => (200, data.clone()),
            None => (404, b"{\"message\":\"404 Not Found\"}".to_vec()),
        },
        _ => (405, b"{}".to_vec()),
    }
}

fn fake(header: &'static str, token: &'static str) -> (FakeApi, Arc<Mutex<State>>) {
    let state = Arc::new(Mutex::new(State {
        failing_puts: 1,
        ..State::default()
    }));
    let handler_state = Arc::clone(&state);
    let api = FakeApi::start(move |request| {
        answer(&mut handler_state.lock().unwrap(), &request, header, token)
    });
    (api, state)
}

fn publish_gitlab(
    project: &TestProject,
    api: &FakeApi,
    env: &[(&str, &str)],
    extra: &[&str],
) -> Output {
    let mut command = project.boxwright();
    command
        .args(["release", "publish", TAG, "--to"])
        .arg(format!("gitlab://{PROJECT}"))
        .args(extra)
        .env(KEY_ENV, key_text(project))
        .env("GITLAB_API_URL", format!("{}/api/v4", api.url()))
        .env_remove("CI_API_V4_URL")
        .env_remove("GITLAB_TOKEN")
        .env_remove("CI_JOB_TOKEN");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn files(state: &Mutex<State>) -> Vec<String> {
    let mut files: Vec<String> = state
        .lock()
        .unwrap()
        .files
        .iter()
        .map(|f| f.0.clone())
        .collect();
    files.sort();
    files
}

#[test]
fn publish_to_gitlab_puts_package_files_with_the_private_token_and_retries_a_5xx() {
    let project = released("minisign");
    let (api, state) = fake("private-token", "glpat-fake");
    let token = [("GITLAB_TOKEN", "glpat-fake"), ("CI_JOB_TOKEN", "ignored")];
    let stdout = ok(&publish_gitlab(&project, &api, &token, &[]));
    assert!(
        stdout.contains(&format!(
            "gitlab://{PROJECT}/packages/generic/hello/1.0.0.0/manifest.json"
        )),
        "{stdout}"
    );
    let mut expected = vec![
        format!("hello/1.0.0.0/{TAG}.tar.gz"),
        "hello/1.0.0.0/hello".to_string(),
        "hello/1.0.0.0/manifest.json".to_string(),
        "hello/1.0.0.0/manifest.json.sig".to_string(),
    ];
    expected.sort();
    assert_eq!(files(&state), expected);
    {
        let state = state.lock().unwrap();
        // Four files and the retry of the PUT answered 503.
        assert_eq!(state.requests.iter().filter(|r| r.0 == "PUT").count(), 5);
        assert!(
            state
                .requests
                .iter()
                .all(|r| r.2.as_deref() == Some("glpat-fake") && r.3.is_none())
        );
        let hello = state.files.iter().find(|f| f.0 == "hello/1.0.0.0/hello");
        assert_eq!(
            hello.unwrap().1,
            std::fs::read(project.path().join(".out/hello/bin/hello")).unwrap()
        );
    }

    // Identical files: nothing uploaded.
    let again = ok(&publish_gitlab(&project, &api, &token, &["--json"]));
    let report: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(report["written"], serde_json::json!([]), "{again}");
    assert_eq!(report["unchanged"].as_array().unwrap().len(), 4, "{again}");
}

#[test]
fn publish_to_gitlab_with_the_job_token_and_a_package_version() {
    let project = released("minisign");
    let (api, state) = fake("job-token", "job-fake");
    let token = [("CI_JOB_TOKEN", "job-fake")];
    ok(&publish_gitlab(
        &project,
        &api,
        &token,
        &["--package-version", "1.0.0-beta"],
    ));
    assert_eq!(files(&state).len(), 4);
    assert!(
        files(&state)
            .iter()
            .all(|f| f.starts_with("hello/1.0.0-beta/")),
        "{:?}",
        files(&state)
    );

    // A file with other contents: refused without --force; with it, a newer file is added.
    state
        .lock()
        .unwrap()
        .files
        .push(("hello/1.0.0-beta/hello".to_string(), b"other".to_vec()));
    let refused = publish_gitlab(&project, &api, &token, &["--package-version", "1.0.0-beta"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("exists with other contents"),
        "{}",
        text(&refused.stderr)
    );
    ok(&publish_gitlab(
        &project,
        &api,
        &token,
        &["--package-version", "1.0.0-beta", "--force"],
    ));

    // Without a token: refused before any request.
    let before = state.lock().unwrap().requests.len();
    let out = publish_gitlab(&project, &api, &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("GITLAB_TOKEN or CI_JOB_TOKEN"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(state.lock().unwrap().requests.len(), before);

    // --package-version elsewhere is an error.
    let dest = tempfile::tempdir().unwrap();
    let out = project
        .boxwright()
        .args(["release", "publish", TAG, "--to"])
        .arg(dest.path())
        .args(["--package-version", "1"])
        .env(KEY_ENV, key_text(&project))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--package-version"));
}
