//! What commands share: the loaded project, the reproducible timestamp, the registry client
//! and async runtime, and the host side of SUBJECT resolution. It is also the one reader of
//! the process environment: libraries get what the variables say as arguments.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use boxwright_fetch::{FetchOptions, FetchReport};
use boxwright_metadata::{Project, SourceUrl, Target, env_vars};
use boxwright_oci::{Compression, Format};
use boxwright_registry::{
    AuthFile, AuthLocations, Client, ClientOptions, Credentials, PullFormat, Reference,
};
use boxwright_sbom::SourceInfo;
use boxwright_sbom::resolve::{Host, HostError};

use crate::cli::{GlobalArgs, ImageBuildArgs, RegistryArgs};
use crate::printer::Printer;

/// The process environment's `name` (unset and non-Unicode values are `None`). Every
/// variable boxwright reads is documented in `boxwright_metadata::env_vars`.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// [`var`] for paths and other values that need not be Unicode.
fn var_os(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// The whole process environment (recorded by provenance, passed to recipes).
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

/// Loads the project named by `--project`, or the nearest one upwards; templates and
/// `BUILD_OUTPUT_DEST` come from the process environment.
pub fn project(global: &GlobalArgs) -> Result<Project> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(Project::discover(global.project.as_deref(), &cwd, &var)?)
}

/// `SOURCE_DATE_EPOCH` when set: an error when it is not a whole number of seconds.
pub fn env_source_date_epoch() -> Result<Option<u64>> {
    let Some(value) = var(env_vars::SOURCE_DATE_EPOCH) else {
        return Ok(None);
    };
    value.trim().parse().map(Some).with_context(|| {
        format!(
            "{} must be a whole number of seconds, not {value:?}",
            env_vars::SOURCE_DATE_EPOCH
        )
    })
}

/// `SOURCE_DATE_EPOCH` when set to a whole number; anything else is ignored (repository
/// indexes and pulled files fall back to their own times).
pub fn env_source_date_epoch_lenient() -> Option<u64> {
    env_source_date_epoch().ok().flatten()
}

/// The project, when there is one: none is fine unless `--project` names one; one that is
/// there but does not load is an error.
pub fn optional_project(global: &GlobalArgs) -> Result<Option<Project>> {
    match project(global) {
        Ok(project) => Ok(Some(project)),
        Err(error)
            if global.project.is_none()
                && matches!(
                    error.downcast_ref(),
                    Some(boxwright_metadata::Error::NotFound { .. })
                ) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// The target called `name`; an error listing the known ones when there is none.
pub fn target<'a>(project: &'a Project, name: &str) -> Result<&'a Target> {
    project.metadata.target(name).ok_or_else(|| {
        let known: Vec<&str> = project
            .metadata
            .targets
            .keys()
            .map(String::as_str)
            .collect();
        anyhow::anyhow!("unknown target `{name}` (known: {})", known.join(", "))
    })
}

/// `SOURCE_DATE_EPOCH` if set, else the time of the project's last git commit, else 0.
pub fn source_date_epoch(root: &Path) -> Result<u64> {
    source_date_epoch_at(root, "HEAD")
}

