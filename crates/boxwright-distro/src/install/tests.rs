//! Installation of small packages made here: by boxwright-package's writers (what a
//! repository of ours serves) and by hand (modes, owners, hard links, hostile entries).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use boxwright_package::{Entry, EntryKind, PackageSpec, Script};

use super::*;

fn candidate(kind: Kind, name: &str, version: &str, file: &Path) -> Candidate {
    Candidate {
        kind,
        name: name.into(),
        version: version.into(),
        arch: if kind == Kind::Deb { "amd64" } else { "x86_64" }.into(),
        depends: Vec::new(),
        conflicts: Vec::new(),
        provides: Vec::new(),
        essential: false,
        filename: file.file_name().unwrap().to_string_lossy().into_owned(),
        size: std::fs::metadata(file).unwrap().len(),
        sha256: None,
        apk_checksum: None,
        repository: 0,
        fields: Vec::new(),
    }
}

fn options(staging: &Path) -> Options<'_> {
    Options {
        staging,
        os_release: OsRelease {
            id: "debian".into(),
            version_id: "12".into(),
            version_codename: "bookworm".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
        },
        apk: ApkSetup {
            arch: "x86_64".into(),
            world: vec!["hello".into()],
            repositories: vec!["http://127.0.0.1:8080/3.20/main".into()],
            keys: vec![(
                "test.rsa.pub".into(),
                b"-----BEGIN PUBLIC KEY-----\n".to_vec(),
            )],
        },
        limits: boxwright_package::ReadLimits::default(),
    }
}

fn hello_spec() -> PackageSpec {
    let content = |data: &str, executable| EntryKind::Content {
        data: data.as_bytes().to_vec(),
        executable,
    };
    PackageSpec {
        name: "hello".into(),
        version: "1.0".into(),
        revision: 0,
        arch: "x86_64".into(),
        description: "Says hello".into(),
        url: "https://example.invalid/hello".into(),
        license: "MIT".into(),
        maintainer: "Jane <jane@example.invalid>".into(),
        depends: vec![],
        provides: vec![],
        conffiles: vec!["/etc/hello.conf".into()],
        scripts: BTreeMap::from([(
            Script::PostInstall,
            "update-alternatives --install /usr/bin/greet greet /usr/bin/hello 50\n\
             adduser --system hello"
                .to_string(),
        )]),
        origin: "hello".into(),
        source_date_epoch: 1_700_000_000,
        entries: vec![
            Entry {
                path: "usr/bin/hello".into(),
                kind: content("#!/bin/sh\necho hello\n", true),
            },
            Entry {
                path: "etc/hello.conf".into(),
                kind: content("greeting = hello\n", false),
            },
            Entry {
                path: "usr/bin/hi".into(),
                kind: EntryKind::Symlink {
                    target: "hello".into(),
                },
            },
        ],
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn generated<'a>(installed: &'a Installed, path: &str) -> &'a TreeEntry {
    installed
        .generated
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("{path} is generated"))
}

fn generated_text(installed: &Installed, path: &str) -> String {
    match &generated(installed, path).node {
        Node::File(staged) => read(&staged.blob),
        other => panic!("{path} is {other:?}"),
    }
}

