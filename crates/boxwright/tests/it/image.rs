//! `image build`: every output format checked by the tools that consume it. OCI layouts go
//! through skopeo, umoci and runc; oci-archives and docker-archives through podman (with a
//! private storage per test) and skopeo; rootfs tarballs through tar and bubblewrap. Every
//! layout the tests produce also passes `validate_layout`, which re-checks each digest, size
//! and diff_id by itself.
//!
//! Needs what `build` needs for the example targets (bubblewrap, musl-tools, clang, the Rust
//! musl targets; for the multi-platform case gcc-aarch64-linux-gnu and qemu-user-static), and
//! skopeo, umoci, runc, podman and zstd (scripts/setup.sh installs them all).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::podman::{Podman, run};
use crate::support::{
    TestProject, copy_tree, edit_metadata, example_project, require_tool, sha256_hex,
    tools_for_examples,
};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// `SOURCE_DATE_EPOCH` as `support::boxwright()` sets it, in RFC 3339.
const CREATED: &str = "2023-11-14T22:13:20Z";

// ---------------------------------------------------------------------------------------------
// Projects and commands

/// The example project with `targets` built (`boxwright build TARGET...`).
fn built(targets: &[&str]) -> TestProject {
    tools_for_examples();
    let project = example_project();
    build(&project, targets, &[]);
    project
}

fn build(project: &TestProject, targets: &[&str], extra: &[&str]) {
    let out = project
        .boxwright()
        .arg("build")
        .args(targets)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boxwright build {targets:?} {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `boxwright image build TARGET --format FORMAT -o OUTPUT EXTRA...`.
fn image_build(
    project: &TestProject,
    target: &str,
    format: &str,
    output: &Path,
    extra: &[&str],
) -> Output {
    project
        .boxwright()
        .args(["image", "build", target, "--format", format, "-o"])
        .arg(output)
        .args(extra)
        .output()
        .unwrap()
}

/// Like [`image_build`], asserting success; returns the digest printed on stdout.
fn image_ok(
    project: &TestProject,
    target: &str,
    format: &str,
    output: &Path,
    extra: &[&str],
) -> String {
    let out = image_build(project, target, format, output, extra);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "image build {target} --format {format} {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (digest, path) = stdout
        .trim_end()
        .split_once("  ")
        .unwrap_or_else(|| panic!("stdout is not `DIGEST  PATH`: {stdout:?}"));
    assert_eq!(Path::new(path), output, "{stdout}");
    assert!(is_digest(digest), "{stdout}");
    digest.to_string()
}

/// A command that must be installed (the test fails with the Debian package to install).
fn tool(name: &str) -> Command {
    let package = match name {
        "bwrap" => "bubblewrap",
        other => other,
    };
    require_tool(name, &format!("apt-get install {package}"));
    Command::new(name)
}

fn skopeo_json(args: &[&str], reference: &str) -> Value {
    let stdout = run(tool("skopeo").args(args).arg(reference));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("skopeo {args:?}: {e}\n{stdout}"))
}

/// Runs `args` in the runtime bundle `bundle` (as `umoci unpack` wrote it) with runc.
fn runc_run(bundle: &Path, args: &[&str]) -> String {
    require_tool("runc", "apt-get install runc");
    let config_path = bundle.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(args);
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let state = tempfile::tempdir().unwrap();
    let id = format!("boxwright-it-{}", std::process::id());
    run(Command::new("runc")
        .arg("--root")
        .arg(state.path())
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(&id))
}

// ---------------------------------------------------------------------------------------------
// Reading outputs

fn read_json(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

fn is_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap())
}

/// The one manifest `index.json` names, with its ref name.
fn top_descriptor(layout: &Path) -> Value {
    let index = read_json(&layout.join("index.json")).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{index}");
    manifests[0].clone()
}

