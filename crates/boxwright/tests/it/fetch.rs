//! `fetch`: downloads against a local fixture server, retries, digests, cache and offline.

use std::process::{Command as Std, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::http::{FixtureServer, Reply};
use crate::support::{TestProject, sha256_hex};

/// metadata.json with one target `t` holding `downloads`.
fn metadata(downloads: &Value) -> String {
    json!({ "t": { "version_env_var": "V", "env": { "V": "1" }, "downloads": downloads } })
        .to_string()
}

/// One download of `url` named `name`, pinned with sha256 of `content` when given.
fn download(url: &str, name: &str, content: Option<&[u8]>) -> Value {
    match content {
        Some(content) => json!({ "url": url, "name": name, "sha256": sha256_hex(content) }),
        None => json!({ "url": url, "name": name }),
    }
}

/// A project whose only download is `url` named `name` (see [`download`]).
fn single(url: &str, name: &str, content: Option<&[u8]>) -> TestProject {
    TestProject::new(&metadata(&json!([download(url, name, content)])))
}

fn sha512_hex(data: &[u8]) -> String {
    crate::support::coreutils_digest("sha512sum", data)
}

/// Some bytes that differ per `seed` and are long enough to span several reads.
fn payload(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Runs `boxwright fetch <args>` in `project` with attempts left at their default.
fn fetch(project: &TestProject, args: &[&str]) -> Output {
    project
        .boxwright()
        .env_remove("BOXWRIGHT_FETCH_ATTEMPTS")
        .env_remove("BOXWRIGHT_FETCH_JOBS")
        .arg("fetch")
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts exit `code` and returns (stdout, stderr).
fn expect(out: &Output, code: i32) -> (String, String) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

fn read(project: &TestProject, relative: &str) -> Vec<u8> {
    std::fs::read(project.path().join(relative)).unwrap_or_else(|e| panic!("read {relative}: {e}"))
}

#[test]
fn server_error_is_retried_then_succeeds() {
    let server = FixtureServer::start();
    let body = payload(1, 100_000);
    server.route("/a.bin", vec![Reply::Status(503), Reply::Ok(body.clone())]);
    let project = single(&server.url("/a.bin"), "a.bin", Some(&body));

    let (stdout, _) = expect(&fetch(&project, &[]), 0);
    assert_eq!(read(&project, ".tmp/a.bin"), body);
    assert_eq!(server.requests("/a.bin"), 2);
    assert!(
        stdout
            .lines()
            .any(|l| l == format!("downloaded a.bin  sha256:{}", sha256_hex(&body))),
        "{stdout}"
    );
    assert_eq!(
        project.list(".tmp"),
        ["a.bin"],
        "no temporary file is left behind"
    );
}

#[test]
fn digest_mismatch_fails_without_retry_and_leaves_nothing() {
    let server = FixtureServer::start();
    let wrong = b"not what was pinned".to_vec();
    let pinned = b"the pinned release".to_vec();
    server.route("/a.bin", vec![Reply::Ok(wrong.clone())]);
    let project = single(&server.url("/a.bin"), "a.bin", Some(&pinned));

    let (_, stderr) = expect(&fetch(&project, &[]), 2);
    assert!(stderr.contains("sha256 mismatch"), "{stderr}");
    assert!(
        stderr.contains(&sha256_hex(&pinned)),
        "expected digest shown: {stderr}"
    );
    assert!(
        stderr.contains(&sha256_hex(&wrong)),
        "actual digest shown: {stderr}"
    );
    assert!(
        project.list(".tmp").is_empty(),
        "left in .tmp: {:?}",
        project.list(".tmp")
    );
    assert_eq!(
        server.requests("/a.bin"),
        1,
        "a digest mismatch is not retried"
    );
}

#[test]
fn mismatch_does_not_keep_a_bad_download_over_a_bad_cache() {
    // A corrupt cached file is only replaced by a verified one: when the download does not
    // match either, the failure must not install the unverified bytes.
    let server = FixtureServer::start();
    let pinned = b"pinned".to_vec();
    server.route("/a.bin", vec![Reply::Ok(b"served".to_vec())]);
    let project = single(&server.url("/a.bin"), "a.bin", Some(&pinned));
    project.write(".tmp/a.bin", b"stale", 0o644);

    expect(&fetch(&project, &[]), 2);
    assert_ne!(
        read(&project, ".tmp/a.bin"),
        b"served",
        "unverified bytes were installed"
    );
    assert!(
        project.list(".tmp").iter().all(|n| n == "a.bin"),
        "{:?}",
        project.list(".tmp")
    );
}

#[test]
fn truncated_transfers_are_retried_then_given_up() {
    let server = FixtureServer::start();
    let body = payload(2, 50_000);
    server.route(
        "/a.bin",
        vec![Reply::Truncated {
            declared: body.len(),
            body: body[..20_000].to_vec(),
        }],
    );
    let project = single(&server.url("/a.bin"), "a.bin", Some(&body));

    let out = project
        .boxwright()
        .env("BOXWRIGHT_FETCH_ATTEMPTS", "2")
        .args(["fetch"])
        .output()
        .unwrap();
    let (_, stderr) = expect(&out, 2);
    assert_eq!(server.requests("/a.bin"), 2, "{stderr}");
    assert!(
        project.list(".tmp").is_empty(),
        "left in .tmp: {:?}",
        project.list(".tmp")
    );
}

#[test]
fn truncated_transfer_then_complete_one_succeeds() {
    let server = FixtureServer::start();
    let body = payload(3, 50_000);
    server.route(
        "/a.bin",
        vec![
            Reply::Truncated {
                declared: body.len(),
                body: body[..1000].to_vec(),
            },
            Reply::Ok(body.clone()),
        ],
    );
    let project = single(&server.url("/a.bin"), "a.bin", Some(&body));

    expect(&fetch(&project, &[]), 0);
    assert_eq!(read(&project, ".tmp/a.bin"), body);
    assert_eq!(server.requests("/a.bin"), 2);
    assert_eq!(project.list(".tmp"), ["a.bin"]);
}

#[test]
fn client_error_is_not_retried() {
    let server = FixtureServer::start();
    // No route: the server answers 404.
    let url = server.url("/missing.bin");
    let project = single(&url, "missing.bin", None);

    let (_, stderr) = expect(&fetch(&project, &[]), 2);
    // The URL's port number could contain "404" by chance: look only outside it.
    assert!(stderr.replace(&url, "").contains("404"), "{stderr}");
    assert_eq!(server.requests("/missing.bin"), 1, "4xx is not retried");
    assert!(
        project.list(".tmp").is_empty(),
        "left in .tmp: {:?}",
        project.list(".tmp")
    );
}

#[test]
fn cached_file_is_not_downloaded_again_and_a_corrupt_one_is_replaced() {
    let server = FixtureServer::start();
    let body = payload(4, 10_000);
    server.route("/a.bin", vec![Reply::Ok(body.clone())]);
    let project = single(&server.url("/a.bin"), "a.bin", Some(&body));
    let digest = sha256_hex(&body);

    let (stdout, _) = expect(&fetch(&project, &[]), 0);
    assert!(stdout.starts_with("downloaded a.bin"), "{stdout}");
    assert_eq!(server.requests("/a.bin"), 1);

    let (stdout, _) = expect(&fetch(&project, &[]), 0);
    assert_eq!(
        stdout.trim_end(),
        format!("cached     a.bin  sha256:{digest}")
    );
    assert_eq!(
        server.requests("/a.bin"),
        1,
        "a verified cache hit makes no request"
    );

    project.write(".tmp/a.bin", b"corrupted by hand", 0o644);
    let (stdout, _) = expect(&fetch(&project, &[]), 0);
    assert!(stdout.starts_with("replaced"), "{stdout}");
    assert!(stdout.contains(&digest), "{stdout}");
    assert_eq!(read(&project, ".tmp/a.bin"), body);
    assert_eq!(server.requests("/a.bin"), 2);
    assert_eq!(project.list(".tmp"), ["a.bin"]);
}

#[test]
fn offline_fails_when_not_cached_and_uses_the_cache_otherwise() {
    let server = FixtureServer::start();
    let body = payload(5, 4096);
    server.route("/a.bin", vec![Reply::Ok(body.clone())]);
    let project = single(&server.url("/a.bin"), "a.bin", Some(&body));

    let (_, stderr) = expect(&fetch(&project, &["--offline"]), 2);
    assert!(stderr.contains("--offline"), "{stderr}");
    assert!(stderr.contains("a.bin"), "{stderr}");
    assert_eq!(server.total_requests(), 0, "--offline makes no request");
    assert!(
        project.list(".tmp").is_empty(),
        "left in .tmp: {:?}",
        project.list(".tmp")
    );

    expect(&fetch(&project, &[]), 0);
    assert_eq!(server.requests("/a.bin"), 1);

    let (stdout, _) = expect(&fetch(&project, &["--offline"]), 0);
    assert!(stdout.starts_with("cached"), "{stdout}");
    assert_eq!(server.requests("/a.bin"), 1);
}

#[test]
fn offline_with_a_corrupt_cache_fails_and_makes_no_request() {
    let server = FixtureServer::start();
    let body = payload(6, 4096);
    server.route("/a.bin", vec![Reply::Ok(body.clone())]);
    let project = single(&server.url("/a.bin"), "a.bin", Some(&body));
    project.write(".tmp/a.bin", b"corrupt", 0o644);

    let (_, stderr) = expect(&fetch(&project, &["--offline"]), 2);
    assert!(stderr.contains("--offline"), "{stderr}");
    assert_eq!(server.total_requests(), 0);
}

#[test]
fn unpinned_download_reports_its_sha256() {
    let server = FixtureServer::start();
    let body = payload(7, 3000);
    let digest = sha256_hex(&body);
    server.route("/a.bin", vec![Reply::Ok(body.clone())]);
    let url = server.url("/a.bin");
    let project = single(&url, "a.bin", None);

    let (stdout, stderr) = expect(&fetch(&project, &[]), 0);
    assert_eq!(
        stdout.trim_end(),
        format!("downloaded a.bin  sha256:{digest}")
    );
    assert!(
        stderr.contains(&format!("\"sha256\": \"{digest}\"")),
        "{stderr}"
    );
    assert_eq!(read(&project, ".tmp/a.bin"), body);

    let (stdout, _) = expect(&fetch(&project, &["--json"]), 0);
    let reports: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let reports = reports.as_array().expect("an array of reports");
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report["pinned"], false);
    assert_eq!(report["sha256"], digest.as_str());
    assert_eq!(report["target"], "t");
    assert_eq!(report["name"], "a.bin");
    assert_eq!(report["url"], url.as_str());
    assert_eq!(report["outcome"], "cached");
    assert_eq!(report["size"], body.len());
    assert!(
        report["path"].as_str().unwrap().ends_with(".tmp/a.bin"),
        "{report}"
    );
}

#[test]
fn json_report_of_a_pinned_download() {
    let server = FixtureServer::start();
    let body = payload(8, 3000);
    server.route("/a.bin", vec![Reply::Ok(body.clone())]);
    let project = single(&server.url("/a.bin"), "a.bin", Some(&body));

    let (stdout, _) = expect(&fetch(&project, &["--json"]), 0);
    let reports: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(reports[0]["pinned"], true);
    assert_eq!(reports[0]["outcome"], "downloaded");
    assert_eq!(reports[0]["sha256"], sha256_hex(&body).as_str());
}

#[test]
fn sha512_pin_is_verified() {
    let server = FixtureServer::start();
    let body = payload(9, 20_000);
    server.route("/good.bin", vec![Reply::Ok(body.clone())]);
    server.route("/bad.bin", vec![Reply::Ok(b"something else".to_vec())]);
    let good = TestProject::new(&metadata(&json!([
        { "url": server.url("/good.bin"), "name": "good.bin", "sha512": sha512_hex(&body) }
    ])));
    let (stdout, _) = expect(&fetch(&good, &[]), 0);
    assert!(stdout.starts_with("downloaded good.bin"), "{stdout}");
    assert_eq!(read(&good, ".tmp/good.bin"), body);

    let bad = TestProject::new(&metadata(&json!([
        { "url": server.url("/bad.bin"), "name": "bad.bin", "sha512": sha512_hex(&body) }
    ])));
    let (_, stderr) = expect(&fetch(&bad, &[]), 2);
    assert!(stderr.contains("sha512 mismatch"), "{stderr}");
    assert!(stderr.contains(&sha512_hex(&body)), "{stderr}");
    assert!(stderr.contains(&sha512_hex(b"something else")), "{stderr}");
    assert!(
        bad.list(".tmp").is_empty(),
        "left in .tmp: {:?}",
        bad.list(".tmp")
    );
}

#[test]
fn both_digests_pinned_and_one_wrong_fails() {
    let server = FixtureServer::start();
    let body = payload(10, 2000);
    server.route("/a.bin", vec![Reply::Ok(body.clone())]);
    let project = TestProject::new(&metadata(&json!([{
        "url": server.url("/a.bin"), "name": "a.bin",
        "sha256": sha256_hex(&body), "sha512": sha512_hex(b"other")
    }])));
    let (_, stderr) = expect(&fetch(&project, &[]), 2);
    assert!(stderr.contains("sha512 mismatch"), "{stderr}");
    assert!(
        project.list(".tmp").is_empty(),
        "left in .tmp: {:?}",
        project.list(".tmp")
    );
}

#[test]
fn file_url_relative_to_metadata_is_copied_and_verified() {
    let body = payload(11, 5000);
    let project = TestProject::new(&metadata(&json!([
        download("file:vendor/src.tar", "src.tar", Some(&body)),
        download("file:vendor/bad.tar", "bad.tar", Some(b"pinned")),
    ])));
    project.write("vendor/src.tar", &body, 0o644);
    project.write("vendor/bad.tar", b"not pinned", 0o644);

    let (stdout, stderr) = expect(&fetch(&project, &["--json"]), 2);
    assert_eq!(read(&project, ".tmp/src.tar"), body);
    assert!(stderr.contains("sha256 mismatch"), "{stderr}");
    assert!(stderr.contains("bad.tar"), "{stderr}");
    assert_eq!(
        project.list(".tmp"),
        ["src.tar"],
        "the bad copy is not kept"
    );
    // A failure under --json: the one document on stdout is the error object.
    let failure: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(failure["error"]["kind"], "verification", "{stdout}");
    assert_eq!(failure["error"]["message"], "1 of 2 downloads failed");
    assert!(
        failure["error"]["causes"][0]
            .as_str()
            .is_some_and(|cause| cause.contains("mismatch for `bad.tar`")),
        "{stdout}"
    );

    // Fixing the source makes the next run succeed, keeping the verified copy.
    project.write("vendor/bad.tar", b"pinned", 0o644);
    let (stdout, _) = expect(&fetch(&project, &[]), 0);
    assert!(stdout.contains("cached     src.tar"), "{stdout}");
    assert!(stdout.contains("downloaded bad.tar"), "{stdout}");
    assert_eq!(read(&project, ".tmp/bad.tar"), b"pinned");
}

#[test]
fn several_downloads_in_parallel() {
    let server = FixtureServer::start();
    let bodies: Vec<Vec<u8>> = (0..6)
        .map(|i| payload(20 + i, 30_000 + usize::from(i) * 1000))
        .collect();
    let mut downloads = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let path = format!("/f{i}.bin");
        server.route(&path, vec![Reply::Ok(body.clone())]);
        downloads.push(download(
            &server.url(&path),
            &format!("f{i}.bin"),
            Some(body),
        ));
    }
    let project = TestProject::new(&metadata(&Value::Array(downloads)));

    let (stdout, _) = expect(&fetch(&project, &["-j", "3"]), 0);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("downloaded "))
            .count(),
        6,
        "{stdout}"
    );
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(server.requests(&format!("/f{i}.bin")), 1, "f{i}.bin");
        assert_eq!(&read(&project, &format!(".tmp/f{i}.bin")), body, "f{i}.bin");
    }
    assert_eq!(project.list(".tmp").len(), 6, "{:?}", project.list(".tmp"));
}

