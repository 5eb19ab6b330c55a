/// Why CI files could not be generated or are not current.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value from metadata.json that would be written into YAML and shell unquoted.
    #[error("target `{target}`: {field} {value:?} cannot go into a CI file: {expected}")]
    UnsafeValue {
        target: String,
        field: &'static str,
        value: String,
        expected: &'static str,
    },

    /// Generated files differ from the ones on disk (`ci check`).
    #[error("{} generated CI file{} not current: {}", paths.len(), if paths.len() == 1 { " is" } else { "s are" }, paths.join(", "))]
    Drift {
        /// The providers whose files drifted, for the `ci generate` hint.
        providers: Vec<crate::Provider>,
        /// The drifted, missing or stale files, relative to the project.
        paths: Vec<String>,
    },

    /// A generated file or its directory that cannot be read, written or removed.
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `init` would replace files that exist (without `--force`).
    #[error("{} already holds {}: pass --force to replace them", root.display(), paths.join(", "))]
    Exists {
        root: std::path::PathBuf,
        paths: Vec<String>,
    },

    /// The starter's metadata.json for this name does not load (a bad target name).
    #[error("cannot make a starter for target `{name}`")]
    Starter {
        name: String,
        #[source]
        source: Box<boxwright_metadata::Error>,
    },

    /// `ci check` found no generated file of any provider.
    #[error("no generated CI files found (looked for {looked_for})")]
    NothingGenerated { looked_for: String },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
