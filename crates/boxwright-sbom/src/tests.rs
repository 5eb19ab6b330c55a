//! The writers on a subject made by hand: exact fields, order, determinism, nothing of the
//! host in the output.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::{
    BaseInfo, DocumentOptions, DownloadInfo, FileEntry, PackageInfo, SourceInfo, Subject,
    SubjectKind, cyclonedx, hash, provenance, spdx,
};

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const BASE_DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const HELLO_SHA256: &str = "e2912cbf58909862c7fdce45b5d19cd74cf87d91fe72182cafb0074dbba74a65";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn file(path: &str, content: &[u8]) -> FileEntry {
    let hashes = hash::hash_reader(&mut &content[..]).unwrap();
    FileEntry {
        path: path.into(),
        sha256: hashes.sha256,
        sha1: hashes.sha1,
        size: hashes.size,
    }
}

/// An image with two targets (one linked into the other), a base, files out of order.
fn subject() -> Subject {
    let mut subject = Subject {
        name: "hello".into(),
        kind: SubjectKind::OciImage,
        digest: DIGEST.into(),
        target: Some("hello".into()),
        version: Some("1.0.0".into()),
        platform: Some("linux/amd64".into()),
        purl: Some(crate::purl::oci("hello", DIGEST, None)),
        files: vec![
            file("etc/motd", b"hi\n"),
            file("bin/hello", b"\x7fELF"),
            file("bin/hello", b"\x7fELF"),
        ],
        packages: vec![
            PackageInfo {
                name: "zlib".into(),
                version: Some("1.3".into()),
                purl: Some(crate::purl::generic("zlib", Some("1.3"), None, None)),
                library: true,
                downloads: vec![DownloadInfo {
                    name: "zlib-1.3.tar.gz".into(),
                    url: Some("file:sources/zlib-1.3.tar.gz".into()),
                    sha256: Some("ab".repeat(32)),
                    sha512: Some("cd".repeat(64)),
                }],
                depends: Vec::new(),
            },
            PackageInfo {
                name: "hello".into(),
                version: Some("1.0.0".into()),
                purl: Some(crate::purl::generic(
                    "hello",
                    Some("1.0.0"),
                    Some(HELLO_SHA256),
                    Some("https://example.org/hello-1.0.0.tar.gz"),
                )),
                library: false,
                downloads: vec![
                    DownloadInfo {
                        name: "hello-1.0.0.tar.gz".into(),
                        url: Some("https://example.org/hello-1.0.0.tar.gz".into()),
                        sha256: Some(HELLO_SHA256.into()),
                        sha512: None,
                    },
                    DownloadInfo {
                        name: "patch.diff".into(),
                        url: None,
                        sha256: Some("ef".repeat(32)),
                        sha512: None,
                    },
                ],
                depends: vec!["zlib".into(), "zlib".into()],
            },
        ],
        installed: Vec::new(),
        base: Some(BaseInfo {
            name: "registry.example/library/base:1".into(),
            digest: BASE_DIGEST.into(),
            purl: Some(crate::purl::oci(
                "base",
                BASE_DIGEST,
                Some("registry.example/library/base"),
            )),
        }),
        source: Some(SourceInfo {
            url: Some("https://github.com/acme/hello".into()),
            revision: Some(COMMIT.into()),
        }),
    };
    subject.normalise();
    subject
}

fn options() -> DocumentOptions {
    DocumentOptions {
        created: 1_700_000_000,
        tool_version: "0.1.0".into(),
    }
}

fn parse(bytes: &[u8]) -> Value {
    assert!(bytes.ends_with(b"}\n"));
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn normalising_sorts_and_deduplicates() {
    let subject = subject();
    let paths: Vec<&str> = subject.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["bin/hello", "etc/motd"]);
    let names: Vec<&str> = subject.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["hello", "zlib"]);
    assert_eq!(subject.packages[0].depends, ["zlib"]);
}

