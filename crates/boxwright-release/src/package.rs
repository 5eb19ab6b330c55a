use std::io::Write;
use std::path::{Path, PathBuf};

use boxwright_archive::{AtomicFile, DeterministicTar, HashingWriter, ParallelGzip};
use serde::Serialize;

use crate::{EntryKind, Error, ReleasePlan};

/// A written release archive.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseArchive {
    pub tag: String,
    pub target: String,
    pub path: PathBuf,
    pub checksum_path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub entries: usize,
}

/// What `release package` reports, with `--dry-run` or without: the same keys either way;
/// what only writing tells (`sha256`, `size`) is `null` in a dry run.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport<'a> {
    /// The release tag, e.g. `nginx-1.28.2.0`.
    pub tag: &'a str,
    pub target: &'a str,
    pub dry_run: bool,
    /// The archive, written or to be written.
    pub path: PathBuf,
    pub checksum_path: PathBuf,
    pub sha256: Option<&'a str>,
    pub size: Option<u64>,
    /// The archive's entries, sorted by path.
    pub entries: &'a [crate::PlannedEntry],
}

impl ReleasePlan {
    /// The report of this plan: of the written `archive`, or of a dry run into `out_dir`.
    pub fn report<'a>(
        &'a self,
        out_dir: &Path,
        archive: Option<&'a ReleaseArchive>,
    ) -> PackageReport<'a> {
        PackageReport {
            tag: &self.tag.tag,
            target: &self.tag.target,
            dry_run: archive.is_none(),
            path: archive.map_or_else(|| out_dir.join(self.archive_name()), |a| a.path.clone()),
            checksum_path: archive.map_or_else(
                || out_dir.join(format!("{}.sha256", self.archive_name())),
                |a| a.checksum_path.clone(),
            ),
            sha256: archive.map(|a| a.sha256.as_str()),
            size: archive.map(|a| a.size),
            entries: &self.entries,
        }
    }
}

/// Writes `<out_dir>/<tag>.tar.gz` (gzip `level`, compressed on `threads` threads) and its
/// `.sha256` file; entries carry `mtime`. Nothing appears under either final name unless
/// both are complete.
pub fn write(
    plan: &ReleasePlan,
    out_dir: &Path,
    mtime: u64,
    level: u32,
    threads: usize,
) -> Result<ReleaseArchive, Error> {
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(write_error(out_dir))?;
    let archive_path = out_dir.join(plan.archive_name());
    let checksum_path = out_dir.join(format!("{}.sha256", plan.archive_name()));

    let mut archive_file = AtomicFile::create(&archive_path).map_err(write_error(&archive_path))?;
    let hashing = HashingWriter::new(std::io::BufWriter::with_capacity(
        1 << 20,
        archive_file.file(),
    ));
    let gzip = ParallelGzip::new(hashing, level, threads).map_err(write_error(&archive_path))?;
    let mut tar = DeterministicTar::new(gzip, mtime);
    for entry in &plan.entries {
        let result = match &entry.kind {
            EntryKind::Directory => tar.append_dir(&entry.path),
            EntryKind::File(source) => {
                let file = std::fs::File::open(source).map_err(|e| Error::Read {
                    path: source.clone(),
                    source: e,
                })?;
                tar.append_file(&entry.path, file)
            }
            EntryKind::Symlink(target) => tar.append_symlink(&entry.path, target),
            EntryKind::Hardlink(first) => tar.append_hardlink(&entry.path, first),
        };
        result.map_err(write_error(&archive_path))?;
    }
    let gzip = tar.finish().map_err(write_error(&archive_path))?;
    let hashing = gzip.finish().map_err(write_error(&archive_path))?;
    let (mut buffered, sha256, size) = hashing.finish();
    buffered.flush().map_err(write_error(&archive_path))?;
    drop(buffered);

    let mut checksum_file =
        AtomicFile::create(&checksum_path).map_err(write_error(&checksum_path))?;
    writeln!(checksum_file, "{sha256}  {}", plan.archive_name())
        .map_err(write_error(&checksum_path))?;
    archive_file.commit().map_err(write_error(&archive_path))?;
    checksum_file
        .commit()
        .map_err(write_error(&checksum_path))?;
    Ok(ReleaseArchive {
        tag: plan.tag.tag.clone(),
        target: plan.tag.target.clone(),
        path: archive_path,
        checksum_path,
        sha256,
        size,
        entries: plan.entries.len(),
    })
}
