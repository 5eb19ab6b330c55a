//! Every command's `--json` output, in success and in failure, validated against its schema in
//! docs/schemas/ by an independent checker, `check-jsonschema` (scripts/setup.sh installs it
//! in .venv-tools). Each test collects its documents and starts the checker once for all of
//! them. A failing command prints exactly one `{"error": ...}` object on stdout (error.schema
//! .json) with its usual exit status, and the same message as the first line on stderr. The
//! clap tree is walked so that a command without a schema or without a case here fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::registry::fixture::{self, Registry};
use crate::registry::mirror::{Upstream, project as mirror_project};
use crate::support::serve::{Repo, Served, deb};
use crate::support::{TestProject, edit_metadata, example_project, tools_for_examples};

/// The commands whose outputs the project test checks (schema names: `image push` is
/// `image-push`).
const PROJECT_COMMANDS: &[&str] = &[
    "targets",
    "metadata-get",
    "schema",
    "fetch",
    "build",
    "release-check",
    "release-package",
    "release-manifest",
    "release-publish",
    "release-verify",
    "verify",
    "image-build",
    "key-generate",
    "sign-blob",
    "verify-blob",
    "sbom",
    "provenance",
    "package",
    "repo-index",
    "ci-generate",
    "ci-check",
    "init",
];
const REGISTRY_COMMANDS: &[&str] = &[
    "image-push",
    "image-exists",
    "image-tags",
    "image-inspect",
    "image-merge",
    "image-pull",
    "image-sign",
    "image-attest",
    "image-verify",
    "login",
    "logout",
];
const MIRROR_COMMANDS: &[&str] = &["plan", "mirror-run", "mirror-build", "mirror-merge"];
const SERVE_COMMANDS: &[&str] = &["serve", "repo-upload"];
/// Commands that print a script or a page, never JSON (their usage errors under `--json` are
/// error objects, checked in `a_refused_command_line_prints_the_error_object`'s way here).
const TEXT_ONLY: &[&str] = &["completions", "man"];
/// Checked in failure only: a success needs signed distribution indexes (image_packages.rs
/// and image_local_repos.rs cover it); its schema is still checked against the metaschema.
const FAILURE_ONLY: &[&str] = &["image-lock"];

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas")
}

fn checker() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tools/bin/check-jsonschema");
    assert!(
        path.exists(),
        "this test needs check-jsonschema in .venv-tools: run scripts/setup.sh"
    );
    path
}

/// The documents one test collected, each with the schema it must satisfy.
struct Collected {
    dir: tempfile::TempDir,
    documents: serde_json::Map<String, Value>,
    schemas: serde_json::Map<String, Value>,
    succeeded: BTreeSet<String>,
    failed: BTreeSet<String>,
}

impl Collected {
    fn new() -> Collected {
        Collected {
            dir: tempfile::tempdir().unwrap(),
            documents: serde_json::Map::new(),
            schemas: serde_json::Map::new(),
            succeeded: BTreeSet::new(),
            failed: BTreeSet::new(),
        }
    }

    fn add(&mut self, schema: &str, document: Value) {
        let file = schemas_dir().join(format!("{schema}.schema.json"));
        assert!(file.is_file(), "no schema for {schema}: {}", file.display());
        let key = format!("{}-{schema}", self.documents.len());
        let uri = format!("file://{}", file.canonicalize().unwrap().display());
        self.schemas.insert(key.clone(), json!({ "$ref": uri }));
        self.documents.insert(key, document);
    }

