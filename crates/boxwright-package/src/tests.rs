//! Round trips through the writers, the reader and the repository indexer.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use boxwright_sign::rsa::RsaSigningKey;

use crate::repo::{KeySource, RepoConfig, Repository};
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
        apk_key: Some(KeySource::Path(key_path(rsa_key))),
        apk_key_name: None,
        apt_key: openpgp_key.map(KeySource::Path),
        apt_origin: "Test".into(),
        apt_label: "Test".into(),
        index_time: None,
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
    config.apk_key = Some(KeySource::Path(broken));
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

/// Every truncation and many single-byte changes of both formats give an error or a result,
/// never a panic, and a changed byte is never accepted with the original's content silently
/// different: an accepted variant must still report the original's name.
#[test]
fn hostile_variants_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir.path().join("tree"));
    let apk = write_apk(&spec, dir.path());
    let deb = crate::deb::write(&spec, dir.path()).unwrap();
    let variant = dir.path().join("variant");
    for original in [apk, deb] {
        let bytes = std::fs::read(&original).unwrap();
        let mut accepted = 0;
        for len in (0..bytes.len()).step_by(7) {
            std::fs::write(&variant, &bytes[..len]).unwrap();
            if inspect(&variant).is_ok() {
                accepted += 1;
            }
        }
        assert_eq!(
            accepted,
            0,
            "{}: a truncated package was accepted",
            original.display()
        );
        for at in (0..bytes.len()).step_by(5) {
            for mask in [0x01, 0xff] {
                let mut changed = bytes.clone();
                changed[at] ^= mask;
                std::fs::write(&variant, &changed).unwrap();
                if let Ok(info) = inspect(&variant) {
                    assert_eq!(info.name, "hello");
                }
            }
        }
    }
}

#[test]
fn architecture_independent_packages_go_where_the_upload_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(&dir.path().join("tree"));
    spec.arch = "noarch".into();
    let apk = inspect(&write_apk(&spec, dir.path())).unwrap();
    assert_eq!(apk.arch, "noarch");
    let deb = inspect(&crate::deb::write(&spec, dir.path()).unwrap()).unwrap();
    assert_eq!(deb.arch, "all");
    let (secret, _) = boxwright_sign::openpgp::generate("T <t@example.invalid>").unwrap();
    std::fs::write(dir.path().join("apt.key"), secret.as_bytes()).unwrap();
    let root = dir.path().join("repo");
    let repository = repo(&root, "test.rsa", Some(dir.path().join("apt.key")));
    let at = repository
        .destination_for_arch(&apk, "v3.20", "main", "amd64")
        .unwrap();
    assert_eq!(at, root.join("v3.20/main/x86_64/hello-1.2.3-r2.apk"));
    assert_eq!(
        repository.index_scope_for_arch(&apk, "v3.20", "main", "aarch64"),
        "v3.20/main/aarch64"
    );
    assert!(
        repository
            .destination_for_arch(&apk, "v3.20", "main", "../x")
            .is_err()
    );
    let at = repository.destination(&deb, "stable", "main").unwrap();
    assert_eq!(at, root.join("apt/pool/stable/main/hello_1.2.3-2_all.deb"));
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::copy(dir.path().join("hello_1.2.3-2_all.deb"), &at).unwrap();
    repository.reindex(&deb, "stable", "main").unwrap();
    let dists = root.join("apt/dists/stable");
    for arch in ["amd64", "arm64"] {
        let packages =
            std::fs::read_to_string(dists.join(format!("main/binary-{arch}/Packages"))).unwrap();
        assert!(
            packages.contains("Architecture: all\n"),
            "{arch}: {packages}"
        );
    }
    let release = std::fs::read_to_string(dists.join("Release")).unwrap();
    assert!(
        release.contains("Architectures: amd64 arm64\n"),
        "{release}"
    );
}

#[test]
fn a_missing_key_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir.path().join("tree"));
    let deb_path = crate::deb::write(&spec, dir.path()).unwrap();
    let deb = inspect(&deb_path).unwrap();
    let root = dir.path().join("repo");
    let repository = repo(&root, "test.rsa", None);
    let at = repository.destination(&deb, "stable", "main").unwrap();
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::copy(&deb_path, &at).unwrap();
    let error = repository.reindex(&deb, "stable", "main").unwrap_err();
    assert!(matches!(error, crate::RepoError::NoKey { .. }), "{error}");
    assert!(!root.join("apt/dists").exists());
    let missing = repo(&root, "test.rsa", Some(dir.path().join("no-such.key")));
    assert!(matches!(
        missing.reindex(&deb, "stable", "main"),
        Err(crate::RepoError::Key { .. })
    ));
    assert!(!root.join("apt/dists").exists());
}