/// The manifest and config of a single-platform layout.
fn manifest_and_config(layout: &Path) -> (Value, Value) {
    let top = top_descriptor(layout);
    let manifest = read_json(&blob_path(layout, top["digest"].as_str().unwrap())).unwrap();
    let config = read_json(&blob_path(
        layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    (manifest, config)
}

/// Uncompressed bytes of a layer blob by media type.
fn uncompressed(path: &Path, media_type: &str) -> Result<Vec<u8>, String> {
    let read = || std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    match media_type {
        LAYER_GZIP | "application/vnd.docker.image.rootfs.diff.tar.gzip" => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&read()?[..])
                .read_to_end(&mut out)
                .map_err(|e| format!("{}: bad gzip: {e}", path.display()))?;
            Ok(out)
        }
        LAYER_ZSTD => {
            require_tool("zstd", "apt-get install zstd");
            let out = Command::new("zstd")
                .args(["-dc", "--"])
                .arg(path)
                .output()
                .map_err(|e| e.to_string())?;
            if out.status.success() {
                Ok(out.stdout)
            } else {
                Err(format!(
                    "{}: bad zstd: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        }
        LAYER_TAR | "application/vnd.docker.image.rootfs.diff.tar" => read(),
        other => Err(format!(
            "{}: unknown layer media type {other}",
            path.display()
        )),
    }
}

/// The entries of a tar: path (directories with a trailing `/`) → (mode, content).
fn tar_entries(bytes: &[u8]) -> Result<BTreeMap<String, (u32, Vec<u8>)>, String> {
    let mut entries = BTreeMap::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| format!("bad tar entry: {e}"))?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        if path
            .components()
            .any(|c| matches!(c, Component::RootDir | Component::ParentDir))
        {
            return Err(format!("tar entry {} leaves the root", path.display()));
        }
        let mut name = path.to_string_lossy().into_owned();
        if entry.header().entry_type().is_dir() && !name.ends_with('/') {
            name.push('/');
        }
        let mode = entry.header().mode().map_err(|e| e.to_string())?;
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(|e| e.to_string())?;
        entries.insert(name, (mode, content));
    }
    Ok(entries)
}

/// Every file below `dir` (relative path → content; directories as `path/` → empty).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if entry.file_type().unwrap().is_dir() {
                out.insert(format!("{relative}/"), Vec::new());
                walk(root, &path, out);
            } else {
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The names in `dir` (to find staging leftovers next to an output).
fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn elf_machine(bytes: &[u8]) -> u16 {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    u16::from_le_bytes([bytes[18], bytes[19]])
}
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

// ---------------------------------------------------------------------------------------------
// Layout validation

/// Checks every invariant of an OCI image layout, like go-containerregistry's `validate`:
/// `oci-layout` and `index.json` are well-formed; every descriptor reachable from the index
/// names a blob whose SHA-256 is its name and whose size is the descriptor's; manifests and
/// indexes have the right media types and schema version; each config's platform matches its
/// descriptor's; `rootfs.diff_ids` has one entry per layer and each layer, decompressed
/// (gzip, zstd or none), hashes to its diff_id and is a tar whose paths stay inside the root;
/// history has one non-empty entry per layer; and `blobs/` holds nothing else (no staging
/// leftovers, no unreferenced blobs).
fn validate_layout(dir: &Path) {
    if let Err(problem) = check_layout(dir) {
        panic!("{} is not a valid OCI layout: {problem}", dir.display());
    }
}

fn check_layout(dir: &Path) -> Result<(), String> {
    let marker = read_json(&dir.join("oci-layout"))?;
    if marker != json!({"imageLayoutVersion": "1.0.0"}) {
        return Err(format!("oci-layout is {marker}"));
    }
    let index = read_json(&dir.join("index.json"))?;
    check_index(&index, "index.json")?;
    let mut referenced = BTreeSet::new();
    for descriptor in index["manifests"].as_array().unwrap() {
        check_descriptor(dir, descriptor, &mut referenced)?;
    }
    let stored: BTreeSet<String> = tree(&dir.join("blobs"))
        .into_keys()
        .filter(|path| !path.ends_with('/'))
        .collect();
    let unreferenced: Vec<&String> = stored.difference(&referenced).collect();
    if !unreferenced.is_empty() {
        return Err(format!(
            "blobs/ holds files nothing refers to: {unreferenced:?}"
        ));
    }
    let extra: Vec<String> = names_in(dir)
        .into_iter()
        .filter(|n| !["oci-layout", "index.json", "blobs"].contains(&n.as_str()))
        .collect();
    if !extra.is_empty() {
        return Err(format!("unexpected files in the layout: {extra:?}"));
    }
    Ok(())
}

fn check_index(index: &Value, what: &str) -> Result<(), String> {
    if index["schemaVersion"] != 2 || index["mediaType"] != INDEX {
        return Err(format!(
            "{what}: schemaVersion {} mediaType {}",
            index["schemaVersion"], index["mediaType"]
        ));
    }
    match index["manifests"].as_array() {
        Some(list) if !list.is_empty() => Ok(()),
        _ => Err(format!("{what}: no manifests")),
    }
}

/// Checks the blob a descriptor names; returns its path.
fn check_blob(
    dir: &Path,
    descriptor: &Value,
    referenced: &mut BTreeSet<String>,
) -> Result<PathBuf, String> {
    let digest = descriptor["digest"].as_str().unwrap_or_default();
    if !is_digest(digest) {
        return Err(format!("bad digest in descriptor {descriptor}"));
    }
    let path = blob_path(dir, digest);
    let bytes = std::fs::read(&path).map_err(|e| format!("blob {digest}: {e}"))?;
    if descriptor["size"].as_u64() != Some(bytes.len() as u64) {
        return Err(format!(
            "blob {digest}: descriptor size {} but the file has {} bytes",
            descriptor["size"],
            bytes.len()
        ));
    }
    let actual = sha256_hex(&bytes);
    if digest != format!("sha256:{actual}") {
        return Err(format!("blob {digest} has content sha256:{actual}"));
    }
    referenced.insert(format!("sha256/{}", &digest[7..]));
    Ok(path)
}

fn check_descriptor(
    dir: &Path,
    descriptor: &Value,
    referenced: &mut BTreeSet<String>,
) -> Result<(), String> {
    let path = check_blob(dir, descriptor, referenced)?;
    let content = read_json(&path)?;
    let digest = descriptor["digest"].as_str().unwrap();
    match descriptor["mediaType"].as_str() {
        Some(INDEX) => {
            check_index(&content, digest)?;
            for nested in content["manifests"].as_array().unwrap() {
                if nested["platform"].is_null() {
                    return Err(format!("{digest}: index entry without a platform"));
                }
                check_descriptor(dir, nested, referenced)?;
            }
            Ok(())
        }
        Some(MANIFEST) => {
            check_manifest(dir, digest, &content, &descriptor["platform"], referenced)
        }
        other => Err(format!("{digest}: unexpected media type {other:?}")),
    }
}

fn check_manifest(
    dir: &Path,
    digest: &str,
    manifest: &Value,
    platform: &Value,
    referenced: &mut BTreeSet<String>,
) -> Result<(), String> {
    if manifest["schemaVersion"] != 2 || manifest["mediaType"] != MANIFEST {
        return Err(format!("manifest {digest}: {manifest}"));
    }
    if manifest["config"]["mediaType"] != CONFIG {
        return Err(format!("manifest {digest}: config {}", manifest["config"]));
    }
    let config = read_json(&check_blob(dir, &manifest["config"], referenced)?)?;
    for key in ["os", "architecture"] {
        if config[key].as_str().is_none_or(str::is_empty) {
            return Err(format!("config of {digest} has no {key}"));
        }
        if !platform.is_null() && platform[key] != config[key] {
            return Err(format!(
                "manifest {digest}: descriptor platform {platform} but config {key} {}",
                config[key]
            ));
        }
    }
    if !platform.is_null() && platform["variant"] != config["variant"] {
        return Err(format!(
            "manifest {digest}: variant differs from its config"
        ));
    }
    if config["rootfs"]["type"] != "layers" {
        return Err(format!("config of {digest}: rootfs {}", config["rootfs"]));
    }
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    if diff_ids.len() != layers.len() {
        return Err(format!(
            "manifest {digest}: {} layers but {} diff_ids in its config",
            layers.len(),
            diff_ids.len()
        ));
    }
    if let Some(history) = config["history"].as_array() {
        let non_empty = history
            .iter()
            .filter(|h| h["empty_layer"] != json!(true))
            .count();
        if non_empty != layers.len() {
            return Err(format!(
                "config of {digest}: {non_empty} history entries with layers for {} layers",
                layers.len()
            ));
        }
    }
    for (layer, diff_id) in layers.iter().zip(&diff_ids) {
        let path = check_blob(dir, layer, referenced)?;
        let media_type = layer["mediaType"].as_str().unwrap_or_default();
        let tar = uncompressed(&path, media_type)?;
        let actual = format!("sha256:{}", sha256_hex(&tar));
        if diff_id.as_str() != Some(actual.as_str()) {
            return Err(format!(
                "layer {} uncompresses to {actual}, but its diff_id is {diff_id}",
                layer["digest"]
            ));
        }
        tar_entries(&tar).map_err(|e| format!("layer {}: {e}", layer["digest"]))?;
    }
    Ok(())
}

/// Checks a docker-archive the way `docker load` reads it: `manifest.json` names a config and
/// layers that exist, the config's name is its SHA-256, each layer is a plain tar whose SHA-256
/// is its diff_id, `RepoTags` is `[repo_tag]`, and `repositories` points at the top layer.
fn validate_docker_archive(archive: &Path, repo_tag: &str) {
    let dir = tempfile::tempdir().unwrap();
    run(tool("tar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(dir.path()));
    let manifest = read_json(&dir.path().join("manifest.json")).unwrap();
    let entries = manifest.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{manifest}");
    let entry = &entries[0];
    assert_eq!(entry["RepoTags"], json!([repo_tag]), "{manifest}");
    let config_name = entry["Config"].as_str().unwrap();
    let config_bytes = std::fs::read(dir.path().join(config_name)).unwrap();
    let config_hex = sha256_hex(&config_bytes);
    assert!(
        config_name.contains(&config_hex),
        "config {config_name} has sha256 {config_hex}"
    );
    let config: Value = serde_json::from_slice(&config_bytes).unwrap();
    let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
    let layers = entry["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), diff_ids.len(), "{manifest}\n{config}");
    let mut compressed = Vec::new();
    for (layer, diff_id) in layers.iter().zip(diff_ids) {
        let path = dir.path().join(layer.as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        // `docker load` decompresses what it finds, then checks the diff_id.
        let tar = match bytes.get(..4) {
            Some([0x1f, 0x8b, ..]) => uncompressed(&path, LAYER_GZIP).unwrap(),
            Some([0x28, 0xb5, 0x2f, 0xfd]) => uncompressed(&path, LAYER_ZSTD).unwrap(),
            _ => bytes.clone(),
        };
        if tar != bytes {
            compressed.push(layer.as_str().unwrap().to_string());
        }
        assert_eq!(
            format!("sha256:{}", sha256_hex(&tar)),
            diff_id.as_str().unwrap(),
            "layer {layer}"
        );
        tar_entries(&tar).unwrap();
    }
    // docs/cli.md: "A docker-archive always carries plain tar layers, as `docker save` writes
    // them".
    assert!(
        compressed.is_empty(),
        "{}: compressed layers in a docker-archive: {compressed:?}",
        archive.display()
    );
    let (repository, tag) = repo_tag.rsplit_once(':').unwrap();
    let repositories = read_json(&dir.path().join("repositories")).unwrap();
    let top = diff_ids.last().unwrap().as_str().unwrap();
    assert_eq!(
        repositories[repository][tag].as_str(),
        Some(&top[7..]),
        "{repositories}"
    );
}

/// Extracts an oci-archive and validates the layout inside; returns the extracted directory.
fn validate_oci_archive(archive: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    run(tool("tar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(dir.path()));
    validate_layout(dir.path());
    dir
}

/// umoci unpacks `layout:tag` into a runtime bundle whose root holds the static hello, which
/// runs with that root as `/`: directly, in bubblewrap, and as a runc container.
fn assert_umoci_bundle_runs_hello(layout: &Path, tag: &str, scratch: &Path) {
    // umoci unpacks it into a runtime bundle whose root holds the static binary.
    let bundle = scratch.join("bundle");
    run(tool("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:{tag}", layout.display()))
        .arg(&bundle));
    let rootfs = bundle.join("rootfs");
    let version = run(Command::new(rootfs.join("bin/hello")).arg("--version"));
    assert_eq!(version, "hello 1.0.0\n");
    // ... and it runs with that root as `/`: in bubblewrap, and as a runc container.
    let sandboxed =
        run(tool("bwrap")
            .arg("--bind")
            .arg(&rootfs)
            .args(["/", "/bin/hello", "--version"]));
    assert_eq!(sandboxed, "hello 1.0.0\n");
    assert_eq!(
        runc_run(&bundle, &["/bin/hello", "--version"]),
        "hello 1.0.0\n"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. oci

#[test]
fn oci_layout_is_read_by_skopeo_and_umoci_and_runs_under_runc() {
    let project = built(&["hello"]);
    let scratch = tempfile::tempdir().unwrap();
    let layout = scratch.path().join("hello-oci");
    let digest = image_ok(&project, "hello", "oci", &layout, &[]);
    validate_layout(&layout);

    // --json reports the same image (written again over the first: replaced as a whole).
    let out = project
        .boxwright()
        .args(["--json", "image", "build", "hello", "--format", "oci", "-o"])
        .arg(&layout)
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], "oci", "{report}");
    assert_eq!(report["digest"], digest.as_str(), "{report}");
    assert_eq!(
        report["platforms"][0]["platform"], "linux/amd64",
        "{report}"
    );
    assert_eq!(
        report["platforms"][0]["manifest"],
        digest.as_str(),
        "{report}"
    );
    assert_eq!(report["platforms"][0]["layers"], 1, "{report}");
    validate_layout(&layout);

    // index.json names the manifest with the target's version as its tag.
    let top = top_descriptor(&layout);
    assert_eq!(top["digest"], digest.as_str());
    assert_eq!(top["mediaType"], MANIFEST);
    assert_eq!(
        top["annotations"]["org.opencontainers.image.ref.name"],
        "1.0.0"
    );
    let (manifest, config) = manifest_and_config(&layout);
    assert_eq!(
        report["platforms"][0]["config"],
        manifest["config"]["digest"]
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.version"],
        "1.0.0"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.created"],
        CREATED
    );
    assert_eq!(config["created"], CREATED);

    let reference = format!("oci:{}:1.0.0", layout.display());
    let inspect = skopeo_json(&["inspect"], &reference);
    assert_eq!(inspect["Architecture"], "amd64", "{inspect}");
    assert_eq!(inspect["Os"], "linux", "{inspect}");
    assert_eq!(inspect["Digest"], digest.as_str(), "{inspect}");
    assert_eq!(inspect["Created"], CREATED, "{inspect}");
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.title"], "hello",
        "{inspect}"
    );
    let skopeo_config = skopeo_json(&["inspect", "--config"], &reference);
    assert_eq!(
        skopeo_config["config"]["Entrypoint"],
        json!(["/bin/hello"]),
        "{skopeo_config}"
    );

    // skopeo can copy it into another layout, and the copy has the same manifest.
    let copy = scratch.path().join("copy");
    run(tool("skopeo").args([
        "copy",
        "--quiet",
        &reference,
        &format!("oci:{}:x", copy.display()),
    ]));
    let copied = skopeo_json(&["inspect"], &format!("oci:{}:x", copy.display()));
    assert_eq!(copied["Digest"], digest.as_str(), "{copied}");

    assert_umoci_bundle_runs_hello(&layout, "1.0.0", scratch.path());

    // --tag names the image in index.json.
    let tagged = scratch.path().join("tagged");
    image_ok(&project, "hello", "oci", &tagged, &["--tag", "edge"]);
    assert_eq!(
        top_descriptor(&tagged)["annotations"]["org.opencontainers.image.ref.name"],
        "edge"
    );
    validate_layout(&tagged);
    let inspect = skopeo_json(&["inspect"], &format!("oci:{}:edge", tagged.display()));
    assert_eq!(inspect["Architecture"], "amd64");
}

// ---------------------------------------------------------------------------------------------
// 2. oci-archive

#[test]
fn oci_archive_is_read_by_skopeo_and_loaded_by_podman() {
    let project = built(&["hello"]);
    let scratch = tempfile::tempdir().unwrap();
    let archive = scratch.path().join("hello.oci.tar");
    let digest = image_ok(&project, "hello", "oci-archive", &archive, &[]);
    let extracted = validate_oci_archive(&archive);
    assert_eq!(top_descriptor(extracted.path())["digest"], digest.as_str());
    let (manifest, _) = manifest_and_config(extracted.path());
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_string();

    // The archive holds exactly a layout.
    let listing = run(tool("tar").arg("-tf").arg(&archive));
    assert!(listing.lines().any(|l| l == "index.json"), "{listing}");
    assert!(listing.lines().any(|l| l == "oci-layout"), "{listing}");
    assert!(!listing.contains("manifest.json"), "{listing}");

    let inspect = skopeo_json(&["inspect"], &format!("oci-archive:{}", archive.display()));
    assert_eq!(inspect["Digest"], digest.as_str(), "{inspect}");
    assert_eq!(inspect["Architecture"], "amd64", "{inspect}");

    let podman = Podman::new();
    let loaded = run(podman.cmd().arg("load").arg("-i").arg(&archive));
    assert!(loaded.contains("Loaded image"), "{loaded}");
    let images = podman.images();
    assert!(
        images.iter().any(|(_, id)| *id == config_digest),
        "podman image ls does not show {config_digest}: {images:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. docker-archive

#[test]
fn docker_archive_is_loaded_by_podman_as_target_and_tag() {
    let project = built(&["hello"]);
    let scratch = tempfile::tempdir().unwrap();
    let archive = scratch.path().join("hello.docker.tar");
    image_ok(&project, "hello", "docker-archive", &archive, &[]);
    validate_docker_archive(&archive, "hello:1.0.0");

    let inspect = skopeo_json(
        &["inspect"],
        &format!("docker-archive:{}", archive.display()),
    );
    assert_eq!(inspect["Architecture"], "amd64", "{inspect}");
    assert_eq!(inspect["Os"], "linux", "{inspect}");

    let podman = Podman::new();
    let loaded = run(podman.cmd().arg("load").arg("-i").arg(&archive));
    assert!(loaded.contains("hello:1.0.0"), "{loaded}");
    let images = podman.images();
    assert!(
        images
            .iter()
            .any(|(name, _)| name == "hello:1.0.0" || name == "localhost/hello:1.0.0"),
        "{images:?}"
    );
    // The loaded image runs (its entrypoint is /bin/hello).
    let version = run(podman.cmd().args([
        "run",
        "--rm",
        "--network",
        "none",
        "hello:1.0.0",
        "--version",
    ]));
    assert_eq!(version, "hello 1.0.0\n");

    // --tag gives `TARGET:TAG`.
    let tagged = scratch.path().join("tagged.tar");
    image_ok(
        &project,
        "hello",
        "docker-archive",
        &tagged,
        &["--tag", "t1"],
    );
    validate_docker_archive(&tagged, "hello:t1");
    let loaded = run(podman.cmd().arg("load").arg("-i").arg(&tagged));
    assert!(loaded.contains("hello:t1"), "{loaded}");
}

// ---------------------------------------------------------------------------------------------
// 4. rootfs

/// What the distro's rootfs holds: its image files and rootfs/ overlay, with their parent
/// directories (as `tar -t` prints them, with a trailing `/`).
const DISTRO_ROOTFS: &[&str] = &[
    "etc/",
    "etc/wsl.conf",
    "opt/",
    "opt/404/",
    "opt/404/404-init.sh",
    "opt/404/distro-version",
    "opt/404/static",
    "opt/404/ttl_editor.o",
];

/// `tar -t` of a tarball as a set; a root entry (`./`), if any, is left out: it is not a path
/// of the filesystem.
fn tar_listing(tarball: &Path, flags: &str) -> BTreeSet<String> {
    run(tool("tar").arg(flags).arg(tarball))
        .lines()
        .filter(|l| !matches!(*l, "." | "./"))
        .map(str::to_string)
        .collect()
}

#[test]
fn rootfs_tarball_of_distro_is_a_flat_filesystem() {
    let project = built(&["distro"]);
    let scratch = tempfile::tempdir().unwrap();
    let tarball = scratch.path().join("distro.tar.gz");
    let digest = image_ok(&project, "distro", "rootfs", &tarball, &[]);
    let bytes = std::fs::read(&tarball).unwrap();
    assert_eq!(&bytes[..2], b"\x1f\x8b", "a .tar.gz is gzip");
    assert_eq!(digest, format!("sha256:{}", sha256_hex(&bytes)));

    // Exactly the filesystem: no manifest.json, index.json or blobs/ of an image archive.
    let listing = tar_listing(&tarball, "-tzf");
    let expected: BTreeSet<String> = DISTRO_ROOTFS.iter().map(|s| (*s).to_string()).collect();
    assert_eq!(listing, expected);

    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut tar)
        .unwrap();
    let entries = tar_entries(&tar).unwrap();
    assert_eq!(entries["opt/404/distro-version"].1, b"0.1.0\n");
    assert_eq!(entries["opt/404/404-init.sh"].0 & 0o777, 0o755);
    assert_eq!(entries["opt/404/static"].0 & 0o777, 0o755);
    assert_eq!(entries["etc/wsl.conf"].0 & 0o777, 0o644);
    let mut archive = tar::Archive::new(&tar[..]);
    for entry in archive.entries().unwrap() {
        let header = entry.unwrap().header().clone();
        assert_eq!(header.mtime().unwrap(), 1_700_000_000);
        assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
    }

    // Extracted, it is a root filesystem whose programs run, also as `/`.
    let root = scratch.path().join("root");
    std::fs::create_dir(&root).unwrap();
    run(tool("tar").arg("-xzf").arg(&tarball).arg("-C").arg(&root));
    let init = std::fs::metadata(root.join("opt/404/404-init.sh")).unwrap();
    assert!(
        init.permissions().mode() & 0o111 != 0,
        "the init script is not executable"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("opt/404/distro-version")).unwrap(),
        "0.1.0\n"
    );
    let version = run(Command::new(root.join("opt/404/static")).arg("--version"));
    assert_eq!(version, "static_proxy 0.3.0\n");
    let sandboxed =
        run(tool("bwrap")
            .arg("--bind")
            .arg(&root)
            .args(["/", "/opt/404/static", "--version"]));
    assert_eq!(sandboxed, "static_proxy 0.3.0\n");

    // A `.tar` name gives the same filesystem, uncompressed.
    let plain = scratch.path().join("distro.tar");
    image_ok(&project, "distro", "rootfs", &plain, &[]);
    assert!(
        std::fs::read(&plain).unwrap() == tar,
        "the .tar is not the .tar.gz's content"
    );
    assert_eq!(tar_listing(&plain, "-tf"), expected);
}

// ---------------------------------------------------------------------------------------------
// 5. Reproducible

/// Builds `format` twice into different paths (the second time on one CPU, so the thread
/// count cannot change the bytes) and asserts identical outputs; returns the first.
fn assert_reproducible(
    project: &TestProject,
    target: &str,
    format: &str,
    name: &str,
    extra: &[&str],
) -> PathBuf {
    let first = project.path().join("repro-a").join(name);
    let second = project.path().join("repro-b").join(format!("again-{name}"));
    let digest = image_ok(project, target, format, &first, extra);
    // The same command pinned to one CPU (available_parallelism follows the affinity mask).
    let out = Command::new("taskset")
        .args(["-c", "0"])
        .arg(assert_cmd::cargo::cargo_bin("boxwright"))
        .env_remove("BUILD_OUTPUT_DEST")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("--project")
        .arg(project.path())
        .args(["image", "build", target, "--format", format, "-o"])
        .arg(&second)
        .args(extra)
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    let again = String::from_utf8_lossy(&out.stdout);
    assert!(
        again.starts_with(&format!("{digest}  ")),
        "{format} {extra:?}: digest {digest} then {again}"
    );
    if first.is_dir() {
        assert!(
            tree(&first) == tree(&second),
            "{format} {extra:?}: the two layouts differ"
        );
    } else {
        assert!(
            std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap(),
            "{format} {extra:?}: {} and {} differ",
            first.display(),
            second.display()
        );
    }
    first
}

#[test]
fn every_format_is_byte_identical_when_built_twice() {
    require_tool("taskset", "apt-get install util-linux");
    let project = built(&["hello", "distro"]);
    for compression in ["gzip", "zstd", "none"] {
        let extra = ["--compression", compression];
        let layout = assert_reproducible(
            &project,
            "hello",
            "oci",
            &format!("oci-{compression}"),
            &extra,
        );
        validate_layout(&layout);
        let (manifest, _) = manifest_and_config(&layout);
        let expected = match compression {
            "gzip" => LAYER_GZIP,
            "zstd" => LAYER_ZSTD,
            _ => LAYER_TAR,
        };
        assert_eq!(manifest["layers"][0]["mediaType"], expected, "{manifest}");
        let archive = assert_reproducible(
            &project,
            "distro",
            "oci-archive",
            &format!("distro-{compression}.tar"),
            &extra,
        );
        validate_oci_archive(&archive);
    }
    // zstd layers are read by skopeo too.
    let zstd = project.path().join("repro-a/oci-zstd");
    let inspect = skopeo_json(&["inspect"], &format!("oci:{}:1.0.0", zstd.display()));
    assert_eq!(inspect["Architecture"], "amd64");
    let archive = assert_reproducible(&project, "hello", "docker-archive", "hello-docker.tar", &[]);
    validate_docker_archive(&archive, "hello:1.0.0");
    assert_reproducible(&project, "distro", "rootfs", "distro.tar.gz", &[]);
    assert_reproducible(&project, "distro", "rootfs", "distro.tar", &[]);
}

/// A project whose one target, `big`, has an image made only of a rootfs overlay holding a
/// few MiB of text, repeats and noise: its gzip layer spans several compression blocks.
fn overlay_project() -> TestProject {
    let project = TestProject::new(
        r#"{ "big": { "version_env_var": "V", "env": { "V": "2.0.0" },
                      "image": { "rootfs": "../overlay" } } }"#,
    );
    std::fs::create_dir_all(project.path().join("big")).unwrap();
    let mut state = 0x2545_f491_u32;
    let noise: Vec<u8> = (0..1_200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[2]
        })
        .collect();
    let text = (0..150_000).fold(String::new(), |mut text, i| {
        use std::fmt::Write as _;
        let _ = writeln!(text, "entry {} = {}", i % 1013, i * 7);
        text
    });
    project.write("overlay/usr/lib/blob.bin", &noise, 0o644);
    project.write("overlay/usr/share/doc/list.txt", text.as_bytes(), 0o644);
    project.write("overlay/usr/bin/tool", b"#!/bin/sh\necho tool\n", 0o755);
    project.write("overlay/etc/empty", b"", 0o644);
    project
}

/// A gzip layer of several blocks is one gzip member that GNU gzip, Go (umoci, skopeo) and
/// zlib all read, and its digest does not depend on the number of compressing threads.
#[test]
fn multi_block_gzip_layer_is_read_by_gzip_umoci_and_skopeo() {
    require_tool("taskset", "apt-get install util-linux");
    let project = overlay_project();
    let layout = assert_reproducible(&project, "big", "oci", "big-oci", &[]);
    validate_layout(&layout);
    let (manifest, config) = manifest_and_config(&layout);
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], LAYER_GZIP, "{manifest}");
    let blob = blob_path(&layout, layer["digest"].as_str().unwrap());
    assert!(
        std::fs::metadata(&blob).unwrap().len() > 1 << 20,
        "the layer spans several blocks"
    );

    // GNU gzip checks the whole stream (CRC and length).
    run(tool("gzip").arg("-t").arg(&blob));
    // zlib's single-member decoder reads all of it: one member, not several.
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&blob).unwrap())
        .read_to_end(&mut tar)
        .unwrap();
    assert_eq!(
        format!("sha256:{}", sha256_hex(&tar)),
        config["rootfs"]["diff_ids"][0].as_str().unwrap()
    );

    // umoci (Go's gzip) unpacks it into the same files.
    let scratch = tempfile::tempdir().unwrap();
    let bundle = scratch.path().join("bundle");
    run(tool("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:2.0.0", layout.display()))
        .arg(&bundle));
    let rootfs = tree(&bundle.join("rootfs"));
    let overlay = tree(&project.path().join("overlay"));
    assert!(!overlay.is_empty());
    for (path, content) in &overlay {
        assert!(
            rootfs.get(path) == Some(content),
            "{path} differs after umoci unpack"
        );
    }

    // skopeo copies it to a dir: destination as is, and decompresses it (Go's gzip again)
    // into the tar whose digest is the config's diff_id.
    let reference = format!("oci:{}:2.0.0", layout.display());
    let copy = scratch.path().join("dir-copy");
    run(tool("skopeo").args([
        "copy",
        "--quiet",
        &reference,
        &format!("dir:{}", copy.display()),
    ]));
    let hex = layer["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap();
    assert!(
        std::fs::read(copy.join(hex)).unwrap() == std::fs::read(&blob).unwrap(),
        "skopeo's dir: copy holds the layer unchanged"
    );
    let plain = scratch.path().join("dir-plain");
    run(tool("skopeo").args([
        "copy",
        "--quiet",
        "--dest-decompress",
        &reference,
        &format!("dir:{}", plain.display()),
    ]));
    let diff_id = config["rootfs"]["diff_ids"][0].as_str().unwrap();
    let unpacked = plain.join(diff_id.strip_prefix("sha256:").unwrap());
    assert!(
        unpacked.is_file(),
        "skopeo --dest-decompress wrote the tar named by its digest, the diff_id: {:?}",
        names_in(&plain)
    );
    assert_eq!(
        format!("sha256:{}", sha256_hex(&std::fs::read(&unpacked).unwrap())),
        diff_id
    );
}

