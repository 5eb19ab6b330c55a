//! Command-line arguments (clap derive). Parsing only: no behaviour lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub project: Option<PathBuf>,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// More detail on stderr.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "quiet",
        help_heading = "Global options"
    )]
    pub verbose: bool,
    /// Only results and errors.
    #[arg(short, long, global = true, help_heading = "Global options")]
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
    /// Release tags, archives and signed manifests: check, package, manifest, publish, verify.
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
    /// Write CI configuration (GitHub workflows, GitLab pipelines) from metadata.json, and
    /// check that it is current.
    #[command(subcommand)]
    Ci(CiCommand),
    /// Signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign a file as `cosign sign-blob --key` does; prints the base64 signature.
    SignBlob(SignBlobArgs),
    /// Check a `sign-blob` signature of a file: exit 0 verified, 1 not verified, 2 error.
    VerifyBlob(VerifyBlobArgs),
    /// Software bill of materials (SPDX 2.3 or CycloneDX 1.6 JSON) of an output, image or archive.
    Sbom(SbomArgs),
    /// SLSA v1 provenance predicate of an output, image or archive.
    Provenance(ProvenanceArgs),
    /// Write .apk or .deb packages (main package and subpackages) from a target's output.
    Package(PackageTargetArgs),
    /// Serve a package repository (apk and apt) with JWT-guarded uploads.
    Serve(ServeArgs),
    /// Package repositories: signed apk and apt indexes; uploads to `boxwright serve`.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// Man pages: one per command into a directory (-o), else the top page on stdout.
    Man(ManArgs),
    /// Write a starter project: metadata.json, a recipe, .gitignore and, with --ci, CI files.
    Init(InitArgs),
    /// Check registry credentials and store them in the docker config file.
    Login(LoginArgs),
    /// Remove a registry's credentials from the docker config file.
    Logout(LogoutArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The repository server configuration (seed 003's reposerve YAML plus `addr`, `keys`,
    /// `apt`, `limits`; see docs/serve.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Address to listen on (HOST:PORT; port 0 picks a free one), instead of the file's
    /// `addr`.
    #[arg(long, value_name = "ADDR")]
    pub addr: Option<String>,
}

#[derive(Debug, Args)]
pub struct PackageTargetArgs {
    /// The target whose built output (`.out/<target>/`) is packaged.
    pub target: String,
    /// Package format.
    #[arg(long, value_enum)]
    pub format: PackageFormatArg,
    /// Architecture (x86_64/amd64, aarch64/arm64, noarch/all) [default: this machine's]. The
    /// output of another architecture is read from `.out/<target>@<arch>/`.
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Directory to write the packages into (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// RSA private key signing apk packages (PEM, PKCS#8 or PKCS#1): a file, or env://NAME
    /// for a variable holding the PEM text. Required for --format apk.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// The public key file name apk clients trust (`/etc/apk/keys/<NAME>`) [default: the
    /// key file's name + `.pub`, as abuild names them]. Required with --key env://NAME.
    #[arg(long, value_name = "NAME")]
    pub key_name: Option<String>,
}

/// Package formats of `boxwright package`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PackageFormatArg {
    /// Alpine apk v2, signed with an RSA key.
    Apk,
    /// Debian binary package.
    Deb,
}

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Write and sign the indexes of a repository tree: every apk `<version>/<repo>/<arch>/`
    /// directory (APKINDEX.tar.gz) and every apt suite under `apt/pool/` (Packages,
    /// Release, Release.gpg, InRelease).
    Index(RepoIndexArgs),
    /// Upload .apk and .deb files to a `boxwright serve` (or reposerve): one request per
    /// (version, repo, arch), as seed 003's apkdeploy.sh does.
    Upload(RepoUploadArgs),
}

#[derive(Debug, Args)]
pub struct RepoIndexArgs {
    /// The repository root.
    pub dir: PathBuf,
    /// RSA private key (PEM) signing APKINDEX.tar.gz: a file, or env://NAME for a variable
    /// holding the PEM text; clients trust `<file name>.pub`.
    #[arg(long, value_name = "KEY")]
    pub apk_key: Option<String>,
    /// The public key file name apk clients trust (`/etc/apk/keys/<NAME>`) [default: the
    /// --apk-key file's name + `.pub`]. Required with --apk-key env://NAME.
    #[arg(long, value_name = "NAME")]
    pub apk_key_name: Option<String>,
    /// OpenPGP secret key (armored, unencrypted) signing InRelease and Release.gpg: a file,
    /// or env://NAME.
    #[arg(long, value_name = "KEY")]
    pub apt_key: Option<String>,
    /// `Origin:` of the apt Release files.
    #[arg(long, value_name = "TEXT", default_value = "boxwright")]
    pub origin: String,
    /// `Label:` of the apt Release files.
    #[arg(long, value_name = "TEXT", default_value = "boxwright")]
    pub label: String,
}