#[test]
fn spdx_document_fields() {
    let subject = subject();
    let doc = parse(&spdx::write(&subject, &options()));
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
    assert_eq!(doc["name"], "hello");
    assert_eq!(
        doc["documentNamespace"],
        "https://boxwright.invalid/spdx/hello-1111111111111111111111111111111111111111111111111111111111111111"
    );
    assert_eq!(
        doc["creationInfo"],
        json!({"created": "2023-11-14T22:13:20Z", "creators": ["Tool: boxwright-0.1.0"]})
    );
    let ids: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "SPDXRef-Subject",
            "SPDXRef-Package-hello",
            "SPDXRef-Package-zlib",
            "SPDXRef-Base",
            "SPDXRef-Source-hello-1",
            "SPDXRef-Source-hello-2",
            "SPDXRef-Source-zlib-1",
        ]
    );
}

#[test]
fn spdx_subject_package_is_analysed_with_its_verification_code() {
    let subject = subject();
    let doc = parse(&spdx::write(&subject, &options()));
    let package = &doc["packages"][0];
    assert_eq!(package["filesAnalyzed"], true);
    assert_eq!(package["primaryPackagePurpose"], "CONTAINER");
    assert_eq!(package["versionInfo"], "1.0.0");
    assert_eq!(package["downloadLocation"], "NOASSERTION");
    // SPDX 2.3 §7.9: SHA-1 of the sorted, concatenated SHA-1s of the files.
    let mut sha1s: Vec<String> = subject.files.iter().map(|f| f.sha1.clone()).collect();
    sha1s.sort();
    assert_eq!(
        package["packageVerificationCode"]["packageVerificationCodeValue"],
        hash::sha1_bytes(sha1s.concat().as_bytes())
    );
    assert_eq!(
        package["externalRefs"][0]["referenceLocator"],
        "pkg:oci/hello@sha256%3A1111111111111111111111111111111111111111111111111111111111111111"
    );
    assert_eq!(
        package["sourceInfo"],
        format!("built from https://github.com/acme/hello at commit {COMMIT}")
    );
}

#[test]
fn spdx_targets_are_generated_from_their_downloads() {
    let doc = parse(&spdx::write(&subject(), &options()));
    let packages = doc["packages"].as_array().unwrap();
    let by_id = |id: &str| packages.iter().find(|p| p["SPDXID"] == id).unwrap();
    let hello = by_id("SPDXRef-Package-hello");
    assert_eq!(hello["filesAnalyzed"], false);
    assert_eq!(hello["primaryPackagePurpose"], "APPLICATION");
    assert_eq!(
        hello["externalRefs"],
        json!([{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": format!("pkg:generic/hello@1.0.0?checksum=sha256:{HELLO_SHA256}&download_url=https://example.org/hello-1.0.0.tar.gz"),
        }])
    );
    assert_eq!(
        by_id("SPDXRef-Package-zlib")["primaryPackagePurpose"],
        "LIBRARY"
    );
    let source = by_id("SPDXRef-Source-hello-1");
    assert_eq!(source["name"], "hello-1.0.0.tar.gz");
    assert_eq!(
        source["downloadLocation"],
        "https://example.org/hello-1.0.0.tar.gz"
    );
    assert_eq!(
        source["checksums"],
        json!([{"algorithm": "SHA256", "checksumValue": HELLO_SHA256}])
    );
    assert_eq!(source["primaryPackagePurpose"], "SOURCE");
    // A `file:` URL is no network location: NOASSERTION, the URL in the comment.
    let zlib = by_id("SPDXRef-Source-zlib-1");
    assert_eq!(zlib["downloadLocation"], "NOASSERTION");
    assert_eq!(
        zlib["comment"],
        "downloaded from file:sources/zlib-1.3.tar.gz"
    );
    assert_eq!(zlib["checksums"][1]["algorithm"], "SHA512");
    let relationships: Vec<(String, String, String)> = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["spdxElementId"].as_str().unwrap().to_string(),
                r["relationshipType"].as_str().unwrap().to_string(),
                r["relatedSpdxElement"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Subject"),
        ("SPDXRef-Subject", "CONTAINS", "SPDXRef-Package-hello"),
        ("SPDXRef-Subject", "CONTAINS", "SPDXRef-Package-zlib"),
        ("SPDXRef-Subject", "CONTAINS", "SPDXRef-Base"),
        (
            "SPDXRef-Package-hello",
            "GENERATED_FROM",
            "SPDXRef-Source-hello-1",
        ),
        (
            "SPDXRef-Package-hello",
            "GENERATED_FROM",
            "SPDXRef-Source-hello-2",
        ),
        (
            "SPDXRef-Package-hello",
            "STATIC_LINK",
            "SPDXRef-Package-zlib",
        ),
        (
            "SPDXRef-Package-zlib",
            "GENERATED_FROM",
            "SPDXRef-Source-zlib-1",
        ),
        ("SPDXRef-Subject", "CONTAINS", "SPDXRef-File-1"),
        ("SPDXRef-Subject", "CONTAINS", "SPDXRef-File-2"),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_string(), (*b).to_string(), (*c).to_string()))
    .collect();
    assert_eq!(relationships, expected);
}

