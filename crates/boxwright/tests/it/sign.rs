//! `key generate`, `sign-blob`, `verify-blob`, each result checked by the sigstore crate
//! (`cosign-verify`, see `support::cosign_verify`) and, for OpenSSL keys, by OpenSSL.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{self, assert_success, cosign_verify, require_tool};

/// boxwright without a password in its environment.
fn boxwright() -> assert_cmd::Command {
    let mut cmd = support::boxwright();
    cmd.env_remove("COSIGN_PASSWORD");
    cmd
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// `boxwright key generate -o DIR/NAME`, the password (if any) on stdin.
fn generate(dir: &Path, name: &str, password: Option<&str>) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let mut cmd = boxwright();
    cmd.args(["key", "generate", "--output"]).arg(&prefix);
    if let Some(password) = password {
        cmd.arg("--key-password-stdin")
            .write_stdin(format!("{password}\n"));
    } else {
        cmd.arg("--no-password");
    }
    let out = cmd.output().unwrap();
    assert_success(&out);
    (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pub")),
    )
}

/// `boxwright sign-blob FILE --key KEY` (password in COSIGN_PASSWORD): the signature text.
fn sign(file: &Path, key: &str, password: Option<&str>) -> String {
    let mut cmd = boxwright();
    cmd.arg("sign-blob").arg(file).args(["--key", key]);
    if let Some(password) = password {
        cmd.env("COSIGN_PASSWORD", password);
    }
    let out = cmd.output().unwrap();
    assert_success(&out);
    stdout(&out).trim_end().to_string()
}

fn verify_blob(file: &Path, signature: &Path, key: &Path) -> Output {
    boxwright()
        .arg("verify-blob")
        .arg(file)
        .arg("--signature")
        .arg(signature)
        .arg("--key")
        .arg(key)
        .output()
        .unwrap()
}

fn sigstore_blob(file: &Path, signature: &Path, key: &Path) -> Output {
    cosign_verify()
        .args(["blob", "--key"])
        .arg(key)
        .arg("--signature")
        .arg(signature)
        .arg(file)
        .output()
        .unwrap()
}

/// Both boxwright and the sigstore crate accept the signature.
fn assert_both_accept(file: &Path, signature: &Path, key: &Path) {
    let out = sigstore_blob(file, signature, key);
    assert!(out.status.success(), "sigstore: {}", stderr(&out));
    let out = verify_blob(file, signature, key);
    assert_success(&out);
    assert_eq!(stdout(&out), "Verified OK\n");
}

/// Both refuse it with exit status 1 and a reason.
fn assert_both_refuse(file: &Path, signature: &Path, key: &Path, case: &str) {
    let out = sigstore_blob(file, signature, key);
    assert_eq!(
        out.status.code(),
        Some(1),
        "sigstore, {case}: {}",
        stderr(&out)
    );
    let out = verify_blob(file, signature, key);
    assert_eq!(
        out.status.code(),
        Some(1),
        "boxwright, {case}: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).starts_with("not verified: "),
        "{case}: {}",
        stderr(&out)
    );
}

/// The sigstore crate decrypts the private key with `password` and finds the public key.
fn assert_sigstore_opens(key: &Path, public: &Path, password: &str) {
    let out = cosign_verify()
        .args(["key", "--private"])
        .arg(key)
        .arg("--public")
        .arg(public)
        .env("COSIGN_PASSWORD", password)
        .output()
        .unwrap();
    assert!(out.status.success(), "sigstore: {}", stderr(&out));
}

