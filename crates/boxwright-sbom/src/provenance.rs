//! The SLSA v1 provenance predicate (<https://slsa.dev/spec/v1.0/provenance>), predicate type
//! `https://slsa.dev/provenance/v1`: the `predicate` of an in-toto statement whose subject
//! `image attest` (or a release step) adds.
//!
//! `buildType` is [`BUILD_TYPE`]; its external parameters are the target, its version, the
//! platform, the digest of metadata.json and, in CI, the workflow; `resolvedDependencies` are
//! the project's commit, every download (URL and digests) and the base image (by digest).
//! `runDetails` names the builder (the CI workflow, or [`crate::ci::LOCAL_BUILDER_ID`]) and the
//! run (`invocationId`, the CI job's page). No time is recorded but `SOURCE_DATE_EPOCH`, so
//! one subject gives the same bytes every time.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ci::{self, Workflow};
use crate::subject::Subject;
use crate::{DocumentOptions, purl};

/// What boxwright's builds are: a target of metadata.json, fetched, built and assembled by
/// boxwright, with the external parameters documented in docs/supply-chain.md. The URI only
/// names the build type; nothing is served there.
pub const BUILD_TYPE: &str = "https://boxwright.invalid/build/v1";
/// The in-toto predicate type of what [`write`] returns.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Provenance {
    build_definition: BuildDefinition,
    run_details: RunDetails,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildDefinition {
    build_type: &'static str,
    external_parameters: ExternalParameters,
    internal_parameters: InternalParameters,
    resolved_dependencies: Vec<ResourceDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalParameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<ResourceDescriptor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow: Option<Workflow>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InternalParameters {
    source_date_epoch: u64,
    subject_kind: &'static str,
}

#[derive(Serialize, Default)]
struct ResourceDescriptor {
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    digest: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct RunDetails {
    builder: Builder,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<RunMetadata>,
}

#[derive(Serialize)]
struct Builder {
    id: String,
    version: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunMetadata {
    invocation_id: String,
}

/// The provenance predicate of `subject` (pretty-printed JSON ending with a newline).
/// `metadata_sha256` is the hex digest of the project's metadata.json, when there is a
/// project; `env` is the environment CI facts are read from ([`ci::detect`]).
pub fn write(
    subject: &Subject,
    options: &DocumentOptions,
    metadata_sha256: Option<&str>,
    env: &BTreeMap<String, String>,
) -> Vec<u8> {
    let run = ci::detect(env);
    let mut dependencies = Vec::new();
    // The project's commit: what the image records, else what CI checked out.
    let source_url = subject
        .source
        .as_ref()
        .and_then(|s| s.url.clone())
        .or_else(|| run.repository.clone());
    let revision = subject
        .source
        .as_ref()
        .and_then(|s| s.revision.clone())
        .or_else(|| run.commit.clone());
    if let Some(revision) = revision {
        dependencies.push(ResourceDescriptor {
            uri: source_url.map(|url| format!("git+{url}")),
            digest: BTreeMap::from([("gitCommit", revision)]),
            name: Some("source".into()),
            ..ResourceDescriptor::default()
        });
    }
    for package in &subject.packages {
        for download in &package.downloads {
            let mut digest = BTreeMap::new();
            if let Some(sha256) = &download.sha256 {
                digest.insert("sha256", sha256.clone());
            }
            if let Some(sha512) = &download.sha512 {
                digest.insert("sha512", sha512.clone());
            }
            if digest.is_empty() && download.url.is_none() {
                continue;
            }
            dependencies.push(ResourceDescriptor {
                uri: download.url.clone(),
                digest,
                name: Some(download.name.clone()),
                annotations: BTreeMap::from([("target", package.name.clone())]),
            });
        }
    }
    if let Some(base) = &subject.base {
        let hex = base.digest.strip_prefix("sha256:").unwrap_or(&base.digest);
        dependencies.push(ResourceDescriptor {
            uri: Some(
                base.purl
                    .clone()
                    .unwrap_or_else(|| purl::oci(last_segment(&base.name), &base.digest, None)),
            ),
            digest: BTreeMap::from([("sha256", hex.to_string())]),
            name: Some(base.name.clone()),
            annotations: BTreeMap::from([("role", "base-image".into())]),
        });
    }
    let provenance = Provenance {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE,
            external_parameters: ExternalParameters {
                target: subject.target.clone(),
                version: subject.version.clone(),
                platform: subject.platform.clone(),
                metadata: metadata_sha256.map(|hex| ResourceDescriptor {
                    uri: Some(boxwright_metadata::METADATA_FILE.into()),
                    digest: BTreeMap::from([("sha256", hex.to_string())]),
                    ..ResourceDescriptor::default()
                }),
                workflow: run.workflow.clone(),
            },
            internal_parameters: InternalParameters {
                source_date_epoch: options.created,
                subject_kind: subject.kind.as_str(),
            },
            resolved_dependencies: dependencies,
        },
        run_details: RunDetails {
            builder: Builder {
                id: run.builder_id.clone(),
                version: BTreeMap::from([("boxwright", options.tool_version.clone())]),
            },
            metadata: run
                .invocation_id
                .clone()
                .map(|invocation_id| RunMetadata { invocation_id }),
        },
    };
    crate::to_json(&provenance)
}

/// The image name of a reference or path: its last path segment, without tag or digest.
fn last_segment(name: &str) -> &str {
    let name = name.split('@').next().unwrap_or(name);
    let last = name
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(name);
    last.split(':').next().unwrap_or(last)
}
