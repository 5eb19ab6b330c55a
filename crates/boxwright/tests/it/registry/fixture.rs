//! The registry under test: Debian's `docker-registry` (the CNCF distribution registry, 2.8)
//! on 127.0.0.1 with a random port, its storage in a temporary directory and its log (access
//! log included) captured in a file. Plain http, basic auth (htpasswd), bearer tokens from a
//! [`TokenIssuer`] or TLS with a certificate of a [`TestCa`]; it can be killed and started
//! again on the same port and storage. Plus the helpers the registry tests share.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::tls::TestCa;
use super::token::TokenIssuer;
use crate::support::{TestProject, example_project, require_tool, tools_for_examples};

/// How the registry is set up; `Setup::default()` is anonymous plain http.
#[derive(Default, Clone, Copy)]
pub struct Setup<'a> {
    /// Basic authentication for these users.
    pub htpasswd: Option<&'a [(&'a str, &'a str)]>,
    /// Bearer tokens from this issuer.
    pub token: Option<&'a TokenIssuer>,
    /// https with a server certificate of this CA.
    pub tls: Option<&'a TestCa>,
    /// With `tls`: clients must present a certificate of that CA (mutual TLS).
    pub client_certificates: bool,
}

/// A registry process, killed on drop.
pub struct Registry {
    child: Child,
    port: u16,
    pub dir: tempfile::TempDir,
    config: PathBuf,
}

/// A position in the registry's log, for what happened after it.
#[derive(Debug, Clone, Copy)]
pub struct LogMark(usize);

impl Registry {
    /// Starts a registry; with `htpasswd`, basic authentication for its users.
    pub fn start(htpasswd: Option<&[(&str, &str)]>) -> Registry {
        Registry::start_with(Setup {
            htpasswd,
            ..Setup::default()
        })
    }