/// The same inputs in another directory give the same image: no path of this machine leaks
/// into it (checked with a base image, whose reference is recorded in the manifest).
#[test]
fn image_does_not_depend_on_where_the_project_is() {
    let first = built(&["hello"]);
    edit_metadata(&first, |m| {
        m["hello"]["image"]["base"] = json!("base-layout");
    });
    handmade_base(&first.path().join("base-layout"));
    let second = TestProject::new("{}");
    copy_tree(first.path(), second.path(), &[]);
    let scratch = tempfile::tempdir().unwrap();
    let (a, b) = (scratch.path().join("a"), scratch.path().join("b"));
    let digest_a = image_ok(&first, "hello", "oci", &a, &[]);
    let digest_b = image_ok(&second, "hello", "oci", &b, &[]);
    validate_layout(&a);
    let (manifest, _) = manifest_and_config(&a);
    let base_name = manifest["annotations"]["org.opencontainers.image.base.name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        !base_name.contains(&*first.path().to_string_lossy()),
        "the manifest records the project's absolute path: base.name = {base_name}"
    );
    assert_eq!(
        digest_a, digest_b,
        "the image depends on the project's location"
    );
    assert!(tree(&a) == tree(&b));
}

// ---------------------------------------------------------------------------------------------
// 6. Base images and whiteouts

