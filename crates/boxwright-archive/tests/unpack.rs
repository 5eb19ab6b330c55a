//! Unpacking hostile and ordinary archives. Every fixture is built here, with raw tar headers
//! where the tar crate's checked setters would refuse the names, and every test checks that
//! nothing appeared outside the destination.

use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use boxwright_archive::{Format, Limits, Refusal, UnpackError, Unpacked, unpack};
use rstest::rstest;
use tar::{EntryType, Header};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------
// Fixtures

/// One tar entry, written with raw name and link fields.
enum Item<'a> {
    File(&'a str, u32, &'a [u8]),
    Dir(&'a str, u32),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Char(&'a str),
    Block(&'a str),
    Fifo(&'a str),
    /// Any entry type with data.
    Raw(&'a str, EntryType, Vec<u8>),
}

const MTIME: u64 = 1_700_000_000;

fn raw_header(name: &str, kind: EntryType, mode: u32, size: u64, link: &str) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(MTIME);
    let gnu = header.as_gnu_mut().unwrap();
    gnu.name[..name.len()].copy_from_slice(name.as_bytes());
    gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_cksum();
    header
}

fn tar_of(items: &[Item<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for item in items {
        let (header, data): (Header, &[u8]) = match item {
            Item::File(name, mode, data) => (
                raw_header(name, EntryType::Regular, *mode, data.len() as u64, ""),
                data,
            ),
            Item::Dir(name, mode) => (raw_header(name, EntryType::Directory, *mode, 0, ""), &[]),
            Item::Symlink(name, target) => {
                (raw_header(name, EntryType::Symlink, 0o777, 0, target), &[])
            }
            Item::Hardlink(name, target) => {
                (raw_header(name, EntryType::Link, 0o644, 0, target), &[])
            }
            Item::Char(name) => (raw_header(name, EntryType::Char, 0o666, 0, ""), &[]),
            Item::Block(name) => (raw_header(name, EntryType::Block, 0o660, 0, ""), &[]),
            Item::Fifo(name) => (raw_header(name, EntryType::Fifo, 0o644, 0, ""), &[]),
            Item::Raw(name, kind, data) => {
                (raw_header(name, *kind, 0o644, data.len() as u64, ""), data)
            }
        };
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Codec {
    Plain,
    Gzip,
    Xz,
    Bzip2,
    Zstd,
}

fn compress(codec: Codec, data: &[u8]) -> Vec<u8> {
    match codec {
        Codec::Plain => data.to_vec(),
        Codec::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        Codec::Xz => {
            let mut enc =
                lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1))
                    .unwrap();
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        Codec::Bzip2 => {
            let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        Codec::Zstd => zstd::encode_all(data, 1).unwrap(),
    }
}

fn format_of(codec: Codec) -> Format {
    match codec {
        Codec::Plain => Format::Tar,
        Codec::Gzip => Format::TarGz,
        Codec::Xz => Format::TarXz,
        Codec::Bzip2 => Format::TarBz2,
        Codec::Zstd => Format::TarZst,
    }
}

/// A zip file entry for `zip_of`.
enum ZipItem<'a> {
    File(&'a str, u32, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
}

fn zip_of(items: &[ZipItem<'_>], method: zip::CompressionMethod) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for item in items {
        match item {
            ZipItem::File(name, mode, data) => {
                writer
                    .start_file(*name, options.unix_permissions(*mode))
                    .unwrap();
                writer.write_all(data).unwrap();
            }
            ZipItem::Dir(name) => writer.add_directory(*name, options).unwrap(),
            ZipItem::Symlink(name, target) => writer.add_symlink(*name, *target, options).unwrap(),
        }
    }
    writer.finish().unwrap().into_inner()
}

/// Applies `patch` to every central directory record of a zip file, given its offset.
fn patch_zip(mut zip: Vec<u8>, patch: impl Fn(&mut [u8], usize)) -> Vec<u8> {
    let starts: Vec<usize> = (0..zip.len() - 4)
        .filter(|&i| zip[i..].starts_with(b"PK\x01\x02"))
        .collect();
    for start in starts {
        patch(&mut zip, start);
    }
    zip
}

/// The local header offset recorded in a central directory record.
fn local_of(zip: &[u8], central: usize) -> usize {
    u32::from_le_bytes(zip[central + 42..central + 46].try_into().unwrap()) as usize
}

/// A temporary root holding only `dest`, plus a separate directory for archives and for
/// "outside" targets.
struct Sandbox {
    root: TempDir,
    dest: PathBuf,
    elsewhere: TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("dest");
        fs::create_dir(&dest).unwrap();
        Sandbox {
            root,
            dest,
            elsewhere: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes an archive under a name that says nothing of its format.
    fn archive(&self, bytes: &[u8]) -> PathBuf {
        let path = self.elsewhere.path().join("download.bin");
        fs::write(&path, bytes).unwrap();
        path
    }

    fn unpack(&self, bytes: &[u8]) -> Result<Unpacked, UnpackError> {
        self.unpack_with(bytes, &Limits::default())
    }

    fn unpack_with(&self, bytes: &[u8], limits: &Limits) -> Result<Unpacked, UnpackError> {
        let archive = self.archive(bytes);
        let result = unpack(&archive, &self.dest, limits);
        self.assert_contained();
        result
    }

    /// Nothing but `dest` in the root; nothing but the archive and an empty (or absent)
    /// `outside` in the other directory.
    fn assert_contained(&self) {
        assert_eq!(names(self.root.path()), ["dest"]);
        let mut others = names(self.elsewhere.path());
        others.retain(|n| n != "download.bin");
        if !others.is_empty() {
            assert_eq!(others, ["outside"]);
            assert!(names(&self.outside()).is_empty());
        }
    }

    fn outside(&self) -> PathBuf {
        self.elsewhere.path().join("outside")
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Asserts a refusal and returns the error's message.
fn refused(
    result: Result<Unpacked, UnpackError>,
    entry: &str,
    check: impl Fn(&Refusal) -> bool,
) -> String {
    match result {
        Err(error @ UnpackError::Refused { .. }) => {
            let message = error.to_string();
            let UnpackError::Refused {
                entry: name,
                refusal,
                ..
            } = &error
            else {
                unreachable!()
            };
            assert_eq!(name, entry, "{message}");
            assert!(check(refusal), "unexpected refusal: {message}");
            assert!(message.contains("download.bin: entry `"), "{message}");
            message
        }
        other => panic!("expected a refusal of `{entry}`, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Ordinary archives

fn project(codec: Codec) -> Vec<u8> {
    compress(
        codec,
        &tar_of(&[
            Item::Dir("pkg-1.0/", 0o755),
            Item::File("pkg-1.0/configure", 0o755, b"#!/bin/sh\n"),
            Item::File(
                "pkg-1.0/src/main.c",
                0o644,
                b"int main(void) { return 0; }\n",
            ),
            Item::Symlink("pkg-1.0/include/main.h", "../src/main.c"),
            Item::Hardlink("pkg-1.0/src/copy.c", "pkg-1.0/src/main.c"),
        ]),
    )
}

#[rstest]
#[case::plain(Codec::Plain)]
#[case::gzip(Codec::Gzip)]
#[case::xz(Codec::Xz)]
#[case::bzip2(Codec::Bzip2)]
#[case::zstd(Codec::Zstd)]
fn single_top_level_directory_becomes_the_build_dir(#[case] codec: Codec) {
    let sandbox = Sandbox::new();
    let unpacked = sandbox.unpack(&project(codec)).unwrap();
    let top = sandbox.dest.join("pkg-1.0");
    assert_eq!(
        unpacked,
        Unpacked {
            format: format_of(codec),
            entries: 5,
            bytes: 10 + 29,
            top_level: Some(top.clone()),
        }
    );
    assert_eq!(fs::read(top.join("configure")).unwrap(), b"#!/bin/sh\n");
    assert_eq!(mode_of(&top.join("configure")), 0o755);
    assert_eq!(
        fs::read_link(top.join("include/main.h")).unwrap(),
        Path::new("../src/main.c")
    );
    assert_eq!(
        fs::read_to_string(top.join("include/main.h")).unwrap(),
        "int main(void) { return 0; }\n"
    );
    let main = fs::metadata(top.join("src/main.c")).unwrap();
    let copy = fs::metadata(top.join("src/copy.c")).unwrap();
    assert_eq!((main.dev(), main.ino()), (copy.dev(), copy.ino()));
    assert_eq!(main.mtime(), i64::try_from(MTIME).unwrap());
}

#[test]
fn several_top_level_entries_give_no_build_dir() {
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[
        Item::File("./README", 0o644, b"hi"),
        Item::File("./src/a.c", 0o644, b""),
    ]);
    let unpacked = sandbox.unpack(&bytes).unwrap();
    assert_eq!(unpacked.top_level, None);
    assert_eq!(unpacked.entries, 2);
    assert_eq!(names(&sandbox.dest), ["README", "src"]);
}

#[test]
fn a_single_top_level_file_is_not_a_build_dir() {
    let sandbox = Sandbox::new();
    let unpacked = sandbox
        .unpack(&tar_of(&[Item::File("only", 0o644, b"x")]))
        .unwrap();
    assert_eq!(unpacked.top_level, None);
}

#[test]
fn dot_entries_leave_the_destination_alone() {
    let sandbox = Sandbox::new();
    fs::set_permissions(&sandbox.dest, fs::Permissions::from_mode(0o750)).unwrap();
    let bytes = tar_of(&[
        Item::Dir("./", 0o777),
        Item::Dir("./pkg/", 0o755),
        Item::File("./pkg/a", 0o644, b"a"),
    ]);
    let unpacked = sandbox.unpack(&bytes).unwrap();
    assert_eq!(unpacked.top_level, Some(sandbox.dest.join("pkg")));
    assert_eq!(unpacked.entries, 2);
    assert_eq!(mode_of(&sandbox.dest), 0o750);
}

#[test]
fn special_mode_bits_are_dropped_and_the_owner_keeps_access() {
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[
        Item::File("setuid", 0o4755, b"x"),
        Item::File("setgid", 0o2711, b"x"),
        Item::File("locked", 0o000, b"x"),
        Item::Dir("sticky", 0o1777),
        Item::Dir("readonly", 0o555),
        Item::File("readonly/inside", 0o444, b"x"),
    ]);
    sandbox.unpack(&bytes).unwrap();
    let d = &sandbox.dest;
    assert_eq!(mode_of(&d.join("setuid")), 0o755);
    assert_eq!(mode_of(&d.join("setgid")), 0o711);
    assert_eq!(mode_of(&d.join("locked")), 0o600);
    assert_eq!(mode_of(&d.join("sticky")), 0o777);
    assert_eq!(mode_of(&d.join("readonly")), 0o755);
    assert_eq!(mode_of(&d.join("readonly/inside")), 0o644);
}

#[test]
fn later_entries_replace_earlier_files_but_not_directories() {
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[
        Item::File("a", 0o644, b"first"),
        Item::File("a", 0o644, b"second"),
        Item::Symlink("b", "a"),
        Item::File("b", 0o644, b"file now"),
    ]);
    sandbox.unpack(&bytes).unwrap();
    assert_eq!(fs::read(sandbox.dest.join("a")).unwrap(), b"second");
    assert!(
        fs::symlink_metadata(sandbox.dest.join("b"))
            .unwrap()
            .is_file()
    );

    let sandbox = Sandbox::new();
    let bytes = tar_of(&[Item::Dir("d/", 0o755), Item::File("d", 0o644, b"x")]);
    refused(sandbox.unpack(&bytes), "d", |r| *r == Refusal::TypeConflict);
}

#[test]
fn long_names_and_pax_global_headers_are_handled() {
    let sandbox = Sandbox::new();
    let long = format!("pkg/{}", "n".repeat(150));
    let mut builder = tar::Builder::new(Vec::new());
    let global = b"29 comment=commit 0123456789\n".to_vec();
    builder
        .append(
            &raw_header(
                "pax_global_header",
                EntryType::XGlobalHeader,
                0o644,
                global.len() as u64,
                "",
            ),
            &global[..],
        )
        .unwrap();
    let mut header = Header::new_gnu();
    header.set_mode(0o644);
    header.set_size(4);
    builder
        .append_data(&mut header, &long, &b"long"[..])
        .unwrap();
    let bytes = builder.into_inner().unwrap();
    let unpacked = sandbox.unpack(&bytes).unwrap();
    assert_eq!(fs::read(sandbox.dest.join(&long)).unwrap(), b"long");
    assert_eq!(unpacked.entries, 1);
    assert_eq!(unpacked.top_level, Some(sandbox.dest.join("pkg")));
}

#[test]
fn empty_tar_is_fine() {
    let sandbox = Sandbox::new();
    let unpacked = sandbox.unpack(&tar_of(&[])).unwrap();
    assert_eq!((unpacked.entries, unpacked.top_level), (0, None));
}

// ---------------------------------------------------------------------------------------
// Hostile tar archives, each through every codec

#[rstest]
fn parent_components_are_refused(
    #[values(Codec::Plain, Codec::Gzip, Codec::Xz, Codec::Bzip2, Codec::Zstd)] codec: Codec,
) {
    let sandbox = Sandbox::new();
    let bytes = compress(
        codec,
        &tar_of(&[
            Item::File("fine", 0o644, b"ok"),
            Item::File("../evil", 0o644, b"pwned"),
        ]),
    );
    let message = refused(sandbox.unpack(&bytes), "../evil", |r| {
        *r == Refusal::LeavesDestination
    });
    assert!(message.ends_with("download.bin: entry `../evil`: path leaves the destination"));
    assert!(!sandbox.root.path().join("evil").exists());
    // Entries before the bad one were extracted; the caller removes the work directory.
    assert!(sandbox.dest.join("fine").exists());
}

#[test]
fn parent_components_inside_names_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[Item::File("a/../../evil", 0o644, b"pwned")]);
    refused(sandbox.unpack(&bytes), "a/../../evil", |r| {
        *r == Refusal::LeavesDestination
    });
    assert!(!sandbox.root.path().join("evil").exists());
}

#[rstest]
fn absolute_paths_are_refused(
    #[values(Codec::Plain, Codec::Gzip, Codec::Xz, Codec::Bzip2, Codec::Zstd)] codec: Codec,
) {
    let sandbox = Sandbox::new();
    let target = sandbox.outside();
    let name = target.to_str().unwrap();
    let bytes = compress(codec, &tar_of(&[Item::File(name, 0o644, b"pwned")]));
    refused(sandbox.unpack(&bytes), name, |r| {
        *r == Refusal::AbsolutePath
    });
    assert!(!target.exists());
}

#[rstest]
fn symlinks_pointing_outside_are_refused(
    #[values(Codec::Plain, Codec::Gzip, Codec::Xz, Codec::Bzip2, Codec::Zstd)] codec: Codec,
) {
    let sandbox = Sandbox::new();
    let bytes = compress(
        codec,
        &tar_of(&[
            Item::Symlink("link", "../../outside"),
            Item::File("link/file", 0o644, b"pwned"),
        ]),
    );
    let message = refused(sandbox.unpack(&bytes), "link", |r| {
        matches!(r, Refusal::SymlinkOutside { .. })
    });
    assert!(message.contains("`../../outside` points outside the destination"));
    assert!(fs::symlink_metadata(sandbox.dest.join("link")).is_err());
}

#[test]
fn symlinks_to_absolute_paths_are_refused() {
    let sandbox = Sandbox::new();
    let outside = sandbox.outside();
    let bytes = tar_of(&[
        Item::Symlink("pkg/link", outside.to_str().unwrap()),
        Item::File("pkg/link/file", 0o644, b"pwned"),
    ]);
    refused(sandbox.unpack(&bytes), "pkg/link", |r| {
        matches!(r, Refusal::SymlinkAbsolute { .. })
    });
    assert!(!outside.exists());
}

#[test]
fn symlinks_one_level_too_high_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[Item::Symlink("a/b/link", "../../../dest-sibling")]);
    refused(sandbox.unpack(&bytes), "a/b/link", |r| {
        matches!(r, Refusal::SymlinkOutside { .. })
    });
}

#[test]
fn nothing_is_written_through_a_symlink_extracted_earlier() {
    // The link itself is allowed (it points inside), but a later entry may not use it as a
    // directory: the classic "symlink, then file through it".
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[
        Item::Dir("a/", 0o755),
        Item::Symlink("a/up", ".."),
        Item::File("a/up/file", 0o644, b"through the link"),
    ]);
    let message = refused(
        sandbox.unpack(&bytes),
        "a/up/file",
        |r| matches!(r, Refusal::ThroughSymlink { link } if link == "a/up"),
    );
    assert!(message.contains("goes through the symbolic link `a/up`"));
    assert!(!sandbox.dest.join("file").exists());
}

#[test]
fn nothing_is_written_through_a_symlink_already_in_the_destination() {
    // Even a link that escapes (as if left by an earlier step) is never followed.
    let sandbox = Sandbox::new();
    let outside = sandbox.outside();
    fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, sandbox.dest.join("escape")).unwrap();
    let archive = sandbox.archive(&tar_of(&[
        Item::File("escape/file", 0o644, b"pwned"),
        Item::Dir("escape/dir/", 0o755),
    ]));
    let result = unpack(&archive, &sandbox.dest, &Limits::default());
    refused(result, "escape/file", |r| {
        matches!(r, Refusal::ThroughSymlink { .. })
    });
    assert!(names(&outside).is_empty());
    // A file over the link replaces the link; it does not write to its target.
    let archive = sandbox.archive(&tar_of(&[Item::File("escape", 0o644, b"plain")]));
    unpack(&archive, &sandbox.dest, &Limits::default()).unwrap();
    assert_eq!(fs::read(sandbox.dest.join("escape")).unwrap(), b"plain");
    sandbox.assert_contained();
}

#[test]
fn dot_dot_after_a_name_in_a_symlink_target_is_refused() {
    // `y` looks inside when read lexically, but `a/b/l` (created after it) points two levels
    // up, so the kernel would resolve `y` to `../x`, outside.
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[
        Item::Symlink("y", "a/b/l/../x"),
        Item::Symlink("a/b/l", "../.."),
    ]);
    refused(sandbox.unpack(&bytes), "y", |r| {
        matches!(r, Refusal::SymlinkDotDotAfterName { .. })
    });
}

