//! The downloads of a project's targets, planned and fetched in one step, with the files that
//! arrived and the failures of the others kept apart (a failure does not stop the rest).

use boxwright_metadata::Project;

use crate::{Error, FetchOptions, FetchReport, Progress, fetch_all, plan};

/// What [`fetch_targets`] brought.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The files that are in the cache now, in plan order.
    pub reports: Vec<FetchReport>,
    /// The files that are not: their name and why.
    pub failures: Vec<(String, Error)>,
    /// How many files the plan held.
    pub total: usize,
}

/// Pins the downloads of `targets` (all when empty) that metadata.json leaves unpinned to
/// the digests in `metadata.lock.json` ([`crate::LockFile::pin`]); under `locked` one
/// pinned nowhere is an error. Nothing is written to the lock.
pub fn pin_targets(project: &mut Project, targets: &[String], locked: bool) -> Result<(), Error> {
    let lock_path = project.metadata.path.with_file_name(crate::LOCK_FILE);
    let lock = crate::LockFile::load(&lock_path)?;
    for (name, target) in &mut project.metadata.targets {
        if !targets.is_empty() && !targets.contains(name) {
            continue;
        }
        for download in &mut target.downloads {
            lock.pin(name, download, locked)?;
        }
    }
    Ok(())
}

/// Plans the downloads of `targets` (all when empty) and fetches them.
pub async fn fetch_targets(
    project: &Project,
    targets: &[String],
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<Fetched, Error> {
    let requests = plan(project, targets)?;
    if requests.is_empty() {
        return Ok(Fetched::default());
    }
    let results = fetch_all(&requests, options, progress).await?;
    let mut fetched = Fetched {
        total: requests.len(),
        ..Fetched::default()
    };
    for (request, result) in requests.iter().zip(results) {
        match result {
            Ok(report) => fetched.reports.push(report),
            Err(error) => fetched.failures.push((request.name.clone(), error)),
        }
    }
    Ok(fetched)
}
