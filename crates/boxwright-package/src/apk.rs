//! Alpine apk v2 packages: `gzip(cut signature tar) + gzip(cut control tar) + gzip(data tar)`
//! (facts in docs/packages.md): writing and checking.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use boxwright_archive::{AtomicFile, HashingWriter, ParallelGzip};
use boxwright_sign::rsa::RsaSigningKey;
use sha1::Digest as _;

use crate::bounded::{Budget, for_each_entry};
use crate::error::PackageError;
use crate::info::{PackageFormat, PackageInfo, format_arch};
use crate::limits::ReadLimits;
use crate::spec::{EntryKind, PackageSpec, with_parents};
use crate::stream::{Limited, Sink, Tee};
use crate::tarball::TarWriter;
use crate::{limits, validate};

/// The pax record apk-tools reads each file's SHA-1 from.
pub(crate) const CHECKSUM_RECORD: &str = "APK-TOOLS.checksum.SHA1";
/// gzip level of every member (abuild uses 9).
pub(crate) const LEVEL: u32 = 9;

/// gzip of `data` in one member, deterministic (gzip mtime 0, output independent of writes).
pub(crate) fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut gz = ParallelGzip::new(Vec::new(), LEVEL, 1)?;
    gz.write_all(data)?;
    gz.finish()
}

/// The signature member: a cut tar holding `.SIGN.RSA256.<key_name>` over `signed`.
pub(crate) fn signature_member(
    key: &RsaSigningKey,
    key_name: &str,
    signed: &[u8],
    mtime: u64,
) -> Result<Vec<u8>, PackageError> {
    let signature = key
        .sign_sha256(signed)
        .map_err(|source| PackageError::Sign {
            what: "the control member".into(),
            source,
        })?;
    let mut tar = TarWriter::new(Vec::new(), mtime);
    let name = format!(".SIGN.RSA256.{key_name}");
    let io = |e| PackageError::io("write", Path::new(&name), e);
    tar.file(
        &name,
        0o644,
        signature.len() as u64,
        signature.as_slice(),
        &[],
    )
    .map_err(io)?;
    gzip(&tar.finish_cut().map_err(io)?).map_err(io)
}

/// Writes `<out_dir>/<name>-<version>-r<revision>.apk`, signed with `key` for clients that
/// trust it as `/etc/apk/keys/<key_name>`. Returns the path written.
pub fn write(
    spec: &PackageSpec,
    key: &RsaSigningKey,
    key_name: &str,
    out_dir: &Path,
) -> Result<PathBuf, PackageError> {
    validate::apk_name(&spec.name)?;
    validate::apk_version(&spec.version)?;
    validate::key_name(key_name)?;
    let arch = format_arch(PackageFormat::Apk, &spec.arch);
    validate::arch(&arch)?;
    let pkgver = format!("{}-r{}", spec.version, spec.revision);
    let path = out_dir.join(format!("{}-{pkgver}.apk", spec.name));
    let err = |action: &'static str| {
        let path = path.clone();
        move |e| PackageError::io(action, &path, e)
    };

    // The data member first: its SHA-256 goes into .PKGINFO.
    let spool = tempfile::tempfile_in(out_dir).map_err(err("create a temporary file beside"))?;
    let gz = ParallelGzip::new(HashingWriter::new(spool), LEVEL, 2).map_err(err("write"))?;
    let mut tar = TarWriter::new(gz, spec.source_date_epoch);
    let mut installed = 0u64;
    for (name, entry) in with_parents(&spec.entries) {
        installed += 4096;
        match entry.map(|e| &e.kind) {
            None | Some(EntryKind::Dir) => tar.dir(&format!("{name}/")).map_err(err("write"))?,
            Some(EntryKind::File { source, executable }) => {
                let (sha1, size) = sha1_file(source)?;
                installed += size.div_ceil(4096) * 4096;
                let file = File::open(source).map_err(|e| PackageError::io("read", source, e))?;
                let mode = if *executable { 0o755 } else { 0o644 };
                tar.file(&name, mode, size, file, &[(CHECKSUM_RECORD, &sha1)])
                    .map_err(|e| PackageError::io("read", source, e))?;
            }
            Some(EntryKind::Content { data, executable }) => {
                let sha1 = hex::encode(sha1::Sha1::digest(data));
                installed += (data.len() as u64).div_ceil(4096) * 4096;
                let mode = if *executable { 0o755 } else { 0o644 };
                tar.file(
                    &name,
                    mode,
                    data.len() as u64,
                    data.as_slice(),
                    &[(CHECKSUM_RECORD, &sha1)],
                )
                .map_err(err("write"))?;
            }
            Some(EntryKind::Symlink { target }) => {
                let sha1 = hex::encode(sha1::Sha1::digest(target.as_bytes()));
                tar.symlink(&name, target, &[(CHECKSUM_RECORD, &sha1)])
                    .map_err(err("write"))?;
            }
        }
    }
    let gz = tar.finish().map_err(err("write"))?;
    let (mut spool, datahash, _) = gz.finish().map_err(err("write"))?.finish();

    let pkginfo = pkginfo(spec, &pkgver, &arch, installed.max(1), &datahash);
    let mut control = TarWriter::new(Vec::new(), spec.source_date_epoch);
    control
        .file(
            ".PKGINFO",
            0o644,
            pkginfo.len() as u64,
            pkginfo.as_bytes(),
            &[],
        )
        .map_err(err("write"))?;
    for (script, text) in &spec.scripts {
        let text = with_shebang(text);
        control
            .file(
                &format!(".{}", script.key()),
                0o755,
                text.len() as u64,
                text.as_bytes(),
                &[],
            )
            .map_err(err("write"))?;
    }
    let control = gzip(&control.finish_cut().map_err(err("write"))?).map_err(err("write"))?;
    let signature = signature_member(key, key_name, &control, spec.source_date_epoch)?;

    let mut out = AtomicFile::create(&path).map_err(err("create"))?;
    out.write_all(&signature).map_err(err("write"))?;
    out.write_all(&control).map_err(err("write"))?;
    io::Seek::rewind(&mut spool).map_err(err("write"))?;
    io::copy(&mut spool, &mut out).map_err(err("write"))?;
    out.commit().map_err(err("write"))
}