#[rstest]
#[case::absolute("/etc/passwd")]
#[case::parent("../x")]
#[case::not_extracted("pkg/missing")]
#[case::a_directory("pkg")]
#[case::a_symlink("pkg/link")]
#[case::not_from_this_archive("planted")]
fn hardlinks_to_anything_but_an_extracted_file_are_refused(#[case] target: &str) {
    let sandbox = Sandbox::new();
    // A file that was there before (and might be a hard link to anything).
    fs::write(sandbox.dest.join("planted"), b"not ours").unwrap();
    let bytes = tar_of(&[
        Item::Dir("pkg/", 0o755),
        Item::Symlink("pkg/link", "."),
        Item::Hardlink("pkg/hard", target),
        Item::File("pkg/hard", 0o644, b"would write through the link"),
    ]);
    let message = refused(
        sandbox.unpack(&bytes),
        "pkg/hard",
        |r| matches!(r, Refusal::HardlinkTarget { target: t } if t == target),
    );
    assert!(message.contains("not a file extracted earlier"));
    assert!(!sandbox.dest.join("pkg/hard").exists());
}

#[rstest]
fn device_entries_are_refused(
    #[values(Codec::Plain, Codec::Gzip, Codec::Xz, Codec::Bzip2, Codec::Zstd)] codec: Codec,
) {
    let sandbox = Sandbox::new();
    let bytes = compress(codec, &tar_of(&[Item::Char("dev/null")]));
    let message = refused(sandbox.unpack(&bytes), "dev/null", |r| {
        *r == Refusal::Device
    });
    assert!(message.ends_with("entry `dev/null`: device files are not allowed"));
    assert!(!sandbox.dest.join("dev").exists());

    let sandbox = Sandbox::new();
    let bytes = compress(codec, &tar_of(&[Item::Block("dev/sda")]));
    refused(sandbox.unpack(&bytes), "dev/sda", |r| *r == Refusal::Device);
}