#[test]
fn key_with_password_signs_blobs_sigstore_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = generate(dir.path(), "cosign", Some("s3cret pass"));
    let private_text = std::fs::read_to_string(&key).unwrap();
    assert!(private_text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_sigstore_opens(&key, &public, "s3cret pass");

    let file = dir.path().join("artifact.tar.gz");
    std::fs::write(&file, b"release bytes\n".repeat(10_000)).unwrap();
    let signature = sign(&file, key.to_str().unwrap(), Some("s3cret pass"));
    let signature_path = dir.path().join("artifact.tar.gz.sig");
    std::fs::write(&signature_path, &signature).unwrap();
    assert_both_accept(&file, &signature_path, &public);

    // The password from stdin works too; a wrong one is an error (2) that says so.
    let out = boxwright()
        .arg("sign-blob")
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .arg("--key-password-stdin")
        .write_stdin("wrong\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("wrong password or corrupt key"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint: "), "{}", stderr(&out));
    let out = boxwright()
        .arg("sign-blob")
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no password given");
}

#[test]
fn key_without_password_and_output_signature_file() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = generate(dir.path(), "nopw", None);
    // cosign's convention: encrypted all the same, with the empty password.
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    );
    assert_sigstore_opens(&key, &public, "");

    let file = dir.path().join("blob");
    std::fs::write(&file, b"").unwrap();
    let signature_path = dir.path().join("blob.sig");
    let out = boxwright()
        .arg("sign-blob")
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .arg("-o")
        .arg(&signature_path)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "", "the signature goes to the file only");
    let text = std::fs::read_to_string(&signature_path).unwrap();
    assert!(!text.ends_with('\n'), "written as cosign writes it");
    assert_both_accept(&file, &signature_path, &public);

    // An empty COSIGN_PASSWORD is a given password, and the right one.
    let again = sign(&file, key.to_str().unwrap(), Some(""));
    std::fs::write(&signature_path, again).unwrap();
    assert_both_accept(&file, &signature_path, &public);
}

