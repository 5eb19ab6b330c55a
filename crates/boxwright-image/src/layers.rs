//! `image.layers`: the target's downloads (in `.tmp/`) staged as image content.

use std::path::{Path, PathBuf};

use boxwright_metadata::{Image, Project};
use boxwright_oci::staging::{self, StagedSource};

use crate::Error;

/// Stages the layers of `image` under `.cache/<target>/layers/<machine>/` and returns the root
/// to add to the new layer. `output_dir` only names the staging place per architecture.
pub fn stage(
    project: &Project,
    name: &str,
    image: &Image,
    output_dir: &Path,
) -> Result<PathBuf, Error> {
    let downloads = project.download_dir();
    let mut sources = Vec::new();
    for layer in &image.layers {
        let source = |file: &str| {
            let path = downloads.join(file);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Error::MissingDownload {
                    target: name.to_string(),
                    file: file.to_string(),
                    dir: downloads.clone(),
                })
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
                    .map(|m| {
                        u32::from_str_radix(m, 8).map_err(|_| Error::Mode {
                            target: name.to_string(),
                            mode: m.to_string(),
                        })
                    })
                    .transpose()?,
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
    staging::stage(&sources, &dir).map_err(|source| Error::Stage {
        target: name.to_string(),
        source,
    })
}
