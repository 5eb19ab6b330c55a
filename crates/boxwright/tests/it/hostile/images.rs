//! Hostile images: see hostile/mod.rs.
//!
//! A base layout of nested image indexes, each listing the one below twice, 22 levels deep
//! above a manifest for another platform: followed naively that is 2^22 paths to the one
//! manifest. `image build` must refuse it quickly instead of hanging.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{self, TestProject};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// How long `image build` may take before it counts as hanging (generous: it should take
/// well under a second).
const NO_HANG: Duration = Duration::from_secs(30);
const LEVELS: usize = 22;

/// Writes `bytes` as a blob of `layout`; returns its descriptor.
fn put_blob(layout: &Path, media_type: &str, bytes: &[u8]) -> Value {
    use sha2::Digest as _;
    let hex = boxwright_archive::hex(&sha2::Sha256::digest(bytes));
    std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
    json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len()})
}

/// The nested-index layout.
fn nested_layout(layout: &Path) {
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let config = json!({"architecture": "s390x", "os": "linux",
                        "rootfs": {"type": "layers", "diff_ids": []}});
    let config = put_blob(layout, CONFIG, &serde_json::to_vec(&config).unwrap());
    let manifest = json!({"schemaVersion": 2, "mediaType": MANIFEST, "config": config,
                          "layers": []});
    let mut below = put_blob(layout, MANIFEST, &serde_json::to_vec(&manifest).unwrap());
    below["platform"] = json!({"architecture": "s390x", "os": "linux"});
    for _ in 0..LEVELS {
        let index = json!({"schemaVersion": 2, "mediaType": INDEX,
                           "manifests": [below.clone(), below.clone()]});
        below = put_blob(layout, INDEX, &serde_json::to_vec(&index).unwrap());
    }
    below["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [below]});
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
}

/// Runs `command`, killing it after [`NO_HANG`]; `None` when it had to be killed.
fn run_guarded(mut command: std::process::Command) -> Option<Output> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + NO_HANG;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let _ = child.wait();
    None
}

#[test]
fn nested_indexes_listing_each_level_twice_are_refused_without_hanging() {
    let project = TestProject::new(
        r#"{"t": {"version_env_var": "V", "env": {"V": "1.0"},
            "image": {"base": "base-layout", "contents": {"/etc/hostname": "box\n"}}}}"#,
    );
    project.write(".out/t/bin/tool", b"tool", 0o755);
    nested_layout(&project.path().join("base-layout"));
    let scratch = tempfile::tempdir().unwrap();
    let mut command = support::boxwright_std();
    command
        .arg("--project")
        .arg(project.path())
        .args(["image", "build", "t", "--format", "oci", "--platform"])
        .arg("linux/amd64")
        .arg("-o")
        .arg(scratch.path().join("out"));
    let output = run_guarded(command)
        .unwrap_or_else(|| panic!("image build still running after {NO_HANG:?}: it hangs"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("base-layout"), "{stderr}");
    assert!(
        stderr.contains("nested more than") || stderr.contains("listed twice"),
        "{stderr}"
    );
}
