//! The registry commands (`image push`, `exists`, `tags`, `inspect`, `merge`, `pull`) against
//! a real registry: Debian's `docker-registry` (the CNCF distribution registry) on 127.0.0.1,
//! with its storage in a temporary directory and its access log captured (`fixture`). skopeo
//! checks what was pushed. Basic and bearer-token authentication are in `auth`, an
//! interrupted push in `resume`, a cross-built arm64 image in `arm64`, TLS in `tls`.
//!
//! Needs what `build` needs for the example targets, and docker-registry, apache2-utils
//! (htpasswd) and skopeo; `arm64` also gcc-aarch64-linux-gnu and qemu-user-static
//! (scripts/setup.sh installs them all).

mod arm64;
mod auth;
mod bases;
mod cosign;
mod credentials;
pub(crate) mod fixture;
mod login;
pub(crate) mod mirror;
mod release_images;
mod resume;
mod sbom;
mod signing;
mod tls;
mod token;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{TestProject, require_tool};
use fixture::{Registry, blob, hello_layout, ok, registry_blob, run, skopeo_inspect};

#[test]
fn push_exists_tags_inspect() {
    require_tool("skopeo", "apt-get install skopeo");
    let (project, layout) = hello_layout();
    let registry = Registry::start(None);
    let reference = format!("{}/hello:1.0.0", registry.host());
    let digest_file = project.path().join("digest.txt");
    let layout_arg = layout.to_str().unwrap();

    let out = run(
        &project,
        &[
            "image",
            "push",
            layout_arg,
            &reference,
            "--digest-file",
            digest_file.to_str().unwrap(),
        ],
    );
    let digest = ok(&out, "image push").trim().to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert_eq!(
        std::fs::read_to_string(&digest_file).unwrap().trim(),
        digest
    );
    let first_uploads = registry.upload_requests();
    assert!(first_uploads >= 4, "{}", registry.log());

    let out = run(&project, &["image", "exists", &reference]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = skopeo_inspect(&[], &reference);
    let inspect: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("skopeo inspect: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(inspect["Digest"], digest.as_str());

    // Everything is there already: no blob is uploaded again.
    let out = run(
        &project,
        &["--json", "image", "push", layout_arg, &reference],
    );
    let report: Value = serde_json::from_str(&ok(&out, "second push")).unwrap();
    assert_eq!(report["digest"], digest.as_str());
    assert_eq!(report["uploaded"], 0);
    assert!(report["skipped"].as_u64().unwrap() >= 2, "{report}");
    assert_eq!(
        registry.upload_requests(),
        first_uploads,
        "{}",
        registry.log()
    );

    let missing = format!("{}/hello:nope", registry.host());
    let out = run(&project, &["image", "exists", &missing]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&project, &["image", "exists", "no-host-here"]);
    assert_eq!(out.status.code(), Some(2));

    let out = run(
        &project,
        &["image", "tags", &format!("{}/hello", registry.host())],
    );
    assert_eq!(ok(&out, "image tags"), "1.0.0\n");

    let by_digest = format!("{}/hello@{digest}", registry.host());
    let out = run(&project, &["--json", "image", "inspect", &by_digest]);
    let inspected: Value = serde_json::from_str(&ok(&out, "image inspect")).unwrap();
    assert_eq!(inspected["digest"], digest.as_str());
    let out = run(&project, &["image", "inspect", "--raw", &reference]);
    assert!(out.status.success());
    assert_eq!(
        format!("sha256:{}", crate::support::sha256_hex(&out.stdout)),
        digest
    );
}

/// A two-platform layout by hand: an index over two manifests that share one layer larger
/// than the single-request limit (so it goes up in chunks).
fn synthetic_index_layout(root: &Path) -> String {
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    // 17 MiB of bytes that do not repeat in an obvious way.
    let big: Vec<u8> = (0u32..17 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let shared = blob(root, "application/vnd.oci.image.layer.v1.tar", &big);
    let mut manifests = Vec::new();
    for (os, arch) in [("linux", "amd64"), ("linux", "arm64")] {
        let config = blob(
            root,
            "application/vnd.oci.image.config.v1+json",
            serde_json::to_vec(&serde_json::json!({
                "architecture": arch, "os": os, "rootfs": {"type": "layers", "diff_ids": []}
            }))
            .unwrap()
            .as_slice(),
        );
        let own = blob(
            root,
            "application/vnd.oci.image.layer.v1.tar",
            format!("layer of {arch}").as_bytes(),
        );
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [shared, own],
        });
        let mut descriptor = blob(
            root,
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).unwrap(),
        );
        descriptor["platform"] = serde_json::json!({"os": os, "architecture": arch});
        manifests.push(descriptor);
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let mut top = blob(
        root,
        "application/vnd.oci.image.index.v1+json",
        &serde_json::to_vec(&index).unwrap(),
    );
    top["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "multi"});
    let digest = top["digest"].as_str().unwrap().to_string();
    let layout_index = serde_json::json!({"schemaVersion": 2, "manifests": [top]});
    std::fs::write(
        root.join("index.json"),
        serde_json::to_vec(&layout_index).unwrap(),
    )
    .unwrap();
    digest
}

/// A layout blob whose content is not its digest: the small ones are checked before they are
/// sent, a large one by the registry at the end of its upload. Either way the push fails
/// naming the file, and no manifest or tag is put.
#[test]
fn push_refuses_blobs_that_do_not_match_their_digest() {
    let project = TestProject::new("{}");
    let layout = project.path().join("multi");
    synthetic_index_layout(&layout);
    let registry = Registry::start(None);
    let blobs = layout.join("blobs/sha256");
    // The 17 MiB layer, or one of the small layers (not a JSON blob: those fail to parse).
    let by_size = |large: bool| {
        std::fs::read_dir(&blobs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let bytes = std::fs::read(p).unwrap();
                if large {
                    bytes.len() > 1 << 20
                } else {
                    bytes.starts_with(b"layer of")
                }
            })
            .unwrap()
    };
    for (large, repo) in [(true, "large"), (false, "small")] {
        let mut fresh = layout.clone();
        fresh.set_file_name(format!("multi-{repo}"));
        std::fs::create_dir_all(&fresh).unwrap();
        crate::support::copy_tree(&layout, &fresh, &[]);
        let victim = fresh
            .join("blobs/sha256")
            .join(by_size(large).file_name().unwrap());
        let mut bytes = std::fs::read(&victim).unwrap();
        bytes[0] ^= 0xff;
        std::fs::write(&victim, bytes).unwrap();
        let reference = format!("{}/{repo}:v1", registry.host());
        let source = format!("{}:multi", fresh.display());
        let out = run(&project, &["image", "push", &source, &reference]);
        assert_eq!(out.status.code(), Some(2), "{repo}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(victim.to_str().unwrap()) && stderr.contains("digest"),
            "{repo}: {stderr}"
        );
        let out = run(&project, &["image", "exists", &reference]);
        assert_eq!(out.status.code(), Some(1), "{repo}: no tag");
    }
}

#[test]
fn index_chunks_archive_and_pages() {
    require_tool("skopeo", "apt-get install skopeo");
    let project = TestProject::new("{}");
    let layout = project.path().join("multi");
    let digest = synthetic_index_layout(&layout);
    let registry = Registry::start(None);
    let host = registry.host();

    // DIR:REFNAME picks the image by its ref.name annotation.
    let source = format!("{}:multi", layout.display());
    let out = run(
        &project,
        &[
            "--json",
            "image",
            "push",
            &source,
            &format!("{host}/multi:v1"),
        ],
    );
    let report: Value = serde_json::from_str(&ok(&out, "push of an index")).unwrap();
    assert_eq!(report["digest"], digest.as_str(), "{report}");
    assert_eq!(report["manifests"], 3);
    assert_eq!(report["uploaded"], 5, "{report}");
    let log = registry.log();
    // The 17 MiB layer goes up with a PATCH (in 64 MiB chunks), the four small blobs each in
    // the PUT that ends their upload.
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("\"PATCH ") && l.contains("/blobs/uploads/"))
            .count(),
        1,
        "{log}"
    );

    let out = skopeo_inspect(&["--raw"], &format!("{host}/multi:v1"));
    crate::support::assert_success(&out);
    assert_eq!(
        format!("sha256:{}", crate::support::sha256_hex(&out.stdout)),
        digest
    );
    let out = skopeo_inspect(&["--override-arch", "arm64"], &format!("{host}/multi:v1"));
    let inspect: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(inspect["Architecture"], "arm64");

    // The same image as an oci-archive, under more tags: nothing new to upload.
    let archive = project.path().join("multi.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(&layout)
        .arg("-cf")
        .arg(&archive)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    for tag in ["v2", "v3", "v4", "latest"] {
        let out = run(
            &project,
            &[
                "--json",
                "image",
                "push",
                archive.to_str().unwrap(),
                &format!("{host}/multi:{tag}"),
            ],
        );
        let report: Value = serde_json::from_str(&ok(&out, "push of an archive")).unwrap();
        assert_eq!(report["digest"], digest.as_str());
        assert_eq!(report["uploaded"], 0, "{report}");
    }

    // Two tags a page (docker-registry 2.8 ignores `n` for tag lists and answers in one page;
    // the Link-following itself is covered by boxwright-registry's own tests).
    let out = run(
        &project,
        &[
            "image",
            "tags",
            "--page-size",
            "2",
            &format!("{host}/multi"),
        ],
    );
    let mut tags: Vec<String> = ok(&out, "image tags").lines().map(String::from).collect();
    tags.sort();
    assert_eq!(tags, ["latest", "v1", "v2", "v3", "v4"]);
    // A digest reference that does not match the image is refused before anything is sent.
    let wrong = format!("{host}/multi@sha256:{}", "0".repeat(64));
    let out = run(&project, &["image", "push", &source, &wrong]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&project, &["image", "exists", &wrong]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        &project,
        &["image", "exists", &format!("{host}/multi@{digest}")],
    );
    assert_eq!(out.status.code(), Some(0));
}

