//! The orchestration of a mirror target: discover → plan → build (pin, fetch, image) → push
//! by digest → merge per version → attest → move `latest`. Each step is a method, so `plan`,
//! `mirror build` and `mirror merge` run one of them and `mirror run` all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use boxwright_fetch::FetchOptions;
use boxwright_metadata::{Project, Target};
use boxwright_oci::{Compression, Format};
use boxwright_platform::Arch;
use boxwright_registry::subject::Subject as SubjectArg;
use boxwright_registry::{Client, Predicates, PushSource, Reference, TagScheme};
use boxwright_sbom::resolve::{Request, gather_subject, metadata_sha256};
use boxwright_sbom::{DocumentOptions, Format as SbomFormat};
use boxwright_sign::SigningKey;
use futures_util::StreamExt;
use serde::Serialize;

use crate::{Error, Event, PairRecord, Plan, PlanInput, StateDir};

/// Registry HEAD requests at once when checking which versions exist.
const HEAD_JOBS: usize = 8;

/// What the orchestration needs from its caller: a registry client for bases, the side of
/// SBOM gathering that is not reading files, download progress, and an ear for events.
pub trait Host: boxwright_image::Host + boxwright_sbom::resolve::Host {
    /// Something happened.
    fn event(&self, event: &Event<'_>);
    /// Where download progress goes.
    fn progress(&self) -> Box<dyn boxwright_fetch::Progress>;
}

/// What the caller knows and the orchestration does not look up itself.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Tokens for the upstream's API.
    pub github_token: Option<String>,
    pub gitlab_token: Option<String>,
    /// How downloads are made.
    pub fetch: FetchOptions,
    /// Seconds since the epoch: the images' and documents' creation time.
    pub created: u64,
    /// The project's publishable source URL and revision, for image annotations.
    pub source_url: Option<String>,
    pub revision: Option<String>,
    /// boxwright's version, named in SBOMs and provenance.
    pub tool_version: String,
    /// The process environment, for CI facts in provenance.
    pub environment: BTreeMap<String, String>,
}

/// The key and places for signatures and attestations of `mirror run --key`.
pub struct Signing {
    pub key: SigningKey,
    pub scheme: TagScheme,
}

/// What `mirror run` did.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub plan: Plan,
    /// `version/arch` → digest of the pairs built and pushed now.
    pub built: BTreeMap<String, String>,
    /// `version/arch` → digest of pairs pushed by an earlier, interrupted run.
    pub reused: BTreeMap<String, String>,
    /// version → index digest.
    pub merged: BTreeMap<String, String>,
    /// The version `latest` points at, when this run moved it.
    pub latest_moved: Option<String>,
    /// version → signatures and attestations attached (with a key).
    pub attested: BTreeMap<String, usize>,
}

/// A mirror target with its repository, a registry client and the caller's runtime.
pub struct Mirror<'a> {
    project: &'a Project,
    name: &'a str,
    target: &'a Target,
    repository: Reference,
    client: Client,
    runtime: tokio::runtime::Handle,
    settings: Settings,
    host: &'a dyn Host,
}

/// `amd64`/`arm64` of `mirror build --platform`: `linux/amd64` or `linux/arm64` (a bare
/// architecture, as the retired `--arch` took, is read as [`oci_arch`] does).
pub fn platform_arch(platform: &str) -> Result<&'static str, Error> {
    match platform.split_once('/') {
        None => oci_arch(platform),
        Some(("linux", arch)) if !arch.contains('/') && oci_arch(arch).is_ok() => oci_arch(arch),
        Some(_) => {
            // An unknown platform is named with the closest known one.
            platform
                .parse::<boxwright_platform::Platform>()
                .map_err(Error::Platform)?;
            Err(Error::MirrorPlatform {
                platform: platform.to_string(),
            })
        }
    }
}

/// `amd64`/`arm64` from what users write (the OCI or the Rust name of an architecture
/// mirrors are built for).
pub fn oci_arch(arch: &str) -> Result<&'static str, Error> {
    match Arch::from_oci(arch).or_else(|| Arch::from_name(arch)) {
        Some(arch @ (Arch::X86_64 | Arch::Aarch64)) => Ok(arch.oci()),
        _ => Err(Error::Architecture {
            arch: arch.to_string(),
        }),
    }
}

