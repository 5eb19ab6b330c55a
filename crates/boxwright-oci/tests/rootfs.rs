//! The flat rootfs export, on layers built here with the tar crate (raw headers where a
//! hostile name needs them) and checked by reading the output back with the tar crate and
//! by extracting it with GNU tar.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use boxwright_oci::rootfs::{
    EntryProblem, ExportLimits, ExportReport, LayerCompression, LayerSource, RootfsError, export,
    files,
};
use tar::{EntryType, Header};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------
// Building layers

struct Layer {
    builder: tar::Builder<Vec<u8>>,
}

fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(1_600_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h
}

impl Layer {
    fn new() -> Self {
        Layer {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn dir(&mut self, path: &str) -> &mut Self {
        self.entry(path, header(EntryType::Directory, 0o755, 0), b"")
    }

    fn file(&mut self, path: &str, content: &str) -> &mut Self {
        self.entry(
            path,
            header(EntryType::Regular, 0o644, content.len() as u64),
            content.as_bytes(),
        )
    }

    fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.link(EntryType::Symlink, path, target)
    }

    fn hardlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.link(EntryType::Link, path, target)
    }

    /// Short targets go into the header as they are; long ones into a GNU long link entry.
    fn link(&mut self, kind: EntryType, path: &str, target: &str) -> &mut Self {
        let mut h = header(kind, 0o777, 0);
        if target.len() <= 100 {
            h.set_link_name_literal(target).unwrap();
            self.entry(path, h, b"")
        } else {
            self.builder.append_link(&mut h, path, target).unwrap();
            self
        }
    }

    /// Appends `h` with `path` written into the name field as it is (no checks, so hostile
    /// names get through; GNU long names for longer ones).
    fn entry(&mut self, path: &str, mut h: Header, data: &[u8]) -> &mut Self {
        if path.len() <= 100 {
            h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            self.builder.append(&h, data).unwrap();
        } else {
            self.builder.append_data(&mut h, path, data).unwrap();
        }
        self
    }

    fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        self.builder
            .append_pax_extensions(records.iter().copied())
            .unwrap();
        self
    }

    fn bytes(&mut self) -> Vec<u8> {
        let builder = std::mem::replace(&mut self.builder, tar::Builder::new(Vec::new()));
        builder.into_inner().unwrap()
    }
}

struct Work {
    dir: TempDir,
    layers: Vec<LayerSource>,
}

impl Work {
    fn new() -> Self {
        Work {
            dir: TempDir::new().unwrap(),
            layers: Vec::new(),
        }
    }

    fn add(&mut self, layer: &mut Layer, compression: LayerCompression) -> &mut Self {
        let tar = layer.bytes();
        let path = self.dir.path().join(format!("layer{}", self.layers.len()));
        let blob = match compression {
            LayerCompression::None => tar,
            LayerCompression::Gzip => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&tar).unwrap();
                gz.finish().unwrap()
            }
            LayerCompression::Zstd => zstd::encode_all(&tar[..], 3).unwrap(),
        };
        fs::write(&path, blob).unwrap();
        self.layers.push(LayerSource { path, compression });
        self
    }

    fn limits(&self) -> ExportLimits {
        ExportLimits {
            spool_dir: self.dir.path().to_path_buf(),
            ..ExportLimits::default()
        }
    }

    fn try_export(&self) -> Result<Vec<u8>, RootfsError> {
        let mut out = Vec::new();
        let report = export(&self.layers, &mut out, &self.limits())?;
        assert_eq!(report.bytes, out.len() as u64);
        Ok(out)
    }

    fn export(&self) -> Vec<u8> {
        self.try_export().unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// Reading the output

#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    path: String,
    kind: EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    uname: String,
    gname: String,
    mtime: u64,
    link: Option<String>,
    device: Option<(u32, u32)>,
    content: Vec<u8>,
    pax: Vec<(String, Vec<u8>)>,
}

fn list(tar: &[u8]) -> Vec<Listed> {
    let mut archive = tar::Archive::new(tar);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let pax = entry
            .pax_extensions()
            .unwrap()
            .map(|records| {
                records
                    .map(|r| {
                        let r = r.unwrap();
                        (r.key().unwrap().to_string(), r.value_bytes().to_vec())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let h = entry.header().clone();
        let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8(l.into_owned()).unwrap());
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        let kind = h.entry_type();
        out.push(Listed {
            path,
            kind,
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            uname: h.username().unwrap().unwrap_or_default().to_string(),
            gname: h.groupname().unwrap().unwrap_or_default().to_string(),
            mtime: h.mtime().unwrap(),
            link,
            device: matches!(kind, EntryType::Char | EntryType::Block).then(|| {
                (
                    h.device_major().unwrap().unwrap(),
                    h.device_minor().unwrap().unwrap(),
                )
            }),
            content,
            pax,
        });
    }
    out
}

fn paths(listed: &[Listed]) -> Vec<&str> {
    listed.iter().map(|l| l.path.as_str()).collect()
}

fn find<'a>(listed: &'a [Listed], path: &str) -> &'a Listed {
    listed
        .iter()
        .find(|l| l.path == path)
        .unwrap_or_else(|| panic!("no `{path}` in {:?}", paths(listed)))
}

