//! The crate's one error type.

/// What can go wrong reading repositories and resolving or installing their packages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An `install` entry names nothing any repository has, as a package or a provided name.
    #[error("unknown package {name}: no repository has a package or a provider of that name")]
    UnknownPackage { name: String },
    /// An `install` entry's version (a pin) matches none of the name's candidates.
    #[error("no version of {name} matches {wanted} (available: {available})")]
    NoMatchingVersion {
        name: String,
        wanted: String,
        available: String,
    },
    /// The install list cannot be satisfied; `explanation` is the chain that fails.
    #[error("cannot install {packages}: {explanation}")]
    Unsatisfiable {
        packages: String,
        explanation: String,
    },
}
