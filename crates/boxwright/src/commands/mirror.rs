//! `plan`, `mirror run`, `mirror build`, `mirror merge`: upstream versions of a mirror target
//! built into images from their release archives, pushed by digest, merged per version.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use boxwright_fetch::{FetchOptions, FetchRequest, LockFile, Source};
use boxwright_metadata::{Project, Target, env_vars};
use boxwright_mirror::{PairRecord, Plan, PlanInput, StateDir};
use boxwright_registry::{Client, PushSource, Reference};
use futures_util::StreamExt;
use serde::Serialize;

use super::ExitStatus;
use super::registry::block_on;
use crate::cli::{
    GlobalArgs, ImageBuildArgs, MirrorBuildArgs, MirrorMergeArgs, MirrorRunArgs, MirrorTargetArgs,
    PlanArgs,
};
use crate::context;
use crate::printer::Printer;

/// Registry HEAD requests at once when checking which versions exist.
const HEAD_JOBS: usize = 8;

/// A mirror target with its repository and a registry client.
struct Mirror<'a> {
    project: &'a Project,
    name: &'a str,
    target: &'a Target,
    repository: Reference,
    client: Client,
    access: &'a MirrorTargetArgs,
}

impl<'a> Mirror<'a> {
    fn new(project: &'a Project, args: &'a MirrorTargetArgs) -> anyhow::Result<Mirror<'a>> {
        let target = context::target(project, &args.target)?;
        if target.upstream.is_none() {
            bail!(
                "target `{}` has no `upstream` in {}: plan and mirror work on targets whose \
                 versions come from upstream releases or tags",
                args.target,
                project.metadata.path.display()
            );
        }
        let configured = target.image.as_ref().and_then(|i| i.repository.clone());
        let repository = match (configured, &args.registry) {
            (Some(repository), _) => repository,
            (None, Some(registry)) => {
                format!("{}/{}", registry.trim_end_matches('/'), args.target)
            }
            (None, None) => bail!(
                "target `{}` has no image.repository: pass --registry HOST[/NAMESPACE]",
                args.target
            ),
        };
        let repository = Reference::repository(&repository)
            .with_context(|| format!("invalid repository `{repository}`"))?;
        Ok(Mirror {
            project,
            name: &args.target,
            target,
            repository,
            client: super::registry::client(&args.access)?,
            access: args,
        })
    }

    fn reference(&self, tag: Option<&str>, digest: Option<&str>) -> Reference {
        Reference {
            tag: tag.map(String::from),
            digest: digest.map(String::from),
            ..self.repository.clone()
        }
    }

    /// Discovers versions, asks the registry which exist, and plans the rest.
    fn plan(
        &self,
        max_versions: Option<usize>,
        platforms: &[String],
        printer: &Printer,
    ) -> anyhow::Result<Plan> {
        let upstream = self.target.upstream.as_ref().expect("checked in new");
        let options = boxwright_upstream::DiscoverOptions {
            github_token: std::env::var(env_vars::GITHUB_TOKEN)
                .ok()
                .filter(|t| !t.is_empty()),
            gitlab_token: std::env::var(env_vars::GITLAB_TOKEN)
                .ok()
                .filter(|t| !t.is_empty()),
            max_versions,
        };
        let discovery = block_on(boxwright_upstream::discover(upstream, &options))?
            .with_context(|| format!("cannot list the upstream versions of `{}`", self.name))?;
        for skipped in &discovery.skipped {
            printer.detail(format!("skipped tag {}: {}", skipped.tag, skipped.reason));
        }
        if !discovery.skipped.is_empty() {
            printer.info(format!(
                "{}: {} upstream tags skipped (-v lists them)",
                self.name,
                discovery.skipped.len()
            ));
        }
        let versions: Vec<String> = discovery
            .versions
            .iter()
            .map(|v| v.version.clone())
            .collect();
        let latest = boxwright_upstream::latest(&discovery.versions).map(|v| v.version.clone());
        let existing = block_on(self.existing(&versions))??;
        let platforms = self.platforms(platforms);
        let runners = self
            .target
            .image
            .as_ref()
            .map(|i| i.runners.clone())
            .unwrap_or_default();
        Ok(Plan::new(PlanInput {
            target: self.name.to_string(),
            repository: self.repository.name(),
            versions,
            latest,
            existing,
            platforms,
            runners,
        }))
    }

    /// The versions whose tag the repository has (HEAD requests, a few at once).
    async fn existing(
        &self,
        versions: &[String],
    ) -> anyhow::Result<BTreeSet<String>, boxwright_registry::Error> {
        let checks = futures_util::stream::iter(versions)
            .map(|version| async move {
                let reference = self.reference(Some(version), None);
                self.client
                    .exists(&reference)
                    .await
                    .map(|found| found.then(|| version.clone()))
            })
            .buffered(HEAD_JOBS)
            .collect::<Vec<_>>()
            .await;
        let mut existing = BTreeSet::new();
        for check in checks {
            existing.extend(check?);
        }
        Ok(existing)
    }

    fn platforms(&self, requested: &[String]) -> Vec<String> {
        if !requested.is_empty() {
            return requested.to_vec();
        }
        match self.target.image.as_ref().map(|i| i.platforms.clone()) {
            Some(platforms) if !platforms.is_empty() => platforms,
            _ => vec!["linux/amd64".to_string()],
        }
    }

    fn state(&self) -> StateDir {
        StateDir::new(
            self.project
                .root
                .join(".cache")
                .join(self.name)
                .join("mirror"),
        )
    }

    /// Builds `version` for `arch` (`amd64`, `arm64`) and pushes it by digest.
    fn build_pair(
        &self,
        version: &str,
        arch: &str,
        locked: bool,
        printer: &Printer,
    ) -> anyhow::Result<String> {
        let resolved = self
            .target
            .resolved(version, arch, &|name| std::env::var(name).ok())
            .with_context(|| format!("cannot fill in `{}` for {version} {arch}", self.name))?;
        let mut project = self.project.clone();
        project
            .metadata
            .targets
            .insert(self.name.to_string(), resolved);
        pin_and_fetch(&mut project, self.name, locked, printer)?;
        let work = self
            .project
            .root
            .join(".cache")
            .join(self.name)
            .join("mirror")
            .join(format!("{version}-{arch}"));
        let layout = work.join("layout");
        if layout.exists() {
            std::fs::remove_dir_all(&layout)
                .with_context(|| format!("cannot remove {}", layout.display()))?;
        }
        std::fs::create_dir_all(&work)
            .with_context(|| format!("cannot create {}", work.display()))?;
        let args = ImageBuildArgs {
            target: self.name.to_string(),
            format: "oci".into(),
            output: layout.clone(),
            tag: Some(version.to_string()),
            compression: "gzip".into(),
            level: None,
            platform: vec![format!("linux/{arch}")],
            offline: false,
            registry: self.access.access.clone(),
        };
        super::image::build_in(&project, printer, &args).with_context(|| {
            format!("cannot build the image of `{}` {version} {arch}", self.name)
        })?;
        let report = block_on(self.client.push(
            &PushSource::parse(&layout.to_string_lossy()),
            &self.repository,
        ))??;
        printer.info(format!(
            "pushed {} {version} {arch}: {}@{} ({} blobs uploaded, {} already present)",
            self.name,
            self.repository.name(),
            report.digest,
            report.uploaded,
            report.skipped
        ));
        self.state().put(&PairRecord {
            repository: self.repository.name(),
            version: version.to_string(),
            arch: arch.to_string(),
            digest: report.digest.clone(),
        })?;
        Ok(report.digest)
    }

    /// Merges `digests` into the index of `version`, tagged with the version (and `latest`).
    fn merge(&self, version: &str, digests: &[String], latest: bool) -> anyhow::Result<String> {
        let mut tags = vec![version.to_string()];
        if latest {
            tags.push("latest".into());
        }
        let report = block_on(self.client.merge(&self.repository, digests, &tags, false))??;
        Ok(report.digest)
    }
}

