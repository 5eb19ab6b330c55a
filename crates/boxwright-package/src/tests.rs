//! Round trips through the writers, the reader and the repository indexer.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use boxwright_sign::rsa::RsaSigningKey;

use crate::repo::{RepoConfig, Repository};
use crate::{PackageFormat, PackageSpec, Script, inspect, split_tree};

fn key_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn key(name: &str) -> RsaSigningKey {
    RsaSigningKey::from_pem(&std::fs::read_to_string(key_path(name)).unwrap()).unwrap()
}

fn spec(tree: &Path) -> PackageSpec {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    std::fs::create_dir_all(tree.join("share/doc/hello")).unwrap();
    std::fs::write(tree.join("bin/hello"), "#!/bin/sh\necho hello\n").unwrap();
    std::fs::set_permissions(
        tree.join("bin/hello"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(tree.join("share/doc/hello/README"), "read me\n").unwrap();
    std::os::unix::fs::symlink("hello", tree.join("bin/hi")).unwrap();
    let subpackages = BTreeMap::from([("doc".to_string(), vec!["share/doc/**".to_string()])]);
    let (main, _) = split_tree(tree, "/usr", &subpackages).unwrap();
    PackageSpec {
        name: "hello".into(),
        version: "1.2.3".into(),
        revision: 2,
        arch: "x86_64".into(),
        description: "Says hello\nLonger text.\n\nMore.".into(),
        url: "https://example.invalid/hello".into(),
        license: "MIT".into(),
        maintainer: "Jane <jane@example.invalid>".into(),
        depends: vec!["musl".into()],
        provides: vec!["greeter".into()],
        conffiles: vec![],
        scripts: BTreeMap::from([(Script::PostInstall, "echo installed".to_string())]),
        origin: "hello".into(),
        source_date_epoch: 1_700_000_000,
        entries: main,
    }
}

fn write_apk(spec: &PackageSpec, dir: &Path) -> PathBuf {
    crate::apk::write(spec, &key("test.rsa"), "test.rsa.pub", dir).unwrap()
}

#[test]
fn apk_round_trips_deterministically_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir.path().join("tree"));
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let path = write_apk(&spec, &out);
    assert_eq!(path.file_name().unwrap(), "hello-1.2.3-r2.apk");
    let first = std::fs::read(&path).unwrap();
    let again = write_apk(&spec, &out);
    assert_eq!(
        std::fs::read(again).unwrap(),
        first,
        "same input, same bytes"
    );

    let info = inspect(&path).unwrap();
    assert_eq!(info.format, PackageFormat::Apk);
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("hello", "1.2.3-r2")
    );
    assert_eq!(info.arch, "x86_64");
    assert_eq!(info.depends, ["musl"]);
    assert_eq!(info.signer.as_deref(), Some("test.rsa.pub"));
    assert!(info.installed_size > 0);
    assert_eq!(info.file_size, first.len() as u64);
    let public = key("test.rsa").public_key_pem();
    crate::apk::verify_signature(&path, &public, "test.rsa.pub").unwrap();
    let other = key("other.rsa").public_key_pem();
    assert!(crate::apk::verify_signature(&path, &other, "test.rsa.pub").is_err());
    assert!(crate::apk::verify_signature(&path, &public, "other.rsa.pub").is_err());
}

#[test]
fn tampered_apks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir.path().join("tree"));
    let path = write_apk(&spec, dir.path());
    let bytes = std::fs::read(&path).unwrap();
    // Changing the last compressed byte of the data member breaks its CRC or datahash.
    let mut changed = bytes.clone();
    let n = changed.len();
    changed[n - 9] ^= 0x55;
    let bad = dir.path().join("bad.apk");
    std::fs::write(&bad, &changed).unwrap();
    assert!(inspect(&bad).is_err());
    // Truncated, garbage, appended data.
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    assert!(inspect(&bad).is_err());
    std::fs::write(&bad, [0x1f, 0x8b, 0, 0]).unwrap();
    assert!(inspect(&bad).is_err());
    let mut appended = bytes.clone();
    appended.extend_from_slice(b"junk");
    std::fs::write(&bad, &appended).unwrap();
    assert!(inspect(&bad).is_err());
    std::fs::write(&bad, b"neither").unwrap();
    assert!(matches!(
        inspect(&bad),
        Err(crate::PackageError::UnknownFormat { .. })
    ));
}