    /// A success (exit `status`): stdout is exactly one JSON document, checked as `schema`.
    fn ok_with(&mut self, schema: &str, status: i32, out: &Output) -> Value {
        assert_eq!(
            out.status.code(),
            Some(status),
            "{schema}: stdout {}\nstderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let document = one_document(schema, &out.stdout);
        self.add(schema, document.clone());
        self.succeeded.insert(schema.to_owned());
        document
    }

    fn ok(&mut self, schema: &str, out: &Output) -> Value {
        self.ok_with(schema, 0, out)
    }

    /// A failure of `schema`'s command (exit `status`): stdout is one error object, and
    /// stderr's first line is its message.
    fn failed(&mut self, schema: &str, status: i32, out: &Output) -> Value {
        assert_eq!(
            out.status.code(),
            Some(status),
            "{schema}: stdout {}\nstderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let document = one_document(schema, &out.stdout);
        let message = document["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}: not an error object: {document}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr
                .lines()
                .any(|line| line == format!("error: {message}")),
            "{schema}: stderr does not say {message:?}: {stderr}"
        );
        self.add("error", document.clone());
        self.failed.insert(schema.to_owned());
        document
    }

    /// Validates every document with one run of the checker, then asserts that `commands`
    /// each had a success and a failure, and `failure_only` a failure.
    fn check(self, commands: &[&str], failure_only: &[&str]) {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": self.schemas,
            "required": self.schemas.keys().collect::<Vec<_>>(),
        });
        let schema_file = self.dir.path().join("all.schema.json");
        let instance = self.dir.path().join("outputs.json");
        std::fs::write(&schema_file, serde_json::to_vec_pretty(&schema).unwrap()).unwrap();
        std::fs::write(
            &instance,
            serde_json::to_vec_pretty(&self.documents).unwrap(),
        )
        .unwrap();
        let out = Command::new(checker())
            .arg("--schemafile")
            .arg(&schema_file)
            .arg(&instance)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "check-jsonschema: {}{}\ndocuments: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            serde_json::to_string_pretty(&self.documents).unwrap()
        );
        let names = |list: &[&str]| -> BTreeSet<String> {
            list.iter().map(|name| (*name).to_owned()).collect()
        };
        assert_eq!(
            self.succeeded,
            names(commands),
            "commands checked in success"
        );
        let expected = names(&[commands, failure_only].concat());
        assert_eq!(self.failed, expected, "commands checked in failure");
    }
}

/// Stdout as exactly one JSON document (serde_json refuses anything after it).
fn one_document(what: &str, stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(stdout)
        )
    })
}

/// `boxwright --json ARGS` in `project` (also its working directory), without registry
/// credentials from the environment.
fn json(project: &TestProject, args: &[&str]) -> Output {
    command(project).args(args).output().unwrap()
}

fn command(project: &TestProject) -> assert_cmd::Command {
    let mut cmd = fixture::boxwright(project);
    cmd.current_dir(project.path()).arg("--json");
    cmd
}

/// A closed port on loopback: connections to it are refused.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    address
}

#[test]
fn project_commands_print_one_schema_valid_document() {
    tools_for_examples();
    let project = example_project();
    let mut c = Collected::new();
    metadata_build_and_package(&mut c, &project);
    keys_and_blobs(&mut c, &project);
    release(&mut c, &project);
    images_sboms_and_packages(&mut c, &project);
    ci_files(&mut c, &project);
    c.check(PROJECT_COMMANDS, FAILURE_ONLY);
}

/// `--json` and a key password from the environment, in `project`.
fn with_keys(project: &TestProject) -> assert_cmd::Command {
    let mut cmd = command(project);
    cmd.env("COSIGN_PASSWORD", "").env("MINISIGN_PASSWORD", "");
    cmd
}

fn metadata_build_and_package(c: &mut Collected, project: &TestProject) {
    let p = project.path();
    let path = |relative: &str| p.join(relative).to_str().unwrap().to_owned();
    c.ok("targets", &json(project, &["targets"]));
    c.failed(
        "targets",
        2,
        &json(project, &["--project", "/nonexistent", "targets"]),
    );
    c.ok(
        "metadata-get",
        &json(project, &["metadata", "get", "hello", "release_files"]),
    );
    c.failed(
        "metadata-get",
        2,
        &json(project, &["metadata", "get", "nosuch", "env"]),
    );
    c.ok("schema", &json(project, &["schema"]));
    c.failed("schema", 2, &json(project, &["schema", "extra"]));

    let fetched = c.ok("fetch", &json(project, &["fetch", "hello"]));
    assert_eq!(fetched[0]["outcome"], "downloaded", "{fetched}");
    c.failed("fetch", 2, &json(project, &["fetch", "nosuch"]));
    c.ok("build", &json(project, &["build", "hello", "--dry-run"]));
    c.ok("build", &json(project, &["build", "hello"]));
    c.failed("build", 2, &json(project, &["build", "nosuch"]));
    c.ok("verify", &json(project, &["verify", &path(".out/hello")]));
    c.failed("verify", 2, &json(project, &["verify", &path("missing")]));

    c.ok(
        "release-check",
        &json(project, &["release", "check", "hello-1.0.0.0"]),
    );
    c.failed(
        "release-check",
        1,
        &json(project, &["release", "check", "hello-9.9.9.0"]),
    );
    let dry = c.ok(
        "release-package",
        &json(
            project,
            &["release", "package", "hello-1.0.0.0", "--dry-run"],
        ),
    );
    let real = c.ok(
        "release-package",
        &json(project, &["release", "package", "hello-1.0.0.0"]),
    );
    for key in ["tag", "target", "path", "entries"] {
        assert_eq!(dry[key], real[key], "{key}: a dry run and a run agree");
    }
    c.failed(
        "release-package",
        1,
        &json(project, &["release", "package", "hello-2.0.0.0"]),
    );
}

