//! `boxwright serve` and `repo upload`: the real binary on loopback, real clients (curl,
//! apt-get), signatures checked with openssl, tokens minted here against a JWKS served here.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::support::{assert_success, boxwright, require_tool};

use crate::support::serve::*;

// ---------------------------------------------------------------------------------------
// Tests

/// Fails if any token, or its signature part, is in `log`.
fn assert_no_token_in(log: &str, tokens: &[String]) {
    for token in tokens {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!log.contains(token.as_str()), "a token appears in the log");
        assert!(
            signature.len() < 8 || !log.contains(signature),
            "a token signature appears in the log"
        );
    }
}

/// Tokens the server must refuse: (case, token, status, reason in the answer).
fn refused_cases(issuer: &Issuer) -> Vec<(&'static str, Option<String>, u16, &'static str)> {
    use serde_json::json;
    // An RS256 token from the right key, claims changed by `extra` (null removes one).
    let rs = |exp: i64, extra: serde_json::Value| {
        Some(issuer.token(Algorithm::RS256, "rsa-1", &Issuer::claims(exp, &extra)))
    };
    let claims = Issuer::claims(600, &json!({}));
    let none_header = b64(br#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#);
    let payload = b64(serde_json::to_string(&claims).unwrap().as_bytes());
    let signed_with = |alg: Algorithm, key: &EncodingKey| {
        let mut header = Header::new(alg);
        header.kid = Some("rsa-1".into());
        Some(jsonwebtoken::encode(&header, &claims, key).unwrap())
    };
    let public_as_secret = EncodingKey::from_secret(&issuer.rsa_public_pem).unwrap();
    vec![
        ("no token", None, 401, "missing bearer token"),
        ("expired", rs(-3600, json!({})), 401, "token expired"),
        (
            "not yet valid",
            rs(7200, json!({"nbf": 4_000_000_000u64})),
            401,
            "not yet valid",
        ),
        (
            "wrong issuer",
            rs(600, json!({"iss": "evil.example.com"})),
            401,
            "wrong issuer",
        ),
        (
            "claim missing",
            rs(600, json!({"namespace_path": null})),
            403,
            "claim namespace_path missing",
        ),
        (
            "claim different",
            rs(600, json!({"ref_type": "branch"})),
            403,
            r#"claim ref_type is \"branch\", required \"tag\""#,
        ),
        (
            "unprotected ref",
            rs(600, json!({"ref_protected": "false"})),
            403,
            "claim ref_protected",
        ),
        (
            "unknown kid",
            Some(issuer.token(Algorithm::RS256, "rsa-9", &claims)),
            401,
            "unknown key id rsa-9",
        ),
        (
            "alg none",
            Some(format!("{none_header}.{payload}.")),
            401,
            "algorithm none is not allowed",
        ),
        (
            "HS256 with the public key as secret",
            signed_with(Algorithm::HS256, &public_as_secret),
            401,
            "algorithm HS256 is not allowed",
        ),
        (
            "signed by another key",
            signed_with(Algorithm::RS256, &issuer.other_rsa),
            401,
            "bad signature",
        ),
    ]
}

#[test]
fn auth_matrix_accepts_only_valid_tokens_with_the_required_claims() {
    let repo = Repo::new();
    repo.apk_key();
    let issuer = Issuer::new(&repo.path("keys"));
    let (jwks, hits) = jwks_server(&issuer.jwks);
    let config = repo.config(&format!(
        "{}  refresh_interval: 0\n",
        SEED_JWT.replace("JWKS", &format!("{}/jwks", jwks.url()))
    ));
    let server = Served::start(&config);
    let packages = repo.path("build/main/x86_64");
    let fields = ("3.20", "main", "x86_64");
    let index = repo.path("packages/3.20/main/x86_64/APKINDEX.tar.gz");
    let upload = |token: Option<&str>, file: &str| {
        curl_upload(&packages, &server.url, token, fields, &[file])
    };

    // Valid RS256 and ES256 tokens with the claims: accepted. GitLab's boolean as a JSON
    // boolean also matches the configured 'true'.
    apk(&packages, "first", 0);
    let valid = issuer.token(
        Algorithm::RS256,
        "rsa-1",
        &Issuer::claims(600, &serde_json::json!({})),
    );
    let (status, body) = upload(Some(&valid), "first-1.0-r0.apk");
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("\"name\":\"first\""), "{body}");
    apk(&packages, "second", 0);
    let ec_token = issuer.token(
        Algorithm::ES256,
        "ec-1",
        &Issuer::claims(600, &serde_json::json!({"ref_protected": true})),
    );
    let (status, body) = upload(Some(&ec_token), "second-1.0-r0.apk");
    assert_eq!(status, 201, "{body}");
    // EdDSA, and an `exp` 30 s past is within the 60 s leeway.
    apk(&packages, "third", 0);
    let eddsa_token = issuer.token(
        Algorithm::EdDSA,
        "ed-1",
        &Issuer::claims(-30, &serde_json::json!({})),
    );
    let (status, body) = upload(Some(&eddsa_token), "third-1.0-r0.apk");
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the JWKS is fetched once and cached"
    );
    let index_before = std::fs::read(&index).unwrap();

    apk(&packages, "refused", 0);
    let cases = refused_cases(&issuer);
    let mut tokens = vec![valid.clone(), ec_token.clone(), eddsa_token.clone()];
    for (case, token, expected_status, reason) in &cases {
        let (status, body) = upload(token.as_deref(), "refused-1.0-r0.apk");
        assert_eq!(status, *expected_status, "{case}: {body}");
        assert!(
            body.contains(reason),
            "{case}: reason {reason:?} not in {body}"
        );
        assert!(
            !repo
                .path("packages/3.20/main/x86_64/refused-1.0-r0.apk")
                .exists(),
            "{case}: file added"
        );
        assert_eq!(
            std::fs::read(&index).unwrap(),
            index_before,
            "{case}: index changed"
        );
        tokens.extend(token.clone());
    }
    // The unknown kid refetched the JWKS once; the same unknown kid again does not.
    assert_eq!(hits.load(Ordering::SeqCst), 2, "JWKS fetches");
    let again = issuer.token(
        Algorithm::RS256,
        "rsa-9",
        &Issuer::claims(600, &serde_json::json!({})),
    );
    let (status, _) = upload(Some(&again), "refused-1.0-r0.apk");
    assert_eq!(status, 401);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "no second refetch for the same kid"
    );
    tokens.push(again);

    let log = server.log();
    for (_, _, status, reason) in &cases {
        let reason = reason.replace("\\\"", "\"");
        let logged = log
            .lines()
            .any(|line| line.contains(&format!("refused: {status} ")) && line.contains(&reason));
        assert!(logged, "{reason}: {log}");
    }
    assert_no_token_in(&log, &tokens);
    let text = assert_index_valid(&repo, &server.url, "3.20/main/x86_64/APKINDEX.tar.gz");
    assert!(
        text.contains("P:first\n")
            && text.contains("P:second\n")
            && text.contains("P:third\n")
            && !text.contains("P:refused")
    );
}