#[derive(Debug, Args)]
pub struct RepoUploadArgs {
    /// The server's URL (`https://host`; `/upload` is appended unless present).
    pub url: String,
    /// Package files (.apk, .deb).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Name of the environment variable holding the JWT sent as a bearer token
    /// (for example CI_JOB_JWT_V2). The token is never printed.
    #[arg(long, value_name = "NAME")]
    pub token_env: Option<String>,
    /// apk: the Alpine version directory, e.g. 3.20 (default: this Alpine's VERSION_ID as
    /// major.minor).
    #[arg(long, value_name = "V")]
    pub alpine: Option<String>,
    /// apk: the repository (default: the directory above `<arch>/` when the files sit in
    /// abuild's `<repo>/<arch>/` layout).
    #[arg(long, value_name = "R")]
    pub repo: Option<String>,
    /// deb: the apt suite (required for .deb files).
    #[arg(long, value_name = "S")]
    pub suite: Option<String>,
    /// deb: the apt component [default: --repo, else the directory above `<arch>/`].
    #[arg(long, value_name = "C")]
    pub component: Option<String>,
    /// Deprecated: use --alpine (.apk files) or --suite (.deb files).
    #[arg(long, value_name = "V", hide = true)]
    pub version: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public).
    Generate(KeyGenerateArgs),
}

/// Kinds of key pair `key generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyFormat {
    /// ECDSA P-256: cosign's encrypted `ENCRYPTED SIGSTORE PRIVATE KEY` and a PEM public key.
    Cosign,
    /// Ed25519: minisign's secret key file (unencrypted, as `minisign -G -W` writes it) and
    /// public key file.
    Minisign,
    /// RSA for apk packages and indexes: PREFIX.rsa (PKCS#8 PEM, unencrypted) and
    /// PREFIX.rsa.pub (`BEGIN PUBLIC KEY`, the file apk clients keep in /etc/apk/keys/).
    Rsa,
    /// OpenPGP (v4 Ed25519) for apt repositories: PREFIX.key (armored secret key,
    /// unencrypted) and PREFIX.pub (armored public key, for `signed-by=`).
    Openpgp,
}

#[derive(Debug, Args)]
pub struct KeyGenerateArgs {
    /// Path prefix of the files: PREFIX.key and PREFIX.pub.
    #[arg(short, long, alias = "out", value_name = "PREFIX")]
    pub output: PathBuf,
    /// Kind of key pair.
    #[arg(long, value_enum, default_value_t = KeyFormat::Cosign)]
    pub format: KeyFormat,
    /// Read the key's password, which encrypts the private key (cosign keys), from standard
    /// input (all of it, less one final line break). Without it, COSIGN_PASSWORD is used (even
    /// empty), else --no-password, else the password is asked twice on a terminal; with
    /// none of them the command exits 2. minisign, rsa and openpgp keys are written
    /// unencrypted by design and need no password.
    #[arg(long, alias = "password-stdin")]
    pub key_password_stdin: bool,
    /// Encrypt a cosign private key with the empty password instead of asking for one.
    #[arg(long, conflicts_with = "key_password_stdin")]
    pub no_password: bool,
    /// Replace existing PREFIX.key and PREFIX.pub.
    #[arg(long)]
    pub force: bool,
    /// RSA key size in bits (--format rsa).
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub bits: usize,
    /// User ID of an OpenPGP key (--format openpgp).
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "boxwright repository signing key"
    )]
    pub user_id: String,
}

