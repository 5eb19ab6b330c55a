//! `cosign-verify image` (the sigstore crate) against the test registry: a cosign signature
//! assembled by hand from boxwright-sign's simple-signing payload and signature, pushed with
//! `boxwright image push` under cosign's legacy `sha256-<hex>.sig` tag, is accepted; another
//! key, a payload for another digest and an unsigned image are refused. This proves the
//! verifier and the payload format before `image sign` exists; `image sign` tests use the
//! same verifier.

use std::path::Path;

use boxwright_sign::cosign::{SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, SimpleSigning};
use boxwright_sign::{SigningKey, cosign};
use serde_json::{Value, json};

use super::fixture::{Registry, blob, ok, run};
use crate::support::{TestProject, cosign_verify};

/// Writes an OCI layout at `root` holding one image manifest with `layers` and `config`;
/// returns the manifest's digest.
fn layout(root: &Path, config: &Value, layers: &[Value]) -> String {
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let config = blob(
        root,
        "application/vnd.oci.image.config.v1+json",
        &serde_json::to_vec(config).unwrap(),
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": layers,
    });
    let descriptor = blob(
        root,
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    let digest = descriptor["digest"].as_str().unwrap().to_string();
    let index = json!({"schemaVersion": 2, "manifests": [descriptor]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    digest
}

/// cosign's signature image for `payload`: one layer of the payload bytes, the base64
/// signature in its annotation, a config naming the layer as its only diff id.
fn signature_layout(root: &Path, payload: &[u8], signature: &str) -> String {
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    let mut layer = blob(root, SIMPLE_SIGNING_MEDIA_TYPE, payload);
    layer["annotations"] = json!({ SIGNATURE_ANNOTATION: signature });
    let config = json!({
        "architecture": "", "os": "", "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"].clone()]},
    });
    layout(root, &config, &[layer])
}

fn verify(key: &Path, reference: &str) -> std::process::Output {
    cosign_verify()
        .args(["image", "--key"])
        .arg(key)
        .arg(reference)
        .output()
        .unwrap()
}

#[test]
fn sigstore_verifies_a_signature_made_from_our_payload() {
    let project = TestProject::new("{}");
    let registry = Registry::start(None);
    let repository = format!("{}/app", registry.host());

    let image = project.path().join("image");
    std::fs::create_dir_all(image.join("blobs/sha256")).unwrap();
    let layer = blob(&image, "application/vnd.oci.image.layer.v1.tar", &[0; 1024]);
    let config = json!({"architecture": "amd64", "os": "linux",
                        "rootfs": {"type": "layers", "diff_ids": [layer["digest"].clone()]}});
    let digest = layout(&image, &config, &[layer]);
    let reference = format!("{repository}:1.0");
    let out = run(
        &project,
        &["image", "push", image.to_str().unwrap(), &reference],
    );
    assert_eq!(ok(&out, "image push").trim(), digest);

    let key = SigningKey::generate().unwrap();
    let public = project.path().join("cosign.pub");
    std::fs::write(&public, key.verifying_key().to_pem()).unwrap();
    let other_public = project.path().join("other.pub");
    std::fs::write(
        &other_public,
        SigningKey::generate().unwrap().verifying_key().to_pem(),
    )
    .unwrap();

    // Unsigned yet.
    let out = verify(&public, &reference);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no signatures found"), "{stderr}");

    let payload = SimpleSigning::new(&repository, &digest).to_bytes();
    let signature = cosign::sign_payload(&key, &payload).to_base64();
    let signatures = project.path().join("signature");
    signature_layout(&signatures, &payload, &signature);
    let tag = format!("{repository}:{}.sig", digest.replace(':', "-"));
    let out = run(
        &project,
        &["image", "push", signatures.to_str().unwrap(), &tag],
    );
    ok(&out, "push the signature");

    for by in [reference.clone(), format!("{repository}@{digest}")] {
        let out = verify(&public, &by);
        let printed = ok(&out, &format!("cosign-verify image {by}"));
        let payloads: Value = serde_json::from_str(&printed).unwrap();
        assert_eq!(
            payloads[0]["critical"]["image"]["docker-manifest-digest"],
            digest.as_str()
        );
    }
    let out = verify(&other_public, &reference);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is by the key"), "{stderr}");

    // A good signature of a payload for another digest does not count.
    let elsewhere = format!("sha256:{}", "0".repeat(64));
    let payload = SimpleSigning::new(&repository, &elsewhere).to_bytes();
    let signature = cosign::sign_payload(&key, &payload).to_base64();
    let replaced = project.path().join("replaced");
    signature_layout(&replaced, &payload, &signature);
    let out = run(
        &project,
        &["image", "push", replaced.to_str().unwrap(), &tag],
    );
    ok(&out, "replace the signature");
    let out = verify(&public, &reference);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}