#[rstest]
fn fifo_entries_are_refused(
    #[values(Codec::Plain, Codec::Gzip, Codec::Xz, Codec::Bzip2, Codec::Zstd)] codec: Codec,
) {
    let sandbox = Sandbox::new();
    let bytes = compress(codec, &tar_of(&[Item::Fifo("pipe")]));
    refused(sandbox.unpack(&bytes), "pipe", |r| *r == Refusal::Fifo);
    assert!(names(&sandbox.dest).is_empty());
}

#[test]
fn unknown_entry_types_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[Item::Raw("label", EntryType::new(b'V'), Vec::new())]);
    refused(
        sandbox.unpack(&bytes),
        "label",
        |r| matches!(r, Refusal::UnsupportedType { kind } if kind == "V"),
    );
}

#[test]
fn nul_and_overlong_names_are_refused() {
    let sandbox = Sandbox::new();
    let limits = Limits {
        max_path_len: 20,
        ..Limits::default()
    };
    let bytes = tar_of(&[Item::File("pkg/a-name-longer-than-twenty", 0o644, b"")]);
    refused(
        sandbox.unpack_with(&bytes, &limits),
        "pkg/a-name-longer-than-twenty",
        |r| *r == Refusal::NameTooLong { limit: 20 },
    );

    // A pax `path` record can carry a NUL that a plain header cannot.
    let sandbox = Sandbox::new();
    let record = b"16 path=a\0/../b\n".to_vec();
    let bytes = tar_of(&[
        Item::Raw("pax", EntryType::XHeader, record),
        Item::File("ignored", 0o644, b"x"),
    ]);
    refused(sandbox.unpack(&bytes), "a\\u{0}/../b", |r| {
        *r == Refusal::NulInName
    });
}

