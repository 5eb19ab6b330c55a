//! Base images from registries, kept on disk for `image build`: one OCI layout per manifest
//! digest and platform, so a base pinned by digest needs no request once pulled, and a base
//! given by tag costs one manifest request per build.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::{Client, Error, PullFormat, Reference};

/// A base image ready for use: an OCI layout holding one platform's manifest.
#[derive(Debug, Clone)]
pub struct CachedBase {
    /// The layout directory.
    pub layout: PathBuf,
    /// `sha256:` of what the reference resolved to (the index, or the manifest).
    pub resolved: String,
    /// Whether it had to be downloaded now.
    pub pulled: bool,
}

/// The cache directory, e.g. `<project>/.cache/bases/`.
#[derive(Debug, Clone)]
pub struct BaseCache {
    dir: PathBuf,
}

/// `resolved.json`: what each `reference platform` last resolved to, for offline builds.
const RESOLVED_FILE: &str = "resolved.json";

impl BaseCache {
    pub fn new(dir: impl Into<PathBuf>) -> BaseCache {
        BaseCache { dir: dir.into() }
    }

    /// The layout for `reference` (by digest) and `platform`.
    fn layout(&self, name: &str, digest: &str, platform: &str) -> PathBuf {
        let key = hex::encode(Sha256::digest(format!("{name}@{digest} {platform}")));
        self.dir.join(&key[..32])
    }

    fn resolved_path(&self) -> PathBuf {
        self.dir.join(RESOLVED_FILE)
    }

    fn read_resolved(&self) -> BTreeMap<String, String> {
        std::fs::read(self.resolved_path())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn record_resolved(&self, key: String, digest: &str) -> Result<(), Error> {
        let mut resolved = self.read_resolved();
        if resolved.get(&key).map(String::as_str) == Some(digest) {
            return Ok(());
        }
        resolved.insert(key, digest.to_string());
        let path = self.resolved_path();
        let bytes = serde_json::to_vec_pretty(&resolved).expect("a map of strings serialises");
        let temp = path.with_extension("json.tmp");
        std::fs::write(&temp, bytes)
            .and_then(|()| std::fs::rename(&temp, &path))
            .map_err(|source| Error::Read { path, source })
    }

    /// The base from the cache alone: a digest reference, or a tag resolved before.
    pub fn offline(&self, reference: &Reference, platform: &str) -> Result<CachedBase, Error> {
        let digest = match &reference.digest {
            Some(digest) => Some(digest.clone()),
            None => self
                .read_resolved()
                .get(&format!("{reference} {platform}"))
                .cloned(),
        };
        let missing = |why: &str| Error::NotCached {
            reference: reference.to_string(),
            platform: platform.to_string(),
            why: why.to_string(),
        };
        let digest = digest.ok_or_else(|| missing("it was never resolved"))?;
        let layout = self.layout(&reference.name(), &digest, platform);
        if !layout.join("index.json").is_file() {
            return Err(missing("it is not in the cache"));
        }
        Ok(CachedBase {
            layout,
            resolved: digest,
            pulled: false,
        })
    }

    /// The base for `platform` (`os/arch[/variant]`): resolves a tag with one request, and
    /// pulls the platform's manifest, config and layers unless the cache has them.
    pub async fn get(
        &self,
        client: &Client,
        reference: &Reference,
        platform: &str,
    ) -> Result<CachedBase, Error> {
        let resolved = match &reference.digest {
            Some(digest) => digest.clone(),
            None => client.inspect(reference).await?.digest,
        };
        let layout = self.layout(&reference.name(), &resolved, platform);
        let mut pulled = false;
        if !layout.join("index.json").is_file() {
            std::fs::create_dir_all(&self.dir).map_err(|source| Error::Read {
                path: self.dir.clone(),
                source,
            })?;
            let pinned = Reference {
                digest: Some(resolved.clone()),
                ..reference.clone()
            };
            client
                .pull(&pinned, &layout, PullFormat::Oci, Some(platform), 0)
                .await?;
            pulled = true;
        }
        if reference.digest.is_none() {
            self.record_resolved(format!("{reference} {platform}"), &resolved)?;
        }
        Ok(CachedBase {
            layout,
            resolved,
            pulled,
        })
    }
}