#[test]
fn seed_curl_upload_over_tls_gives_a_signed_apkindex() {
    let repo = Repo::new();
    repo.apk_key();
    let issuer = Issuer::new(&repo.path("keys"));
    let (jwks, _hits) = jwks_server(&issuer.jwks);
    // A self-signed certificate for 127.0.0.1.
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(repo.path("keys/tls.key"))
        .arg("-out")
        .arg(repo.path("keys/tls.crt"))
        .output()
        .unwrap();
    assert_success(&out);
    // Seed 003's reposerve file, unchanged but for the paths and the JWKS URL.
    let config = repo.config(&format!(
        "tls:\n  crt: keys/tls.crt\n  key: keys/tls.key\n{}",
        SEED_JWT.replace("JWKS", &format!("{}/jwks", jwks.url()))
    ));
    let server = Served::start(&config);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    // abuild's output layout: <repo>/<arch>/ with an APKINDEX.tar.gz, as apkdeploy.sh finds it.
    let out_dir = repo.path("apkdeploy/main/x86_64");
    apk(&out_dir, "hello", 0);
    std::fs::write(out_dir.join("APKINDEX.tar.gz"), b"abuild's local index").unwrap();
    let token = issuer.token(
        Algorithm::RS256,
        "rsa-1",
        &Issuer::claims(600, &serde_json::json!({})),
    );
    // apkdeploy.sh's loop as the seed prints it (VERSION and REPO set directly, the loops
    // closed); curl finds the test's certificate through CURL_CA_BUNDLE.
    let script = r#"
set -e
REPO=main
VERSION=3.20
for arch in "$(find $DIR -name APKINDEX.tar.gz)"; do
  ARCH="$(basename $(dirname $arch))"
  args="-H 'Authorization: Bearer $CI_JOB_JWT_V2' -F 'version=$VERSION' -F 'repo=$REPO' -F 'arch=$ARCH' "
  for file in "$(find $DIR -name '*.apk')"; do
    args="${args}-F file=@$(basename $file) "
  done
  (cd "$(dirname $arch)" && eval curl $args https://$HOST/upload)
done
"#;
    let out = Command::new("sh")
        .args(["-c", script])
        .env("DIR", repo.path("apkdeploy"))
        .env("HOST", server.url.trim_start_matches("https://"))
        .env("CI_JOB_JWT_V2", &token)
        .env("CURL_CA_BUNDLE", repo.path("keys/tls.crt"))
        .output()
        .unwrap();
    assert_success(&out);
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(
        answer.contains("\"path\":\"3.20/main/x86_64/hello-1.0-r0.apk\""),
        "{answer}"
    );

    let index = Command::new("curl")
        .args(["-sSf", "--cacert"])
        .arg(repo.path("keys/tls.crt"))
        .arg(format!("{}/3.20/main/x86_64/APKINDEX.tar.gz", server.url))
        .output()
        .unwrap();
    assert_success(&index);
    let (name, signature, member, text) = read_apkindex(&index.stdout);
    assert_eq!(name, ".SIGN.RSA256.repo.rsa.pub");
    assert!(openssl_verifies(
        &repo.path("keys/repo.rsa.pub"),
        &member,
        &signature
    ));
    assert!(text.contains("P:hello\nV:1.0-r0\nA:x86_64\n"), "{text}");
    // The same index signed by another key does not verify.
    openssl_key(
        &repo.path("keys/other.rsa"),
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    let other_pub = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(repo.path("keys/other.rsa"))
        .output()
        .unwrap();
    std::fs::write(repo.path("keys/other.rsa.pub"), other_pub.stdout).unwrap();
    assert!(!openssl_verifies(
        &repo.path("keys/other.rsa.pub"),
        &member,
        &signature
    ));
}

/// apt-get with private state, cache and sources (`deb [signed-by=KEY] URL/apt stable main`).
fn apt_get(repo: &Repo, url: &str, key: &Path, args: &[&str]) -> std::process::Output {
    let state = repo.path("apt-state");
    for dir in [
        "lists/partial",
        "cache/archives/partial",
        "parts",
        "prefs",
        "download",
    ] {
        std::fs::create_dir_all(state.join(dir)).unwrap();
    }
    std::fs::write(state.join("status"), "").unwrap();
    std::fs::write(
        state.join("sources.list"),
        format!(
            "deb [signed-by={}] {}/apt stable main\n",
            key.display(),
            url
        ),
    )
    .unwrap();
    let s = |p: &str| state.join(p).display().to_string();
    Command::new("apt-get")
        .current_dir(state.join("download"))
        .args(["-q", "-o", &format!("Dir::State::Lists={}", s("lists"))])
        .args(["-o", &format!("Dir::State::status={}", s("status"))])
        .args(["-o", &format!("Dir::Cache={}", s("cache"))])
        .args(["-o", &format!("Dir::Etc::SourceList={}", s("sources.list"))])
        .args(["-o", &format!("Dir::Etc::SourceParts={}", s("parts"))])
        .args(["-o", &format!("Dir::Etc::PreferencesParts={}", s("prefs"))])
        .args([
            "-o",
            "Debug::NoLocking=1",
            "-o",
            "APT::Sandbox::User=",
            "-o",
            "APT::Update::Error-Mode=any",
        ])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn apt_get_installs_from_the_server_and_a_wrong_key_fails() {
    require_tool("apt-get", "a Debian system");
    require_tool("dpkg-deb", "apt-get install dpkg");
    let repo = Repo::new();
    let public = repo.apt_key();
    let config = repo.config("apt: { origin: Boxwright Test, label: Boxwright Test }\n");
    let server = Served::start(&config);
    let deb = deb(&repo.path("build"), "hello-box");

    let upload = boxwright()
        .args(["repo", "upload", &server.url])
        .arg(&deb)
        .args(["--suite", "stable", "--component", "main"])
        .output()
        .unwrap();
    assert_success(&upload);
    let stdout = String::from_utf8_lossy(&upload.stdout);
    assert!(
        stdout.contains(
            "added hello-box 1.0-0 amd64 (apt/pool/stable/main/hello-box_1.0-0_amd64.deb)"
        ),
        "{stdout}"
    );
    assert!(server.log().contains("hello-box 1.0-0 (amd64) added"));

    let update = apt_get(&repo, &server.url, &public, &["update"]);
    assert_success(&update);
    let download = apt_get(&repo, &server.url, &public, &["download", "hello-box"]);
    assert_success(&download);
    let fetched = repo.path("apt-state/download/hello-box_1.0-0_amd64.deb");
    assert!(
        fetched.is_file(),
        "{}",
        String::from_utf8_lossy(&download.stderr)
    );
    let root = repo.path("root");
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&fetched)
        .arg(&root)
        .output()
        .unwrap();
    assert_success(&out);
    let run = Command::new(root.join("usr/bin/hello-box"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "hello from hello-box\n"
    );

    // Another key: apt refuses the repository.
    let (_, other) = boxwright_sign::openpgp::generate("Other <other@example.invalid>").unwrap();
    std::fs::write(repo.path("keys/other.asc"), other).unwrap();
    std::fs::remove_dir_all(repo.path("apt-state/lists")).unwrap();
    let refused = apt_get(
        &repo,
        &server.url,
        &repo.path("keys/other.asc"),
        &["update"],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        !refused.status.success(),
        "apt-get update accepted a wrong key: {text}"
    );
    assert!(
        text.contains("NO_PUBKEY") || text.contains("not signed"),
        "{text}"
    );
}

#[test]
fn twenty_parallel_uploads_to_one_repository_are_all_indexed() {
    let repo = Repo::new();
    repo.apk_key();
    let config = repo.config("");
    let server = Served::start(&config);
    let dir = repo.path("build");
    let names: Vec<String> = (0..20).map(|i| format!("pkg{i:02}")).collect();
    for name in &names {
        apk(&dir, name, 0);
    }
    let results = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = names
        .iter()
        .map(|name| {
            let (dir, url, name, results) = (
                dir.clone(),
                server.url.clone(),
                name.clone(),
                Arc::clone(&results),
            );
            std::thread::spawn(move || {
                let file = format!("{name}-1.0-r0.apk");
                let answer = curl_upload(&dir, &url, None, ("3.20", "main", "x86_64"), &[&file]);
                results.lock().unwrap().push((name, answer));
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    for (name, (status, body)) in results.lock().unwrap().iter() {
        assert_eq!(*status, 201, "{name}: {body}");
    }
    let text = assert_index_valid(&repo, &server.url, "3.20/main/x86_64/APKINDEX.tar.gz");
    for name in &names {
        assert!(
            text.contains(&format!("P:{name}\n")),
            "{name} missing from the index"
        );
    }
    assert!(server.log().contains("warning: no `jwt` section"));
}

#[test]
fn killing_the_server_during_an_upload_keeps_the_previous_index() {
    let repo = Repo::new();
    repo.apk_key();
    let config = repo.config("");
    let mut server = Served::start(&config);
    let dir = repo.path("build");
    apk(&dir, "before", 0);
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        ("3.20", "main", "x86_64"),
        &["before-1.0-r0.apk"],
    );
    assert_eq!(status, 201, "{body}");
    let index = repo.path("packages/3.20/main/x86_64/APKINDEX.tar.gz");
    let before = std::fs::read(&index).unwrap();

    let big = apk(&dir, "big", 8 << 20);
    let mut upload = Command::new("curl")
        .current_dir(&dir)
        .args([
            "-sS",
            "--limit-rate",
            "1M",
            "-F",
            "version=3.20",
            "-F",
            "repo=main",
            "-F",
            "arch=x86_64",
        ])
        .arg("-F")
        .arg(format!(
            "file=@{}",
            big.file_name().unwrap().to_string_lossy()
        ))
        .arg(format!("{}/upload", server.url))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until part of the body is staged, then kill the server.
    let staging = repo.path("packages/.uploads");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let staged: u64 = walkdir::WalkDir::new(&staging)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.metadata().unwrap().len())
            .sum();
        if staged > 1 << 20 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill();
    let _ = upload.wait();
    assert_eq!(std::fs::read(&index).unwrap(), before);
    assert!(
        !repo
            .path("packages/3.20/main/x86_64/big-1.0-r0.apk")
            .exists()
    );

    // The next start serves the previous index and drops the partial upload.
    let server = Served::start(&config);
    let text = assert_index_valid(&repo, &server.url, "3.20/main/x86_64/APKINDEX.tar.gz");
    assert!(text.contains("P:before\n") && !text.contains("P:big\n"));
    assert_eq!(
        get_bytes(&format!("{}/3.20/main/x86_64/APKINDEX.tar.gz", server.url)),
        before
    );
    let tree = repo.tree();
    assert!(tree.iter().all(|f| !f.starts_with(".uploads/")), "{tree:?}");
    assert_eq!(
        tree,
        [
            "3.20/main/x86_64/APKINDEX.tar.gz",
            "3.20/main/x86_64/before-1.0-r0.apk"
        ]
    );
}

#[test]
fn a_failed_signing_answers_500_and_keeps_the_old_index() {
    let repo = Repo::new();
    let key = repo.apk_key();
    let config = repo.config("");
    let server = Served::start(&config);
    let dir = repo.path("build");
    apk(&dir, "good", 0);
    apk(&dir, "late", 0);
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        ("3.20", "main", "x86_64"),
        &["good-1.0-r0.apk"],
    );
    assert_eq!(status, 201, "{body}");
    let index = repo.path("packages/3.20/main/x86_64/APKINDEX.tar.gz");
    let before = std::fs::read(&index).unwrap();
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        ("3.20", "main", "x86_64"),
        &["late-1.0-r0.apk"],
    );
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("rolled back"), "{body}");
    assert_eq!(std::fs::read(&index).unwrap(), before);
    assert!(
        !repo
            .path("packages/3.20/main/x86_64/late-1.0-r0.apk")
            .exists()
    );
}

#[test]
fn ranges_conditionals_and_no_escapes() {
    let repo = Repo::new();
    let config = repo.config("");
    let server = Served::start(&config);
    let file = repo.path("packages/3.20/main/x86_64/data.tar.gz");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let content: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    let url = format!("{}/3.20/main/x86_64/data.tar.gz", server.url);

    let out = Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null", "-r", "10-19", &url])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert!(head.contains("content-range: bytes 10-19/1000"), "{head}");
    assert!(head.contains("content-type: application/gzip"), "{head}");
    let ranged = Command::new("curl")
        .args(["-sS", "-r", "10-19", &url])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(ranged, &content[10..20]);

    let out = Command::new("curl")
        .args(["-sS", "-I", &url])
        .output()
        .unwrap();
    let head_only = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(head_only.starts_with("http/1.1 200"), "{head_only}");
    assert!(head_only.contains("content-length: 1000"), "{head_only}");

    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("etag")
        .trim()
        .to_string();
    let (status, _) = curl(&["-H", &format!("If-None-Match: {etag}"), &url]);
    assert_eq!(status, 304);
    let (status, _) = curl(&["-H", "If-None-Match: \"other\"", &url]);
    assert_eq!(status, 200);
    let (status, _) = curl(&[
        "-H",
        "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT",
        &url,
    ]);
    assert_eq!(status, 304);
    let (status, _) = curl(&[
        "-H",
        "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT",
        &url,
    ]);
    assert_eq!(status, 200);

    std::fs::create_dir_all(repo.path("packages/.uploads")).unwrap();
    std::fs::write(repo.path("packages/.uploads/secret"), "staged").unwrap();
    std::os::unix::fs::symlink("/etc", repo.path("packages/etc-link")).unwrap();
    std::os::unix::fs::symlink("3.20", repo.path("packages/inside-link")).unwrap();
    std::os::unix::fs::symlink(".uploads", repo.path("packages/staged-link")).unwrap();
    for path in [
        "/../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/3.20/%2E%2E/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/etc-link/passwd",
        "/staged-link/secret",
        "/.uploads/secret",
        "/3.20/main",
    ] {
        let (status, body) = curl(&["--path-as-is", &format!("{}{path}", server.url)]);
        assert!(status == 400 || status == 404, "{path}: {status}");
        assert!(!body.contains("root:"), "{path} served /etc/passwd");
    }
    let (status, _) = curl(&[&format!(
        "{}/inside-link/main/x86_64/data.tar.gz",
        server.url
    )]);
    assert_eq!(status, 200, "a symlink inside the tree is served");
}

#[test]
fn limits_answer_413_and_add_nothing() {
    let repo = Repo::new();
    repo.apk_key();
    let config = repo.config("limits: { max_files: 2, max_body: 64K }\n");
    let server = Served::start(&config);
    let dir = repo.path("build");
    for name in ["a", "b", "c"] {
        apk(&dir, name, 0);
    }
    let fields = ("3.20", "main", "x86_64");
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        fields,
        &["a-1.0-r0.apk", "b-1.0-r0.apk", "c-1.0-r0.apk"],
    );
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("more than 2 files"), "{body}");
    apk(&dir, "large", 200 << 10);
    let (status, body) = curl_upload(&dir, &server.url, None, fields, &["large-1.0-r0.apk"]);
    assert_eq!(status, 413, "{body}");
    let tree = repo.tree();
    assert!(tree.iter().all(|f| f.starts_with(".uploads/")), "{tree:?}");
    // Within the limits it works.
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        fields,
        &["a-1.0-r0.apk", "b-1.0-r0.apk"],
    );
    assert_eq!(status, 201, "{body}");
}

