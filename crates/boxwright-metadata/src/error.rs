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

    /// A key that the schema does not know (and that does not start with `x-`), with the
    /// known key at that place closest to it, when one is close.
    #[error("{path}: at {pointer}: unknown key `{key}`{} (extension keys must start with `x-`)", did_you_mean(suggestion.as_deref()))]
    UnknownKey {
        path: PathBuf,
        pointer: String,
        key: String,
        suggestion: Option<String>,
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

    /// A target name that the file does not define; the message names the closest known
    /// target when one is close, else lists them all.
    #[error("unknown target `{name}`{}", known_targets(name, known))]
    UnknownTarget { name: String, known: Vec<String> },
}

/// `; did you mean `X`?` for a suggestion.
fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// The closest of `known` to `name`, else the list of them.
pub(crate) fn known_targets(name: &str, known: &[String]) -> String {
    match boxwright_platform::did_you_mean(name, known.iter().map(String::as_str)) {
        Some(close) => format!("; did you mean `{close}`?"),
        None if known.is_empty() => " (metadata.json defines no targets)".to_string(),
        None => format!(" (known: {})", known.join(", ")),
    }
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
