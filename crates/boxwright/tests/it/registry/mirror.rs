//! `plan` and `mirror run` end to end: a fake GitHub releases API and a file server of
//! release archives on loopback, a real registry (Debian's docker-registry), skopeo as the
//! second opinion. Three upstream versions x two architectures become three indexes with both
//! platforms and `latest` on the semantically highest; a second run uploads nothing; a fourth
//! version builds only its two pairs and moves `latest`.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Value, json};

use super::fixture::{Registry, ok, run, skopeo_inspect};
use crate::support::TestProject;
use crate::support::http::{FixtureServer, Reply};

/// A gzip tarball of `app-<version>/bin/app` (a script naming version and architecture) and
/// `app-<version>/README`.
fn release_archive(version: &str, arch: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, body, mode) in [
        (
            format!("app-{version}/bin/app"),
            format!("#!/bin/sh\necho app {version} {arch}\n"),
            0o755,
        ),
        (
            format!("app-{version}/README"),
            format!("app {version}\n"),
            0o644,
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(mode);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        tar.append_data(&mut header, path, body.as_bytes()).unwrap();
    }
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// GitHub's releases JSON for `tags` (in the order given: newest by date first), plus a draft
/// and a prerelease that must be skipped.
fn releases(tags: &[&str]) -> Vec<u8> {
    let mut list: Vec<Value> = tags
        .iter()
        .map(|tag| json!({"tag_name": tag, "draft": false, "prerelease": false}))
        .collect();
    list.push(json!({"tag_name": "v9.0.0", "draft": true, "prerelease": false}));
    list.push(json!({"tag_name": "v9.1.0-rc1", "draft": false, "prerelease": true}));
    serde_json::to_vec(&list).unwrap()
}

pub(crate) struct Upstream {
    server: FixtureServer,
}

impl Upstream {
    pub(crate) fn start(versions: &[&str]) -> Upstream {
        let upstream = Upstream {
            server: FixtureServer::start(),
        };
        upstream.publish(versions);
        upstream
    }

    /// Serves `versions` (archives for both architectures) and the releases list naming them.
    fn publish(&self, versions: &[&str]) {
        let tags: Vec<String> = versions.iter().map(|v| format!("v{v}")).collect();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let list = releases(&tags);
        for path in [
            "/repos/acme/app/releases?per_page=100",
            "/repos/acme/app/releases",
        ] {
            self.server.route(path, vec![Reply::Ok(list.clone())]);
        }
        for version in versions {
            let mut sums = String::new();
            for arch in ["amd64", "arm64"] {
                let body = release_archive(version, arch);
                let name = format!("app-{version}-linux-{arch}.tar.gz");
                let _ = writeln!(sums, "{}  {name}", crate::support::sha256_hex(&body));
                self.server
                    .route(&format!("/dl/v{version}/{name}"), vec![Reply::Ok(body)]);
            }
            self.server.route(
                &format!("/dl/v{version}/SHA256SUMS"),
                vec![Reply::Ok(sums.into_bytes())],
            );
        }
    }
}

pub(crate) fn project(upstream: &Upstream, checksums: bool) -> TestProject {
    let mut download = json!({
        "url": upstream.server.url("/dl/v{VERSION}/app-{VERSION}-linux-{ARCH}.tar.gz"),
        "name": "app-{VERSION}-linux-{ARCH}.tar.gz"
    });
    if checksums {
        download["checksums_url"] = json!(upstream.server.url("/dl/v{VERSION}/SHA256SUMS"));
    }
    let metadata = json!({
        "app": {
            "upstream": {"github": "acme/app", "api_url": upstream.server.url(""), "max_versions": 5},
            "downloads": [download],
            "image": {
                "platforms": ["linux/amd64", "linux/arm64"],
                "layers": [{"archive": "app-{VERSION}-linux-{ARCH}.tar.gz", "to": "/opt/app", "strip_components": 1}],
                "entrypoint": ["/opt/app/bin/app"],
                "labels": {"org.opencontainers.image.title": "app"}
            }
        }
    });
    TestProject::new(&serde_json::to_string_pretty(&metadata).unwrap())
}

fn run_json(project: &TestProject, args: &[&str]) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = run(project, &full);
    serde_json::from_str(&ok(&out, &args.join(" "))).unwrap()
}