/// `SOURCE_DATE_EPOCH` if set, else the commit time of `revision` in the project's git
/// repository, else 0.
pub fn source_date_epoch_at(root: &Path, revision: &str) -> Result<u64> {
    if let Some(epoch) = env_source_date_epoch()? {
        return Ok(epoch);
    }
    Ok(git(root, &["log", "-1", "--format=%ct", revision, "--"])
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// The publishable source URL of `target` (see `boxwright_metadata::source`): its
/// `source_url`, `BOXWRIGHT_SOURCE_URL`, CI variables or the `origin` remote, cleaned.
/// Every output that records the project's source takes it from here.
pub fn source_url(project: &Project, target: &Target) -> Option<SourceUrl> {
    boxwright_metadata::source::resolve_source_url(target.source_url.as_deref(), &var, &|| {
        git(&project.root, &["remote", "get-url", "origin"])
    })
}

/// The commit being built: `git rev-parse HEAD`, else GitLab's `CI_COMMIT_SHA` or GitHub's
/// `GITHUB_SHA`; only a well-formed commit id is returned.
pub fn revision(project: &Project) -> Option<String> {
    git(&project.root, &["rev-parse", "--verify", "-q", "HEAD"])
        .or_else(|| var("CI_COMMIT_SHA"))
        .or_else(|| var("GITHUB_SHA"))
        .and_then(|raw| boxwright_metadata::publishable_revision(&raw))
}

/// One line of `git` output in the project (empty when git or the repository is missing).
pub fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// A registry client for the command's registry arguments.
pub fn registry_client(args: &RegistryArgs) -> anyhow::Result<Client> {
    registry_client_with(args, &ClientOptions::default())
}

/// A client for the command's registry arguments, on top of `options`.
pub fn registry_client_with(
    args: &RegistryArgs,
    options: &ClientOptions,
) -> anyhow::Result<Client> {
    let password = if args.password_stdin {
        if args.username.is_none() {
            bail!("--password-stdin needs --username (or BOXWRIGHT_REGISTRY_USERNAME)");
        }
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            bail!("--password-stdin: standard input holds no password");
        }
        Some(password)
    } else {
        var(boxwright_registry::PASSWORD_ENV)
    };
    let credentials = match (&args.username, password) {
        (Some(username), Some(password)) => Some(Credentials {
            username: username.clone(),
            password,
        }),
        (Some(username), None) => bail!(
            "--username {username} needs a password: pass --password-stdin or set {}",
            boxwright_registry::PASSWORD_ENV
        ),
        (None, _) => None,
    };
    let auth_file = if credentials.is_none() {
        AuthFile::discover(&AuthLocations {
            registry_auth_file: var_os(env_vars::REGISTRY_AUTH_FILE).map(PathBuf::from),
            docker_config: var_os(env_vars::DOCKER_CONFIG).map(PathBuf::from),
            home: var_os("HOME").map(PathBuf::from),
        })?
    } else {
        None
    };
    let ca_pem = match &args.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read --ca-file {}", path.display()))?,
        ),
        None => None,
    };
    Client::new(ClientOptions {
        insecure: args.insecure,
        credentials,
        auth_file,
        ca_pem,
        ..options.clone()
    })
    .with_context(|| match &args.ca_file {
        Some(path) => format!("cannot use --ca-file {}", path.display()),
        None => "cannot set up the registry client".into(),
    })
}

/// The process's one async runtime, started on first use; libraries take its handle or
/// expose async functions, and never start their own.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))
}

/// A handle of the process's runtime, for libraries that run futures from sync code.
pub fn runtime_handle() -> Result<tokio::runtime::Handle> {
    Ok(runtime()?.handle().clone())
}

/// Runs `future` to completion on the process's runtime.
pub fn block_on<T>(future: impl Future<Output = T>) -> anyhow::Result<T> {
    Ok(runtime()?.block_on(future))
}

/// The host side of SUBJECT resolution: git and CI for the source, the process environment,
/// and pulls through the registry client of the command's arguments (made on first use).
pub struct SubjectHost<'a> {
    pub printer: &'a Printer,
    pub registry: &'a RegistryArgs,
}

impl Host for SubjectHost<'_> {
    fn source(&self, project: &Project, target: &Target) -> Option<SourceInfo> {
        let source = SourceInfo {
            url: source_url(project, target).map(|s| s.url),
            revision: revision(project),
        };
        (source.url.is_some() || source.revision.is_some()).then_some(source)
    }

    fn var(&self, name: &str) -> Option<String> {
        var(name)
    }

    fn pull(
        &self,
        reference: &Reference,
        layout: &Path,
        platform: Option<&str>,
    ) -> std::result::Result<(), HostError> {
        let client = registry_client(self.registry)?;
        let report = block_on(client.pull(reference, layout, PullFormat::Oci, platform, 0))??;
        self.printer.info(format!(
            "pulled {} ({}): {} blobs, {} bytes",
            report.reference, report.digest, report.blobs, report.bytes
        ));
        Ok(())
    }
}

/// `image build`'s arguments resolved: format, compression and level.
pub fn image_format(args: &ImageBuildArgs) -> Result<(Format, Compression)> {
    let format: Format = args.format.parse().map_err(|e: String| anyhow!(e))?;
    let compression = match (
        args.compression.parse().map_err(|e: String| anyhow!(e))?,
        args.level,
    ) {
        (Compression::Gzip { .. }, Some(level @ 1..=9)) => Compression::Gzip { level },
        (Compression::Zstd { .. }, Some(level @ 1..=19)) => Compression::Zstd {
            level: i32::try_from(level).expect("small"),
        },
        (Compression::None, Some(_)) => bail!("--level does not apply to --compression none"),
        (_, Some(level)) => bail!("--level {level} is out of range (gzip 1-9, zstd 1-19)"),
        (compression, None) => compression,
    };
    Ok((format, compression))
}

