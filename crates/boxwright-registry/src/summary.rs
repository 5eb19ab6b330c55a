//! `image inspect`: what a manifest or index holds, from a registry or a local layout.

use serde::Serialize;
use serde_json::Value;

use crate::descriptor::{Descriptor, platform_name};
use crate::local::{PushSource, local_top};
use crate::{Client, Error, Inspected, Reference};

/// A manifest or index, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The reference or path inspected.
    pub reference: String,
    pub digest: String,
    pub media_type: String,
    /// The index's manifest descriptors: platform, digest, size.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<Descriptor>,
    /// An image manifest's platform and settings, from its config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Descriptor>,
    /// Bytes of the layers (compressed), or of the manifests an index names.
    pub size: u64,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub annotations: serde_json::Map<String, Value>,
    /// The document itself.
    pub manifest: Value,
}

/// The parts of an image config people ask about.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigSummary {
    pub digest: String,
    pub platform: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub entrypoint: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub cmd: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub env: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub labels: Value,
    /// Layers in the root filesystem.
    pub layers: usize,
}

/// Why a manifest or its config cannot be summarised.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SummaryError {
    /// The manifest is not JSON.
    #[error("not JSON: {0}")]
    Manifest(#[source] serde_json::Error),
    /// The image config is not JSON.
    #[error("config {digest} is not JSON: {source}")]
    Config {
        digest: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Summarises `inspected`, with the config's bytes for an image manifest.
pub(crate) fn summarise(
    inspected: &Inspected,
    config: Option<(&str, &[u8])>,
) -> Result<Summary, SummaryError> {
    let document: Value =
        serde_json::from_slice(&inspected.bytes).map_err(SummaryError::Manifest)?;
    let list = |key: &str| -> Vec<Descriptor> {
        document[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(Descriptor::of)
            .collect()
    };
    let manifests = list("manifests");
    let layers = list("layers");
    let size = manifests.iter().chain(&layers).map(|e| e.size).sum();
    let config = match config {
        Some((digest, bytes)) => {
            let value: Value =
                serde_json::from_slice(bytes).map_err(|source| SummaryError::Config {
                    digest: digest.to_string(),
                    source,
                })?;
            let settings = &value["config"];
            let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
            Some(ConfigSummary {
                digest: digest.to_string(),
                platform: platform_name(&value),
                created: text(&value["created"]),
                entrypoint: settings["Entrypoint"].clone(),
                cmd: settings["Cmd"].clone(),
                env: settings["Env"].clone(),
                user: text(&settings["User"]),
                workdir: text(&settings["WorkingDir"]),
                labels: settings["Labels"].clone(),
                layers: value["rootfs"]["diff_ids"].as_array().map_or(0, Vec::len),
            })
        }
        None => None,
    };
    Ok(Summary {
        reference: inspected.reference.clone(),
        digest: inspected.digest.clone(),
        media_type: inspected.media_type.clone(),
        manifests,
        config,
        layers,
        size,
        annotations: document["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
        manifest: document,
    })
}

/// The config digest of an image manifest; `None` for an index.
fn config_digest(inspected: &Inspected) -> Option<String> {
    let value: Value = serde_json::from_slice(&inspected.bytes).ok()?;
    value["config"]["digest"].as_str().map(str::to_string)
}

impl Client {
    /// The manifest or index `reference` names, summarised (the config is fetched for an
    /// image manifest, its digest checked).
    pub async fn summary(&self, reference: &Reference) -> Result<Summary, Error> {
        let inspected = self.inspect(reference).await?;
        let config = match config_digest(&inspected) {
            Some(digest) => Some((digest.clone(), self.blob_bytes(reference, &digest).await?)),
            None => None,
        };
        summarise(
            &inspected,
            config.as_ref().map(|(d, b)| (d.as_str(), b.as_slice())),
        )
        .map_err(|why| Error::Protocol {
            registry: reference.registry.clone(),
            repository: reference.repository.clone(),
            what: format!("manifest {}", reference.manifest_reference()),
            message: why.to_string(),
        })
    }
}

/// The image of a local layout or oci-archive, summarised the same way.
pub fn local_summary(source: &PushSource) -> Result<(Summary, Vec<u8>), Error> {
    let (inspected, config) = local_top(source)?;
    let summary = summarise(
        &inspected,
        config.as_ref().map(|(d, b)| (d.as_str(), b.as_slice())),
    )
    .map_err(|why| Error::Source {
        path: source.path.clone(),
        message: why.to_string(),
    })?;
    Ok((summary, inspected.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_settings_are_summarised_by_their_keys() {
        let inspected = Inspected {
            reference: "127.0.0.1:5000/a:1".into(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: "sha256:00".into(),
            bytes: br#"{"schemaVersion":2,"layers":[{"digest":"sha256:11","size":3}]}"#.to_vec(),
        };
        let config = br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/hello"],"Cmd":["-v"],"User":"65534","WorkingDir":"/srv"},"rootfs":{"diff_ids":["sha256:22"]}}"#;
        let summary = summarise(&inspected, Some(("sha256:33", config))).unwrap();
        let settings = summary.config.unwrap();
        assert_eq!(settings.entrypoint, serde_json::json!(["/bin/hello"]));
        assert_eq!(settings.cmd, serde_json::json!(["-v"]));
        assert_eq!(settings.user.as_deref(), Some("65534"));
        assert_eq!(settings.workdir.as_deref(), Some("/srv"));
        assert_eq!(settings.layers, 1);
        assert_eq!(summary.size, 3);
    }
}
