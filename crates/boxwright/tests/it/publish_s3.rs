//! `release publish --to s3://` against moto's S3 server (`.venv-tools/bin/moto_server`,
//! scripts/setup.sh installs `moto[server]`), checked with boto3 and `release verify` over
//! plain HTTP.
//!
//! The fault test gives the publish credentials whose IAM policy denies writing the stable
//! manifest: every versioned object lands and reads back, the stable PUT is refused, and the
//! stable manifest that was there stays byte for byte; a rerun with good credentials finds the
//! versioned objects identical and only writes the stable pair. It proves the order (nothing
//! stable before every versioned object is checked) and the resumable rerun; it does not cut
//! a connection in the middle of an upload (moto keeps its state in memory, so a killed server
//! forgets everything). That is the second fault test's job: publishing through a TCP relay
//! in front of moto that stops, as a server going down does, halfway through the body of the
//! release archive's PUT.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::publish::{KEY_ENV, TAG, key_text, ok, public_key, released, text};
use crate::support::TestProject;

const BUCKET: &str = "releases-bucket";

fn venv(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv-tools/bin")
        .join(tool)
}

/// A moto S3 server on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// With `no_auth_actions`, moto checks IAM policies after that many requests.
    fn start(no_auth_actions: Option<u32>) -> Moto {
        let binary = venv("moto_server");
        assert!(
            binary.exists(),
            "this test needs moto_server at {}: run scripts/setup.sh (.venv-tools/bin/pip \
             install 'moto[server]')",
            binary.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(binary);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(count) = no_auth_actions {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", count.to_string());
        }
        let child = command.spawn().unwrap();
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs a boto3 script with `s3` and `iam` clients for these credentials and `ep`.
    fn python(&self, credentials: (&str, &str), script: &str) -> String {
        let prelude = "import boto3, json, os, sys\n\
             kw = dict(endpoint_url=os.environ['EP'], region_name='us-east-1', \
             aws_access_key_id=os.environ['ID'], aws_secret_access_key=os.environ['SECRET'])\n\
             s3 = boto3.client('s3', **kw)\n\
             iam = boto3.client('iam', **kw)\n";
        let out = Command::new(venv("python"))
            .arg("-c")
            .arg(format!("{prelude}{script}"))
            .env("EP", self.endpoint())
            .env("ID", credentials.0)
            .env("SECRET", credentials.1)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ANY: (&str, &str) = ("testing", "testing");

fn publish_s3(
    project: &TestProject,
    moto: &Moto,
    credentials: (&str, &str),
    extra: &[&str],
) -> Output {
    publish_s3_at(project, &moto.endpoint(), credentials, extra)
}

fn publish_s3_at(
    project: &TestProject,
    endpoint: &str,
    credentials: (&str, &str),
    extra: &[&str],
) -> Output {
    project
        .boxwright()
        .args(["release", "publish", TAG, "--to"])
        .arg(format!("s3://{BUCKET}/some/prefix/"))
        .args(extra)
        .env(KEY_ENV, key_text(project))
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", credentials.0)
        .env("AWS_SECRET_ACCESS_KEY", credentials.1)
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap()
}

/// Every key in the bucket, sorted.
fn keys(moto: &Moto, credentials: (&str, &str)) -> Vec<String> {
    let listed = moto.python(
        credentials,
        &format!(
            "print(json.dumps(sorted(o['Key'] for o in \
             s3.list_objects_v2(Bucket='{BUCKET}').get('Contents', []))))"
        ),
    );
    serde_json::from_str(&listed).unwrap()
}

fn get(moto: &Moto, credentials: (&str, &str), key: &str) -> Vec<u8> {
    let hex = moto.python(
        credentials,
        &format!("print(s3.get_object(Bucket='{BUCKET}', Key='{key}')['Body'].read().hex())"),
    );
    let hex = hex.trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn all_keys() -> Vec<String> {
    let base = "some/prefix/hello";
    let mut keys = vec![
        format!("{base}/{TAG}/hello"),
        format!("{base}/{TAG}/{TAG}.tar.gz"),
        format!("{base}/{TAG}/manifest.json"),
        format!("{base}/{TAG}/manifest.json.sig"),
        format!("{base}/manifest.json"),
        format!("{base}/manifest.json.sig"),
    ];
    keys.sort();
    keys
}

#[test]
fn publish_to_s3_lays_out_verifies_and_republishes_as_a_no_op() {
    let project = released("minisign");
    let moto = Moto::start(None);
    // Public reads, as a release bucket behind a CDN would have them.
    moto.python(
        ANY,
        &format!(
            "s3.create_bucket(Bucket='{BUCKET}')\n\
             s3.put_bucket_policy(Bucket='{BUCKET}', Policy=json.dumps({{'Version': \
             '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Principal': '*', 'Action': \
             's3:GetObject', 'Resource': 'arn:aws:s3:::{BUCKET}/*'}}]}}))"
        ),
    );

    let stdout = ok(&publish_s3(&project, &moto, ANY, &[]));
    assert!(
        stdout.contains(&format!(
            "s3://{BUCKET}/some/prefix/hello/{TAG}/manifest.json"
        )),
        "{stdout}"
    );
    assert_eq!(keys(&moto, ANY), all_keys());
    let base = "some/prefix/hello";
    assert_eq!(
        get(&moto, ANY, &format!("{base}/manifest.json")),
        get(&moto, ANY, &format!("{base}/{TAG}/manifest.json"))
    );

    // Unsigned path-style GETs (the bucket policy): `release verify` reads the bucket over plain
    // HTTP and checks the signature, sizes, SHA-256 and SHA-512 of every artifact.
    let url = format!("{}/{BUCKET}/{base}", moto.endpoint());
    for tag in [None, Some(TAG)] {
        let out_dir = tempfile::tempdir().unwrap();
        let mut verify = project.boxwright();
        verify
            .args(["release", "verify", &url, "--key"])
            .arg(public_key(&project))
            .arg("-o")
            .arg(out_dir.path().join("out"));
        if let Some(tag) = tag {
            verify.args(["--release", tag]);
        }
        ok(&verify.output().unwrap());
        assert_eq!(
            std::fs::read(out_dir.path().join("out/hello")).unwrap(),
            std::fs::read(project.path().join(".out/hello/bin/hello")).unwrap()
        );
    }

    // Identical objects: nothing is written.
    let again = ok(&publish_s3(&project, &moto, ANY, &["--json"]));
    let report: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(report["written"], serde_json::json!([]), "{again}");
    assert_eq!(report["unchanged"].as_array().unwrap().len(), 6, "{again}");
    assert_eq!(
        report["base"],
        format!("s3://{BUCKET}/some/prefix/hello").as_str()
    );

    // A versioned object with other contents: refused without --force, nothing written.
    moto.python(
        ANY,
        &format!("s3.put_object(Bucket='{BUCKET}', Key='{base}/{TAG}/hello', Body=b'other')"),
    );
    let refused = publish_s3(&project, &moto, ANY, &[]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("exists with other contents"),
        "{}",
        text(&refused.stderr)
    );
    ok(&publish_s3(&project, &moto, ANY, &["--force"]));
    assert_eq!(
        get(&moto, ANY, &format!("{base}/{TAG}/hello")),
        std::fs::read(project.path().join(".out/hello/bin/hello")).unwrap()
    );
}

#[test]
fn a_refused_stable_write_leaves_the_old_stable_manifest_and_a_rerun_completes() {
    let project = released("minisign");
    // Eight unauthenticated requests set up the bucket, an old stable manifest and two IAM
    // users; from then on moto checks every request against the users' policies.
    let moto = Moto::start(Some(8));
    let base = "some/prefix/hello";
    let setup = moto.python(
        ANY,
        &format!(
            "s3.create_bucket(Bucket='{BUCKET}')\n\
             s3.put_object(Bucket='{BUCKET}', Key='{base}/manifest.json', Body=b'old')\n\
             def user(name, statements):\n    \
                 iam.create_user(UserName=name)\n    \
                 iam.put_user_policy(UserName=name, PolicyName='p', PolicyDocument=json.dumps(\
                 {{'Version': '2012-10-17', 'Statement': statements}}))\n    \
                 k = iam.create_access_key(UserName=name)['AccessKey']\n    \
                 return [k['AccessKeyId'], k['SecretAccessKey']]\n\
             admin = user('admin', [{{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}}])\n\
             limited = user('limited', [{{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}}, \
             {{'Effect': 'Deny', 'Action': 's3:PutObject', \
             'Resource': 'arn:aws:s3:::{BUCKET}/{base}/manifest.json*'}}])\n\
             print(json.dumps([admin, limited]))"
        ),
    );
    let users: Vec<Vec<String>> = serde_json::from_str(&setup).unwrap();
    let admin = (users[0][0].as_str(), users[0][1].as_str());
    let limited = (users[1][0].as_str(), users[1][1].as_str());

    let failed = publish_s3(&project, &moto, limited, &[]);
    assert!(!failed.status.success());
    let stderr = text(&failed.stderr);
    assert!(
        stderr.contains(&format!("s3://{BUCKET}/{base}/manifest.json")),
        "{stderr}"
    );
    // Every versioned object landed; the stable manifest is the old one, no signature.
    let mut expected: Vec<String> = all_keys()
        .into_iter()
        .filter(|k| !k.ends_with("/hello/manifest.json.sig"))
        .collect();
    expected.sort();
    assert_eq!(keys(&moto, admin), expected);
    assert_eq!(get(&moto, admin, &format!("{base}/manifest.json")), b"old");

    // The rerun finds the versioned objects identical and writes only the stable pair.
    let rerun = ok(&publish_s3(&project, &moto, admin, &["--json"]));
    let report: serde_json::Value = serde_json::from_str(&rerun).unwrap();
    assert_eq!(
        report["written"],
        serde_json::json!(["manifest.json", "manifest.json.sig"]),
        "{rerun}"
    );
    assert_eq!(report["unchanged"].as_array().unwrap().len(), 4, "{rerun}");
    assert_eq!(keys(&moto, admin), all_keys());
    assert_eq!(
        get(&moto, admin, &format!("{base}/manifest.json")),
        get(&moto, admin, &format!("{base}/{TAG}/manifest.json"))
    );
}

/// A TCP relay to moto that goes down, as a stopped server does, halfway through the body of
/// the first request whose request line contains `cut_at`: every connection is closed and
/// nothing is accepted any more (later connections are refused).
struct StoppingEndpoint {
    port: u16,
    stopped: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl StoppingEndpoint {
    fn start(upstream: u16, cut_at: String) -> StoppingEndpoint {
        use std::io::{Read as _, Write as _};
        use std::sync::atomic::Ordering;
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let flag = Arc::clone(&stopped);
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                open.lock().unwrap().push(client.try_clone().unwrap());
                open.lock().unwrap().push(server.try_clone().unwrap());
                // Answers flow back unchanged.
                let (mut from_server, mut to_client) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                    let _ = to_client.shutdown(std::net::Shutdown::Both);
                });
                // Requests are watched for the cut.
                let (mut from_client, mut to_server) = (client, server);
                let (flag, open, cut_at) = (Arc::clone(&flag), Arc::clone(&open), cut_at.clone());
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    let mut forwarded = 0_usize;
                    let mut chunk = vec![0_u8; 64 * 1024];
                    loop {
                        let n = match from_client.read(&mut chunk) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        seen.extend_from_slice(&chunk[..n]);
                        let limit = cut_point(&seen, &cut_at);
                        let end = limit.map_or(seen.len(), |l| l.min(seen.len()));
                        if end > forwarded && to_server.write_all(&seen[forwarded..end]).is_err() {
                            break;
                        }
                        forwarded = end.max(forwarded);
                        if limit.is_some_and(|l| seen.len() >= l) {
                            flag.store(true, Ordering::SeqCst);
                            for stream in open.lock().unwrap().iter() {
                                let _ = stream.shutdown(std::net::Shutdown::Both);
                            }
                            break;
                        }
                    }
                    let _ = to_server.shutdown(std::net::Shutdown::Write);
                });
            }
            // The listener is dropped here: the port refuses connections from now on.
        });
        StoppingEndpoint { port, stopped }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Where the relay stops: halfway through the body of the request whose request line (after
/// the last header block seen so far) contains `cut_at`, once its headers are complete.
fn cut_point(seen: &[u8], cut_at: &str) -> Option<usize> {
    let text = String::from_utf8_lossy(seen);
    let line_start = text.find(&format!("PUT /{BUCKET}/"))?;
    let request = &text[line_start..];
    let first_line = request.lines().next()?;
    if !first_line.contains(cut_at) {
        // Another PUT: look for the one after it.
        let after = line_start + first_line.len();
        return cut_point(&seen[after..], cut_at).map(|at| at + after);
    }
    let header_end = request.find("\r\n\r\n")? + 4;
    let length: usize = request[..header_end].lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })?;
    Some(line_start + header_end + length / 2)
}