#[test]
fn a_key_rotated_on_disk_signs_the_next_index() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir.path().join("tree"));
    let built = write_apk(&spec, dir.path());
    let info = inspect(&built).unwrap();
    let key_file = dir.path().join("repo.rsa");
    std::fs::copy(key_path("test.rsa"), &key_file).unwrap();
    let root = dir.path().join("repo");
    let repository = Repository::new(RepoConfig {
        root: root.clone(),
        apk_key: Some(KeySource::Path(key_file.clone())),
        apk_key_name: None,
        apt_key: None,
        apt_origin: String::new(),
        apt_label: String::new(),
        index_time: None,
    });
    let at = repository.destination(&info, "edge", "main").unwrap();
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::copy(&built, &at).unwrap();
    let index = at.parent().unwrap().join("APKINDEX.tar.gz");
    let signature = |path: &Path| {
        let bytes = std::fs::read(path).unwrap();
        let mut cursor: &[u8] = &bytes;
        let mut tar_bytes = Vec::new();
        flate2::bufread::GzDecoder::new(&mut cursor)
            .read_to_end(&mut tar_bytes)
            .unwrap();
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(
            entry.path().unwrap().to_str(),
            Some(".SIGN.RSA256.repo.rsa.pub")
        );
        let mut signature = Vec::new();
        entry.read_to_end(&mut signature).unwrap();
        (signature, cursor.to_vec())
    };
    repository.reindex(&info, "edge", "main").unwrap();
    let (first, member) = signature(&index);
    boxwright_sign::rsa::verify_sha256(&key("test.rsa").public_key_pem(), &member, &first).unwrap();
    std::fs::copy(key_path("other.rsa"), &key_file).unwrap();
    repository.reindex(&info, "edge", "main").unwrap();
    let (second, member) = signature(&index);
    boxwright_sign::rsa::verify_sha256(&key("other.rsa").public_key_pem(), &member, &second)
        .unwrap();
}

/// Packages made by dpkg-deb itself (xz and gzip members) are read, and a wrong md5sums
/// entry is refused. dpkg-deb is part of every Debian system (`apt-get install dpkg`).
#[test]
fn debs_built_by_dpkg_deb_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), "#!/bin/sh\necho tool\n").unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: tool\nVersion: 2:1.0~rc1-1\nArchitecture: arm64\nMaintainer: T <t@example.invalid>\nDescription: a tool\n more\n",
    )
    .unwrap();
    let md5 = "ffffffffffffffffffffffffffffffff  usr/bin/tool\n";
    for (compression, wrong) in [
        ("xz", false),
        ("gzip", false),
        ("none", false),
        ("xz", true),
    ] {
        if wrong {
            std::fs::write(root.join("DEBIAN/md5sums"), md5).unwrap();
        }
        let out = dir.path().join(format!("tool-{compression}-{wrong}.deb"));
        let status = std::process::Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Z", compression, "--build"])
            .arg(&root)
            .arg(&out)
            .output()
            .expect("dpkg-deb runs (apt-get install dpkg)");
        assert!(status.status.success(), "{status:?}");
        let result = inspect(&out);
        if wrong {
            let error = result.unwrap_err().to_string();
            assert!(error.contains("md5sums"), "{error}");
            continue;
        }
        let info = result.unwrap();
        assert_eq!(
            (
                info.name.as_str(),
                info.version.as_str(),
                info.arch.as_str()
            ),
            ("tool", "2:1.0~rc1-1", "arm64"),
            "{compression}"
        );
        assert!(crate::arch_matches(&info, "aarch64"));
        let repository = repo(&dir.path().join("repo"), "test.rsa", None);
        let at = repository.destination(&info, "stable", "main").unwrap();
        assert!(
            at.ends_with("apt/pool/stable/main/tool_1.0~rc1-1_arm64.deb"),
            "{}",
            at.display()
        );
    }
}

#[test]
fn maintainer_scripts_run_each_install_script_once_at_its_moment() {
    let scripts: BTreeMap<Script, String> = Script::ALL
        .into_iter()
        .map(|s| (s, format!("echo {}", s.key())))
        .collect();
    let generated = crate::deb::maintainer_scripts(&scripts);
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, &generated[name]).unwrap();
        let out = std::process::Command::new("sh")
            .arg(&path)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name} {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run("preinst", &["install"]), "pre-install\n");
    assert_eq!(run("preinst", &["upgrade", "0.9-1"]), "pre-upgrade\n");
    assert_eq!(run("postinst", &["configure", ""]), "post-install\n");
    assert_eq!(run("postinst", &["configure", "0.9-1"]), "post-upgrade\n");
    assert_eq!(run("postinst", &["abort-upgrade", "0.9-1"]), "");
    assert_eq!(run("prerm", &["remove"]), "pre-deinstall\n");
    assert_eq!(run("prerm", &["upgrade", "1.1-1"]), "");
    assert_eq!(run("postrm", &["remove"]), "post-deinstall\n");
    assert_eq!(run("postrm", &["purge"]), "");
}

#[test]
fn pre_release_versions_have_a_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(&dir.path().join("tree"));
    spec.version = "2.0_rc1".into();
    let info = inspect(&write_apk(&spec, dir.path())).unwrap();
    let repository = repo(&dir.path().join("repo"), "test.rsa", None);
    let at = repository.destination(&info, "v3.20", "main").unwrap();
    assert!(at.ends_with("v3.20/main/x86_64/hello-2.0_rc1-r2.apk"));
}
