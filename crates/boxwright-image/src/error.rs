use std::path::PathBuf;

/// A boxed error from the caller's side of [`Host`](crate::Host).
pub type HostError = Box<dyn std::error::Error + Send + Sync>;

/// Why a target's image could not be assembled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `boxwright_metadata::Error::UnknownTarget`.
    #[error(transparent)]
    UnknownTarget(boxwright_metadata::Error),

    #[error("target `{target}` has no `image` in {}", metadata.display())]
    NoImage { target: String, metadata: PathBuf },

    #[error("{message}")]
    Platform { message: String },

    #[error("image.layers of `{target}`: `{file}` is not in {}; fetch it first", dir.display())]
    MissingDownload {
        target: String,
        file: String,
        dir: PathBuf,
    },

    #[error("image.layers of `{target}`: mode `{mode}` is not octal")]
    Mode { target: String, mode: String },

    #[error("cannot stage the image layers of `{target}`")]
    Stage {
        target: String,
        #[source]
        source: boxwright_oci::Error,
    },

    #[error("image.rootfs of `{target}` is not a directory: {}", path.display())]
    RootfsNotDirectory { target: String, path: PathBuf },

    #[error(
        "image.files of `{target}`: `{relative}` (for {image_path}) is not in {}; build the target first",
        dir.display()
    )]
    MissingFile {
        target: String,
        relative: String,
        image_path: String,
        dir: PathBuf,
    },

    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Elf(#[from] boxwright_elf::Error),

    /// A key file of an `image.packages` repository that cannot be read.
    #[error("image.packages of `{target}`: cannot read the key {} of {repository}", path.display())]
    RepositoryKey {
        target: String,
        repository: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `image.packages` that cannot be used as written.
    #[error("image.packages of `{target}`: {reason}")]
    PackagesConfig { target: String, reason: String },

    /// A repository's index, a resolution or an installation that failed.
    #[error("image.packages of `{target}`: {context}")]
    Distro {
        target: String,
        /// The repository or index URL, or the step.
        context: String,
        #[source]
        source: Box<boxwright_distro::Error>,
    },

    /// A package of the lock that cannot be brought into the cache as locked.
    #[error("image.packages of `{target}`: the locked package {package} cannot be used")]
    LockedPackage {
        target: String,
        package: String,
        #[source]
        source: Box<Error>,
    },

    /// A package file that does not read as a package.
    #[error("package {package}")]
    Package {
        package: String,
        #[source]
        source: Box<boxwright_package::PackageError>,
    },

    /// A download that failed (or a cached file that does not match its digest).
    #[error("cannot fetch {url}")]
    Fetch {
        url: String,
        #[source]
        source: Box<boxwright_fetch::Error>,
    },

    /// metadata.lock.json that cannot be read or written.
    #[error("lock file {}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: Box<boxwright_fetch::Error>,
    },

    /// `--locked` and an `image.base` from a registry given by tag: what it resolves to can
    /// change.
    #[error(
        "image.base `{written}` is given by tag, not by digest (--locked): write it as \
         NAME@sha256:DIGEST (`boxwright image inspect {written}` shows the digest)"
    )]
    UnpinnedBase { written: String },

    /// `--locked` with a lock that is missing or no longer matches `image.packages`.
    #[error("image.packages of `{target}`: {reason}; run `boxwright image lock {target}`")]
    StaleLock { target: String, reason: String },

    /// A download needed while working offline.
    #[error(
        "{url} is needed, but downloads are off (--offline, or a complete lock without its packages cached)"
    )]
    Offline { url: String },

    #[error("unknown host architecture")]
    UnknownHost,

    #[error("/{path} is built for {machine}, which has no OCI platform name")]
    NoPlatformName { path: String, machine: String },

    #[error(
        "platform {platform} needs {needed} binaries, but /{path} is built for {machine} \
         (build it with --arch {needed})"
    )]
    WrongMachine {
        platform: String,
        needed: String,
        path: String,
        machine: String,
    },

    #[error(
        "image.base `{written}` is neither a path to an OCI layout or oci-archive ({} does not \
         exist) nor a registry reference: {reason}",
        path.display()
    )]
    BaseReference {
        written: String,
        path: PathBuf,
        reason: boxwright_registry::ReferenceError,
    },

    #[error("base image {written}")]
    Base {
        written: String,
        #[source]
        source: boxwright_oci::Error,
    },

    #[error(transparent)]
    Registry(#[from] boxwright_registry::Error),

    #[error("cannot set up the registry client")]
    Client(#[source] HostError),

    #[error(transparent)]
    Oci(#[from] boxwright_oci::Error),

    /// A tree (directory or tar stream) could not be read.
    #[error("cannot read the file tree {}: {message}", path.display())]
    Tree { path: PathBuf, message: String },

    /// An account of `image.accounts` clashes with one the packages ship.
    #[error("image.accounts: {message}")]
    Account { message: String },

    /// `image.services` needs a program (`execlineb`, `s6-svscan`) no installed package has.
    #[error(
        "image.services needs `{program}` in the image, and no installed package has it \
         (install {package}, or the static s6/execline build)"
    )]
    MissingSupervisor {
        program: &'static str,
        package: &'static str,
    },

    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: boxwright_oci::Error,
    },
}

impl Error {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    }
}
