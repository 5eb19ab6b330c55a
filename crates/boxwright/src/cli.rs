//! Command-line arguments (clap derive). Parsing only: no behaviour lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Daemonless, reproducible static builds, images and releases from metadata.json.
#[derive(Debug, Parser)]
#[command(name = "boxwright", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Project directory (holding metadata.json) or the metadata file itself; default: the
    /// nearest directory upwards from the current one that holds metadata.json.
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail on stderr.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Only results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List targets with their versions and tag prefixes.
    Targets,
    /// Read values from metadata.json.
    #[command(subcommand)]
    Metadata(MetadataCommand),
    /// Print the JSON Schema of metadata.json.
    Schema,
    /// Download and verify sources into <project>/.tmp/.
    Fetch(FetchArgs),
    /// Fetch, run the recipe in a sandbox, verify, publish to .out/<target>/.
    Build(BuildArgs),
    /// Check release tags and package release archives.
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Report on ELF files and check them against a policy.
    Verify(VerifyArgs),
    /// Build OCI images, docker archives and root-filesystem tarballs.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Upstream versions of a mirror target, which the registry lacks, and the build matrix.
    Plan(PlanArgs),
    /// Mirror upstream versions into a registry: build, push by digest, merge, tag.
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// Software bill of materials (SPDX 2.3 or CycloneDX 1.6 JSON) of an output, image or archive.
    Sbom(SbomArgs),
    /// SLSA v1 provenance predicate of an output, image or archive.
    Provenance(ProvenanceArgs),
}

/// What `sbom` and `provenance` describe.
#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// A target of the project (its output directory), an OCI layout directory, an
    /// oci-archive, a rootfs tarball (.tar, .tar.gz, .tar.zst), a release archive
    /// (<tag>.tar.gz) or a registry reference HOST[:PORT]/REPOSITORY[:TAG][@DIGEST], tried
    /// in that order.
    pub subject: String,
    /// The target the subject was built from, when the subject does not say (an image whose
    /// `ref.name` is not the target's, a rootfs tarball).
    #[arg(long, value_name = "T")]
    pub target: Option<String>,
    /// The platform of a multi-platform image to describe (os/arch[/variant]).
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// How to reach the registry of a registry reference.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// spdx-json (SPDX 2.3) or cyclonedx-json (CycloneDX 1.6).
    #[arg(long, default_value = "spdx-json", value_name = "FORMAT")]
    pub format: String,
    /// Write the document to FILE (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProvenanceArgs {
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// Write the predicate to FILE (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Where a mirror target's images go, and how versions are chosen.
#[derive(Debug, Args)]
pub struct MirrorTargetArgs {
    /// A target with `upstream` in metadata.json.
    pub target: String,
    /// Registry (and namespace) for the repository `R/<target>`, unless `image.repository`
    /// names one: `HOST[:PORT][/NAMESPACE]`.
    #[arg(long, value_name = "R")]
    pub registry: Option<String>,
    /// How to reach the registry.
    #[command(flatten)]
    pub access: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub mirror: MirrorTargetArgs,
    /// Newest versions to consider [default: upstream.max_versions, else 10].
    #[arg(long, value_name = "N")]
    pub max_versions: Option<usize>,
    /// Platforms (os/arch, repeatable or comma-separated) [default: image.platforms, else
    /// linux/amd64].
    #[arg(long, value_name = "PLATFORM", value_delimiter = ',')]
    pub platform: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Plan, then build and push every missing pair by digest, merge each version's index,
    /// tag it, and move `latest` to the highest version. Running it again does nothing.
    Run(MirrorRunArgs),
    /// Build one version for one architecture and push it by digest (a CI matrix job).
    Build(MirrorBuildArgs),
    /// Merge one version's per-architecture digests into an index and tag it (a CI job).
    Merge(MirrorMergeArgs),
}

#[derive(Debug, Args)]
pub struct MirrorRunArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Refuse downloads whose digest is neither pinned, in a checksum file, nor in
    /// metadata.lock.json (CI: nothing unreviewed is recorded).
    #[arg(long)]
    pub locked: bool,
}

