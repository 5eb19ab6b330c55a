//! A project: the directory holding `metadata.json`, and where its files go.

use std::path::{Path, PathBuf};

use crate::{Error, Metadata, Result, env_vars};

/// The name of the metadata file.
pub const METADATA_FILE: &str = "metadata.json";

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `metadata.json`.
    pub root: PathBuf,
    /// The loaded metadata.
    pub metadata: Metadata,
    /// `$BUILD_OUTPUT_DEST` when set and not empty: target outputs go under it.
    pub output_dest: Option<PathBuf>,
}

impl Project {
    /// Finds the project: `explicit` if given (a directory holding `metadata.json`, or the
    /// file itself), else the nearest ancestor of `cwd` holding `metadata.json`. `env` gives
    /// the variables templates read and `BUILD_OUTPUT_DEST`.
    pub fn discover(
        explicit: Option<&Path>,
        cwd: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let metadata_path = match explicit {
            Some(path) if path.is_file() => path.to_path_buf(),
            Some(dir) => {
                let file = dir.join(METADATA_FILE);
                if !file.is_file() {
                    return Err(Error::NotFound {
                        start: dir.to_path_buf(),
                        file: METADATA_FILE,
                    });
                }
                file
            }
            None => cwd
                .ancestors()
                .map(|dir| dir.join(METADATA_FILE))
                .find(|file| file.is_file())
                .ok_or_else(|| Error::NotFound {
                    start: cwd.to_path_buf(),
                    file: METADATA_FILE,
                })?,
        };
        // Absolute from here on: the sandbox binds these paths, and outputs must not depend
        // on the directory boxwright was started from.
        let metadata_path =
            std::fs::canonicalize(&metadata_path).map_err(|source| Error::Read {
                path: metadata_path.clone(),
                source,
            })?;
        let root = metadata_path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let metadata = Metadata::load(&metadata_path, env)?;
        let output_dest = env(env_vars::BUILD_OUTPUT_DEST)
            .filter(|dest| !dest.is_empty())
            .map(PathBuf::from);
        Ok(Project {
            root,
            metadata,
            output_dest,
        })
    }

    /// The download cache, `<project>/.tmp/`.
    pub fn download_dir(&self) -> PathBuf {
        self.root.join(".tmp")
    }

    /// The output directory of `target`: `$BUILD_OUTPUT_DEST/<target>/` when set, else
    /// `<project>/.out/<target>/`.
    pub fn output_dir(&self, target: &str) -> PathBuf {
        match &self.output_dest {
            Some(dest) => dest.join(target),
            None => self.root.join(".out").join(target),
        }
    }

    /// Where `release package` writes by default: `<project>/.out/release/`.
    pub fn release_dir(&self) -> PathBuf {
        self.root.join(".out").join("release")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(METADATA_FILE),
            r#"{"a": {"version_env_var": "V", "env": {"V": "1"}}}"#,
        )
        .unwrap();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        let project = Project::discover(None, &deep, &|_| None).unwrap();
        assert_eq!(project.output_dir("a"), project.root.join(".out/a"));
        assert_eq!(project.root, dir.path().canonicalize().unwrap());
        assert_eq!(project.metadata.targets["a"].version(), "1");
    }

    #[test]
    fn explicit_directory_without_metadata_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Project::discover(Some(dir.path()), dir.path(), &|_| None).unwrap_err();
        assert!(err.to_string().contains("no metadata.json found"), "{err}");
    }
}