/// A script as apk runs it: with a `#!/bin/sh` line unless it has one.
pub(crate) fn with_shebang(text: &str) -> String {
    let mut text = if text.starts_with("#!") {
        text.to_string()
    } else {
        format!("#!/bin/sh\n{text}")
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn pkginfo(spec: &PackageSpec, pkgver: &str, arch: &str, size: u64, datahash: &str) -> String {
    use std::fmt::Write as _;
    let one_line = |s: &str| s.replace(['\n', '\r'], " ");
    let mut out = String::from("# Generated by boxwright\n");
    let mut field = |key: &str, value: &str| {
        let _ = writeln!(out, "{key} = {}", one_line(value));
    };
    field("pkgname", &spec.name);
    field("pkgver", pkgver);
    field(
        "pkgdesc",
        spec.description.lines().next().unwrap_or(&spec.name),
    );
    if !spec.url.is_empty() {
        field("url", &spec.url);
    }
    field("builddate", &spec.source_date_epoch.to_string());
    if !spec.maintainer.is_empty() {
        field("packager", &spec.maintainer);
    }
    field("size", &size.to_string());
    field("arch", arch);
    field(
        "origin",
        if spec.origin.is_empty() {
            &spec.name
        } else {
            &spec.origin
        },
    );
    if !spec.maintainer.is_empty() {
        field("maintainer", &spec.maintainer);
    }
    if !spec.license.is_empty() {
        field("license", &spec.license);
    }
    for depend in &spec.depends {
        field("depend", depend);
    }
    for provide in &spec.provides {
        field("provides", provide);
    }
    field("datahash", datahash);
    out
}

fn sha1_file(path: &Path) -> Result<(String, u64), PackageError> {
    let mut file = File::open(path).map_err(|e| PackageError::io("read", path, e))?;
    let mut hasher = sha1::Sha1::new();
    let size = crate::stream::digest_reader(&mut file, |chunk| hasher.update(chunk))
        .map_err(|e| PackageError::io("read", path, e))?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// The parsed `.PKGINFO` and facts of the signature and control members.
pub(crate) struct Control {
    pub fields: Vec<(String, String)>,
    /// Every regular file of the control tar (`.PKGINFO`, install scripts, `.trigger`).
    pub files: Vec<(String, Vec<u8>)>,
    pub identity: [u8; 20],
    pub signer: Option<(String, Vec<u8>)>,
    pub member: Vec<u8>,
}

impl Control {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The fields an index signs, checked as upload checks them: a signature entry, then
    /// `pkgname`, `pkgver`, `arch` by the rules of `validate`, `size` above 0, a `datahash`.
    fn facts(&self, path: &Path) -> Result<Facts, PackageError> {
        let bad = |reason: String| PackageError::malformed(path, reason);
        if self.signer.is_none() {
            return Err(bad(
                "no signature member (`.SIGN.RSA256.<key>`): the package is unsigned".into(),
            ));
        }
        let required = |key: &str| {
            self.get(key)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| bad(format!(".PKGINFO has no `{key}`")))
        };
        let name = required("pkgname")?;
        let version = required("pkgver")?;
        let arch = required("arch")?;
        validate::apk_name(&name).map_err(|e| bad(e.to_string()))?;
        validate::arch(&arch).map_err(|e| bad(e.to_string()))?;
        validate::apk_full_version(&version).map_err(|e| bad(e.to_string()))?;
        let installed_size: u64 = required("size")?
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                bad(".PKGINFO `size` is not a number above 0 (0 means a virtual package)".into())
            })?;
        let datahash = required("datahash")?;
        Ok(Facts {
            name,
            version,
            arch,
            installed_size,
            datahash,
        })
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split_whitespace().map(str::to_string))
            .collect()
    }

    /// The package's facts: the checked [`Facts`], the rest from `.PKGINFO` and the members.
    fn into_info(self, facts: Facts, file_size: u64, sha256: String) -> PackageInfo {
        let Facts {
            name,
            version,
            arch,
            installed_size,
            ..
        } = facts;
        PackageInfo {
            format: PackageFormat::Apk,
            description: self.get("pkgdesc").unwrap_or_default().to_string(),
            url: self.get("url").unwrap_or_default().to_string(),
            license: self.get("license").unwrap_or_default().to_string(),
            maintainer: self.get("maintainer").unwrap_or_default().to_string(),
            origin: self.get("origin").unwrap_or(&name).to_string(),
            build_date: self.get("builddate").and_then(|d| d.parse().ok()),
            depends: self.all("depend"),
            provides: self.all("provides"),
            control_sha1: Some(self.identity),
            signer: self.signer.map(|(k, _)| k),
            control_fields: self.fields.clone(),
            sha256,
            name,
            version,
            arch,
            file_size,
            installed_size,
        }
    }
}

