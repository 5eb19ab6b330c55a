//! `image sign`, `image attest`, `image verify` against the test registry (Debian's
//! docker-registry 2.8, which has no referrers API: the referrers tag schema applies), with
//! independent verifiers: sigstore-rs (`cosign-verify image`) for signatures, Python's
//! securesystemslib for the DSSE envelope of an attestation.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::fixture::{Registry, hello_layout, ok, registry_blob, run, skopeo_inspect};
use crate::support::{TestProject, cosign_verify};

fn key(project: &TestProject, name: &str) -> (PathBuf, PathBuf) {
    let prefix = project.path().join(name);
    let out = super::fixture::boxwright(project)
        .env("COSIGN_PASSWORD", "s3cret")
        .args(["key", "generate", "--output"])
        .arg(&prefix)
        .output()
        .unwrap();
    ok(&out, "key generate");
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

fn signed(project: &TestProject, args: &[&str], key: &Path) -> Output {
    super::fixture::boxwright(project)
        .env("COSIGN_PASSWORD", "s3cret")
        .args(args)
        .arg("--key")
        .arg(key)
        .output()
        .unwrap()
}

fn raw(reference: &str) -> Value {
    let out = skopeo_inspect(&["--raw"], reference);
    assert!(
        out.status.success(),
        "{reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sigstore(public: &Path, reference: &str) -> Output {
    cosign_verify()
        .args(["image", "--insecure", "--key"])
        .arg(public)
        .arg(reference)
        .output()
        .unwrap()
}

fn python_dsse(envelope: &Path, public: &Path) -> Output {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tools/bin/python");
    assert!(
        python.is_file(),
        "this test needs {}: run scripts/setup.sh",
        python.display()
    );
    Command::new(python)
        .arg("-c")
        .arg(
            r#"
import json, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
envelope = Envelope.from_dict(json.load(open(sys.argv[1])))
made = SSlibKey.from_crypto(load_pem_public_key(open(sys.argv[2], "rb").read()))
key = SSlibKey(next(iter(envelope.signatures)), made.keytype, made.scheme, made.keyval)
envelope.verify([key], 1)
statement = json.loads(envelope.payload)
print(statement["predicateType"], statement["subject"][0]["digest"]["sha256"])
"#,
        )
        .arg(envelope)
        .arg(public)
        .output()
        .unwrap()
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one registry scenario, step by step: each step builds on the one before"
)]
fn signatures_and_attestations_verify_independently_and_refuse_the_wrong_things() {
    crate::support::require_tool("skopeo", "apt-get install skopeo");
    let registry = Registry::start(None);
    let (project, layout) = hello_layout();
    let reference = format!("{}/signed/hello:1.0.0", registry.host());
    let digest = ok(
        &run(
            &project,
            &["image", "push", &layout.to_string_lossy(), &reference],
        ),
        "push",
    )
    .trim()
    .to_string();
    let hex = digest.trim_start_matches("sha256:").to_string();
    let (first, first_pub) = key(&project, "first");
    let (second, second_pub) = key(&project, "second");
    let (_, stranger_pub) = key(&project, "stranger");

    // Two signatures with two keys: both kept, both verify with sigstore and with boxwright.
    ok(
        &signed(&project, &["image", "sign", &reference], &first),
        "sign 1",
    );
    ok(
        &signed(&project, &["image", "sign", &reference], &second),
        "sign 2",
    );
    ok(
        &signed(&project, &["image", "sign", &reference], &second),
        "sign 2 again",
    );
    let legacy = raw(&format!(
        "{}/signed/hello:sha256-{hex}.sig",
        registry.host()
    ));
    assert_eq!(legacy["layers"].as_array().unwrap().len(), 2, "{legacy}");
    let referrers = raw(&format!("{}/signed/hello:sha256-{hex}", registry.host()));
    assert_eq!(
        referrers["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        referrers["manifests"].as_array().unwrap().len(),
        2,
        "{referrers}"
    );
    let referrer = raw(&format!(
        "{}/signed/hello@{}",
        registry.host(),
        referrers["manifests"][0]["digest"].as_str().unwrap()
    ));
    assert_eq!(referrer["subject"]["digest"], digest.as_str(), "{referrer}");
    for public in [&first_pub, &second_pub] {
        let out = sigstore(public, &reference);
        assert!(
            out.status.success(),
            "sigstore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = run(
            &project,
            &[
                "image",
                "verify",
                &reference,
                "--key",
                &public.to_string_lossy(),
            ],
        );
        assert!(ok(&out, "verify").contains("verified signature"), "{out:?}");
    }

    // Another key: refused by both.
    assert!(!sigstore(&stranger_pub, &reference).status.success());
    let out = run(
        &project,
        &[
            "image",
            "verify",
            &reference,
            "--key",
            &stranger_pub.to_string_lossy(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not verified"));

    // An unsigned image: refused, saying nothing was found.
    let other = format!("{}/signed/hello:unsigned", registry.host());
    let out = super::fixture::boxwright(&project)
        .env("SOURCE_DATE_EPOCH", "1800000000")
        .args(["image", "build", "hello", "--format", "oci", "-o"])
        .arg(project.path().join("later"))
        .output()
        .unwrap();
    ok(&out, "image build");
    let other_digest = ok(
        &run(
            &project,
            &[
                "image",
                "push",
                &project.path().join("later").to_string_lossy(),
                &other,
            ],
        ),
        "push other",
    )
    .trim()
    .to_string();
    assert_ne!(other_digest, digest);
    let out = run(
        &project,
        &[
            "image",
            "verify",
            &other,
            "--key",
            &first_pub.to_string_lossy(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("was found"),
        "{out:?}"
    );

    // A signature moved to another digest: the payload names the first image, so it is refused.
    let moved = format!(
        "http://{}/v2/signed/hello/manifests/sha256-{}.sig",
        registry.host(),
        other_digest.trim_start_matches("sha256:")
    );
    let legacy_bytes = serde_json::to_vec(&legacy).unwrap();
    let put = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
            "--data-binary",
            "@-",
            &moved,
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&legacy_bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(put.status.success(), "{put:?}");
    let out = run(
        &project,
        &[
            "image",
            "verify",
            &other,
            "--key",
            &first_pub.to_string_lossy(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&digest),
        "{out:?}"
    );
    assert!(!sigstore(&first_pub, &other).status.success());

    // An attestation: a DSSE layer under the .att tag and a referrer; verified by boxwright
    // and by securesystemslib; the wrong predicate type is refused.
    let predicate = project.path().join("provenance.json");
    std::fs::write(
        &predicate,
        br#"{"buildDefinition": {"buildType": "https://example.invalid/b"}}"#,
    )
    .unwrap();
    ok(
        &signed(
            &project,
            &[
                "image",
                "attest",
                &reference,
                "--type",
                "slsaprovenance",
                "--predicate",
                &predicate.to_string_lossy(),
            ],
            &first,
        ),
        "attest",
    );
    let att = raw(&format!(
        "{}/signed/hello:sha256-{hex}.att",
        registry.host()
    ));
    let layer = &att["layers"][0];
    assert_eq!(
        layer["mediaType"], "application/vnd.dsse.envelope.v1+json",
        "{att}"
    );
    assert_eq!(
        layer["annotations"]["predicateType"],
        "https://slsa.dev/provenance/v1"
    );
    let referrers = raw(&format!("{}/signed/hello:sha256-{hex}", registry.host()));
    assert_eq!(
        referrers["manifests"].as_array().unwrap().len(),
        3,
        "{referrers}"
    );
    let envelope = registry_blob(&registry, layer["digest"].as_str().unwrap());
    let checked = python_dsse(&envelope, &first_pub);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&checked.stdout).trim(),
        format!("https://slsa.dev/provenance/v1 {hex}")
    );
    assert!(!python_dsse(&envelope, &second_pub).status.success());
    let key_arg = first_pub.to_string_lossy().into_owned();
    ok(
        &run(
            &project,
            &[
                "image",
                "verify",
                &reference,
                "--key",
                &key_arg,
                "--attestation",
                "slsaprovenance",
            ],
        ),
        "verify attestation",
    );
    let out = run(
        &project,
        &[
            "image",
            "verify",
            &reference,
            "--key",
            &key_arg,
            "--attestation",
            "spdx",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("predicate type"),
        "{out:?}"
    );
}

#[test]
fn recursive_signing_signs_the_index_and_its_manifests() {
    let registry = Registry::start(None);
    let (project, layout) = hello_layout();
    let repository = format!("{}/multi/hello", registry.host());
    let manifest = ok(
        &run(
            &project,
            &["image", "push", &layout.to_string_lossy(), &repository],
        ),
        "push",
    )
    .trim()
    .to_string();
    let index = ok(
        &run(
            &project,
            &["image", "merge", &format!("{repository}:1.0"), &manifest],
        ),
        "merge",
    )
    .trim()
    .to_string();
    assert_ne!(index, manifest);
    let (private, public) = key(&project, "k");
    ok(
        &signed(
            &project,
            &[
                "image",
                "sign",
                &format!("{repository}:1.0"),
                "--recursive",
                "--tag-scheme",
                "legacy",
            ],
            &private,
        ),
        "sign --recursive",
    );
    let key_arg = public.to_string_lossy().into_owned();
    for digest in [&index, &manifest] {
        let reference = format!("{repository}@{digest}");
        ok(
            &run(
                &project,
                &["image", "verify", &reference, "--key", &key_arg],
            ),
            "verify",
        );
        assert!(
            sigstore(&public, &reference).status.success(),
            "sigstore {digest}"
        );
    }
    // legacy only: no referrers tag was written.
    let out = skopeo_inspect(
        &["--raw"],
        &format!("{repository}:{}", index.replacen(':', "-", 1)),
    );
    assert!(!out.status.success());
}

/// Issue 22: an encrypted key without its password gets a hint that names
/// `--key-password-stdin` (it named `--password-stdin`, which in `image sign` is the registry
/// password), and following the hint signs.
#[test]
fn the_encrypted_key_hint_names_the_flag_that_opens_the_key() {
    let registry = Registry::start(None);
    let (project, layout) = hello_layout();
    let reference = format!("{}/hinted/hello:1.0.0", registry.host());
    ok(
        &run(
            &project,
            &["image", "push", &layout.to_string_lossy(), &reference],
        ),
        "push",
    );
    let (private, public) = key(&project, "k");
    let sign = || {
        let mut cmd = super::fixture::boxwright(&project);
        cmd.env_remove("COSIGN_PASSWORD")
            .args(["image", "sign", &reference, "--key"])
            .arg(&private);
        cmd
    };
    let out = sign().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "hint: give the key's password with --key-password-stdin, or in COSIGN_PASSWORD"
        ),
        "{stderr}"
    );
    let out = sign()
        .arg("--key-password-stdin")
        .write_stdin("s3cret\n")
        .output()
        .unwrap();
    ok(&out, "image sign --key-password-stdin");
    let key_arg = public.to_string_lossy().into_owned();
    ok(
        &run(
            &project,
            &["image", "verify", &reference, "--key", &key_arg],
        ),
        "verify",
    );
}