#[test]
fn uploads_are_checked_before_anything_moves() {
    let repo = Repo::new();
    repo.apk_key();
    let config = repo.config("");
    let server = Served::start(&config);
    let dir = repo.path("build");
    apk(&dir, "ok", 0);
    std::fs::write(dir.join("junk.apk"), b"not a package").unwrap();
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        ("3.20", "main", "x86_64"),
        &["ok-1.0-r0.apk", "junk.apk"],
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("junk.apk"), "{body}");
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        ("3.20", "main", "aarch64"),
        &["ok-1.0-r0.apk"],
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("the upload's arch is aarch64"), "{body}");
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        ("../x", "main", "x86_64"),
        &["ok-1.0-r0.apk"],
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        repo.tree().iter().all(|f| f.starts_with(".uploads/")),
        "{:?}",
        repo.tree()
    );
    // Same file twice: fine; other bytes under the same name: 409.
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        ("3.20", "main", "x86_64"),
        &["ok-1.0-r0.apk"],
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        None,
        ("3.20", "main", "x86_64"),
        &["ok-1.0-r0.apk"],
    );
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("\"added\":false"), "{body}");
    let other = repo.path("other");
    apk(&other, "ok", 10);
    let (status, body) = curl_upload(
        &other,
        &server.url,
        None,
        ("3.20", "main", "x86_64"),
        &["ok-1.0-r0.apk"],
    );
    assert_eq!(status, 409, "{body}");
}