#[test]
fn a_deb_gets_dpkgs_database_alternatives_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let deb = boxwright_package::deb::write(&hello_spec(), dir.path()).unwrap();
    let hello = candidate(Kind::Deb, "hello", "1.0-0", &deb);
    let packages = [Package {
        candidate: &hello,
        file: &deb,
    }];
    let installed = install(&packages, &options(&dir.path().join("staging"))).unwrap();

    let status = generated_text(&installed, "var/lib/dpkg/status");
    assert!(
        status.starts_with("Package: hello\nStatus: install ok installed\n"),
        "{status}"
    );
    let conf_md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(b"greeting = hello\n"));
    assert!(
        status.contains(&format!(" /etc/hello.conf {conf_md5}\n")),
        "{status}"
    );
    let list = generated_text(&installed, "var/lib/dpkg/info/hello.list");
    assert!(list.starts_with("/.\n/etc\n/etc/hello.conf\n"), "{list}");
    assert!(list.contains("/usr/bin/hi\n"));
    let md5sums = generated_text(&installed, "var/lib/dpkg/info/hello.md5sums");
    assert!(md5sums.contains("  usr/bin/hello\n"), "{md5sums}");
    assert_eq!(
        generated_text(&installed, "var/lib/dpkg/info/hello.conffiles"),
        "/etc/hello.conf\n"
    );
    assert_eq!(
        generated(&installed, "var/lib/dpkg/info/hello.postinst")
            .owner
            .mode,
        0o755
    );
    for empty in ["available", "diversions", "statoverride"] {
        assert_eq!(
            generated_text(&installed, &format!("var/lib/dpkg/{empty}")),
            ""
        );
    }
    // update-alternatives: LINK → /etc/alternatives/NAME → PATH, and dpkg's record.
    assert_eq!(
        generated(&installed, "usr/bin/greet").node,
        Node::Symlink("/etc/alternatives/greet".into())
    );
    assert_eq!(
        generated(&installed, "etc/alternatives/greet").node,
        Node::Symlink("/usr/bin/hello".into())
    );
    assert_eq!(
        generated_text(&installed, "var/lib/dpkg/alternatives/greet"),
        "auto\n/usr/bin/greet\n\n/usr/bin/hello\n50\n\n"
    );
    // The adduser line is not done: a warning names the package and the line.
    assert_eq!(installed.warnings.len(), 1, "{:?}", installed.warnings);
    let warning = &installed.warnings[0];
    assert_eq!(warning.package, "hello 1.0-0");
    assert_eq!(warning.script, "postinst");
    assert_eq!(warning.lines, ["adduser --system hello"]);
    assert!(warning.to_string().contains("adduser --system hello"));
    // No package ships os-release: the caller's.
    assert!(generated_text(&installed, "usr/lib/os-release").contains("ID=\"debian\"\n"));
    assert_eq!(
        generated(&installed, "etc/os-release").node,
        Node::Symlink("../usr/lib/os-release".into())
    );
}

#[test]
fn layers_are_the_same_bytes_for_the_same_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let deb = boxwright_package::deb::write(&hello_spec(), dir.path()).unwrap();
    let hello = candidate(Kind::Deb, "hello", "1.0-0", &deb);
    let packages = [Package {
        candidate: &hello,
        file: &deb,
    }];
    let layer_bytes = |staging: &str, blobs: &str| {
        let installed = install(&packages, &options(&dir.path().join(staging))).unwrap();
        let store = boxwright_oci::BlobStore::create(&dir.path().join(blobs)).unwrap();
        installed
            .layers(Layering::PerPackage)
            .unwrap()
            .iter()
            .map(|spec| {
                let layer = boxwright_oci::write_layer(
                    spec,
                    &store,
                    boxwright_oci::Compression::default(),
                    1_700_000_000,
                    2,
                    &boxwright_archive::progress::NoProgress,
                )
                .unwrap();
                std::fs::read(store.path(layer.descriptor.digest().digest())).unwrap()
            })
            .collect::<Vec<_>>()
    };
    let first = layer_bytes("staging-a", "blobs-a");
    assert_eq!(first.len(), 2, "the package, then the database");
    assert_eq!(first, layer_bytes("staging-b", "blobs-b"));
}

