//! `release publish --to github://OWNER/REPO` against a fake GitHub API on loopback
//! (support/fake_api.rs): releases, assets, uploads, downloads and deletes kept in memory; it
//! refuses requests without the token and answers the first upload with a 502.

use std::process::Output;
use std::sync::{Arc, Mutex};

use super::publish::{KEY_ENV, TAG, key_text, ok, released, text};
use crate::support::TestProject;
use crate::support::fake_api::{FakeApi, Request};

const TOKEN: &str = "t0ken-for-the-fake";
const REPO: &str = "owner/repo";

#[derive(Default)]
struct State {
    release: Option<u64>,
    /// id, name, contents
    assets: Vec<(u64, String, Vec<u8>)>,
    next_id: u64,
    /// method and path of every request
    requests: Vec<(String, String)>,
    /// requests whose Authorization header was not `Bearer TOKEN`
    unauthorized: usize,
    /// uploads still to answer with 502
    failing_uploads: usize,
}

struct FakeGitHub {
    api: FakeApi,
    state: Arc<Mutex<State>>,
}

impl FakeGitHub {
    fn start(failing_uploads: usize) -> FakeGitHub {
        let state = Arc::new(Mutex::new(State {
            next_id: 100,
            failing_uploads,
            ..State::default()
        }));
        let handler_state = Arc::clone(&state);
        let api =
            FakeApi::start(move |request| answer(&mut handler_state.lock().unwrap(), &request));
        FakeGitHub { api, state }
    }

    fn api(&self) -> String {
        self.api.url()
    }

    fn asset_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .state
            .lock()
            .unwrap()
            .assets
            .iter()
            .map(|a| a.1.clone())
            .collect();
        names.sort();
        names
    }

    fn asset(&self, name: &str) -> Vec<u8> {
        let state = self.state.lock().unwrap();
        state.assets.iter().find(|a| a.1 == name).unwrap().2.clone()
    }

    fn count(&self, method: &str, path_start: &str) -> usize {
        let state = self.state.lock().unwrap();
        state
            .requests
            .iter()
            .filter(|(m, p)| m == method && p.starts_with(path_start))
            .count()
    }
}

fn answer(state: &mut State, request: &Request) -> (u16, Vec<u8>) {
    let method = request.method.as_str();
    let target = request.target.as_str();
    state
        .requests
        .push((method.to_string(), target.to_string()));
    if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        state.unauthorized += 1;
        return (401, b"{\"message\":\"Bad credentials\"}".to_vec());
    }
    let host = request.header("host").unwrap_or_default().to_string();
    let body = request.body.clone();
    let release_json = |id: u64| {
        serde_json::json!({
            "id": id,
            "tag_name": TAG,
            "upload_url": format!(
                "http://{host}/uploads/repos/{REPO}/releases/{id}/assets{{?name,label}}"
            ),
        })
        .to_string()
        .into_bytes()
    };
    let repo = format!("/repos/{REPO}");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match (method, path) {
        ("GET", p) if p == format!("{repo}/releases/tags/{TAG}") => match state.release {
            Some(id) => (200, release_json(id)),
            None => (404, b"{\"message\":\"Not Found\"}".to_vec()),
        },
        ("POST", p) if p == format!("{repo}/releases") => {
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(request["tag_name"], TAG);
            state.release = Some(1);
            (201, release_json(1))
        }
        ("GET", p) if p == format!("{repo}/releases/1/assets") => {
            let list: Vec<serde_json::Value> = state
                .assets
                .iter()
                .map(|(id, name, data)| serde_json::json!({"id": id, "name": name, "size": data.len()}))
                .collect();
            (200, serde_json::to_vec(&list).unwrap())
        }
        ("POST", p) if p == format!("/uploads{repo}/releases/1/assets") => {
            if state.failing_uploads > 0 {
                state.failing_uploads -= 1;
                return (502, b"{}".to_vec());
            }
            let name = query.strip_prefix("name=").unwrap().to_string();
            if state.assets.iter().any(|a| a.1 == name) {
                return (422, b"{\"message\":\"already_exists\"}".to_vec());
            }
            state.next_id += 1;
            let id = state.next_id;
            state.assets.push((id, name.clone(), body));
            (
                201,
                serde_json::json!({"id": id, "name": name})
                    .to_string()
                    .into_bytes(),
            )
        }
        (method, p) if p.starts_with(&format!("{repo}/releases/assets/")) => {
            let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
            let index = state.assets.iter().position(|a| a.0 == id);
            match (method, index) {
                ("GET", Some(i)) => (200, state.assets[i].2.clone()),
                ("DELETE", Some(i)) => {
                    state.assets.remove(i);
                    (204, Vec::new())
                }
                _ => (404, b"{}".to_vec()),
            }
        }
        _ => (404, b"{\"message\":\"Not Found\"}".to_vec()),
    }
}

fn publish_github(project: &TestProject, fake: &FakeGitHub, extra: &[&str]) -> Output {
    project
        .boxwright()
        .args(["release", "publish", TAG, "--to"])
        .arg(format!("github://{REPO}"))
        .args(extra)
        .env(KEY_ENV, key_text(project))
        .env("GITHUB_API_URL", fake.api())
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap()
}

#[test]
fn publish_to_github_creates_the_release_uploads_assets_and_retries_a_5xx() {
    let project = released("minisign");
    let fake = FakeGitHub::start(1);
    let stdout = ok(&publish_github(&project, &fake, &[]));
    assert!(
        stdout.contains(&format!("github://{REPO}/releases/{TAG}/manifest.json")),
        "{stdout}"
    );
    let mut expected = vec![
        format!("{TAG}.tar.gz"),
        "hello".to_string(),
        "manifest.json".to_string(),
        "manifest.json.sig".to_string(),
    ];
    expected.sort();
    assert_eq!(fake.asset_names(), expected);
    assert_eq!(
        fake.asset("hello"),
        std::fs::read(project.path().join(".out/hello/bin/hello")).unwrap()
    );
    assert_eq!(fake.count("POST", &format!("/repos/{REPO}/releases")), 1);
    // Four assets and the retry of the upload answered 502.
    assert_eq!(fake.count("POST", "/uploads/"), 5);
    assert_eq!(fake.state.lock().unwrap().unauthorized, 0);

    // Identical assets (compared by size and the SHA-256 of a download): nothing uploaded.
    let again = ok(&publish_github(&project, &fake, &["--json"]));
    let report: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(report["written"], serde_json::json!([]), "{again}");
    assert_eq!(report["unchanged"].as_array().unwrap().len(), 4, "{again}");
    assert_eq!(fake.count("POST", "/uploads/"), 5);

    // An asset with other contents: refused without --force, replaced with it.
    for asset in &mut fake.state.lock().unwrap().assets {
        if asset.1 == "hello" {
            asset.2 = b"other".to_vec();
        }
    }
    let refused = publish_github(&project, &fake, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("exists with other contents"),
        "{}",
        text(&refused.stderr)
    );
    ok(&publish_github(&project, &fake, &["--force"]));
    assert_eq!(
        fake.count("DELETE", &format!("/repos/{REPO}/releases/assets/")),
        1
    );
    assert_eq!(
        fake.asset("hello"),
        std::fs::read(project.path().join(".out/hello/bin/hello")).unwrap()
    );

    // A wrong token: the API's 401 is the error.
    let out = project
        .boxwright()
        .args(["release", "publish", TAG, "--to"])
        .arg(format!("github://{REPO}"))
        .env(KEY_ENV, key_text(&project))
        .env("GITHUB_API_URL", fake.api())
        .env("GITHUB_TOKEN", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
}
