//! Images as release artifacts: `release.images` resolved to digests in a real registry by
//! `release manifest`/`publish`, and checked by `release verify --images`. A manifest
//! re-signed by the real `minisign` tool with a digest the registry does not hold fails.

use std::process::Command;

use serde_json::Value;

use super::fixture::{Registry, hello_layout, ok, run};
use crate::support::{edit_metadata, require_tool};

const TAG: &str = "hello-1.0.0.0";

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one release scenario, step by step: each step builds on the one before"
)]
fn release_images_are_recorded_by_digest_and_verified_in_the_registry() {
    require_tool("minisign", "apt-get install minisign");
    let registry = Registry::start(None);
    let (project, layout) = hello_layout();
    let repository = format!("{}/rel/hello", registry.host());
    let digest = ok(
        &run(
            &project,
            &[
                "image",
                "push",
                &layout.to_string_lossy(),
                &format!("{repository}:1.0.0"),
            ],
        ),
        "push",
    )
    .trim()
    .to_string();
    edit_metadata(&project, |m| {
        m["hello"]["release"] = serde_json::json!({
            "artifacts": { "{TAG}.tar.gz": "archive" },
            // No tag: the target's version, 1.0.0.
            "images": [repository],
        });
    });
    let prefix = project.path().join("k");
    let key = format!("{}.key", prefix.display());
    let public = format!("{}.pub", prefix.display());
    ok(
        &run(
            &project,
            &[
                "key",
                "generate",
                "--format",
                "minisign",
                "--output",
                &prefix.to_string_lossy(),
            ],
        ),
        "key generate",
    );
    ok(&run(&project, &["release", "package", TAG]), "package");

    let out = run(
        &project,
        &["--json", "release", "manifest", TAG, "--key", &key],
    );
    let written: Value = serde_json::from_str(&ok(&out, "manifest")).unwrap();
    let images = &written["release"]["images"];
    assert_eq!(images.as_array().unwrap().len(), 1, "{written}");
    assert_eq!(images[0]["reference"], format!("{repository}:1.0.0"));
    assert_eq!(images[0]["digest"], digest.as_str());
    assert!(
        images[0]["media_type"]
            .as_str()
            .unwrap()
            .starts_with("application/vnd.oci.image."),
        "{images}"
    );
    assert!(images[0]["size"].as_u64().unwrap() > 100);

    let dest = project.path().join("dest");
    ok(
        &run(
            &project,
            &[
                "release",
                "publish",
                TAG,
                "--to",
                &dest.to_string_lossy(),
                "--key",
                &key,
            ],
        ),
        "publish",
    );
    let base = dest.join("hello");
    let verified = ok(
        &run(
            &project,
            &[
                "release",
                "verify",
                &base.to_string_lossy(),
                "--key",
                &public,
                "--images",
            ],
        ),
        "verify --images",
    );
    assert!(
        verified.contains(&format!("{repository}@{digest}")),
        "{verified}"
    );

    // A manifest naming a digest the registry does not hold, signed with the right key by
    // minisign itself: the signature verifies, the image check does not.
    let manifest_path = base.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["images"][0]["digest"] = Value::String(format!("sha256:{}", "0".repeat(64)));
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let signed = Command::new("minisign")
        .args(["-S", "-s"])
        .arg(project.path().join(&key))
        .arg("-m")
        .arg(&manifest_path)
        .arg("-x")
        .arg(base.join("manifest.json.sig"))
        .output()
        .unwrap();
    assert!(
        signed.status.success(),
        "minisign -S: {}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let without_images = run(
        &project,
        &[
            "release",
            "verify",
            &base.to_string_lossy(),
            "--key",
            &public,
        ],
    );
    ok(&without_images, "verify without --images");
    let refused = run(
        &project,
        &[
            "release",
            "verify",
            &base.to_string_lossy(),
            "--key",
            &public,
            "--images",
        ],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not verified: image"), "{stderr}");
    assert!(stderr.contains(&"0".repeat(64)), "{stderr}");

    // An image that was never pushed: `release manifest` says which and writes nothing.
    edit_metadata(&project, |m| {
        m["hello"]["release"]["images"] = serde_json::json!([format!("{repository}-missing")]);
    });
    let out_dir = project.path().join("never");
    let missing = run(
        &project,
        &[
            "release",
            "manifest",
            TAG,
            "--key",
            &key,
            "-o",
            &out_dir.to_string_lossy(),
        ],
    );
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot resolve the release image") && stderr.contains("hello-missing"),
        "{stderr}"
    );
    assert!(!out_dir.exists());
}
