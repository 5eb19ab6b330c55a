//! Registry bases for `image build`, cross-repository mounts, and `image inspect` of a local
//! layout.

use std::path::Path;

use serde_json::Value;

use super::fixture::{Registry, hello_layout, ok, run};
use crate::support::{TestProject, edit_metadata};

/// Adds a target `app` whose image is `base` plus one file.
fn add_app_target(project: &TestProject, base: &str) {
    edit_metadata(project, |metadata| {
        metadata["app"] = serde_json::json!({
            "version_env_var": "APP_VERSION",
            "env": {"APP_VERSION": "2.0.0"},
            "image": {
                "base": base,
                "platforms": ["linux/amd64"],
                "contents": {"/etc/app.conf": "app\n"},
            },
        });
    });
}

/// The image manifest an OCI layout's `index.json` names.
fn layout_manifest(layout: &Path) -> Value {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap()).unwrap()
}

/// `image push --json`'s report.
fn push(project: &TestProject, args: &[&str]) -> Value {
    let mut all = vec!["--json", "image", "push"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(&run(project, &all), "image push")).unwrap()
}

/// The example project with `app` built on `HOST/base:multi`, an index of hello
/// (linux/amd64) and a second platform: the project, the registry, hello's layout, the base
/// reference and hello's manifest digest.
struct Based {
    project: TestProject,
    registry: Registry,
    hello: std::path::PathBuf,
    base: String,
    hello_digest: String,
}

fn based() -> Based {
    let (project, hello) = hello_layout();
    let registry = Registry::start(None);
    let host = registry.host();

    // The base: hello (linux/amd64) and a second platform, merged into an index.
    let hello_digest = push(
        &project,
        &[hello.to_str().unwrap(), &format!("{host}/base")],
    )["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let arm = super::arm64_layout(&project);
    let arm_digest = push(&project, &[arm.to_str().unwrap(), &format!("{host}/base")])["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let out = run(
        &project,
        &[
            "image",
            "merge",
            &format!("{host}/base:multi"),
            &hello_digest,
            &arm_digest,
        ],
    );
    ok(&out, "image merge");

    let base = format!("{host}/base:multi");
    add_app_target(&project, &base);
    Based {
        project,
        registry,
        hello,
        base,
        hello_digest,
    }
}

/// `image build app --format oci -o LAYOUT EXTRA... --json`'s report.
fn build_app(project: &TestProject, layout: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--json", "image", "build", "app", "--format", "oci", "-o"];
    args.push(layout.to_str().unwrap());
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&run(project, &args), "image build app")).unwrap()
}

#[test]
fn registry_base_is_pulled_once_and_reused() {
    let Based {
        project,
        mut registry,
        hello,
        base,
        hello_digest,
    } = based();
    // Built on the index: the amd64 manifest is chosen, its layer reused as it is.
    let host = registry.host();
    let layout = project.path().join("app-oci");
    let build = |extra: &[&str]| build_app(&project, &layout, extra);
    let mark = registry.mark();
    let report = build(&[]);
    let platform = &report["platforms"][0];
    assert_eq!(platform["base_name"], base.as_str(), "{report}");
    assert_eq!(platform["base_digest"], hello_digest.as_str(), "{report}");
    let manifest = layout_manifest(&layout);
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.digest"],
        hello_digest.as_str()
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.name"],
        base.as_str()
    );
    let hello_manifest = layout_manifest(&hello);
    assert_eq!(manifest["layers"][0], hello_manifest["layers"][0]);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 2);
    let first_log = registry.log_since(mark);
    assert!(
        first_log.contains("\"GET /v2/base/blobs/"),
        "the base's blobs were downloaded: {first_log}"
    );

    // Again: one manifest request for the tag, no blob downloads, the same image.
    let mark = registry.mark();
    let again = build(&[]);
    assert_eq!(again["digest"], report["digest"]);
    let log = registry.log_since(mark);
    assert!(
        !log.contains("/blobs/"),
        "a cached base downloads no blob: {log}"
    );
    assert!(log.contains("/v2/base/manifests/multi"), "{log}");

    // Offline, with the registry gone: the cache alone.
    registry.kill();
    let offline = build(&["--offline"]);
    assert_eq!(offline["digest"], report["digest"]);
    let out = run(
        &project,
        &["image", "build", "app", "--format", "oci", "-o", "x"],
    );
    assert_eq!(out.status.code(), Some(2), "no registry, no resolution");
    registry.restart();

    // A platform the base does not have is an error naming it.
    let out = run(
        &project,
        &[
            "image",
            "build",
            "app",
            "--format",
            "oci",
            "--platform",
            "linux/s390x",
            "-o",
            "y",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("linux/s390x"), "{stderr}");
    assert!(!project.path().join("y").exists());

    // inspect of the local layout.
    let out = run(
        &project,
        &["--json", "image", "inspect", layout.to_str().unwrap()],
    );
    let summary: Value = serde_json::from_str(&ok(&out, "image inspect PATH")).unwrap();
    assert_eq!(summary["digest"], report["digest"]);
    assert_eq!(summary["config"]["platform"], "linux/amd64");
    assert_eq!(summary["layers"].as_array().unwrap().len(), 2);
    assert_eq!(
        summary["annotations"]["org.opencontainers.image.base.name"],
        base.as_str()
    );
    let out = run(
        &project,
        &["--json", "image", "inspect", &format!("{host}/base:multi")],
    );
    let index: Value = serde_json::from_str(&ok(&out, "image inspect index")).unwrap();
    let platforms: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
}

#[test]
fn pushes_mount_blobs_from_the_base_and_the_pulled_repository() {
    let Based {
        project,
        registry,
        hello,
        ..
    } = based();
    let host = registry.host();
    let layout = project.path().join("app-oci");
    build_app(&project, &layout, &[]);

    // Pushed to another repository: the base's layer is mounted from `base`, the rest
    // uploaded.
    let mark = registry.mark();
    let pushed = push(
        &project,
        &[layout.to_str().unwrap(), &format!("{host}/app:2")],
    );
    assert_eq!(pushed["mounted"], 1, "{pushed}");
    assert_eq!(pushed["uploaded"], 2, "{pushed}");
    let log = registry.log_since(mark);
    assert!(
        log.contains("\"POST /v2/app/blobs/uploads/?mount=") && log.contains("&from=base"),
        "{log}"
    );

    // A pulled layout pushed to a third repository: everything mounted, nothing uploaded.
    let pulled = project.path().join("pulled");
    ok(
        &run(
            &project,
            &[
                "image",
                "pull",
                &format!("{host}/app:2"),
                "-o",
                pulled.to_str().unwrap(),
            ],
        ),
        "image pull",
    );
    let copy = push(
        &project,
        &[pulled.to_str().unwrap(), &format!("{host}/copy:2")],
    );
    assert_eq!(copy["digest"], pushed["digest"]);
    assert_eq!(copy["mounted"], 3, "{copy}");
    assert_eq!(copy["uploaded"], 0, "{copy}");

    // --mount-from, as a repository of the target registry.
    let other = push(
        &project,
        &[
            hello.to_str().unwrap(),
            &format!("{host}/other:1"),
            "--mount-from",
            "base",
        ],
    );
    assert_eq!(other["mounted"], 2, "{other}");
    let out = run(
        &project,
        &[
            "image",
            "push",
            hello.to_str().unwrap(),
            &format!("{host}/other:1"),
            "--mount-from",
            "elsewhere.example/base",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one registry"));
}
