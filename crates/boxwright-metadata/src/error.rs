use std::path::PathBuf;

/// Everything that can be wrong with a project or its `metadata.json`.
///
/// Every variant names the file and, where one applies, the JSON pointer of the value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No `metadata.json` in the start directory or any ancestor.
    #[error("no {file} found in {start} or any parent directory")]
    NotFound { start: PathBuf, file: &'static str },

    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is not valid JSON.
    #[error("{path}:{line}:{column}: invalid JSON: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A late template (`{VERSION}`, `{ARCH}`...) could not be filled in.
    #[error("at {pointer}: {message}")]
    Resolve { pointer: String, message: String },

    /// A value has the wrong type or shape.
    #[error("{path}: at {pointer}: {message}")]
    Invalid {
        path: PathBuf,
        pointer: String,
        message: String,
    },

    /// A key that the schema does not know (and that does not start with `x-`).
    #[error("{path}: at {pointer}: unknown key `{key}` (extension keys must start with `x-`)")]
    UnknownKey {
        path: PathBuf,
        pointer: String,
        key: String,
    },

    /// A `{VAR}` template names a variable that is neither in `env` nor in the process environment.
    #[error("{path}: at {pointer}: unknown variable `{variable}` in {value:?}")]
    UnknownVariable {
        path: PathBuf,
        pointer: String,
        variable: String,
        value: String,
    },

    /// `env` values refer to each other in a loop.
    #[error("{path}: at {pointer}: variable `{variable}` refers to itself through {chain}")]
    TemplateCycle {
        path: PathBuf,
        pointer: String,
        variable: String,
        chain: String,
    },

    /// Templates nest too deep or expand too far (`template::MAX_DEPTH`,
    /// `template::MAX_VALUE_BYTES`); the message names the variable chain.
    #[error("{path}: at {pointer}: {message}")]
    TemplateLimit {
        path: PathBuf,
        pointer: String,
        message: String,
    },

    /// A target name that the file does not define.
    #[error("unknown target `{name}` (known: {})", known.join(", "))]
    UnknownTarget { name: String, known: Vec<String> },
}

impl Error {
    pub(crate) fn invalid(
        path: &std::path::Path,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            path: path.to_path_buf(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}
