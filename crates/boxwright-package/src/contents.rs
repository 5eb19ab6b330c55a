//! A package's control files and data entries as an installer needs them: every data entry
//! with its kind, exact mode and numeric owner, and a reader of its content, streamed (never
//! the whole data member in memory). Reads go through the same bounded readers as
//! [`crate::inspect`]: a [`ReadLimits`] budget over all decompressed bytes, header records
//! refused past [`limits::HEADER`], paths checked (no `..`, no empty components).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use tar::EntryType;

use crate::bounded::{Budget, Item, for_each_entry};
use crate::error::PackageError;
use crate::limits::{self, ReadLimits};
use crate::stream::{Limited, Tee};
use crate::{apk, ar, deb, validate};

/// One file of a package's control member (`control`, `md5sums`, `conffiles`, `postinst`...;
/// apk: `.PKGINFO`, `.post-install`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlFile {
    /// The name without a leading `./`.
    pub name: String,
    /// Permission bits as the control tar has them (apk: 0644 or 0755, scripts executable).
    pub mode: u32,
    pub data: Vec<u8>,
}

/// What a package's control member holds.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Its regular files, in archive order.
    pub files: Vec<ControlFile>,
    /// apk: SHA-1 of the compressed control member (the index's `C:` checksum);
    /// `None` for a deb.
    pub apk_identity: Option<[u8; 20]>,
}

impl Control {
    /// The content of the control file `name`.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.data.as_slice())
    }
}

/// What a data entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataKind {
    Directory,
    /// A regular file; its content is the reader handed over with the entry.
    File,
    /// A symbolic link to the target, as written.
    Symlink(String),
    /// A hard link to an earlier entry's path (normalised like entry paths).
    HardLink(String),
    /// A character or block device, FIFO or another kind an image must not get.
    Special(&'static str),
}

/// One entry of a package's data member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataEntry {
    /// Relative, normalised (`usr/bin/x`: no `./`, no leading or trailing `/`).
    pub path: String,
    pub kind: DataKind,
    /// Permission bits, setuid, setgid and sticky included.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Content bytes of a regular file (0 otherwise).
    pub size: u64,
}

/// Reads the package at `path` (deb or apk, by its magic bytes): calls `visit` with each
/// data entry but the root (`./`) in archive order and a reader of its content, and returns
/// the control member. An error from `visit` stops the read and comes back as
/// [`PackageError::Malformed`] with its message.
pub fn read_contents(
    path: &Path,
    limits: &ReadLimits,
    mut visit: impl FnMut(&DataEntry, &mut dyn Read) -> Result<(), Refused>,
) -> Result<Control, PackageError> {
    let (file, size, format) = crate::open_package(path)?;
    let budget = Budget::new(limits, size);
    let result = match format {
        Some(crate::PackageFormat::Deb) => deb_contents(path, file, &budget, &mut visit),
        Some(crate::PackageFormat::Apk) => apk_contents(path, file, &budget, &mut visit),
        None => Err(PackageError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    };
    budget.explain(path, result)
}

/// A visitor's refusal of an entry: the read stops, and the reason comes back as
/// [`PackageError::Malformed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

type Visit<'a> = dyn FnMut(&DataEntry, &mut dyn Read) -> Result<(), Refused> + 'a;

fn deb_contents(
    path: &Path,
    file: File,
    budget: &Budget,
    visit: &mut Visit<'_>,
) -> Result<Control, PackageError> {
    let bad = |reason: String| PackageError::malformed(path, reason);
    let mut input = BufReader::new(file);
    let mut magic = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|_| bad("not an ar archive".into()))?;
    let mut control = None;
    let mut data_seen = false;
    while let Some(header) = ar::next_header(path, &mut input)? {
        let mut member = (&mut input).take(header.size);
        if header.name.starts_with("control.tar") {
            control = Some(deb_control(path, &header, &mut member, budget)?);
        } else if header.name.starts_with("data.tar") {
            deb_data(path, &header, &mut member, budget, visit)?;
            data_seen = true;
        }
        deb::finish_member(path, member, &header)?;
    }
    match (control, data_seen) {
        (Some(control), true) => Ok(control),
        _ => Err(bad("no control.tar or data.tar member".into())),
    }
}