#[test]
fn repo_upload_takes_repo_and_arch_from_abuild_layout_and_reports_refusals() {
    let repo = Repo::new();
    repo.apk_key();
    let issuer = Issuer::new(&repo.path("keys"));
    let (jwks, _) = jwks_server(&issuer.jwks);
    let config = repo.config(&SEED_JWT.replace("JWKS", &format!("{}/jwks", jwks.url())));
    let server = Served::start(&config);
    let file = apk(&repo.path("abuild/community/x86_64"), "tool", 0);
    let token = issuer.token(
        Algorithm::RS256,
        "rsa-1",
        &Issuer::claims(600, &serde_json::json!({})),
    );
    let out = boxwright()
        .args([
            "repo",
            "upload",
            &server.url,
            "--alpine",
            "3.21",
            "--token-env",
            "TEST_JWT",
        ])
        .arg(&file)
        .env("TEST_JWT", &token)
        .output()
        .unwrap();
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("added tool 1.0-r0 x86_64 (3.21/community/x86_64/tool-1.0-r0.apk)"),
        "{stdout}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&token));

    // A refused upload: exit 2 with the server's reason, and the token is not printed.
    let bad = issuer.token(
        Algorithm::RS256,
        "rsa-1",
        &Issuer::claims(600, &serde_json::json!({"ref_type": "branch"})),
    );
    let out = boxwright()
        .args([
            "repo",
            "upload",
            &server.url,
            "--alpine",
            "3.21",
            "--token-env",
            "TEST_JWT",
        ])
        .arg(&file)
        .env("TEST_JWT", &bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("(403)") && stderr.contains("claim ref_type"),
        "{stderr}"
    );
    assert!(!stderr.contains(&bad));
}