/// A second image of the example project for linux/arm64 without cross-building: a target
/// whose layer holds only `contents` (no ELF files to check), built as an OCI layout.
fn arm64_layout(project: &TestProject) -> PathBuf {
    let metadata_path = project.path().join("metadata.json");
    let mut metadata: Value =
        serde_json::from_str(&std::fs::read_to_string(&metadata_path).unwrap()).unwrap();
    metadata["hello-arm"] = serde_json::json!({
        "tag_prefix": "hello-arm",
        "version_env_var": "HELLO_ARM_VERSION",
        "release_files": ["etc/hello-arm"],
        "env": {"HELLO_ARM_VERSION": "1.0.0"},
        "image": {
            "platforms": ["linux/arm64"],
            "contents": {"/etc/hello-arm": "hello from arm64\n"},
        },
    });
    std::fs::write(&metadata_path, serde_json::to_vec(&metadata).unwrap()).unwrap();
    std::fs::create_dir_all(project.path().join(".out/hello-arm@aarch64")).unwrap();
    let layout = project.path().join("hello-arm-oci");
    let out = project
        .boxwright()
        .args(["image", "build", "hello-arm", "--format", "oci", "-o"])
        .arg(&layout)
        .output()
        .unwrap();
    ok(&out, "boxwright image build hello-arm");
    layout
}