#[test]
fn a_server_stopped_halfway_leaves_the_old_stable_manifest_and_a_rerun_completes() {
    let project = released("minisign");
    let moto = Moto::start(None);
    let base = "some/prefix/hello";
    moto.python(
        ANY,
        &format!(
            "s3.create_bucket(Bucket='{BUCKET}')\n\
             s3.put_object(Bucket='{BUCKET}', Key='{base}/manifest.json', Body=b'old')\n\
             s3.put_object(Bucket='{BUCKET}', Key='{base}/manifest.json.sig', Body=b'old sig')"
        ),
    );
    let archive = format!("{TAG}/{TAG}.tar.gz");
    let relay = StoppingEndpoint::start(moto.port, archive.clone());
    let failed = publish_s3_at(&project, &relay.endpoint(), ANY, &[]);
    assert!(
        relay.stopped.load(std::sync::atomic::Ordering::SeqCst),
        "the relay never saw the archive's PUT: {}",
        text(&failed.stderr)
    );
    assert_eq!(failed.status.code(), Some(2), "{}", text(&failed.stderr));
    let stderr = text(&failed.stderr);
    assert!(stderr.contains(&archive), "{stderr}");
    // No half object, and the stable pair is the old one.
    let after_failure = keys(&moto, ANY);
    assert!(
        !after_failure.contains(&format!("{base}/{archive}")),
        "{after_failure:?}"
    );
    assert_eq!(get(&moto, ANY, &format!("{base}/manifest.json")), b"old");
    assert_eq!(
        get(&moto, ANY, &format!("{base}/manifest.json.sig")),
        b"old sig"
    );

    // The server is back: the rerun completes.
    ok(&publish_s3(&project, &moto, ANY, &[]));
    assert_eq!(keys(&moto, ANY), all_keys());
    assert_eq!(
        get(&moto, ANY, &format!("{base}/manifest.json")),
        get(&moto, ANY, &format!("{base}/{TAG}/manifest.json"))
    );
}
