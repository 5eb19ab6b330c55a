//! A registry behind TLS with a certificate of a CA made by the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::fixture::{Registry, Setup, hello_layout, ok, run};
use crate::support::require_tool;

/// A CA made for one test, and a server certificate it signed for 127.0.0.1 and localhost.
/// Everything PEM.
pub struct TestCa {
    ca: String,
    server_certificate: String,
    server_key: String,
}

impl TestCa {
    pub fn generate() -> TestCa {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ca_params = rcgen::CertificateParams::default();
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "boxwright test CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();

        let server_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "boxwright test registry");
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let server = params.signed_by(&server_key, &ca).unwrap();
        TestCa {
            ca: ca.pem(),
            server_certificate: server.pem(),
            server_key: server_key.serialize_pem(),
        }
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca
    }

    /// Writes the CA certificate at `path`.
    pub fn write_ca(&self, path: &Path) -> PathBuf {
        std::fs::write(path, &self.ca).unwrap();
        path.to_path_buf()
    }

    /// Writes the server's certificate and key in `dir`: their paths.
    pub fn write_server_files(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let certificate = dir.join("server.crt");
        let key = dir.join("server.key");
        std::fs::write(&certificate, &self.server_certificate).unwrap();
        std::fs::write(&key, &self.server_key).unwrap();
        (certificate, key)
    }
}

/// A registry on 127.0.0.1 with https only, its certificate from a CA the system does not
/// know: trusted with `--ca-file`, refused without (no silent fallback to plain http: the TLS
/// server answers, so the handshake failure is a certificate error).
#[test]
fn tls_with_a_test_ca() {
    require_tool("skopeo", "apt-get install skopeo");
    let (project, layout) = hello_layout();
    let ca = TestCa::generate();
    let registry = Registry::start_with(Setup {
        tls: Some(&ca),
        ..Setup::default()
    });
    let host = registry.host();
    let reference = format!("{host}/hello:1.0.0");
    let layout = layout.to_str().unwrap();
    let ca_file = ca.write_ca(&project.path().join("ca.pem"));
    let ca_file = ca_file.to_str().unwrap();

    // Without the CA: a certificate error that names the registry and the way out.
    for args in [
        ["image", "push", layout, &reference].as_slice(),
        ["image", "exists", &reference].as_slice(),
    ] {
        let mark = registry.mark();
        let out = run(&project, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&host)
                && stderr.to_lowercase().contains("certificate")
                && stderr.contains("--ca-file"),
            "{args:?}: {stderr}"
        );
        // The registry saw TLS handshakes fail, and no request in plain http.
        let log = registry.log_since(mark);
        assert!(log.contains("TLS handshake error"), "{log}");
        assert!(
            !["\"HEAD ", "\"GET ", "\"POST "]
                .iter()
                .any(|m| log.contains(m)),
            "{log}"
        );
    }

    // With it: push, and read back.
    let out = run(
        &project,
        &["image", "push", "--ca-file", ca_file, layout, &reference],
    );
    let digest = ok(&out, "push over TLS").trim().to_string();
    let out = run(
        &project,
        &["image", "exists", "--ca-file", ca_file, &reference],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &project,
        &[
            "image",
            "tags",
            "--ca-file",
            ca_file,
            &format!("{host}/hello"),
        ],
    );
    assert_eq!(ok(&out, "tags over TLS"), "1.0.0\n");
    let pulled = project.path().join("pulled");
    let out = run(
        &project,
        &[
            "image",
            "pull",
            "--ca-file",
            ca_file,
            &reference,
            "-o",
            pulled.to_str().unwrap(),
        ],
    );
    assert_eq!(ok(&out, "pull over TLS").trim(), digest);

    // skopeo checks the certificate against the same CA (a directory with ca.crt), and sees
    // the pushed image.
    let certs = project.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::write(certs.join("ca.crt"), ca.ca_pem()).unwrap();
    let skopeo = |cert_dir: Option<&Path>| {
        let mut cmd = Command::new("skopeo");
        cmd.args(["inspect", "--raw", "--tls-verify=true"]);
        if let Some(dir) = cert_dir {
            cmd.arg("--cert-dir").arg(dir);
        }
        cmd.arg(format!("docker://{reference}"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = skopeo(Some(&certs));
    crate::support::assert_success(&out);
    assert_eq!(
        format!("sha256:{}", crate::support::sha256_hex(&out.stdout)),
        digest
    );
    let out = skopeo(None);
    assert!(
        !out.status.success(),
        "skopeo trusts the test CA without being told"
    );
}

/// A TLS failure that is not about the certificate (here the registry wants a client
/// certificate) is an error: no retry in plain http, which would send the password in clear.
#[test]
fn other_tls_failures_never_fall_back_to_http() {
    let (project, _layout) = hello_layout();
    let ca = TestCa::generate();
    let registry = Registry::start_with(Setup {
        tls: Some(&ca),
        client_certificates: true,
        ..Setup::default()
    });
    let host = registry.host();
    let ca_file = ca.write_ca(&project.path().join("ca.pem"));
    let mark = registry.mark();
    let out = super::fixture::boxwright(&project)
        .env("BOXWRIGHT_REGISTRY_PASSWORD", "secret")
        .args(["image", "exists", "--registry-username", "bob", "--ca-file"])
        .arg(&ca_file)
        .arg(format!("{host}/hello:1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&host) && stderr.contains("TLS handshake failed"),
        "{stderr}"
    );
    let log = registry.log_since(mark);
    assert!(
        !log.contains("\"GET ") && !log.contains("\"HEAD "),
        "no request reached the registry: {log}"
    );
}
