//! Debian binary packages: an ar archive of `debian-binary` (`2.0\n`), `control.tar.gz` and
//! `data.tar.gz` (xz members are read too): writing and checking.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use boxwright_archive::{AtomicFile, ParallelGzip};
use md5::Digest as _;

use crate::apk::{LEVEL, sha256_reader};
use crate::bounded::{Budget, for_each_entry};
use crate::error::PackageError;
use crate::info::{PackageFormat, PackageInfo, format_arch};
use crate::spec::{EntryKind, PackageSpec, Script, with_parents};
use crate::stream::Limited;
use crate::tarball::TarWriter;
use crate::{ar, limits, validate};

/// The maintainer written when the metadata names none (the field is mandatory).
pub const UNKNOWN_MAINTAINER: &str = "Unknown <unknown@example.invalid>";

/// The Debian maintainer script of an install script; both scripts of a pair share it.
fn maintainer_script(script: Script) -> &'static str {
    match script {
        Script::PreInstall | Script::PreUpgrade => "preinst",
        Script::PostInstall | Script::PostUpgrade => "postinst",
        Script::PreDeinstall => "prerm",
        Script::PostDeinstall => "postrm",
    }
}

/// The maintainer scripts: each a shell script that runs the install variant on
/// `install`/`configure` of a first installation and the upgrade variant when upgrading
/// (dpkg passes `upgrade` to preinst and the old version to postinst `configure`). Each body
/// runs in a subshell under `set -e`.
pub(crate) fn maintainer_scripts(
    scripts: &BTreeMap<Script, String>,
) -> BTreeMap<&'static str, String> {
    let mut out = BTreeMap::new();
    let pairs = [
        (
            "preinst",
            Script::PreInstall,
            Some(Script::PreUpgrade),
            "install",
            "upgrade",
        ),
        (
            "postinst",
            Script::PostInstall,
            Some(Script::PostUpgrade),
            "configure",
            "",
        ),
        ("prerm", Script::PreDeinstall, None, "remove", ""),
        ("postrm", Script::PostDeinstall, None, "remove", ""),
    ];
    for (name, install, upgrade, _, _) in pairs {
        let first = scripts.get(&install);
        let second = upgrade.and_then(|u| scripts.get(&u));
        if first.is_none() && second.is_none() {
            continue;
        }
        let mut text = String::from("#!/bin/sh\nset -e\n");
        let body = |s: &str| format!("(\n{}\n)\n", s.trim_end());
        match (name, first, second) {
            ("preinst", i, u) => {
                text.push_str("case \"$1\" in\n");
                if let Some(i) = i {
                    let _ = writeln!(text, "install)\n{};;", body(i));
                }
                if let Some(u) = u {
                    let _ = writeln!(text, "upgrade)\n{};;", body(u));
                }
                text.push_str("esac\n");
            }
            ("postinst", i, u) => {
                // `configure` with an empty second argument is a first installation.
                text.push_str("if [ \"$1\" = configure ]; then\n  if [ -z \"$2\" ]; then\n");
                text.push_str(&i.map_or(":\n".to_string(), |i| body(i)));
                text.push_str("  else\n");
                text.push_str(&u.map_or(":\n".to_string(), |u| body(u)));
                text.push_str("  fi\nfi\n");
            }
            ("prerm", Some(i), _) => {
                let _ = writeln!(text, "if [ \"$1\" = remove ]; then\n{}fi", body(i));
            }
            ("postrm", Some(i), _) => {
                // dpkg runs `postrm remove` on every removal (a purge adds `postrm purge`).
                let _ = write!(text, "if [ \"$1\" = remove ]; then\n{}fi\n", body(i));
            }
            _ => continue,
        }
        debug_assert_eq!(maintainer_script(install), name);
        out.insert(name, text);
    }
    out
}