/// The example's `hello` (linux/amd64) and `hello-arm` (linux/arm64) pushed by digest only
/// (no tag) into one repository: the project, the registry, `HOST:PORT/hello` and the two
/// manifest digests.
fn two_platforms() -> (TestProject, Registry, String, String, String) {
    require_tool("skopeo", "apt-get install skopeo");
    let (project, amd64) = hello_layout();
    let arm64 = arm64_layout(&project);
    let registry = Registry::start(None);
    let repo = format!("{}/hello", registry.host());

    // Both pushed by digest only: no tag.
    let push = |layout: &Path| {
        let out = run(
            &project,
            &["image", "push", layout.to_str().unwrap(), &repo],
        );
        ok(&out, "image push").trim().to_string()
    };
    let d1 = push(&amd64);
    let d2 = push(&arm64);
    assert_ne!(d1, d2);
    (project, registry, repo, d1, d2)
}

/// `image merge REPO:v1 D1 D2`: the index digest.
fn merge_v1(project: &TestProject, repo: &str, d1: &str, d2: &str) -> String {
    let out = run(project, &["image", "merge", &format!("{repo}:v1"), d1, d2]);
    ok(&out, "image merge").trim().to_string()
}

#[test]
fn merge_index() {
    let (project, _registry, repo, d1, d2) = two_platforms();
    let out = run(&project, &["image", "exists", &format!("{repo}:latest")]);
    assert_eq!(out.status.code(), Some(1));

    let out = run(
        &project,
        &[
            "--json", "image", "merge", &repo, &d1, &d2, "--tag", "v1", "--tag", "latest",
        ],
    );
    let report: Value = serde_json::from_str(&ok(&out, "image merge")).unwrap();
    let digest = report["digest"].as_str().unwrap().to_string();
    assert_eq!(
        report["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(report["tags"], serde_json::json!(["v1", "latest"]));

    let out = skopeo_inspect(&["--raw"], &format!("{repo}:v1"));
    crate::support::assert_success(&out);
    assert_eq!(
        format!("sha256:{}", crate::support::sha256_hex(&out.stdout)),
        digest
    );
    let index: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let entries: Vec<(String, String)> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap().to_string(),
                format!("{}/{}", m["platform"]["os"], m["platform"]["architecture"])
                    .replace('"', ""),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (d1.clone(), "linux/amd64".to_string()),
            (d2.clone(), "linux/arm64".to_string())
        ]
    );
    let out = run(&project, &["image", "exists", &format!("{repo}:latest")]);
    assert_eq!(out.status.code(), Some(0));

    // A Docker manifest list over the same manifests.
    let out = run(
        &project,
        &[
            "image",
            "merge",
            &format!("{repo}:list"),
            &d1,
            &d2,
            "--format",
            "docker",
        ],
    );
    ok(&out, "image merge --format docker");
    let out = skopeo_inspect(&["--raw"], &format!("{repo}:list"));
    let manifest_list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        manifest_list["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );

    // A missing digest: an error naming it, and the tag is not set.
    let missing = format!("sha256:{}", "0".repeat(64));
    let out = run(
        &project,
        &["image", "merge", &format!("{repo}:v2"), &d1, &missing],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&missing), "{stderr}");
    let out = run(&project, &["image", "exists", &format!("{repo}:v2")]);
    assert_eq!(out.status.code(), Some(1));

    // Two manifests of one platform.
    let out = run(
        &project,
        &["image", "merge", &repo, &d1, &d1, "--tag", "v3"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("linux/amd64"), "{stderr}");
    let out = run(&project, &["image", "exists", &format!("{repo}:v3")]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn pull_layout_and_archive() {
    let (project, _registry, repo, d1, d2) = two_platforms();
    let digest = merge_v1(&project, &repo, &d1, &d2);
    // Pull one platform as a layout: skopeo reads it, with the layers of the pushed image.
    let pulled = project.path().join("pulled");
    let out = run(
        &project,
        &[
            "image",
            "pull",
            &format!("{repo}:v1"),
            "-o",
            pulled.to_str().unwrap(),
            "--platform",
            "linux/amd64",
        ],
    );
    assert_eq!(ok(&out, "image pull").trim(), d1);
    let skopeo_layers = |transport: &str| -> Value {
        let out = Command::new("skopeo")
            .args(["inspect", transport])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let inspect: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "skopeo inspect {transport}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(inspect["Architecture"], "amd64");
        inspect["Layers"].clone()
    };
    let out = skopeo_inspect(&[], &format!("{repo}@{d1}"));
    let remote: Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = skopeo_layers(&format!("oci:{}:v1", pulled.display()));
    assert_eq!(layers, remote["Layers"]);
    assert!(!layers.as_array().unwrap().is_empty());
    for layer in layers.as_array().unwrap() {
        let hex = layer.as_str().unwrap().strip_prefix("sha256:").unwrap();
        let bytes = std::fs::read(pulled.join("blobs/sha256").join(hex)).unwrap();
        assert_eq!(crate::support::sha256_hex(&bytes), hex);
    }

    // The whole index, as an oci-archive.
    let archive = project.path().join("pulled.tar");
    let out = run(
        &project,
        &[
            "--json",
            "image",
            "pull",
            &format!("{repo}:v1"),
            "-o",
            archive.to_str().unwrap(),
            "--format",
            "oci-archive",
        ],
    );
    let report: Value = serde_json::from_str(&ok(&out, "image pull oci-archive")).unwrap();
    assert_eq!(report["digest"], digest.as_str());
    assert_eq!(
        report["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    let out = Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci-archive:{}:v1", archive.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    assert_eq!(
        format!("sha256:{}", crate::support::sha256_hex(&out.stdout)),
        digest
    );
    assert_eq!(
        skopeo_layers(&format!("oci-archive:{}:v1", archive.display())),
        layers
    );
}

#[test]
fn pull_refuses_a_tampered_blob() {
    let (project, registry, repo, d1, d2) = two_platforms();
    merge_v1(&project, &repo, &d1, &d2);
    let out = skopeo_inspect(&[], &format!("{repo}@{d1}"));
    let remote: Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = remote["Layers"].clone();
    // A tampered layer in the registry's storage: the pull fails and leaves nothing.
    let layer = layers[0].as_str().unwrap();
    let data = registry_blob(&registry, layer);
    let mut bytes = std::fs::read(&data).unwrap();
    let end = bytes.len() - 1;
    bytes[end] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();
    let target = project.path().join("tampered");
    let out = run(
        &project,
        &[
            "image",
            "pull",
            &format!("{repo}:v1"),
            "-o",
            target.to_str().unwrap(),
            "--platform",
            "linux/amd64",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("digest") && stderr.contains(layer),
        "{stderr}"
    );
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(project.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".boxwright-pull.")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