#[test]
fn one_failure_among_several_still_fetches_the_others() {
    let server = FixtureServer::start();
    let good = payload(30, 1000);
    server.route("/good.bin", vec![Reply::Ok(good.clone())]);
    server.route("/gone.bin", vec![Reply::Status(410)]);
    let project = TestProject::new(&metadata(&json!([
        download(&server.url("/gone.bin"), "gone.bin", None),
        download(&server.url("/good.bin"), "good.bin", Some(&good)),
    ])));

    let (stdout, stderr) = expect(&fetch(&project, &[]), 2);
    assert!(
        stderr.replace(&server.url("/gone.bin"), "").contains("410"),
        "{stderr}"
    );
    assert!(stdout.contains("downloaded good.bin"), "{stdout}");
    assert_eq!(project.list(".tmp"), ["good.bin"]);
    assert_eq!(server.requests("/gone.bin"), 1);
}

#[test]
fn target_selection_fetches_only_that_target() {
    let server = FixtureServer::start();
    let (t_body, u_body) = (payload(40, 1000), payload(41, 1000));
    server.route("/t.bin", vec![Reply::Ok(t_body.clone())]);
    server.route("/u.bin", vec![Reply::Ok(u_body.clone())]);
    let project = TestProject::new(
        &json!({
            "t": { "version_env_var": "V", "env": { "V": "1" },
                   "downloads": [download(&server.url("/t.bin"), "t.bin", Some(&t_body))] },
            "u": { "version_env_var": "V", "env": { "V": "2" },
                   "downloads": [download(&server.url("/u.bin"), "u.bin", Some(&u_body))] }
        })
        .to_string(),
    );

    let (stdout, _) = expect(&fetch(&project, &["u"]), 0);
    assert!(
        stdout.contains("u.bin") && !stdout.contains("t.bin"),
        "{stdout}"
    );
    assert_eq!(server.requests("/u.bin"), 1);
    assert_eq!(server.requests("/t.bin"), 0);
    assert_eq!(project.list(".tmp"), ["u.bin"]);

    let (_, stderr) = expect(&fetch(&project, &["no-such-target"]), 2);
    assert!(stderr.contains("no-such-target"), "{stderr}");
    assert_eq!(
        server.total_requests(),
        1,
        "an unknown target fetches nothing"
    );
}

