//! Round trips: packages and signed indexes written by boxwright-package, read back with
//! this crate's apt and apk readers, and the package files checked against their entries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use boxwright_package::repo::{RepoConfig, Repository};
use boxwright_package::{Entry, EntryKind, PackageSpec, inspect};

use crate::error::Error;
use crate::{apk, apt, check};

fn spec(name: &str, depends: &[&str]) -> PackageSpec {
    PackageSpec {
        name: name.into(),
        version: "1.2.3".into(),
        revision: 2,
        arch: "x86_64".into(),
        description: "A test package".into(),
        url: "https://example.invalid".into(),
        license: "MIT".into(),
        maintainer: "Jane <jane@example.invalid>".into(),
        depends: depends.iter().map(|d| (*d).to_string()).collect(),
        provides: vec!["greeter".into()],
        conffiles: vec![],
        scripts: BTreeMap::new(),
        origin: name.into(),
        source_date_epoch: 1_700_000_000,
        entries: vec![Entry {
            path: format!("usr/bin/{name}"),
            kind: EntryKind::Content {
                data: format!("#!/bin/sh\necho {name}\n").into_bytes(),
                executable: true,
            },
        }],
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    rsa_public: String,
    apt_public: String,
}

fn keys(dir: &Path) -> (PathBuf, String, PathBuf, String) {
    let (rsa_private, rsa_public) = boxwright_sign::rsa::generate(2048).unwrap();
    let rsa_path = dir.join("test.rsa");
    std::fs::write(&rsa_path, rsa_private.as_bytes()).unwrap();
    let (apt_secret, apt_public) =
        boxwright_sign::openpgp::generate("Test <t@example.invalid>").unwrap();
    let apt_path = dir.join("apt.key");
    std::fs::write(&apt_path, apt_secret.as_bytes()).unwrap();
    (rsa_path, rsa_public, apt_path, apt_public)
}

/// A repository with `hello` (depends on `musl`) and `world` as apk and deb.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (rsa_path, rsa_public, apt_path, apt_public) = keys(dir.path());
    let root = dir.path().join("repo");
    let repository = Repository::new(RepoConfig {
        root: root.clone(),
        apk_key: Some(boxwright_sign::KeySource::Path(rsa_path)),
        apk_key_name: None,
        apt_key: Some(boxwright_sign::KeySource::Path(apt_path)),
        apt_origin: "Test".into(),
        apt_label: "Test".into(),
        index_time: Some(1_700_000_000),
    });
    let signer = boxwright_sign::rsa::RsaSigningKey::from_pem(
        &std::fs::read_to_string(dir.path().join("test.rsa")).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    for spec in [spec("hello", &["musl"]), spec("world", &[])] {
        let built = [
            boxwright_package::apk::write(&spec, &signer, "test.rsa.pub", &out).unwrap(),
            boxwright_package::deb::write(&spec, &out).unwrap(),
        ];
        for path in built {
            let info = inspect(&path).unwrap();
            let (version, repo) = match info.format {
                boxwright_package::PackageFormat::Apk => ("v3.20", "main"),
                boxwright_package::PackageFormat::Deb => ("stable", "main"),
            };
            let destination = repository.destination(&info, version, repo).unwrap();
            std::fs::create_dir_all(destination.parent().unwrap()).unwrap();
            std::fs::copy(&path, &destination).unwrap();
            repository.reindex(&info, version, repo).unwrap();
        }
    }
    Fixture {
        _dir: dir,
        root,
        rsa_public,
        apt_public,
    }
}

#[test]
fn apk_repository_written_by_boxwright_package_reads_and_checks() {
    let fixture = fixture();
    let arch_dir = fixture.root.join("v3.20/main/x86_64");
    let bytes = std::fs::read(arch_dir.join("APKINDEX.tar.gz")).unwrap();
    let trusted = vec![("test.rsa.pub".to_string(), fixture.rsa_public.clone())];
    let index = apk::verify_apkindex(&bytes, &trusted).unwrap();
    assert_eq!(index.signer, "test.rsa.pub");
    let candidates = index.candidates(1).unwrap();
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["hello", "world"]);
    let hello = &candidates[0];
    assert_eq!(hello.version, "1.2.3-r2");
    assert_eq!(hello.filename, "hello-1.2.3-r2.apk");
    assert_eq!(hello.depends[0][0].name, "musl");
    assert_eq!(hello.provides[0].name, "greeter");
    let path = arch_dir.join(&hello.filename);
    check::check_apk(&path, hello).unwrap();

    // The other package's file under this name: the control checksum differs.
    let world = arch_dir.join(&candidates[1].filename);
    let error = check::check_apk(&world, hello).unwrap_err();
    assert!(matches!(error, Error::PackageMismatch { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("package hello 1.2.3-r2"), "{message}");
    assert!(
        message.contains(hello.apk_checksum.as_deref().unwrap()),
        "{message}"
    );

    // A changed byte in the data member: the package itself no longer checks.
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 30;
    bytes[last] ^= 0xff;
    let tampered = arch_dir.join("tampered.apk");
    std::fs::write(&tampered, &bytes).unwrap();
    let error = check::check_apk(&tampered, hello).unwrap_err();
    assert!(
        matches!(error, Error::Package { .. } | Error::PackageMismatch { .. }),
        "{error}"
    );
}

#[test]
fn apt_repository_written_by_boxwright_package_reads_and_checks() {
    let fixture = fixture();
    let dists = fixture.root.join("apt/dists/stable");
    let keyring = apt::Keyring::from_bytes(fixture.apt_public.as_bytes(), "test.asc").unwrap();
    let now = 1_800_000_000;
    let inrelease = std::fs::read(dists.join("InRelease")).unwrap();
    let release = apt::verify_inrelease(&inrelease, &keyring, now).unwrap();
    let detached = apt::verify_release(
        &std::fs::read(dists.join("Release")).unwrap(),
        &std::fs::read(dists.join("Release.gpg")).unwrap(),
        &keyring,
        now,
    )
    .unwrap();
    assert_eq!(release.files, detached.files);
    let indexes = release.require_index("main", "amd64").unwrap();
    let best = &indexes[0];
    let text = apt::open_index(best, &std::fs::read(dists.join(&best.path)).unwrap()).unwrap();
    let candidates = apt::parse_packages(&text, 0, "amd64").unwrap();
    let hello = candidates.iter().find(|c| c.name == "hello").unwrap();
    assert_eq!(hello.version, "1.2.3-2");
    let path = fixture.root.join("apt").join(&hello.filename);
    check::check_deb(&path, hello).unwrap();

    let world = candidates.iter().find(|c| c.name == "world").unwrap();
    let other = fixture.root.join("apt").join(&world.filename);
    let error = check::check_deb(&other, hello).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("package hello 1.2.3-2 (amd64):"),
        "{message}"
    );
    assert!(message.contains(hello.sha256.as_deref().unwrap()) || message.contains("size"));
}

#[test]
fn apk_index_refusals() {
    let fixture = fixture();
    let bytes = std::fs::read(fixture.root.join("v3.20/main/x86_64/APKINDEX.tar.gz")).unwrap();
    let trusted = vec![("test.rsa.pub".to_string(), fixture.rsa_public.clone())];

    // The same key under another name is not trusted.
    let renamed = vec![("other.rsa.pub".to_string(), fixture.rsa_public.clone())];
    let error = apk::verify_apkindex(&bytes, &renamed).unwrap_err();
    assert!(matches!(error, Error::UnknownApkKey { .. }), "{error}");
    assert!(error.to_string().contains("test.rsa.pub"), "{error}");

    // Another key under the trusted name: the signature does not verify.
    let (_, other_public) = boxwright_sign::rsa::generate(2048).unwrap();
    let impostor = vec![("test.rsa.pub".to_string(), other_public)];
    let error = apk::verify_apkindex(&bytes, &impostor).unwrap_err();
    assert!(matches!(error, Error::Signature { .. }), "{error}");

    // The index member alone (unsigned).
    let mut cursor: &[u8] = &bytes;
    let mut first = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::bufread::GzDecoder::new(&mut cursor),
        &mut first,
    )
    .unwrap();
    let error = apk::verify_apkindex(cursor, &trusted).unwrap_err();
    assert!(matches!(error, Error::NotSigned { .. }), "{error}");

    // A changed byte in the index member.
    let mut altered = bytes.clone();
    let last = altered.len() - 10;
    altered[last] ^= 1;
    let error = apk::verify_apkindex(&altered, &trusted).unwrap_err();
    assert!(matches!(error, Error::Signature { .. }), "{error}");
}