fn keys_and_blobs(c: &mut Collected, project: &TestProject) {
    let p = project.path();
    let path = |relative: &str| p.join(relative).to_str().unwrap().to_owned();
    std::fs::create_dir_all(p.join("keys")).unwrap();
    let key = |args: &[&str]| {
        let mut cmd = command(project);
        cmd.env("COSIGN_PASSWORD", "").env("MINISIGN_PASSWORD", "");
        cmd.args(args).output().unwrap()
    };
    c.ok(
        "key-generate",
        &key(&["key", "generate", "--out", &path("keys/k")]),
    );
    c.ok(
        "key-generate",
        &key(&[
            "key",
            "generate",
            "--format",
            "rsa",
            "--out",
            &path("keys/rsa"),
        ]),
    );
    c.failed(
        "key-generate",
        2,
        &key(&["key", "generate", "--out", &path("no/dir/k")]),
    );
    c.ok(
        "sign-blob",
        &key(&["sign-blob", "metadata.json", "--key", "keys/k.key"]),
    );
    c.ok(
        "sign-blob",
        &key(&[
            "sign-blob",
            "metadata.json",
            "--key",
            "keys/k.key",
            "--output-signature",
            "m.sig",
        ]),
    );
    c.failed(
        "sign-blob",
        2,
        &key(&["sign-blob", "metadata.json", "--key", "keys/none.key"]),
    );
    let blob = [
        "verify-blob",
        "metadata.json",
        "--key",
        "keys/k.pub",
        "--signature",
        "m.sig",
    ];
    c.ok("verify-blob", &key(&blob));
    std::fs::write(p.join("other.txt"), "not what was signed").unwrap();
    let tampered = [
        "verify-blob",
        "other.txt",
        "--key",
        "keys/k.pub",
        "--signature",
        "m.sig",
    ];
    c.ok_with("verify-blob", 1, &key(&tampered));
    c.failed(
        "verify-blob",
        2,
        &key(&[
            "verify-blob",
            "metadata.json",
            "--key",
            "keys/k.pub",
            "--signature",
            "none.sig",
        ]),
    );
}

fn release(c: &mut Collected, project: &TestProject) {
    let p = project.path();
    let path = |relative: &str| p.join(relative).to_str().unwrap().to_owned();
    let key = |args: &[&str]| with_keys(project).args(args).output().unwrap();
    c.failed(
        "release-manifest",
        2,
        &key(&["release", "manifest", "hello-1.0.0.0"]),
    );
    c.failed(
        "release-publish",
        2,
        &key(&["release", "publish", "hello-1.0.0.0", "--to", &path("pub")]),
    );
    edit_metadata(project, |m| {
        m["hello"]["release"] = json!({
            "artifacts": { "{TAG}.tar.gz": "archive", "hello": "file:.out/hello/bin/hello" },
            "manifest_key_env": "HELLO_RELEASE_KEY",
            "signature": "cosign",
        });
    });
    let signing_key = std::fs::read_to_string(p.join("keys/k.key")).unwrap();
    let release = |args: &[&str]| {
        let mut cmd = command(project);
        cmd.env("COSIGN_PASSWORD", "")
            .env("HELLO_RELEASE_KEY", &signing_key);
        cmd.args(args).output().unwrap()
    };
    c.ok(
        "release-manifest",
        &release(&["release", "manifest", "hello-1.0.0.0", "-o", &path("man")]),
    );
    c.ok(
        "release-publish",
        &release(&["release", "publish", "hello-1.0.0.0", "--to", &path("pub")]),
    );
    c.ok(
        "release-verify",
        &release(&[
            "release",
            "verify",
            &path("pub/hello"),
            "--key",
            "keys/k.pub",
        ]),
    );
    c.failed(
        "release-verify",
        2,
        &release(&["release", "verify", &path("nothing"), "--key", "keys/k.pub"]),
    );
}

