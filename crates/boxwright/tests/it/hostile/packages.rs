//! Hostile packages: see hostile/mod.rs.
//!
//! The packages are built here byte by byte (tar, ar and gzip), so they can be what no
//! writer of ours would make: a 1 GiB GNU long name streamed as repeated deflate blocks
//! (never a 1 GiB buffer), control fields our writers refuse, duplicate control fields.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::{Compress, FlushCompress};
use sha2::Digest as _;

use crate::support::boxwright;
use crate::support::rss::vm_hwm_kib;
use crate::support::serve::{Repo, Served, apk, curl_upload, deb, openssl_key, spec};

/// The peak resident memory a server may reach while refusing a hostile package.
const PEAK_LIMIT_KIB: u64 = 100 * 1024;
/// The long name of the hostile packages.
const LONG_NAME: u64 = 1 << 30;

// --- byte builders -----------------------------------------------------------------------

/// Part of a gzip stream's uncompressed content.
enum Part<'a> {
    Bytes(&'a [u8]),
    /// `count` MiB of the byte.
    Repeat(u8, u64),
}

/// Raw deflate of `data` by a fresh compressor, ended by a sync flush (byte-aligned, no
/// reference to anything before it), or the final block when `last`.
fn deflate_piece(data: &[u8], last: bool) -> Vec<u8> {
    let mut compress = Compress::new(Compression::best(), false);
    // Room for incompressible input (stored blocks) and the flush's empty block.
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let status = compress.compress_vec(data, &mut out, flush).unwrap();
    assert_eq!(compress.total_in(), data.len() as u64);
    assert!(!last || status == flate2::Status::StreamEnd);
    out
}

/// Writes a one-member gzip stream of `parts` to `out`: each piece deflated on its own, a
/// repeated MiB deflated once and its bytes written `count` times, CRC-32s combined.
fn write_gzip(out: &mut impl std::io::Write, parts: &[Part<'_>]) {
    out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3])
        .unwrap();
    let mut crc = flate2::Crc::new();
    for part in parts {
        match part {
            Part::Bytes(bytes) => {
                out.write_all(&deflate_piece(bytes, false)).unwrap();
                crc.update(bytes);
            }
            Part::Repeat(byte, count) => {
                let chunk = vec![*byte; 1 << 20];
                let piece = deflate_piece(&chunk, false);
                let mut chunk_crc = flate2::Crc::new();
                chunk_crc.update(&chunk);
                for _ in 0..*count {
                    out.write_all(&piece).unwrap();
                    crc.combine(&chunk_crc);
                }
            }
        }
    }
    out.write_all(&deflate_piece(&[], true)).unwrap();
    out.write_all(&crc.sum().to_le_bytes()).unwrap();
    out.write_all(&crc.amount().to_le_bytes()).unwrap();
}

/// A tar header block.
fn tar_header(name: &str, kind: tar::EntryType, size: u64, mode: u32) -> Vec<u8> {
    let mut header = if kind == tar::EntryType::GNULongName {
        tar::Header::new_gnu()
    } else {
        tar::Header::new_ustar()
    };
    header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    header.as_bytes().to_vec()
}

/// `tar` followed by the two end-of-archive blocks.
fn with_end_blocks(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend_from_slice(&[0; 1024]);
    tar
}

/// A gzip member of a tar holding one directory entry `name` (no files, so no checksums).
fn directory_tar_gz(out: &Path, name: &str) {
    let tar = with_end_blocks(tar_header(name, tar::EntryType::Directory, 0, 0o755));
    std::fs::write(out, gzip(&tar)).unwrap();
}

/// A tar entry: header and data, padded.
fn tar_file(name: &str, data: &[u8], mode: u32) -> Vec<u8> {
    let mut out = tar_header(name, tar::EntryType::Regular, data.len() as u64, mode);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// The tar entries of a 1 GiB GNU long name and the directory it names, end blocks after.
fn long_name_tar(out: &Path) {
    let head = tar_header(
        "././@LongLink",
        tar::EntryType::GNULongName,
        LONG_NAME,
        0o644,
    );
    let tail = with_end_blocks(tar_header("x/", tar::EntryType::Directory, 0, 0o755));
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    write_gzip(
        &mut file,
        &[
            Part::Bytes(&head),
            Part::Repeat(b'a', LONG_NAME >> 20),
            Part::Bytes(&tail),
        ],
    );
    file.flush().unwrap();
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_gzip(&mut out, &[Part::Bytes(data)]);
    out
}

/// An ar archive of `members` (name, file holding its bytes).
fn write_ar(out: &Path, members: &[(&str, &Path)]) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    file.write_all(b"!<arch>\n").unwrap();
    for (name, path) in members {
        let size = std::fs::metadata(path).unwrap().len();
        let header = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n",
            0, 0, 0, "100644"
        );
        file.write_all(header.as_bytes()).unwrap();
        std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut file).unwrap();
        if size % 2 == 1 {
            file.write_all(b"\n").unwrap();
        }
    }
    file.flush().unwrap();
}

