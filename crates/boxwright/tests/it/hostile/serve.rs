//! Hostile serve: see hostile/mod.rs.
//! Issue 19: tokens without `aud` (case 2), JWKS keys that are not for signatures (case 11),
//! log lines forged through token headers (case 7), stalled bodies and connection floods
//! (case 12).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use crate::support::require_tool;
use crate::support::serve::*;

const AUDIENCE: &str = "https://packages.example.com";
const FIELDS: (&str, &str, &str) = ("3.20", "main", "x86_64");

/// The seed's `jwt` section pointed at `jwks`, with `extra` lines appended inside it.
fn jwt_section(jwks_url: &str, extra: &str) -> String {
    format!(
        "{}  refresh_interval: 0\n{extra}",
        SEED_JWT.replace("JWKS", &format!("{jwks_url}/jwks"))
    )
}

fn published(repo: &Repo, file: &str) -> bool {
    repo.path(&format!("packages/3.20/main/x86_64/{file}"))
        .exists()
}

/// Case 2: with `audience` configured, `aud` is required.
#[test]
fn a_token_without_aud_is_refused_when_an_audience_is_configured() {
    let repo = Repo::new();
    repo.apk_key();
    let issuer = Issuer::new(&repo.path("keys"));
    let (jwks, _) = jwks_server(&issuer.jwks);
    let jwks_url = jwks.url();
    let config = repo.config(&jwt_section(
        &jwks_url,
        &format!("  audience: {AUDIENCE}\n"),
    ));
    let mut server = Served::start(&config);
    let dir = repo.path("build");
    apk(&dir, "aud", 0);
    let upload = |url: &str, claims: &Value| {
        let token = issuer.token(Algorithm::RS256, "rsa-1", claims);
        curl_upload(&dir, url, Some(&token), FIELDS, &["aud-1.0-r0.apk"])
    };

    let without = Issuer::claims(600, &json!({}));
    let mut null = without.clone();
    null["aud"] = Value::Null;
    for (case, claims) in [("no aud", &without), ("aud null", &null)] {
        let (status, body) = upload(&server.url, claims);
        assert!(status == 401 || status == 403, "{case}: {status} {body}");
        assert!(!published(&repo, "aud-1.0-r0.apk"), "{case}: published");
    }
    // The audience, alone or among others, is accepted.
    let listed = Issuer::claims(600, &json!({ "aud": ["other", AUDIENCE] }));
    let (status, body) = upload(&server.url, &listed);
    assert_eq!(status, 201, "{body}");

    // Without `audience` in the configuration, `aud` stays optional.
    server.kill();
    let config = repo.config(&jwt_section(&jwks_url, ""));
    let server = Served::start(&config);
    apk(&dir, "noaud", 0);
    let token = issuer.token(Algorithm::RS256, "rsa-1", &without);
    let (status, body) = curl_upload(
        &dir,
        &server.url,
        Some(&token),
        FIELDS,
        &["noaud-1.0-r0.apk"],
    );
    assert_eq!(status, 201, "{body}");
}

/// Case 11: a key whose `use` or `key_ops` does not allow verifying signatures is ignored.
#[test]
fn jwks_keys_not_meant_for_signatures_do_not_verify_tokens() {
    let repo = Repo::new();
    repo.apk_key();
    let issuer = Issuer::new(&repo.path("keys"));
    let dir = repo.path("build");
    let claims = Issuer::claims(600, &json!({}));
    let with_kid = issuer.token(Algorithm::RS256, "rsa-1", &claims);
    let without_kid =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &issuer.rsa).unwrap();
    let cases = [
        ("use enc", "use", json!("enc"), false),
        ("key_ops encrypt", "key_ops", json!(["encrypt"]), false),
        ("use sig", "use", json!("sig"), true),
        ("key_ops verify", "key_ops", json!(["verify"]), true),
    ];
    for (number, (case, member, value, usable)) in cases.into_iter().enumerate() {
        let mut set = issuer.jwks.clone();
        let key = set["keys"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|k| k["kid"] == "rsa-1")
            .unwrap();
        key[member] = value;
        let (jwks, _) = jwks_server(&set);
        let config = repo.config(&jwt_section(&jwks.url(), ""));
        let server = Served::start(&config);
        for (how, token) in [("kid", &with_kid), ("no kid", &without_kid)] {
            let name = format!("k{number}{}", how.len());
            apk(&dir, &name, 0);
            let file = format!("{name}-1.0-r0.apk");
            let (status, body) = curl_upload(&dir, &server.url, Some(token), FIELDS, &[&file]);
            if usable {
                assert_eq!(status, 201, "{case}, {how}: {body}");
            } else {
                assert_eq!(status, 401, "{case}, {how}: {body}");
                assert!(
                    body.contains("unknown key") || body.contains("unusable key"),
                    "{case}, {how}: {body}"
                );
                assert!(!published(&repo, &file), "{case}, {how}: published");
            }
        }
    }
}