/// Writes `<out_dir>/<name>_<version>-<revision>_<arch>.deb`. Returns the path written.
pub fn write(spec: &PackageSpec, out_dir: &Path) -> Result<PathBuf, PackageError> {
    validate::deb_name(&spec.name)?;
    validate::deb_version(&spec.version)?;
    let arch = format_arch(PackageFormat::Deb, &spec.arch);
    validate::arch(&arch)?;
    let version = format!("{}-{}", spec.version, spec.revision);
    let path = out_dir.join(format!("{}_{version}_{arch}.deb", spec.name));
    let err = |action: &'static str| {
        let path = path.clone();
        move |e| PackageError::io(action, &path, e)
    };
    let mtime = spec.source_date_epoch;

    // License is not a control field: Debian keeps it in /usr/share/doc/<name>/copyright.
    // Every non-native package also carries a changelog.Debian.gz there (lintian: an error
    // without one).
    let mut entries = spec.entries.clone();
    let changelog_path = format!("usr/share/doc/{}/changelog.Debian.gz", spec.name);
    entries.retain(|e| e.path != changelog_path);
    entries.push(crate::spec::Entry {
        path: changelog_path,
        kind: EntryKind::Content {
            data: crate::apk::gzip(changelog(spec, &version).as_bytes()).map_err(err("write"))?,
            executable: false,
        },
    });
    if let Some(text) = copyright(spec) {
        let copyright_path = format!("usr/share/doc/{}/copyright", spec.name);
        entries.retain(|e| e.path != copyright_path);
        entries.push(crate::spec::Entry {
            path: copyright_path,
            kind: EntryKind::Content {
                data: text.into_bytes(),
                executable: false,
            },
        });
    }
    let spool = tempfile::tempfile_in(out_dir).map_err(err("create a temporary file beside"))?;
    let (mut data, md5sums, installed) = data_member(&entries, spool, mtime)?;
    let control_text = control(spec, &version, &arch, installed.div_ceil(1024));
    let control_gz = control_member(spec, &control_text, &md5sums).map_err(err("write"))?;

    let data_size = io::Seek::seek(&mut data, io::SeekFrom::End(0)).map_err(err("write"))?;
    io::Seek::rewind(&mut data).map_err(err("write"))?;
    let mut out = AtomicFile::create(&path).map_err(err("create"))?;
    ar::start(&mut out).map_err(err("write"))?;
    ar::member(&mut out, "debian-binary", mtime, 4, &mut &b"2.0\n"[..]).map_err(err("write"))?;
    ar::member(
        &mut out,
        "control.tar.gz",
        mtime,
        control_gz.len() as u64,
        &mut control_gz.as_slice(),
    )
    .map_err(err("write"))?;
    ar::member(&mut out, "data.tar.gz", mtime, data_size, &mut data).map_err(err("write"))?;
    out.commit().map_err(err("write"))
}

/// The data member (gzip of the data tar) in `spool`, the `md5sums` text and the installed size.
fn data_member(
    entries: &[crate::spec::Entry],
    spool: File,
    mtime: u64,
) -> Result<(File, String, u64), PackageError> {
    let err = |e| PackageError::io("write", Path::new("data.tar.gz"), e);
    let gz = ParallelGzip::new(spool, LEVEL, 2).map_err(err)?;
    let mut tar = TarWriter::new(gz, mtime);
    tar.dir("./").map_err(err)?;
    let mut md5sums = String::new();
    let mut installed = 0u64;
    for (name, entry) in with_parents(entries) {
        installed += 4096;
        match entry.map(|e| &e.kind) {
            None | Some(EntryKind::Dir) => tar.dir(&format!("./{name}/")).map_err(err)?,
            Some(EntryKind::File { source, executable }) => {
                let read_error = |e| PackageError::io("read", source, e);
                let mut file = File::open(source).map_err(read_error)?;
                let mut hasher = md5::Md5::new();
                let size = crate::stream::digest_reader(&mut file, |chunk| hasher.update(chunk))
                    .map_err(read_error)?;
                installed += size.div_ceil(4096) * 4096;
                let _ = writeln!(md5sums, "{}  {name}", hex::encode(hasher.finalize()));
                let file = File::open(source).map_err(read_error)?;
                let mode = if *executable { 0o755 } else { 0o644 };
                tar.file(&format!("./{name}"), mode, size, file, &[])
                    .map_err(read_error)?;
            }
            Some(EntryKind::Content { data, executable }) => {
                installed += (data.len() as u64).div_ceil(4096) * 4096;
                let _ = writeln!(md5sums, "{}  {name}", hex::encode(md5::Md5::digest(data)));
                let mode = if *executable { 0o755 } else { 0o644 };
                tar.file(
                    &format!("./{name}"),
                    mode,
                    data.len() as u64,
                    data.as_slice(),
                    &[],
                )
                .map_err(err)?;
            }
            Some(EntryKind::Symlink { target }) => {
                tar.symlink(&format!("./{name}"), target, &[])
                    .map_err(err)?;
            }
        }
    }
    let data = tar.finish().map_err(err)?.finish().map_err(err)?;
    Ok((data, md5sums, installed))
}