#[derive(Debug, Args)]
pub struct SignBlobArgs {
    /// The file to sign (read as a stream; any size).
    pub file: PathBuf,
    /// The private key: a file, or env://NAME for a variable holding the PEM text (a CI
    /// secret). cosign's encrypted keys, PKCS#8 `PRIVATE KEY` and SEC1 `EC PRIVATE KEY`.
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Write the base64 signature to this file instead of standard output.
    #[arg(short, long, visible_alias = "output-signature", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read the key's password from standard input; without it, COSIGN_PASSWORD is used,
    /// else the empty password.
    #[arg(long, alias = "password-stdin")]
    pub key_password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct VerifyBlobArgs {
    /// The signed file.
    pub file: PathBuf,
    /// The signature: a file holding the base64 text (as `sign-blob` writes it), or the
    /// base64 text itself.
    #[arg(long, value_name = "SIG")]
    pub signature: String,
    /// The public key (`-----BEGIN PUBLIC KEY-----`): a file, or env://NAME.
    #[arg(long, value_name = "KEY")]
    pub key: String,
}

/// What `sbom` and `provenance` describe.
#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// A target of the project (its output directory), an OCI layout directory (DIR, or
    /// DIR:TAG for one of several images), an oci-archive (FILE[:TAG] or
    /// oci-archive:FILE[:TAG]), a rootfs tarball (.tar, .tar.gz, .tar.zst), a release archive
    /// (<tag>.tar.gz) or a registry reference HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
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
    /// Sign and attest each version merged now: an SPDX SBOM and SLSA provenance of every
    /// platform image, and cosign signatures of the index and its manifests (which `latest`
    /// shares). A file or env://VAR; the password comes from COSIGN_PASSWORD.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Where signatures go: legacy, referrers or both (see `image sign`).
    #[arg(long, default_value = "both", value_name = "SCHEME")]
    pub tag_scheme: String,
}

#[derive(Debug, Args)]
pub struct MirrorBuildArgs {
    #[command(flatten)]
    pub mirror: MirrorTargetArgs,
    /// The upstream version to build.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// The platform to build: linux/amd64 or linux/arm64 (os/arch).
    #[arg(long, alias = "arch", value_name = "PLATFORM")]
    pub platform: String,
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
pub enum CiCommand {
    /// Write the provider's CI files into the project (or -o DIR); print their paths.
    Generate(CiGenerateArgs),
    /// Compare the CI files on disk with what `ci generate` would write: exit 1, with a
    /// unified diff per file, when any differs, is missing or is stale.
    Check(CiCheckArgs),
}

#[derive(Debug, Args)]
pub struct CiGenerateArgs {
    /// github (.github/workflows/boxwright-*.yml) or gitlab (.gitlab/boxwright.yml).
    #[arg(value_enum)]
    pub provider: CiProvider,
    /// Write under DIR instead of the project root.
    #[arg(
        short,
        long,
        alias = "out",
        value_name = "DIR",
        conflicts_with = "child"
    )]
    pub output: Option<PathBuf>,
    /// gitlab only: print the child pipeline (what the boxwright:generate job runs) on stdout
    /// and write nothing.
    #[arg(long)]
    pub child: bool,
}

