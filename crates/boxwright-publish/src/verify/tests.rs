use boxwright_metadata::SignatureFormat;
use boxwright_release::manifest::digests;
use boxwright_sign::{SigningKey, Zeroizing};

use super::*;
use crate::manifest::{ManifestKey, sign};

fn artifact(name: &str, path: &str) -> ManifestArtifact {
    ManifestArtifact {
        media_type: "application/octet-stream".into(),
        name: name.into(),
        path: path.into(),
        sha256: String::new(),
        sha512: String::new(),
        size: 0,
    }
}

#[test]
fn unsafe_names_are_refused_by_name() {
    for (name, shown) in [
        ("", "\"\""),
        ("a\0b", "\"a\\0b\""),
        ("../x", "\"../x\""),
        ("a/b", "\"a/b\""),
        (".hidden", "\".hidden\""),
        ("a\\b", "\"a\\\\b\""),
        ("line\nbreak", "\"line\\nbreak\""),
    ] {
        let reason = check_names(&[artifact(name, "t/a")], "m").unwrap_err();
        assert_eq!(
            reason.to_string(),
            format!("m names an unsafe artifact name {shown}")
        );
    }
    let long = "a".repeat(MAX_NAME_BYTES + 1);
    assert!(check_names(&[artifact(&long, "t/a")], "m").is_err());
    assert!(check_names(&[artifact(&long[1..], "t/a")], "m").is_ok());
}

#[test]
fn unsafe_paths_and_duplicate_names_are_refused() {
    let reason = check_names(&[artifact("a", "t/a\0")], "m").unwrap_err();
    assert!(matches!(reason, Error::UnsafePath { .. }), "{reason}");
    let reason = check_names(&[artifact("a", "../a")], "m").unwrap_err();
    assert!(
        reason.to_string().contains("unsafe artifact path"),
        "{reason}"
    );
    let reason = check_names(&[artifact("same", "t/a"), artifact("same", "t/b")], "m").unwrap_err();
    assert_eq!(reason.to_string(), "m names the artifact \"same\" twice");
    // The same path under two names is fine.
    assert!(check_names(&[artifact("a", "t/a"), artifact("b", "t/a")], "m").is_ok());
}

/// A release of one artifact `a` (`content`) signed with a new cosign key, written as
/// `release publish` lays it out below `base`; returns the public key.
fn released(base: &Path, content: &[u8]) -> PublicKey {
    let key = SigningKey::generate().unwrap();
    let (size, sha256, sha512) = digests(content).unwrap();
    let manifest = Manifest {
        artifacts: vec![ManifestArtifact {
            media_type: "application/octet-stream".into(),
            name: "a".into(),
            path: "t-1.0/a".into(),
            sha256,
            sha512,
            size,
        }],
        created: "2024-01-01T00:00:00Z".into(),
        images: Vec::new(),
        revision: 0,
        schema_version: manifest::SCHEMA_VERSION,
        tag: "t-1.0".into(),
        target: "t".into(),
        version: "1.0".into(),
    };
    let bytes = manifest.to_bytes();
    let signer = ManifestKey {
        name: "test key".into(),
        text: Zeroizing::new(key.to_pkcs8_pem().to_string()),
        password: None,
    };
    let signature = sign(&bytes, &signer, SignatureFormat::Cosign, 0).unwrap();
    std::fs::create_dir_all(base.join("t-1.0")).unwrap();
    std::fs::write(base.join("t-1.0/a"), content).unwrap();
    std::fs::write(base.join(MANIFEST), &bytes).unwrap();
    std::fs::write(base.join(SIGNATURE), &signature).unwrap();
    PublicKey::Cosign(key.verifying_key())
}

async fn verify(base: &Path, key: &PublicKey, output: &Path) -> Outcome<Vec<PathBuf>> {
    let base = Base::Dir(base.to_path_buf());
    let request = Request {
        tag: None,
        output: Some(output),
    };
    match check(&base, key, &request).await.unwrap() {
        Outcome::Passed(checked) => Outcome::Passed(checked.finish().unwrap()),
        Outcome::Refused(reason) => Outcome::Refused(reason),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_release_as_published_verifies_and_is_written_out() {
    let dir = tempfile::tempdir().unwrap();
    let key = released(&dir.path().join("base"), b"abcd");
    let out = dir.path().join("out");
    let Outcome::Passed(written) = verify(&dir.path().join("base"), &key, &out).await else {
        panic!("not verified");
    };
    assert_eq!(written, [out.join("a")]);
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"abcd");
}

#[tokio::test(flavor = "current_thread")]
async fn a_tampered_artifact_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let key = released(&base, b"abcd");
    let out = dir.path().join("out");
    // Same size, other bytes: the SHA-256 differs.
    std::fs::write(base.join("t-1.0/a"), b"abce").unwrap();
    let Outcome::Refused(reason) = verify(&base, &key, &out).await else {
        panic!("a tampered artifact verified");
    };
    assert!(
        matches!(
            reason,
            Error::DigestDiffers {
                algorithm: "sha256",
                ..
            }
        ),
        "{reason}"
    );
    assert!(!out.exists());
    // One byte more: refused at the recorded size, before the digests.
    std::fs::write(base.join("t-1.0/a"), b"abcde").unwrap();
    let Outcome::Refused(reason) = verify(&base, &key, &out).await else {
        panic!("a longer artifact verified");
    };
    assert!(
        reason.to_string().contains("the manifest says 4"),
        "{reason}"
    );
    assert!(!out.exists());
}

#[tokio::test(flavor = "current_thread")]
async fn a_tampered_manifest_fails_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let key = released(&base, b"abcd");
    let manifest = std::fs::read_to_string(base.join(MANIFEST)).unwrap();
    std::fs::write(base.join(MANIFEST), manifest.replace("\"1.0\"", "\"2.0\"")).unwrap();
    let Outcome::Refused(reason) = verify(&base, &key, &dir.path().join("out")).await else {
        panic!("a tampered manifest verified");
    };
    assert!(
        matches!(&reason, Error::Signing(error) if error.is_verification_failure()),
        "{reason}"
    );
    // A missing manifest is an error (a wrong base), not a failed check.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = check(&Base::Dir(empty), &key, &Request::default()).await;
    assert!(matches!(missing, Err(Error::FileMissing { .. })));
}
