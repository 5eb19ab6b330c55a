use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use boxwright_metadata::{Checksum, Project};
use serde::Serialize;

use crate::Error;

/// Where a download comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An `http://` or `https://` URL.
    Http(String),
    /// A local file (`file:` URL, resolved against the metadata file's directory).
    File(PathBuf),
}

/// One file to bring into the cache.
#[derive(Debug, Clone, Serialize)]
pub struct FetchRequest {
    pub target: String,
    pub name: String,
    /// The URL as written in metadata (after templates).
    pub url: String,
    #[serde(skip)]
    pub source: Source,
    #[serde(skip)]
    pub checksums: Vec<Checksum>,
    pub dest: PathBuf,
}

/// The downloads of `targets` (all targets when empty), each file once.
pub fn plan(project: &Project, targets: &[String]) -> Result<Vec<FetchRequest>, Error> {
    let metadata = &project.metadata;
    for name in targets {
        metadata
            .require_target(name)
            .map_err(Error::UnknownTarget)?;
    }
    let base = metadata.path.parent().unwrap_or(Path::new("."));
    let cache = project.download_dir();
    let mut by_name: BTreeMap<String, FetchRequest> = BTreeMap::new();
    for (target_name, target) in &metadata.targets {
        if !targets.is_empty() && !targets.contains(target_name) {
            continue;
        }
        // A mirror target's downloads name versions discovered upstream: they are fetched
        // per version (`mirror build`), once the target is resolved.
        if !target.late.is_empty() {
            continue;
        }
        for download in &target.downloads {
            let name = download.file_name().to_string();
            let request = FetchRequest {
                target: target_name.clone(),
                name: name.clone(),
                url: download.url.clone(),
                source: source(&download.url, base),
                checksums: download.checksums(),
                dest: cache.join(&name),
            };
            if let Some(existing) = by_name.get(&name) {
                if existing.url != request.url || existing.checksums != request.checksums {
                    return Err(Error::NameConflict {
                        name,
                        first: format!("{} ({})", existing.url, existing.target),
                        second: format!("{} ({})", request.url, request.target),
                    });
                }
                continue;
            }
            by_name.insert(name, request);
        }
    }
    Ok(by_name.into_values().collect())
}

/// `file:rel/path`, `file:/abs/path` and `file:///abs/path` (or `file://localhost/…`).
fn source(url: &str, base: &Path) -> Source {
    let Some(rest) = url.strip_prefix("file:") else {
        return Source::Http(url.to_string());
    };
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) => {
            let slash = authority_and_path
                .find('/')
                .unwrap_or(authority_and_path.len());
            authority_and_path[slash..].to_string()
        }
        None => rest.to_string(),
    };
    let path = PathBuf::from(path);
    Source::File(if path.is_absolute() {
        path
    } else {
        base.join(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_resolve_against_the_metadata_directory() {
        let base = Path::new("/proj");
        assert_eq!(
            source("file:src/a.tar.gz", base),
            Source::File("/proj/src/a.tar.gz".into())
        );
        assert_eq!(source("file:/abs/a", base), Source::File("/abs/a".into()));
        assert_eq!(source("file:///abs/a", base), Source::File("/abs/a".into()));
        assert_eq!(
            source("file://localhost/abs/a", base),
            Source::File("/abs/a".into())
        );
        assert_eq!(
            source("https://h/a", base),
            Source::Http("https://h/a".into())
        );
    }
}
