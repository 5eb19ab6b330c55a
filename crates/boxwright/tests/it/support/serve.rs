//! Fixtures for `boxwright serve` tests: the running server, a repository directory with its
//! keys, packages, curl helpers and a JWT issuer with its JWKS.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use boxwright_package::{Entry, EntryKind, PackageSpec};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::support::fake_api::FakeApi;
use crate::support::{assert_success, require_tool};

// ---------------------------------------------------------------------------------------
// Fixtures

/// A running `boxwright serve`, killed when dropped.
pub struct Served {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
    /// The first line on stdout: `listening on URL`, or with `--json` a JSON object.
    pub first_line: String,
}

impl Served {
    pub fn start(config: &Path) -> Served {
        Self::start_at(config, "127.0.0.1:0")
    }

    pub fn start_at(config: &Path, addr: &str) -> Served {
        Self::spawn(config, addr, false)
    }

    /// `boxwright --json serve`: its first stdout line is `{"listening": URL}`.
    pub fn start_json(config: &Path) -> Served {
        Self::spawn(config, "127.0.0.1:0", true)
    }

    fn spawn(config: &Path, addr: &str, json: bool) -> Served {
        let log = config.with_extension(format!(
            "log-{}",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut child = Command::new(assert_cmd::cargo::cargo_bin!("boxwright"))
            .args(json.then_some("--json"))
            .args(["serve", "--config"])
            .arg(config)
            .args(["--addr", addr])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("boxwright serve starts");
        let stdout = child.stdout.take().unwrap();
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = send.send(line);
        });
        let line = receive
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_default();
        let url = if json {
            serde_json::from_str::<serde_json::Value>(line.trim())
                .ok()
                .and_then(|v| v["listening"].as_str().map(str::to_owned))
        } else {
            line.trim().strip_prefix("listening on ").map(str::to_owned)
        };
        let url = url.unwrap_or_else(|| {
            let _ = child.kill();
            panic!(
                "no `listening on` line: {line:?}; log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        Served {
            child,
            url,
            log,
            first_line: line,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A repository directory with its config, keys and packages in a temp dir.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::Builder::new()
                .prefix("serve-it-")
                .tempdir()
                .unwrap(),
        };
        std::fs::create_dir_all(repo.path("keys")).unwrap();
        std::fs::create_dir_all(repo.path("packages")).unwrap();
        repo
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes `repo.yaml` with `dir: packages`, the apk key, and `extra` appended.
    pub fn config(&self, extra: &str) -> PathBuf {
        let path = self.path("repo.yaml");
        std::fs::write(
            &path,
            format!("dir: packages\nkeys: {{ apk: keys/repo.rsa, apt: keys/apt.key }}\n{extra}"),
        )
        .unwrap();
        path
    }

    /// An RSA key for the apk index at keys/repo.rsa (+ .pub), by openssl.
    pub fn apk_key(&self) -> PathBuf {
        let key = self.path("keys/repo.rsa");
        openssl_key(
            &key,
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        );
        let out = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(self.path("keys/repo.rsa.pub"))
            .output()
            .unwrap();
        assert_success(&out);
        key
    }

    /// An OpenPGP key for apt at keys/apt.key, the armored public key at keys/apt.asc.
    pub fn apt_key(&self) -> PathBuf {
        let (secret, public) =
            boxwright_sign::openpgp::generate("Test <test@example.invalid>").expect("OpenPGP key");
        std::fs::write(self.path("keys/apt.key"), secret.as_bytes()).unwrap();
        std::fs::write(self.path("keys/apt.asc"), public).unwrap();
        self.path("keys/apt.asc")
    }

    /// Every file under packages/ (relative), staging area included.
    pub fn tree(&self) -> Vec<String> {
        let root = self.path("packages");
        let mut files: Vec<String> = walkdir::WalkDir::new(&root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| !e.file_type().is_dir())
            .map(|e| {
                e.path()
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        files.sort();
        files
    }
}

pub fn openssl_key(path: &Path, args: &[&str]) {
    require_tool("openssl", "apt-get install openssl");
    let out = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .arg("-out")
        .arg(path)
        .output()
        .unwrap();
    assert_success(&out);
}

/// A signed .apk `name-1.0-r0.apk` for x86_64 with one script and `padding` extra bytes.
pub fn apk(out_dir: &Path, name: &str, padding: usize) -> PathBuf {
    std::fs::create_dir_all(out_dir).unwrap();
    let key_path = out_dir.join("builder.rsa");
    if !key_path.exists() {
        openssl_key(
            &key_path,
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        );
    }
    let key =
        boxwright_sign::rsa::RsaSigningKey::from_pem(&std::fs::read_to_string(&key_path).unwrap())
            .unwrap();
    let spec = spec(name, "x86_64", padding);
    boxwright_package::apk::write(&spec, &key, "builder.rsa.pub", out_dir).expect("apk written")
}

/// A .deb `name_1.0-0_amd64.deb` holding /usr/bin/<name>, a script printing `hello from <name>`.
pub fn deb(out_dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(out_dir).unwrap();
    boxwright_package::deb::write(&spec(name, "amd64", 0), out_dir).expect("deb written")
}

pub fn spec(name: &str, arch: &str, padding: usize) -> PackageSpec {
    let mut entries = vec![Entry {
        path: format!("usr/bin/{name}"),
        kind: EntryKind::Content {
            data: format!("#!/bin/sh\necho hello from {name}\n").into_bytes(),
            executable: true,
        },
    }];
    if padding > 0 {
        // Incompressible bytes, so the upload really is large.
        let mut data = vec![0u8; padding];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for byte in &mut data {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        entries.push(Entry {
            path: format!("usr/share/{name}/data.bin"),
            kind: EntryKind::Content {
                data,
                executable: false,
            },
        });
    }
    PackageSpec {
        name: name.into(),
        version: "1.0".into(),
        revision: 0,
        arch: arch.into(),
        description: format!("test package {name}"),
        url: "https://example.invalid".into(),
        license: "MIT".into(),
        maintainer: "Test <test@example.invalid>".into(),
        origin: name.into(),
        source_date_epoch: 1_700_000_000,
        entries,
        ..PackageSpec::default()
    }
}

/// `curl` with arguments; returns (HTTP status, body).
pub fn curl(args: &[&str]) -> (u16, String) {
    require_tool("curl", "apt-get install curl");
    let out = Command::new("curl")
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// The upload seed 003's apkdeploy.sh sends, from the directory holding the files.
pub fn curl_upload(
    cwd: &Path,
    url: &str,
    token: Option<&str>,
    fields: (&str, &str, &str),
    files: &[&str],
) -> (u16, String) {
    require_tool("curl", "apt-get install curl");
    let mut command = Command::new("curl");
    command
        .current_dir(cwd)
        .args(["-sS", "-w", "\n%{http_code}"]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    command
        .args(["-F", &format!("version={}", fields.0)])
        .args(["-F", &format!("repo={}", fields.1)])
        .args(["-F", &format!("arch={}", fields.2)]);
    for file in files {
        command.args(["-F", &format!("file=@{file}")]);
    }
    let out = command.arg(format!("{url}/upload")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

pub fn get_bytes(url: &str) -> Vec<u8> {
    let out = Command::new("curl").args(["-sSf", url]).output().unwrap();
    assert_success(&out);
    out.stdout
}

/// The gzip members of an APKINDEX.tar.gz: (signature name, signature, compressed index
/// member, APKINDEX text).
pub fn read_apkindex(bytes: &[u8]) -> (String, Vec<u8>, Vec<u8>, String) {
    use flate2::bufread::GzDecoder;
    let mut cursor = bytes;
    let mut first = Vec::new();
    {
        let mut decoder = GzDecoder::new(&mut cursor);
        decoder.read_to_end(&mut first).unwrap();
    }
    let index_member = cursor.to_vec();
    // The signature tar is cut (no end blocks): read its one header by hand.
    let name = String::from_utf8_lossy(&first[..100])
        .trim_end_matches('\0')
        .to_string();
    let size = usize::from_str_radix(
        String::from_utf8_lossy(&first[124..136]).trim_matches(|c: char| c == '\0' || c == ' '),
        8,
    )
    .unwrap();
    let signature = first[512..512 + size].to_vec();
    let mut index_tar = Vec::new();
    GzDecoder::new(index_member.as_slice())
        .read_to_end(&mut index_tar)
        .unwrap();
    let mut archive = tar::Archive::new(index_tar.as_slice());
    let mut text = String::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("APKINDEX") {
            entry.read_to_string(&mut text).unwrap();
        }
    }
    (name, signature, index_member, text)
}

/// openssl's verdict on an RSA SHA-256 signature.
pub fn openssl_verifies(public_key: &Path, data: &[u8], signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data"), data).unwrap();
    std::fs::write(dir.path().join("sig"), signature).unwrap();
    Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public_key)
        .arg("-signature")
        .arg(dir.path().join("sig"))
        .arg(dir.path().join("data"))
        .output()
        .unwrap()
        .status
        .success()
}

pub fn assert_index_valid(repo: &Repo, url: &str, index_path: &str) -> String {
    let bytes = get_bytes(&format!("{url}/{index_path}"));
    let (name, signature, member, text) = read_apkindex(&bytes);
    assert_eq!(name, ".SIGN.RSA256.repo.rsa.pub");
    assert!(
        openssl_verifies(&repo.path("keys/repo.rsa.pub"), &member, &signature),
        "index signature does not verify"
    );
    text
}

// --- JWT -------------------------------------------------------------------------------

pub struct Issuer {
    pub rsa: EncodingKey,
    pub ec: EncodingKey,
    pub ed: EncodingKey,
    pub other_rsa: EncodingKey,
    pub rsa_public_pem: Vec<u8>,
    pub jwks: serde_json::Value,
}

impl Issuer {
    pub fn new(dir: &Path) -> Issuer {
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        openssl_key(
            &dir.join("jwt-rsa.pem"),
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        );
        openssl_key(
            &dir.join("jwt-other.pem"),
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        );
        openssl_key(
            &dir.join("jwt-ec.pem"),
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        );
        let out = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(dir.join("jwt-rsa.pem"))
            .output()
            .unwrap();
        assert_success(&out);
        let rsa = EncodingKey::from_rsa_pem(&read("jwt-rsa.pem")).unwrap();
        openssl_key(&dir.join("jwt-ed.pem"), &["-algorithm", "ed25519"]);
        let ec = EncodingKey::from_ec_pem(&read("jwt-ec.pem")).unwrap();
        let ed = EncodingKey::from_ed_pem(&read("jwt-ed.pem")).unwrap();
        let other_rsa = EncodingKey::from_rsa_pem(&read("jwt-other.pem")).unwrap();
        let mut rsa_jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa, Algorithm::RS256).unwrap();
        rsa_jwk.common.key_id = Some("rsa-1".into());
        let mut ec_jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&ec, Algorithm::ES256).unwrap();
        ec_jwk.common.key_id = Some("ec-1".into());
        let mut eddsa_jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&ed, Algorithm::EdDSA).unwrap();
        eddsa_jwk.common.key_id = Some("ed-1".into());
        Issuer {
            rsa,
            ec,
            ed,
            other_rsa,
            rsa_public_pem: out.stdout,
            jwks: serde_json::json!({ "keys": [rsa_jwk, ec_jwk, eddsa_jwk] }),
        }
    }

    pub fn claims(offset_exp: i64, extra: &serde_json::Value) -> serde_json::Value {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .cast_signed();
        let mut claims = serde_json::json!({
            "iss": "gitlab.example.com",
            "ref_protected": "true",
            "ref_type": "tag",
            "namespace_path": "alpine",
            "iat": now,
            "nbf": now - 5,
            "exp": now + offset_exp,
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }

    pub fn token(&self, alg: Algorithm, kid: &str, claims: &serde_json::Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        let key = match alg {
            Algorithm::ES256 => &self.ec,
            Algorithm::EdDSA => &self.ed,
            _ => &self.rsa,
        };
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }
}

pub fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Serves `jwks` at /jwks, counting requests.
pub fn jwks_server(jwks: &serde_json::Value) -> (FakeApi, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let body = serde_json::to_vec(jwks).unwrap();
    let api = FakeApi::start(move |request| {
        if request.path_and_query().0 == "/jwks" {
            counter.fetch_add(1, Ordering::SeqCst);
            (200, body.clone())
        } else {
            (404, b"{}".to_vec())
        }
    });
    (api, hits)
}

pub const SEED_JWT: &str = "jwt:
  jwks: JWKS
  claims:
    iss: 'gitlab.example.com'
    ref_protected: 'true'
    ref_type: 'tag'
    namespace_path: 'alpine'
";
