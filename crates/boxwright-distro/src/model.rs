//! One shape for what apt's `Packages` and apk's `APKINDEX` say about a package.

use serde::{Deserialize, Serialize};

/// Which distribution family a repository, package or version belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Debian's apt repositories and `.deb` packages (dpkg's version order).
    Deb,
    /// Alpine's apk repositories and `.apk` packages (apk-tools' version order).
    Apk,
}

/// A version relation operator. Debian writes `<<`, `<=`, `=`, `>=`, `>>`; apk writes `<`,
/// `<=`, `=`, `>=`, `>` and `~` (fuzzy: the version starts with the given one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// apk's `~`: same version prefix.
    Fuzzy,
}

/// A reference to a package name, optionally constrained by version: one alternative of a
/// dependency, one conflict, or one entry of an `install` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Relation {
    /// A package or virtual name; apk's `so:libc.musl-x86_64.so.1` and `cmd:sh` are names too.
    pub name: String,
    /// `(op, version)` when constrained.
    pub constraint: Option<(Op, String)>,
    /// Debian's `:any` / `:native` architecture qualifier, kept for messages; empty otherwise.
    pub arch_qualifier: String,
}

/// A name a package provides besides its own (Debian `Provides`, apk `p:`), with the version
/// it provides it at when one is given (`name (= 1.0)`, `so:libz.so.1=1.3.1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Provide {
    pub name: String,
    pub version: Option<String>,
}

/// One package as a repository index describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub kind: Kind,
    pub name: String,
    /// The full version (`1:2.36-9+deb12u4`, `1.36.1-r29`).
    pub version: String,
    /// As the index writes it (`amd64`, `all`; `x86_64`, `noarch`).
    pub arch: String,
    /// Every dependency as alternatives: the package needs one of each inner list
    /// (Debian `Pre-Depends` and `Depends`; apk `D:` without `!`).
    pub depends: Vec<Vec<Relation>>,
    /// Packages that must not be installed with this one (Debian `Conflicts` and `Breaks`;
    /// apk `D:!name`).
    pub conflicts: Vec<Relation>,
    pub provides: Vec<Provide>,
    /// Debian `Essential: yes`.
    pub essential: bool,
    /// Where the package file is, relative to the repository's base URL (Debian `Filename`,
    /// apk `<name>-<version>.apk` beside the index).
    pub filename: String,
    /// The package file's size in bytes (Debian `Size`, apk `S:`).
    pub size: u64,
    /// SHA-256 of the package file, hex (Debian `SHA256`); `None` for apk.
    pub sha256: Option<String>,
    /// apk `C:`: `Q1` + base64 of the SHA-1 of the package's control member; `None` for Debian.
    pub apk_checksum: Option<String>,
    /// Which of the caller's repositories listed it (its position in the caller's list).
    pub repository: usize,
    /// The index paragraph's fields in order, as written (for the installed-package database).
    pub fields: Vec<(String, String)>,
}
