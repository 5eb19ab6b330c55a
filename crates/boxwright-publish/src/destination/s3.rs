//! An S3 bucket (or an S3-compatible server) through `object_store`.

use std::sync::Arc;

use object_store::ObjectStoreExt as _;
use tokio::io::AsyncWriteExt as _;

use super::Destination;
use crate::object::{Content, Digests};
use crate::{Error, Progress};

/// The S3 client's configuration: `AWS_*` variables (endpoint, region, credentials,
/// `AWS_ALLOW_HTTP`...) as name and value, as the caller read them from its environment.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub variables: Vec<(String, String)>,
}

/// `s3://BUCKET/PREFIX`: a target's objects below `PREFIX/<target>/`.
pub struct S3Destination {
    store: Arc<dyn object_store::ObjectStore>,
    bucket: String,
    /// `PREFIX/<target>`, without slashes at either end.
    base: String,
}

impl S3Destination {
    /// The destination of `location` (`BUCKET[/PREFIX]`) for `target`'s objects.
    pub fn new(
        location: &str,
        target: &str,
        settings: &S3Settings,
    ) -> Result<S3Destination, Error> {
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err(Error::NoBucket {
                location: location.to_string(),
            });
        }
        let prefix = prefix.trim_matches('/');
        let base = if prefix.is_empty() {
            target.to_string()
        } else {
            format!("{prefix}/{target}")
        };
        // object_store's client uses the process's rustls provider: ring, as everywhere in
        // boxwright (a second install is a no-op error).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 5,
            retry_timeout: std::time::Duration::from_secs(120),
        };
        let mut builder = object_store::aws::AmazonS3Builder::new();
        for (name, value) in &settings.variables {
            if let Ok(key) = name.to_ascii_lowercase().parse() {
                builder = builder.with_config(key, value);
            }
        }
        let store = builder
            .with_bucket_name(bucket)
            .with_retry(retry)
            .build()
            .map_err(|source| Error::S3Setup { source })?;
        Ok(S3Destination {
            store: Arc::new(store),
            bucket: bucket.to_string(),
            base,
        })
    }

    fn path(&self, relative: &str) -> Result<object_store::path::Path, Error> {
        let key = format!("{}/{relative}", self.base);
        object_store::path::Path::parse(&key).map_err(|source| Error::ObjectKey { key, source })
    }

    async fn put_file(
        &self,
        path: object_store::path::Path,
        file: &std::path::Path,
        name: String,
        progress: &Progress,
    ) -> Result<(), Error> {
        let mut from = tokio::fs::File::open(file)
            .await
            .map_err(|source| Error::Read {
                path: file.to_path_buf(),
                source,
            })?;
        // One PUT for small files, a multipart upload (completed only at the end) for large
        // ones.
        let mut writer = object_store::buffered::BufWriter::new(Arc::clone(&self.store), path);
        let mut buffer = vec![0_u8; 64 * 1024];
        loop {
            let read = tokio::io::AsyncReadExt::read(&mut from, &mut buffer).await;
            let written = match read {
                Ok(0) => break,
                Ok(n) => writer.write_all(&buffer[..n]).await.map(|()| n),
                Err(error) => Err(error),
            };
            match written {
                Ok(n) => progress.add(n as u64),
                Err(source) => {
                    // Cleans up a multipart upload that was started.
                    let _ = writer.abort().await;
                    return Err(Error::StoreCopy { name, source });
                }
            }
        }
        // Once shut down, the writer cannot be aborted (object_store panics): a failed single
        // PUT wrote nothing, and an unfinished multipart upload is never visible as the object.
        writer
            .shutdown()
            .await
            .map_err(|source| Error::StoreCopy { name, source })
    }
}

impl Destination for S3Destination {
    fn name(&self, relative: &str) -> String {
        format!("s3://{}/{}/{relative}", self.bucket, self.base)
    }

    async fn digests(&self, relative: &str) -> Result<Option<Digests>, Error> {
        let name = self.name(relative);
        let result = match self.store.get(&self.path(relative)?).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(source) => return Err(Error::StoreRead { name, source }),
        };
        let read = |source| Error::StoreRead {
            name: name.clone(),
            source,
        };
        Digests::of_stream(result.into_stream(), read)
            .await
            .map(Some)
    }

    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        progress: &Progress,
    ) -> Result<(), Error> {
        let path = self.path(relative)?;
        let name = self.name(relative);
        match content {
            Content::Bytes(bytes) => {
                self.store
                    .put(&path, bytes.to_vec().into())
                    .await
                    .map_err(|source| Error::StoreWrite { name, source })?;
                progress.add(bytes.len() as u64);
                Ok(())
            }
            Content::File(file) => self.put_file(path, file, name, progress).await,
        }
    }
}
