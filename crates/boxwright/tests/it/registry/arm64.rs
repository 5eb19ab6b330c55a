//! A real two-platform image: the example's Rust `static-proxy` built for x86_64 and
//! cross-built for aarch64, both images pushed, merged into one index, the arm64 image pulled
//! back and its binary run under qemu.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::fixture::{Registry, ok, run, skopeo_inspect};
use crate::support::{TestProject, require_tool, tools_for_aarch64};

/// The blob `digest` of an OCI layout.
fn layout_blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap()
}

/// The ELF `e_machine` of a 64-bit little-endian ELF file.
fn elf_machine(bytes: &[u8]) -> u16 {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(bytes[4], 2, "not a 64-bit ELF file");
    assert_eq!(bytes[5], 1, "not a little-endian ELF file");
    u16::from_le_bytes([bytes[18], bytes[19]])
}

/// `image build static-proxy --platform PLATFORM` as an OCI layout, pushed by digest to
/// `repo`: the manifest digest.
fn build_and_push(project: &TestProject, platform: &str, repo: &str) -> String {
    let layout = project.path().join(platform.replace('/', "-"));
    let out = project
        .boxwright()
        .args([
            "image",
            "build",
            "static-proxy",
            "--platform",
            platform,
            "--format",
            "oci",
            "-o",
        ])
        .arg(&layout)
        .output()
        .unwrap();
    ok(&out, &format!("image build --platform {platform}"));
    let out = run(project, &["image", "push", layout.to_str().unwrap(), repo]);
    ok(&out, &format!("push of {platform}")).trim().to_string()
}

/// (digest, `os/architecture`) of each entry of an image index.
fn index_entries(index: &Value) -> Vec<(String, String)> {
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap().to_string(),
                format!(
                    "{}/{}",
                    m["platform"]["os"].as_str().unwrap(),
                    m["platform"]["architecture"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

/// Checks the pulled layout's image `manifest_digest` (arm64, one gzip layer) and unpacks
/// its layer in `rootfs`.
fn unpack_pulled(pulled: &Path, manifest_digest: &str, rootfs: &Path) {
    let layout_index: Value =
        serde_json::from_slice(&std::fs::read(pulled.join("index.json")).unwrap()).unwrap();
    assert_eq!(layout_index["manifests"][0]["digest"], manifest_digest);
    let manifest: Value = serde_json::from_slice(&layout_blob(pulled, manifest_digest)).unwrap();
    let config: Value = serde_json::from_slice(&layout_blob(
        pulled,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(config["architecture"], "arm64");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/bin/static_proxy"])
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest}");
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let layer_hex = layers[0]["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap();
    std::fs::create_dir(rootfs).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(pulled.join("blobs/sha256").join(layer_hex))
        .arg("-C")
        .arg(rootfs)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn real_arm64_image_merged_pulled_and_run_under_qemu() {
    tools_for_aarch64();
    require_tool("skopeo", "apt-get install skopeo");
    let project = crate::support::static_proxy_for_two_arches();

    // Both images pushed by digest, then one index over them.
    let registry = Registry::start(None);
    let repo = format!("{}/proxy", registry.host());
    let digests: Vec<String> = ["linux/amd64", "linux/arm64"]
        .iter()
        .map(|platform| build_and_push(&project, platform, &repo))
        .collect();
    let (d1, d2) = (&digests[0], &digests[1]);
    assert_ne!(d1, d2);
    let reference = format!("{repo}:v1");
    let out = run(&project, &["image", "merge", &reference, d1, d2]);
    let index_digest = ok(&out, "image merge").trim().to_string();
    let out = skopeo_inspect(&["--raw"], &reference);
    crate::support::assert_success(&out);
    assert_eq!(
        format!("sha256:{}", crate::support::sha256_hex(&out.stdout)),
        index_digest
    );
    let index: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        index_entries(&index),
        [
            (d1.clone(), "linux/amd64".to_string()),
            (d2.clone(), "linux/arm64".to_string())
        ]
    );

    // The arm64 image back from the registry: its binary is an aarch64 executable.
    let pulled = project.path().join("pulled");
    let out = run(
        &project,
        &[
            "image",
            "pull",
            &reference,
            "--platform",
            "linux/arm64",
            "-o",
            pulled.to_str().unwrap(),
            "--format",
            "oci",
        ],
    );
    assert_eq!(ok(&out, "image pull --platform linux/arm64").trim(), *d2);
    let rootfs = project.path().join("rootfs");
    unpack_pulled(&pulled, d2, &rootfs);
    let binary = rootfs.join("bin/static_proxy");
    assert_eq!(
        elf_machine(&std::fs::read(&binary).unwrap()),
        183,
        "EM_AARCH64"
    );
    let out = project
        .boxwright()
        .args(["verify", "--policy", "static,nx,arch=aarch64"])
        .arg(&binary)
        .output()
        .unwrap();
    ok(&out, "verify of the pulled binary");

    // The example's smoke test, `static_proxy --version`, under qemu.
    let out = Command::new("qemu-aarch64-static")
        .arg(&binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "static_proxy 0.3.0\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