/// A .deb at `out` with `control` as its control file and the data member at `data`.
fn write_deb(out: &Path, control: &str, data: &Path) {
    let dir = out.parent().unwrap();
    let binary = dir.join("debian-binary");
    std::fs::write(&binary, "2.0\n").unwrap();
    let control_tar = with_end_blocks(tar_file("./control", control.as_bytes(), 0o644));
    let control_gz = dir.join("control.tar.gz");
    std::fs::write(&control_gz, gzip(&control_tar)).unwrap();
    write_ar(
        out,
        &[
            ("debian-binary", &binary),
            ("control.tar.gz", &control_gz),
            ("data.tar.gz", data),
        ],
    );
}

/// An apk at `out`: a signature member (the bytes need not verify: the structure is what is
/// checked on upload), a control member holding `pkginfo` plus the `datahash` of the data
/// member read from `data`.
fn write_apk(out: &Path, pkginfo: &str, data: &Path) {
    let data_bytes_hash = {
        let mut hasher = sha2::Sha256::new();
        hasher.update(std::fs::read(data).unwrap());
        boxwright_archive::hex(&hasher.finalize())
    };
    let pkginfo = format!("{pkginfo}datahash = {data_bytes_hash}\n");
    // Cut tars: no end-of-archive blocks.
    let control = gzip(&tar_file(".PKGINFO", pkginfo.as_bytes(), 0o644));
    let signature = gzip(&tar_file(".SIGN.RSA256.builder.rsa.pub", &[7; 256], 0o644));
    let mut file = std::fs::File::create(out).unwrap();
    file.write_all(&signature).unwrap();
    file.write_all(&control).unwrap();
    std::io::copy(&mut std::fs::File::open(data).unwrap(), &mut file).unwrap();
}

/// `.PKGINFO` lines (without `datahash`).
fn pkginfo(name: &str, version: &str, arch: &str, description: &str) -> String {
    format!(
        "pkgname = {name}\npkgver = {version}\npkgdesc = {description}\narch = {arch}\nsize = 4096\norigin = {name}\n"
    )
}

fn peak_kib(served: &Served) -> u64 {
    vm_hwm_kib(served.child.id())
}

/// A served repository with the keys `keys` adds and its `build/` directory for packages.
fn served_repo<T>(keys: impl FnOnce(&Repo) -> T) -> (Repo, Served, PathBuf) {
    let repo = Repo::new();
    keys(&repo);
    let served = Served::start(&repo.config(""));
    let build = repo.path("build");
    std::fs::create_dir_all(&build).unwrap();
    (repo, served, build)
}

/// Uploads the ordinary package `file` of `build` to `fields`: it is published, and the
/// server's peak memory stayed within the limit.
fn assert_a_normal_upload_works(
    served: &Served,
    build: &Path,
    fields: (&str, &str, &str),
    file: &str,
) {
    let (status, body) = curl_upload(build, &served.url, None, fields, &[file]);
    assert_eq!(status, 201, "{body}; log: {}", served.log());
    let peak = peak_kib(served);
    assert!(
        peak < PEAK_LIMIT_KIB,
        "peak RSS {peak} KiB after a normal upload"
    );
}

fn assert_refused_as_too_large_or_invalid(status: u16, body: &str, served: &Served) {
    let peak = peak_kib(served);
    assert!(
        status == 413 || status == 422,
        "status {status} (peak RSS {peak} KiB): {body}; log: {}",
        served.log()
    );
    eprintln!("refused with {status}, the server's peak RSS {peak} KiB");
    assert!(
        peak < PEAK_LIMIT_KIB,
        "the server's peak RSS reached {peak} KiB refusing the package ({status}: {body})"
    );
}

// --- case 1: 1 GiB long names --------------------------------------------------------------