#[rstest]
fn decompression_bombs_stop_at_the_size_limit(
    #[values(Codec::Plain, Codec::Gzip, Codec::Xz, Codec::Bzip2, Codec::Zstd)] codec: Codec,
) {
    let sandbox = Sandbox::new();
    let zeros = vec![0; 3 << 20];
    let bytes = compress(codec, &tar_of(&[Item::File("bomb", 0o644, &zeros)]));
    if !matches!(codec, Codec::Plain) {
        assert!(
            bytes.len() < 1 << 20,
            "{codec:?} made {} bytes",
            bytes.len()
        );
    }
    let limits = Limits {
        max_total_bytes: 1 << 20,
        ..Limits::default()
    };
    let message = refused(sandbox.unpack_with(&bytes, &limits), "bomb", |r| {
        *r == Refusal::SizeLimit { limit: 1 << 20 }
    });
    assert!(message.ends_with("entry `bomb`: expands past the size limit of 1048576 bytes"));
    // The limit holds for what was written, not only for what was declared.
    assert!(fs::metadata(sandbox.dest.join("bomb")).unwrap().len() <= 1 << 20);
}

#[test]
fn the_size_limit_counts_every_file() {
    let sandbox = Sandbox::new();
    let kib = vec![7; 1024];
    let items: Vec<Item<'_>> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| Item::File(n, 0o644, &kib))
        .collect();
    let limits = Limits {
        max_total_bytes: 3 * 1024,
        ..Limits::default()
    };
    refused(sandbox.unpack_with(&tar_of(&items), &limits), "d", |r| {
        matches!(r, Refusal::SizeLimit { .. })
    });
    let limits = Limits {
        max_total_bytes: 4 * 1024,
        ..Limits::default()
    };
    let sandbox = Sandbox::new();
    assert_eq!(
        sandbox.unpack_with(&tar_of(&items), &limits).unwrap().bytes,
        4096
    );
}