#[test]
fn spdx_files_carry_sha1_and_sha256() {
    let subject = subject();
    let doc = parse(&spdx::write(&subject, &options()));
    assert_eq!(
        doc["files"][0],
        json!({
            "SPDXID": "SPDXRef-File-1",
            "fileName": "./bin/hello",
            "checksums": [
                {"algorithm": "SHA1", "checksumValue": subject.files[0].sha1},
                {"algorithm": "SHA256", "checksumValue": subject.files[0].sha256},
            ],
        })
    );
}

#[test]
fn spdx_archives_carry_their_own_checksum() {
    let mut subject = subject();
    subject.kind = SubjectKind::Archive;
    let doc = parse(&spdx::write(&subject, &options()));
    assert_eq!(doc["packages"][0]["primaryPackagePurpose"], "ARCHIVE");
    assert_eq!(
        doc["packages"][0]["checksums"],
        json!([{"algorithm": "SHA256", "checksumValue": "1".repeat(64)}])
    );
    subject.files.clear();
    let doc = parse(&spdx::write(&subject, &options()));
    assert_eq!(doc["packages"][0]["filesAnalyzed"], false);
    assert!(doc.get("files").is_none());
    assert!(doc["packages"][0].get("packageVerificationCode").is_none());
}

#[test]
fn cyclonedx_document_fields() {
    let subject = subject();
    let bom = parse(&cyclonedx::write(&subject, &options()));
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["version"], 1);
    let serial = bom["serialNumber"].as_str().unwrap();
    assert_eq!(serial, cyclonedx::serial_number(&subject));
    let uuid = serial.strip_prefix("urn:uuid:").unwrap();
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "5");
    assert!("89ab".contains(&uuid[19..20]), "{uuid}");
    assert_eq!(bom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(
        bom["metadata"]["tools"],
        json!({"components": [{"type": "application", "name": "boxwright", "version": "0.1.0"}]})
    );
    let component = &bom["metadata"]["component"];
    assert_eq!(component["type"], "container");
    assert_eq!(component["bom-ref"], "subject");
    assert_eq!(component["name"], "hello");
    assert_eq!(component["properties"][1]["value"], DIGEST);
    let refs: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        [
            "package:hello",
            "package:zlib",
            "base-image",
            "file:bin/hello",
            "file:etc/motd"
        ]
    );
}