#[test]
fn repo_upload_asks_for_what_the_files_do_not_say() {
    let repo = Repo::new();
    let flat = apk(&repo.path("flat"), "loose", 0);
    let out = boxwright()
        .args(["repo", "upload", "http://127.0.0.1:9", "--alpine", "3.20"])
        .arg(&flat)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("give --repo"), "{stderr}");
    let deb = deb(&repo.path("flat"), "loose-deb");
    let out = boxwright()
        .args([
            "repo",
            "upload",
            "http://127.0.0.1:9",
            "--component",
            "main",
        ])
        .arg(&deb)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot tell the apt suite of")
            && stderr.contains("give --suite or put it under apt/pool/<suite>/<component>/"),
        "{stderr}"
    );
}

#[test]
fn repo_upload_reads_the_tree_repo_index_writes() {
    let repo = Repo::new();
    repo.apk_key();
    repo.apt_key();
    let server = Served::start(&repo.config(""));
    let tree = repo.path("tree");
    let apk_file = apk(&tree.join("3.20/main/x86_64"), "treeapk", 0);
    let deb_file = deb(&tree.join("apt/pool/stable/main"), "treedeb");
    let index = boxwright()
        .args(["repo", "index"])
        .arg(&tree)
        .arg("--apk-key")
        .arg(repo.path("keys/repo.rsa"))
        .arg("--apt-key")
        .arg(repo.path("keys/apt.key"))
        .output()
        .unwrap();
    assert_success(&index);

    // No --version/--repo: the Alpine version, repository, suite and component come from
    // where the files sit.
    let out = boxwright()
        .args(["repo", "upload", &server.url])
        .arg(&apk_file)
        .arg(&deb_file)
        .output()
        .unwrap();
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "added treeapk 1.0-r0 x86_64 (3.20/main/x86_64/treeapk-1.0-r0.apk)",
        "added treedeb 1.0-0 amd64 (apt/pool/stable/main/treedeb_1.0-0_amd64.deb)",
    ] {
        assert!(stdout.contains(line), "{stdout}");
    }
    let apkindex = get_bytes(&format!("{}/3.20/main/x86_64/APKINDEX.tar.gz", server.url));
    let (_, _, _, text) = read_apkindex(&apkindex);
    assert!(text.contains("P:treeapk\n"), "{text}");
    let packages = get_bytes(&format!(
        "{}/apt/dists/stable/main/binary-amd64/Packages",
        server.url
    ));
    let packages = String::from_utf8_lossy(&packages);
    assert!(packages.contains("Package: treedeb\n"), "{packages}");
}