#[test]
fn an_apk_gets_apks_database() {
    let dir = tempfile::tempdir().unwrap();
    let key_pem = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../boxwright-package/testdata/test.rsa"),
    )
    .unwrap();
    let key = boxwright_sign::rsa::RsaSigningKey::from_pem(&key_pem).unwrap();
    let mut spec = hello_spec();
    spec.scripts = BTreeMap::from([(Script::PostInstall, "echo hi".to_string())]);
    let apk = boxwright_package::apk::write(&spec, &key, "test.rsa.pub", dir.path()).unwrap();
    let hello = candidate(Kind::Apk, "hello", "1.0-r0", &apk);
    let packages = [Package {
        candidate: &hello,
        file: &apk,
    }];
    let installed = install(&packages, &options(&dir.path().join("staging"))).unwrap();
    assert_eq!(installed.kind, Kind::Apk);
    assert!(installed.warnings.is_empty(), "{:?}", installed.warnings);
    let db = generated_text(&installed, "lib/apk/db/installed");
    let info = boxwright_package::inspect(&apk).unwrap();
    let checksum = format!(
        "Q1{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            info.control_sha1.unwrap()
        )
    );
    assert!(
        db.starts_with(&format!(
            "C:{checksum}\nP:hello\nV:1.0-r0\nA:x86_64\nS:{}\n",
            hello.size
        )),
        "{db}"
    );
    let hello_sha1 = <sha1::Sha1 as sha1::Digest>::digest(b"#!/bin/sh\necho hello\n");
    let q1 = format!(
        "Q1{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, hello_sha1)
    );
    assert!(
        db.contains(&format!("F:usr/bin\nR:hello\na:0:0:755\nZ:{q1}\n")),
        "{db}"
    );
    let link_sha1 = <sha1::Sha1 as sha1::Digest>::digest(b"hello");
    let link_q1 = format!(
        "Q1{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, link_sha1)
    );
    assert!(db.contains(&format!("R:hi\nZ:{link_q1}\n")), "{db}");
    assert!(db.ends_with("\n\n"));
    assert_eq!(generated_text(&installed, "etc/apk/world"), "hello\n");
    assert_eq!(
        generated_text(&installed, "etc/apk/repositories"),
        "http://127.0.0.1:8080/3.20/main\n"
    );
    assert_eq!(generated_text(&installed, "etc/apk/arch"), "x86_64\n");
    assert!(
        installed
            .generated
            .iter()
            .any(|e| e.path == "etc/apk/keys/test.rsa.pub")
    );
    let scripts = match &generated(&installed, "lib/apk/db/scripts.tar").node {
        Node::File(staged) => std::fs::read(&staged.blob).unwrap(),
        other => panic!("{other:?}"),
    };
    let mut archive = tar::Archive::new(scripts.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, [format!("hello-1.0-r0.{checksum}.post-install")]);
}

/// One entry of a hand-made data tar.
struct Raw {
    path: &'static str,
    kind: tar::EntryType,
    mode: u32,
    owner: (u64, u64),
    data: &'static [u8],
    link: Option<&'static str>,
}

