//! The publication order against an in-memory destination.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boxwright_http::RetryPolicy;
use sha2::Digest as _;

use crate::{Content, Destination, Digests, Error, Object, Options, Progress, PublishObserver};

/// Objects in memory, with a log of every call and ways to misbehave.
#[derive(Default)]
struct Memory {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    /// `put NAME` and `read NAME`, in order.
    log: Mutex<Vec<String>>,
    /// Puts still to fail with a 503.
    flaky_puts: Mutex<u32>,
    /// An object stored with a byte flipped.
    corrupts: Option<String>,
}

impl Memory {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn puts(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter_map(|entry| entry.strip_prefix("put ").map(str::to_string))
            .collect()
    }
}

impl Destination for Memory {
    fn name(&self, relative: &str) -> String {
        format!("memory://{relative}")
    }

    async fn digests(&self, relative: &str) -> Result<Option<Digests>, Error> {
        self.log.lock().unwrap().push(format!("read {relative}"));
        Ok(self
            .objects
            .lock()
            .unwrap()
            .get(relative)
            .map(|bytes| Digests {
                size: bytes.len() as u64,
                sha256: hex::encode(sha2::Sha256::digest(bytes)),
            }))
    }

    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        progress: &Progress,
    ) -> Result<(), Error> {
        self.log.lock().unwrap().push(format!("put {relative}"));
        {
            let mut flaky = self.flaky_puts.lock().unwrap();
            if *flaky > 0 {
                *flaky -= 1;
                return Err(Error::Status {
                    url: self.name(relative),
                    status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
                    body: String::new(),
                });
            }
        }
        let mut bytes = content.read().await?;
        if self.corrupts.as_deref() == Some(relative) {
            bytes[0] ^= 1;
        }
        progress.add(bytes.len() as u64);
        self.objects
            .lock()
            .unwrap()
            .insert(relative.to_string(), bytes);
        Ok(())
    }
}

/// Records what the publication reports.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl PublishObserver for Recorder {
    fn retrying(&self, what: &str, attempt: u32, _error: &Error, _wait: Duration) {
        self.0
            .lock()
            .unwrap()
            .push(format!("retrying {what} {attempt}"));
    }
    fn verified(&self, object: &str, _name: &str, size: u64) {
        self.0
            .lock()
            .unwrap()
            .push(format!("verified {object} {size}"));
    }
    fn unchanged(&self, object: &str, _name: &str) {
        self.0.lock().unwrap().push(format!("unchanged {object}"));
    }
}

/// A release: an artifact, the versioned pair and the stable pair.
fn objects<'a>(artifact: &'a [u8], manifest: &'a [u8]) -> Vec<Object<'a>> {
    let object = |relative: &str, content, stable| Object {
        relative: relative.to_string(),
        content: Content::Bytes(content),
        stable,
    };
    vec![
        object("t-1/a", artifact, false),
        object("t-1/manifest.json", manifest, false),
        object("t-1/manifest.json.sig", b"sig", false),
        object("manifest.json", manifest, true),
        object("manifest.json.sig", b"sig", true),
    ]
}

fn options(force: bool) -> Options {
    Options {
        force,
        retry: RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(1),
        },
    }
}