/// Gives every download a digest to check before fetching: pinned in metadata.json, from its
/// upstream checksum file, or recorded in metadata.lock.json; otherwise (without `--locked`)
/// the digest of the first fetch is recorded there.
fn pin_and_fetch(
    project: &mut Project,
    name: &str,
    locked: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    let lock_path = project
        .metadata
        .path
        .with_file_name(boxwright_fetch::LOCK_FILE);
    let mut lock = LockFile::load(&lock_path)?;
    let downloads = project.download_dir();
    let target = project
        .metadata
        .targets
        .get_mut(name)
        .expect("the caller resolved it");
    for download in &mut target.downloads {
        if download.sha256.is_some() || download.sha512.is_some() {
            continue;
        }
        if let Some(checksums_url) = &download.checksums_url {
            let text = fetch_checksum_file(name, checksums_url, &downloads)?;
            let file = download.file_name().to_string();
            let published = download.url.rsplit('/').next().unwrap_or_default();
            let sha256 = boxwright_fetch::checksum_for(&text, &file)
                .or_else(|| boxwright_fetch::checksum_for(&text, published))
                .ok_or_else(|| {
                    anyhow!(
                        "the checksum file {checksums_url} names neither `{file}` nor `{published}`"
                    )
                })?;
            download.sha256 = Some(sha256);
        } else if let Some(sha256) = lock.get(name, &download.url) {
            download.sha256 = Some(sha256.to_string());
        } else if locked {
            bail!(
                "`{}` of `{name}` has no digest to check: none in metadata.json, no checksums_url, \
                 and none in {} (--locked records nothing; run without it to record the digest)",
                download.url,
                lock_path.display()
            );
        }
    }
    let (reports, outcome) =
        super::fetch::fetch(project, &[name.to_string()], false, None, printer, false)?;
    outcome?;
    let mut recorded = 0;
    for report in reports.iter().filter(|r| !r.pinned) {
        lock.record(name, &report.url, &report.sha256);
        recorded += 1;
    }
    if lock.save()? {
        printer.info(format!(
            "recorded the digests of {recorded} downloads in {} (commit it: later fetches must match)",
            lock.path().display()
        ));
    }
    Ok(())
}