fn images_sboms_and_packages(c: &mut Collected, project: &TestProject) {
    let p = project.path();
    let path = |relative: &str| p.join(relative).to_str().unwrap().to_owned();
    let key = |args: &[&str]| with_keys(project).args(args).output().unwrap();
    let layout = path("hello-oci");
    c.ok(
        "image-build",
        &json(
            project,
            &["image", "build", "hello", "--format", "oci", "-o", &layout],
        ),
    );
    c.failed(
        "image-build",
        2,
        &json(
            project,
            &["image", "build", "static-proxy", "-o", &path("x")],
        ),
    );
    c.ok_with("verify", 1, &json(project, &["verify", "--image", &layout]));
    c.failed("image-lock", 2, &json(project, &["image", "lock", "hello"]));
    c.ok(
        "sbom",
        &json(project, &["sbom", &layout, "--format", "spdx-json"]),
    );
    c.ok(
        "sbom",
        &json(
            project,
            &[
                "sbom",
                &layout,
                "--format",
                "cyclonedx-json",
                "-o",
                &path("sbom.json"),
            ],
        ),
    );
    c.failed(
        "sbom",
        2,
        &json(
            project,
            &["sbom", &path("nothing"), "--format", "spdx-json"],
        ),
    );
    c.ok("provenance", &json(project, &["provenance", &layout]));
    c.ok(
        "provenance",
        &json(project, &["provenance", &layout, "-o", &path("prov.json")]),
    );
    c.failed(
        "provenance",
        2,
        &json(project, &["provenance", &path("nothing")]),
    );

    let packages = path("repo/apt/pool/stable/main");
    c.ok(
        "package",
        &json(
            project,
            &[
                "package", "hello", "--format", "deb", "--arch", "x86_64", "-o", &packages,
            ],
        ),
    );
    c.failed(
        "package",
        2,
        &json(
            project,
            &["package", "hello", "--format", "apk", "-o", &packages],
        ),
    );
    let apt_key = c.ok(
        "key-generate",
        &key(&[
            "key",
            "generate",
            "--format",
            "openpgp",
            "--out",
            &path("keys/apt"),
        ]),
    );
    let apt_key = apt_key["private_key"].as_str().unwrap();
    let indexed = c.ok(
        "repo-index",
        &json(
            project,
            &["repo", "index", &path("repo"), "--apt-key", apt_key],
        ),
    );
    assert_eq!(indexed[0]["packages"], 1, "{indexed}");
    c.failed(
        "repo-index",
        2,
        &json(project, &["repo", "index", &path("nothing")]),
    );
}

fn ci_files(c: &mut Collected, project: &TestProject) {
    let p = project.path();
    c.ok("ci-generate", &json(project, &["ci", "generate", "github"]));
    c.ok("ci-check", &json(project, &["ci", "check"]));
    c.failed(
        "ci-generate",
        2,
        &json(project, &["ci", "generate", "github", "--child"]),
    );
    let starter = p.join("starter");
    let init = c.ok(
        "init",
        &json(
            project,
            &["init", starter.to_str().unwrap(), "--name", "demo"],
        ),
    );
    assert_eq!(init["target"], "demo", "{init}");
    c.failed(
        "init",
        2,
        &json(
            project,
            &["init", starter.to_str().unwrap(), "--name", "demo"],
        ),
    );
    let workflow = p.join(".github/workflows/boxwright-release.yml");
    let mut edited = std::fs::read_to_string(&workflow).unwrap();
    edited.push_str("# edited by hand\n");
    std::fs::write(&workflow, edited).unwrap();
    let drift = c.ok_with("ci-check", 1, &json(project, &["ci", "check"]));
    assert_eq!(drift[0]["status"], "changed", "{drift}");
    c.failed(
        "ci-check",
        2,
        &json(project, &["--project", "/nonexistent", "ci", "check"]),
    );
}

