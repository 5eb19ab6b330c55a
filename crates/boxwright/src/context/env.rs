//! The process environment: boxwright's one reader of it, and the settings read from it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use boxwright_fetch::FetchOptions;
use boxwright_metadata::env_vars;

/// The process environment's `name` (unset and non-Unicode values are `None`). Every
/// variable boxwright reads is documented in `boxwright_metadata::env_vars`.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// [`var`] for paths and other values that need not be Unicode.
pub(super) fn var_os(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// The whole process environment (recorded by provenance, passed to recipes).
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

/// `SOURCE_DATE_EPOCH` when set: an error when it is not a whole number of seconds.
pub fn env_source_date_epoch() -> Result<Option<u64>> {
    let Some(value) = var(env_vars::SOURCE_DATE_EPOCH) else {
        return Ok(None);
    };
    value.trim().parse().map(Some).with_context(|| {
        format!(
            "{} must be a whole number of seconds, not {value:?}",
            env_vars::SOURCE_DATE_EPOCH
        )
    })
}

/// `SOURCE_DATE_EPOCH` when set to a whole number; anything else is ignored (repository
/// indexes and pulled files fall back to their own times).
pub fn env_source_date_epoch_lenient() -> Option<u64> {
    env_source_date_epoch().ok().flatten()
}

/// The fetch options: `--offline`, `--jobs` or `BOXWRIGHT_FETCH_JOBS`, and the attempts and
/// backoff of `BOXWRIGHT_FETCH_ATTEMPTS` and `BOXWRIGHT_FETCH_BACKOFF_MS`.
pub fn fetch_options(offline: bool, jobs: Option<usize>) -> Result<FetchOptions> {
    let defaults = FetchOptions::default();
    Ok(FetchOptions {
        offline,
        jobs: match jobs {
            Some(jobs) => jobs,
            None => env_number(env_vars::BOXWRIGHT_FETCH_JOBS)?.unwrap_or(defaults.jobs),
        },
        attempts: env_number(env_vars::BOXWRIGHT_FETCH_ATTEMPTS)?.unwrap_or(defaults.attempts),
        backoff: env_number(env_vars::BOXWRIGHT_FETCH_BACKOFF_MS)?
            .map_or(defaults.backoff, Duration::from_millis),
    })
}

fn env_number<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
    match var(name) {
        Some(value) => match value.trim().parse() {
            Ok(n) => Ok(Some(n)),
            Err(_) => bail!("{name} must be a whole number, not {value:?}"),
        },
        None => Ok(None),
    }
}