/// The `.PKGINFO` fields checked by [`Control::facts`].
struct Facts {
    name: String,
    version: String,
    arch: String,
    installed_size: u64,
    datahash: String,
}

/// Reads an apk's signature and control members (not the data), checking their structure.
/// The reader is left at the start of the data member.
pub(crate) fn read_control<R: Read>(
    path: &Path,
    tee: &mut Tee<R>,
    budget: &Budget,
) -> Result<Control, PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    // Member 1: the signature tar (a signed package) or the control tar (an unsigned one).
    tee.take_sink(Sink::Keep(Vec::new()));
    let first = gunzip_member(path, tee, budget, "the first gzip member")?;
    let Sink::Keep(first_member) = tee.take_sink(Sink::Keep(Vec::new())) else {
        unreachable!("set above")
    };
    let first_entries = cut_tar_entries(path, &first, budget, "first")?;
    let is_signature = first_entries
        .first()
        .is_some_and(|(name, _)| name.starts_with(".SIGN."));
    let (signer, control, control_member) = if is_signature {
        let (name, signature) = first_entries.into_iter().next().expect("checked non-empty");
        let key = name
            .strip_prefix(".SIGN.RSA256.")
            .or_else(|| name.strip_prefix(".SIGN.RSA512."))
            .or_else(|| name.strip_prefix(".SIGN.RSA."))
            .filter(|k| !k.is_empty())
            .ok_or_else(|| bad(format!("unknown signature entry `{name}`")))?;
        let control = gunzip_member(path, tee, budget, "the control member")?;
        let Sink::Keep(member) = tee.take_sink(Sink::None) else {
            unreachable!("set above")
        };
        (Some((key.to_string(), signature)), control, member)
    } else {
        tee.take_sink(Sink::None);
        (None, first, first_member)
    };
    let entries = cut_tar_entries(path, &control, budget, "control")?;
    let (first_name, pkginfo) = entries
        .first()
        .ok_or_else(|| bad("the control tar is empty".into()))?;
    if first_name != ".PKGINFO" {
        return Err(bad(format!(
            "the control tar starts with `{first_name}`, not `.PKGINFO`"
        )));
    }
    let text = std::str::from_utf8(pkginfo).map_err(|_| bad(".PKGINFO is not UTF-8".into()))?;
    let mut fields = Vec::new();
    let text = text.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(" = ")
            .ok_or_else(|| bad(format!(".PKGINFO line `{line}` is not `key = value`")))?;
        fields.push((key.to_string(), value.to_string()));
    }
    Ok(Control {
        fields,
        files: entries,
        identity: sha1::Sha1::digest(&control_member).into(),
        signer,
        member: control_member,
    })
}

