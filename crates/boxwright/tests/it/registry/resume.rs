//! A push cut off by the registry going away, and the push after it comes back: the blobs
//! finished the first time are not sent again.

use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::fixture::{
    Registry, blob, boxwright, finished_uploads, ok, run, skopeo_inspect, upload_puts,
};
use crate::support::{TestProject, require_tool};

const MIB: usize = 1 << 20;

/// Layer sizes: big enough that 4 parallel uploads over loopback are still under way when the
/// first one (or the config) is done, and different so that they do not all end together.
const LAYER_SIZES: [usize; 4] = [24 * MIB, 32 * MIB, 36 * MIB, 40 * MIB];

/// `len` pseudo-random bytes (xorshift64*), `seed` picking the sequence.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A layout by hand with one image: a config and the layers of [`LAYER_SIZES`] (random bytes;
/// the registry does not look inside). The manifest digest and the digests of its blobs.
fn big_layout(root: &Path) -> (String, Vec<String>) {
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let config = blob(
        root,
        "application/vnd.oci.image.config.v1+json",
        serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}
        }))
        .unwrap()
        .as_slice(),
    );
    let layers: Vec<Value> = LAYER_SIZES
        .iter()
        .zip(1..)
        .map(|(size, seed)| {
            blob(
                root,
                "application/vnd.oci.image.layer.v1.tar",
                &noise(*size, seed),
            )
        })
        .collect();
    let blobs = std::iter::once(&config)
        .chain(&layers)
        .map(|d| d["digest"].as_str().unwrap().to_string())
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": layers,
    });
    let top = blob(
        root,
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    let digest = top["digest"].as_str().unwrap().to_string();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [top]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    (digest, blobs)
}

/// Starts `cmd` without waiting, its stdout and stderr going to files in `dir`.
fn spawn(cmd: &assert_cmd::Command, dir: &Path) -> Child {
    let mut std_cmd = std::process::Command::new(cmd.get_program());
    std_cmd.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => std_cmd.env(key, value),
            None => std_cmd.env_remove(key),
        };
    }
    std_cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("push.out")).unwrap())
        .stderr(std::fs::File::create(dir.join("push.err")).unwrap())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most `limit` (then kills it and fails).
fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the push did not end within {limit:?} of the registry going away");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `image push LAYOUT REFERENCE`, kills the registry as soon as the upload of a layer
/// (any blob but the first of `blobs`) is finished, and checks that the push fails, naming
/// the registry, without putting a manifest. The digests whose uploads were finished.
fn push_cut_off(
    project: &TestProject,
    registry: &mut Registry,
    layout: &str,
    reference: &str,
    blobs: &[String],
) -> Vec<String> {
    // One upload at a time: when the first layer is done, at most one more is under way
    // and the others are not started, so the kill always leaves work for the rerun.
    let mut cmd = boxwright(project);
    cmd.args(["image", "push", "--jobs", "1", layout, reference]);
    let mut push = spawn(&cmd, project.path());
    let deadline = Instant::now() + Duration::from_secs(120);
    let layers = &blobs[1..];
    while !finished_uploads(&registry.log())
        .iter()
        .any(|d| layers.contains(d))
    {
        if let Some(status) = push.try_wait().unwrap() {
            panic!(
                "the push ended ({status}) before any blob upload finished: {}\n{}",
                std::fs::read_to_string(project.path().join("push.err")).unwrap(),
                registry.log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no layer upload finished: {}",
            registry.log()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    registry.kill();
    let killed_at = Instant::now();
    let first_run = registry.log();
    let finished = finished_uploads(&first_run);
    let status = wait(&mut push, Duration::from_secs(120));
    let gave_up_after = killed_at.elapsed();
    let stderr = std::fs::read_to_string(project.path().join("push.err")).unwrap();
    assert!(
        !status.success() && finished.len() < blobs.len(),
        "the whole push finished before the registry was killed (make LAYER_SIZES bigger): \
         {status}, finished uploads {finished:?}\n{stderr}"
    );
    assert_eq!(
        status.code(),
        Some(2),
        "the push without a registry: {stderr}"
    );
    assert!(
        stderr.contains(&registry.host()),
        "the error names the registry: {stderr}"
    );
    assert!(
        !first_run.contains("\"PUT /v2/big/manifests/"),
        "a manifest was put although blobs were missing: {first_run}"
    );
    eprintln!(
        "first push: {} of {} blobs finished, gave up {gave_up_after:?} after the kill",
        finished.len(),
        blobs.len()
    );
    finished
}

#[test]
fn interrupted_push_resumes_without_resending_finished_blobs() {
    require_tool("skopeo", "apt-get install skopeo");
    let project = TestProject::new("{}");
    let layout = project.path().join("big");
    let (digest, blobs) = big_layout(&layout);
    let mut registry = Registry::start(None);
    let host = registry.host();
    let reference = format!("{host}/big:v1");
    let layout = layout.to_str().unwrap();

    // First push: the registry is killed as soon as the upload of a layer is finished (the
    // config, a few bytes, may be done before).
    let finished = push_cut_off(&project, &mut registry, layout, &reference, &blobs);

    // The registry is back (same port, same storage): the push goes through and sends only
    // what was not finished.
    let mark = registry.mark();
    registry.restart();
    let out = run(&project, &["--json", "image", "push", layout, &reference]);
    let report: Value = serde_json::from_str(&ok(&out, "push after the restart")).unwrap();
    assert_eq!(report["digest"], digest.as_str(), "{report}");
    let uploaded = report["uploaded"].as_u64().unwrap();
    let skipped = report["skipped"].as_u64().unwrap();
    assert_eq!(uploaded + skipped, blobs.len() as u64, "{report}");
    assert!(
        skipped >= finished.len() as u64 && skipped >= 1,
        "the finished blobs {finished:?} are skipped: {report}"
    );
    assert!(
        (1..blobs.len() as u64).contains(&uploaded),
        "only the unfinished blobs go up: {report}"
    );
    let layer_bytes: usize = LAYER_SIZES.iter().sum();
    assert!(
        report["uploaded_bytes"].as_u64().unwrap() < layer_bytes as u64,
        "a finished layer was sent again: {report}"
    );
    let second_run = registry.log_since(mark);
    let puts = upload_puts(&second_run);
    for (blob, status) in &puts {
        assert!(
            !finished.contains(blob),
            "{blob} was finished by the first push and was sent again ({status}): {second_run}"
        );
    }
    assert_eq!(
        finished_uploads(&second_run).len() as u64,
        uploaded,
        "{second_run}"
    );

    // A third push has nothing to send.
    let mark = registry.mark();
    let out = run(&project, &["--json", "image", "push", layout, &reference]);
    let report: Value = serde_json::from_str(&ok(&out, "third push")).unwrap();
    assert_eq!(report["uploaded"], 0, "{report}");
    assert_eq!(
        registry.upload_requests_since(mark),
        0,
        "{}",
        registry.log_since(mark)
    );

    let out = skopeo_inspect(&["--raw"], &reference);
    crate::support::assert_success(&out);
    assert_eq!(
        format!("sha256:{}", crate::support::sha256_hex(&out.stdout)),
        digest
    );
}