#[test]
fn registry_commands_print_one_schema_valid_document() {
    let (project, layout) = fixture::hello_layout();
    let registry = Registry::start(None);
    let host = registry.host();
    let layout = layout.to_str().unwrap().to_owned();
    std::fs::create_dir_all(project.path().join("keys")).unwrap();
    let key = project.path().join("keys/k");
    fixture::ok(
        &fixture::boxwright(&project)
            .env("COSIGN_PASSWORD", "")
            .args(["key", "generate", "--out"])
            .arg(&key)
            .output()
            .unwrap(),
        "key generate",
    );
    std::fs::write(project.path().join("predicate.json"), r#"{"a": 1}"#).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = command(&project);
        cmd.env("COSIGN_PASSWORD", "");
        cmd.args(args).output().unwrap()
    };
    let mut c = Collected::new();

    let auth_file = project.path().join("auth.json");
    let login = |args: &[&str]| {
        let mut cmd = command(&project);
        cmd.env("REGISTRY_AUTH_FILE", &auth_file)
            .env("BOXWRIGHT_REGISTRY_PASSWORD", "secret");
        cmd.args(args).output().unwrap()
    };
    c.ok(
        "login",
        &login(&["login", &host, "--registry-username", "ci"]),
    );
    c.failed(
        "login",
        2,
        &login(&["login", &closed_port(), "--registry-username", "ci"]),
    );
    c.ok("logout", &login(&["logout", &host]));
    c.failed("logout", 2, &login(&["logout", &host]));
    let digest = pushed_and_inspected(&mut c, &run, &host, &layout);
    let pulled = project.path().join("pulled");
    merged_pulled_and_signed(&mut c, &run, &host, &digest, &pulled);
    c.check(REGISTRY_COMMANDS, &[]);
}

/// `run` is `boxwright --json ARGS` in the project of the pushed `layout`.
/// Returns the digest pushed.
fn pushed_and_inspected(
    c: &mut Collected,
    run: &dyn Fn(&[&str]) -> Output,
    host: &str,
    layout: &str,
) -> String {
    let reference = format!("{host}/hello:1.0");
    let unreachable = format!("{}/hello:1.0", closed_port());
    let missing = format!("{host}/nosuch:1.0");
    let pushed = c.ok("image-push", &run(&["image", "push", layout, &reference]));
    let digest = pushed["digest"].as_str().unwrap().to_owned();
    c.failed(
        "image-push",
        2,
        &run(&["image", "push", layout, &unreachable]),
    );
    c.ok("image-exists", &run(&["image", "exists", &reference]));
    c.ok_with("image-exists", 1, &run(&["image", "exists", &missing]));
    let down = c.failed("image-exists", 2, &run(&["image", "exists", &unreachable]));
    assert_eq!(down["error"]["kind"], "network", "{down}");
    c.ok(
        "image-tags",
        &run(&["image", "tags", &format!("{host}/hello")]),
    );
    c.failed(
        "image-tags",
        2,
        &run(&["image", "tags", &format!("{host}/nosuch")]),
    );
    c.ok("image-inspect", &run(&["image", "inspect", &reference]));
    c.failed("image-inspect", 2, &run(&["image", "inspect", &missing]));
    digest
}