#[derive(Debug, Args)]
pub struct CiCheckArgs {
    /// Check only this provider's files [default: every provider with generated files in
    /// the project].
    #[arg(value_enum)]
    pub provider: Option<CiProvider>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CiProvider {
    Github,
    Gitlab,
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
    /// Fail (exit 2) on any download without a digest in metadata.json or
    /// metadata.lock.json, naming target and URL; nothing is written to the lock.
    #[arg(long)]
    pub locked: bool,
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
    #[arg(short, long, alias = "out", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Use only the download cache (and the vendored crates and modules).
    #[arg(long)]
    pub offline: bool,
    /// Fail (exit 2) on any download without a digest in metadata.json or
    /// metadata.lock.json, naming target and URL; nothing is written to the lock.
    #[arg(long)]
    pub locked: bool,
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
    /// Write the release's manifest.json (+ manifest.json.sig when a key is set) and copy its
    /// artifacts under <tag>/ beside it.
    Manifest(ManifestArgs),
    /// Publish a release: DEST/<target>/<tag>/ (artifacts, manifest.json, .sig) first, then
    /// the stable DEST/<target>/manifest.json (+ .sig).
    Publish(PublishArgs),
    /// Check a published release: the manifest's signature, then each artifact's size and
    /// digests (exit 0 verified, 1 not verified, 2 error).
    Verify(ReleaseVerifyArgs),
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// A release tag like distro-0.1.0.0.
    pub tag: String,
    /// Directory to write into [default: <project>/.out/release/<tag>].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Signing key (a file or env://VAR), instead of the release's manifest_key_env: a
    /// minisign secret key or a cosign private key, as the release's `signature` says.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Write an unsigned manifest when there is no key (without it, no key exits 2).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Read the signing key's password from standard input (all of it, less one final line
    /// break); without it, MINISIGN_PASSWORD or COSIGN_PASSWORD, as the key's format says.
    #[arg(long, conflicts_with = "registry_password_stdin")]
    pub key_password_stdin: bool,
    /// Registry options for resolving the release's `images` to digests.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// A release tag like distro-0.1.0.0.
    pub tag: String,
    /// Destination: a directory, s3://BUCKET[/PREFIX] (AWS_* variables),
    /// github://OWNER/REPO (GITHUB_TOKEN) or gitlab://PROJECT (GITLAB_TOKEN or CI_JOB_TOKEN).
    #[arg(long, value_name = "DEST")]
    pub to: String,
    /// Signing key (a file or env://VAR), instead of the release's manifest_key_env.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Publish an unsigned manifest when there is no key (without it, no key exits 2).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Read the signing key's password from standard input (all of it, less one final line
    /// break); without it, MINISIGN_PASSWORD or COSIGN_PASSWORD, as the key's format says.
    #[arg(long, conflicts_with = "registry_password_stdin")]
    pub key_password_stdin: bool,
    /// Replace versioned objects that exist with other contents.
    #[arg(long)]
    pub force: bool,
    /// gitlab:// only: the generic package's version (default: the tag without `<target>-`),
    /// e.g. 1.2.0-beta for a feature branch.
    #[arg(long, value_name = "VERSION")]
    pub package_version: Option<String>,
    /// Registry options for resolving the release's `images` to digests.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ReleaseVerifyArgs {
    /// The target's publication base: DEST/<target> as a directory or an http(s):// URL.
    pub base: String,
    /// Public key: a minisign public key or a cosign PEM public key (a file or env://VAR).
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Check this release tag's versioned manifest instead of the stable one.
    #[arg(long, alias = "tag", value_name = "TAG")]
    pub release: Option<String>,
    /// Write the verified artifacts into this directory (nothing unless all verify).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Also check that every image the manifest names is in its registry with the recorded
    /// digest and size.
    #[arg(long)]
    pub images: bool,
    /// Registry options for --images.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// A release tag like nginx-1.28.2.18.
    pub tag: String,
    /// Directory to write into [default: <project>/.out/release].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// gzip level, 1 (fastest) to 9 (smallest).
    #[arg(long, value_name = "N", default_value_t = boxwright_archive::DEFAULT_LEVEL, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub level: u32,
    /// Show what would be packed, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Files to report on. Directories are walked recursively in name order; symbolic links
    /// inside them are not followed.
    #[arg(
        required_unless_present = "image",
        conflicts_with = "image",
        value_name = "PATH"
    )]
    pub paths: Vec<PathBuf>,
    /// Check an image's s6 services instead: every /etc/services.d/*/run executable, its
    /// interpreter and the program it starts present. SUBJECT is an OCI layout (DIR or
    /// DIR:TAG), an oci-archive (FILE[:TAG] or oci-archive:FILE[:TAG]), a rootfs tarball or
    /// an unpacked rootfs directory. Exit 1 naming the service and the missing path.
    #[arg(long, value_name = "SUBJECT")]
    pub image: Option<String>,
    /// The platform of a multi-platform image (os/arch[/variant]).
    #[arg(long, value_name = "PLATFORM", requires = "image")]
    pub platform: Option<String>,
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
    /// Resolve `image.packages` against the signed indexes and record the package set
    /// (name, version, URL, SHA-256) in metadata.lock.json.
    Lock(ImageLockArgs),
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
    /// Sign an image in a registry, as cosign does (legacy `.sig` tag and OCI referrer).
    Sign(ImageSignArgs),
    /// Attach a signed in-toto attestation (DSSE) of a predicate to an image.
    Attest(ImageAttestArgs),
    /// Check an image's signatures (or attestations): exit 0 verified, 1 not, 2 error.
    Verify(ImageVerifyArgs),
}

/// The key and where signatures go, for `image sign` and `image attest`.
#[derive(Debug, Args)]
pub struct SigningArgs {
    /// Private key: a file or env://VAR (the variable holds the PEM text). An encrypted key's
    /// password comes from --key-password-stdin, else COSIGN_PASSWORD.
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Read the key's password from standard input (all of it, less one final line break);
    /// not with --registry-password-stdin.
    #[arg(long, conflicts_with = "registry_password_stdin")]
    pub key_password_stdin: bool,
    /// Where signatures go: legacy (cosign's sha256-<hex>.sig/.att tags), referrers (OCI 1.1
    /// referrers: the API, or the referrers tag schema), or both.
    #[arg(long, default_value = "both", value_name = "SCHEME")]
    pub tag_scheme: String,
    /// For an index, also sign every platform manifest in it.
    #[arg(long)]
    pub recursive: bool,
}

