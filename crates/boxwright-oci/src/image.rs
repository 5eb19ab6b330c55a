//! Assembling images: config, manifest per platform, index, written as an OCI layout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use boxwright_archive::progress::Progress;

use oci_spec::image::{
    Config, Descriptor, HistoryBuilder, ImageConfiguration, ImageConfigurationBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType, RootFsBuilder, SCHEMA_VERSION,
};

use crate::base::BaseImage;
use crate::json::canonical;
use crate::platform::PlatformSpec;
use crate::{BlobStore, Compression, Error, LayerSpec, write_layer};

/// The annotation naming an image in an OCI layout's `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Container settings from metadata (`image`), applied over the base image's.
#[derive(Debug, Clone, Default)]
pub struct ContainerSettings {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub stop_signal: Option<String>,
}

/// One platform of the image.
pub struct PlatformInput {
    pub platform: PlatformSpec,
    pub base: Option<BaseImage>,
    /// The new layers over the base, bottom first (a package set as one layer or one per
    /// package, then the target's own files); empty ones are left out.
    pub layers: Vec<LayerSpec>,
}

/// Everything an image is made from.
pub struct ImageInput {
    pub platforms: Vec<PlatformInput>,
    pub settings: ContainerSettings,
    /// Manifest annotations (version, created, source, revision...).
    pub annotations: BTreeMap<String, String>,
    /// `SOURCE_DATE_EPOCH`: the config's `created` and every new entry's mtime.
    pub created: u64,
    /// `org.opencontainers.image.ref.name` in `index.json`.
    pub ref_name: String,
    pub compression: Compression,
    pub threads: usize,
    /// Where the compression of new layers reports the bytes going in.
    pub progress: Arc<dyn Progress>,
}

/// One platform as written.
#[derive(Debug, Clone)]
pub struct PlatformOutput {
    pub platform: PlatformSpec,
    /// The manifest's descriptor, with its platform.
    pub manifest: Descriptor,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    pub diff_ids: Vec<String>,
}

/// A written OCI layout.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    /// What `index.json` names: the manifest (one platform) or an image index (several).
    pub top: Descriptor,
    pub platforms: Vec<PlatformOutput>,
}

impl Layout {
    /// The blob file of a descriptor.
    pub fn blob(&self, descriptor: &Descriptor) -> PathBuf {
        self.root
            .join("blobs/sha256")
            .join(descriptor.digest().digest())
    }
}

