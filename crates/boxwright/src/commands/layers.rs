//! `image.layers`: the target's downloads (in `.tmp/`) staged as image content.

use std::path::{Path, PathBuf};

use anyhow::Context;
use boxwright_metadata::{Image, Project};
use boxwright_oci::staging::{self, StagedSource};

/// Stages the layers of `image` under `.cache/<target>/layers/<machine>/` and returns the root
/// to add to the new layer. `output_dir` only names the staging place per architecture.
pub fn stage(
    project: &Project,
    name: &str,
    image: &Image,
    output_dir: &Path,
) -> anyhow::Result<PathBuf> {
    let downloads = project.download_dir();
    let mut sources = Vec::new();
    for layer in &image.layers {
        let source = |file: &str| {
            let path = downloads.join(file);
            if path.is_file() {
                Ok(path)
            } else {
                Err(anyhow::anyhow!(
                    "image.layers of `{name}`: `{file}` is not in {}; fetch it first",
                    downloads.display()
                ))
            }
        };
        sources.push(match (&layer.archive, &layer.file) {
            (Some(archive), _) => StagedSource::Archive {
                path: source(archive)?,
                to: layer.to.clone(),
                strip_components: layer.strip_components,
            },
            (None, Some(file)) => StagedSource::File {
                path: source(file)?,
                to: layer.to.clone(),
                mode: layer
                    .mode
                    .as_deref()
                    .map(|m| u32::from_str_radix(m, 8))
                    .transpose()
                    .context("mode checked at load time")?,
            },
            (None, None) => unreachable!("checked at load time"),
        });
    }
    let place = output_dir
        .file_name()
        .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned());
    let dir = project
        .root
        .join(".cache")
        .join(name)
        .join("layers")
        .join(place);
    staging::stage(&sources, &dir)
        .with_context(|| format!("cannot stage the image layers of `{name}`"))
}
