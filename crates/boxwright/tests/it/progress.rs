//! Progress bars of long transfers (issue 22, Build 3): `image push` of a 200 MiB image
//! under a pty (`script`) draws a byte bar on stderr; with `CI=true` or `-q` it does not.
//! The image is written once as an OCI layout (one layer: a tar of one file of random bytes)
//! and pushed to a fresh repository each time, so every push moves all its bytes. `sbom` of
//! the same image shows its bar the same way.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use crate::registry::fixture::{Registry, blob};
use crate::support::require_tool;

/// The layer's size: large enough that a push takes a while, as in the issue.
const LAYER_BYTES: usize = 200 << 20;

/// An OCI layout with one `LAYER_BYTES` layer of random (incompressible) bytes, streamed to
/// disk rather than held in memory (its digest by coreutils' sha256sum).
fn big_layout(dir: &Path) -> std::path::PathBuf {
    let layout = dir.join("big");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let staged = layout.join("layer.partial");
    // One file of random bytes in a plain tar, exactly LAYER_BYTES long: a 512-byte header,
    // the content (a multiple of 512) and the two zero blocks that end the archive.
    let content = (LAYER_BYTES - 3 * 512) as u64;
    let mut header = tar::Header::new_gnu();
    header.set_path("big.bin").unwrap();
    header.set_size(content);
    header.set_mode(0o644);
    header.set_cksum();
    let out = std::io::BufWriter::new(std::fs::File::create(&staged).unwrap());
    let mut builder = tar::Builder::new(out);
    let random = std::fs::File::open("/dev/urandom").unwrap();
    builder.append(&header, random.take(content)).unwrap();
    builder.into_inner().unwrap().flush().unwrap();
    assert_eq!(
        std::fs::metadata(&staged).unwrap().len(),
        LAYER_BYTES as u64
    );
    let sum = Command::new("sha256sum").arg(&staged).output().unwrap();
    let layer_hex = String::from_utf8_lossy(&sum.stdout)[..64].to_string();
    std::fs::rename(&staged, blobs.join(&layer_hex)).unwrap();
    let config = blob(
        &layout,
        "application/vnd.oci.image.config.v1+json",
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{layer_hex}"),
            "size": LAYER_BYTES,
        }],
    });
    let manifest = blob(
        &layout,
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [manifest]});
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
    layout
}

/// Runs `boxwright image push LAYOUT REFERENCE EXTRA` under a pty; returns its exit status
/// and everything it wrote to the terminal.
fn push_on_a_terminal(
    layout: &Path,
    reference: &str,
    extra: &str,
    ci: Option<&str>,
) -> (bool, String) {
    let arguments = format!("image push '{}' '{reference}' {extra}", layout.display());
    on_a_terminal(layout, &arguments, ci)
}

/// Runs `boxwright ARGUMENTS` (shell words) under a pty, with `layout` holding an empty
/// docker config; returns its exit status and everything it wrote to the terminal.
fn on_a_terminal(layout: &Path, arguments: &str, ci: Option<&str>) -> (bool, String) {
    let binary = assert_cmd::cargo::cargo_bin!("boxwright");
    let command = format!("'{}' {arguments}", binary.display());
    let mut script = Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("BOXWRIGHT_REGISTRY_USERNAME")
        .env_remove("BOXWRIGHT_REGISTRY_PASSWORD")
        .env_remove("REGISTRY_AUTH_FILE")
        .env("DOCKER_CONFIG", layout.join(".no-docker-config"));
    match ci {
        Some(value) => script.env("CI", value),
        None => script.env_remove("CI"),
    };
    let out = script.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A byte bar: indicatif's binary units and a percentage.
fn shows_a_bar(output: &str) -> bool {
    output.contains("MiB") && output.contains('%')
}

#[test]
fn image_push_shows_a_bar_on_a_terminal_but_not_in_ci_or_quiet() {
    require_tool("script", "apt-get install bsdutils");
    let registry = Registry::start(None);
    let dir = tempfile::tempdir().unwrap();
    let layout = big_layout(dir.path());
    let host = registry.host();

    let (ok, output) = push_on_a_terminal(&layout, &format!("{host}/bar/shown:1"), "", None);
    assert!(ok, "{output}");
    assert!(
        shows_a_bar(&output),
        "no progress bar on a terminal: {output}"
    );
    assert!(output.contains("pushing "), "{output}");
    assert!(output.contains("2 blobs uploaded (209715"), "{output}");

    // The same bytes moving again (a fresh repository), with CI set and with -q.
    let (ok, output) =
        push_on_a_terminal(&layout, &format!("{host}/bar/in-ci:1"), "", Some("true"));
    assert!(ok, "{output}");
    assert!(!shows_a_bar(&output), "a bar with CI=true: {output}");
    assert!(output.contains("2 blobs uploaded (209715"), "{output}");

    let (ok, output) = push_on_a_terminal(&layout, &format!("{host}/bar/quiet:1"), "-q", None);
    assert!(ok, "{output}");
    assert!(!shows_a_bar(&output), "a bar with -q: {output}");
}

#[test]
fn sbom_of_a_large_image_shows_a_bar_on_a_terminal_but_not_in_ci() {
    require_tool("script", "apt-get install bsdutils");
    let dir = tempfile::tempdir().unwrap();
    let layout = big_layout(dir.path());
    let sbom = dir.path().join("image.spdx.json");
    let arguments = format!("sbom '{}' -o '{}'", layout.display(), sbom.display());
    let (ok, output) = on_a_terminal(&layout, &arguments, None);
    assert!(ok, "{output}");
    assert!(
        shows_a_bar(&output) && output.contains("checking image layers"),
        "no progress bar on a terminal: {output}"
    );
    let (ok, output) = on_a_terminal(&layout, &arguments, Some("true"));
    assert!(ok, "{output}");
    assert!(!shows_a_bar(&output), "a bar with CI=true: {output}");
    assert!(sbom.is_file());
}