/// The control member: gzip of a tar of `control`, `conffiles`, `md5sums` and the scripts.
fn control_member(spec: &PackageSpec, control_text: &str, md5sums: &str) -> io::Result<Vec<u8>> {
    let mut control = TarWriter::new(Vec::new(), spec.source_date_epoch);
    // The control tar starts with `./`, like dpkg-deb's.
    control.dir("./")?;
    let mut add = |name: &str, mode: u32, text: &str| {
        control.file(
            &format!("./{name}"),
            mode,
            text.len() as u64,
            text.as_bytes(),
            &[],
        )
    };
    add("control", 0o644, control_text)?;
    if !spec.conffiles.is_empty() {
        let mut conffiles = spec.conffiles.join("\n");
        conffiles.push('\n');
        add("conffiles", 0o644, &conffiles)?;
    }
    add("md5sums", 0o644, md5sums)?;
    for (name, text) in maintainer_scripts(&spec.scripts) {
        add(name, 0o755, &text)?;
    }
    crate::apk::gzip(&control.finish()?)
}

/// A one-entry Debian changelog for this version.
fn changelog(spec: &PackageSpec, version: &str) -> String {
    let maintainer = if spec.maintainer.is_empty() {
        UNKNOWN_MAINTAINER
    } else {
        &spec.maintainer
    };
    format!(
        "{} ({version}) unstable; urgency=medium\n\n  * Packaged by boxwright from the {} build \
         output.\n\n -- {maintainer}  {}\n",
        spec.name,
        if spec.origin.is_empty() {
            &spec.name
        } else {
            &spec.origin
        },
        crate::repo::date::rfc2822_numeric(spec.source_date_epoch)
    )
}

fn copyright(spec: &PackageSpec) -> Option<String> {
    if spec.license.is_empty() {
        return None;
    }
    let mut text = format!("{}\n\nLicense: {}\n", spec.name, spec.license);
    if !spec.url.is_empty() {
        let _ = writeln!(text, "Source: {}", spec.url);
    }
    Some(text)
}

/// The `control` file.
fn control(spec: &PackageSpec, version: &str, arch: &str, installed_kib: u64) -> String {
    let one_line = |s: &str| s.replace(['\n', '\r'], " ");
    let mut out = String::new();
    let mut field = |key: &str, value: &str| {
        if !value.trim().is_empty() {
            let _ = writeln!(out, "{key}: {}", one_line(value));
        }
    };
    field("Package", &spec.name);
    if !spec.origin.is_empty() && spec.origin != spec.name {
        field("Source", &spec.origin);
    }
    field("Version", version);
    field("Architecture", arch);
    field(
        "Maintainer",
        if spec.maintainer.is_empty() {
            UNKNOWN_MAINTAINER
        } else {
            &spec.maintainer
        },
    );
    field("Installed-Size", &installed_kib.max(1).to_string());
    field("Depends", &spec.depends.join(", "));
    field("Provides", &spec.provides.join(", "));
    field("Section", "misc");
    field("Priority", "optional");
    field("Homepage", &spec.url);
    // Description: a synopsis line, then the extended text indented, `.` for blank lines.
    let mut lines = spec.description.lines();
    let synopsis = lines
        .next()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(&spec.name)
        .to_string();
    let _ = writeln!(out, "Description: {synopsis}");
    for line in lines {
        if line.trim().is_empty() {
            out.push_str(" .\n");
        } else {
            let _ = writeln!(out, " {}", line.trim_end());
        }
    }
    out
}

