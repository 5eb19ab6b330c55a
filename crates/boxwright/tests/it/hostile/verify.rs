//! Hostile verify: see hostile/mod.rs.
//!
//! `release verify URL` against a server that sends too much (a 1 GiB manifest, a 1 GiB
//! artifact the manifest says is 4 bytes, with and without `Content-Length`), a signed
//! manifest with unsafe or duplicate artifact names, and a redirect to `file://`. The releases
//! are written and signed here (`key generate`, `sign-blob`): no build is needed.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::support::http::{FixtureServer, Reply};
use crate::support::{self, rss};

const GIB: u64 = 1 << 30;
/// Peak resident memory allowed to `release verify` against a hostile server.
const MAX_RSS_KIB: u64 = 100 * 1024;
const TAG: &str = "t-1.0.0.0";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A cosign key pair at `dir/k.key` and `dir/k.pub`.
fn key_pair(dir: &Path) {
    let out = support::boxwright()
        .args(["key", "generate", "--format", "cosign", "--output"])
        .arg(dir.join("k"))
        .env("COSIGN_PASSWORD", "")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A manifest naming `artifacts` (`(name, content)`, stored at `<tag>/<name>`).
fn manifest(artifacts: &[(&str, &[u8])]) -> Value {
    use sha2::Digest as _;
    let hex = boxwright_archive::hex;
    let entries: Vec<Value> = artifacts
        .iter()
        .map(|(name, content)| {
            json!({
                "media_type": "application/octet-stream",
                "name": name,
                "path": format!("{TAG}/{name}"),
                "sha256": hex(&sha2::Sha256::digest(content)),
                "sha512": hex(&sha2::Sha512::digest(content)),
                "size": content.len(),
            })
        })
        .collect();
    json!({
        "artifacts": entries,
        "created": "2024-01-01T00:00:00Z",
        "revision": 0,
        "schema_version": 1,
        "tag": TAG,
        "target": "t",
        "version": "1.0.0",
    })
}

/// Writes `manifest` and its signature (by `dir/k.key`) below `dir/base`; returns the
/// manifest's and the signature's bytes.
fn signed(dir: &Path, manifest: &Value) -> (Vec<u8>, Vec<u8>) {
    let base = dir.join("base");
    std::fs::create_dir_all(&base).unwrap();
    let mut bytes = serde_json::to_vec_pretty(manifest).unwrap();
    bytes.push(b'\n');
    let path = base.join("manifest.json");
    std::fs::write(&path, &bytes).unwrap();
    let signature = base.join("manifest.json.sig");
    let out = support::boxwright()
        .arg("sign-blob")
        .arg(&path)
        .arg("--key")
        .arg(dir.join("k.key"))
        .arg("--output-signature")
        .arg(&signature)
        .env("COSIGN_PASSWORD", "")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    (bytes, std::fs::read(signature).unwrap())
}

/// A server holding the signed `manifest` at `/r/` and each artifact's content.
fn serve(dir: &Path, manifest: &Value, artifacts: &[(&str, &[u8])]) -> FixtureServer {
    let (bytes, signature) = signed(dir, manifest);
    let server = FixtureServer::start();
    server.route("/r/manifest.json", vec![Reply::Ok(bytes)]);
    server.route("/r/manifest.json.sig", vec![Reply::Ok(signature)]);
    for (name, content) in artifacts {
        server.route(
            &format!("/r/{TAG}/{name}"),
            vec![Reply::Ok(content.to_vec())],
        );
    }
    server
}

/// `release verify URL --key dir/k.pub [-o out]`, measured.
fn verify(dir: &Path, url: &str, out: Option<&Path>) -> (Output, u64) {
    let mut command = support::boxwright_std();
    command
        .args(["release", "verify", url, "--key"])
        .arg(dir.join("k.pub"));
    if let Some(out) = out {
        command.arg("-o").arg(out);
    }
    rss::run_measured(&command)
}

/// Asserts exit 1, every `needles` in stderr and at most [`MAX_RSS_KIB`].
fn assert_refused(output: &Output, peak_kib: u64, needles: &[&str]) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    }
    assert!(
        peak_kib < MAX_RSS_KIB,
        "peak RSS {peak_kib} KiB (limit {MAX_RSS_KIB} KiB); stderr: {stderr}"
    );
}