/// The image of `args.target` in `project` (which may hold a target resolved for one
/// version), assembled by `boxwright-image` with this project's source, revision and time.
pub fn build_image(
    project: &Project,
    printer: &Printer,
    args: &ImageBuildArgs,
) -> Result<boxwright_oci::Written> {
    let target = target(project, &args.target)?;
    let (format, compression) = image_format(args)?;
    let request = boxwright_image::Request {
        target: &args.target,
        format,
        output: &args.output,
        tag: args.tag.as_deref(),
        compression,
        platforms: &args.platform,
        offline: args.offline,
        created: source_date_epoch(&project.root)?,
        source_url: source_url(project, target).map(|s| s.url),
        revision: revision(project),
        runtime: runtime_handle()?,
    };
    let host = ImageHost {
        printer,
        registry: &args.registry,
    };
    Ok(boxwright_image::build(project, &request, &host)?)
}

/// The host side of image assembly: the registry client of the command's arguments, and
/// notes on stderr.
pub struct ImageHost<'a> {
    pub printer: &'a Printer,
    pub registry: &'a RegistryArgs,
}

impl boxwright_image::Host for ImageHost<'_> {
    fn client(&self) -> std::result::Result<Client, boxwright_image::HostError> {
        Ok(registry_client(self.registry)?)
    }

    fn pulled_base(&self, written: &str, resolved: &str, platform: &str) {
        self.printer
            .info(format!("pulled base {written} ({resolved}) for {platform}"));
    }
}

/// The fetch options: `--offline`, `--jobs` or `BOXWRIGHT_FETCH_JOBS`, and the attempts and
/// backoff of `BOXWRIGHT_FETCH_ATTEMPTS` and `BOXWRIGHT_FETCH_BACKOFF_MS`.
pub fn fetch_options(offline: bool, jobs: Option<usize>) -> Result<FetchOptions> {
    let defaults = FetchOptions::default();
    Ok(FetchOptions {
        offline,
        jobs: match jobs {
            Some(jobs) => jobs,
            None => env_number(env_vars::BOXWRIGHT_FETCH_JOBS)?.unwrap_or(defaults.jobs),
        },
        attempts: env_number(env_vars::BOXWRIGHT_FETCH_ATTEMPTS)?.unwrap_or(defaults.attempts),
        backoff: env_number(env_vars::BOXWRIGHT_FETCH_BACKOFF_MS)?
            .map_or(defaults.backoff, Duration::from_millis),
    })
}

/// Brings the downloads of `targets` (all when empty) into the cache. Returns the reports of
/// the files that arrived and, separately, the failure of the others: notes for unpinned
/// files (with `pin_notes`) and every failure but the last go to stderr, the last failure is
/// the error.
pub fn fetch(
    project: &Project,
    targets: &[String],
    offline: bool,
    jobs: Option<usize>,
    printer: &Printer,
    pin_notes: bool,
) -> Result<(Vec<FetchReport>, Result<()>)> {
    let options = fetch_options(offline, jobs)?;
    let reporter = crate::progress::reporter(printer.quiet() || printer.json);
    let fetched = block_on(boxwright_fetch::fetch_targets(
        project,
        targets,
        &options,
        reporter.as_ref(),
    ))??;
    if pin_notes {
        for report in fetched.reports.iter().filter(|r| !r.pinned) {
            printer.info(format!(
                "note: `{}` of target `{}` has no digest in metadata.json; pin it with \"sha256\": \"{}\"",
                report.name, report.target, report.sha256
            ));
        }
    }
    let count = fetched.failures.len();
    let mut failures = fetched.failures.into_iter();
    let Some((_, last)) = failures.next_back() else {
        return Ok((fetched.reports, Ok(())));
    };
    for (name, error) in failures {
        printer.error(&anyhow::Error::new(error).context(format!("cannot fetch `{name}`")));
    }
    Ok((
        fetched.reports,
        Err(anyhow::Error::new(last)
            .context(format!("{count} of {} downloads failed", fetched.total))),
    ))
}

fn env_number<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
    match var(name) {
        Some(value) => match value.trim().parse() {
            Ok(n) => Ok(Some(n)),
            Err(_) => bail!("{name} must be a whole number, not {value:?}"),
        },
        None => Ok(None),
    }
}

/// The private key of `--key` (a file or env://VAR) for signing; an encrypted key's password
/// comes from COSIGN_PASSWORD.
pub fn signing_key(key: &str) -> Result<boxwright_sign::SigningKey> {
    let source = boxwright_sign::KeySource::parse(key);
    let password = boxwright_sign::source::password(None);
    source
        .signing_key(password.as_deref().map(Vec::as_slice))
        .with_context(|| format!("cannot load the private key {source}"))
}