#[test]
fn config_errors_name_the_key_and_file() {
    let repo = Repo::new();
    let config = repo.config("jwt:\n  jwks: http://127.0.0.1:9/jwks\n  claimz: {}\n");
    let out = boxwright()
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown key `jwt.claimz`") && stderr.contains("repo.yaml"),
        "{stderr}"
    );
}

/// Issue 22: the retired `repo upload --version` still names the apt suite of a .deb and the
/// Alpine version of an .apk, with one warning naming both replacements.
#[test]
fn the_retired_version_still_names_the_suite_and_the_alpine_version() {
    let repo = Repo::new();
    repo.apk_key();
    repo.apt_key();
    let server = Served::start(&repo.config("apt: { origin: Test, label: Test }\n"));
    let files = [
        (
            deb(&repo.path("build"), "old-deb"),
            "stable",
            "apt/pool/stable/main/old-deb_",
        ),
        (apk(&repo.path("build"), "old-apk", 0), "3.21", "3.21/main/"),
    ];
    for (file, version, stored) in files {
        let out = boxwright()
            .args(["repo", "upload", &server.url])
            .arg(&file)
            .args(["--version", version, "--repo", "main"])
            .output()
            .unwrap();
        assert_success(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(stored), "{stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let warning =
            "warning: --version is deprecated; use --alpine (.apk files) or --suite (.deb files)\n";
        assert_eq!(stderr.matches(warning).count(), 1, "{stderr}");
    }
}