/// Parses a deb822 paragraph of the package `path`: fields in order, continuation lines
/// joined with `\n`. A field given twice (names compare without case) is refused: readers
/// differ on which one counts (the server would check the first `Package:`, apt keeps the
/// last). So is text after the paragraph's end.
pub fn parse_paragraph(path: &Path, text: &str) -> Result<Vec<(String, String)>, PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut ended = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            ended = !fields.is_empty();
            continue;
        }
        if ended {
            return Err(bad(format!(
                "text after the paragraph's end: `{}`",
                crate::bounded::shortened(line)
            )));
        }
        if line.starts_with([' ', '\t']) {
            let (_, value) = fields
                .last_mut()
                .ok_or_else(|| bad("a continuation line before any field".into()))?;
            value.push('\n');
            value.push_str(line);
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("control line `{line}` is not `Field: value`")))?;
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(bad(format!("bad control field name `{key}`")));
        }
        if let Some((first, _)) = fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(bad(format!(
                "the field `{key}` is given twice (first as `{first}`)"
            )));
        }
        fields.push((key.to_string(), value.trim().to_string()));
    }
    Ok(fields)
}

/// The decompressing reader of a `control.tar.*` or `data.tar.*` member (gzip, xz, zstd or
/// none), chosen by the member's name.
pub(crate) fn decompressor<'a>(name: &str, input: impl Read + 'a) -> Option<Box<dyn Read + 'a>> {
    if name.ends_with(".tar.zst") {
        // zstd's decoder keeps a window of at most 2^27 bytes unless told otherwise.
        return zstd::stream::read::Decoder::new(input)
            .ok()
            .map(|d| Box::new(d) as Box<dyn Read + 'a>);
    }
    if name.ends_with(".tar.gz") {
        Some(Box::new(flate2::read::GzDecoder::new(input)))
    } else if name.ends_with(".tar.xz") {
        Some(Box::new(lzma_rust2::XzReader::new_mem_limit(
            BufReader::new(input),
            true,
            256 * 1024,
        )))
    } else if name == "control.tar" || name == "data.tar" {
        Some(Box::new(input))
    } else {
        None
    }
}