/// A base layout made with umoci: layer 1 adds files, layer 2 deletes `etc/removed` and the
/// directory `var/cache` (umoci writes `.wh.` whiteouts for both).
fn umoci_base(layout: &Path) {
    let work = tempfile::tempdir().unwrap();
    let image = format!("{}:v1", layout.display());
    run(tool("umoci").args(["init", "--layout"]).arg(layout));
    run(tool("umoci").args(["new", "--image", &image]));
    let first = work.path().join("first");
    run(tool("umoci")
        .args(["unpack", "--rootless", "--image", &image])
        .arg(&first));
    let root = first.join("rootfs");
    for (path, content) in [
        ("etc/keep", "keep\n"),
        ("etc/removed", "gone\n"),
        ("usr/share/base.txt", "base\n"),
        ("var/cache/a", "a\n"),
        ("var/log/kept", "log\n"),
    ] {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), content).unwrap();
    }
    run(tool("umoci")
        .args(["repack", "--image", &image])
        .arg(&first));
    let second = work.path().join("second");
    run(tool("umoci")
        .args(["unpack", "--rootless", "--image", &image])
        .arg(&second));
    std::fs::remove_file(second.join("rootfs/etc/removed")).unwrap();
    std::fs::remove_dir_all(second.join("rootfs/var/cache")).unwrap();
    run(tool("umoci")
        .args(["repack", "--image", &image])
        .arg(&second));
    run(tool("umoci").args(["gc", "--layout"]).arg(layout));
}

