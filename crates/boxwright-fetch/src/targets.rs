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