/// Writes the image as an OCI layout into the empty directory `root`.
pub fn write_layout(input: &ImageInput, root: &Path) -> Result<Layout, Error> {
    let store = BlobStore::create(root)?;
    let mut platforms = Vec::new();
    for platform in &input.platforms {
        platforms.push(write_platform(input, platform, &store)?);
    }
    let top = if let [single] = platforms.as_slice() {
        single.manifest.clone()
    } else {
        let index = ImageIndexBuilder::default()
            .schema_version(SCHEMA_VERSION)
            .media_type(MediaType::ImageIndex)
            .manifests(
                platforms
                    .iter()
                    .map(|p| p.manifest.clone())
                    .collect::<Vec<_>>(),
            )
            .annotations(
                input
                    .annotations
                    .clone()
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>(),
            )
            .build()
            .expect("all fields set");
        store.put(MediaType::ImageIndex, &canonical(&index))?
    };
    let mut named = top.clone();
    named.set_annotations(Some(
        [(REF_NAME.to_string(), input.ref_name.clone())]
            .into_iter()
            .collect(),
    ));
    let index = ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![named])
        .build()
        .expect("all fields set");
    write_file(&root.join("index.json"), &canonical(&index))?;
    write_file(
        &root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    Ok(Layout {
        root: root.to_path_buf(),
        top,
        platforms,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(Error::io(path))
}

fn write_platform(
    input: &ImageInput,
    platform: &PlatformInput,
    store: &BlobStore,
) -> Result<PlatformOutput, Error> {
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    let mut base_config = None;
    if let Some(base) = &platform.base {
        for layer in &base.layers {
            store.copy_from(&base.blob(layer), layer)?;
            layers.push(layer.clone());
        }
        diff_ids.extend(base.config.rootfs().diff_ids().iter().cloned());
        history.extend(base.config.history().clone().unwrap_or_default());
        base_config = Some(&base.config);
    }
    let created = rfc3339(input.created);
    for layer in platform.layers.iter().filter(|layer| !layer.is_empty()) {
        let written = write_layer(
            layer,
            store,
            input.compression,
            input.created,
            input.threads,
            input.progress.as_ref(),
        )?;
        layers.push(written.descriptor);
        diff_ids.push(written.diff_id);
        history.push(
            HistoryBuilder::default()
                .created(created.clone())
                .created_by("boxwright image build")
                .build()
                .expect("all fields set"),
        );
    }
    let config = configuration(input, platform, base_config, &diff_ids, history, &created);
    let config_descriptor = store.put(MediaType::ImageConfig, &canonical(&config))?;
    let mut annotations = input.annotations.clone();
    if let Some(base) = &platform.base {
        annotations.insert(
            "org.opencontainers.image.base.name".into(),
            base.name.clone(),
        );
        annotations.insert(
            "org.opencontainers.image.base.digest".into(),
            base.manifest_digest.clone(),
        );
    }
    let manifest = ImageManifestBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageManifest)
        .config(config_descriptor.clone())
        .layers(layers.clone())
        .annotations(
            annotations
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        )
        .build()
        .expect("all fields set");
    let mut manifest_descriptor = store.put(MediaType::ImageManifest, &canonical(&manifest))?;
    manifest_descriptor.set_platform(Some(platform.platform.to_oci()));
    Ok(PlatformOutput {
        platform: platform.platform.clone(),
        manifest: manifest_descriptor,
        config: config_descriptor,
        layers,
        diff_ids,
    })
}

/// The image config: the base's, with the target's settings over it.
fn configuration(
    input: &ImageInput,
    platform: &PlatformInput,
    base: Option<&ImageConfiguration>,
    diff_ids: &[String],
    history: Vec<oci_spec::image::History>,
    created: &str,
) -> ImageConfiguration {
    let settings = &input.settings;
    let mut config: Config = base.and_then(|b| b.config().clone()).unwrap_or_default();
    if !settings.entrypoint.is_empty() {
        config.set_entrypoint(Some(settings.entrypoint.clone()));
        // As in Dockerfiles: a new entrypoint drops the base's default arguments.
        config.set_cmd(None);
    }
    if !settings.cmd.is_empty() {
        config.set_cmd(Some(settings.cmd.clone()));
    }
    if !settings.env.is_empty() {
        let mut env: Vec<String> = config.env().clone().unwrap_or_default();
        env.retain(|entry| {
            let key = entry.split('=').next().unwrap_or_default();
            !settings.env.contains_key(key)
        });
        env.extend(settings.env.iter().map(|(k, v)| format!("{k}={v}")));
        config.set_env(Some(env));
    }
    if let Some(user) = &settings.user {
        config.set_user(Some(user.clone()));
    }
    if let Some(workdir) = &settings.workdir {
        config.set_working_dir(Some(workdir.clone()));
    }
    if !settings.labels.is_empty() {
        let mut labels = config.labels().clone().unwrap_or_default();
        labels.extend(settings.labels.clone());
        config.set_labels(Some(labels));
    }
    if !settings.exposed_ports.is_empty() {
        let mut ports = config.exposed_ports().clone().unwrap_or_default();
        ports.extend(settings.exposed_ports.iter().cloned());
        ports.sort();
        ports.dedup();
        config.set_exposed_ports(Some(ports));
    }
    if !settings.volumes.is_empty() {
        let mut volumes = config.volumes().clone().unwrap_or_default();
        volumes.extend(settings.volumes.iter().cloned());
        volumes.sort();
        volumes.dedup();
        config.set_volumes(Some(volumes));
    }
    if let Some(signal) = &settings.stop_signal {
        config.set_stop_signal(Some(signal.clone()));
    }
    let rootfs = RootFsBuilder::default()
        .typ("layers")
        .diff_ids(diff_ids.to_vec())
        .build()
        .expect("all fields set");
    let oci = platform.platform.to_oci();
    let mut builder = ImageConfigurationBuilder::default()
        .created(created.to_string())
        .architecture(oci.architecture().clone())
        .os(oci.os().clone())
        .config(config)
        .rootfs(rootfs)
        .history(history);
    if let Some(variant) = &platform.platform.variant {
        builder = builder.variant(variant.clone());
    }
    builder.build().expect("all fields set")
}

/// `SOURCE_DATE_EPOCH` as RFC 3339 (UTC, seconds).
pub fn rfc3339(epoch: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LayerEntry;

    fn layer(path: &str, content: &[u8]) -> LayerSpec {
        let mut spec = LayerSpec::default();
        spec.insert(path, LayerEntry::Bytes(content.to_vec(), 0o644))
            .unwrap();
        spec
    }

    #[test]
    fn a_platform_takes_several_layers_bottom_first_and_skips_empty_ones() {
        let input = |layers: Vec<LayerSpec>| ImageInput {
            platforms: vec![PlatformInput {
                platform: PlatformSpec {
                    os: "linux".into(),
                    architecture: "amd64".into(),
                    variant: None,
                },
                base: None,
                layers,
            }],
            settings: ContainerSettings::default(),
            annotations: BTreeMap::new(),
            created: 1_700_000_000,
            ref_name: "test".into(),
            compression: Compression::None,
            threads: 1,
            progress: Arc::new(boxwright_archive::progress::NoProgress),
        };
        let dir = tempfile::tempdir().unwrap();
        let layers = || {
            vec![
                layer("usr/bin/a", b"package a"),
                LayerSpec::default(),
                layer("usr/bin/b", b"package b"),
                layer("app/own", b"the target's files"),
            ]
        };
        let written = write_layout(&input(layers()), &dir.path().join("one")).unwrap();
        let platform = &written.platforms[0];
        assert_eq!(platform.layers.len(), 3);
        assert_eq!(platform.diff_ids.len(), 3);
        let again = write_layout(&input(layers()), &dir.path().join("two")).unwrap();
        assert_eq!(again.top, written.top);
        // Bottom first: the first layer holds package a.
        let first = std::fs::read(written.blob(&platform.layers[0])).unwrap();
        let mut archive = tar::Archive::new(first.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["usr/", "usr/bin/", "usr/bin/a"]);
        // One layer, as callers with a single `LayerSpec` have it.
        let single = write_layout(
            &input(vec![layer("app/own", b"x")]),
            &dir.path().join("three"),
        )
        .unwrap();
        assert_eq!(single.platforms[0].layers.len(), 1);
    }
}