#[test]
fn base_layers_are_reused_and_their_whiteouts_applied() {
    let project = built(&["distro"]);
    let base = project.path().join("base-layout");
    umoci_base(&base);
    // The base's second layer really holds whiteouts (umoci wrote them).
    let (base_manifest, _) = manifest_and_config(&base);
    let base_layers = base_manifest["layers"].as_array().unwrap().clone();
    assert_eq!(base_layers.len(), 2, "{base_manifest}");
    let whiteouts = tar_entries(
        &uncompressed(
            &blob_path(&base, base_layers[1]["digest"].as_str().unwrap()),
            base_layers[1]["mediaType"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        whiteouts.contains_key("etc/.wh.removed"),
        "{:?}",
        whiteouts.keys()
    );
    let base_digest = top_descriptor(&base)["digest"]
        .as_str()
        .unwrap()
        .to_string();

    edit_metadata(&project, |m| {
        m["distro"]["image"]["base"] = json!("base-layout");
    });
    let scratch = tempfile::tempdir().unwrap();
    let tarball = scratch.path().join("distro.tar");
    image_ok(&project, "distro", "rootfs", &tarball, &[]);
    let entries = tar_entries(&std::fs::read(&tarball).unwrap()).unwrap();
    let names: BTreeSet<&str> = entries.keys().map(String::as_str).collect();
    for present in [
        "etc/keep",
        "usr/share/base.txt",
        "var/log/kept",
        "etc/wsl.conf",
        "opt/404/static",
        "opt/404/distro-version",
    ] {
        assert!(names.contains(present), "{present} is missing: {names:?}");
    }
    for absent in [
        "etc/removed",
        "var/cache/",
        "var/cache/a",
        "etc/.wh.removed",
        "var/.wh.cache",
    ] {
        assert!(
            !names.contains(absent),
            "{absent} is in the rootfs: {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.contains(".wh.")), "{names:?}");
    assert_eq!(entries["etc/keep"].1, b"keep\n");

    // As an image: the base's layers as they are, then the new one; the base is recorded.
    let layout = scratch.path().join("distro-oci");
    image_ok(&project, "distro", "oci", &layout, &[]);
    validate_layout(&layout);
    let inspect = skopeo_json(&["inspect"], &format!("oci:{}:0.1.0", layout.display()));
    let layers = inspect["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), base_layers.len() + 1, "{inspect}");
    for (ours, theirs) in layers.iter().zip(&base_layers) {
        assert_eq!(
            ours, &theirs["digest"],
            "a base layer was not reused as it is"
        );
    }
    let (manifest, config) = manifest_and_config(&layout);
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.digest"],
        base_digest.as_str(),
        "{manifest}"
    );
    assert!(manifest["annotations"]["org.opencontainers.image.base.name"].is_string());
    assert_eq!(
        config["config"]["Entrypoint"],
        json!(["/opt/404/404-init.sh"])
    );

    // The same base as an oci-archive made by tar.
    run(tool("tar")
        .arg("-C")
        .arg(&base)
        .arg("-cf")
        .arg(project.path().join("base.tar"))
        .arg("."));
    edit_metadata(&project, |m| {
        m["distro"]["image"]["base"] = json!("base.tar");
    });
    let from_archive = scratch.path().join("from-archive");
    image_ok(&project, "distro", "oci", &from_archive, &[]);
    validate_layout(&from_archive);
    let (manifest, _) = manifest_and_config(&from_archive);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 3);
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.digest"],
        base_digest.as_str()
    );
    let rootfs = scratch.path().join("from-archive.tar");
    image_ok(&project, "distro", "rootfs", &rootfs, &[]);
    assert!(std::fs::read(&rootfs).unwrap() == std::fs::read(&tarball).unwrap());
}

/// One gzip layer blob from `(path, content)` entries: a path ending in `/` is a directory,
/// content `hardlink:TARGET` a hard link, content starting with `#!` an executable.
fn layer_blob(entries: &[(&str, &str)]) -> (Vec<u8>, String) {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(1_600_000_000);
        if let Some(target) = content.strip_prefix("hardlink:") {
            header.set_entry_type(tar::EntryType::Link);
            header.set_mode(0o644);
            header.set_size(0);
            builder.append_link(&mut header, path, target).unwrap();
        } else if path.ends_with('/') {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder
                .append_data(&mut header, path, std::io::empty())
                .unwrap();
        } else {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if content.starts_with("#!") {
                0o755
            } else {
                0o644
            });
            header.set_size(content.len() as u64);
            builder
                .append_data(&mut header, path, content.as_bytes())
                .unwrap();
        }
    }
    let tar = builder.into_inner().unwrap();
    let diff_id = format!("sha256:{}", sha256_hex(&tar));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    (gz.finish().unwrap(), diff_id)
}