#[test]
fn killed_process_leaves_no_final_file() {
    let server = FixtureServer::start();
    let declared = 8 * 1024 * 1024;
    let body = payload(50, declared);
    server.route(
        "/big.bin",
        vec![Reply::Stall {
            declared,
            body: body[..256 * 1024].to_vec(),
        }],
    );
    let project = single(&server.url("/big.bin"), "big.bin", Some(&body));

    let mut child = Std::new(assert_cmd::cargo::cargo_bin("boxwright"))
        .arg("--project")
        .arg(project.path())
        .arg("fetch")
        .env_remove("BUILD_OUTPUT_DEST")
        .env_remove("BOXWRIGHT_FETCH_ATTEMPTS")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("BOXWRIGHT_FETCH_BACKOFF_MS", "10")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start boxwright");
    let started = server.wait_for_requests("/big.bin", 1, Duration::from_secs(30));
    // Give it time to write part of the body into its temporary file.
    std::thread::sleep(Duration::from_millis(500));
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(started, "boxwright never requested the file");
    assert!(
        still_running,
        "boxwright should have been waiting on the stalled transfer"
    );

    assert!(
        !project.path().join(".tmp/big.bin").exists(),
        "a partial download got the final name"
    );
    for name in project.list(".tmp") {
        assert!(
            name.starts_with(".big.bin.")
                && std::path::Path::new(&name)
                    .extension()
                    .is_some_and(|e| e == "part"),
            "unexpected file in .tmp: {name}"
        );
    }

    // The next run ignores the leftover and fetches the file properly.
    server.route("/big.bin", vec![Reply::Ok(body.clone())]);
    expect(&fetch(&project, &[]), 0);
    assert_eq!(read(&project, ".tmp/big.bin"), body);
}