fn merged_pulled_and_signed(
    c: &mut Collected,
    run: &dyn Fn(&[&str]) -> Output,
    host: &str,
    digest: &str,
    pulled: &Path,
) {
    let reference = format!("{host}/hello:1.0");
    let missing = format!("{host}/nosuch:1.0");
    let multi = format!("{host}/hello:multi");
    c.ok("image-merge", &run(&["image", "merge", &multi, digest]));
    c.failed(
        "image-merge",
        2,
        &run(&[
            "image",
            "merge",
            &multi,
            &format!("sha256:{}", "0".repeat(64)),
        ]),
    );
    c.ok("image-inspect", &run(&["image", "inspect", &multi]));
    c.ok(
        "image-pull",
        &run(&["image", "pull", &reference, "-o", pulled.to_str().unwrap()]),
    );
    c.failed(
        "image-pull",
        2,
        &run(&["image", "pull", &missing, "-o", pulled.to_str().unwrap()]),
    );
    c.ok(
        "image-sign",
        &run(&["image", "sign", &reference, "--key", "keys/k.key"]),
    );
    c.failed(
        "image-sign",
        2,
        &run(&["image", "sign", &reference, "--key", "keys/none.key"]),
    );
    let attest = [
        "image",
        "attest",
        &reference,
        "--key",
        "keys/k.key",
        "--predicate",
        "predicate.json",
        "--type",
        "https://example.org/p",
    ];
    c.ok("image-attest", &run(&attest));
    c.failed(
        "image-attest",
        2,
        &run(&[
            "image",
            "attest",
            &reference,
            "--key",
            "keys/k.key",
            "--predicate",
            "none.json",
        ]),
    );
    c.ok(
        "image-verify",
        &run(&["image", "verify", &reference, "--key", "keys/k.pub"]),
    );
    c.ok_with(
        "image-verify",
        1,
        &run(&[
            "image",
            "verify",
            &format!("{host}/hello:multi"),
            "--key",
            "keys/k.pub",
        ]),
    );
    c.failed(
        "image-verify",
        2,
        &run(&["image", "verify", &missing, "--key", "keys/k.pub"]),
    );
}

#[test]
fn mirror_commands_print_one_schema_valid_document() {
    let registry = Registry::start(None);
    let upstream = Upstream::start(&["1.0.0"]);
    let project = mirror_project(&upstream, false);
    let mirror = format!("{}/mirror", registry.host());
    let unreachable = closed_port();
    let mut c = Collected::new();

    c.ok(
        "plan",
        &json(&project, &["plan", "app", "--registry", &mirror]),
    );
    c.failed(
        "plan",
        2,
        &json(&project, &["plan", "nosuch", "--registry", &mirror]),
    );
    let built = c.ok(
        "mirror-build",
        &json(
            &project,
            &[
                "mirror",
                "build",
                "app",
                "--version",
                "1.0.0",
                "--arch",
                "amd64",
                "--registry",
                &mirror,
            ],
        ),
    );
    let digest = built["digest"].as_str().unwrap().to_owned();
    c.failed(
        "mirror-build",
        2,
        &json(
            &project,
            &[
                "mirror",
                "build",
                "app",
                "--version",
                "1.0.0",
                "--arch",
                "amd64",
                "--registry",
                &unreachable,
            ],
        ),
    );
    c.ok(
        "mirror-merge",
        &json(
            &project,
            &[
                "mirror",
                "merge",
                "app",
                "--version",
                "1.0.0",
                "--digest",
                &digest,
                "--registry",
                &mirror,
            ],
        ),
    );
    c.failed(
        "mirror-merge",
        2,
        &json(
            &project,
            &[
                "mirror",
                "merge",
                "app",
                "--version",
                "1.0.0",
                "--registry",
                &mirror,
            ],
        ),
    );
    c.ok(
        "mirror-run",
        &json(&project, &["mirror", "run", "app", "--registry", &mirror]),
    );
    c.failed(
        "mirror-run",
        2,
        &json(
            &project,
            &["mirror", "run", "app", "--registry", &unreachable],
        ),
    );

    c.check(MIRROR_COMMANDS, &[]);
}

#[test]
fn serve_prints_json_lines_and_upload_one_document() {
    let repo = Repo::new();
    repo.apk_key();
    repo.apt_key();
    let config = repo.config("");
    let mut c = Collected::new();
    let served = Served::start_json(&config);
    c.add("serve", one_document("serve", served.first_line.as_bytes()));
    c.succeeded.insert("serve".into());
    let missing = repo.path("missing.yaml");
    let refused = crate::support::boxwright_std()
        .args(["--json", "serve", "--config"])
        .arg(&missing)
        .output()
        .unwrap();
    c.failed("serve", 2, &refused);

    let package = deb(&repo.path("build"), "hello-box");
    let upload = |url: &str| {
        crate::support::boxwright_std()
            .args(["--json", "repo", "upload", url])
            .arg(&package)
            .args(["--suite", "stable", "--component", "main"])
            .output()
            .unwrap()
    };
    let uploaded = c.ok("repo-upload", &upload(&served.url));
    assert_eq!(uploaded["packages"][0]["added"], true, "{uploaded}");
    c.failed(
        "repo-upload",
        2,
        &upload(&format!("http://{}", closed_port())),
    );

    c.check(SERVE_COMMANDS, &[]);
}