/// The text of an upstream checksum file, cached in `.tmp/checksums/`.
fn fetch_checksum_file(
    target: &str,
    url: &str,
    downloads: &std::path::Path,
) -> anyhow::Result<String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        bail!("checksums_url {url:?} must be an https:// or http:// URL");
    }
    let name = format!(
        "{}-{}",
        short_name(url),
        url.rsplit('/').next().unwrap_or("checksums")
    );
    let dest = downloads.join("checksums").join(&name);
    let request = FetchRequest {
        target: target.to_string(),
        name: name.clone(),
        url: url.to_string(),
        source: Source::Http(url.to_string()),
        checksums: Vec::new(),
        dest: dest.clone(),
    };
    let results = block_on(boxwright_fetch::fetch_all(
        &[request],
        &FetchOptions::default(),
        &boxwright_fetch::NoProgress,
    ))??;
    for result in results {
        result.with_context(|| format!("cannot fetch the checksum file {url}"))?;
    }
    std::fs::read_to_string(&dest).with_context(|| format!("cannot read {}", dest.display()))
}

/// A short stable name for a URL (its cache file must not collide with another's). FNV-1a:
/// a file name, not a security boundary (the checksum file comes over TLS, and the digests in
/// it are what protects the downloads).
fn short_name(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// `amd64`/`arm64` from what users write.
fn oci_arch(arch: &str) -> anyhow::Result<&'static str> {
    match arch {
        "amd64" | "x86_64" => Ok("amd64"),
        "arm64" | "aarch64" => Ok("arm64"),
        other => bail!("unknown architecture `{other}` (known: amd64, arm64)"),
    }
}

pub fn plan(global: &GlobalArgs, printer: &Printer, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let mirror = Mirror::new(&project, &args.mirror)?;
    let plan = mirror.plan(args.max_versions, &args.platform, printer)?;
    if let Ok(path) = std::env::var(env_vars::GITHUB_OUTPUT)
        && !path.is_empty()
    {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open GITHUB_OUTPUT {path}"))?;
        file.write_all(boxwright_mirror::github_outputs(&plan).as_bytes())
            .with_context(|| format!("cannot write GITHUB_OUTPUT {path}"))?;
    }
    if printer.json {
        printer.json(&plan);
    } else {
        print_plan(printer, &plan);
    }
    Ok(ExitStatus::Success)
}

fn print_plan(printer: &Printer, plan: &Plan) {
    printer.line(format!(
        "{} ({}): {} versions, latest {}",
        plan.target,
        plan.repository,
        plan.versions.len(),
        plan.latest.as_deref().unwrap_or("none")
    ));
    for version in &plan.versions {
        let state = if plan.existing.contains(version) {
            "in the registry"
        } else {
            "to build"
        };
        printer.line(format!("  {version:20} {state}"));
    }
    printer.line(format!(
        "{} builds ({} versions x architectures)",
        plan.matrix.len(),
        plan.merge.len()
    ));
}

