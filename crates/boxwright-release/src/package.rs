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
