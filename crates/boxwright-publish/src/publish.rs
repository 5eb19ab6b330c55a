//! The one place that orders a publication: every object compared first, then those that
//! differ written in order, each read back before the next, so the stable pair is replaced
//! only once every versioned object is in place and checked.

use std::sync::Arc;

use boxwright_http::RetryPolicy;
use serde::Serialize;

use crate::destination::Destination;
use crate::object::{Digests, Object};
use crate::{Error, Progress, PublishObserver};

/// How a publication treats what is there and failures on the way.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Replace versioned objects that exist with other contents.
    pub force: bool,
    /// Attempts of each write and read (transient failures only, [`Error::is_transient`]).
    pub retry: RetryPolicy,
}

impl Default for Options {
    /// No replacing; four attempts, 0.2 s apart, doubling.
    fn default() -> Self {
        Options {
            force: false,
            retry: RetryPolicy {
                attempts: 4,
                backoff: std::time::Duration::from_millis(200),
            },
        }
    }
}

/// What a publication did.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// The publication base: a path or URL.
    pub base: String,
    /// The objects written, in order.
    pub written: Vec<String>,
    /// The objects that already held the expected contents.
    pub unchanged: Vec<String>,
    /// What the written objects are called (paths or URLs).
    #[serde(skip)]
    pub written_names: Vec<String>,
}

/// Publishes `objects` (in publication order) to `destination`.
///
/// Every object is compared with what the destination holds before any is written: a
/// versioned object with other contents is refused ([`Error::Immutable`]) unless
/// `options.force`. Then each object that differs is written and read back (size and
/// SHA-256) before the next; a failed read-back stops the publication, so the stable objects
/// (last) are never written over an incomplete release. Transient failures of a write or read
/// are retried per `options.retry`.
pub async fn publish(
    destination: &impl Destination,
    objects: &[Object<'_>],
    options: &Options,
    observer: &Arc<dyn PublishObserver>,
) -> Result<Published, Error> {
    let mut plan = Vec::new();
    for object in objects {
        let expected = object.content.digests()?;
        let existing = retried(options, observer.as_ref(), &object.relative, || {
            destination.digests(&object.relative)
        })
        .await?;
        let same = existing.as_ref() == Some(&expected);
        if existing.is_some() && !same && !object.stable && !options.force {
            return Err(Error::Immutable {
                name: destination.name(&object.relative),
            });
        }
        plan.push((object, expected, same));
    }
    let mut published = Published {
        base: destination.name("").trim_end_matches('/').to_string(),
        written: Vec::new(),
        unchanged: Vec::new(),
        written_names: Vec::new(),
    };
    for (object, expected, same) in plan {
        let name = destination.name(&object.relative);
        if same {
            observer.unchanged(&object.relative, &name);
            published.unchanged.push(object.relative.clone());
            continue;
        }
        write(destination, object, &expected, options, observer).await?;
        observer.verified(&object.relative, &name, expected.size);
        published.written.push(object.relative.clone());
        published.written_names.push(name);
    }
    Ok(published)
}

/// Writes `object` and reads it back, expecting `expected`.
async fn write(
    destination: &impl Destination,
    object: &Object<'_>,
    expected: &Digests,
    options: &Options,
    observer: &Arc<dyn PublishObserver>,
) -> Result<(), Error> {
    let name = destination.name(&object.relative);
    observer.started(&object.relative, expected.size);
    let progress = Progress::new(Arc::clone(observer), &object.relative);
    retried(options, observer.as_ref(), &object.relative, || {
        progress.restart();
        destination.put(&object.relative, &object.content, &progress)
    })
    .await?;
    let actual = retried(options, observer.as_ref(), &object.relative, || {
        destination.digests(&object.relative)
    })
    .await
    .map_err(|source| Error::ReadBack {
        name: name.clone(),
        source: Box::new(source),
    })?;
    match actual {
        Some(actual) if actual == *expected => Ok(()),
        Some(actual) => Err(Error::ReadBackDiffers {
            name,
            actual_size: actual.size,
            actual_sha256: actual.sha256,
            size: expected.size,
            sha256: expected.sha256.clone(),
        }),
        None => Err(Error::ReadBackMissing { name }),
    }
}

/// `operation` with retries of transient failures, each reported to `observer`.
async fn retried<T, F, Fut>(
    options: &Options,
    observer: &dyn PublishObserver,
    what: &str,
    operation: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    options
        .retry
        .run(operation, Error::is_transient, |attempt, error, wait| {
            observer.retrying(what, attempt, error, wait);
        })
        .await
        .map_err(|(error, _)| error)
}