/// Stores `bytes` in the layout's blobs; returns its descriptor.
fn put_blob(layout: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let hex = sha256_hex(bytes);
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
    json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len()})
}

/// A base layout written by hand: layer 1 has files under etc/, var/cache/ and usr/bin/ (with
/// a hard link);
/// layer 2 removes `etc/removed` with a whiteout and empties `var/cache/` with an opaque
/// whiteout, then adds `var/cache/c`. Its config sets `PATH` and a `Cmd`.
fn handmade_base(layout: &Path) {
    let (one, one_id) = layer_blob(&[
        ("etc/", ""),
        ("etc/keep", "keep\n"),
        ("etc/removed", "gone\n"),
        ("usr/", ""),
        ("usr/bin/", ""),
        ("usr/bin/tool", "#!/bin/sh\necho tool\n"),
        ("usr/bin/tool-link", "hardlink:usr/bin/tool"),
        ("var/", ""),
        ("var/cache/", ""),
        ("var/cache/a", "a\n"),
        ("var/cache/b", "b\n"),
    ]);
    let (two, two_id) = layer_blob(&[
        ("etc/", ""),
        ("etc/.wh.removed", ""),
        ("var/", ""),
        ("var/cache/", ""),
        ("var/cache/.wh..wh..opq", ""),
        ("var/cache/c", "c\n"),
    ]);
    let layers = vec![
        put_blob(layout, LAYER_GZIP, &one),
        put_blob(layout, LAYER_GZIP, &two),
    ];
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2020-09-13T12:26:40Z",
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/usr/bin/tool"]},
        "rootfs": {"type": "layers", "diff_ids": [one_id, two_id]},
        "history": [{"created_by": "layer one"}, {"created_by": "layer two"}]
    });
    let config = put_blob(layout, CONFIG, &serde_json::to_vec(&config).unwrap());
    let manifest = json!({
        "schemaVersion": 2, "mediaType": MANIFEST, "config": config, "layers": layers
    });
    let mut manifest = put_blob(layout, MANIFEST, &serde_json::to_vec(&manifest).unwrap());
    manifest["platform"] = json!({"architecture": "amd64", "os": "linux"});
    manifest["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [manifest]});
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
}

#[test]
fn opaque_whiteouts_of_a_handmade_base_empty_the_directory() {
    let project = built(&["distro"]);
    let base = project.path().join("base-layout");
    handmade_base(&base);
    validate_layout(&base);
    edit_metadata(&project, |m| {
        m["distro"]["image"]["base"] = json!("base-layout");
    });
    let scratch = tempfile::tempdir().unwrap();
    let tarball = scratch.path().join("distro.tar.gz");
    image_ok(&project, "distro", "rootfs", &tarball, &[]);
    let listing = tar_listing(&tarball, "-tzf");
    for present in [
        "etc/keep",
        "etc/wsl.conf",
        "usr/bin/tool",
        "usr/bin/tool-link",
        "var/cache/",
        "var/cache/c",
        "opt/404/404-init.sh",
    ] {
        assert!(
            listing.contains(present),
            "{present} is missing: {listing:?}"
        );
    }
    for absent in ["etc/removed", "var/cache/a", "var/cache/b"] {
        assert!(
            !listing.contains(absent),
            "{absent} is in the rootfs: {listing:?}"
        );
    }
    assert!(!listing.iter().any(|n| n.contains(".wh.")), "{listing:?}");
    // The base's hard link is still one: extracted, both names are the same file.
    let verbose = run(tool("tar").arg("-tvzf").arg(&tarball));
    assert!(
        verbose.contains("usr/bin/tool-link link to usr/bin/tool"),
        "{verbose}"
    );
    let root = scratch.path().join("root");
    std::fs::create_dir(&root).unwrap();
    run(tool("tar").arg("-xzf").arg(&tarball).arg("-C").arg(&root));
    let ino =
        |p: &str| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(root.join(p)).unwrap());
    assert_eq!(ino("usr/bin/tool"), ino("usr/bin/tool-link"));
    assert_eq!(
        std::fs::read_to_string(root.join("usr/bin/tool-link")).unwrap(),
        "#!/bin/sh\necho tool\n"
    );

    // The image keeps the base's environment; the new entrypoint drops the base's Cmd.
    let layout = scratch.path().join("oci");
    image_ok(&project, "distro", "oci", &layout, &[]);
    validate_layout(&layout);
    let (_, config) = manifest_and_config(&layout);
    assert_eq!(
        config["config"]["Env"],
        json!(["PATH=/usr/bin:/bin"]),
        "{config}"
    );
    assert_eq!(
        config["config"]["Entrypoint"],
        json!(["/opt/404/404-init.sh"])
    );
    assert!(config["config"]["Cmd"].is_null(), "{config}");
    assert_eq!(config["history"].as_array().unwrap().len(), 3, "{config}");
}

/// A base's layers are gzip; a docker-archive still carries plain tar layers (docs/cli.md),
/// and podman loads and runs the image.
#[test]
fn docker_archive_with_a_base_loads_and_runs() {
    let project = built(&["hello"]);
    handmade_base(&project.path().join("base-layout"));
    edit_metadata(&project, |m| {
        m["hello"]["image"]["base"] = json!("base-layout");
    });
    let scratch = tempfile::tempdir().unwrap();
    let archive = scratch.path().join("hello.tar");
    image_ok(&project, "hello", "docker-archive", &archive, &[]);
    let podman = Podman::new();
    let loaded = run(podman.cmd().arg("load").arg("-i").arg(&archive));
    assert!(loaded.contains("hello:1.0.0"), "{loaded}");
    let inspect = run(podman.cmd().args([
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        "hello:1.0.0",
    ]));
    assert_eq!(inspect.trim(), "3", "base layers + 1");
    let version = run(podman.cmd().args([
        "run",
        "--rm",
        "--network",
        "none",
        "hello:1.0.0",
        "--version",
    ]));
    assert_eq!(version, "hello 1.0.0\n");
    validate_docker_archive(&archive, "hello:1.0.0");
}