#[derive(Debug, Args)]
pub struct MirrorBuildArgs {
    #[command(flatten)]
    pub mirror: MirrorTargetArgs,
    /// The upstream version to build.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// amd64 or arm64 (x86_64 and aarch64 are accepted).
    #[arg(long, value_name = "ARCH")]
    pub arch: String,
    /// Also write the pushed digest to this file.
    #[arg(long, value_name = "FILE")]
    pub digest_file: Option<PathBuf>,
    /// See `mirror run --locked`.
    #[arg(long)]
    pub locked: bool,
}

#[derive(Debug, Args)]
pub struct MirrorMergeArgs {
    #[command(flatten)]
    pub mirror: MirrorTargetArgs,
    /// The version whose index to merge and tag.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// Per-architecture manifest digests (repeatable).
    #[arg(long, value_name = "DIGEST")]
    pub digest: Vec<String>,
    /// A directory of files each holding a digest (as `mirror build --digest-file` writes).
    #[arg(long, value_name = "DIR")]
    pub digests_dir: Option<PathBuf>,
    /// Also move `latest` to this index.
    #[arg(long)]
    pub latest: bool,
}

#[derive(Debug, Subcommand)]
pub enum MetadataCommand {
    /// Print one value: tag_prefix, version_env_var, version, release_files, env.NAME, downloads.
    Get {
        /// Target name.
        target: String,
        /// Key to read.
        key: String,
    },
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Targets whose downloads to fetch (default: all).
    pub targets: Vec<String>,
    /// Use only the cache; fail when a file is missing from it.
    #[arg(long)]
    pub offline: bool,
    /// Downloads at once [env: BOXWRIGHT_FETCH_JOBS, default 4].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[allow(
    clippy::struct_excessive_bools,
    reason = "each flag is one independent command-line switch"
)]
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The targets to build.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub targets: Vec<String>,
    /// Build every target that has a recipe (<target>/build.sh).
    #[arg(long)]
    pub all: bool,
    /// Targets built at once (independent ones; dependencies always come first).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Architecture to build for: x86_64 or aarch64 [default: this machine's].
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Where the recipe runs: auto (bubblewrap when installed), bwrap, or none (the host).
    #[arg(long, default_value = "auto", value_name = "KIND")]
    pub sandbox: String,
    /// Publish to DIR/<target>/ instead of the project's output directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Use only the download cache (and the vendored crates and modules).
    #[arg(long)]
    pub offline: bool,
    /// Rebuild the named targets even when their output is up to date (their dependencies
    /// are still only rebuilt when they changed).
    #[arg(long)]
    pub force: bool,
    /// Print the build plans as JSON, build nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Validate a release tag against metadata.json (exit 1 when it is not valid).
    Check {
        /// A tag like nginx-1.28.2.18.
        tag: String,
    },
    /// Write <tag>.tar.gz of the target's release_files, and its .sha256.
    Package(PackageArgs),
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// A release tag like nginx-1.28.2.18.
    pub tag: String,
    /// Directory to write into [default: <project>/.out/release].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// gzip level, 1 (fastest) to 9 (smallest).
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub level: u32,
    /// Show what would be packed, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Files to report on. Directories are walked recursively in name order; symbolic links
    /// inside them are not followed.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Requirements, comma-separated: static, pie, stripped, relro (full RELRO), nx, canary,
    /// fortify, arch=NAME (x86_64, aarch64, bpf...). Any file that misses one exits 1, with a
    /// reason per miss on stderr.
    #[arg(long, value_name = "LIST")]
    pub policy: Option<boxwright_elf::Policy>,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Assemble the target's image from its build output, without a daemon.
    Build(ImageBuildArgs),
    /// Push an OCI layout (DIR or DIR:REFNAME) or oci-archive to a registry; prints the digest.
    Push(ImagePushArgs),
    /// Exit 0 when the image exists in the registry, 1 when it does not, 2 on errors.
    Exists(ImageExistsArgs),
    /// List the tags of a repository (HOST[:PORT]/REPOSITORY).
    Tags(ImageTagsArgs),
    /// Show a manifest or index: platforms, config, layers and sizes (registry or local).
    Inspect(ImageInspectArgs),
    /// Put a multi-platform index over manifests already in a repository; prints its digest.
    Merge(ImageMergeArgs),
    /// Save an image from a registry as an OCI layout or oci-archive.
    Pull(ImagePullArgs),
}