#[derive(Debug, Args)]
pub struct ImageSignArgs {
    /// HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST]: the manifest or index to sign.
    pub reference: String,
    #[command(flatten)]
    pub signing: SigningArgs,
    /// An annotation in the signed payload's `optional` section (KEY=VALUE, repeatable).
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImageAttestArgs {
    /// HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST].
    pub reference: String,
    /// The predicate: a JSON file (an SBOM, a provenance predicate...).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    /// Predicate type: spdx, spdxjson, cyclonedx, slsaprovenance (v1), slsaprovenance1,
    /// slsaprovenance02, custom, or an https:// URI.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,
    #[command(flatten)]
    pub signing: SigningArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImageVerifyArgs {
    /// HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST].
    pub reference: String,
    /// Public key: a file or env://VAR.
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Check attestations of this predicate type (as for `image attest --type`) instead of
    /// signatures.
    #[arg(long, value_name = "TYPE")]
    pub attestation: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// How to reach a registry.
#[derive(Debug, Args, Clone)]
pub struct RegistryArgs {
    /// Allow plain http to a registry that is not on a loopback address.
    #[arg(long)]
    pub insecure: bool,
    /// User name for basic or token authentication; the password comes from
    /// --registry-password-stdin or BOXWRIGHT_REGISTRY_PASSWORD. Without it, credentials are
    /// looked up per registry in $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json or
    /// ~/.docker/config.json (`auths`, `credsStore`, `credHelpers`).
    #[arg(
        long,
        alias = "username",
        env = "BOXWRIGHT_REGISTRY_USERNAME",
        value_name = "USER"
    )]
    pub registry_username: Option<String>,
    /// Read the registry password from standard input (one line; needs
    /// --registry-username).
    #[arg(long, alias = "password-stdin")]
    pub registry_password_stdin: bool,
    /// PEM file of CA certificates to trust for TLS, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImagePushArgs {
    /// An OCI layout directory (DIR or DIR:TAG) or an oci-archive (FILE[:TAG] or
    /// oci-archive:FILE[:TAG]).
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
    /// DIR:TAG) or oci-archive ([oci-archive:]FILE[:TAG]).
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
    /// Image tags to point at the index, moved only after it is pushed (repeatable).
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
    /// Compression level: gzip 1 (fastest) to 9 (smallest), default 2; zstd 1 to 19, default 3.
    #[arg(long, value_name = "N")]
    pub level: Option<u32>,
    /// Platforms (os/arch, repeatable or comma-separated) [default: the target's
    /// `image.platforms`, else the platform of the built binaries].
    #[arg(long, value_name = "PLATFORM", value_delimiter = ',')]
    pub platform: Vec<String>,
    /// Use only base images and packages already in the cache (a base given by tag is not
    /// resolved).
    #[arg(long)]
    pub offline: bool,
    /// For an image from packages: install the recorded lock (metadata.lock.json) and fail
    /// when it is missing or no longer matches `image.packages`; and refuse an `image.base`
    /// from a registry given by tag (NAME:TAG) instead of by digest (NAME@sha256:...).
    #[arg(long)]
    pub locked: bool,
    /// How to reach the registry of an `image.base` given as a registry reference.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImageLockArgs {
    /// The target whose `image.packages` to resolve.
    pub target: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write boxwright.1 and one page per command (boxwright-image-push.1...) into DIR.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project directory (created if missing) [default: the current directory].
    pub dir: Option<PathBuf>,
    /// The target's name [default: the directory's name, made a valid target name].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Also write the CI files `ci generate` writes for this provider.
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub ci: Option<CiProvider>,
    /// Replace files that exist.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry: HOST[:PORT].
    pub registry: String,
    /// The registry user name.
    #[arg(long, env = "BOXWRIGHT_REGISTRY_USERNAME", value_name = "USER")]
    pub registry_username: String,
    /// Read the registry password from standard input (one line); without it,
    /// BOXWRIGHT_REGISTRY_PASSWORD.
    #[arg(long)]
    pub registry_password_stdin: bool,
    /// Allow plain http to a registry that is not on a loopback address.
    #[arg(long)]
    pub insecure: bool,
    /// PEM file of CA certificates to trust for TLS, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry: HOST[:PORT].
    pub registry: String,
}