#[test]
fn cyclonedx_downloads_are_source_distributions_with_hashes() {
    let bom = parse(&cyclonedx::write(&subject(), &options()));
    let hello = &bom["components"][0];
    assert_eq!(hello["type"], "application");
    assert_eq!(
        hello["externalReferences"][0],
        json!({
            "type": "source-distribution",
            "url": "https://example.org/hello-1.0.0.tar.gz",
            "comment": "hello-1.0.0.tar.gz",
            "hashes": [{"alg": "SHA-256", "content": HELLO_SHA256}],
        })
    );
    assert_eq!(
        hello["externalReferences"][1],
        json!({"type": "vcs", "url": "https://github.com/acme/hello", "comment": format!("commit {COMMIT}")})
    );
    // No URL to publish: the digest is still recorded.
    assert_eq!(
        hello["properties"],
        json!([{"name": "boxwright:download:patch.diff:SHA-256", "value": "ef".repeat(32)}])
    );
    assert_eq!(bom["components"][1]["type"], "library");
    let file = &bom["components"][3];
    assert_eq!(file["type"], "file");
    assert_eq!(file["name"], "bin/hello");
    assert_eq!(file["hashes"][0]["alg"], "SHA-1");
    assert_eq!(file["hashes"][1]["alg"], "SHA-256");
}

#[test]
fn cyclonedx_dependencies_name_only_components_of_the_document() {
    let bom = parse(&cyclonedx::write(&subject(), &options()));
    let mut known: BTreeSet<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    known.insert("subject");
    assert_eq!(
        bom["dependencies"],
        json!([
            {"ref": "subject", "dependsOn": ["package:hello", "package:zlib", "base-image"]},
            {"ref": "package:hello", "dependsOn": ["package:zlib"]},
            {"ref": "package:zlib", "dependsOn": []},
            {"ref": "base-image", "dependsOn": []},
        ])
    );
    for dependency in bom["dependencies"].as_array().unwrap() {
        assert!(known.contains(dependency["ref"].as_str().unwrap()));
        for target in dependency["dependsOn"].as_array().unwrap() {
            assert!(known.contains(target.as_str().unwrap()), "{target}");
        }
    }
}

#[test]
fn documents_are_deterministic_and_follow_the_digest() {
    let a = subject();
    let mut shuffled = a.clone();
    shuffled.files.reverse();
    shuffled.packages.reverse();
    shuffled.normalise();
    for write in [spdx::write, cyclonedx::write] {
        assert_eq!(write(&a, &options()), write(&shuffled, &options()));
    }
    let mut other = a.clone();
    other.digest = format!("sha256:{}", "3".repeat(64));
    assert_ne!(spdx::namespace(&a), spdx::namespace(&other));
    assert_ne!(
        cyclonedx::serial_number(&a),
        cyclonedx::serial_number(&other)
    );
    let later = DocumentOptions {
        created: 0,
        ..options()
    };
    let doc = parse(&spdx::write(&a, &later));
    assert_eq!(doc["creationInfo"]["created"], "1970-01-01T00:00:00Z");
}

#[test]
fn nothing_of_the_host_reaches_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bin")).unwrap();
    std::fs::write(dir.path().join("bin/tool"), b"tool").unwrap();
    let mut subject = subject();
    subject.files = crate::gather::directory(dir.path()).unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let env = BTreeMap::from([
        ("HOSTNAME".to_string(), host.trim().to_string()),
        ("PWD".to_string(), root.clone()),
    ]);
    for (bytes, lists_files) in [
        (spdx::write(&subject, &options()), true),
        (cyclonedx::write(&subject, &options()), true),
        (
            provenance::write(&subject, &options(), Some("ab"), &env),
            false,
        ),
    ] {
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains(&root), "{text}");
        assert_eq!(text.contains("bin/tool"), lists_files);
        let host = host.trim();
        if host.len() > 3 {
            assert!(!text.contains(host), "{text}");
        }
    }
}

