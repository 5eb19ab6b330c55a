//! The writing side of unpacking, shared by the tar and zip readers: every entry goes
//! through these checks before anything is created under the destination.

use std::collections::HashSet;
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::path::{display_name, normalise, symlink_target};
use super::{Format, Limits, Refusal, UnpackError, Unpacked};

/// Why one entry could not be extracted; the reader adds the archive and entry names.
#[derive(Debug)]
pub(super) enum EntryError {
    Refused(Refusal),
    /// Reading the entry's data from the archive failed.
    Read(io::Error),
    /// Creating or writing something under the destination failed.
    Write(io::Error),
}

impl From<Refusal> for EntryError {
    fn from(refusal: Refusal) -> Self {
        EntryError::Refused(refusal)
    }
}

/// The first components of everything extracted, to find a single top-level directory.
enum TopLevel {
    Nothing,
    One(PathBuf),
    Several,
}

const COPY_BUFFER: usize = 64 * 1024;

pub(super) struct Extractor<'a> {
    archive: &'a Path,
    format: Format,
    dest: &'a Path,
    limits: &'a Limits,
    /// Entries read, including those that wrote nothing.
    seen: u64,
    /// Entries that created something.
    extracted: u64,
    /// Bytes of entry data read, whether written or skipped.
    bytes: u64,
    /// Paths (relative to `dest`) known to be real directories. Directories are never removed
    /// or replaced, so an entry stays valid once checked.
    dirs: HashSet<PathBuf>,
    /// Regular files created by this archive, the only valid hard link targets.
    files: HashSet<PathBuf>,
    top: TopLevel,
    buf: Vec<u8>,
}

impl<'a> Extractor<'a> {
    pub(super) fn new(
        archive: &'a Path,
        format: Format,
        dest: &'a Path,
        limits: &'a Limits,
    ) -> Self {
        Extractor {
            archive,
            format,
            dest,
            limits,
            seen: 0,
            extracted: 0,
            bytes: 0,
            dirs: HashSet::new(),
            files: HashSet::new(),
            top: TopLevel::Nothing,
            buf: vec![0; COPY_BUFFER],
        }
    }

    pub(super) fn limits(&self) -> &Limits {
        self.limits
    }

    /// Counts one more entry of the archive.
    pub(super) fn count_entry(&mut self) -> Result<(), UnpackError> {
        self.seen += 1;
        if self.seen > self.limits.max_entries {
            return Err(self.too_many_entries());
        }
        Ok(())
    }

    pub(super) fn too_many_entries(&self) -> UnpackError {
        UnpackError::TooManyEntries {
            archive: self.archive.to_path_buf(),
            limit: self.limits.max_entries,
        }
    }

    /// The error for a failure while reading the archive outside any entry's data.
    pub(super) fn read_error(&self, source: io::Error) -> UnpackError {
        UnpackError::Read {
            archive: self.archive.to_path_buf(),
            format: self.format,
            entry: None,
            source,
        }
    }

    /// Adds the archive and entry names to an entry's error.
    pub(super) fn entry_error(&self, name: &[u8], error: EntryError) -> UnpackError {
        let archive = self.archive.to_path_buf();
        let entry = display_name(name);
        match error {
            EntryError::Refused(refusal) => UnpackError::Refused {
                archive,
                entry,
                refusal,
            },
            EntryError::Read(source) => UnpackError::Read {
                archive,
                format: self.format,
                entry: Some(entry),
                source,
            },
            EntryError::Write(source) => UnpackError::Write {
                archive,
                entry,
                dest: self.dest.to_path_buf(),
                source,
            },
        }
    }

    pub(super) fn archive(&self) -> &Path {
        self.archive
    }

    fn relative(&self, name: &[u8]) -> Result<Option<PathBuf>, Refusal> {
        normalise(name, self.limits.max_path_len)
    }