#[test]
fn deb_round_trips_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(&dir.path().join("tree"));
    spec.conffiles = vec!["/etc/hello.conf".into()];
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/hello.conf"), "x=1\n").unwrap();
    spec.entries.push(crate::Entry {
        path: "etc/hello.conf".into(),
        kind: crate::EntryKind::File {
            source: dir.path().join("etc/hello.conf"),
            executable: false,
        },
    });
    let path = crate::deb::write(&spec, dir.path()).unwrap();
    assert_eq!(path.file_name().unwrap(), "hello_1.2.3-2_amd64.deb");
    let first = std::fs::read(&path).unwrap();
    crate::deb::write(&spec, dir.path()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), first);
    let info = inspect(&path).unwrap();
    assert_eq!(info.format, PackageFormat::Deb);
    assert_eq!(
        (
            info.name.as_str(),
            info.version.as_str(),
            info.arch.as_str()
        ),
        ("hello", "1.2.3-2", "amd64")
    );
    assert_eq!(info.depends, ["musl"]);
    assert_eq!(info.description, "Says hello");
    assert!(
        info.control_fields
            .iter()
            .any(|(k, v)| k == "Description" && v.contains("\n .\n More."))
    );

    // A changed file content no longer matches md5sums (the data member is re-made by hand).
    let mut changed = first.clone();
    let at = find(&changed, b"data.tar.gz").unwrap();
    let data_start = at + 60; // the member's header is 60 bytes, starting with its name
    let data = &first[data_start..];
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut tar_bytes)
        .unwrap();
    let hello = find(&tar_bytes, b"echo hello").unwrap();
    tar_bytes[hello] = b'E';
    let gz = crate::apk::gzip(&tar_bytes).unwrap();
    changed.truncate(at);
    let mut header = format!(
        "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        "data.tar.gz",
        0,
        0,
        0,
        "100644",
        gz.len()
    )
    .into_bytes();
    changed.append(&mut header);
    changed.extend(&gz);
    if gz.len() % 2 == 1 {
        changed.push(b'\n');
    }
    let bad = dir.path().join("bad.deb");
    std::fs::write(&bad, &changed).unwrap();
    let error = inspect(&bad).unwrap_err().to_string();
    assert!(error.contains("md5sums"), "{error}");
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn repo(root: &Path, rsa_key: &str, openpgp_key: Option<PathBuf>) -> Repository {
    Repository::new(RepoConfig {
        root: root.to_path_buf(),
        apk_key: Some(key_path(rsa_key)),
        apt_key: openpgp_key,
        apt_origin: "Test".into(),
        apt_label: "Test".into(),
    })
}