#[test]
fn provenance_of_a_local_build() {
    let subject = subject();
    let doc = parse(&provenance::write(
        &subject,
        &options(),
        Some(&"9".repeat(64)),
        &BTreeMap::new(),
    ));
    assert_eq!(
        doc["buildDefinition"]["buildType"],
        "https://boxwright.invalid/build/v1"
    );
    assert_eq!(
        doc["buildDefinition"]["externalParameters"],
        json!({
            "target": "hello",
            "version": "1.0.0",
            "platform": "linux/amd64",
            "metadata": {"uri": "metadata.json", "digest": {"sha256": "9".repeat(64)}},
        })
    );
    assert_eq!(
        doc["buildDefinition"]["internalParameters"],
        json!({"sourceDateEpoch": 1_700_000_000, "subjectKind": "oci-image"})
    );
    assert_eq!(
        doc["buildDefinition"]["resolvedDependencies"],
        json!([
            {"uri": "git+https://github.com/acme/hello", "digest": {"gitCommit": COMMIT}, "name": "source"},
            {"uri": "https://example.org/hello-1.0.0.tar.gz", "digest": {"sha256": HELLO_SHA256},
             "name": "hello-1.0.0.tar.gz", "annotations": {"target": "hello"}},
            {"digest": {"sha256": "ef".repeat(32)}, "name": "patch.diff", "annotations": {"target": "hello"}},
            {"uri": "file:sources/zlib-1.3.tar.gz", "digest": {"sha256": "ab".repeat(32), "sha512": "cd".repeat(64)},
             "name": "zlib-1.3.tar.gz", "annotations": {"target": "zlib"}},
            {"uri": "pkg:oci/base@sha256%3A2222222222222222222222222222222222222222222222222222222222222222?repository_url=registry.example/library/base",
             "digest": {"sha256": "2".repeat(64)}, "name": "registry.example/library/base:1",
             "annotations": {"role": "base-image"}},
        ])
    );
    assert_eq!(
        doc["runDetails"],
        json!({"builder": {"id": "https://boxwright.invalid/builder/local", "version": {"boxwright": "0.1.0"}}})
    );
}

#[test]
fn provenance_in_github_actions_names_the_workflow_and_run() {
    let mut subject = subject();
    subject.source = None;
    let env: BTreeMap<String, String> = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/hello"),
        (
            "GITHUB_WORKFLOW_REF",
            "acme/hello/.github/workflows/release.yml@refs/heads/main",
        ),
        ("GITHUB_RUN_ID", "77"),
        ("GITHUB_SHA", COMMIT),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
    .collect();
    let first = provenance::write(&subject, &options(), None, &env);
    assert_eq!(first, provenance::write(&subject, &options(), None, &env));
    let doc = parse(&first);
    assert_eq!(
        doc["runDetails"]["builder"]["id"],
        "https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main"
    );
    assert_eq!(
        doc["runDetails"]["metadata"]["invocationId"],
        "https://github.com/acme/hello/actions/runs/77/attempts/1"
    );
    assert_eq!(
        doc["buildDefinition"]["externalParameters"]["workflow"],
        json!({"repository": "https://github.com/acme/hello", "path": ".github/workflows/release.yml", "ref": "refs/heads/main"})
    );
    // Without a recorded source, CI's checkout is the source.
    assert_eq!(
        doc["buildDefinition"]["resolvedDependencies"][0],
        json!({"uri": "git+https://github.com/acme/hello", "digest": {"gitCommit": COMMIT}, "name": "source"})
    );
}