/// What goes into the new layer (docs/cli.md): the overlay directory, then `image.files`, then
/// `image.contents`, later ones replacing earlier ones; parents added; symlinks kept as
/// written; modes 0755/0644, owner 0:0, mtime SOURCE_DATE_EPOCH. Needs no build: the output
/// directory is written by hand.
#[test]
fn layer_entries_follow_the_documented_rules() {
    use std::os::unix::fs::symlink;
    let project = TestProject::new(
        r##"{"t": {"version_env_var": "V", "env": {"V": "2.0"},
            "image": {
              "files": {"/usr/local/bin/tool": "bin/tool", "/etc/motd": "bin/motd",
                        "/bin/link": "bin/link"},
              "contents": {"/etc/hostname": "box\n", "/usr/local/bin/run.sh": "#!/bin/sh\necho hi\n",
                           "/etc/motd": "from contents\n"},
              "entrypoint": ["/usr/local/bin/run.sh"]}}}"##,
    );
    project.write(".out/t/bin/tool", b"tool", 0o700);
    project.write(".out/t/bin/motd", b"from files\n", 0o600);
    symlink("tool", project.path().join(".out/t/bin/link")).unwrap();
    project.write("t/rootfs/etc/motd", b"from overlay\n", 0o640);
    project.write("t/rootfs/etc/issue", b"overlay only\n", 0o600);
    std::fs::create_dir(project.path().join("t/rootfs/bin")).unwrap();
    symlink(
        "/usr/local/bin/tool",
        project.path().join("t/rootfs/bin/sh"),
    )
    .unwrap();

    let scratch = tempfile::tempdir().unwrap();
    let layout = scratch.path().join("oci");
    image_ok(&project, "t", "oci", &layout, &[]);
    validate_layout(&layout);
    let (manifest, config) = manifest_and_config(&layout);
    // Nothing here is an ELF file: the platform is this machine's.
    assert_eq!(config["architecture"], "amd64");
    let layer = &manifest["layers"][0];
    let tar = uncompressed(
        &blob_path(&layout, layer["digest"].as_str().unwrap()),
        layer["mediaType"].as_str().unwrap(),
    )
    .unwrap();
    let mut found = BTreeMap::new();
    let mut archive = tar::Archive::new(&tar[..]);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        assert_eq!(header.mtime().unwrap(), 1_700_000_000);
        assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let link = entry
            .link_name()
            .unwrap()
            .map(|l| l.to_string_lossy().into_owned());
        let mut content = String::new();
        entry.read_to_string(&mut content).unwrap();
        let what = match link {
            Some(target) => format!("-> {target}"),
            None => content,
        };
        found.insert(
            path.trim_end_matches('/').to_string(),
            (header.mode().unwrap() & 0o7777, what),
        );
    }
    let expected: BTreeMap<String, (u32, String)> = [
        ("bin", 0o755, ""),
        ("bin/link", 0o777, "-> tool"),
        ("bin/sh", 0o777, "-> /usr/local/bin/tool"),
        ("etc", 0o755, ""),
        ("etc/hostname", 0o644, "box\n"),
        ("etc/issue", 0o644, "overlay only\n"),
        ("etc/motd", 0o644, "from contents\n"),
        ("usr", 0o755, ""),
        ("usr/local", 0o755, ""),
        ("usr/local/bin", 0o755, ""),
        ("usr/local/bin/run.sh", 0o755, "#!/bin/sh\necho hi\n"),
        ("usr/local/bin/tool", 0o755, "tool"),
    ]
    .into_iter()
    .map(|(p, m, c)| (p.to_string(), (m, c.to_string())))
    .collect();
    // Symbolic links' own modes vary by writer: compare them by target only.
    let normalise = |map: BTreeMap<String, (u32, String)>| -> BTreeMap<String, (u32, String)> {
        map.into_iter()
            .map(|(p, (m, c))| (p, (if c.starts_with("-> ") { 0 } else { m }, c)))
            .collect()
    };
    assert_eq!(normalise(found), normalise(expected));

    // The same tree as a rootfs, and umoci sees the links as written.
    let rootfs = scratch.path().join("t.tar");
    image_ok(&project, "t", "rootfs", &rootfs, &[]);
    let verbose = run(tool("tar").arg("-tvf").arg(&rootfs));
    assert!(
        verbose.contains("bin/sh -> /usr/local/bin/tool"),
        "{verbose}"
    );
    let bundle = scratch.path().join("bundle");
    run(tool("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:2.0", layout.display()))
        .arg(&bundle));
    assert_eq!(
        std::fs::read_link(bundle.join("rootfs/bin/sh")).unwrap(),
        Path::new("/usr/local/bin/tool")
    );
    assert_eq!(
        std::fs::read_to_string(bundle.join("rootfs/etc/motd")).unwrap(),
        "from contents\n"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Several platforms

#[test]
fn two_platforms_give_an_image_index() {
    let project = crate::support::static_proxy_for_two_arches();
    let scratch = tempfile::tempdir().unwrap();
    let layout = scratch.path().join("proxy");
    let digest = image_ok(&project, "static-proxy", "oci", &layout, &[]);
    validate_layout(&layout);
    let top = top_descriptor(&layout);
    assert_eq!(top["mediaType"], INDEX, "{top}");
    assert_eq!(top["digest"], digest.as_str());
    let reference = format!("oci:{}:0.3.0", layout.display());
    let raw = skopeo_json(&["inspect", "--raw"], &reference);
    assert_eq!(raw["mediaType"], INDEX, "{raw}");
    let platforms: BTreeMap<String, Value> = raw["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["platform"]["architecture"].as_str().unwrap().to_string(),
                m.clone(),
            )
        })
        .collect();
    assert_eq!(
        platforms.keys().map(String::as_str).collect::<Vec<_>>(),
        ["amd64", "arm64"],
        "{raw}"
    );
    for (arch, machine) in [("amd64", EM_X86_64), ("arm64", EM_AARCH64)] {
        let descriptor = &platforms[arch];
        assert_eq!(descriptor["platform"]["os"], "linux");
        // skopeo picks the platform's manifest; its config says the same architecture.
        let inspect = skopeo_json(&["--override-arch", arch, "inspect"], &reference);
        assert_eq!(inspect["Architecture"], arch, "{inspect}");
        // (skopeo's `Digest` is the index's; the layers are the platform manifest's.)
        assert_eq!(inspect["Digest"], digest.as_str(), "{inspect}");
        let manifest =
            read_json(&blob_path(&layout, descriptor["digest"].as_str().unwrap())).unwrap();
        assert_eq!(
            inspect["Layers"][0], manifest["layers"][0]["digest"],
            "{inspect}"
        );
        let config = read_json(&blob_path(
            &layout,
            manifest["config"]["digest"].as_str().unwrap(),
        ))
        .unwrap();
        assert_eq!(config["architecture"], arch);
        // ... and its layer holds the binary of that CPU.
        let layer = &manifest["layers"][0];
        let tar = uncompressed(
            &blob_path(&layout, layer["digest"].as_str().unwrap()),
            layer["mediaType"].as_str().unwrap(),
        )
        .unwrap();
        let entries = tar_entries(&tar).unwrap();
        assert_eq!(
            elf_machine(&entries["bin/static_proxy"].1),
            machine,
            "{arch}"
        );
    }

    // One platform of the two, as a docker-archive and a rootfs.
    let arm = scratch.path().join("arm.tar");
    image_ok(
        &project,
        "static-proxy",
        "docker-archive",
        &arm,
        &["--platform", "linux/arm64"],
    );
    validate_docker_archive(&arm, "static-proxy:0.3.0");
    let inspect = skopeo_json(&["inspect"], &format!("docker-archive:{}", arm.display()));
    assert_eq!(inspect["Architecture"], "arm64", "{inspect}");
    // Both platforms do not fit in one docker-archive.
    let both = scratch.path().join("both.tar");
    let out = image_build(&project, "static-proxy", "docker-archive", &both, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--platform"), "{stderr}");
    assert!(!both.exists());
}