#[test]
fn apk_index_names_packages_and_is_signed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir.path().join("tree"));
    let built = write_apk(&spec, dir.path());
    let info = inspect(&built).unwrap();
    let root = dir.path().join("repo");
    let repository = repo(&root, "test.rsa", None);
    let destination = repository.destination(&info, "v3.20", "main").unwrap();
    assert_eq!(
        destination,
        root.join("v3.20/main/x86_64/hello-1.2.3-r2.apk")
    );
    assert_eq!(
        repository.index_scope(&info, "v3.20", "main"),
        "v3.20/main/x86_64"
    );
    assert!(repository.destination(&info, "..", "main").is_err());
    assert!(repository.destination(&info, "v3.20", "a/b").is_err());
    assert!(repository.destination(&info, "", "main").is_err());
    std::fs::create_dir_all(destination.parent().unwrap()).unwrap();
    std::fs::copy(&built, &destination).unwrap();
    repository.reindex(&info, "v3.20", "main").unwrap();
    let index_path = root.join("v3.20/main/x86_64/APKINDEX.tar.gz");
    let index = std::fs::read(&index_path).unwrap();

    // Two gzip members: the cut signature tar and the index tar.
    let mut cursor: &[u8] = &index;
    let mut decoder = flate2::bufread::GzDecoder::new(&mut cursor);
    let mut signature_tar = Vec::new();
    decoder.read_to_end(&mut signature_tar).unwrap();
    let index_member = cursor.to_vec();
    let mut archive = tar::Archive::new(signature_tar.as_slice());
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(
        entry.path().unwrap().to_str().unwrap(),
        ".SIGN.RSA256.test.rsa.pub"
    );
    let mut signature = Vec::new();
    entry.read_to_end(&mut signature).unwrap();
    boxwright_sign::rsa::verify_sha256(
        &key("test.rsa").public_key_pem(),
        &index_member,
        &signature,
    )
    .unwrap();
    let mut text = String::new();
    let mut index_tar = Vec::new();
    flate2::read::GzDecoder::new(index_member.as_slice())
        .read_to_end(&mut index_tar)
        .unwrap();
    for entry in tar::Archive::new(index_tar.as_slice()).entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("APKINDEX") {
            entry.read_to_string(&mut text).unwrap();
        }
    }
    assert!(text.starts_with("C:Q1"), "{text}");
    assert!(text.contains("\nP:hello\nV:1.2.3-r2\nA:x86_64\n"), "{text}");
    assert!(text.ends_with("\n\n"));
    assert!(text.contains(&format!("S:{}\n", info.file_size)));

    // A broken key fails and leaves the previous index as it was.
    let broken = dir.path().join("broken.rsa");
    std::fs::write(
        &broken,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let mut config = repository.config().clone();
    config.apk_key = Some(broken);
    assert!(
        Repository::new(config)
            .reindex(&info, "v3.20", "main")
            .is_err()
    );
    assert_eq!(std::fs::read(&index_path).unwrap(), index);
    let summary = repository.reindex_all().unwrap();
    assert_eq!(summary.indexes.len(), 1);
    assert_eq!(summary.indexes[0].packages, 1);
    assert_eq!(
        std::fs::read(&index_path).unwrap(),
        index,
        "reindexing is deterministic"
    );
}

#[test]
fn apt_suite_is_indexed_and_signed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir.path().join("tree"));
    let built = crate::deb::write(&spec, dir.path()).unwrap();
    let info = inspect(&built).unwrap();
    let (secret, public) = boxwright_sign::openpgp::generate("Test <t@example.invalid>").unwrap();
    let apt_key = dir.path().join("apt.key");
    std::fs::write(&apt_key, secret.as_bytes()).unwrap();
    let root = dir.path().join("repo");
    let repository = repo(&root, "test.rsa", Some(apt_key));
    let destination = repository.destination(&info, "stable", "main").unwrap();
    assert_eq!(
        destination,
        root.join("apt/pool/stable/main/hello_1.2.3-2_amd64.deb")
    );
    assert_eq!(
        repository.index_scope(&info, "stable", "main"),
        "apt/stable"
    );
    std::fs::create_dir_all(destination.parent().unwrap()).unwrap();
    std::fs::copy(&built, &destination).unwrap();
    repository.reindex(&info, "stable", "main").unwrap();
    let dists = root.join("apt/dists/stable");
    let packages = std::fs::read_to_string(dists.join("main/binary-amd64/Packages")).unwrap();
    assert!(packages.starts_with("Package: hello\n"), "{packages}");
    assert!(packages.contains("Filename: pool/stable/main/hello_1.2.3-2_amd64.deb\n"));
    assert!(packages.contains(&format!("SHA256: {}\n", info.sha256)));
    let release = std::fs::read_to_string(dists.join("Release")).unwrap();
    assert!(release.contains("Suite: stable\n") && release.contains("Architectures: amd64\n"));
    assert!(
        release.contains(" main/binary-amd64/Packages.gz\n"),
        "{release}"
    );
    let detached = std::fs::read_to_string(dists.join("Release.gpg")).unwrap();
    boxwright_sign::openpgp::verify_detached(&public, release.as_bytes(), &detached).unwrap();
    let inline = std::fs::read_to_string(dists.join("InRelease")).unwrap();
    assert!(inline.starts_with("-----BEGIN PGP SIGNED MESSAGE-----"));
}