/// A rootfs tarball from packages: the package databases are read from the flattened
/// files (a second pass, by content digest) and every installed package reaches both
/// documents with its purl, license and checksum.
#[test]
fn installed_packages_of_a_rootfs_reach_both_documents() {
    let dir = tempfile::tempdir().unwrap();
    let status = "Package: hello\nStatus: install ok installed\nArchitecture: amd64\n\
Version: 1.0-1\n\nPackage: removed\nStatus: deinstall ok config-files\nArchitecture: amd64\n\
Version: 2\n";
    let copyright = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
Files: *\nCopyright: 2024 Someone\nLicense: Expat or public-domain\n";
    let apk = "C:Q1p8Dh0mEJhL1kOYe5BRlBWmtN9Xo=\nP:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\n\n";
    let entries: [(&str, &[u8]); 6] = [
        ("./bin/hello", b"\x7fELF hello"),
        ("./usr/lib/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        ("./usr/share/doc/hello/copyright", copyright.as_bytes()),
        ("./var/lib/dpkg/status", status.as_bytes()),
        ("./lib/apk/db/installed", apk.as_bytes()),
        // Same content as the copyright file, elsewhere: read once, found by path.
        ("./usr/share/doc/other/README", copyright.as_bytes()),
    ];
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, path, content).unwrap();
    }
    let tarball = dir.path().join("rootfs.tar");
    std::fs::write(&tarball, builder.into_inner().unwrap()).unwrap();
    let files = crate::gather::tarball(&tarball, &boxwright_archive::progress::NoProgress).unwrap();
    let installed = crate::gather::tarball_installed(&tarball, &files).unwrap();
    let names: Vec<&str> = installed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["hello", "musl"]);
    assert_eq!(
        installed[0].purl,
        "pkg:deb/debian/hello@1.0-1?arch=amd64&distro=debian-12"
    );
    assert_eq!(
        installed[0].license.as_deref(),
        Some("MIT OR public-domain")
    );
    assert_eq!(
        installed[1].purl,
        "pkg:apk/debian/musl@1.2.5-r0?arch=x86_64"
    );

    let mut subject = subject();
    subject.installed = installed;
    subject.normalise();
    let spdx = parse(&crate::spdx::write(&subject, &options()));
    let packages = spdx["packages"].as_array().unwrap();
    let hello = packages
        .iter()
        .find(|p| p["SPDXID"] == "SPDXRef-Installed-hello-amd64")
        .expect("the installed package");
    assert_eq!(hello["versionInfo"], "1.0-1");
    assert_eq!(hello["licenseDeclared"], "MIT OR LicenseRef-public-domain");
    assert_eq!(
        spdx["hasExtractedLicensingInfos"][0]["licenseId"],
        "LicenseRef-public-domain"
    );
    assert_eq!(hello["licenseConcluded"], "NOASSERTION");
    assert_eq!(
        hello["externalRefs"][0]["referenceLocator"],
        "pkg:deb/debian/hello@1.0-1?arch=amd64&distro=debian-12"
    );
    let musl = packages
        .iter()
        .find(|p| p["name"] == "musl")
        .expect("the apk package");
    assert_eq!(musl["checksums"][0]["algorithm"], "SHA1");
    assert_eq!(
        musl["checksums"][0]["checksumValue"],
        "a7c0e1d2610984bd643987b90519415a6b4df57a"
    );
    assert!(spdx["relationships"].as_array().unwrap().iter().any(|r| {
        r["relationshipType"] == "CONTAINS"
            && r["relatedSpdxElement"] == "SPDXRef-Installed-hello-amd64"
    }));

    let bom = parse(&crate::cyclonedx::write(&subject, &options()));
    let components = bom["components"].as_array().unwrap();
    let musl = components
        .iter()
        .find(|c| c["bom-ref"] == "installed:musl:x86_64")
        .expect("the apk component");
    assert_eq!(musl["purl"], "pkg:apk/debian/musl@1.2.5-r0?arch=x86_64");
    assert_eq!(musl["licenses"][0]["expression"], "MIT");
    assert_eq!(musl["hashes"][0]["alg"], "SHA-1");
    let held = bom["dependencies"][0]["dependsOn"].as_array().unwrap();
    assert!(held.iter().any(|r| r == "installed:hello:amd64"));
}

/// An image without a package database gets no installed packages, and the layers are
/// read once.
#[test]
fn images_without_a_package_database_list_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "./etc/os-release", &b"x=1"[..])
        .unwrap();
    let tarball = dir.path().join("rootfs.tar");
    std::fs::write(&tarball, builder.into_inner().unwrap()).unwrap();
    let files = crate::gather::tarball(&tarball, &boxwright_archive::progress::NoProgress).unwrap();
    assert!(
        crate::gather::tarball_installed(&tarball, &files)
            .unwrap()
            .is_empty()
    );
}