#[test]
fn a_deb_with_a_gigabyte_long_name_is_refused_within_bounded_memory() {
    let (_repo, served, build) = served_repo(Repo::apt_key);
    let data = build.join("data.tar.gz");
    long_name_tar(&data);
    let hostile = build.join("longname_1.0-1_amd64.deb");
    write_deb(
        &hostile,
        "Package: longname\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: X <x@example.invalid>\nDescription: long\n",
        &data,
    );
    let size = std::fs::metadata(&hostile).unwrap().len();
    assert!(size < 2 << 20, "the hostile .deb is small: {size} bytes");

    let fields = ("stable", "main", "amd64");
    let (status, body) = curl_upload(
        &build,
        &served.url,
        None,
        fields,
        &["longname_1.0-1_amd64.deb"],
    );
    assert_refused_as_too_large_or_invalid(status, &body, &served);
    assert!(body.contains("longname_1.0-1_amd64.deb"), "{body}");
    assert!(body.contains("long name"), "{body}");

    deb(&build, "plain");
    assert_a_normal_upload_works(&served, &build, fields, "plain_1.0-0_amd64.deb");
}

#[test]
fn an_apk_with_a_gigabyte_long_name_is_refused_within_bounded_memory() {
    let (_repo, served, build) = served_repo(Repo::apk_key);
    let data = build.join("data.gz");
    long_name_tar(&data);
    let hostile = build.join("longname-1.0-r0.apk");
    write_apk(
        &hostile,
        &pkginfo("longname", "1.0-r0", "x86_64", "long"),
        &data,
    );

    let fields = ("3.20", "main", "x86_64");
    let (status, body) = curl_upload(&build, &served.url, None, fields, &["longname-1.0-r0.apk"]);
    assert_refused_as_too_large_or_invalid(status, &body, &served);
    assert!(body.contains("longname-1.0-r0.apk"), "{body}");
    assert!(body.contains("long name"), "{body}");

    apk(&build, "plain", 0);
    assert_a_normal_upload_works(&served, &build, fields, "plain-1.0-r0.apk");
}

// --- case 5: apk indexing checks what it signs -------------------------------------------

/// A repository tree for `repo index` with the apk key, an apk directory, and a data member
/// with one `usr/` directory entry for hand-made apks.
struct IndexTree {
    dir: tempfile::TempDir,
    key: PathBuf,
    arch_dir: PathBuf,
    data: PathBuf,
}

impl IndexTree {
    fn new() -> IndexTree {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("repo.rsa");
        openssl_key(
            &key,
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        );
        let arch_dir = dir.path().join("tree/3.20/main/x86_64");
        std::fs::create_dir_all(&arch_dir).unwrap();
        let data = dir.path().join("data.gz");
        directory_tar_gz(&data, "usr/");
        IndexTree {
            dir,
            key,
            arch_dir,
            data,
        }
    }

    /// Writes the hand-made apk `name` into the apk directory.
    fn apk(&self, name: &str, pkginfo: &str) {
        write_apk(&self.arch_dir.join(name), pkginfo, &self.data);
    }

