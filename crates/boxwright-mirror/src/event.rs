//! What the orchestration tells its caller while it runs (the caller prints it, or not).

use std::fmt;

/// One step's news.
#[derive(Debug)]
pub enum Event<'a> {
    /// An upstream tag that is no version (shown with `-v`).
    SkippedTag { tag: &'a str, reason: &'a str },
    /// How many upstream tags were skipped.
    SkippedTags { target: &'a str, count: usize },
    /// A pair pushed by an earlier run, still in the registry.
    Reused {
        target: &'a str,
        pair: &'a str,
        digest: &'a str,
    },
    /// A pair about to be built.
    Building { target: &'a str, pair: &'a str },
    /// A pair pushed by digest.
    Pushed {
        target: &'a str,
        version: &'a str,
        arch: &'a str,
        repository: &'a str,
        digest: &'a str,
        uploaded: usize,
        skipped: usize,
    },
    /// Digests of unpinned downloads recorded in the lock file.
    Recorded { count: usize, lock: &'a str },
    /// A download that failed, when more than one did (the last is the error).
    FetchFailed {
        name: &'a str,
        error: &'a boxwright_fetch::Error,
    },
    /// A version's index merged (and tagged `latest`).
    Merged {
        target: &'a str,
        repository: &'a str,
        version: &'a str,
        latest: bool,
    },
    /// `latest` moved to a version merged before.
    MovedLatest { target: &'a str, version: &'a str },
    /// A platform image without a local layout: no SBOM or provenance for it.
    NotAttested {
        target: &'a str,
        version: &'a str,
        arch: &'a str,
    },
}

impl Event<'_> {
    /// Whether the event is a detail, shown only when asked for (`-v`).
    pub fn is_detail(&self) -> bool {
        matches!(self, Event::SkippedTag { .. })
    }
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::SkippedTag { tag, reason } => write!(f, "skipped tag {tag}: {reason}"),
            Event::SkippedTags { target, count } => {
                write!(f, "{target}: {count} upstream tags skipped (-v lists them)")
            }
            Event::Reused {
                target,
                pair,
                digest,
            } => write!(f, "{target}: {pair} was pushed before ({digest})"),
            Event::Building { target, pair } => write!(f, "{target}: building {pair}"),
            Event::Pushed {
                target,
                version,
                arch,
                repository,
                digest,
                uploaded,
                skipped,
            } => write!(
                f,
                "pushed {target} {version} {arch}: {repository}@{digest} ({uploaded} blobs \
                 uploaded, {skipped} already present)"
            ),
            Event::Recorded { count, lock } => write!(
                f,
                "recorded the digests of {count} downloads in {lock} (commit it: later fetches \
                 must match)"
            ),
            Event::FetchFailed { name, error } => write!(f, "cannot fetch `{name}`: {error}"),
            Event::Merged {
                target,
                repository,
                version,
                latest,
            } => write!(
                f,
                "{target}: merged {repository}:{version}{}",
                if *latest { " (latest)" } else { "" }
            ),
            Event::MovedLatest { target, version } => {
                write!(f, "{target}: moved latest to {version}")
            }
            Event::NotAttested {
                target,
                version,
                arch,
            } => write!(
                f,
                "{target}: no local image of {version} {arch}: its SBOM and provenance are not \
                 attested"
            ),
        }
    }
}
