use std::path::PathBuf;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("target `{target}` has no recipe: {} does not exist", path.display())]
    NoRecipe { target: String, path: PathBuf },

    #[error(
        "target `{target}` has only a Dockerfile ({}): building it needs `docker buildx` and a Docker \
         engine, and `docker info` found none; write a recipe (<target>/build.sh) to build it without one",
        path.display()
    )]
    DockerfileOnly { target: String, path: PathBuf },

    #[error("`{tool}` is not installed ({install})")]
    MissingTool { tool: String, install: String },

    #[error(
        "the Rust standard library for {triple} is not installed (run: rustup target add {triple})"
    )]
    MissingRustTarget { triple: String },

    #[error(
        "{tool} could not fetch the dependencies of `{target}` (lock files: {}):\n{message}",
        locks.iter().map(|l| l.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Vendor {
        target: String,
        tool: String,
        locks: Vec<PathBuf>,
        message: String,
    },

    #[error("`{target}` was not built: its build dependency `{dependency}` failed")]
    DependencyFailed { target: String, dependency: String },

    #[error("cannot unpack {}", archive.display())]
    Unpack {
        archive: PathBuf,
        #[source]
        source: boxwright_archive::UnpackError,
    },

    #[error("the recipe of `{target}` failed ({status}); log: {}\n{tail}", log.display())]
    RecipeFailed {
        target: String,
        status: String,
        log: PathBuf,
        tail: String,
    },

    #[error("the recipe of `{target}` produced no files in DESTDIR")]
    EmptyOutput { target: String },

    #[error("verification of `{target}` failed:\n{}", violations.join("\n"))]
    Verification {
        target: String,
        violations: Vec<String>,
    },

    #[error("smoke test `{command}` failed in an empty root ({status})\n{output}")]
    SmokeFailed {
        command: String,
        status: String,
        output: String,
    },

    #[error("smoke test names {}, which the recipe did not install", path.display())]
    SmokeMissing { path: PathBuf },

    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot start {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
}