/// `boxwright`'s leaf commands, by walking `--help`: `image push` is `image-push`.
fn leaf_commands(path: &[String]) -> Vec<String> {
    let out = crate::support::boxwright_std()
        .args(path)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let subcommands: Vec<String> = help
        .lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .filter(|name| name != "help")
        .collect();
    if subcommands.is_empty() {
        return vec![path.join("-")];
    }
    subcommands
        .into_iter()
        .flat_map(|name| {
            let mut next = path.to_vec();
            next.push(name);
            leaf_commands(&next)
        })
        .collect()
}

#[test]
fn every_command_has_a_schema_and_is_checked() {
    let leaves: BTreeSet<String> = leaf_commands(&[])
        .into_iter()
        .filter(|leaf| !TEXT_ONLY.contains(&leaf.as_str()))
        .collect();
    for text_only in TEXT_ONLY {
        let out = crate::support::boxwright()
            .args(["--json", text_only, "--nosuchflag"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text_only}");
        let document = one_document(text_only, &out.stdout);
        assert!(document["error"]["message"].is_string(), "{document}");
    }
    let checked: BTreeSet<String> = [
        PROJECT_COMMANDS,
        REGISTRY_COMMANDS,
        MIRROR_COMMANDS,
        SERVE_COMMANDS,
        FAILURE_ONLY,
    ]
    .concat()
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(
        leaves, checked,
        "every command's --json output is checked here"
    );
    let mut files: Vec<PathBuf> = Vec::new();
    for command in leaves.iter().map(String::as_str).chain(["error"]) {
        let file = schemas_dir().join(format!("{command}.schema.json"));
        assert!(
            file.is_file(),
            "`{command}` has no schema: {}",
            file.display()
        );
        files.push(file);
    }
    let on_disk = std::fs::read_dir(schemas_dir()).unwrap().count();
    assert_eq!(
        on_disk,
        files.len(),
        "docs/schemas holds a schema of a command that is gone"
    );
    let out = Command::new(checker())
        .arg("--check-metaschema")
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "schemas are not valid JSON Schema: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_refused_command_line_prints_the_error_object() {
    let out = crate::support::boxwright_std()
        .args(["--json", "image", "push"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let document = one_document("usage", &out.stdout);
    assert_eq!(document["error"]["kind"], "usage", "{document}");
    let out = crate::support::boxwright_std()
        .args(["--json", "targets", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let document = one_document("usage", &out.stdout);
    assert!(
        document["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--no-such-flag")),
        "{document}"
    );
    let help = crate::support::boxwright_std()
        .args(["--json", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage:"));
}

/// The first line of an error names the root cause; the block is at most three lines.
fn assert_root_cause_first(stderr: &str) {
    let block: Vec<&str> = stderr
        .lines()
        .skip_while(|line| !line.starts_with("error: "))
        .collect();
    assert!(
        block
            .first()
            .is_some_and(|line| line.to_lowercase().contains("connection refused")),
        "the first error line holds the root cause: {stderr}"
    );
    assert!(block.len() <= 3, "at most three lines: {stderr}");
}

#[test]
fn a_registry_that_is_down_is_named_on_the_first_line() {
    let out = crate::support::boxwright_std()
        .args(["image", "exists", &format!("{}/x:1", closed_port())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_root_cause_first(&stderr);
}

#[test]
fn a_download_from_a_closed_port_is_named_on_the_first_line() {
    let url = format!("http://{}/src.tar.gz", closed_port());
    let project = TestProject::new(
        &json!({"t": {"tag_prefix": "t", "version_env_var": "T_VERSION", "env": {"T_VERSION": "1"},
                      "downloads": [{"url": url, "name": "src.tar.gz"}]}})
        .to_string(),
    );
    let out = project.boxwright().args(["fetch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_root_cause_first(&String::from_utf8_lossy(&out.stderr));
}
