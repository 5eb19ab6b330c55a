//! The plan of a mirror target.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// What a plan is made from.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub target: String,
    /// `host/path` of the image repository.
    pub repository: String,
    /// Discovered versions, newest first (semantic order).
    pub versions: Vec<String>,
    /// The semantically highest release among them.
    pub latest: Option<String>,
    /// Versions whose tag the repository already has.
    pub existing: BTreeSet<String>,
    /// `os/arch` platforms to build, in order.
    pub platforms: Vec<String>,
    /// Runner labels by architecture (`amd64`, `arm64`) from metadata.
    pub runners: BTreeMap<String, String>,
}

/// One version x architecture to build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixEntry {
    pub version: String,
    /// `amd64`, `arm64`.
    pub arch: String,
    /// `linux/amd64`.
    pub platform: String,
    pub runner: String,
    pub is_latest: bool,
}

/// One version whose index is to be merged and tagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeEntry {
    pub version: String,
    pub is_latest: bool,
}

/// `plan --json`: DESIGN's shape, plus the repository.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub target: String,
    pub repository: String,
    pub versions: Vec<String>,
    pub latest: Option<String>,
    pub existing: Vec<String>,
    pub matrix: Vec<MatrixEntry>,
    pub has_builds: bool,
    pub merge: Vec<MergeEntry>,
}

/// The runner label of seed 002 for an architecture.
pub fn default_runner(arch: &str) -> &'static str {
    match arch {
        "arm64" => "ubuntu-24.04-arm",
        _ => "ubuntu-24.04",
    }
}

impl Plan {
    /// Every missing version (newest first) x every platform; the merge list has each
    /// missing version once.
    pub fn new(input: PlanInput) -> Plan {
        let missing: Vec<&String> = input
            .versions
            .iter()
            .filter(|v| !input.existing.contains(*v))
            .collect();
        let is_latest = |v: &str| input.latest.as_deref() == Some(v);
        let mut matrix = Vec::new();
        for version in &missing {
            for platform in &input.platforms {
                let arch = platform
                    .split('/')
                    .nth(1)
                    .unwrap_or(platform.as_str())
                    .to_string();
                let runner = input
                    .runners
                    .get(&arch)
                    .cloned()
                    .unwrap_or_else(|| default_runner(&arch).to_string());
                matrix.push(MatrixEntry {
                    version: (*version).clone(),
                    arch,
                    platform: platform.clone(),
                    runner,
                    is_latest: is_latest(version),
                });
            }
        }
        let merge = missing
            .iter()
            .map(|v| MergeEntry {
                version: (*v).clone(),
                is_latest: is_latest(v),
            })
            .collect();
        Plan {
            target: input.target,
            repository: input.repository,
            existing: input
                .versions
                .iter()
                .filter(|v| input.existing.contains(*v))
                .cloned()
                .collect(),
            versions: input.versions,
            latest: input.latest,
            has_builds: !matrix.is_empty(),
            matrix,
            merge,
        }
    }
}

/// The lines `plan` appends to `$GITHUB_OUTPUT` (seed 002's output names).
pub fn github_outputs(plan: &Plan) -> String {
    format!(
        "versions-matrix={}\nhas-builds={}\nmerge-matrix={}\nlatest={}\n",
        serde_json::to_string(&plan.matrix).expect("serialisable"),
        plan.has_builds,
        serde_json::to_string(&plan.merge).expect("serialisable"),
        plan.latest.as_deref().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(existing: &[&str]) -> PlanInput {
        PlanInput {
            target: "app".into(),
            repository: "127.0.0.1:5000/ns/app".into(),
            versions: vec!["10.10.0".into(), "10.9.3".into(), "9.11.4".into()],
            latest: Some("10.10.0".into()),
            existing: existing.iter().map(|s| (*s).to_string()).collect(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            runners: [("arm64".to_string(), "arm-runner".to_string())].into(),
        }
    }

    #[test]
    fn only_missing_versions_are_built_and_merged() {
        let plan = Plan::new(input(&["10.9.3"]));
        assert_eq!(plan.existing, ["10.9.3"]);
        let pairs: Vec<(&str, &str, &str, bool)> = plan
            .matrix
            .iter()
            .map(|e| {
                (
                    e.version.as_str(),
                    e.arch.as_str(),
                    e.runner.as_str(),
                    e.is_latest,
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                ("10.10.0", "amd64", "ubuntu-24.04", true),
                ("10.10.0", "arm64", "arm-runner", true),
                ("9.11.4", "amd64", "ubuntu-24.04", false),
                ("9.11.4", "arm64", "arm-runner", false),
            ]
        );
        assert_eq!(
            plan.merge,
            [
                MergeEntry {
                    version: "10.10.0".into(),
                    is_latest: true
                },
                MergeEntry {
                    version: "9.11.4".into(),
                    is_latest: false
                },
            ]
        );
        assert!(plan.has_builds);
        let outputs = github_outputs(&plan);
        assert!(outputs.starts_with("versions-matrix=[{\"version\":\"10.10.0\",\"arch\":\"amd64\",\"platform\":\"linux/amd64\",\"runner\":\"ubuntu-24.04\",\"is_latest\":true}"), "{outputs}");
        assert!(
            outputs.contains(
                "\nhas-builds=true\nmerge-matrix=[{\"version\":\"10.10.0\",\"is_latest\":true},"
            ),
            "{outputs}"
        );
        assert!(outputs.ends_with("\nlatest=10.10.0\n"), "{outputs}");
    }

    #[test]
    fn nothing_missing_means_no_builds() {
        let plan = Plan::new(input(&["10.10.0", "10.9.3", "9.11.4"]));
        assert!(!plan.has_builds && plan.matrix.is_empty() && plan.merge.is_empty());
        assert!(github_outputs(&plan).contains("has-builds=false\nmerge-matrix=[]\n"));
    }
}