    /// `repo index` of the tree: its exit code and stderr.
    fn index(&self) -> (Option<i32>, String) {
        let output = boxwright()
            .args(["repo", "index"])
            .arg(self.dir.path().join("tree"))
            .arg("--apk-key")
            .arg(&self.key)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn has_index(&self) -> bool {
        self.arch_dir.join("APKINDEX.tar.gz").exists()
    }

    /// `repo index` of the tree, which must fail (exit 2) without writing an index: its stderr.
    fn index_refused(&self) -> String {
        let (code, stderr) = self.index();
        assert_eq!(code, Some(2), "{stderr}");
        assert!(!self.has_index(), "no index is written");
        stderr
    }
}

#[test]
fn repo_index_refuses_a_dropped_apk_with_fields_upload_would_refuse() {
    let tree = IndexTree::new();
    tree.apk(
        "evil.apk",
        &pkginfo("../../../etc/evil", "1.0-r0 ; rm -rf", "x86_64", "evil"),
    );
    let stderr = tree.index_refused();
    assert!(stderr.contains("evil.apk"), "{stderr}");
    assert!(
        stderr.contains("name") && stderr.contains("../../../etc/evil"),
        "{stderr}"
    );

    // The name alone fixed: the version is refused next.
    tree.apk(
        "evil.apk",
        &pkginfo("evil", "1.0-r0 ; rm -rf", "x86_64", "evil"),
    );
    let stderr = tree.index_refused();
    assert!(
        stderr.contains("evil.apk") && stderr.contains("version"),
        "{stderr}"
    );
}

#[test]
fn repo_index_refuses_two_files_claiming_one_name_and_version() {
    let tree = IndexTree::new();
    tree.apk(
        "hello-1.0.0-r0.apk",
        &pkginfo("hello", "1.0.0-r0", "x86_64", "the real one"),
    );
    tree.apk(
        "other.apk",
        &pkginfo("hello", "1.0.0-r0", "x86_64", "an impostor"),
    );
    let stderr = tree.index_refused();
    assert!(
        stderr.contains("hello-1.0.0-r0.apk") && stderr.contains("other.apk"),
        "{stderr}"
    );

    // One of them gone: the index is written.
    std::fs::remove_file(tree.arch_dir.join("other.apk")).unwrap();
    let (code, stderr) = tree.index();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(tree.has_index());
}

// --- case 6: duplicate control fields -------------------------------------------------------

#[test]
fn a_deb_with_a_duplicate_package_field_is_refused() {
    let (repo, served, build) = served_repo(Repo::apt_key);
    let data = build.join("data.tar.gz");
    directory_tar_gz(&data, "./");
    write_deb(
        &build.join("plain_1.0-1_amd64.deb"),
        "Package: plain\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: X <x@example.invalid>\nDescription: plain\n more text\nPackage: other\n",
        &data,
    );
    let (status, body) = curl_upload(
        &build,
        &served.url,
        None,
        ("stable", "main", "amd64"),
        &["plain_1.0-1_amd64.deb"],
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("Package"), "{body}");
    assert!(
        repo.tree().iter().all(|f| f.starts_with(".uploads/")),
        "{:?}",
        repo.tree()
    );
}

// --- case 9: the apk tree and the apt tree apart --------------------------------------------

#[test]
fn apk_uploads_cannot_reach_into_the_apt_tree() {
    let (repo, served, build) = served_repo(|repo| {
        repo.apk_key();
        repo.apt_key();
    });
    let key_path = build.join("builder.rsa");
    openssl_key(
        &key_path,
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    let key = boxwright_sign_key(&key_path);
    boxwright_package::apk::write(
        &spec("anywhere", "noarch", 0),
        &key,
        "builder.rsa.pub",
        &build,
    )
    .unwrap();
    for fields in [
        ("apt", "dists", "stable"),
        ("apt", "main", "x86_64"),
        ("3.20", "dists", "x86_64"),
        ("3.20", "pool", "x86_64"),
    ] {
        let (status, body) =
            curl_upload(&build, &served.url, None, fields, &["anywhere-1.0-r0.apk"]);
        assert_eq!(status, 422, "{fields:?}: {body}");
        assert!(
            body.contains("`apt`") || body.contains("`dists`") || body.contains("`pool`"),
            "{fields:?}: {body}"
        );
        let tree = repo.tree();
        assert!(
            tree.iter().all(|f| f.starts_with(".uploads/")),
            "{fields:?}: {tree:?}"
        );
    }
    // An ordinary place still works.
    let (status, body) = curl_upload(
        &build,
        &served.url,
        None,
        ("3.20", "main", "x86_64"),
        &["anywhere-1.0-r0.apk"],
    );
    assert_eq!(status, 201, "{body}");
}

#[test]
fn repo_index_and_repo_upload_refuse_apk_trees_in_apt_names() {
    let tree = IndexTree::new();
    let pool_dir = tree.dir.path().join("tree/3.20/pool/x86_64");
    std::fs::create_dir_all(&pool_dir).unwrap();
    let built = apk(&tree.dir.path().join("build"), "hello", 0);
    std::fs::copy(&built, pool_dir.join("hello-1.0-r0.apk")).unwrap();
    let (code, stderr) = tree.index();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`pool`"), "{stderr}");
    assert!(!pool_dir.join("APKINDEX.tar.gz").exists());

    // The client refuses before it sends anything (the URL is never reached).
    let output = boxwright()
        .args([
            "repo",
            "upload",
            "http://127.0.0.1:9",
            "--alpine",
            "apt",
            "--repo",
            "main",
        ])
        .arg(&built)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`apt`"), "{stderr}");
}

fn boxwright_sign_key(path: &Path) -> boxwright_sign::rsa::RsaSigningKey {
    boxwright_sign::rsa::RsaSigningKey::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}