pub fn build(
    global: &GlobalArgs,
    printer: &Printer,
    args: &MirrorBuildArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let mirror = Mirror::new(&project, &args.mirror)?;
    let arch = oci_arch(&args.arch)?;
    let digest = mirror.build_pair(&args.version, arch, args.locked, printer)?;
    if let Some(path) = &args.digest_file {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, format!("{digest}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if printer.json {
        printer.json(&serde_json::json!({
            "target": mirror.name, "version": args.version, "arch": arch,
            "repository": mirror.repository.name(), "digest": digest,
        }));
    } else {
        printer.line(&digest);
    }
    Ok(ExitStatus::Success)
}

pub fn merge(
    global: &GlobalArgs,
    printer: &Printer,
    args: &MirrorMergeArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let mirror = Mirror::new(&project, &args.mirror)?;
    let mut digests = args.digest.clone();
    if let Some(dir) = &args.digests_dir {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read --digests-dir {}", dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        files.sort();
        for file in files.iter().filter(|f| f.is_file()) {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            digests.extend(text.split_whitespace().map(String::from));
        }
    }
    if digests.is_empty() {
        bail!("no digests: pass --digest or --digests-dir");
    }
    for digest in &digests {
        let valid = digest
            .strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid {
            bail!("`{digest}` is not a sha256: digest");
        }
    }
    let index = mirror.merge(&args.version, &digests, args.latest)?;
    printer.info(format!(
        "merged {} platforms into {}:{}{}",
        digests.len(),
        mirror.repository.name(),
        args.version,
        if args.latest { " and latest" } else { "" }
    ));
    if printer.json {
        printer.json(&serde_json::json!({
            "target": mirror.name, "version": args.version, "digest": index, "latest": args.latest,
        }));
    } else {
        printer.line(&index);
    }
    Ok(ExitStatus::Success)
}

/// What `mirror run` did.
#[derive(Debug, Serialize)]
struct RunReport {
    plan: Plan,
    /// `version/arch` → digest of the pairs built and pushed now.
    built: BTreeMap<String, String>,
    /// `version/arch` → digest of pairs pushed by an earlier, interrupted run.
    reused: BTreeMap<String, String>,
    /// version → index digest.
    merged: BTreeMap<String, String>,
    /// The version `latest` points at, when this run moved it.
    latest_moved: Option<String>,
    /// version → signatures and attestations attached (with `--key`).
    attested: BTreeMap<String, usize>,
}

pub fn run(
    global: &GlobalArgs,
    printer: &Printer,
    args: &MirrorRunArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let mirror = Mirror::new(&project, &args.plan.mirror)?;
    let plan = mirror.plan(args.plan.max_versions, &args.plan.platform, printer)?;
    let mut report = RunReport {
        plan: plan.clone(),
        built: BTreeMap::new(),
        reused: BTreeMap::new(),
        merged: BTreeMap::new(),
        latest_moved: None,
        attested: BTreeMap::new(),
    };
    let signing = args
        .key
        .as_deref()
        .map(|key| super::attest::key_and_scheme(key, &args.tag_scheme))
        .transpose()?;
    let (digests, mut errors) = build_missing(&mirror, &plan, args.locked, &mut report, printer);
    for entry in &plan.merge {
        let Some(digests) = digests.get(entry.version.as_str()) else {
            continue;
        };
        let index = mirror.merge(&entry.version, digests, entry.is_latest)?;
        if let Some((key, scheme)) = &signing {
            let predicates = predicates(global, &mirror, &plan, &entry.version, printer)?;
            let count = super::attest::attest_version(
                &mirror.client,
                &mirror.repository,
                &index,
                &predicates,
                key,
                *scheme,
            )?;
            report.attested.insert(entry.version.clone(), count);
        }
        printer.info(format!(
            "{}: merged {}:{}{}",
            mirror.name,
            plan.repository,
            entry.version,
            if entry.is_latest { " (latest)" } else { "" }
        ));
        report.merged.insert(entry.version.clone(), index);
        if entry.is_latest {
            report.latest_moved = Some(entry.version.clone());
        }
    }
    if report.latest_moved.is_none() {
        report.latest_moved = move_latest(&mirror, &plan, printer)?;
    }
    if printer.json {
        printer.json(&report);
    } else {
        printer.line(format!(
            "{}: {} built, {} reused, {} versions merged{}",
            mirror.name,
            report.built.len(),
            report.reused.len(),
            report.merged.len(),
            report
                .latest_moved
                .as_ref()
                .map(|v| format!(", latest = {v}"))
                .unwrap_or_default()
        ));
    }
    let Some(last) = errors.pop() else {
        return Ok(ExitStatus::Success);
    };
    for error in &errors {
        printer.error(error);
    }
    Err(last)
}

/// Builds and pushes every pair of the plan not pushed before; returns the digests of each
/// version whose pairs all succeeded, and the failures.
fn build_missing<'p>(
    mirror: &Mirror<'_>,
    plan: &'p Plan,
    locked: bool,
    report: &mut RunReport,
    printer: &Printer,
) -> (BTreeMap<&'p str, Vec<String>>, Vec<anyhow::Error>) {
    let state = mirror.state();
    let mut digests: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut failed: BTreeSet<&str> = BTreeSet::new();
    let mut errors = Vec::new();
    for entry in &plan.matrix {
        let key = format!("{}/{}", entry.version, entry.arch);
        let pushed = state
            .get(&plan.repository, &entry.version, &entry.arch)
            .filter(|record| {
                block_on(
                    mirror
                        .client
                        .exists(&mirror.reference(None, Some(&record.digest))),
                )
                .ok()
                .and_then(Result::ok)
                .unwrap_or(false)
            });
        let digest = if let Some(record) = pushed {
            printer.info(format!(
                "{}: {key} was pushed before ({})",
                mirror.name, record.digest
            ));
            report.reused.insert(key, record.digest.clone());
            record.digest
        } else {
            printer.info(format!("{}: building {key}", mirror.name));
            match mirror.build_pair(&entry.version, &entry.arch, locked, printer) {
                Ok(digest) => {
                    report.built.insert(key, digest.clone());
                    digest
                }
                Err(error) => {
                    failed.insert(&entry.version);
                    errors.push(error.context(format!("{} {key} failed", mirror.name)));
                    continue;
                }
            }
        };
        digests.entry(&entry.version).or_default().push(digest);
    }
    digests.retain(|version, _| !failed.contains(version));
    (digests, errors)
}