fn index_platforms(registry: &Registry, tag: &str) -> (String, Vec<String>) {
    let out = skopeo_inspect(&["--raw"], &format!("{}/mirror/app:{tag}", registry.host()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    let digest = crate::support::sha256_hex(&out.stdout);
    (digest, platforms)
}

#[test]
fn mirror_run_builds_only_what_the_registry_lacks_and_moves_latest() {
    crate::support::require_tool("skopeo", "apt-get install skopeo");
    let registry = Registry::start(None);
    // Date order is not version order: 1.9.0 was released after 1.10.0.
    let upstream = Upstream::start(&["1.9.0", "1.10.0", "1.2.0"]);
    let project = project(&upstream, false);
    let registry_arg = format!("{}/mirror", registry.host());

    // The plan: three versions, none in the registry, six pairs; GitHub outputs appended.
    let outputs = project.path().join("github-output");
    let out = super::fixture::boxwright(&project)
        .env("GITHUB_OUTPUT", &outputs)
        .args(["--json", "plan", "app", "--registry", &registry_arg])
        .output()
        .unwrap();
    let plan: Value = serde_json::from_str(&ok(&out, "plan")).unwrap();
    assert_eq!(
        plan["versions"],
        json!(["1.10.0", "1.9.0", "1.2.0"]),
        "{plan}"
    );
    assert_eq!(plan["latest"], "1.10.0");
    assert_eq!(plan["existing"], json!([]));
    assert_eq!(plan["has_builds"], true);
    assert_eq!(plan["matrix"].as_array().unwrap().len(), 6);
    assert_eq!(
        plan["matrix"][1],
        json!({"version": "1.10.0", "arch": "arm64", "platform": "linux/arm64", "runner": "ubuntu-24.04-arm", "is_latest": true})
    );
    let written = std::fs::read_to_string(&outputs).unwrap();
    assert!(
        written.contains("\nhas-builds=true\n") && written.contains("latest=1.10.0\n"),
        "{written}"
    );

    // The whole pipeline.
    let report = run_json(
        &project,
        &["mirror", "run", "app", "--registry", &registry_arg],
    );
    assert_eq!(report["built"].as_object().unwrap().len(), 6, "{report}");
    assert_eq!(report["merged"].as_object().unwrap().len(), 3);
    for version in ["1.10.0", "1.9.0", "1.2.0"] {
        let (_, platforms) = index_platforms(&registry, version);
        assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{version}");
    }
    assert_eq!(
        index_platforms(&registry, "latest").0,
        index_platforms(&registry, "1.10.0").0
    );
    // The image holds the archive, stripped, at /opt/app.
    let config = skopeo_inspect(
        &["--config", "--override-arch", "arm64"],
        &format!("{}/mirror/app:1.9.0", registry.host()),
    );
    let config: Value = serde_json::from_slice(&config.stdout).unwrap();
    assert_eq!(config["config"]["Entrypoint"], json!(["/opt/app/bin/app"]));
    // Every download's digest was recorded on first fetch.
    let lock: Value =
        serde_json::from_slice(&std::fs::read(project.path().join("metadata.lock.json")).unwrap())
            .unwrap();
    assert_eq!(
        lock["targets"]["app"].as_object().unwrap().len(),
        6,
        "{lock}"
    );

    // A second run: nothing to build, nothing uploaded.
    let mark = registry.mark();
    let again = run_json(
        &project,
        &["mirror", "run", "app", "--registry", &registry_arg],
    );
    assert_eq!(again["built"], json!({}), "{again}");
    assert_eq!(again["plan"]["existing"].as_array().unwrap().len(), 3);
    assert_eq!(registry.upload_requests_since(mark), 0);
    assert!(
        !registry.log_since(mark).contains("\"PUT "),
        "the second run put something:\n{}",
        registry.log_since(mark)
    );

    // A fourth version upstream: only its two pairs, and `latest` moves to it.
    upstream.publish(&["1.11.0", "1.9.0", "1.10.0", "1.2.0"]);
    // With --locked, a download whose digest was never recorded is refused.
    let locked = run(
        &project,
        &[
            "mirror",
            "run",
            "app",
            "--registry",
            &registry_arg,
            "--locked",
        ],
    );
    assert_eq!(locked.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&locked.stderr).contains("--locked records nothing"),
        "{}",
        String::from_utf8_lossy(&locked.stderr)
    );
    let fourth = run_json(
        &project,
        &["mirror", "run", "app", "--registry", &registry_arg],
    );
    let built: Vec<&String> = fourth["built"].as_object().unwrap().keys().collect();
    assert_eq!(built, ["1.11.0/amd64", "1.11.0/arm64"], "{fourth}");
    assert_eq!(
        index_platforms(&registry, "latest").0,
        index_platforms(&registry, "1.11.0").0
    );
}

#[test]
fn checksum_files_and_the_lock_file_catch_changed_archives() {
    let registry = Registry::start(None);
    let upstream = Upstream::start(&["2.0.0"]);
    let project = project(&upstream, true);
    let registry_arg = format!("{}/mirror", registry.host());
    let digest_file = project.path().join("digests/amd64");
    let out = run(
        &project,
        &[
            "mirror",
            "build",
            "app",
            "--version",
            "2.0.0",
            "--platform",
            "linux/amd64",
            "--registry",
            &registry_arg,
            "--digest-file",
            &digest_file.to_string_lossy(),
        ],
    );
    let digest = ok(&out, "mirror build");
    assert_eq!(std::fs::read_to_string(&digest_file).unwrap(), digest);
    // With a checksum file, nothing is recorded in the lock.
    assert!(!project.path().join("metadata.lock.json").exists());

    // Upstream replaces the archive but not its checksum file: the fetch is refused.
    std::fs::remove_dir_all(project.path().join(".tmp")).unwrap();
    upstream.server.route(
        "/dl/v2.0.0/app-2.0.0-linux-arm64.tar.gz",
        vec![Reply::Ok(release_archive("2.0.0-evil", "arm64"))],
    );
    let out = run(
        &project,
        &[
            "mirror",
            "build",
            "app",
            "--version",
            "2.0.0",
            "--platform",
            "linux/arm64",
            "--registry",
            &registry_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("app-2.0.0-linux-arm64.tar.gz") && stderr.to_lowercase().contains("digest"),
        "{stderr}"
    );

    // merge takes the digests a CI build job left behind.
    let merged = run(
        &project,
        &[
            "mirror",
            "merge",
            "app",
            "--version",
            "2.0.0",
            "--registry",
            &registry_arg,
            "--digests-dir",
            &project.path().join("digests").to_string_lossy(),
            "--latest",
        ],
    );
    ok(&merged, "mirror merge");
    let (_, platforms) = index_platforms(&registry, "2.0.0");
    assert_eq!(platforms, ["linux/amd64"]);
    assert_eq!(
        index_platforms(&registry, "latest").0,
        index_platforms(&registry, "2.0.0").0
    );
}

#[test]
fn plan_errors_name_the_problem() {
    let upstream = Upstream::start(&["1.0.0"]);
    let project = project(&upstream, false);
    let out = run(&project, &["plan", "app"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --registry"));
    // An ordinary target is not a mirror target.
    let plain = TestProject::new(r#"{"lib": {"version_env_var": "V", "env": {"V": "1"}}}"#);
    let out = run(&plain, &["plan", "lib", "--registry", "127.0.0.1:1/x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no `upstream`"));
    // A rate-limited API names its URL.
    upstream.server.route(
        "/repos/acme/app/releases?per_page=100",
        vec![Reply::Status(429)],
    );
    upstream
        .server
        .route("/repos/acme/app/releases", vec![Reply::Status(429)]);
    let out = run(&project, &["plan", "app", "--registry", "127.0.0.1:1/x"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&upstream.server.url("/repos/acme/app/releases")),
        "{stderr}"
    );
}

/// A run interrupted after some pairs were pushed (here: one pushed by `mirror build`, as a CI
/// job would) finishes without building them again.
#[test]
fn an_interrupted_run_reuses_the_pairs_it_pushed() {
    let registry = Registry::start(None);
    let upstream = Upstream::start(&["3.0.0"]);
    let project = project(&upstream, false);
    let registry_arg = format!("{}/mirror", registry.host());
    // The retired `--arch amd64` (issue 22) still builds linux/amd64, with a warning.
    let built = run(
        &project,
        &[
            "mirror",
            "build",
            "app",
            "--version",
            "3.0.0",
            "--arch",
            "amd64",
            "--registry",
            &registry_arg,
        ],
    );
    ok(&built, "mirror build --arch");
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(
        stderr.contains("warning: --arch is deprecated; use --platform"),
        "{stderr}"
    );
    let mark = registry.mark();
    let report = run_json(
        &project,
        &["mirror", "run", "app", "--registry", &registry_arg],
    );
    assert_eq!(
        report["reused"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["3.0.0/amd64"],
        "{report}"
    );
    assert_eq!(
        report["built"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["3.0.0/arm64"],
        "{report}"
    );
    // Only the arm64 layer and config went up (2 blobs: one PUT each, small).
    assert_eq!(
        super::fixture::upload_puts(&registry.log_since(mark)).len(),
        2
    );
    let (_, platforms) = index_platforms(&registry, "3.0.0");
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
}

/// With `--key`, each merged version gets an SPDX SBOM and SLSA provenance attested to each
/// platform image, and signatures on the index (which `latest` shares) and its manifests.
#[test]
fn mirror_run_with_a_key_signs_and_attests_each_version() {
    let registry = Registry::start(None);
    let upstream = Upstream::start(&["4.0.0"]);
    let project = project(&upstream, false);
    let registry_arg = format!("{}/mirror", registry.host());
    let prefix = project.path().join("cosign");
    ok(
        &super::fixture::boxwright(&project)
            .env("COSIGN_PASSWORD", "pw")
            .args(["key", "generate", "-o"])
            .arg(&prefix)
            .output()
            .unwrap(),
        "key generate",
    );
    let out = super::fixture::boxwright(&project)
        .env("COSIGN_PASSWORD", "pw")
        .args([
            "--json",
            "mirror",
            "run",
            "app",
            "--registry",
            &registry_arg,
            "--key",
        ])
        .arg(prefix.with_extension("key"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(&ok(&out, "mirror run --key")).unwrap();
    // 2 platforms x (SBOM + provenance) + signatures of the index and its 2 manifests.
    assert_eq!(report["attested"]["4.0.0"], 7, "{report}");
    let public = prefix.with_extension("pub").to_string_lossy().into_owned();
    for tag in ["4.0.0", "latest"] {
        let reference = format!("{}/mirror/app:{tag}", registry.host());
        ok(
            &run(&project, &["image", "verify", &reference, "--key", &public]),
            "verify",
        );
        let sigstore = crate::support::cosign_verify()
            .args(["image", "--insecure", "--key", &public, &reference])
            .output()
            .unwrap();
        assert!(
            sigstore.status.success(),
            "{}",
            String::from_utf8_lossy(&sigstore.stderr)
        );
    }
    let index = raw_index(&registry, "4.0.0");
    for manifest in index["manifests"].as_array().unwrap() {
        let reference = format!(
            "{}/mirror/app@{}",
            registry.host(),
            manifest["digest"].as_str().unwrap()
        );
        for kind in ["spdx", "slsaprovenance"] {
            ok(
                &run(
                    &project,
                    &[
                        "image",
                        "verify",
                        &reference,
                        "--key",
                        &public,
                        "--attestation",
                        kind,
                    ],
                ),
                kind,
            );
        }
    }
}

fn raw_index(registry: &Registry, tag: &str) -> Value {
    let out = skopeo_inspect(&["--raw"], &format!("{}/mirror/app:{tag}", registry.host()));
    serde_json::from_slice(&out.stdout).unwrap()
}
