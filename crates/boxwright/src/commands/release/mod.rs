//! `release check`, `release package`, and the commands of a signed release: `manifest`,
//! `publish` and `verify` (one module each); what `manifest` and `publish` share is here:
//! arguments and the environment turned into `boxwright-publish` calls.

mod manifest;
mod publish;
mod verify;

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use boxwright_metadata::{Project, ReleaseTag, SignatureFormat};
use boxwright_publish::{ManifestKey, Plan, Prepared, PublishObserver};
use boxwright_release::manifest::ManifestImage;
use boxwright_sign::{KeySource, Zeroizing};

pub use self::manifest::manifest;
pub use self::publish::publish;
pub use self::verify::verify;
use super::ExitStatus;
use crate::cli::{GlobalArgs, ImageBuildArgs, PackageArgs, RegistryArgs};
use crate::context;
use crate::printer::Printer;

pub fn check(global: &GlobalArgs, printer: &Printer, tag: &str) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let parsed = ReleaseTag::parse(&project.metadata, tag)?;
    if printer.json {
        printer.json(&parsed);
    } else {
        printer.line(format!("target: {}", parsed.target));
        printer.line(format!("version: {}", parsed.version));
        printer.line(format!(
            "prerelease: {}",
            parsed.prerelease.as_deref().unwrap_or("")
        ));
        printer.line(format!("revision: {}", parsed.revision));
    }
    Ok(ExitStatus::Success)
}

pub fn package(
    global: &GlobalArgs,
    printer: &Printer,
    args: &PackageArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let plan = boxwright_release::plan(&project, &args.tag)
        .with_context(|| format!("cannot package {}", args.tag))?;
    let out_dir = args.output.clone().unwrap_or_else(|| project.release_dir());
    if args.dry_run {
        if printer.json {
            printer.json(&plan.report(&out_dir, None));
        } else {
            for entry in &plan.entries {
                printer.line(&entry.path);
            }
        }
        return Ok(ExitStatus::Success);
    }
    let mtime = context::source_date_epoch(&project.root)?;
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    printer.detail(format!(
        "packing {} entries from {} (mtime {mtime}, gzip level {}, {threads} threads)",
        plan.entries.len(),
        plan.output_dir.display(),
        args.level
    ));
    let archive = boxwright_release::write(&plan, &out_dir, mtime, args.level, threads)
        .with_context(|| format!("cannot package {}", args.tag))?;
    if printer.json {
        printer.json(&plan.report(&out_dir, Some(&archive)));
    } else {
        printer.line(format!("{}  {}", archive.sha256, archive.path.display()));
        printer.info(format!(
            "wrote {} ({} entries, {} bytes) and {}",
            archive.path.display(),
            archive.entries,
            archive.size,
            archive.checksum_path.display()
        ));
    }
    Ok(ExitStatus::Success)
}

/// The project and a release ready to write (what `manifest` and `publish` share): the
/// tag's plan, its artifacts located (rootfs tarballs built here), the time of the tag, its
/// images resolved, signed with `--key` or the release's `manifest_key_env` (unsigned only
/// with `allow_unsigned`).
fn prepare(
    global: &GlobalArgs,
    printer: &Printer,
    tag: &str,
    (key, allow_unsigned, password_stdin): (Option<&str>, bool, bool),
    registry: &RegistryArgs,
) -> anyhow::Result<(Project, Prepared)> {
    let project = context::project(global)?;
    let parsed = ReleaseTag::parse(&project.metadata, tag)?;
    let plan = Plan::new(&project, tag, parsed)?;
    let key = manifest_key(
        key,
        plan.manifest_key_env.as_deref(),
        plan.signature,
        password_stdin,
    )?;
    if key.is_none() {
        if !allow_unsigned {
            return Err(boxwright_publish::Error::Unsigned {
                tag: tag.to_string(),
                key_env: plan.manifest_key_env.clone(),
            }
            .into());
        }
        printer.info("note: --allow-unsigned and no signing key: the manifest is unsigned");
    }
    let files = plan.files(&mut |target, _, output| {
        build_rootfs(&project, printer, target, output).map_err(Into::into)
    })?;
    // The tag's commit time when SOURCE_DATE_EPOCH is unset.
    let epoch = context::source_date_epoch_at(&project.root, &format!("refs/tags/{tag}"))?;
    let images = resolve_images(&plan, registry, printer)?;
    let prepared = plan.assemble(files, images, epoch, key.as_ref())?;
    Ok((project, prepared))
}