    /// A directory entry. Its mode keeps the permission bits, always with owner rwx, so that
    /// later entries can be written into it.
    pub(super) fn directory(&mut self, name: &[u8], mode: Option<u32>) -> Result<(), EntryError> {
        let Some(rel) = self.relative(name)? else {
            // `./`: the destination itself, which is the caller's and stays as it is.
            return Ok(());
        };
        self.make_parents(&rel)?;
        let full = self.dest.join(&rel);
        if !self.dirs.contains(&rel) {
            match fs::symlink_metadata(&full) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => DirBuilder::new()
                    .mode(0o700)
                    .create(&full)
                    .map_err(EntryError::Write)?,
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(Refusal::TypeConflict.into()),
                Err(e) => return Err(EntryError::Write(e)),
            }
            self.dirs.insert(rel.clone());
        }
        let mode = mode.map_or(0o755, |m| m & 0o777 | 0o700);
        // `full` is a real directory (created or checked with lstat above), so following it
        // cannot lead elsewhere.
        fs::set_permissions(&full, Permissions::from_mode(mode)).map_err(EntryError::Write)?;
        self.created(&rel);
        Ok(())
    }

    /// A regular file with the given content. The permission bits are kept without
    /// setuid/setgid/sticky, always readable and writable by the owner.
    pub(super) fn file(
        &mut self,
        name: &[u8],
        mode: Option<u32>,
        mtime: Option<SystemTime>,
        data: &mut dyn Read,
    ) -> Result<(), EntryError> {
        let rel = self.relative(name)?.ok_or(Refusal::IsDestination)?;
        self.make_parents(&rel)?;
        self.clear(&rel)?;
        let mut file = create_new(&self.dest.join(&rel))?;
        self.copy(data, Some(&mut file))?;
        let mode = mode.map_or(0o644, |m| m & 0o777 | 0o600);
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(EntryError::Write)?;
        if let Some(mtime) = mtime {
            file.set_modified(mtime).map_err(EntryError::Write)?;
        }
        self.files.insert(rel.clone());
        self.created(&rel);
        Ok(())
    }

    /// A symbolic link; see [`symlink_target`] for the rule on targets.
    pub(super) fn symlink(&mut self, name: &[u8], target: &[u8]) -> Result<(), EntryError> {
        let rel = self.relative(name)?.ok_or(Refusal::IsDestination)?;
        let target = symlink_target(&rel, target, self.limits.max_path_len)?;
        self.make_parents(&rel)?;
        self.clear(&rel)?;
        std::os::unix::fs::symlink(&target, self.dest.join(&rel)).map_err(EntryError::Write)?;
        self.created(&rel);
        Ok(())
    }

    /// A hard link to a regular file extracted earlier from the same archive; `target` is an
    /// archive name, normalised like entry names. Made as a real hard link (so it costs no
    /// space), or as a counted copy where the file system refuses hard links.
    pub(super) fn hardlink(&mut self, name: &[u8], target: &[u8]) -> Result<(), EntryError> {
        let rel = self.relative(name)?.ok_or(Refusal::IsDestination)?;
        let refused = || Refusal::HardlinkTarget {
            target: display_name(target),
        };
        let Ok(Some(target_rel)) = self.relative(target) else {
            return Err(refused().into());
        };
        if target_rel == rel || !self.files.contains(&target_rel) {
            return Err(refused().into());
        }
        let source = self.dest.join(&target_rel);
        let source_meta = match fs::symlink_metadata(&source) {
            Ok(meta) if meta.file_type().is_file() => meta,
            _ => return Err(refused().into()),
        };
        self.make_parents(&rel)?;
        self.clear(&rel)?;
        let full = self.dest.join(&rel);
        if fs::hard_link(&source, &full).is_err() {
            let mut from = File::open(&source).map_err(EntryError::Write)?;
            let mut to = create_new(&full)?;
            // Reading our own file: its errors are errors of the destination.
            self.copy(&mut from, Some(&mut to)).map_err(|e| match e {
                EntryError::Read(e) => EntryError::Write(e),
                other => other,
            })?;
            to.set_permissions(source_meta.permissions())
                .map_err(EntryError::Write)?;
        }
        self.files.insert(rel.clone());
        self.created(&rel);
        Ok(())
    }

    /// Reads and discards what is left of an entry's data, counting it against the limit.
    pub(super) fn skip(&mut self, data: &mut dyn Read) -> Result<(), EntryError> {
        self.copy(data, None)
    }

    /// Copies `data` into `out` (or nowhere), refusing before the total passes the limit.
    fn copy(&mut self, data: &mut dyn Read, mut out: Option<&mut File>) -> Result<(), EntryError> {
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(EntryError::Read(e)),
            };
            let total = self.bytes.saturating_add(n as u64);
            if total > self.limits.max_total_bytes {
                return Err(Refusal::SizeLimit {
                    limit: self.limits.max_total_bytes,
                }
                .into());
            }
            self.bytes = total;
            if let Some(out) = out.as_mut() {
                out.write_all(&self.buf[..n]).map_err(EntryError::Write)?;
            }
        }
    }

    /// Makes sure every parent of `rel` is a real directory inside the destination, creating
    /// missing ones (0755). A symbolic link anywhere in the chain is refused, so nothing is
    /// ever created through a link, whatever it points to.
    fn make_parents(&mut self, rel: &Path) -> Result<(), EntryError> {
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        let mut prefix = PathBuf::new();
        for part in parent.components() {
            prefix.push(part);
            if self.dirs.contains(&prefix) {
                continue;
            }
            let full = self.dest.join(&prefix);
            match fs::symlink_metadata(&full) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Refusal::ThroughSymlink {
                        link: prefix.display().to_string(),
                    }
                    .into());
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(Refusal::NotADirectory {
                        parent: prefix.display().to_string(),
                    }
                    .into());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => DirBuilder::new()
                    .mode(0o755)
                    .create(&full)
                    .map_err(EntryError::Write)?,
                Err(e) => return Err(EntryError::Write(e)),
            }
            self.dirs.insert(prefix.clone());
        }
        Ok(())
    }

    /// Before a non-directory entry: a later entry of the same name replaces an earlier file
    /// or link (as tar does), but never a directory. Removing a link removes the link only.
    fn clear(&mut self, rel: &Path) -> Result<(), EntryError> {
        if self.dirs.contains(rel) {
            return Err(Refusal::TypeConflict.into());
        }
        let full = self.dest.join(rel);
        match fs::symlink_metadata(&full) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Ok(meta) if meta.is_dir() => Err(Refusal::TypeConflict.into()),
            Ok(_) => {
                fs::remove_file(&full).map_err(EntryError::Write)?;
                self.files.remove(rel);
                Ok(())
            }
            Err(e) => Err(EntryError::Write(e)),
        }
    }

    fn created(&mut self, rel: &Path) {
        self.extracted += 1;
        let Some(first) = rel.components().next() else {
            return;
        };
        let first = Path::new(first.as_os_str());
        self.top = match std::mem::replace(&mut self.top, TopLevel::Nothing) {
            TopLevel::Nothing => TopLevel::One(first.to_path_buf()),
            TopLevel::One(seen) if seen == first => TopLevel::One(seen),
            _ => TopLevel::Several,
        };
    }

    pub(super) fn finish(self) -> Unpacked {
        let top_level = match self.top {
            TopLevel::One(first) if self.dirs.contains(&first) => Some(self.dest.join(first)),
            _ => None,
        };
        Unpacked {
            format: self.format,
            entries: self.extracted,
            bytes: self.bytes,
            top_level,
        }
    }
}

/// Creates a file that must not exist yet; `O_EXCL` also refuses a link at that name.
fn create_new(path: &Path) -> Result<File, EntryError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(EntryError::Write)
}