/// How to reach a registry.
#[derive(Debug, Args, Clone)]
pub struct RegistryArgs {
    /// Allow plain http to a registry that is not on a loopback address.
    #[arg(long)]
    pub insecure: bool,
    /// User name for basic or token authentication; the password comes from
    /// --password-stdin or BOXWRIGHT_REGISTRY_PASSWORD. Without it, credentials are looked up
    /// per registry in $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json or
    /// ~/.docker/config.json (`auths`, `credsStore`, `credHelpers`).
    #[arg(long, env = "BOXWRIGHT_REGISTRY_USERNAME", value_name = "USER")]
    pub username: Option<String>,
    /// Read the password from standard input (one line; needs --username).
    #[arg(long)]
    pub password_stdin: bool,
    /// PEM file of CA certificates to trust for TLS, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImagePushArgs {
    /// An OCI layout directory (optionally DIR:REFNAME) or an oci-archive.
    pub source: String,
    /// HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST].
    pub reference: String,
    /// Also write the pushed digest to this file.
    #[arg(long, value_name = "FILE")]
    pub digest_file: Option<PathBuf>,
    /// Mount blobs from this repository of the same registry (REPOSITORY or
    /// HOST[:PORT]/REPOSITORY) instead of uploading them. Without it, blobs are mounted from
    /// the repository the layout was pulled from, or its base image's, on the same registry.
    #[arg(long, value_name = "REPO")]
    pub mount_from: Option<String>,
    /// Blob uploads at once.
    #[arg(long, short = 'j', default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImageExistsArgs {
    /// HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST].
    pub reference: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImageTagsArgs {
    /// HOST[:PORT]/REPOSITORY.
    pub repository: String,
    /// Ask for pages of N tags (all pages are still listed).
    #[arg(long, value_name = "N")]
    pub page_size: Option<u32>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImageInspectArgs {
    /// HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST], or a local OCI layout (DIR or
    /// DIR:REFNAME) or oci-archive.
    pub reference: String,
    /// Print the manifest or index exactly as received (or stored).
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImageMergeArgs {
    /// HOST[:PORT]/REPOSITORY[:TAG]; a tag counts as one more --tag.
    pub reference: String,
    /// Digests (sha256:...) of the platform manifests, already in the repository.
    #[arg(required = true, value_name = "DIGEST")]
    pub digests: Vec<String>,
    /// Tags to point at the index, moved only after it is pushed (repeatable).
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// oci (image index) or docker (manifest list).
    #[arg(long, default_value = "oci", value_name = "FORMAT")]
    pub format: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImagePullArgs {
    /// HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST].
    pub reference: String,
    /// Where to write.
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,
    /// oci (layout directory) or oci-archive.
    #[arg(long, default_value = "oci", value_name = "FORMAT")]
    pub format: String,
    /// Only this platform of an index (os/arch[/variant]).
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// The target whose `image` settings and output to use.
    pub target: String,
    /// oci (layout directory), oci-archive, docker-archive, or rootfs (flat .tar or .tar.gz).
    #[arg(long, value_name = "FORMAT")]
    pub format: String,
    /// Where to write.
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,
    /// Image tag [default: the target's version].
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Layer compression: gzip, zstd or none.
    #[arg(long, default_value = "gzip", value_name = "KIND")]
    pub compression: String,
    /// Compression level: gzip 1 (fastest) to 9 (smallest), default 6; zstd 1 to 19, default 3.
    #[arg(long, value_name = "N")]
    pub level: Option<u32>,
    /// Platforms (os/arch, repeatable or comma-separated) [default: the target's
    /// `image.platforms`, else the platform of the built binaries].
    #[arg(long, value_name = "PLATFORM", value_delimiter = ',')]
    pub platform: Vec<String>,
    /// Use only base images already in the cache (a base given by tag is not resolved).
    #[arg(long)]
    pub offline: bool,
    /// How to reach the registry of an `image.base` given as a registry reference.
    #[command(flatten)]
    pub registry: RegistryArgs,
}