#[test]
fn data_of_entries_that_create_no_file_counts_too() {
    // A directory entry that claims a data size: the data is read and counted.
    let sandbox = Sandbox::new();
    let bytes = compress(
        Codec::Zstd,
        &tar_of(&[Item::Raw("dir/", EntryType::Directory, vec![0; 4 << 20])]),
    );
    let limits = Limits {
        max_total_bytes: 1 << 20,
        ..Limits::default()
    };
    refused(sandbox.unpack_with(&bytes, &limits), "dir/", |r| {
        matches!(r, Refusal::SizeLimit { .. })
    });
}

#[test]
fn huge_long_name_headers_are_refused_before_they_are_buffered() {
    let sandbox = Sandbox::new();
    let bytes = compress(
        Codec::Zstd,
        &tar_of(&[
            Item::File("first", 0o644, b""),
            Item::Raw("././@LongLink", EntryType::GNULongName, vec![b'a'; 3 << 20]),
            Item::File("short", 0o644, b"x"),
        ]),
    );
    let error = sandbox.unpack(&bytes).unwrap_err();
    assert!(
        matches!(error, UnpackError::HeaderTooLarge { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: the entry after `first` has more than 1048576 bytes of headers",
            sandbox.elsewhere.path().join("download.bin").display()
        )
    );
}

#[test]
fn too_many_entries_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[
        Item::Dir("a/", 0o755),
        Item::Dir("b/", 0o755),
        Item::Dir("c/", 0o755),
    ]);
    let limits = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let error = sandbox.unpack_with(&bytes, &limits).unwrap_err();
    assert!(
        matches!(error, UnpackError::TooManyEntries { limit: 2, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("download.bin: more than 2 entries")
    );
}

#[test]
fn corrupt_compressed_data_is_an_error() {
    let sandbox = Sandbox::new();
    let mut bytes = project(Codec::Gzip);
    let middle = bytes.len() / 2;
    bytes.truncate(middle);
    let error = sandbox.unpack(&bytes).unwrap_err();
    assert!(
        matches!(
            error,
            UnpackError::Read {
                format: Format::TarGz,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("corrupt or unreadable tar.gz data")
    );
}

#[test]
fn a_compressed_stream_that_is_not_tar_is_an_error() {
    let sandbox = Sandbox::new();
    let error = sandbox
        .unpack(&compress(Codec::Xz, &[b'x'; 2000]))
        .unwrap_err();
    assert!(
        matches!(
            error,
            UnpackError::Read {
                format: Format::TarXz,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn unknown_formats_are_named() {
    let sandbox = Sandbox::new();
    let error = sandbox
        .unpack(b"just some text, not an archive")
        .unwrap_err();
    assert!(matches!(error, UnpackError::UnknownFormat { .. }));
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` is not a tar, tar.gz, tar.xz, tar.bz2, tar.zst or zip archive",
            sandbox.elsewhere.path().join("download.bin").display()
        )
    );
}

#[test]
fn the_destination_must_be_a_directory() {
    let sandbox = Sandbox::new();
    let archive = sandbox.archive(&tar_of(&[]));
    let error = unpack(&archive, &sandbox.dest.join("missing"), &Limits::default()).unwrap_err();
    assert!(
        matches!(error, UnpackError::Destination { .. }),
        "{error:?}"
    );
}

#[test]
fn control_characters_in_names_are_escaped_in_messages() {
    let sandbox = Sandbox::new();
    let bytes = tar_of(&[Item::File("../\x1b[2Jevil", 0o644, b"")]);
    let error = sandbox.unpack(&bytes).unwrap_err();
    assert!(!error.to_string().contains('\x1b'));
    assert!(error.to_string().contains("entry `../\\u{1b}[2Jevil`"));
}

// ---------------------------------------------------------------------------------------
// Zip files

#[rstest]
#[case::stored(zip::CompressionMethod::Stored)]
#[case::deflated(zip::CompressionMethod::Deflated)]
fn zip_files_unpack(#[case] method: zip::CompressionMethod) {
    let sandbox = Sandbox::new();
    let bytes = zip_of(
        &[
            ZipItem::Dir("pkg-2.0/"),
            ZipItem::File("pkg-2.0/build.sh", 0o755, b"#!/bin/sh\necho hi\n"),
            ZipItem::File("pkg-2.0/doc/notes.txt", 0o644, &[b'n'; 5000]),
            ZipItem::Symlink("pkg-2.0/NOTES", "doc/notes.txt"),
        ],
        method,
    );
    let unpacked = sandbox.unpack(&bytes).unwrap();
    let top = sandbox.dest.join("pkg-2.0");
    assert_eq!(unpacked.format, Format::Zip);
    assert_eq!(unpacked.entries, 4);
    assert_eq!(unpacked.top_level, Some(top.clone()));
    assert_eq!(mode_of(&top.join("build.sh")), 0o755);
    assert_eq!(fs::read(top.join("NOTES")).unwrap(), vec![b'n'; 5000]);
    assert!(
        fs::symlink_metadata(top.join("NOTES"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn empty_zip_files_unpack() {
    let sandbox = Sandbox::new();
    let unpacked = sandbox
        .unpack(&zip_of(&[], zip::CompressionMethod::Stored))
        .unwrap();
    assert_eq!((unpacked.format, unpacked.entries), (Format::Zip, 0));
}

#[rstest]
#[case::parent("../evil", Refusal::LeavesDestination)]
#[case::nested_parent("pkg/../../evil", Refusal::LeavesDestination)]
#[case::backslash("..\\evil", Refusal::Backslash)]
fn zip_names_leaving_the_destination_are_refused(#[case] name: &str, #[case] why: Refusal) {
    let sandbox = Sandbox::new();
    let bytes = zip_of(
        &[ZipItem::File(name, 0o644, b"pwned")],
        zip::CompressionMethod::Deflated,
    );
    refused(sandbox.unpack(&bytes), name, |r| *r == why);
    assert!(!sandbox.root.path().join("evil").exists());
    assert!(names(&sandbox.dest).is_empty());
}

#[test]
fn zip_absolute_names_are_refused() {
    let sandbox = Sandbox::new();
    let outside = sandbox.outside();
    let name = outside.to_str().unwrap();
    let bytes = zip_of(
        &[ZipItem::File(name, 0o644, b"pwned")],
        zip::CompressionMethod::Stored,
    );
    refused(sandbox.unpack(&bytes), name, |r| {
        *r == Refusal::AbsolutePath
    });
    assert!(!outside.exists());
}

#[test]
fn zip_symlinks_out_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = zip_of(
        &[
            ZipItem::Symlink("link", "../../outside"),
            ZipItem::File("link/file", 0o644, b"pwned"),
        ],
        zip::CompressionMethod::Deflated,
    );
    refused(sandbox.unpack(&bytes), "link", |r| {
        matches!(r, Refusal::SymlinkOutside { .. })
    });
    assert!(names(&sandbox.dest).is_empty());
}

#[test]
fn zip_files_through_zip_symlinks_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = zip_of(
        &[
            ZipItem::Symlink("here", "."),
            ZipItem::File("here/file", 0o644, b"through"),
        ],
        zip::CompressionMethod::Deflated,
    );
    refused(sandbox.unpack(&bytes), "here/file", |r| {
        matches!(r, Refusal::ThroughSymlink { .. })
    });
}

#[test]
fn zip_bombs_stop_at_the_size_limit() {
    let sandbox = Sandbox::new();
    let zeros = vec![0; 8 << 20];
    let bytes = zip_of(
        &[ZipItem::File("bomb", 0o644, &zeros)],
        zip::CompressionMethod::Deflated,
    );
    assert!(bytes.len() < 64 << 10);
    let limits = Limits {
        max_total_bytes: 1 << 20,
        ..Limits::default()
    };
    refused(sandbox.unpack_with(&bytes, &limits), "bomb", |r| {
        *r == Refusal::SizeLimit { limit: 1 << 20 }
    });
    assert!(fs::metadata(sandbox.dest.join("bomb")).unwrap().len() <= 1 << 20);
}

#[test]
fn zip_entries_lying_about_their_size_are_still_bounded() {
    // The central directory claims 10 bytes; the data inflates to 8 MiB.
    let sandbox = Sandbox::new();
    let zeros = vec![0; 8 << 20];
    let bytes = zip_of(
        &[ZipItem::File("liar", 0o644, &zeros)],
        zip::CompressionMethod::Deflated,
    );
    let bytes = patch_zip(bytes, |zip, central| {
        let local = local_of(zip, central);
        zip[central + 24..central + 28].copy_from_slice(&10u32.to_le_bytes());
        zip[local + 22..local + 26].copy_from_slice(&10u32.to_le_bytes());
    });
    let limits = Limits {
        max_total_bytes: 1 << 20,
        ..Limits::default()
    };
    let result = sandbox.unpack_with(&bytes, &limits);
    // Either the reader stops at the declared size (and the CRC check fails) or our count
    // stops it; in no case does more than the limit reach the disk.
    assert!(result.is_err(), "{result:?}");
    let written = fs::metadata(sandbox.dest.join("liar")).map_or(0, |m| m.len());
    assert!(written <= 1 << 20);
}

#[test]
fn encrypted_zip_entries_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = zip_of(
        &[ZipItem::File("secret", 0o644, b"data")],
        zip::CompressionMethod::Stored,
    );
    // Set bit 0 (encrypted) of the general purpose flags, in both headers.
    let bytes = patch_zip(bytes, |zip, central| {
        let local = local_of(zip, central);
        zip[central + 8] |= 1;
        zip[local + 6] |= 1;
    });
    refused(sandbox.unpack(&bytes), "secret", |r| {
        *r == Refusal::Encrypted
    });
    assert!(names(&sandbox.dest).is_empty());
}

#[rstest]
#[case::fifo(0o010_644, Refusal::Fifo)]
#[case::char_device(0o020_644, Refusal::Device)]
#[case::block_device(0o060_644, Refusal::Device)]
#[case::socket(0o140_644, Refusal::Socket)]
fn zip_special_files_are_refused(#[case] mode: u32, #[case] why: Refusal) {
    let sandbox = Sandbox::new();
    let bytes = zip_of(
        &[ZipItem::File("special", 0o644, b"")],
        zip::CompressionMethod::Stored,
    );
    // The Unix mode lives in the high half of the external attributes.
    let bytes = patch_zip(bytes, |zip, central| {
        zip[central + 38..central + 42].copy_from_slice(&(mode << 16).to_le_bytes());
    });
    refused(sandbox.unpack(&bytes), "special", |r| *r == why);
    assert!(names(&sandbox.dest).is_empty());
}

#[test]
fn zip_setuid_bits_are_dropped() {
    let sandbox = Sandbox::new();
    let bytes = zip_of(
        &[ZipItem::File("tool", 0o755, b"x")],
        zip::CompressionMethod::Stored,
    );
    let bytes = patch_zip(bytes, |zip, central| {
        zip[central + 38..central + 42].copy_from_slice(&(0o106_755u32 << 16).to_le_bytes());
    });
    sandbox.unpack(&bytes).unwrap();
    assert_eq!(mode_of(&sandbox.dest.join("tool")), 0o755);
}

#[test]
fn zip_declaring_too_many_entries_is_refused_before_parsing() {
    let sandbox = Sandbox::new();
    let bytes = zip_of(
        &[
            ZipItem::File("a", 0o644, b""),
            ZipItem::File("b", 0o644, b""),
        ],
        zip::CompressionMethod::Stored,
    );
    let limits = Limits {
        max_entries: 1,
        ..Limits::default()
    };
    let error = sandbox.unpack_with(&bytes, &limits).unwrap_err();
    assert!(
        matches!(error, UnpackError::TooManyEntries { limit: 1, .. }),
        "{error:?}"
    );

    // An end record claiming 65535 entries in a file far too small for them.
    let sandbox = Sandbox::new();
    let mut bytes = zip_of(
        &[ZipItem::File("a", 0o644, b"")],
        zip::CompressionMethod::Stored,
    );
    let end = bytes.len() - 22;
    assert!(bytes[end..].starts_with(b"PK\x05\x06"));
    bytes[end + 8..end + 12].copy_from_slice(&[0xff; 4]);
    let error = sandbox.unpack(&bytes).unwrap_err();
    assert!(
        matches!(
            error,
            UnpackError::Read {
                format: Format::Zip,
                ..
            }
        ),
        "{error:?}"
    );
}