#[test]
fn a_gigabyte_manifest_is_refused_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    key_pair(dir.path());
    let server = serve(dir.path(), &manifest(&[("a", b"abcd")]), &[("a", b"abcd")]);
    for content_length in [true, false] {
        server.route(
            "/r/manifest.json",
            vec![Reply::Stream {
                length: GIB,
                content_length,
            }],
        );
        let (output, peak) = verify(dir.path(), &server.url("/r"), None);
        assert_refused(
            &output,
            peak,
            &[&server.url("/r/manifest.json"), "larger than 1 MiB"],
        );
    }
}

#[test]
fn a_gigabyte_artifact_declared_as_four_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    key_pair(dir.path());
    let server = serve(dir.path(), &manifest(&[("a", b"abcd")]), &[("a", b"abcd")]);
    let out = dir.path().join("out");
    for content_length in [false, true] {
        server.route(
            &format!("/r/{TAG}/a"),
            vec![Reply::Stream {
                length: GIB,
                content_length,
            }],
        );
        let (output, peak) = verify(dir.path(), &server.url("/r"), Some(&out));
        assert_refused(
            &output,
            peak,
            &[&server.url(&format!("/r/{TAG}/a")), "the manifest says 4"],
        );
        assert!(!out.exists(), "{} made", out.display());
    }
    // The same release served as signed verifies, and -o writes the artifact.
    server.route(&format!("/r/{TAG}/a"), vec![Reply::Ok(b"abcd".to_vec())]);
    let (output, _) = verify(dir.path(), &server.url("/r"), Some(&out));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"abcd");
}

#[test]
fn duplicate_artifact_names_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    key_pair(dir.path());
    let mut manifest = manifest(&[("same", b"one"), ("other", b"two")]);
    manifest["artifacts"][1]["name"] = json!("same");
    let server = serve(
        dir.path(),
        &manifest,
        &[("same", b"one"), ("other", b"two")],
    );
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (output, _) = verify(dir.path(), &server.url("/r"), Some(&out));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("\"same\""), "{stderr}");
    assert!(stderr.contains("twice"), "{stderr}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "files written");
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
            .count(),
        0,
        "staging left behind"
    );
    // No artifact was even downloaded.
    assert_eq!(server.requests(&format!("/r/{TAG}/same")), 0);
}

#[test]
fn empty_and_nul_names_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    key_pair(dir.path());
    for (name, shown) in [("", "\"\""), ("a\0b", "\"a\\0b\"")] {
        let mut manifest = manifest(&[("a", b"abcd")]);
        manifest["artifacts"][0]["name"] = json!(name);
        let server = serve(dir.path(), &manifest, &[("a", b"abcd")]);
        let out = dir.path().join("out");
        let (output, _) = verify(dir.path(), &server.url("/r"), Some(&out));
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{shown}: {stderr}");
        assert!(stderr.contains("unsafe artifact name"), "{shown}: {stderr}");
        assert!(stderr.contains(shown), "{shown}: {stderr}");
        assert!(!out.exists(), "{shown}: {} made", out.display());
    }
}

#[test]
fn a_redirect_to_a_file_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    key_pair(dir.path());
    let server = serve(dir.path(), &manifest(&[("a", b"abcd")]), &[("a", b"abcd")]);
    server.route(
        "/r/manifest.json",
        vec![Reply::Redirect("file:///etc/passwd".into())],
    );
    let (output, _) = verify(dir.path(), &server.url("/r"), None);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("file:///etc/passwd"), "{stderr}");
    assert!(stderr.contains("redirect"), "{stderr}");
    assert!(!stderr.contains("root:"), "{stderr}");

    // An artifact redirected to another http path of the same server is still followed.
    let (bytes, signature) = signed(dir.path(), &manifest(&[("a", b"abcd")]));
    server.route("/r/manifest.json", vec![Reply::Ok(bytes)]);
    server.route("/r/manifest.json.sig", vec![Reply::Ok(signature)]);
    server.route(
        &format!("/r/{TAG}/a"),
        vec![Reply::Redirect(server.url("/elsewhere/a"))],
    );
    server.route("/elsewhere/a", vec![Reply::Ok(b"abcd".to_vec())]);
    let (output, _) = verify(dir.path(), &server.url("/r"), None);
    assert!(output.status.success(), "{}", text(&output.stderr));
}
