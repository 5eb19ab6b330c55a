//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong reading a repository's indexes and checking its packages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// A deb822 text (Release, Packages, a dpkg status file) that is not well formed.
    #[error("{source_name} line {line}: {reason}")]
    Deb822 {
        /// What the text is (`InRelease`, `main/binary-amd64/Packages`, ...).
        source_name: String,
        line: usize,
        reason: String,
    },
    /// A keyring file that holds no usable OpenPGP public key.
    #[error("keyring {file}: {reason}")]
    Keyring { file: String, reason: String },
    /// A file that should be signed and is not (no signature at all, or not the signed form).
    #[error("{file} is not signed: {reason}")]
    NotSigned { file: String, reason: String },
    /// Signatures only by keys that are not in the keyring.
    #[error("{file} is signed by key {key_ids}, which is not in the trusted keyring")]
    UnknownKey { file: String, key_ids: String },
    /// A signature by a trusted key that does not verify over the content.
    #[error("{file}: the signature by key {key_id} does not verify (the content was altered)")]
    BadSignature { file: String, key_id: String },
    /// A signature by a trusted key that has expired or was revoked.
    #[error("{file} is signed by key {key_id}, which is {state}")]
    KeyNotValid {
        file: String,
        key_id: String,
        /// `expired since <date>`, `revoked`.
        state: String,
    },
    /// A Release whose `Valid-Until` is in the past.
    #[error(
        "{file} expired: Valid-Until {valid_until} is before now ({now} seconds since the epoch)"
    )]
    Expired {
        file: String,
        valid_until: String,
        now: u64,
    },
    /// A Release, Packages or APKINDEX field that is missing or not in its format.
    #[error("{file}: {what}: {reason}")]
    Field {
        file: String,
        /// The field, with the package when there is one (`Package hello: Size`).
        what: String,
        reason: String,
    },
    /// No index of a component and architecture in a Release.
    #[error(
        "{file} lists no Packages index for {component}/binary-{arch} (Packages.xz, .gz or plain)"
    )]
    NoIndex {
        file: String,
        component: String,
        arch: String,
    },
    /// An index file whose size or SHA256 differs from what the signed Release says.
    #[error("{file}: {what} is {actual}, the signed Release says {expected}")]
    IndexMismatch {
        file: String,
        /// `size`, `SHA256`.
        what: &'static str,
        expected: String,
        actual: String,
    },
    /// An index that cannot be decompressed or read.
    #[error("{file}: {reason}")]
    Index { file: String, reason: String },
    /// An index that decompresses to more than the bound.
    #[error("{file} decompresses to more than {limit} bytes")]
    IndexTooLarge { file: String, limit: u64 },
    /// An APKINDEX whose signature entry names a key that is not trusted.
    #[error("{file} is signed by key {key}, which is not among the trusted keys ({trusted})")]
    UnknownApkKey {
        file: String,
        key: String,
        trusted: String,
    },
    /// A verification step that failed inside boxwright-sign.
    #[error("{file}: the signature by {key} does not verify")]
    Signature {
        file: String,
        key: String,
        #[source]
        source: Box<boxwright_sign::Error>,
    },
    /// A package file whose size or digest differs from its index.
    #[error("package {package}: {what} is {actual}, the index says {expected}")]
    PackageMismatch {
        /// `name version (arch)`.
        package: String,
        /// `size`, `SHA256`, `control checksum (C:)`, `name`, `version`.
        what: &'static str,
        expected: String,
        actual: String,
    },
    /// A package file that does not read as a valid package.
    #[error("package {package}: {}", .path.display())]
    Package {
        package: String,
        path: PathBuf,
        #[source]
        source: Box<boxwright_package::PackageError>,
    },
    /// A candidate without what a check needs (an apt candidate without SHA256, ...).
    #[error("package {package}: the index gives no {what}")]
    MissingDigest { package: String, what: &'static str },
    /// A file of the install tree or the staging directory that cannot be read or written.
    #[error("cannot {action} {}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A package file that cannot be read as its format requires.
    #[error("cannot unpack package {package}")]
    Unpack {
        package: String,
        #[source]
        source: boxwright_package::PackageError,
    },
    /// An entry of a package that must not go into an image (device file, path below a
    /// symbolic link, hard link to a missing file).
    #[error("package {package}: refused entry `{path}`: {reason}")]
    UnsafeEntry {
        package: String,
        path: String,
        reason: String,
    },
    /// Two packages ship different content at one path and neither replaces the other.
    #[error("packages {first} and {second} both ship `{path}` with different content")]
    FileConflict {
        path: String,
        first: String,
        second: String,
    },
    /// A control file or field of a package that the database cannot be made from.
    #[error("package {package}: invalid {what}: {message}")]
    InvalidControl {
        package: String,
        what: &'static str,
        message: String,
    },
    /// One install set with packages of both kinds (deb and apk).
    #[error("cannot install deb and apk packages into one tree ({deb} and {apk})")]
    MixedKinds { deb: String, apk: String },
    /// The tree cannot become a layer.
    #[error("cannot make a layer of the install tree")]
    Layer(#[source] boxwright_oci::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