/// Decompresses one gzip member from `tee`, at most [`limits::CONTROL`] bytes.
pub(crate) fn gunzip_member<R: Read>(
    path: &Path,
    tee: &mut Tee<R>,
    budget: &Budget,
    what: &'static str,
) -> Result<Vec<u8>, PackageError> {
    let mut out = Vec::new();
    let decoder = budget.count(flate2::bufread::GzDecoder::new(&mut *tee));
    Limited::new(decoder, limits::CONTROL, what)
        .read_to_end(&mut out)
        .map_err(|e| PackageError::malformed(path, format!("{what}: {e}")))?;
    if out.is_empty() {
        return Err(PackageError::malformed(
            path,
            format!("{what} is missing or empty"),
        ));
    }
    Ok(out)
}

/// The regular-file entries of a cut tar (no end-of-archive blocks), name → content.
fn cut_tar_entries(
    path: &Path,
    bytes: &[u8],
    budget: &Budget,
    which: &str,
) -> Result<Vec<(String, Vec<u8>)>, PackageError> {
    let member = format!("{which} tar");
    let mut archive = tar::Archive::new(bytes);
    let mut entries = Vec::new();
    let mut end = 0u64;
    for_each_entry(
        path,
        &mut archive,
        budget,
        &format!("the {member}"),
        |item, data| {
            end = item.end;
            if item.kind.is_file() {
                let mut content = Vec::new();
                data.read_to_end(&mut content)
                    .map_err(|e| PackageError::malformed(path, e.to_string()))?;
                entries.push((item.name(), content));
            }
            Ok(())
        },
    )
    .map_err(|e| e.within(&member))?;
    if end != bytes.len() as u64 {
        return Err(PackageError::malformed(
            path,
            format!(
                "{member}: not cut: it has end-of-archive blocks or data after its last entry (apk stops reading there)"
            ),
        ));
    }
    Ok(entries)
}

/// Reads and checks an apk fully within `budget` (see [`crate::inspect`]).
pub(crate) fn inspect(
    path: &Path,
    file: File,
    file_size: u64,
    budget: &Budget,
) -> Result<PackageInfo, PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    let mut tee = Tee::new(sha256_reader(file));
    let control = read_control(path, &mut tee, budget)?;
    let facts = control.facts(path)?;

    tee.take_sink(Sink::Sha256(sha2::Sha256::default()));
    check_data(path, &mut tee, budget)?;
    let Sink::Sha256(hasher) = tee.take_sink(Sink::None) else {
        unreachable!("set above")
    };
    let actual = hex::encode(sha2::Digest::finalize(hasher));
    if actual != facts.datahash {
        return Err(bad(format!(
            "the data member's SHA-256 is {actual}, .PKGINFO `datahash` says {}",
            facts.datahash
        )));
    }
    if !tee
        .at_end()
        .map_err(|e| PackageError::io("read", path, e))?
    {
        return Err(bad("data after the third gzip member".into()));
    }
    let sha256 = tee.into_inner_sha256(path)?;
    Ok(control.into_info(facts, file_size, sha256))
}

/// Checks the data tar: directory entries before their contents, a per-file SHA-1 pax
/// record matching each regular file and symbolic link, safe paths, end-of-archive blocks.
fn check_data<R: Read>(path: &Path, tee: &mut Tee<R>, budget: &Budget) -> Result<(), PackageError> {
    let bad = |reason: String| PackageError::malformed(path, format!("data tar: {reason}"));
    let mut archive = tar::Archive::new(budget.count(flate2::bufread::GzDecoder::new(&mut *tee)));
    let mut dirs = BTreeSet::new();
    let mut count = 0usize;
    for_each_entry(path, &mut archive, budget, "the data tar", |item, data| {
        count += 1;
        if count > limits::ENTRIES {
            return Err(PackageError::malformed(
                path,
                format!("more than {} entries", limits::ENTRIES),
            ));
        }
        check_data_entry(path, item, data, &mut dirs)
    })
    .map_err(|e| e.within("data tar"))?;
    // What follows the last entry must be the end-of-archive zeros.
    let mut decoder = archive.into_inner();
    let mut rest = [0u8; 8192];
    loop {
        let n = decoder.read(&mut rest).map_err(|e| bad(e.to_string()))?;
        if n == 0 {
            break;
        }
        if rest[..n].iter().any(|b| *b != 0) {
            return Err(bad("data after the end-of-archive blocks".into()));
        }
    }
    Ok(())
}