/// Points `latest` at the highest version when that version was merged before (a run
/// interrupted between merge and tag, or a newer version gone from upstream); returns the
/// version when it moved.
fn move_latest(
    mirror: &Mirror<'_>,
    plan: &Plan,
    printer: &Printer,
) -> anyhow::Result<Option<String>> {
    let Some(latest) = plan.latest.as_ref().filter(|l| plan.existing.contains(l)) else {
        return Ok(None);
    };
    let version = block_on(mirror.client.inspect(&mirror.reference(Some(latest), None)))??;
    let current = block_on(
        mirror
            .client
            .inspect(&mirror.reference(Some("latest"), None)),
    )?
    .ok()
    .map(|i| i.digest);
    if current.as_deref() == Some(version.digest.as_str()) {
        return Ok(None);
    }
    block_on(
        mirror
            .client
            .tag(&mirror.repository, &version.digest, &["latest".to_string()]),
    )??;
    printer.info(format!("{}: moved latest to {latest}", mirror.name));
    Ok(Some(latest.clone()))
}

/// The SBOM and provenance of each platform image of `version`, from the layouts this run
/// built (`.cache/<target>/mirror/<version>-<arch>/layout`), by manifest digest.
fn predicates(
    global: &GlobalArgs,
    mirror: &Mirror<'_>,
    plan: &Plan,
    version: &str,
    printer: &Printer,
) -> anyhow::Result<BTreeMap<String, (serde_json::Value, serde_json::Value)>> {
    let mut predicates = BTreeMap::new();
    for entry in plan.matrix.iter().filter(|e| e.version == version) {
        let Some(record) = mirror.state().get(&plan.repository, version, &entry.arch) else {
            continue;
        };
        let layout = mirror
            .project
            .root
            .join(".cache")
            .join(mirror.name)
            .join("mirror")
            .join(format!("{version}-{}", entry.arch))
            .join("layout");
        if !layout.is_dir() {
            printer.info(format!(
                "{}: no local image of {version} {}: its SBOM and provenance are not attested",
                mirror.name, entry.arch
            ));
            continue;
        }
        let args = crate::cli::SubjectArgs {
            subject: layout.to_string_lossy().into_owned(),
            target: None,
            platform: None,
            registry: mirror.access.access.clone(),
        };
        let gathered = super::subject::gather(global, printer, &args)?;
        let options = super::sbom::options(&gathered)?;
        let sbom = boxwright_sbom::sbom(
            &gathered.subject,
            boxwright_sbom::Format::SpdxJson,
            &options,
        );
        let provenance = boxwright_sbom::provenance::write(
            &gathered.subject,
            &options,
            gathered.metadata_sha256()?.as_deref(),
            &super::subject::environment(),
        );
        predicates.insert(
            record.digest,
            (
                serde_json::from_slice(&sbom)?,
                serde_json::from_slice(&provenance)?,
            ),
        );
    }
    Ok(predicates)
}