    /// Starts a registry set up as `setup` says.
    pub fn start_with(setup: Setup<'_>) -> Registry {
        require_tool("docker-registry", "apt-get install docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let storage = dir.path().join("storage");
        std::fs::create_dir(&storage).unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if let Some(ca) = setup.tls {
            let (certificate, key) = ca.write_server_files(dir.path());
            writeln!(
                config,
                "  tls:\n    certificate: {}\n    key: {}",
                certificate.display(),
                key.display()
            )
            .unwrap();
            if setup.client_certificates {
                let ca_file = ca.write_ca(&dir.path().join("client-ca.pem"));
                writeln!(config, "    clientcas:\n      - {}", ca_file.display()).unwrap();
            }
        }
        assert!(
            setup.htpasswd.is_none() || setup.token.is_none(),
            "one kind of authentication at a time"
        );
        if let Some(users) = setup.htpasswd {
            let file = dir.path().join("htpasswd");
            write_htpasswd(&file, users);
            writeln!(
                config,
                "auth:\n  htpasswd:\n    realm: boxwright-test\n    path: {}",
                file.display()
            )
            .unwrap();
        }
        if let Some(issuer) = setup.token {
            let bundle = dir.path().join("token-signer.pem");
            std::fs::write(&bundle, issuer.root_certificate_pem()).unwrap();
            writeln!(
                config,
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    \
                 rootcertbundle: {}",
                issuer.realm(),
                super::token::SERVICE,
                super::token::ISSUER,
                bundle.display()
            )
            .unwrap();
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = spawn_registry(dir.path(), &config_path);
        let registry = Registry {
            child,
            port,
            dir,
            config: config_path,
        };
        registry.wait_listening();
        registry
    }

    /// Kills the registry and starts it again on the same port, configuration and storage;
    /// the new process appends to the same log (take a [`Registry::mark`] before to tell the
    /// runs apart).
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn_registry(self.dir.path(), &self.config);
        self.wait_listening();
    }

    /// Kills the registry process (SIGKILL: no graceful end of open requests).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the registry did not listen on port {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's combined log (access log lines included) of every run.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The end of the log as it is now.
    pub fn mark(&self) -> LogMark {
        LogMark(self.log().len())
    }

    /// The log written after `mark`.
    pub fn log_since(&self, mark: LogMark) -> String {
        self.log().get(mark.0..).unwrap_or_default().to_string()
    }

    /// Access-log lines of blob upload requests (POST, PATCH or PUT to `/blobs/uploads/`).
    pub fn upload_requests(&self) -> usize {
        upload_requests(&self.log())
    }

    /// [`Registry::upload_requests`] after `mark`.
    pub fn upload_requests_since(&self, mark: LogMark) -> usize {
        upload_requests(&self.log_since(mark))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_registry(dir: &Path, config: &Path) -> Child {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("registry.log"))
        .unwrap();
    Command::new("docker-registry")
        .arg("serve")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("docker-registry starts")
}

/// The access-log lines of `log` that are blob upload requests.
fn upload_requests(log: &str) -> usize {
    log.lines()
        .filter(|line| {
            ["\"POST ", "\"PATCH ", "\"PUT "]
                .iter()
                .any(|m| line.contains(m))
                && line.contains("/blobs/uploads/")
        })
        .count()
}

/// The blob upload PUTs of `log` (the requests that end an upload): for each, the digest it
/// names and the answer's status. Access-log lines look like
/// `"PUT /v2/<name>/blobs/uploads/<id>?_state=..&digest=sha256%3A<hex> HTTP/1.1" 201 ...`.
pub fn upload_puts(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter_map(|line| {
            let request = line.split_once("\"PUT ")?.1;
            let (request, rest) = request.split_once('"')?;
            if !request.contains("/blobs/uploads/") {
                return None;
            }
            let status = rest.split_whitespace().next()?.to_string();
            let uri = request.split_whitespace().next()?;
            let value = uri
                .split_once('?')?
                .1
                .split('&')
                .find_map(|pair| pair.strip_prefix("digest="))?;
            Some((value.replace("%3A", ":").replace("%3a", ":"), status))
        })
        .collect()
}

/// The digests of the blob uploads `log` shows as finished (a PUT answered 201).
pub fn finished_uploads(log: &str) -> Vec<String> {
    upload_puts(log)
        .into_iter()
        .filter(|(_, status)| status == "201")
        .map(|(digest, _)| digest)
        .collect()
}

/// A bcrypt htpasswd file: `htpasswd -B`, else python3's bcrypt module.
fn write_htpasswd(path: &Path, users: &[(&str, &str)]) {
    let have_htpasswd = Command::new("sh")
        .args(["-c", "command -v htpasswd"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut content = String::new();
    for (user, password) in users {
        let out = if have_htpasswd {
            Command::new("htpasswd")
                .args(["-nbB", user, password])
                .output()
                .unwrap()
        } else {
            Command::new("python3")
                .args([
                    "-c",
                    "import bcrypt,sys; print(sys.argv[1] + ':' + bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt()).decode())",
                    user,
                    password,
                ])
                .output()
                .expect("htpasswd (apt-get install apache2-utils) or python3 with bcrypt")
        };
        assert!(
            out.status.success(),
            "htpasswd (apt-get install apache2-utils): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        content.push_str(String::from_utf8(out.stdout).unwrap().trim());
        content.push('\n');
    }
    std::fs::write(path, content).unwrap();
}

/// The example project's `hello` built and assembled as an OCI layout.
pub fn hello_layout() -> (TestProject, PathBuf) {
    tools_for_examples();
    let project = example_project();
    let out = project
        .boxwright()
        .args(["build", "hello"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boxwright build hello: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let layout = project.path().join("hello-oci");
    let out = project
        .boxwright()
        .args(["image", "build", "hello", "--format", "oci", "-o"])
        .arg(&layout)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boxwright image build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (project, layout)
}

/// `skopeo inspect --tls-verify=false ARGS docker://REFERENCE`.
pub fn skopeo_inspect(args: &[&str], reference: &str) -> Output {
    Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .args(args)
        .arg(format!("docker://{reference}"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `boxwright` in the project, without registry credentials from the environment or from a
/// docker or containers auth file.
pub fn boxwright(project: &TestProject) -> assert_cmd::Command {
    let mut cmd = project.boxwright();
    cmd.env_remove("BOXWRIGHT_REGISTRY_USERNAME")
        .env_remove("BOXWRIGHT_REGISTRY_PASSWORD")
        .env_remove("REGISTRY_AUTH_FILE")
        .env("DOCKER_CONFIG", project.path().join(".no-docker-config"));
    cmd
}

/// `boxwright ARGS` in the project, without registry credentials (see [`boxwright`]).
pub fn run(project: &TestProject, args: &[&str]) -> Output {
    boxwright(project).args(args).output().unwrap()
}

/// The command's stdout, after asserting that it succeeded.
pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Writes `bytes` as a blob of the layout and returns its descriptor.
pub fn blob(layout: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let hex = crate::support::sha256_hex(bytes);
    std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
    serde_json::json!({
        "mediaType": media_type,
        "digest": format!("sha256:{hex}"),
        "size": bytes.len(),
    })
}

/// The registry's file for a blob.
pub fn registry_blob(registry: &Registry, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap();
    registry
        .dir
        .path()
        .join("storage/docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}