/// One entry of the data tar of the package `path` (see [`check_data`]); `dirs` holds the
/// directories seen.
fn check_data_entry(
    path: &Path,
    item: &crate::bounded::Item,
    data: &mut dyn Read,
    dirs: &mut BTreeSet<String>,
) -> Result<(), PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    let name = validate::entry_path(path, &item.name())?;
    if let Some((parent, _)) = name.rsplit_once('/')
        && !dirs.contains(parent)
    {
        return Err(bad(format!(
            "`{name}` comes before an entry for its directory `{parent}/` (apk: no dirent in archive)"
        )));
    }
    let kind = item.kind;
    if kind.is_dir() {
        dirs.insert(name);
    } else if kind.is_file() || kind.is_symlink() {
        let expected = item
            .pax_value(CHECKSUM_RECORD)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .ok_or_else(|| bad(format!("`{name}` has no {CHECKSUM_RECORD} pax record")))?;
        let actual = if kind.is_symlink() {
            hex::encode(sha1::Sha1::digest(item.link.as_deref().unwrap_or_default()))
        } else {
            let mut hasher = sha1::Sha1::new();
            crate::stream::digest_reader(data, |chunk| hasher.update(chunk))
                .map_err(|e| bad(e.to_string()))?;
            hex::encode(hasher.finalize())
        };
        if actual != expected {
            return Err(bad(format!(
                "`{name}` has SHA-1 {actual}, its pax record says {expected}"
            )));
        }
    } else if !kind.is_hard_link()
        && !kind.is_character_special()
        && !kind.is_block_special()
        && !kind.is_fifo()
    {
        return Err(bad(format!("`{name}` has an unknown entry type")));
    }
    Ok(())
}

/// A file reader that also computes the SHA-256 of everything read (the file's digest).
pub(crate) struct Sha256Reader {
    file: File,
    hasher: sha2::Sha256,
}

pub(crate) fn sha256_reader(file: File) -> Sha256Reader {
    Sha256Reader {
        file,
        hasher: sha2::Sha256::default(),
    }
}

impl Sha256Reader {
    pub(crate) fn into_hasher(self) -> sha2::Sha256 {
        self.hasher
    }
}

impl Read for Sha256Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        Ok(n)
    }
}

impl Tee<Sha256Reader> {
    /// Reads what is left and returns the hex SHA-256 of the whole file.
    pub(crate) fn into_inner_sha256(self, path: &Path) -> Result<String, PackageError> {
        let mut reader = self.into_reader();
        io::copy(&mut reader, &mut io::sink()).map_err(|e| PackageError::io("read", path, e))?;
        Ok(hex::encode(sha2::Digest::finalize(
            reader.into_inner().hasher,
        )))
    }
}

/// The index facts of an apk from its signature and control members only (the repository
/// indexer's fast path), its fields checked as [`crate::inspect`] checks them; `sha256`
/// is the file's digest, which the caller computed.
pub(crate) fn read_index_info(
    path: &Path,
    limits: &ReadLimits,
    sha256: String,
) -> Result<PackageInfo, PackageError> {
    let file = File::open(path).map_err(|e| PackageError::io("open", path, e))?;
    let file_size = file
        .metadata()
        .map_err(|e| PackageError::io("read", path, e))?
        .len();
    let budget = Budget::new(limits, file_size);
    let result = read_control(path, &mut Tee::new(file), &budget).and_then(|control| {
        let facts = control.facts(path)?;
        Ok(control.into_info(facts, file_size, sha256))
    });
    budget.explain(path, result)
}

/// Checks an apk's signature with the PEM public key `public_pem` (`BEGIN PUBLIC KEY`)
/// trusted as `key_name`: the signature entry must name that key and verify over the
/// compressed control member.
pub fn verify_signature(path: &Path, public_pem: &str, key_name: &str) -> Result<(), PackageError> {
    let file = File::open(path).map_err(|e| PackageError::io("open", path, e))?;
    let file_size = file
        .metadata()
        .map_err(|e| PackageError::io("read", path, e))?
        .len();
    let budget = Budget::new(&ReadLimits::default(), file_size);
    let control = read_control(path, &mut Tee::new(file), &budget);
    let control = budget.explain(path, control)?;
    let (signer, signature) = control
        .signer
        .ok_or_else(|| PackageError::malformed(path, "the package is unsigned"))?;
    if signer != key_name {
        return Err(PackageError::malformed(
            path,
            format!("signed for key `{signer}`, not `{key_name}`"),
        ));
    }
    boxwright_sign::rsa::verify_sha256(public_pem, &control.member, &signature).map_err(|source| {
        PackageError::Sign {
            what: format!("{} (the signature does not verify)", path.display()),
            source,
        }
    })
}