fn deb_control(
    path: &Path,
    header: &ar::Header,
    member: &mut impl Read,
    budget: &Budget,
) -> Result<Control, PackageError> {
    let reader = deb::decompressor(&header.name, member).ok_or_else(|| {
        PackageError::malformed(
            path,
            format!("unsupported control member `{}`", header.name),
        )
    })?;
    let mut archive = tar::Archive::new(Limited::new(
        budget.count(reader),
        limits::CONTROL,
        "the control member",
    ));
    let mut files = Vec::new();
    for_each_entry(path, &mut archive, budget, &header.name, |item, data| {
        let name = validate::entry_path(path, &item.name())?;
        if item.kind.is_file() && !name.is_empty() {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes)
                .map_err(|e| PackageError::malformed(path, e.to_string()))?;
            files.push(ControlFile {
                name,
                mode: item.mode,
                data: bytes,
            });
        }
        Ok(())
    })
    .map_err(|e| e.within(&header.name))?;
    deb::drain(path, archive.into_inner(), &header.name)?;
    Ok(Control {
        files,
        apk_identity: None,
    })
}

fn deb_data(
    path: &Path,
    header: &ar::Header,
    member: &mut impl Read,
    budget: &Budget,
    visit: &mut Visit<'_>,
) -> Result<(), PackageError> {
    let reader = deb::decompressor(&header.name, member).ok_or_else(|| {
        PackageError::malformed(path, format!("unsupported data member `{}`", header.name))
    })?;
    let mut archive = tar::Archive::new(budget.count(reader));
    data_entries(path, &mut archive, budget, &header.name, visit)
        .map_err(|e| e.within(&header.name))?;
    deb::drain(path, archive.into_inner(), &header.name)
}

fn apk_contents(
    path: &Path,
    file: File,
    budget: &Budget,
    visit: &mut Visit<'_>,
) -> Result<Control, PackageError> {
    let mut tee = Tee::new(file);
    let control = apk::read_control(path, &mut tee, budget)?;
    let mut archive = tar::Archive::new(budget.count(flate2::bufread::GzDecoder::new(&mut tee)));
    data_entries(path, &mut archive, budget, "the data tar", visit)
        .map_err(|e| e.within("data tar"))?;
    deb::drain(path, archive.into_inner(), "the data tar")?;
    let files = control
        .files
        .into_iter()
        .map(|(name, data)| ControlFile {
            mode: if name.starts_with(".pre-") || name.starts_with(".post-") {
                0o755
            } else {
                0o644
            },
            name,
            data,
        })
        .collect();
    Ok(Control {
        files,
        apk_identity: Some(control.identity),
    })
}

/// Every entry of a data tar but its root, to `visit`.
fn data_entries<R: Read>(
    package: &Path,
    archive: &mut tar::Archive<R>,
    budget: &Budget,
    member: &str,
    visit: &mut Visit<'_>,
) -> Result<(), PackageError> {
    let bad = |reason: String| PackageError::malformed(package, reason);
    let mut count = 0usize;
    for_each_entry(package, archive, budget, member, |item, data| {
        count += 1;
        if count > limits::ENTRIES {
            return Err(bad(format!("more than {} entries", limits::ENTRIES)));
        }
        let path = validate::entry_path(package, &item.name())?;
        if path.is_empty() {
            return Ok(());
        }
        let entry = data_entry(package, item, path)?;
        visit(&entry, data).map_err(|Refused(reason)| bad(reason))?;
        // What the visitor left unread is skipped by the entry loop.
        io::copy(data, &mut io::sink()).map_err(|e| bad(e.to_string()))?;
        Ok(())
    })
}

fn data_entry(package: &Path, item: &Item, path: String) -> Result<DataEntry, PackageError> {
    let link = || String::from_utf8_lossy(item.link.as_deref().unwrap_or_default()).into_owned();
    let kind = match item.kind {
        EntryType::Directory => DataKind::Directory,
        EntryType::Regular | EntryType::Continuous => DataKind::File,
        EntryType::Symlink => DataKind::Symlink(link()),
        EntryType::Link => DataKind::HardLink(validate::entry_path(package, &link())?),
        EntryType::Char => DataKind::Special("character device"),
        EntryType::Block => DataKind::Special("block device"),
        EntryType::Fifo => DataKind::Special("FIFO"),
        _ => DataKind::Special("entry of an unknown type"),
    };
    let owner = |id: u64, what: &str| {
        u32::try_from(id).map_err(|_| {
            PackageError::malformed(package, format!("`{path}` has {what} {id}, over 32 bits"))
        })
    };
    Ok(DataEntry {
        kind,
        mode: item.mode,
        uid: owner(item.uid, "uid")?,
        gid: owner(item.gid, "gid")?,
        size: if item.kind.is_file() { item.size } else { 0 },
        path,
    })
}