/// Alpine's own indexes carry `.SIGN.RSA.<key>` (SHA-1): the index member re-signed that way
/// with openssl (`openssl dgst -sha1 -sign`, what abuild-sign runs) verifies.
#[test]
fn apk_index_signed_with_sha1_as_alpine_signs() {
    let fixture = fixture();
    let bytes = std::fs::read(fixture.root.join("v3.20/main/x86_64/APKINDEX.tar.gz")).unwrap();
    let mut cursor: &[u8] = &bytes;
    std::io::Read::read_to_end(
        &mut flate2::bufread::GzDecoder::new(&mut cursor),
        &mut Vec::new(),
    )
    .unwrap();
    let index_member = cursor.to_vec();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("member"), &index_member).unwrap();
    let output = std::process::Command::new("openssl")
        .args(["dgst", "-sha1", "-sign"])
        .arg(fixture.root.parent().unwrap().join("test.rsa"))
        .arg(dir.path().join("member"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): apt-get install openssl"));
    assert!(output.status.success(), "{output:?}");
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(output.stdout.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, ".SIGN.RSA.alpine.rsa.pub", &output.stdout[..])
        .unwrap();
    let mut signature_tar = tar.into_inner().unwrap();
    signature_tar.truncate(signature_tar.len() - 1024);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &signature_tar).unwrap();
    let mut resigned = gz.finish().unwrap();
    resigned.extend_from_slice(&index_member);
    let trusted = vec![("alpine.rsa.pub".to_string(), fixture.rsa_public.clone())];
    let index = apk::verify_apkindex(&resigned, &trusted).unwrap();
    assert_eq!(index.signer, "alpine.rsa.pub");
    assert_eq!(index.candidates(0).unwrap().len(), 2);
}