/// Extracts `tar` with GNU tar (`-p`: modes as archived) into a new directory.
fn gnu_extract(tar: &[u8]) -> TempDir {
    let dir = TempDir::new().unwrap();
    let archive = dir.path().join("out.tar");
    fs::write(&archive, tar).unwrap();
    let root = dir.path().join("root");
    fs::create_dir(&root).unwrap();
    gnu_tar(&[
        "-xpf",
        archive.to_str().unwrap(),
        "-C",
        root.to_str().unwrap(),
    ]);
    dir
}

fn gnu_tar(args: &[&str]) -> String {
    let out = Command::new("tar").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What a directory tree holds: relative path → (kind and mode, content or link target).
fn snapshot(root: &Path) -> BTreeMap<String, (String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (String, Vec<u8>)>) {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for path in names {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(
                    rel,
                    (
                        "symlink".into(),
                        target.to_string_lossy().as_bytes().to_vec(),
                    ),
                );
            } else if meta.is_dir() {
                out.insert(rel, (format!("dir {mode:o}"), Vec::new()));
                walk(root, &path, out);
            } else {
                out.insert(rel, (format!("file {mode:o}"), fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The path as a sort key: `/` before every other byte, so component by component.
fn sort_key(path: &str) -> Vec<u8> {
    path.trim_end_matches('/')
        .bytes()
        .map(|b| if b == b'/' { 0 } else { b })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Whiteouts and replacement

#[test]
fn whiteout_removes_the_file_of_the_lower_layer() {
    let mut work = Work::new();
    work.add(
        Layer::new()
            .dir("etc/")
            .file("etc/a", "a")
            .file("etc/b", "b")
            .dir("usr/")
            .dir("usr/bin/")
            .file("usr/bin/x", "x"),
        LayerCompression::Gzip,
    );
    work.add(Layer::new().file("etc/.wh.a", ""), LayerCompression::None);
    let listed = list(&work.export());
    assert_eq!(
        paths(&listed),
        ["etc/", "etc/b", "usr/", "usr/bin/", "usr/bin/x"]
    );
    assert_eq!(find(&listed, "etc/b").content, b"b");
}

#[test]
fn whiteout_of_a_directory_removes_its_subtree_but_not_what_its_own_layer_adds() {
    let mut work = Work::new();
    work.add(
        Layer::new()
            .file("srv/old/1", "1")
            .file("srv/old/deep/2", "2")
            .file("srv/keep", "k"),
        LayerCompression::Zstd,
    );
    // The layer re-adds `srv/old/new` after hiding `srv/old`, and `srv/again` before hiding
    // it: what a layer has itself survives its own whiteouts, in any order.
    work.add(
        Layer::new()
            .file("srv/.wh.old", "")
            .file("srv/old/new", "n")
            .file("srv/again", "A")
            .file("srv/.wh.again", ""),
        LayerCompression::Gzip,
    );
    let listed = list(&work.export());
    assert_eq!(
        paths(&listed),
        ["srv/", "srv/again", "srv/keep", "srv/old/", "srv/old/new"]
    );
    assert_eq!(find(&listed, "srv/again").content, b"A");
}

#[test]
fn opaque_whiteout_hides_everything_lower_in_the_directory() {
    for marker_first in [true, false] {
        let mut work = Work::new();
        work.add(
            Layer::new()
                .dir("opt/")
                .dir("opt/app/")
                .file("opt/app/1", "1")
                .file("opt/app/2", "2")
                .file("opt/app/sub/x", "x")
                .file("opt/other", "o"),
            LayerCompression::Zstd,
        );
        let mut upper = Layer::new();
        if marker_first {
            upper
                .file("opt/app/.wh..wh..opq", "")
                .file("opt/app/3", "3");
        } else {
            upper
                .file("opt/app/3", "3")
                .file("opt/app/.wh..wh..opq", "");
        }
        work.add(&mut upper, LayerCompression::Gzip);
        let listed = list(&work.export());
        assert_eq!(
            paths(&listed),
            ["opt/", "opt/app/", "opt/app/3", "opt/other"],
            "marker first: {marker_first}"
        );
    }
}

#[test]
fn a_file_replaces_a_directory_and_a_directory_replaces_a_file() {
    let mut work = Work::new();
    work.add(
        Layer::new()
            .dir("a/")
            .file("a/x", "x")
            .file("a/y/z", "z")
            .file("b", "was a file")
            .file("c/keep", "k"),
        LayerCompression::None,
    );
    let mut dir = header(EntryType::Directory, 0o700, 0);
    dir.set_uid(7);
    work.add(
        Layer::new()
            .file("a", "now a file")
            .dir("b/")
            .file("b/inside", "i")
            .entry("c/", dir, b"")
            .file("c/new", "n"),
        LayerCompression::Gzip,
    );
    let listed = list(&work.export());
    assert_eq!(
        paths(&listed),
        ["a", "b/", "b/inside", "c/", "c/keep", "c/new"]
    );
    assert_eq!(find(&listed, "a").content, b"now a file");
    assert_eq!(find(&listed, "b/").kind, EntryType::Directory);
    // A directory over a directory merges and takes the upper metadata.
    assert_eq!(find(&listed, "c/").mode, 0o700);
    assert_eq!(find(&listed, "c/").uid, 7);
}

#[test]
fn an_entry_below_a_symlink_replaces_it_with_a_directory() {
    let mut work = Work::new();
    work.add(
        Layer::new()
            .symlink("lib", "/usr/lib")
            .file("usr/lib/libc.so", "libc"),
        LayerCompression::None,
    );
    work.add(
        Layer::new().file("lib/extra.so", "extra"),
        LayerCompression::None,
    );
    let listed = list(&work.export());
    assert_eq!(
        paths(&listed),
        [
            "lib/",
            "lib/extra.so",
            "usr/",
            "usr/lib/",
            "usr/lib/libc.so"
        ]
    );
    let lib = find(&listed, "lib/");
    assert_eq!((lib.mode, lib.uid, lib.mtime), (0o755, 0, 0));
}

#[test]
fn implicit_directories_are_root_owned_0755_at_time_zero() {
    let mut work = Work::new();
    let mut h = header(EntryType::Regular, 0o600, 1);
    h.set_uid(1000);
    work.add(
        Layer::new().entry("./a/b/c", h, b"c"),
        LayerCompression::None,
    );
    let listed = list(&work.export());
    assert_eq!(paths(&listed), ["a/", "a/b/", "a/b/c"]);
    for dir in ["a/", "a/b/"] {
        let d = find(&listed, dir);
        assert_eq!(
            (d.kind, d.mode, d.uid, d.gid, d.mtime, d.uname.as_str()),
            (EntryType::Directory, 0o755, 0, 0, 0, "")
        );
    }
    assert_eq!(find(&listed, "a/b/c").uid, 1000);
}

// ---------------------------------------------------------------------------------------
// Links

#[test]
fn symlinks_are_kept_verbatim_absolute_ones_included() {
    let mut work = Work::new();
    let long_target = format!("/{}", "t".repeat(150));
    work.add(
        Layer::new()
            .file("usr/bin/busybox", "bb")
            .symlink("bin/sh", "/usr/bin/busybox")
            .symlink("bin/odd", "./../a//b/")
            .symlink("bin/long", &long_target),
        LayerCompression::Gzip,
    );
    let listed = list(&work.export());
    let link = |p: &str| {
        let l = find(&listed, p);
        assert_eq!(l.kind, EntryType::Symlink);
        l.link.clone().unwrap()
    };
    assert_eq!(link("bin/sh"), "/usr/bin/busybox");
    assert_eq!(link("bin/odd"), "./../a//b/");
    assert_eq!(link("bin/long"), long_target);
    let dir = gnu_extract(&work.export());
    let sh = fs::read_link(dir.path().join("root/bin/sh")).unwrap();
    assert_eq!(sh, Path::new("/usr/bin/busybox"));
}

#[test]
fn a_hardlink_follows_its_target_replaced_in_a_later_layer() {
    let mut work = Work::new();
    // `bin/sh` sorts before its target, `usr/bin/zz` after it.
    work.add(
        Layer::new()
            .file("usr/bin/busybox", "version 1")
            .hardlink("bin/sh", "usr/bin/busybox")
            .hardlink("usr/bin/zz", "./usr/bin/busybox"),
        LayerCompression::Gzip,
    );
    work.add(
        Layer::new().file("usr/bin/busybox", "version 2"),
        LayerCompression::Zstd,
    );
    let tar = work.export();
    let listed = list(&tar);
    // Written in full at the first path, a link to it at the others.
    let sh = find(&listed, "bin/sh");
    assert_eq!(
        (sh.kind, sh.content.as_slice()),
        (EntryType::Regular, &b"version 2"[..])
    );
    for other in ["usr/bin/busybox", "usr/bin/zz"] {
        let l = find(&listed, other);
        assert_eq!(l.kind, EntryType::Link, "{other}");
        assert_eq!(l.link.as_deref(), Some("bin/sh"));
    }
    let dir = gnu_extract(&tar);
    let root = dir.path().join("root");
    let ino = |p: &str| fs::metadata(root.join(p)).unwrap().ino();
    for p in ["bin/sh", "usr/bin/busybox", "usr/bin/zz"] {
        assert_eq!(fs::read(root.join(p)).unwrap(), b"version 2", "{p}");
        assert_eq!(ino(p), ino("usr/bin/busybox"));
    }
}

#[test]
fn a_hardlink_keeps_its_content_when_its_target_is_whited_out_or_replaced() {
    let mut work = Work::new();
    work.add(
        Layer::new()
            .file("a/data", "payload")
            .hardlink("a/link", "a/data")
            .hardlink("a/link2", "a/data")
            .file("b/data", "b payload")
            .hardlink("b/link", "b/data")
            .file("c/data", "c payload")
            .hardlink("c/link", "c/data"),
        LayerCompression::Gzip,
    );
    work.add(
        Layer::new()
            .file("a/.wh.data", "")
            .symlink("b/data", "/elsewhere")
            .file("c/data/inside", "now a directory"),
        LayerCompression::None,
    );
    let tar = work.export();
    let listed = list(&tar);
    assert_eq!(find(&listed, "a/link").kind, EntryType::Regular);
    assert_eq!(find(&listed, "a/link2").link.as_deref(), Some("a/link"));
    assert!(!paths(&listed).contains(&"a/data"));
    let dir = gnu_extract(&tar);
    let root = dir.path().join("root");
    assert!(!root.join("a/data").exists());
    assert_eq!(fs::read(root.join("a/link")).unwrap(), b"payload");
    assert_eq!(fs::read(root.join("a/link2")).unwrap(), b"payload");
    let ino = |p: &str| fs::metadata(root.join(p)).unwrap().ino();
    assert_eq!(ino("a/link"), ino("a/link2"));
    assert_eq!(fs::read(root.join("b/link")).unwrap(), b"b payload");
    assert_eq!(
        fs::read_link(root.join("b/data")).unwrap(),
        Path::new("/elsewhere")
    );
    assert_eq!(fs::read(root.join("c/link")).unwrap(), b"c payload");
    assert_eq!(
        fs::read(root.join("c/data/inside")).unwrap(),
        b"now a directory"
    );
}

#[test]
fn a_hardlink_to_a_hardlink_ends_at_the_same_file() {
    let mut work = Work::new();
    work.add(
        Layer::new()
            .file("x/file", "content")
            .hardlink("x/one", "x/file"),
        LayerCompression::None,
    );
    // The second link names the first one; then the file itself is whited out.
    work.add(
        Layer::new().hardlink("x/two", "x/one"),
        LayerCompression::None,
    );
    work.add(Layer::new().file("x/.wh.file", ""), LayerCompression::None);
    let listed = list(&work.export());
    assert_eq!(paths(&listed), ["x/", "x/one", "x/two"]);
    assert_eq!(find(&listed, "x/one").content, b"content");
    assert_eq!(find(&listed, "x/two").link.as_deref(), Some("x/one"));
}

#[test]
fn hardlinks_to_nothing_or_to_a_directory_are_refused() {
    for (target, expected) in [
        ("missing", "hard link to `missing`"),
        ("d", "hard link to the directory `d`"),
        ("../x", "hard link to `../x`"),
    ] {
        let mut work = Work::new();
        work.add(
            Layer::new().dir("d/").hardlink("l", target),
            LayerCompression::None,
        );
        let error = work.try_export().unwrap_err();
        assert!(
            matches!(&error, RootfsError::Entry { layer: 0, entry, .. } if entry == "l"),
            "{error:?}"
        );
        assert!(error.to_string().contains(expected), "{error}");
    }
}

// ---------------------------------------------------------------------------------------
// Metadata

#[test]
fn devices_fifos_owners_and_modes_are_kept() {
    let mut work = Work::new();
    let mut null = header(EntryType::Char, 0o666, 0);
    null.set_device_major(1).unwrap();
    null.set_device_minor(3).unwrap();
    let mut sda = header(EntryType::Block, 0o660, 0);
    sda.set_device_major(8).unwrap();
    sda.set_device_minor(0).unwrap();
    sda.set_gid(6);
    let mut owned = header(EntryType::Regular, 0o4750, 2);
    owned.set_uid(1000);
    owned.set_gid(1000);
    owned.set_username("user").unwrap();
    owned.set_groupname("users").unwrap();
    let mut sticky = header(EntryType::Directory, 0o1777, 0);
    sticky.set_mtime(1_234_567);
    work.add(
        Layer::new()
            .entry("dev/null", null, b"")
            .entry("dev/sda", sda, b"")
            .entry("run/fifo", header(EntryType::Fifo, 0o600, 0), b"")
            .entry("home/user/tool", owned, b"hi")
            .entry("tmp/", sticky, b""),
        LayerCompression::Zstd,
    );
    let listed = list(&work.export());
    let null = find(&listed, "dev/null");
    assert_eq!(
        (null.kind, null.mode, null.device),
        (EntryType::Char, 0o666, Some((1, 3)))
    );
    let sda = find(&listed, "dev/sda");
    assert_eq!(
        (sda.kind, sda.gid, sda.device),
        (EntryType::Block, 6, Some((8, 0)))
    );
    assert_eq!(find(&listed, "run/fifo").kind, EntryType::Fifo);
    let tool = find(&listed, "home/user/tool");
    assert_eq!(
        (
            tool.mode,
            tool.uid,
            tool.gid,
            tool.uname.as_str(),
            tool.gname.as_str()
        ),
        (0o4750, 1000, 1000, "user", "users")
    );
    assert_eq!(tool.mtime, 1_600_000_000);
    let tmp = find(&listed, "tmp/");
    assert_eq!((tmp.mode, tmp.mtime), (0o1777, 1_234_567));
}

#[test]
fn blank_numeric_fields_read_as_zero() {
    // Some writers leave unused numeric fields as NUL bytes; the tar crate alone refuses them.
    let mut blank = Header::new_gnu();
    blank.set_entry_type(EntryType::Regular);
    blank.set_size(1);
    blank.as_old_mut().mtime = [0; 12];
    assert!(blank.uid().is_err());
    let mut work = Work::new();
    work.add(Layer::new().entry("f", blank, b"x"), LayerCompression::None);
    let f = &list(&work.export())[0];
    assert_eq!((f.mode, f.uid, f.gid, f.mtime), (0, 0, 0, 0));
}

#[test]
fn pax_metadata_is_read_and_xattrs_are_kept() {
    let mut work = Work::new();
    let long_owner = "o".repeat(40);
    work.add(
        Layer::new()
            .pax(&[
                ("uid", b"3000000"),
                ("mtime", b"1700000000.25"),
                ("uname", long_owner.as_bytes()),
                ("SCHILY.xattr.security.capability", b"\x01\x00\x00\x02"),
                ("SCHILY.xattr.user.note", b"hello"),
                ("atime", b"1.5"),
            ])
            .file("bin/ping", "ping")
            .file("bin/plain", "plain"),
        LayerCompression::Gzip,
    );
    let tar = work.export();
    let listed = list(&tar);
    let ping = find(&listed, "bin/ping");
    assert_eq!(ping.uid, 3_000_000);
    assert_eq!(ping.mtime, 1_700_000_000);
    assert_eq!(ping.content, b"ping");
    let pax: BTreeMap<_, _> = ping.pax.iter().cloned().collect();
    assert_eq!(
        pax.get("SCHILY.xattr.security.capability")
            .map(Vec::as_slice),
        Some(&b"\x01\x00\x00\x02"[..])
    );
    assert_eq!(
        pax.get("SCHILY.xattr.user.note").map(Vec::as_slice),
        Some(&b"hello"[..])
    );
    assert_eq!(
        pax.get("uname").map(Vec::as_slice),
        Some(long_owner.as_bytes())
    );
    assert_eq!(pax.get("uid").map(Vec::as_slice), Some(&b"3000000"[..]));
    assert!(!pax.contains_key("atime"));
    assert!(find(&listed, "bin/plain").pax.is_empty());
    // GNU tar reads it all: listing shows the long owner from the pax record.
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("out.tar");
    fs::write(&path, &tar).unwrap();
    let verbose = gnu_tar(&["--numeric-owner", "-tvf", path.to_str().unwrap()]);
    assert!(verbose.contains("3000000/0"), "{verbose}");
    let names = gnu_tar(&["-tvf", path.to_str().unwrap()]);
    assert!(names.contains(&long_owner), "{names}");
}

#[test]
fn long_names_survive_gnu_tar() {
    let mut work = Work::new();
    let deep = format!("{}/{}", "d".repeat(120), "f".repeat(120));
    let target = format!("../{}", "t".repeat(130));
    work.add(
        Layer::new()
            .file(&deep, "deep")
            .symlink("s/long", &target)
            .hardlink(&format!("{deep}-link"), &deep),
        LayerCompression::None,
    );
    let tar = work.export();
    let listed = list(&tar);
    assert_eq!(find(&listed, &deep).content, b"deep");
    assert_eq!(
        find(&listed, &format!("{deep}-link")).link.as_deref(),
        Some(deep.as_str())
    );
    let dir = gnu_extract(&tar);
    let root = dir.path().join("root");
    assert_eq!(fs::read(root.join(&deep)).unwrap(), b"deep");
    assert_eq!(
        fs::read_link(root.join("s/long")).unwrap(),
        PathBuf::from(&target)
    );
    assert_eq!(
        fs::metadata(root.join(format!("{deep}-link")))
            .unwrap()
            .ino(),
        fs::metadata(root.join(&deep)).unwrap().ino()
    );
}

// ---------------------------------------------------------------------------------------
// Output form

#[test]
fn output_is_reproducible_sorted_and_relative() {
    let build = || {
        let mut work = Work::new();
        work.add(
            Layer::new()
                .dir("./")
                .dir("./usr/")
                .file("./usr/b", "b")
                .file("./usr/a-b", "ab")
                .file("./usr/a/z", "z")
                .file("./usr/a.b", "a.b")
                .symlink("./bin", "usr/bin")
                .file("./etc/os-release", "ID=test\n"),
            LayerCompression::Gzip,
        );
        work.add(
            Layer::new()
                .file("/usr/a/y", "y")
                .file("zzz", "last")
                .file("etc/.wh.os-release", "")
                .file("etc/hostname", "box"),
            LayerCompression::Zstd,
        );
        work.export()
    };
    let first = build();
    let second = build();
    assert!(first == second, "two exports of the same layers differ");
    let listed = list(&first);
    assert_eq!(
        paths(&listed),
        [
            "bin",
            "etc/",
            "etc/hostname",
            "usr/",
            "usr/a/",
            "usr/a/y",
            "usr/a/z",
            "usr/a-b",
            "usr/a.b",
            "usr/b",
            "zzz"
        ]
    );
    let keys: Vec<Vec<u8>> = listed.iter().map(|l| sort_key(&l.path)).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    for l in &listed {
        assert!(
            !l.path.starts_with('/') && !l.path.starts_with("./"),
            "{}",
            l.path
        );
        assert_eq!(
            l.kind == EntryType::Directory,
            l.path.ends_with('/'),
            "{}",
            l.path
        );
        if let Some((parent, _)) = l.path.trim_end_matches('/').rsplit_once('/') {
            let parent_at = listed.iter().position(|p| p.path == format!("{parent}/"));
            let at = listed.iter().position(|p| p.path == l.path);
            assert!(parent_at < at, "{} before its parent", l.path);
        }
    }
    // The stream ends with two zero blocks and is a whole number of blocks.
    assert_eq!(first.len() % 512, 0);
    assert!(first[first.len() - 1024..].iter().all(|&b| b == 0));
}

#[test]
fn report_counts_entries_and_bytes() {
    let mut work = Work::new();
    work.add(Layer::new().file("a/b", "1234"), LayerCompression::None);
    let mut out = Vec::new();
    let report = export(&work.layers, &mut out, &work.limits()).unwrap();
    assert_eq!(
        report,
        ExportReport {
            entries: 2,
            bytes: out.len() as u64
        }
    );
    // Two headers, one data block, two end blocks.
    assert_eq!(out.len(), 5 * 512);
}

// ---------------------------------------------------------------------------------------
// Hostile layers

#[test]
fn escaping_names_are_refused_with_the_layer_and_entry_named() {
    for (name, problem) in [
        ("../etc/passwd", EntryProblem::ParentDir),
        ("usr/../../etc/passwd", EntryProblem::ParentDir),
        ("//etc/shadow", EntryProblem::AbsolutePath),
        (".//etc/shadow", EntryProblem::AbsolutePath),
    ] {
        let mut work = Work::new();
        work.add(Layer::new().file("ok", "ok"), LayerCompression::None);
        work.add(
            Layer::new().file("fine", "").file(name, "evil"),
            LayerCompression::Gzip,
        );
        let error = work.try_export().unwrap_err();
        match &error {
            RootfsError::Entry {
                layer,
                path,
                entry,
                problem: p,
            } => {
                assert_eq!(*layer, 1);
                assert_eq!(path, &work.layers[1].path);
                assert_eq!(entry, name);
                assert_eq!(p, &problem);
            }
            other => panic!("{name}: {other:?}"),
        }
        let message = error.to_string();
        assert!(message.starts_with("layer 1 (`"), "{message}");
        assert!(message.contains(&format!("entry `{name}`")), "{message}");
    }
}

#[test]
fn one_leading_slash_or_dot_slash_is_removed() {
    let mut work = Work::new();
    work.add(
        Layer::new()
            .file("/etc/a", "a")
            .file("./etc/b", "b")
            .file("etc//c", "c"),
        LayerCompression::None,
    );
    assert_eq!(
        paths(&list(&work.export())),
        ["etc/", "etc/a", "etc/b", "etc/c"]
    );
}

#[test]
fn oversized_headers_and_too_many_entries_are_refused() {
    let mut work = Work::new();
    let huge = vec![b'x'; 64 * 1024];
    work.add(
        Layer::new()
            .file("first", "")
            .pax(&[("SCHILY.xattr.user.big", &huge)])
            .file("second", ""),
        LayerCompression::None,
    );
    let mut limits = work.limits();
    limits.max_header_bytes_per_entry = 16 * 1024;
    let error = export(&work.layers, io::sink(), &limits).unwrap_err();
    assert!(
        matches!(&error, RootfsError::HeaderTooLarge { layer: 0, after: Some(a), limit: 16384, .. } if a == "first"),
        "{error:?}"
    );
    let mut limits = work.limits();
    limits.max_entries = 1;
    let error = export(&work.layers, io::sink(), &limits).unwrap_err();
    assert!(
        matches!(
            &error,
            RootfsError::TooManyEntries {
                layer: 0,
                limit: 1,
                ..
            }
        ),
        "{error:?}"
    );
    // Implicit directories count too.
    let mut work = Work::new();
    work.add(Layer::new().file("a/b/c/d", ""), LayerCompression::None);
    let mut limits = work.limits();
    limits.max_entries = 3;
    assert!(matches!(
        export(&work.layers, io::sink(), &limits),
        Err(RootfsError::TooManyEntries { .. })
    ));
}

#[test]
fn corrupt_and_mislabelled_layers_name_the_layer() {
    let mut work = Work::new();
    work.add(Layer::new().file("a", "a"), LayerCompression::None);
    // Declared gzip, stored plain.
    let tar = Layer::new().file("b", "b").bytes();
    let path = work.dir.path().join("mislabelled");
    fs::write(&path, tar).unwrap();
    work.layers.push(LayerSource {
        path: path.clone(),
        compression: LayerCompression::Gzip,
    });
    let error = work.try_export().unwrap_err();
    assert!(
        matches!(&error, RootfsError::Read { layer: 1, path: p, .. } if *p == path),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Size

/// Deterministic pseudo-random bytes (xorshift), so compression cannot hide the size.
struct Noise {
    state: u64,
    left: u64,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(usize::try_from(self.left).unwrap()) / 8 * 8;
        let n = if n == 0 {
            buf.len().min(usize::try_from(self.left).unwrap())
        } else {
            n
        };
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[test]
fn a_big_layer_streams_through_the_spool() {
    const SIZE: u64 = 50 << 20;
    let work_dir = TempDir::new().unwrap();
    let lower = work_dir.path().join("lower.tar");
    {
        let mut builder = tar::Builder::new(io::BufWriter::new(fs::File::create(&lower).unwrap()));
        for (name, seed) in [("big/replaced", 1), ("big/kept", 2)] {
            let mut h = header(EntryType::Regular, 0o644, SIZE);
            builder
                .append_data(
                    &mut h,
                    name,
                    Noise {
                        state: seed,
                        left: SIZE,
                    },
                )
                .unwrap();
        }
        builder.into_inner().unwrap().flush().unwrap();
    }
    let mut upper = Layer::new();
    upper.file("big/replaced", "small now");
    let upper_path = work_dir.path().join("upper.tar.zst");
    fs::write(
        &upper_path,
        zstd::encode_all(&upper.bytes()[..], 1).unwrap(),
    )
    .unwrap();
    let layers = [
        LayerSource {
            path: lower,
            compression: LayerCompression::None,
        },
        LayerSource {
            path: upper_path,
            compression: LayerCompression::Zstd,
        },
    ];
    let out_path = work_dir.path().join("rootfs.tar");
    let limits = ExportLimits {
        spool_dir: work_dir.path().to_path_buf(),
        ..ExportLimits::default()
    };
    let report = export(
        &layers,
        io::BufWriter::new(fs::File::create(&out_path).unwrap()),
        &limits,
    )
    .unwrap();
    assert_eq!(report.entries, 3);
    assert_eq!(report.bytes, fs::metadata(&out_path).unwrap().len());
    // Read back as a stream and compare with the generator, chunk by chunk.
    let mut archive = tar::Archive::new(io::BufReader::new(fs::File::open(&out_path).unwrap()));
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        if path == "big/kept" {
            assert_eq!(entry.size(), SIZE);
            let mut expected = Noise {
                state: 2,
                left: SIZE,
            };
            let (mut a, mut b) = (vec![0; 1 << 16], vec![0; 1 << 16]);
            loop {
                let n = entry.read(&mut a).unwrap();
                if n == 0 {
                    break;
                }
                expected.read_exact(&mut b[..n]).unwrap();
                assert!(a[..n] == b[..n], "content differs");
            }
            assert_eq!(expected.left, 0);
        } else if path == "big/replaced" {
            let mut s = String::new();
            entry.read_to_string(&mut s).unwrap();
            assert_eq!(s, "small now");
        }
        seen.push(path);
    }
    assert_eq!(seen, ["big/", "big/kept", "big/replaced"]);
    // The spool file is gone: only the inputs and the output are left.
    let mut left: Vec<_> = fs::read_dir(work_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["lower.tar", "rootfs.tar", "upper.tar.zst"]);
}

// ---------------------------------------------------------------------------------------
// Against layers applied by hand

/// Applies the layers the slow way on a real directory: each layer extracted by GNU tar into
/// a directory of its own, its whiteouts applied to the merged tree, then its other entries
/// copied over (a non-directory replaces whatever is there; directories merge).
fn apply_by_hand(layers: &[LayerSource], merged: &Path) {
    fn copy_over(from: &Path, to: &Path) {
        let mut names: Vec<_> = fs::read_dir(from)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for src in names {
            let name = src.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(".wh.") {
                continue;
            }
            let dst = to.join(&name);
            let meta = fs::symlink_metadata(&src).unwrap();
            let existing = fs::symlink_metadata(&dst).ok();
            if meta.is_dir() {
                if existing.as_ref().is_some_and(|e| !e.is_dir()) {
                    fs::remove_file(&dst).unwrap();
                }
                if !dst.exists() {
                    fs::create_dir(&dst).unwrap();
                }
                copy_over(&src, &dst);
                fs::set_permissions(&dst, meta.permissions()).unwrap();
                continue;
            }
            match existing {
                Some(e) if e.is_dir() => fs::remove_dir_all(&dst).unwrap(),
                Some(_) => fs::remove_file(&dst).unwrap(),
                None => {}
            }
            if meta.file_type().is_symlink() {
                std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
            } else {
                fs::copy(&src, &dst).unwrap();
            }
        }
    }
    fn whiteouts(layer: &Path, rel: &Path, merged: &Path) {
        let mut names: Vec<_> = fs::read_dir(layer.join(rel))
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        names.sort_by_key(fs::DirEntry::file_name);
        for entry in names {
            let name = entry.file_name().to_string_lossy().into_owned();
            let target_dir = merged.join(rel);
            if name == ".wh..wh..opq" {
                if target_dir.is_dir() {
                    for child in fs::read_dir(&target_dir).unwrap() {
                        let child = child.unwrap().path();
                        if fs::symlink_metadata(&child).unwrap().is_dir() {
                            fs::remove_dir_all(&child).unwrap();
                        } else {
                            fs::remove_file(&child).unwrap();
                        }
                    }
                }
            } else if let Some(hidden) = name.strip_prefix(".wh.") {
                let target = target_dir.join(hidden);
                match fs::symlink_metadata(&target) {
                    Ok(m) if m.is_dir() => fs::remove_dir_all(&target).unwrap(),
                    Ok(_) => fs::remove_file(&target).unwrap(),
                    Err(_) => {}
                }
            } else if entry.file_type().unwrap().is_dir() {
                whiteouts(layer, &rel.join(&name), merged);
            }
        }
    }
    for (i, layer) in layers.iter().enumerate() {
        let plain = merged.parent().unwrap().join(format!("plain{i}.tar"));
        let mut decoded = Vec::new();
        let mut file = fs::File::open(&layer.path).unwrap();
        match layer.compression {
            LayerCompression::None => file.read_to_end(&mut decoded).map(drop).unwrap(),
            LayerCompression::Gzip => flate2::read::MultiGzDecoder::new(file)
                .read_to_end(&mut decoded)
                .map(drop)
                .unwrap(),
            LayerCompression::Zstd => decoded = zstd::decode_all(file).unwrap(),
        }
        fs::write(&plain, decoded).unwrap();
        let dir = merged.parent().unwrap().join(format!("layer{i}"));
        fs::create_dir(&dir).unwrap();
        gnu_tar(&["-xpf", plain.to_str().unwrap(), "-C", dir.to_str().unwrap()]);
        whiteouts(&dir, Path::new(""), merged);
        copy_over(&dir, merged);
    }
}

#[test]
fn extracting_the_export_gives_the_tree_of_the_layers_applied_by_hand() {
    let mut work = Work::new();
    let mut exec = header(EntryType::Regular, 0o755, 3);
    exec.set_uid(0);
    work.add(
        Layer::new()
            .dir("bin/")
            .entry("bin/tool", exec, b"elf")
            .symlink("bin/sh", "/bin/tool")
            .dir("etc/")
            .file("etc/passwd", "root:x:0:0\n")
            .file("etc/group", "root:x:0:\n")
            .file("etc/ssl/certs/ca.pem", "cert")
            .file("var/lib/state/1", "1")
            .file("var/lib/state/2", "2")
            .file("opt/x", "file becomes dir")
            .dir("srv/")
            .file("srv/data/a", "dir becomes file")
            .file("home/user/.profile", "PS1=$")
            .hardlink("bin/tool-link", "bin/tool"),
        LayerCompression::Gzip,
    );
    work.add(
        Layer::new()
            .file("etc/.wh.group", "")
            .file("etc/ssl/.wh..wh..opq", "")
            .file("etc/ssl/certs2/new.pem", "new cert")
            .file("opt/x/inside", "now inside a dir")
            .file("srv/data", "now a file")
            .file("var/lib/state/3", "3")
            .file("home/.wh.user", ""),
        LayerCompression::Zstd,
    );
    work.add(
        Layer::new()
            .file("var/lib/.wh.state", "")
            .file("var/lib/state/fresh", "fresh")
            .file("etc/passwd", "root:x:0:0\nuser:x:1000:1000\n")
            .symlink("etc/mtab", "/proc/mounts"),
        LayerCompression::None,
    );
    let exported = gnu_extract(&work.export());
    let by_hand = TempDir::new().unwrap();
    let merged = by_hand.path().join("merged");
    fs::create_dir(&merged).unwrap();
    apply_by_hand(&work.layers, &merged);
    let ours = snapshot(&exported.path().join("root"));
    let theirs = snapshot(&merged);
    assert_eq!(ours, theirs);
    // A spot check that the comparison saw the interesting parts.
    assert!(ours.contains_key("etc/ssl/certs2/new.pem"));
    assert!(!ours.contains_key("etc/ssl/certs"));
    assert!(!ours.contains_key("etc/group"));
    assert!(!ours.contains_key("home/user"));
    assert_eq!(ours["var/lib/state/fresh"].1, b"fresh");
    assert!(!ours.contains_key("var/lib/state/1"));
}

#[test]
fn files_are_the_regular_files_of_the_export_read_in_one_pass() {
    let mut work = Work::new();
    work.add(
        Layer::new()
            .file("usr/bin/busybox", "version 1")
            .hardlink("bin/sh", "usr/bin/busybox")
            .file("a/data", "payload")
            .hardlink("a/link", "a/data")
            .file("gone/file", "removed")
            .file("opaque/old", "hidden")
            .symlink("lib", "usr/lib"),
        LayerCompression::Gzip,
    );
    work.add(
        Layer::new()
            .file("usr/bin/busybox", "version 2")
            .file("a/.wh.data", "")
            .file(".wh.gone", "")
            .file("opaque/.wh..wh..opq", "")
            .file("opaque/new", "kept"),
        LayerCompression::Zstd,
    );
    let mut reads = 0;
    let found = files(&work.layers, &work.limits(), |reader| {
        reads += 1;
        let mut content = Vec::new();
        reader.read_to_end(&mut content)?;
        Ok(String::from_utf8(content).unwrap())
    })
    .unwrap();
    // Every regular file entry was read once, replaced and removed ones too.
    assert_eq!(reads, 6);
    let seen: Vec<(&str, &str, u64)> = found
        .iter()
        .map(|f| (f.path.as_str(), f.value.as_str(), f.size))
        .collect();
    assert_eq!(
        seen,
        [
            ("a/link", "payload", 7),
            ("bin/sh", "version 2", 9),
            ("opaque/new", "kept", 4),
            ("usr/bin/busybox", "version 2", 9),
        ]
    );
    // The export agrees: the same regular files (written once, then hard links to them).
    let exported: Vec<String> = list(&work.export())
        .into_iter()
        .filter(|l| matches!(l.kind, EntryType::Regular | EntryType::Link))
        .map(|l| l.path)
        .collect();
    assert_eq!(
        exported,
        ["a/link", "bin/sh", "opaque/new", "usr/bin/busybox"]
    );
    assert!(found.iter().all(|f| f.mode == 0o644));
}

#[test]
fn files_refuses_a_consumer_that_stops_early() {
    let mut work = Work::new();
    work.add(Layer::new().file("f", "0123456789"), LayerCompression::None);
    let err = files(&work.layers, &work.limits(), |reader| {
        let mut two = [0; 2];
        reader.read_exact(&mut two)
    })
    .unwrap_err();
    assert!(err.to_string().contains("`f`"), "{err}");
}