/// Case 7: a token header's `kid` or `alg` holding a newline cannot add a line to the log.
#[test]
fn token_header_fields_cannot_forge_log_lines() {
    let repo = Repo::new();
    repo.apk_key();
    let issuer = Issuer::new(&repo.path("keys"));
    let (jwks, _) = jwks_server(&issuer.jwks);
    let config = repo.config(&jwt_section(&jwks.url(), ""));
    let server = Served::start(&config);
    let dir = repo.path("build");
    apk(&dir, "victim", 0);
    let forged = "upload from 10.9.9.9:4444: forged 1.0-r0 (x86_64) added";
    let payload = b64(serde_json::to_string(&Issuer::claims(600, &json!({})))
        .unwrap()
        .as_bytes());
    let headers = [
        json!({ "alg": "RS256", "kid": format!("rsa-9\n{forged}") }),
        json!({ "alg": "RS256", "kid": format!("rsa-9\r\n{forged}\r\n") }),
        json!({ "alg": format!("RS256\n{forged}"), "kid": "rsa-1" }),
        json!({ "alg": "RS256", "kid": format!("\u{1b}[2K\r{forged}") }),
    ];
    for header in &headers {
        let token = format!(
            "{}.{payload}.c2lnbmF0dXJl",
            b64(header.to_string().as_bytes())
        );
        let (status, body) = curl_upload(
            &dir,
            &server.url,
            Some(&token),
            FIELDS,
            &["victim-1.0-r0.apk"],
        );
        assert_eq!(status, 401, "{header}: {body}");
    }
    assert!(!published(&repo, "victim-1.0-r0.apk"));
    let log = server.log();
    let refusals = log.lines().filter(|l| l.contains(" refused: 401 ")).count();
    assert_eq!(refusals, headers.len(), "one refusal line each: {log}");
    for line in log.lines() {
        assert!(
            line.starts_with("serving ") || line.starts_with("upload from 127.0.0.1:"),
            "a line the server did not write: {line:?}\n{log}"
        );
        assert!(
            !line.contains("forged") || line.contains(" refused: 401 "),
            "forged text outside a refusal: {line:?}"
        );
        assert!(
            !line.contains('\r') && !line.contains('\u{1b}'),
            "raw control character: {line:?}"
        );
    }
}

/// The beginning of a multipart upload announcing a 1 MiB file: the three fields, the file
/// part's headers and only `sent` bytes of the file.
fn stalled_upload(addr: &str, sent: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let boundary = "hostile-slow-boundary";
    let mut body = String::new();
    for (name, value) in [("version", "3.20"), ("repo", "main"), ("arch", "x86_64")] {
        let _ = write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    let _ = write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow-1.0-r0.apk\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let mut request = format!(
        "POST /upload HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len() + (1 << 20)
    )
    .into_bytes();
    request.extend_from_slice(body.as_bytes());
    request.extend(std::iter::repeat_n(b'x', sent));
    request
}

fn staging_entries(repo: &Repo) -> Vec<String> {
    std::fs::read_dir(repo.path("packages/.uploads"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Case 12: an upload whose body stalls is ended and its staging files removed.
#[test]
fn a_stalled_upload_body_is_cut_off_and_its_staging_files_removed() {
    let repo = Repo::new();
    repo.apk_key();
    let config = repo.config("limits: { body_timeout: 2 }\n");
    let server = Served::start(&config);
    let addr = server.url.strip_prefix("http://").unwrap().to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.write_all(&stalled_upload(&addr, 4096)).unwrap();
    wait_until("the upload is staged", Duration::from_secs(30), || {
        !staging_entries(&repo).is_empty()
    });
    // No hang: the server answers or closes within a generous bound.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the stalled connection is still open after 30 s: {e}"),
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    wait_until("the staging area is empty", Duration::from_secs(10), || {
        staging_entries(&repo).is_empty()
    });
    assert!(!published(&repo, "slow-1.0-r0.apk"));
}

/// Lines of `log` about descriptors running out.
fn descriptor_errors(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("Too many open files"))
        .count()
}

/// Case 12: more slow connections than `max_connections`, with 64 descriptors: the server
/// neither runs out of descriptors nor stops taking uploads.
#[test]
fn a_flood_of_slow_connections_neither_exhausts_descriptors_nor_blocks_uploads() {
    require_tool("prlimit", "apt-get install util-linux");
    let repo = Repo::new();
    repo.apk_key();
    let config = repo.config("limits: { max_connections: 16, body_timeout: 3 }\n");
    let server = Served::start(&config);
    let limited = Command::new("prlimit")
        .arg(format!("--pid={}", server.child.id()))
        .arg("--nofile=64:64")
        .output()
        .unwrap();
    assert!(limited.status.success(), "{limited:?}");
    let addr = server.url.strip_prefix("http://").unwrap().to_string();
    let slow: Vec<TcpStream> = (0..80)
        .map(|_| {
            let mut stream = TcpStream::connect(&addr).unwrap();
            stream.write_all(&stalled_upload(&addr, 1024)).unwrap();
            stream
        })
        .collect();
    // A normal upload while all of them hang on: it gets its turn.
    let dir = repo.path("build");
    apk(&dir, "normal", 0);
    let out = Command::new("curl")
        .current_dir(&dir)
        .args(["-sS", "--max-time", "90", "-w", "\n%{http_code}"])
        .args(["-F", "version=3.20", "-F", "repo=main", "-F", "arch=x86_64"])
        .args(["-F", "file=@normal-1.0-r0.apk"])
        .arg(format!("{}/upload", server.url))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let log = server.log();
    assert!(
        text.ends_with("\n201"),
        "{text} {}\nlog ({} descriptor errors):\n{}",
        String::from_utf8_lossy(&out.stderr),
        descriptor_errors(&log),
        tail(&log)
    );
    assert!(published(&repo, "normal-1.0-r0.apk"));
    drop(slow);
    let log = server.log();
    assert!(
        descriptor_errors(&log) <= 2,
        "accept errors repeat: {}",
        tail(&log)
    );
    assert!(server_alive(&server), "the server died: {}", tail(&log));
}

fn server_alive(server: &Served) -> bool {
    Path::new(&format!("/proc/{}", server.child.id())).exists()
        && curl(&[&format!("{}/nothing-here", server.url)]).0 == 404
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
