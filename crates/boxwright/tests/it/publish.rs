//! `release manifest`, `release publish`, `release verify` and minisign keys, checked with
//! the real `minisign`, `openssl` and Python's `jsonschema`.

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;

use crate::support::http::{FixtureServer, Reply};
use crate::support::{
    TestProject, edit_metadata, example_project, require_tool, tools_for_examples,
};

pub(crate) const TAG: &str = "hello-1.0.0.0";
pub(crate) const KEY_ENV: &str = "HELLO_RELEASE_KEY";

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The example project with `hello` built and packaged, a `release` object (the archive and
/// the binary itself) signed with `signature`, and a key pair of that format at `keys/k`.
pub(crate) fn released(signature: &str) -> TestProject {
    tools_for_examples();
    let project = example_project();
    ok(&project
        .boxwright()
        .args(["build", "hello"])
        .output()
        .unwrap());
    ok(&project
        .boxwright()
        .args(["release", "package", TAG])
        .output()
        .unwrap());
    edit_metadata(&project, |m| {
        m["hello"]["release"] = serde_json::json!({
            "artifacts": { "{TAG}.tar.gz": "archive", "hello": "file:.out/hello/bin/hello" },
            "manifest_key_env": KEY_ENV,
            "signature": signature,
        });
    });
    std::fs::create_dir_all(project.path().join("keys")).unwrap();
    ok(&project
        .boxwright()
        .args(["key", "generate", "--format", signature, "-o"])
        .arg(project.path().join("keys/k"))
        .env("COSIGN_PASSWORD", "")
        .output()
        .unwrap());
    project
}

pub(crate) fn key_text(project: &TestProject) -> String {
    std::fs::read_to_string(project.path().join("keys/k.key")).unwrap()
}

pub(crate) fn public_key(project: &TestProject) -> PathBuf {
    project.path().join("keys/k.pub")
}

fn manifest(project: &TestProject, out: &Path) -> Output {
    project
        .boxwright()
        .args(["release", "manifest", TAG, "-o"])
        .arg(out)
        .env(KEY_ENV, key_text(project))
        .env("COSIGN_PASSWORD", "")
        .output()
        .unwrap()
}

fn publish(project: &TestProject, dest: &Path, extra: &[&str]) -> Output {
    project
        .boxwright()
        .args(["release", "publish", TAG, "--to"])
        .arg(dest)
        .args(extra)
        .env(KEY_ENV, key_text(project))
        .env("COSIGN_PASSWORD", "")
        .output()
        .unwrap()
}

fn verify(project: &TestProject, base: &str, key: &Path, out: &Path) -> Output {
    project
        .boxwright()
        .args(["release", "verify", base, "--key"])
        .arg(key)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

/// Relative paths of the files below `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

fn validate_schema(manifest: &Path) {
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/release-manifest.schema.json");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             jsonschema.validate(json.load(open(sys.argv[2])), schema, \
             cls=jsonschema.Draft202012Validator)",
        ])
        .arg(schema)
        .arg(manifest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn manifest_is_reproducible_valid_and_verified_by_minisign() {
    require_tool("minisign", "apt-get install minisign");
    let project = released("minisign");
    let mode = std::fs::metadata(project.path().join("keys/k.key"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let work = tempfile::tempdir().unwrap();
    let (one, two) = (work.path().join("one"), work.path().join("two"));
    ok(&manifest(&project, &one));
    ok(&manifest(&project, &two));
    for name in ["manifest.json", "manifest.json.sig"] {
        assert_eq!(
            std::fs::read(one.join(name)).unwrap(),
            std::fs::read(two.join(name)).unwrap(),
            "{name} differs between runs"
        );
    }
    assert_eq!(
        files(&one),
        [
            format!("{TAG}/hello"),
            format!("{TAG}/{TAG}.tar.gz"),
            "manifest.json".into(),
            "manifest.json.sig".into()
        ]
    );
    validate_schema(&one.join("manifest.json"));
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(value["created"], "2023-11-14T22:13:20Z");
    assert_eq!(value["artifacts"][0]["name"], "hello");
    assert_eq!(value["artifacts"][1]["path"], format!("{TAG}/{TAG}.tar.gz"));
    let out = std::process::Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(public_key(&project))
        .arg("-m")
        .arg(one.join("manifest.json"))
        .arg("-x")
        .arg(one.join("manifest.json.sig"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("timestamp:1700000000\tfile:manifest.json"));
}

#[test]
fn minisign_cli_keys_and_signatures_interoperate() {
    require_tool("minisign", "apt-get install minisign");
    let project = released("minisign");
    let keys = project.path().join("keys");
    // A key made by minisign itself (no password) signs through boxwright...
    let out = std::process::Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(keys.join("cli.pub"))
        .arg("-s")
        .arg(keys.join("cli.key"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    ok(&project
        .boxwright()
        .args(["release", "manifest", TAG, "-o"])
        .arg(dir.path())
        .arg("--key")
        .arg(keys.join("cli.key"))
        .output()
        .unwrap());
    let out = std::process::Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(keys.join("cli.pub"))
        .arg("-m")
        .arg(dir.path().join("manifest.json"))
        .arg("-x")
        .arg(dir.path().join("manifest.json.sig"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    // ...and minisign signs with boxwright's key, which boxwright verifies.
    let dest = tempfile::tempdir().unwrap();
    ok(&publish(&project, dest.path(), &[]));
    let stable = dest.path().join("hello/manifest.json");
    let out = std::process::Command::new("minisign")
        .arg("-S")
        .arg("-s")
        .arg(keys.join("k.key"))
        .arg("-m")
        .arg(&stable)
        .arg("-x")
        .arg(dest.path().join("hello/manifest.json.sig"))
        .arg("-t")
        .arg("signed by the minisign tool")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let signature = std::fs::read_to_string(dest.path().join("hello/manifest.json.sig")).unwrap();
    assert!(
        signature.contains("signed by the minisign tool"),
        "{signature}"
    );
    let out_dir = tempfile::tempdir().unwrap();
    let base = dest.path().join("hello");
    ok(&verify(
        &project,
        base.to_str().unwrap(),
        &public_key(&project),
        out_dir.path(),
    ));
    // The minisign key does not verify what boxwright's key signed.
    let out = verify(
        &project,
        base.to_str().unwrap(),
        &keys.join("cli.pub"),
        out_dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn cosign_manifest_signature_verifies_with_openssl() {
    require_tool("openssl", "apt-get install openssl");
    let project = released("cosign");
    let dir = tempfile::tempdir().unwrap();
    ok(&manifest(&project, dir.path()));
    let signature = std::fs::read_to_string(dir.path().join("manifest.json.sig")).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .unwrap();
    std::fs::write(dir.path().join("sig.der"), der).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public_key(&project))
        .arg("-signature")
        .arg(dir.path().join("sig.der"))
        .arg(dir.path().join("manifest.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Verified OK"));

    // release verify takes the cosign key too.
    let dest = tempfile::tempdir().unwrap();
    ok(&publish(&project, dest.path(), &[]));
    let out_dir = tempfile::tempdir().unwrap();
    ok(&verify(
        &project,
        dest.path().join("hello").to_str().unwrap(),
        &public_key(&project),
        out_dir.path(),
    ));
    assert_eq!(files(out_dir.path()), ["hello", &format!("{TAG}.tar.gz")]);
}

#[test]
fn publish_writes_seed_001_layout_and_versioned_objects_are_immutable() {
    let project = released("minisign");
    let dest = tempfile::tempdir().unwrap();
    ok(&publish(&project, dest.path(), &[]));
    assert_eq!(
        files(dest.path()),
        [
            format!("hello/{TAG}/hello"),
            format!("hello/{TAG}/{TAG}.tar.gz"),
            format!("hello/{TAG}/manifest.json"),
            format!("hello/{TAG}/manifest.json.sig"),
            "hello/manifest.json".into(),
            "hello/manifest.json.sig".into(),
        ]
    );
    assert_eq!(
        std::fs::read(dest.path().join("hello/manifest.json")).unwrap(),
        std::fs::read(dest.path().join(format!("hello/{TAG}/manifest.json"))).unwrap()
    );
    let before = std::fs::metadata(dest.path().join(format!("hello/{TAG}/hello")))
        .unwrap()
        .modified()
        .unwrap();

    // Identical objects: nothing is written.
    let out = project
        .boxwright()
        .args(["--json", "release", "publish", TAG, "--to"])
        .arg(dest.path())
        .env(KEY_ENV, key_text(&project))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(report["written"], serde_json::json!([]));
    assert_eq!(report["unchanged"].as_array().unwrap().len(), 6);
    let after = std::fs::metadata(dest.path().join(format!("hello/{TAG}/hello")))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);

    // A changed artifact is refused, and nothing is replaced, unless --force.
    let binary = project.path().join(".out/hello/bin/hello");
    let mut changed = std::fs::read(&binary).unwrap();
    changed.extend_from_slice(b"changed");
    std::fs::write(&binary, &changed).unwrap();
    let stable = std::fs::read(dest.path().join("hello/manifest.json")).unwrap();
    let out = publish(&project, dest.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(dest.path().join("hello/manifest.json")).unwrap(),
        stable
    );
    ok(&publish(&project, dest.path(), &["--force"]));
    assert_eq!(
        std::fs::read(dest.path().join(format!("hello/{TAG}/hello"))).unwrap(),
        changed
    );
    assert_ne!(
        std::fs::read(dest.path().join("hello/manifest.json")).unwrap(),
        stable
    );

    let out = publish(&project, Path::new("gs://bucket/prefix"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("gs:// is not supported"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs `release verify` of `base` expecting exit 1 with `reason`, and nothing in `-o`.
fn refused(project: &TestProject, base: &str, key: &Path, reason: &str) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = verify(project, base, key, out_dir.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{reason}: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains(reason),
        "expected {reason:?} in: {}",
        text(&out.stderr)
    );
    assert!(files(out_dir.path()).is_empty(), "{reason}: files written");
    // A DIR that does not exist yet is not made either.
    let missing = out_dir.path().join("new");
    let out = verify(project, base, key, &missing);
    assert_eq!(out.status.code(), Some(1), "{reason}");
    assert!(!missing.exists(), "{reason}: {} made", missing.display());
    assert_eq!(
        std::fs::read_dir(out_dir.path()).unwrap().count(),
        0,
        "{reason}: staging left behind"
    );
}

#[test]
fn verify_from_a_directory_refuses_each_fault() {
    let project = released("minisign");
    let dest = tempfile::tempdir().unwrap();
    ok(&publish(&project, dest.path(), &[]));
    let base = dest.path().join("hello");
    let base_text = base.to_str().unwrap();
    let key = public_key(&project);
    let out_dir = tempfile::tempdir().unwrap();
    ok(&verify(&project, base_text, &key, out_dir.path()));
    assert_eq!(files(out_dir.path()), ["hello", &format!("{TAG}.tar.gz")]);
    ok(&project
        .boxwright()
        .args(["release", "verify", base_text, "--release", TAG, "--key"])
        .arg(&key)
        .output()
        .unwrap());
    // The retired `--tag` (issue 22) still checks the versioned manifest, with a warning.
    let retired = project
        .boxwright()
        .args(["release", "verify", base_text, "--tag", TAG, "--key"])
        .arg(&key)
        .output()
        .unwrap();
    ok(&retired);
    assert!(
        String::from_utf8_lossy(&retired.stderr)
            .contains("warning: --tag is deprecated; use --release\n")
    );

    // Another key.
    ok(&project
        .boxwright()
        .args(["key", "generate", "--format", "minisign", "-o"])
        .arg(project.path().join("keys/other"))
        .output()
        .unwrap());
    refused(
        &project,
        base_text,
        &project.path().join("keys/other.pub"),
        "signed by another key",
    );

    // A tampered artifact: same size, other bytes.
    let artifact = base.join(format!("{TAG}/hello"));
    let original = std::fs::read(&artifact).unwrap();
    let mut tampered = original.clone();
    *tampered.last_mut().unwrap() ^= 1;
    std::fs::write(&artifact, &tampered).unwrap();
    refused(&project, base_text, &key, "sha256");
    std::fs::write(&artifact, &original[..original.len() - 1]).unwrap();
    refused(&project, base_text, &key, "size");
    std::fs::write(&artifact, &original).unwrap();

    // A tampered manifest.
    let stable = base.join("manifest.json");
    let manifest = std::fs::read_to_string(&stable).unwrap();
    std::fs::write(
        &stable,
        manifest.replace("\"revision\": 0", "\"revision\": 1"),
    )
    .unwrap();
    refused(&project, base_text, &key, "does not verify");
    std::fs::write(&stable, &manifest).unwrap();

    // No signature.
    std::fs::remove_file(base.join("manifest.json.sig")).unwrap();
    refused(
        &project,
        base_text,
        &key,
        "manifest.json.sig does not exist",
    );
}

#[test]
fn verify_over_http_and_a_truncated_download() {
    let project = released("minisign");
    let dest = tempfile::tempdir().unwrap();
    ok(&publish(&project, dest.path(), &[]));
    let base = dest.path().join("hello");
    let server = FixtureServer::start();
    for relative in files(&base) {
        let body = std::fs::read(base.join(&relative)).unwrap();
        server.route(
            &format!("/releases/hello/{relative}"),
            vec![Reply::Ok(body)],
        );
    }
    let url = server.url("/releases/hello");
    let key = public_key(&project);
    let out_dir = tempfile::tempdir().unwrap();
    ok(&verify(&project, &url, &key, out_dir.path()));
    assert_eq!(files(out_dir.path()), ["hello", &format!("{TAG}.tar.gz")]);
    assert_eq!(
        std::fs::read(out_dir.path().join("hello")).unwrap(),
        std::fs::read(base.join(format!("{TAG}/hello"))).unwrap()
    );

    let body = std::fs::read(base.join(format!("{TAG}/{TAG}.tar.gz"))).unwrap();
    server.route(
        &format!("/releases/hello/{TAG}/{TAG}.tar.gz"),
        vec![Reply::Truncated {
            declared: body.len(),
            body: body[..body.len() / 2].to_vec(),
        }],
    );
    refused(&project, &url, &key, "cut short");

    let mut tampered = body.clone();
    tampered[10] ^= 0xff;
    server.route(
        &format!("/releases/hello/{TAG}/{TAG}.tar.gz"),
        vec![Reply::Ok(tampered)],
    );
    refused(&project, &url, &key, "sha256");
}

#[test]
fn encrypted_minisign_keys_open_with_their_password() {
    require_tool("minisign", "apt-get install minisign");
    let project = released("minisign");
    let keys = project.path().join("keys");
    let mut child = std::process::Command::new("minisign")
        .args(["-G", "-p"])
        .arg(keys.join("enc.pub"))
        .arg("-s")
        .arg(keys.join("enc.key"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"s3cret\ns3cret\n").unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let run = |password: Option<&str>| {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = project.boxwright();
        cmd.args(["release", "manifest", TAG, "-o"])
            .arg(dir.path())
            .arg("--key")
            .arg(keys.join("enc.key"))
            .env_remove("MINISIGN_PASSWORD");
        if let Some(password) = password {
            cmd.env("MINISIGN_PASSWORD", password);
        }
        (cmd.output().unwrap(), dir)
    };
    let (out, _) = run(None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("set MINISIGN_PASSWORD"),
        "{}",
        text(&out.stderr)
    );
    let (out, _) = run(Some("wrong"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("wrong password"),
        "{}",
        text(&out.stderr)
    );
    let (out, dir) = run(Some("s3cret"));
    ok(&out);
    let out = std::process::Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(keys.join("enc.pub"))
        .arg("-m")
        .arg(dir.path().join("manifest.json"))
        .arg("-x")
        .arg(dir.path().join("manifest.json.sig"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The stable pair is replaced by two writes; a reader that meets the new manifest with the
/// old signature reads the pair again once, so a publish in progress does not fail it.
#[test]
fn verify_reads_a_stable_pair_caught_mid_replacement_again() {
    let project = released("minisign");
    let dest = tempfile::tempdir().unwrap();
    ok(&publish(&project, dest.path(), &[]));
    let base = dest.path().join("hello");
    let signature = base.join("manifest.json.sig");
    let good = std::fs::read(&signature).unwrap();
    std::fs::write(&signature, b"untrusted comment: an older signature\nRWQ=\n").unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_boxwright"))
        .args(["release", "verify", base.to_str().unwrap(), "--key"])
        .arg(public_key(&project))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The publisher's second write lands while the verifier waits.
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::write(&signature, &good).unwrap();
    let out = child.wait_with_output().unwrap();
    ok(&out);
    assert!(
        text(&out.stderr).contains("Verified OK"),
        "{}",
        text(&out.stderr)
    );

    // A signature that stays wrong fails after the second read, and a versioned manifest
    // (never replaced) is not read twice.
    std::fs::write(&signature, b"untrusted comment: wrong\nRWQ=\n").unwrap();
    let started = std::time::Instant::now();
    let out = project
        .boxwright()
        .args(["release", "verify", base.to_str().unwrap(), "--key"])
        .arg(public_key(&project))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
}