#[test]
fn other_key_modified_file_and_garbage_are_refused_by_both() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = generate(dir.path(), "a", None);
    let (_, other_public) = generate(dir.path(), "b", None);
    let file = dir.path().join("file");
    std::fs::write(&file, b"original").unwrap();
    let signature_path = dir.path().join("file.sig");
    std::fs::write(&signature_path, sign(&file, key.to_str().unwrap(), None)).unwrap();
    assert_both_accept(&file, &signature_path, &public);

    assert_both_refuse(&file, &signature_path, &other_public, "another key");

    let modified = dir.path().join("modified");
    std::fs::write(&modified, b"0riginal").unwrap();
    assert_both_refuse(&modified, &signature_path, &public, "a modified file");

    let garbage = dir.path().join("garbage.sig");
    std::fs::write(&garbage, "bm90IGEgc2lnbmF0dXJl").unwrap();
    assert_both_refuse(&file, &garbage, &public, "a garbage signature");

    // --json reports the verdict on stdout either way.
    let out = boxwright()
        .args(["--json", "verify-blob"])
        .arg(&modified)
        .arg("--signature")
        .arg(&signature_path)
        .arg("--key")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["verified"], false);
    assert!(
        verdict["reason"]
            .as_str()
            .unwrap()
            .contains("does not verify")
    );

    // A missing file or key is an error (2), not a failed check.
    let out = verify_blob(&dir.path().join("missing"), &signature_path, &public);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = verify_blob(&file, &signature_path, &dir.path().join("missing.pub"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn keys_from_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = generate(dir.path(), "ci", Some("pw"));
    let file = dir.path().join("file");
    std::fs::write(&file, b"signed in CI").unwrap();
    let out = boxwright()
        .args(["--json", "sign-blob"])
        .arg(&file)
        .args(["--key", "env://SIGNING_KEY"])
        .env("SIGNING_KEY", std::fs::read_to_string(&key).unwrap())
        .env("COSIGN_PASSWORD", "pw")
        .output()
        .unwrap();
    assert_success(&out);
    let signed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let signature_path = dir.path().join("file.sig");
    std::fs::write(&signature_path, signed["signature"].as_str().unwrap()).unwrap();
    assert_both_accept(&file, &signature_path, &public);

    // The public key from a variable, the signature given as text.
    let out = boxwright()
        .arg("verify-blob")
        .arg(&file)
        .args(["--signature", signed["signature"].as_str().unwrap()])
        .args(["--key", "env://VERIFY_KEY"])
        .env("VERIFY_KEY", std::fs::read_to_string(&public).unwrap())
        .output()
        .unwrap();
    assert_success(&out);

    let out = boxwright()
        .arg("sign-blob")
        .arg(&file)
        .args(["--key", "env://UNSET_SIGNING_KEY"])
        .env_remove("UNSET_SIGNING_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("UNSET_SIGNING_KEY"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn openssl_keys_sign_and_sigstore_and_openssl_verify() {
    require_tool("openssl", "apt-get install openssl");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"signed with an openssl key\n").unwrap();
    for (name, generate) in [
        (
            "pkcs8",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ][..],
        ),
        (
            "sec1",
            &["ecparam", "-name", "prime256v1", "-genkey", "-noout"][..],
        ),
    ] {
        let key = dir.path().join(format!("{name}.pem"));
        let public = dir.path().join(format!("{name}.pub"));
        let openssl = |args: &[&str], paths: &[(&str, &Path)]| {
            let mut cmd = std::process::Command::new("openssl");
            cmd.args(args);
            for (flag, path) in paths {
                cmd.arg(flag).arg(path);
            }
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
        };
        openssl(generate, &[("-out", &key)]);
        openssl(&["pkey", "-pubout"], &[("-in", &key), ("-out", &public)]);
        let expected_label = if name == "pkcs8" {
            "-----BEGIN PRIVATE KEY-----"
        } else {
            "-----BEGIN EC PRIVATE KEY-----"
        };
        assert!(
            std::fs::read_to_string(&key)
                .unwrap()
                .starts_with(expected_label)
        );

        // A password in the environment does not get in the way of unencrypted keys.
        let signature = sign(&file, key.to_str().unwrap(), Some("unused"));
        let signature_path = dir.path().join(format!("{name}.sig"));
        std::fs::write(&signature_path, &signature).unwrap();
        assert_both_accept(&file, &signature_path, &public);

        // OpenSSL agrees: a DER ECDSA signature over SHA-256 of the file.
        let der_path = dir.path().join(format!("{name}.sig.der"));
        let out = std::process::Command::new("base64")
            .arg("-d")
            .arg(&signature_path)
            .output()
            .unwrap();
        std::fs::write(&der_path, out.stdout).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(&public)
            .arg("-signature")
            .arg(&der_path)
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(stdout(&out), "Verified OK\n", "{}", stderr(&out));
    }
}

#[test]
fn key_generate_refuses_to_overwrite_and_unknown_formats() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("k");
    let out = boxwright()
        .args(["--json", "key", "generate", "--no-password", "--output"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert_success(&out);
    let generated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(generated["format"], "cosign");
    assert_eq!(generated["empty_password"], true);
    assert_eq!(
        generated["private_key"],
        format!("{}.key", prefix.display())
    );
    assert_eq!(generated["public_key"], format!("{}.pub", prefix.display()));
    assert_eq!(generated["key_id"].as_str().unwrap().len(), 64);
    let before = std::fs::read(dir.path().join("k.key")).unwrap();

    let out = boxwright()
        .args(["key", "generate", "--no-password", "--output"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.path().join("k.key")).unwrap(), before);

    let out = boxwright()
        .args(["key", "generate", "--no-password", "--force", "--output"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert_success(&out);
    assert_ne!(std::fs::read(dir.path().join("k.key")).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary files left"
    );

    let out = boxwright()
        .args(["key", "generate", "--format", "gpg", "--output"])
        .arg(dir.path().join("m"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    for known in ["cosign", "minisign", "rsa", "openpgp"] {
        assert!(stderr(&out).contains(known), "{}", stderr(&out));
    }
}
