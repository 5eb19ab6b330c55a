//! Hostile packages built byte by byte: each limit and rule of the readers and indexers.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use tar::EntryType;

use crate::repo::{RepoConfig, Repository, apk_location};
use crate::{PackageError, ReadLimits, RepoError, ar, inspect, inspect_with};

fn key_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn header(name: &str, kind: EntryType, size: u64) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(if kind == EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_cksum();
    header.as_bytes().to_vec()
}

/// A tar entry (header, data, padding).
fn entry(name: &str, kind: EntryType, data: &[u8]) -> Vec<u8> {
    let mut out = header(name, kind, data.len() as u64);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn with_end(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend_from_slice(&[0; 1024]);
    tar
}

fn gzip(data: &[u8]) -> Vec<u8> {
    crate::apk::gzip(data).unwrap()
}

const CONTROL: &str = "Package: plain\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: X <x@example.invalid>\nDescription: plain\n";

/// A .deb of `control` and the data tar `data`.
fn deb(dir: &Path, name: &str, control: &str, data: &[u8]) -> PathBuf {
    let control_tar = gzip(&with_end(entry(
        "./control",
        EntryType::Regular,
        control.as_bytes(),
    )));
    let data = gzip(data);
    let mut out = Vec::new();
    ar::start(&mut out).unwrap();
    ar::member(&mut out, "debian-binary", 0, 4, &mut &b"2.0\n"[..]).unwrap();
    let size = control_tar.len() as u64;
    ar::member(
        &mut out,
        "control.tar.gz",
        0,
        size,
        &mut control_tar.as_slice(),
    )
    .unwrap();
    let size = data.len() as u64;
    ar::member(&mut out, "data.tar.gz", 0, size, &mut data.as_slice()).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

fn empty_data() -> Vec<u8> {
    with_end(entry("./", EntryType::Directory, &[]))
}

/// A signed .apk (testdata/test.rsa) of `pkginfo` (its `datahash` added) and `data`.
fn apk(dir: &Path, name: &str, pkginfo: &str, data: &[u8]) -> PathBuf {
    use sha2::Digest as _;
    let data = gzip(data);
    let pkginfo = format!(
        "{pkginfo}datahash = {}\n",
        hex::encode(sha2::Sha256::digest(&data))
    );
    let control = gzip(&entry(".PKGINFO", EntryType::Regular, pkginfo.as_bytes()));
    let key = boxwright_sign::rsa::RsaSigningKey::from_pem(
        &std::fs::read_to_string(key_path("test.rsa")).unwrap(),
    )
    .unwrap();
    let mut out = crate::apk::signature_member(&key, "test.rsa.pub", &control, 0).unwrap();
    out.extend(control);
    out.extend(data);
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

fn pkginfo(name: &str, version: &str, description: &str) -> String {
    format!(
        "pkgname = {name}\npkgver = {version}\npkgdesc = {description}\narch = x86_64\nsize = 4096\n"
    )
}

fn apk_data() -> Vec<u8> {
    with_end(entry("usr/", EntryType::Directory, &[]))
}

fn repository(root: &Path) -> Repository {
    Repository::new(RepoConfig {
        root: root.to_path_buf(),
        apk_key: Some(crate::repo::KeySource::Path(key_path("test.rsa"))),
        apk_key_name: None,
        apt_key: None,
        apt_origin: String::new(),
        apt_label: String::new(),
        index_time: None,
    })
}

#[test]
fn a_long_name_over_the_header_limit_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let size = crate::limits::HEADER + 1;
    let mut data = entry(
        "././@LongLink",
        EntryType::GNULongName,
        &vec![b'a'; 2 << 20],
    );
    // The header says one byte over the limit; the reader must not read on.
    data[..512].copy_from_slice(&header("././@LongLink", EntryType::GNULongName, size));
    data.truncate(512 + usize::try_from(size.div_ceil(512) * 512).unwrap());
    data.extend(entry("x/", EntryType::Directory, &[]));
    let path = deb(dir.path(), "long.deb", CONTROL, &with_end(data));
    let error = inspect(&path).unwrap_err();
    assert!(error.is_limit(), "{error}");
    assert!(
        matches!(
            &error,
            PackageError::HeaderTooLarge {
                record: "GNU long name",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("data.tar.gz"), "{error}");

    // The same name under the limit is read, and it is the entry's name.
    let mut data = entry("././@LongLink", EntryType::GNULongName, b"usr/share/long\0");
    data.extend(entry("x", EntryType::Directory, &[]));
    let path = deb(dir.path(), "short.deb", CONTROL, &with_end(data));
    inspect(&path).unwrap();
    let mut data = entry("././@LongLink", EntryType::GNULongName, b"../escape\0");
    data.extend(entry("x", EntryType::Regular, &[]));
    let path = deb(dir.path(), "escape.deb", CONTROL, &with_end(data));
    let error = inspect(&path).unwrap_err().to_string();
    assert!(error.contains("unsafe entry path `../escape`"), "{error}");
}

#[test]
fn pax_records_over_the_header_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for kind in [EntryType::XHeader, EntryType::XGlobalHeader] {
        let value = "a".repeat(usize::try_from(crate::limits::HEADER).unwrap());
        let record = format!("{} comment={value}\n", value.len() + 17);
        let mut data = entry("./", EntryType::Directory, &[]);
        data.extend(entry("PaxHeader", kind, record.as_bytes()));
        data.extend(entry("./x", EntryType::Regular, &[]));
        let path = deb(dir.path(), "pax.deb", CONTROL, &with_end(data));
        let error = inspect(&path).unwrap_err();
        assert!(
            matches!(&error, PackageError::HeaderTooLarge { location, .. } if location == "data.tar.gz, after entry `./`"),
            "{error}"
        );
        assert!(error.to_string().contains("pax"), "{error}");
    }
    // A long name and a pax header together count against one entry's limit.
    let half = vec![b'a'; usize::try_from(crate::limits::HEADER / 2 + 512).unwrap()];
    let mut data = entry("././@LongLink", EntryType::GNULongName, &half);
    data.extend(entry("././@LongLink", EntryType::GNULongLink, &half));
    data.extend(entry("x", EntryType::Symlink, &[]));
    let path = deb(dir.path(), "both.deb", CONTROL, &with_end(data));
    let error = inspect(&path).unwrap_err();
    assert!(
        matches!(
            &error,
            PackageError::HeaderTooLarge {
                record: "GNU long link",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn unpacked_size_and_ratio_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 40 << 20];
    let mut data = entry("./", EntryType::Directory, &[]);
    data.extend(entry("./zeros", EntryType::Regular, &zeros));
    let path = deb(dir.path(), "zeros.deb", CONTROL, &with_end(data));
    let file_size = std::fs::metadata(&path).unwrap().len();
    assert!(file_size < 1 << 20, "{file_size}");
    // The default ratio (100) allows no more than the grace for a file this small.
    let error = inspect(&path).unwrap_err();
    assert!(matches!(error, PackageError::Ratio { .. }), "{error}");
    assert!(error.is_limit());
    assert!(error.to_string().contains("100 times"), "{error}");
    let generous = ReadLimits {
        max_unpacked: 1 << 30,
        max_ratio: 100_000,
    };
    inspect_with(&path, &generous).unwrap();
    let small = ReadLimits {
        max_unpacked: 1 << 20,
        max_ratio: 100_000,
    };
    let error = inspect_with(&path, &small).unwrap_err();
    assert!(
        matches!(error, PackageError::TooLarge { limit, .. } if limit == 1 << 20),
        "{error}"
    );
}

#[test]
fn duplicate_deb_control_fields_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (control, field) in [
        (format!("{CONTROL} more text\nPackage: other\n"), "Package"),
        (format!("{CONTROL}version: 2.0-1\n"), "version"),
    ] {
        let path = deb(dir.path(), "twice.deb", &control, &empty_data());
        let error = inspect(&path).unwrap_err().to_string();
        assert!(
            error.contains(&format!("the field `{field}` is given twice")),
            "{error}"
        );
    }
    let path = deb(
        dir.path(),
        "two.deb",
        &format!("{CONTROL}\nPackage: other\n"),
        &empty_data(),
    );
    let error = inspect(&path).unwrap_err().to_string();
    assert!(error.contains("after the paragraph"), "{error}");
    inspect(&deb(
        dir.path(),
        "fine.deb",
        &format!("{CONTROL}\n\n"),
        &empty_data(),
    ))
    .unwrap();
}

#[test]
fn the_apk_index_checks_every_field_it_signs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let arch_dir = root.join("3.20/main/x86_64");
    std::fs::create_dir_all(&arch_dir).unwrap();
    for (info, field) in [
        (pkginfo("../../../etc/evil", "1.0-r0", "x"), "name"),
        (pkginfo("evil", "1.0-r0 ; rm -rf", "x"), "version"),
        (
            pkginfo("evil", "1.0-r0", "x").replace("x86_64", "x86/64"),
            "architecture",
        ),
        (pkginfo("evil", "1.0-r0", "x").replace("4096", "0"), "size"),
    ] {
        apk(&arch_dir, "evil.apk", &info, &apk_data());
        let error = repository(&root).reindex_all().unwrap_err();
        let chain = format!("{error}: {}", std::error::Error::source(&error).unwrap());
        assert!(chain.contains("evil.apk"), "{chain}");
        assert!(chain.contains(field), "{chain}");
        assert!(!arch_dir.join("APKINDEX.tar.gz").exists());
    }
}

#[test]
fn two_apks_with_one_name_and_version_are_named_together() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let arch_dir = root.join("3.20/main/x86_64");
    std::fs::create_dir_all(&arch_dir).unwrap();
    apk(
        &arch_dir,
        "hello-1.0.0-r0.apk",
        &pkginfo("hello", "1.0.0-r0", "real"),
        &apk_data(),
    );
    apk(
        &arch_dir,
        "zzz.apk",
        &pkginfo("hello", "1.0.0-r0", "impostor"),
        &apk_data(),
    );
    let error = repository(&root).reindex_all().unwrap_err();
    assert!(matches!(error, RepoError::Duplicate { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("hello-1.0.0-r0.apk")
            && text.contains("zzz.apk")
            && text.contains("hello 1.0.0-r0"),
        "{text}"
    );
    assert!(!arch_dir.join("APKINDEX.tar.gz").exists());
}

#[test]
fn the_apk_tree_stays_out_of_the_apt_tree() {
    let dir = tempfile::tempdir().unwrap();
    let built = apk(
        dir.path(),
        "a.apk",
        &pkginfo("hello", "1.0-r0", "x"),
        &apk_data(),
    );
    let info = inspect(&built).unwrap();
    let repository = repository(&dir.path().join("repo"));
    for (version, repo, value) in [
        ("apt", "main", "apt"),
        ("3.20", "dists", "dists"),
        ("3.20", "pool", "pool"),
    ] {
        let error = repository.destination(&info, version, repo).unwrap_err();
        assert!(matches!(error, RepoError::ReservedName { .. }), "{error}");
        assert!(error.to_string().contains(&format!("`{value}`")), "{error}");
        assert!(apk_location(version, repo).is_err());
        assert!(
            repository
                .reindex_for_arch(&info, version, repo, "x86_64")
                .is_err()
        );
    }
    apk_location("3.20", "main").unwrap();
    // A .deb's suite may be any safe name: the apt tree is under apt/ whatever it is called.
    let deb_info = inspect(&deb(dir.path(), "p.deb", CONTROL, &empty_data())).unwrap();
    repository.destination(&deb_info, "pool", "dists").unwrap();

    // `repo index` refuses apk packages found in such a place.
    let pool = dir.path().join("repo/3.20/pool/x86_64");
    std::fs::create_dir_all(&pool).unwrap();
    std::fs::copy(&built, pool.join("hello-1.0-r0.apk")).unwrap();
    let error = repository.reindex_all().unwrap_err();
    assert!(error.to_string().contains("`pool`"), "{error}");
    assert!(!pool.join("APKINDEX.tar.gz").exists());
}

#[test]
fn indexes_read_each_package_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let arch_dir = root.join("3.20/main/x86_64");
    std::fs::create_dir_all(&arch_dir).unwrap();
    let first = apk(
        &arch_dir,
        "a-1.0-r0.apk",
        &pkginfo("a", "1.0-r0", "a"),
        &apk_data(),
    );
    let repository = repository(&root);
    let clone = repository.clone();
    repository.reindex_all().unwrap();
    assert_eq!(repository.cache.reads.load(Ordering::SeqCst), 1);
    // The clone shares the cache: known digests are not read again.
    clone.reindex_all().unwrap();
    assert_eq!(repository.cache.reads.load(Ordering::SeqCst), 1);
    // Facts remembered from an upload's inspection count as known.
    let second = apk(
        &arch_dir,
        "b-1.0-r0.apk",
        &pkginfo("b", "1.0-r0", "b"),
        &apk_data(),
    );
    repository.remember(&inspect(&second).unwrap());
    repository.reindex_all().unwrap();
    assert_eq!(repository.cache.reads.load(Ordering::SeqCst), 1);
    // Other bytes under a known name are read.
    apk(
        &arch_dir,
        "a-1.0-r0.apk",
        &pkginfo("a", "1.0-r0", "changed"),
        &apk_data(),
    );
    repository.reindex_all().unwrap();
    assert_eq!(repository.cache.reads.load(Ordering::SeqCst), 2);
    assert!(first.exists());
}