/// Reads and checks a deb fully within `budget` (see [`crate::inspect`]).
pub(crate) fn inspect(
    path: &Path,
    file: File,
    file_size: u64,
    budget: &Budget,
) -> Result<PackageInfo, PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    let mut input = BufReader::new(sha256_reader(file));
    let mut magic = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|_| bad("not an ar archive".into()))?;
    if &magic != ar::MAGIC {
        return Err(bad("not an ar archive".into()));
    }
    let expect = |want: &str, input: &mut BufReader<_>| -> Result<ar::Header, PackageError> {
        let header = ar::next_header(path, input)?
            .ok_or_else(|| bad(format!("ends before its `{want}` member")))?;
        if !header.name.starts_with(want) {
            return Err(bad(format!(
                "member `{}` where `{want}` belongs (members: debian-binary, control.tar.*, data.tar.*)",
                header.name
            )));
        }
        Ok(header)
    };
    let header = expect("debian-binary", &mut input)?;
    if header.name != "debian-binary" || header.size > 64 {
        return Err(bad("bad `debian-binary` member".into()));
    }
    let mut version = Vec::new();
    (&mut input)
        .take(header.size)
        .read_to_end(&mut version)
        .map_err(|e| bad(e.to_string()))?;
    ar::skip_rest(path, &mut input, header.size, version.len() as u64)?;
    if !version.starts_with(b"2.") {
        return Err(bad(format!(
            "format version `{}` is not 2.x",
            String::from_utf8_lossy(&version).trim()
        )));
    }

    let header = expect("control.tar", &mut input)?;
    let mut member = (&mut input).take(header.size);
    let (control_text, md5sums) = read_control_files(path, &header, &mut member, budget)?;
    finish_member(path, member, &header)?;

    let control_text =
        control_text.ok_or_else(|| bad("control.tar has no `control` file".into()))?;
    let fields = parse_paragraph(path, &control_text).map_err(|e| e.within("control"))?;
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let required = |key: &str| {
        get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(format!("control has no `{key}` field")))
    };
    let name = required("Package")?;
    let version = required("Version")?;
    let arch = required("Architecture")?;
    validate::deb_name(&name).map_err(|e| bad(e.to_string()))?;
    validate::deb_full_version(&version).map_err(|e| bad(e.to_string()))?;
    validate::arch(&arch).map_err(|e| bad(e.to_string()))?;
    let installed_kib: u64 = match get("Installed-Size") {
        Some(v) => v
            .parse()
            .map_err(|_| bad(format!("control `Installed-Size: {v}` is not a number")))?,
        None => 0,
    };
    let mut expected = parse_md5sums(path, md5sums.as_deref().unwrap_or_default())?;

    let header = expect("data.tar", &mut input)?;
    let mut member = (&mut input).take(header.size);
    check_data(path, &header, &mut member, &mut expected, budget)?;
    finish_member(path, member, &header)?;
    if let Some(missing) = expected.keys().next() {
        return Err(bad(format!(
            "md5sums lists `{missing}`, which data.tar does not hold"
        )));
    }
    // dpkg ignores members after data.tar whose names start with `_`; anything else is refused.
    while let Some(extra) = ar::next_header(path, &mut input)? {
        if !extra.name.starts_with('_') {
            return Err(bad(format!(
                "unexpected member `{}` after data.tar",
                extra.name
            )));
        }
        ar::skip_rest(path, &mut input, extra.size, 0)?;
    }
    let sha256 = {
        io::copy(&mut input, &mut io::sink()).map_err(|e| PackageError::io("read", path, e))?;
        hex::encode(sha2::Digest::finalize(input.into_inner().into_hasher()))
    };
    Ok(package_info(
        fields,
        name,
        version,
        arch,
        sha256,
        file_size,
        installed_kib,
    ))
}

/// Path → MD5 from the `md5sums` file of the package `path`.
fn parse_md5sums(path: &Path, text: &str) -> Result<BTreeMap<String, String>, PackageError> {
    let mut expected = BTreeMap::new();
    for line in text.lines() {
        let (sum, file) = line
            .split_once("  ")
            .or_else(|| line.split_once(' '))
            .ok_or_else(|| {
                PackageError::malformed(
                    path,
                    format!("md5sums line `{line}` is not `<md5>  <path>`"),
                )
            })?;
        let file = validate::entry_path(path, file.trim())?;
        expected.insert(file, sum.trim().to_ascii_lowercase());
    }
    Ok(expected)
}