fn raw(path: &'static str, kind: tar::EntryType, mode: u32) -> Raw {
    Raw {
        path,
        kind,
        mode,
        owner: (0, 0),
        data: b"",
        link: None,
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = boxwright_archive::ParallelGzip::new(Vec::new(), 6, 1).unwrap();
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn tar_of(entries: &[Raw]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(entry.kind);
        header.set_mode(entry.mode);
        header.set_uid(entry.owner.0);
        header.set_gid(entry.owner.1);
        header.set_size(entry.data.len() as u64);
        header.set_path(entry.path).unwrap();
        if let Some(link) = entry.link {
            header.set_link_name(link).unwrap();
        }
        header.set_cksum();
        builder.append(&header, entry.data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A .deb made by hand: `control` with `fields`, and a data tar of `entries`.
fn raw_deb(dir: &Path, name: &str, fields: &str, entries: &[Raw]) -> PathBuf {
    let control =
        format!("Package: {name}\nVersion: 1.0\nArchitecture: amd64\n{fields}Description: d\n");
    let control_tar = tar_of(&[Raw {
        data: Box::leak(control.into_bytes().into_boxed_slice()),
        ..raw("./control", tar::EntryType::Regular, 0o644)
    }]);
    let members = [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", gzip(&control_tar)),
        ("data.tar.gz", gzip(&tar_of(entries))),
    ];
    let mut out = b"!<arch>\n".to_vec();
    for (member, data) in members {
        let header = format!(
            "{member:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            "100644",
            data.len()
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    let path = dir.join(format!("{name}_1.0_amd64.deb"));
    std::fs::write(&path, out).unwrap();
    path
}

fn install_raw(dir: &Path, debs: &[(&str, PathBuf)]) -> Result<Installed, Error> {
    let candidates: Vec<Candidate> = debs
        .iter()
        .map(|(name, file)| {
            let mut c = candidate(Kind::Deb, name, "1.0", file);
            c.fields = vec![("Package".into(), (*name).into())];
            c
        })
        .collect();
    let packages: Vec<Package<'_>> = candidates
        .iter()
        .zip(debs)
        .map(|(candidate, (_, file))| Package { candidate, file })
        .collect();
    install(&packages, &options(&dir.join("staging")))
}

#[test]
fn modes_owners_and_hard_links_are_kept() {
    use tar::EntryType::{Directory, Link, Regular};
    let dir = tempfile::tempdir().unwrap();
    let deb = raw_deb(
        dir.path(),
        "tools",
        "",
        &[
            raw("./", Directory, 0o755),
            raw("./usr/", Directory, 0o755),
            raw("./usr/bin/", Directory, 0o755),
            Raw {
                data: b"binary",
                ..raw("./usr/bin/su", Regular, 0o4755)
            },
            Raw {
                link: Some("./usr/bin/su"),
                ..raw("./usr/bin/su2", Link, 0o4755)
            },
            Raw {
                owner: (0, 50),
                ..raw("./var/", Directory, 0o2775)
            },
        ],
    );
    let installed = install_raw(dir.path(), &[("tools", deb)]).unwrap();
    let entries = &installed.packages[0].entries;
    let su = entries.iter().find(|e| e.path == "usr/bin/su").unwrap();
    assert_eq!(su.owner.mode, 0o4755);
    let su2 = entries.iter().find(|e| e.path == "usr/bin/su2").unwrap();
    assert_eq!(su2.node, Node::HardLink("usr/bin/su".into()));
    let var = entries.iter().find(|e| e.path == "var").unwrap();
    assert_eq!((var.owner.mode, var.owner.gid), (0o2775, 50));

    // The layer has them as a tar reader sees them.
    let store = boxwright_oci::BlobStore::create(&dir.path().join("blobs")).unwrap();
    let spec = installed.layers(Layering::Single).unwrap().remove(0);
    let layer = boxwright_oci::write_layer(
        &spec,
        &store,
        boxwright_oci::Compression::None,
        0,
        1,
        &boxwright_archive::progress::NoProgress,
    )
    .unwrap();
    let bytes = std::fs::read(store.path(layer.descriptor.digest().digest())).unwrap();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut seen = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        let header = entry.header();
        seen.insert(
            entry.path().unwrap().display().to_string(),
            (
                header.entry_type(),
                header.mode().unwrap(),
                header.gid().unwrap(),
                entry.link_name().unwrap().map(|l| l.display().to_string()),
            ),
        );
    }
    assert_eq!(seen["usr/bin/su"], (Regular, 0o4755, 0, None));
    assert_eq!(seen["usr/bin/su2"].0, Link);
    assert_eq!(seen["usr/bin/su2"].3.as_deref(), Some("usr/bin/su"));
    assert_eq!(seen["var/"], (Directory, 0o2775, 50, None));

    // Written out: one inode for both names, the mode set.
    let root = dir.path().join("root");
    installed.write_to(&root).unwrap();
    let a = std::fs::metadata(root.join("usr/bin/su")).unwrap();
    let b = std::fs::metadata(root.join("usr/bin/su2")).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&a),
        std::os::unix::fs::MetadataExt::ino(&b)
    );
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&a.permissions()) & 0o7777,
        0o4755
    );
}

#[test]
fn device_files_are_refused_naming_package_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let deb = raw_deb(
        dir.path(),
        "evil",
        "",
        &[
            raw("./dev/", tar::EntryType::Directory, 0o755),
            raw("./dev/sda", tar::EntryType::Block, 0o600),
        ],
    );
    let error = install_raw(dir.path(), &[("evil", deb)]).unwrap_err();
    assert!(
        matches!(&error, Error::UnsafeEntry { package, path, .. } if package == "evil 1.0" && path == "dev/sda"),
        "{error}"
    );
    assert!(error.to_string().contains("block device"), "{error}");
}