impl<'a> Mirror<'a> {
    /// The mirror target `name`, pushed to its `image.repository`, else `REGISTRY/name`.
    pub fn new(
        project: &'a Project,
        name: &'a str,
        registry: Option<&str>,
        client: Client,
        settings: Settings,
        host: &'a dyn Host,
        runtime: tokio::runtime::Handle,
    ) -> Result<Mirror<'a>, Error> {
        let target = project
            .metadata
            .require_target(name)
            .map_err(Error::UnknownTarget)?;
        if target.upstream.is_none() {
            return Err(Error::NotMirrored {
                target: name.to_string(),
                metadata: project.metadata.path.clone(),
            });
        }
        let configured = target.image.as_ref().and_then(|i| i.repository.clone());
        let repository = match (configured, registry) {
            (Some(repository), _) => repository,
            (None, Some(registry)) => format!("{}/{name}", registry.trim_end_matches('/')),
            (None, None) => {
                return Err(Error::NoRepository {
                    target: name.to_string(),
                });
            }
        };
        let repository =
            Reference::repository(&repository).map_err(|source| Error::Repository {
                repository: repository.clone(),
                source,
            })?;
        Ok(Mirror {
            project,
            name,
            target,
            repository,
            client,
            runtime,
            settings,
            host,
        })
    }

    /// The target's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The repository images go to.
    pub fn repository(&self) -> &Reference {
        &self.repository
    }

    fn reference(&self, tag: Option<&str>, digest: Option<&str>) -> Reference {
        Reference {
            tag: tag.map(String::from),
            digest: digest.map(String::from),
            ..self.repository.clone()
        }
    }

    /// Discovers versions, asks the registry which exist, and plans the rest.
    pub fn plan(&self, max_versions: Option<usize>, platforms: &[String]) -> Result<Plan, Error> {
        let upstream = self.target.upstream.as_ref().expect("checked in new");
        let options = boxwright_upstream::DiscoverOptions {
            github_token: self.settings.github_token.clone(),
            gitlab_token: self.settings.gitlab_token.clone(),
            max_versions,
        };
        let discovery = self
            .runtime
            .block_on(boxwright_upstream::discover(upstream, &options))
            .map_err(|source| Error::Discover {
                target: self.name.to_string(),
                source,
            })?;
        for skipped in &discovery.skipped {
            self.host.event(&Event::SkippedTag {
                tag: &skipped.tag,
                reason: &skipped.reason,
            });
        }
        if !discovery.skipped.is_empty() {
            self.host.event(&Event::SkippedTags {
                target: self.name,
                count: discovery.skipped.len(),
            });
        }
        let versions: Vec<String> = discovery
            .versions
            .iter()
            .map(|v| v.version.clone())
            .collect();
        let latest = boxwright_upstream::latest(&discovery.versions).map(|v| v.version.clone());
        let existing = self.runtime.block_on(self.existing(&versions))?;
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
            platforms: self.platforms(platforms)?,
            runners,
        }))
    }

    /// The versions whose tag the repository has (HEAD requests, a few at once).
    async fn existing(&self, versions: &[String]) -> Result<BTreeSet<String>, Error> {
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

    /// `--platform` (each a known platform), else `image.platforms`, else linux/amd64.
    fn platforms(&self, requested: &[String]) -> Result<Vec<String>, Error> {
        if !requested.is_empty() {
            for platform in requested {
                platform
                    .parse::<boxwright_platform::Platform>()
                    .map_err(Error::Platform)?;
            }
            return Ok(requested.to_vec());
        }
        Ok(
            match self.target.image.as_ref().map(|i| i.platforms.clone()) {
                Some(platforms) if !platforms.is_empty() => platforms,
                _ => vec!["linux/amd64".to_string()],
            },
        )
    }

    /// `.cache/<target>/mirror/`: the records of pushed pairs and the pairs' layouts.
    fn state_dir(&self) -> PathBuf {
        self.project
            .root
            .join(".cache")
            .join(self.name)
            .join("mirror")
    }

    fn state(&self) -> StateDir {
        StateDir::new(self.state_dir())
    }

    /// Where the image of `version` for `arch` is built.
    fn layout(&self, version: &str, arch: &str) -> PathBuf {
        self.state_dir()
            .join(format!("{version}-{arch}"))
            .join("layout")
    }

    /// Builds `version` for `arch` (`amd64`, `arm64`) and pushes it by digest; returns the
    /// manifest's digest.
    pub fn build_pair(&self, version: &str, arch: &str, locked: bool) -> Result<String, Error> {
        let resolved = self
            .target
            .resolved(version, arch, &|name| self.host.var(name))
            .map_err(|source| Error::Resolve {
                target: self.name.to_string(),
                version: version.to_string(),
                arch: arch.to_string(),
                source: Box::new(source),
            })?;
        let mut project = self.project.clone();
        project
            .metadata
            .targets
            .insert(self.name.to_string(), resolved);
        let progress = self.host.progress();
        self.runtime.block_on(crate::pin::pin_and_fetch(
            &mut project,
            self.name,
            locked,
            &self.settings.fetch,
            progress.as_ref(),
            &|event| self.host.event(event),
        ))?;
        let layout = self.layout(version, arch);
        let work = layout.parent().expect("below the pair's directory");
        if layout.exists() {
            std::fs::remove_dir_all(&layout).map_err(|source| Error::Io {
                action: "remove",
                path: layout.clone(),
                source,
            })?;
        }
        std::fs::create_dir_all(work).map_err(|source| Error::Io {
            action: "create",
            path: work.to_path_buf(),
            source,
        })?;
        let platforms = [format!("linux/{arch}")];
        let request = boxwright_image::Request {
            target: self.name,
            format: Format::Oci,
            output: &layout,
            tag: Some(version),
            compression: Compression::default(),
            platforms: &platforms,
            offline: false,
            locked: false,
            created: self.settings.created,
            source_url: self.settings.source_url.clone(),
            revision: self.settings.revision.clone(),
            runtime: self.runtime.clone(),
        };
        boxwright_image::build(&project, &request, self.host).map_err(|source| Error::Image {
            target: self.name.to_string(),
            version: version.to_string(),
            arch: arch.to_string(),
            source: Box::new(source),
        })?;
        let source = PushSource {
            path: layout,
            ref_name: None,
            mount_from: None,
        };
        let report = self
            .runtime
            .block_on(self.client.push(&source, &self.repository))?;
        self.host.event(&Event::Pushed {
            target: self.name,
            version,
            arch,
            repository: &self.repository.name(),
            digest: &report.digest,
            uploaded: report.uploaded,
            skipped: report.skipped,
        });
        self.state().put(&PairRecord {
            repository: self.repository.name(),
            version: version.to_string(),
            arch: arch.to_string(),
            digest: report.digest.clone(),
        })?;
        Ok(report.digest)
    }

    /// Merges `digests` into the index of `version`, tagged with the version (and `latest`);
    /// returns the index's digest.
    pub fn merge(&self, version: &str, digests: &[String], latest: bool) -> Result<String, Error> {
        let mut tags = vec![version.to_string()];
        if latest {
            tags.push("latest".into());
        }
        let report =
            self.runtime
                .block_on(self.client.merge(&self.repository, digests, &tags, false))?;
        Ok(report.digest)
    }

    /// Runs `plan`: builds and pushes the missing pairs, merges each version whose pairs all
    /// succeeded (attesting it with `signing`), and moves `latest`. Returns the report and the
    /// failures of pairs; a failed merge, attestation or tag ends the run with an error.
    pub fn run(
        &self,
        plan: &Plan,
        locked: bool,
        signing: Option<&Signing>,
    ) -> Result<(RunReport, Vec<Error>), Error> {
        let mut report = RunReport {
            plan: plan.clone(),
            built: BTreeMap::new(),
            reused: BTreeMap::new(),
            merged: BTreeMap::new(),
            latest_moved: None,
            attested: BTreeMap::new(),
        };
        let (digests, errors) = self.build_missing(plan, locked, &mut report);
        for entry in &plan.merge {
            let Some(digests) = digests.get(entry.version.as_str()) else {
                continue;
            };
            let index = self.merge(&entry.version, digests, entry.is_latest)?;
            if let Some(signing) = signing {
                let predicates = self.predicates(plan, &entry.version)?;
                let count = self.runtime.block_on(self.client.attest_version(
                    &self.repository,
                    &index,
                    &predicates,
                    &signing.key,
                    signing.scheme,
                ))?;
                report.attested.insert(entry.version.clone(), count);
            }
            self.host.event(&Event::Merged {
                target: self.name,
                repository: &plan.repository,
                version: &entry.version,
                latest: entry.is_latest,
            });
            report.merged.insert(entry.version.clone(), index);
            if entry.is_latest {
                report.latest_moved = Some(entry.version.clone());
            }
        }
        if report.latest_moved.is_none() {
            report.latest_moved = self.move_latest(plan)?;
        }
        Ok((report, errors))
    }

    /// Builds and pushes every pair of the plan not pushed before; returns the digests of each
    /// version whose pairs all succeeded, and the failures.
    fn build_missing<'p>(
        &self,
        plan: &'p Plan,
        locked: bool,
        report: &mut RunReport,
    ) -> (BTreeMap<&'p str, Vec<String>>, Vec<Error>) {
        let state = self.state();
        let mut digests: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut failed: BTreeSet<&str> = BTreeSet::new();
        let mut errors = Vec::new();
        for entry in &plan.matrix {
            let pair = format!("{}/{}", entry.version, entry.arch);
            let pushed = state
                .get(&plan.repository, &entry.version, &entry.arch)
                .filter(|record| {
                    let reference = self.reference(None, Some(&record.digest));
                    self.runtime
                        .block_on(self.client.exists(&reference))
                        .unwrap_or(false)
                });
            let digest = if let Some(record) = pushed {
                self.host.event(&Event::Reused {
                    target: self.name,
                    pair: &pair,
                    digest: &record.digest,
                });
                report.reused.insert(pair, record.digest.clone());
                record.digest
            } else {
                self.host.event(&Event::Building {
                    target: self.name,
                    pair: &pair,
                });
                match self.build_pair(&entry.version, &entry.arch, locked) {
                    Ok(digest) => {
                        report.built.insert(pair, digest.clone());
                        digest
                    }
                    Err(error) => {
                        failed.insert(&entry.version);
                        errors.push(Error::Pair {
                            target: self.name.to_string(),
                            pair,
                            source: Box::new(error),
                        });
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
    fn move_latest(&self, plan: &Plan) -> Result<Option<String>, Error> {
        let Some(latest) = plan.latest.as_ref().filter(|l| plan.existing.contains(*l)) else {
            return Ok(None);
        };
        let version = self
            .runtime
            .block_on(self.client.inspect(&self.reference(Some(latest), None)))?;
        let current = self
            .runtime
            .block_on(self.client.inspect(&self.reference(Some("latest"), None)))
            .ok()
            .map(|i| i.digest);
        if current.as_deref() == Some(version.digest.as_str()) {
            return Ok(None);
        }
        self.runtime.block_on(self.client.tag(
            &self.repository,
            &version.digest,
            &["latest".to_string()],
        ))?;
        self.host.event(&Event::MovedLatest {
            target: self.name,
            version: latest,
        });
        Ok(Some(latest.clone()))
    }

    /// The SBOM and provenance of each platform image of `version`, from the layouts this run
    /// built (`.cache/<target>/mirror/<version>-<arch>/layout`), by manifest digest.
    fn predicates(
        &self,
        plan: &Plan,
        version: &str,
    ) -> Result<BTreeMap<String, Predicates>, Error> {
        let mut predicates = BTreeMap::new();
        let options = DocumentOptions {
            created: self.settings.created,
            tool_version: self.settings.tool_version.clone(),
        };
        for entry in plan.matrix.iter().filter(|e| e.version == version) {
            let Some(record) = self.state().get(&plan.repository, version, &entry.arch) else {
                continue;
            };
            let layout = self.layout(version, &entry.arch);
            if !layout.is_dir() {
                self.host.event(&Event::NotAttested {
                    target: self.name,
                    version,
                    arch: &entry.arch,
                });
                continue;
            }
            let subject = SubjectArg::Path(layout);
            let request = Request {
                subject: &subject,
                project: Some(self.project),
                target: None,
                platform: None,
            };
            let gathered = gather_subject(&request, self.host).map_err(Box::new)?;
            let sbom = boxwright_sbom::sbom(&gathered, SbomFormat::SpdxJson, &options);
            let metadata = metadata_sha256(Some(self.project), &gathered).map_err(Box::new)?;
            let provenance = boxwright_sbom::provenance::write(
                &gathered,
                &options,
                metadata.as_deref(),
                &self.settings.environment,
            );
            let document = |what, bytes: &[u8]| {
                serde_json::from_slice(bytes).map_err(|source| Error::Document {
                    what,
                    digest: record.digest.clone(),
                    source,
                })
            };
            predicates.insert(
                record.digest.clone(),
                Predicates {
                    sbom: document("SBOM", &sbom)?,
                    provenance: document("provenance", &provenance)?,
                },
            );
        }
        Ok(predicates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_build_platforms_are_linux_amd64_or_arm64() {
        assert_eq!(platform_arch("linux/amd64").unwrap(), "amd64");
        assert_eq!(platform_arch("linux/arm64").unwrap(), "arm64");
        // The retired `--arch` spelling, and the Rust names it accepted.
        assert_eq!(platform_arch("amd64").unwrap(), "amd64");
        assert_eq!(platform_arch("aarch64").unwrap(), "arm64");
        for refused in ["windows/amd64", "linux/arm/v7", "linux/riscv64"] {
            assert!(platform_arch(refused).is_err(), "{refused}");
        }
    }
}