#[test]
fn platform_without_binaries_for_it_is_refused() {
    let project = built(&["hello"]);
    let scratch = tempfile::tempdir().unwrap();
    let output = scratch.path().join("arm");
    // No aarch64 build at all.
    let out = image_build(
        &project,
        "hello",
        "oci",
        &output,
        &["--platform", "linux/arm64"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("hello@aarch64") && stderr.contains("bin/hello"),
        "{stderr}"
    );
    assert!(!output.exists());
    // An x86_64 binary where the aarch64 build belongs: the mismatch is named.
    let arm_out = project.path().join(".out/hello@aarch64/bin");
    std::fs::create_dir_all(&arm_out).unwrap();
    std::fs::copy(
        project.path().join(".out/hello/bin/hello"),
        arm_out.join("hello"),
    )
    .unwrap();
    let out = image_build(
        &project,
        "hello",
        "oci",
        &output,
        &["--platform", "linux/arm64"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("linux/arm64")
            && stderr.contains("aarch64")
            && stderr.contains("x86_64")
            && stderr.contains("/bin/hello"),
        "{stderr}"
    );
    assert!(!output.exists());
    assert_eq!(
        names_in(scratch.path()),
        BTreeSet::new(),
        "leftovers next to the output"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Errors

fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr does not name `{needle}`: {stderr}"
        );
    }
}

#[test]
fn input_errors_exit_2_and_leave_nothing_behind() {
    // Before any build: the output of hello is missing.
    tools_for_examples();
    let project = example_project();
    let scratch = tempfile::tempdir().unwrap();
    let output = scratch.path().join("out.tar");
    let out = image_build(&project, "hello", "oci-archive", &output, &[]);
    assert_fails(&out, 2, &["bin/hello"]);
    build(&project, &["hello"], &[]);

    let out = image_build(&project, "hello", "qcow2", &output, &[]);
    assert_fails(&out, 2, &["qcow2"]);
    let out = image_build(&project, "hello", "oci", &output, &["--compression", "lz4"]);
    assert_fails(&out, 2, &["lz4"]);
    let out = image_build(&project, "ttl-editor", "oci", &output, &[]);
    assert_fails(&out, 2, &["ttl-editor", "image"]);
    let out = image_build(&project, "no-such-target", "oci", &output, &[]);
    assert_fails(&out, 2, &["no-such-target"]);
    let out = image_build(
        &project,
        "hello",
        "rootfs",
        &output,
        &["--platform", "linux"],
    );
    assert_fails(&out, 2, &["linux"]);
    edit_metadata(&project, |m| {
        m["hello"]["image"]["base"] = json!("missing-base");
    });
    let out = image_build(&project, "hello", "oci", &output, &[]);
    assert_fails(&out, 2, &["missing-base"]);
    assert!(!output.exists());
    assert_eq!(
        names_in(scratch.path()),
        BTreeSet::new(),
        "leftovers next to the output"
    );
}

#[test]
fn failure_while_writing_keeps_the_previous_output() {
    let project = built(&["hello"]);
    let base = project.path().join("base-layout");
    handmade_base(&base);
    edit_metadata(&project, |m| {
        m["hello"]["image"]["base"] = json!("base-layout");
    });
    let scratch = tempfile::tempdir().unwrap();
    let layout = scratch.path().join("hello-oci");
    image_ok(&project, "hello", "oci", &layout, &[]);
    validate_layout(&layout);
    let before = tree(&layout);

    // Corrupt a base layer: it is copied (digest checked) only while the image is written.
    let (manifest, _) = manifest_and_config(&base);
    let layer_digest = manifest["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = blob_path(&base, &layer_digest);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    for (format, name) in [
        ("oci", "hello-oci"),
        ("oci-archive", "new.tar"),
        ("rootfs", "new.tar.gz"),
    ] {
        let output = scratch.path().join(name);
        let out = image_build(&project, "hello", format, &output, &[]);
        assert_fails(&out, 2, &[&layer_digest]);
        if name != "hello-oci" {
            assert!(!output.exists(), "{format}: {} was left", output.display());
        }
    }
    assert!(tree(&layout) == before, "the previous layout was changed");
    assert_eq!(
        names_in(scratch.path()),
        ["hello-oci".to_string()].into_iter().collect(),
        "leftovers next to the output"
    );
}

/// The validator itself: each kind of damage to a good layout is caught.
#[test]
fn validate_layout_catches_broken_layouts() {
    let good = tempfile::tempdir().unwrap();
    handmade_base(good.path());
    check_layout(good.path()).unwrap();
    let (manifest, config) = manifest_and_config(good.path());
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_string();

    let damaged = |damage: &dyn Fn(&Path), expected: &str| {
        let copy = tempfile::tempdir().unwrap();
        copy_tree(good.path(), copy.path(), &[]);
        damage(copy.path());
        let problem = check_layout(copy.path()).expect_err(expected);
        assert!(problem.contains(expected), "{expected}: {problem}");
    };
    damaged(
        &|dir| {
            let path = blob_path(dir, &layer);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[20] ^= 1;
            std::fs::write(&path, bytes).unwrap();
        },
        "has content",
    );
    damaged(
        &|dir| std::fs::write(dir.join("blobs/sha256/.blob.x"), b"").unwrap(),
        "nothing refers to",
    );
    // A config whose diff_id is wrong (manifest and index rewritten to stay consistent).
    let rewrite_config = |dir: &Path, config: &Value| {
        std::fs::remove_file(blob_path(dir, &config_digest)).unwrap();
        let descriptor = put_blob(dir, CONFIG, &serde_json::to_vec(config).unwrap());
        let old_manifest = top_descriptor(dir)["digest"].as_str().unwrap().to_string();
        let mut manifest = manifest.clone();
        manifest["config"] = descriptor;
        std::fs::remove_file(blob_path(dir, &old_manifest)).unwrap();
        let mut top = put_blob(dir, MANIFEST, &serde_json::to_vec(&manifest).unwrap());
        top["platform"] = json!({"architecture": "amd64", "os": "linux"});
        let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [top]});
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    };
    let mut wrong_diff = config.clone();
    wrong_diff["rootfs"]["diff_ids"][0] = json!(format!("sha256:{}", "0".repeat(64)));
    damaged(
        &|dir| rewrite_config(dir, &wrong_diff),
        "but its diff_id is",
    );
    let mut short = config.clone();
    short["rootfs"]["diff_ids"].as_array_mut().unwrap().pop();
    damaged(&|dir| rewrite_config(dir, &short), "diff_ids in its config");
    let mut arm = config.clone();
    arm["architecture"] = json!("arm64");
    damaged(&|dir| rewrite_config(dir, &arm), "descriptor platform");
}

/// `image.files` may name a directory of the output (seed 000's
/// `lualib/resty/core/`): it goes in with everything below it, links kept.
#[test]
fn image_files_take_whole_directories() {
    let project = TestProject::new(
        &json!({"lua": {"version_env_var": "V", "env": {"V": "1.0"},
                        "image": {"files": {"/usr/lib/lua/resty/core/": "lualib/resty/core/",
                                            "/usr/lib/lua/resty/core.lua": "lualib/resty/core.lua"},
                                  "platforms": ["linux/amd64"]}}})
        .to_string(),
    );
    project.write(".out/lua/lualib/resty/core.lua", b"return {}\n", 0o644);
    project.write(".out/lua/lualib/resty/core/base.lua", b"-- base\n", 0o644);
    project.write(
        ".out/lua/lualib/resty/core/sub/deep.lua",
        b"-- deep\n",
        0o644,
    );
    std::os::unix::fs::symlink(
        "base.lua",
        project.path().join(".out/lua/lualib/resty/core/alias.lua"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let rootfs = out.path().join("rootfs.tar");
    image_ok(&project, "lua", "rootfs", &rootfs, &[]);
    let listing = tar_listing(&rootfs, "-tf");
    for path in [
        "usr/lib/lua/resty/core.lua",
        "usr/lib/lua/resty/core/",
        "usr/lib/lua/resty/core/base.lua",
        "usr/lib/lua/resty/core/alias.lua",
        "usr/lib/lua/resty/core/sub/deep.lua",
    ] {
        assert!(listing.contains(path), "{path} missing from {listing:?}");
    }
    let verbose = run(tool("tar").arg("-tvf").arg(&rootfs));
    assert!(
        verbose.contains("usr/lib/lua/resty/core/alias.lua -> base.lua"),
        "{verbose}"
    );
}