fn package_info(
    fields: Vec<(String, String)>,
    name: String,
    version: String,
    arch: String,
    sha256: String,
    file_size: u64,
    installed_kib: u64,
) -> PackageInfo {
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let list = |key: &str| -> Vec<String> {
        get(key)
            .map(|v| {
                v.split(',')
                    .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|d| !d.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    PackageInfo {
        format: PackageFormat::Deb,
        url: get("Homepage").unwrap_or_default(),
        license: String::new(),
        maintainer: get("Maintainer").unwrap_or_default(),
        depends: list("Depends"),
        provides: list("Provides"),
        origin: get("Source")
            .and_then(|s| s.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| name.clone()),
        build_date: None,
        control_sha1: None,
        signer: None,
        description: get("Description")
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        control_fields: fields,
        sha256,
        name,
        version,
        arch,
        file_size,
        installed_size: installed_kib * 1024,
    }
}

/// The `control` and `md5sums` files of the control member of the package `path`.
fn read_control_files(
    path: &Path,
    header: &ar::Header,
    member: &mut impl Read,
    budget: &Budget,
) -> Result<(Option<String>, Option<String>), PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    let mut control = None;
    let mut md5sums = None;
    let reader = decompressor(&header.name, member)
        .ok_or_else(|| bad(format!("unsupported control member `{}`", header.name)))?;
    let mut archive = tar::Archive::new(Limited::new(
        budget.count(reader),
        limits::CONTROL,
        "the control member",
    ));
    for_each_entry(path, &mut archive, budget, &header.name, |item, data| {
        let name = validate::entry_path(path, &item.name())?;
        let slot = match name.as_str() {
            "control" => &mut control,
            "md5sums" => &mut md5sums,
            _ => return Ok(()),
        };
        let mut text = String::new();
        data.read_to_string(&mut text)
            .map_err(|_| bad(format!("`{name}` is not UTF-8 text")))?;
        *slot = Some(text);
        Ok(())
    })
    .map_err(|e| e.within(&header.name))?;
    drain(path, archive.into_inner(), &header.name)?;
    Ok((control, md5sums))
}

/// Reads a decompressed member to its end: a tar reader stops at the end-of-archive blocks,
/// and only the end of a compressed stream carries its check (gzip's CRC-32 and size, xz's
/// check), so a changed byte is caught only by reading that far.
pub(crate) fn drain(path: &Path, mut reader: impl Read, what: &str) -> Result<(), PackageError> {
    io::copy(&mut reader, &mut io::sink())
        .map(|_| ())
        .map_err(|e| PackageError::malformed(path, format!("{what}: {e}")))
}

/// Checks each regular file of the data member of the package `path` that `expected` lists
/// (path → MD5), removing the ones seen; paths must be safe.
fn check_data(
    path: &Path,
    header: &ar::Header,
    member: &mut impl Read,
    expected: &mut BTreeMap<String, String>,
    budget: &Budget,
) -> Result<(), PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    let reader = decompressor(&header.name, member)
        .ok_or_else(|| bad(format!("unsupported data member `{}`", header.name)))?;
    let mut archive = tar::Archive::new(budget.count(reader));
    let mut count = 0usize;
    for_each_entry(path, &mut archive, budget, &header.name, |item, data| {
        count += 1;
        if count > limits::ENTRIES {
            return Err(bad(format!("more than {} entries", limits::ENTRIES)));
        }
        let name = validate::entry_path(path, &item.name())?;
        if !item.kind.is_file() {
            return Ok(());
        }
        if let Some(sum) = expected.remove(&name) {
            let mut hasher = md5::Md5::new();
            crate::stream::digest_reader(data, |chunk| hasher.update(chunk))
                .map_err(|e| bad(e.to_string()))?;
            let actual = hex::encode(hasher.finalize());
            if actual != sum {
                return Err(bad(format!(
                    "`{name}` has MD5 {actual}, md5sums says {sum}"
                )));
            }
        }
        Ok(())
    })
    .map_err(|e| e.within(&header.name))?;
    drain(path, archive.into_inner(), &header.name)
}

/// Reads what the decoder left of a member of the package `path` (end blocks, trailing
/// bytes) and its padding.
pub(crate) fn finish_member<R: Read>(
    path: &Path,
    mut member: io::Take<R>,
    header: &ar::Header,
) -> Result<(), PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    io::copy(&mut member, &mut io::sink()).map_err(|e| bad(e.to_string()))?;
    if member.limit() != 0 {
        return Err(bad(format!("the ar member `{}` is truncated", header.name)));
    }
    if header.size % 2 == 1 {
        let mut pad = [0u8; 1];
        // The last member's padding may be missing; what matters is that nothing else follows.
        let _ = member
            .into_inner()
            .read(&mut pad)
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}