async fn run(
    memory: &Memory,
    objects: &[Object<'_>],
    force: bool,
) -> (Result<crate::Published, Error>, Vec<String>) {
    let recorder = Arc::new(Recorder::default());
    let observer: Arc<dyn PublishObserver> = recorder.clone();
    let result = crate::publish(memory, objects, &options(force), &observer).await;
    let events = recorder.0.lock().unwrap().clone();
    (result, events)
}

#[tokio::test(flavor = "current_thread")]
async fn versioned_objects_are_written_and_read_back_before_the_stable_pair() {
    let memory = Memory::default();
    let (published, events) = run(&memory, &objects(b"abc", b"{}"), false).await;
    let published = published.unwrap();
    assert_eq!(
        published.written,
        [
            "t-1/a",
            "t-1/manifest.json",
            "t-1/manifest.json.sig",
            "manifest.json",
            "manifest.json.sig"
        ]
    );
    // Everything compared first, then each write followed by its read-back.
    let log = memory.log();
    assert!(
        log[..5].iter().all(|entry| entry.starts_with("read ")),
        "{log:?}"
    );
    let writes: Vec<&[String]> = log[5..].chunks(2).collect();
    for (pair, relative) in writes.iter().zip(&published.written) {
        assert_eq!(pair[0], format!("put {relative}"));
        assert_eq!(pair[1], format!("read {relative}"));
    }
    assert_eq!(events[0], "verified t-1/a 3");
    assert_eq!(published.base, "memory:");

    // Published again: nothing written.
    let (again, events) = run(&memory, &objects(b"abc", b"{}"), false).await;
    assert!(again.unwrap().written.is_empty());
    assert_eq!(events.len(), 5);
    assert!(
        events.iter().all(|e| e.starts_with("unchanged")),
        "{events:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_read_back_leaves_the_stable_pair_unwritten() {
    let memory = Memory {
        corrupts: Some("t-1/manifest.json".into()),
        ..Memory::default()
    };
    memory
        .objects
        .lock()
        .unwrap()
        .insert("manifest.json".into(), b"old".to_vec());
    let (result, _) = run(&memory, &objects(b"abc", b"{}"), false).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, Error::ReadBackDiffers { name, .. } if name == "memory://t-1/manifest.json"),
        "{error}"
    );
    assert_eq!(memory.puts(), ["t-1/a", "t-1/manifest.json"]);
    assert_eq!(memory.objects.lock().unwrap()["manifest.json"], b"old");
}

#[tokio::test(flavor = "current_thread")]
async fn a_flaky_destination_is_retried_and_a_lasting_failure_stops() {
    let memory = Memory::default();
    *memory.flaky_puts.lock().unwrap() = 2;
    let (published, events) = run(&memory, &objects(b"abc", b"{}"), false).await;
    assert_eq!(published.unwrap().written.len(), 5);
    assert_eq!(events[..2], ["retrying t-1/a 1", "retrying t-1/a 2"]);
    assert_eq!(memory.puts()[..3], ["t-1/a", "t-1/a", "t-1/a"]);

    // Three failures exhaust three attempts: nothing after the artifact is written.
    let memory = Memory::default();
    *memory.flaky_puts.lock().unwrap() = 3;
    let (result, _) = run(&memory, &objects(b"abc", b"{}"), false).await;
    let error = result.unwrap_err();
    assert!(matches!(error, Error::Status { .. }), "{error}");
    assert!(error.is_transient());
    assert_eq!(memory.puts(), ["t-1/a", "t-1/a", "t-1/a"]);
    assert!(memory.objects.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn versioned_objects_are_immutable_unless_forced_and_stable_ones_are_replaced() {
    let memory = Memory::default();
    run(&memory, &objects(b"abc", b"{}"), false)
        .await
        .0
        .unwrap();
    // A new manifest: the stable pair may change, a versioned object may not.
    let (result, _) = run(&memory, &objects(b"abd", b"{ }"), false).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, Error::Immutable { name } if name == "memory://t-1/a"),
        "{error}"
    );
    assert!(error.to_string().contains("--force"));
    assert_eq!(memory.objects.lock().unwrap()["t-1/a"], b"abc");

    let (published, _) = run(&memory, &objects(b"abd", b"{ }"), true).await;
    let published = published.unwrap();
    assert_eq!(
        published.unchanged,
        ["t-1/manifest.json.sig", "manifest.json.sig"]
    );
    assert_eq!(memory.objects.lock().unwrap()["manifest.json"], b"{ }");
}

#[tokio::test(flavor = "current_thread")]
async fn digests_of_a_stream_match_the_content_and_name_a_failed_chunk() {
    let chunks: Vec<Result<&[u8], u16>> = vec![Ok(b"abc"), Ok(b""), Ok(b"defg")];
    let digests = Digests::of_stream(futures_util::stream::iter(chunks), |_| unreachable!())
        .await
        .unwrap();
    assert_eq!(digests, Content::Bytes(b"abcdefg").digests().unwrap());

    let failing: Vec<Result<&[u8], u16>> = vec![Ok(b"abc"), Err(503)];
    let error = Digests::of_stream(futures_util::stream::iter(failing), |status| {
        Error::Status {
            url: "https://example.invalid/x".into(),
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            body: String::new(),
        }
    })
    .await
    .unwrap_err();
    assert!(error.to_string().contains("example.invalid/x"), "{error}");
}