/// The flat rootfs tarball of `target`'s image (`image build TARGET --format rootfs`) at
/// `output` (gzip when it ends in `.gz`): the `rootfs` artifact kind.
fn build_rootfs(
    project: &Project,
    printer: &Printer,
    target: &str,
    output: &Path,
) -> anyhow::Result<()> {
    let args = ImageBuildArgs {
        target: target.to_string(),
        format: "rootfs".into(),
        output: output.to_path_buf(),
        tag: None,
        compression: "gzip".into(),
        level: None,
        platform: Vec::new(),
        offline: false,
        locked: false,
        registry: RegistryArgs {
            insecure: false,
            registry_username: None,
            registry_password_stdin: false,
            ca_file: None,
        },
    };
    context::build_image(project, printer, &args)?;
    Ok(())
}

/// The plan's images resolved in their registries (no client made when there are none).
fn resolve_images(
    plan: &Plan,
    registry: &RegistryArgs,
    printer: &Printer,
) -> anyhow::Result<Vec<ManifestImage>> {
    if plan.images.is_empty() {
        return Ok(Vec::new());
    }
    let client = context::registry_client(registry)?;
    let reporter = Reporter::new(printer);
    Ok(context::block_on(boxwright_publish::images::resolve(
        &client,
        &plan.images,
        &plan.release.version,
        &reporter,
    ))??)
}

/// The key that signs the manifest: `--key`, else the release's `manifest_key_env` when set
/// and not blank; with the password of an encrypted key (`--key-password-stdin`, else
/// `MINISIGN_PASSWORD` or `COSIGN_PASSWORD`, as the format says).
fn manifest_key(
    explicit: Option<&str>,
    key_env: Option<&str>,
    format: SignatureFormat,
    password_stdin: bool,
) -> anyhow::Result<Option<ManifestKey>> {
    let (name, text) = if let Some(key) = explicit {
        let source = KeySource::parse(key);
        let text = source
            .read()
            .with_context(|| format!("cannot read the signing key {source}"))?;
        (source.to_string(), text)
    } else if let Some((name, text)) = key_env.and_then(|name| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
            .map(|text| (name, text))
    }) {
        (format!("env://{name}"), Zeroizing::new(text))
    } else {
        return Ok(None);
    };
    let password = match format {
        SignatureFormat::Minisign if !password_stdin => {
            std::env::var_os(boxwright_sign::minisign::PASSWORD_ENV)
                .map(|password| Zeroizing::new(password.into_encoded_bytes()))
        }
        _ => context::key_password(password_stdin)?,
    };
    Ok(Some(ManifestKey {
        name,
        text,
        password,
    }))
}

/// Progress of a release on stderr: a bar per upload (on a terminal), a line per object
/// written, details with `--verbose`.
struct Reporter {
    printer: Printer,
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl Reporter {
    fn new(printer: &Printer) -> Reporter {
        Reporter {
            printer: Printer::new(printer.json, printer.quiet(), printer.verbose()),
            bar: Mutex::new(None),
        }
    }

    /// Clears the bar of an upload that did not finish.
    fn clear(&self) {
        if let Some(bar) = self.bar.lock().expect("not poisoned").take() {
            bar.finish_and_clear();
        }
    }
}

impl PublishObserver for Reporter {
    fn resolving(&self, reference: &str) {
        self.printer.detail(format!("resolving {reference}"));
    }

    fn started(&self, object: &str, size: u64) {
        let hidden = self.printer.quiet() || self.printer.json;
        let bar = crate::progress::upload_bar(object, size, hidden);
        if let Some(old) = self.bar.lock().expect("not poisoned").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn uploaded(&self, _object: &str, sent: u64) {
        if let Some(bar) = &*self.bar.lock().expect("not poisoned") {
            bar.set_position(sent);
        }
    }

    fn retrying(
        &self,
        what: &str,
        attempt: u32,
        error: &boxwright_publish::Error,
        wait: std::time::Duration,
    ) {
        self.printer.detail(format!(
            "{what}: attempt {attempt} failed ({error}); trying again in {} ms",
            wait.as_millis()
        ));
    }

    fn verified(&self, _object: &str, name: &str, size: u64) {
        self.clear();
        // A line per object on stderr as it lands: uploads can take a while.
        self.printer
            .info(format!("wrote {name} ({size} bytes, read back)"));
    }

    fn unchanged(&self, _object: &str, name: &str) {
        self.printer.detail(format!("unchanged {name}"));
    }
}