#[test]
fn paths_out_of_the_tree_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let traversal = raw_deb_with_name(dir.path(), "../../etc/passwd");
    let error = install_raw(dir.path(), &[("evil", traversal)]).unwrap_err();
    assert!(
        matches!(&error, Error::Unpack { package, .. } if package == "evil 1.0"),
        "{error}"
    );
    let chain = format!("{error}: {}", std::error::Error::source(&error).unwrap());
    assert!(chain.contains("../../etc/passwd"), "{chain}");

    // A file below another package's symbolic link would be written through it.
    let link = raw_deb(
        dir.path(),
        "link",
        "",
        &[Raw {
            link: Some("/tmp"),
            ..raw("./etc", tar::EntryType::Symlink, 0o777)
        }],
    );
    let below = raw_deb(
        dir.path(),
        "zbelow",
        "",
        &[Raw {
            data: b"x",
            ..raw("./etc/x", tar::EntryType::Regular, 0o644)
        }],
    );
    let error = install_raw(dir.path(), &[("link", link), ("zbelow", below)]).unwrap_err();
    assert!(
        matches!(&error, Error::UnsafeEntry { package, path, .. } if package == "zbelow 1.0" && path == "etc/x"),
        "{error}"
    );
}

/// A deb whose data tar has one file named `name` (written raw, so `..` survives).
fn raw_deb_with_name(dir: &Path, name: &str) -> PathBuf {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(1);
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_cksum();
    let mut data = header.as_bytes().to_vec();
    data.extend_from_slice(b"x");
    data.resize(1024 + 1024, 0);
    let deb = raw_deb(dir, "evil", "", &[]);
    // Rebuild with the hand-made data tar.
    let bytes = std::fs::read(&deb).unwrap();
    let data_start = bytes.windows(11).position(|w| w == b"data.tar.gz").unwrap();
    let mut out = bytes[..data_start].to_vec();
    let gz = gzip(&data);
    let header = format!(
        "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        "data.tar.gz",
        0,
        0,
        0,
        "100644",
        gz.len()
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&gz);
    if gz.len() % 2 == 1 {
        out.push(b'\n');
    }
    std::fs::write(&deb, out).unwrap();
    deb
}

#[test]
fn two_packages_shipping_one_path_conflict_unless_one_replaces_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let file = |data: &'static [u8]| {
        [
            raw("./etc/", tar::EntryType::Directory, 0o755),
            Raw {
                data,
                ..raw("./etc/motd", tar::EntryType::Regular, 0o644)
            },
        ]
    };
    let a = raw_deb(dir.path(), "aaa", "", &file(b"one\n"));
    let b = raw_deb(dir.path(), "bbb", "", &file(b"two\n"));
    let error = install_raw(dir.path(), &[("aaa", a.clone()), ("bbb", b.clone())]).unwrap_err();
    assert!(
        matches!(&error, Error::FileConflict { path, first, second } if path == "etc/motd" && first == "aaa 1.0" && second == "bbb 1.0"),
        "{error}"
    );
    // Identical content is shared.
    let same = raw_deb(dir.path(), "ccc", "", &file(b"one\n"));
    install_raw(dir.path(), &[("aaa", a.clone()), ("ccc", same)]).unwrap();
    // `Replaces: aaa` lets bbb's file win.
    let candidates = [
        candidate(Kind::Deb, "aaa", "1.0", &a),
        Candidate {
            fields: vec![("Replaces".into(), "aaa (<< 2)".into())],
            ..candidate(Kind::Deb, "bbb", "1.0", &b)
        },
    ];
    let packages = [
        Package {
            candidate: &candidates[0],
            file: &a,
        },
        Package {
            candidate: &candidates[1],
            file: &b,
        },
    ];
    let installed = install(&packages, &options(&dir.path().join("staging"))).unwrap();
    let root = dir.path().join("root");
    installed.write_to(&root).unwrap();
    assert_eq!(read(&root.join("etc/motd")), "two\n");
}

#[test]
fn deb_and_apk_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    let deb = raw_deb(dir.path(), "aaa", "", &[]);
    let a = candidate(Kind::Deb, "aaa", "1.0", &deb);
    let b = candidate(Kind::Apk, "bbb", "1.0-r0", &deb);
    let packages = [
        Package {
            candidate: &a,
            file: &deb,
        },
        Package {
            candidate: &b,
            file: &deb,
        },
    ];
    assert!(matches!(
        install(&packages, &options(&dir.path().join("staging"))),
        Err(Error::MixedKinds { .. })
    ));
}
