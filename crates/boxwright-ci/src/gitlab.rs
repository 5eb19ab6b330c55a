//! GitLab CI: a file the project includes, whose jobs generate and run a child pipeline.

use crate::select::{ReleaseTarget, Targets};
use crate::template::{regex_literal, render, single_quoted};
use crate::{GeneratedFile, Options, Provider, checked_by, header};

pub const INCLUDE_FILE: &str = ".gitlab/boxwright.yml";
pub const CHILD_FILE: &str = "boxwright-child.yml";
/// Debian with Rust, for `cargo install`, curl and apt-get.
const IMAGE: &str = "rust:1-bookworm";

const INCLUDE: &str = include_str!("templates/gitlab-include.yml");
const CHILD: &str = include_str!("templates/gitlab-child.yml");
const RELEASE_JOB: &str = include_str!("templates/gitlab-child-release-job.yml");
const MIRROR_JOB: &str = include_str!("templates/gitlab-child-mirror-job.yml");
const PUBLISH: &str = include_str!("templates/gitlab-publish.yml");

/// `.gitlab/boxwright.yml`: the generate and trigger jobs, on the pipelines that have work
/// for the child: tags of release targets, pushes to the default and feature/* branches when
/// there are release targets, scheduled and web pipelines when there are mirror targets.
pub fn include_file(targets: &Targets, options: &Options) -> GeneratedFile {
    let mut rules = Vec::new();
    if !targets.release.is_empty() {
        rules.push(format!(
            "    - if: {}",
            single_quoted(&tag_pattern(&targets.release))
        ));
    }
    rules.push("    - if: $CI_COMMIT_TAG\n      when: never".to_string());
    if targets.mirror.is_empty() {
        rules.push("    - if: '$CI_PIPELINE_SOURCE == \"schedule\"'\n      when: never".into());
    } else {
        rules.push(
            "    - if: '$CI_PIPELINE_SOURCE == \"schedule\" || $CI_PIPELINE_SOURCE == \"web\"'"
                .into(),
        );
    }
    if !targets.release.is_empty() {
        rules.push(
            "    - if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_BRANCH =~ /^feature\\//'"
                .into(),
        );
    }
    let contents = render(
        INCLUDE,
        &[
            ("HEADER", &header(options, &checked_by(Provider::Gitlab))),
            ("RULES", &rules.join("\n")),
            ("IMAGE", IMAGE),
            ("VERSION", &options.boxwright_version),
            ("CHILD_FILE", CHILD_FILE),
        ],
    );
    GeneratedFile {
        path: INCLUDE_FILE.to_string(),
        contents,
    }
}

/// The child pipeline: one release job per release target, one mirror job per mirror target.
pub fn child_pipeline(targets: &Targets, options: &Options) -> String {
    let mut jobs = String::new();
    for target in &targets.release {
        let rule = release_rule(target, &targets.release);
        let publish = target.publish.as_ref().map_or_else(String::new, |publish| {
            let package = if publish.archive {
                "      boxwright release package \"$TAG\" >/dev/null\n"
            } else {
                ""
            };
            let key = publish
                .key_env
                .as_deref()
                .unwrap_or("(none: the manifest is not signed)");
            render(PUBLISH, &[("PACKAGE", package), ("KEY_ENV_NAME", key)])
        });
        jobs.push_str(&render(
            RELEASE_JOB,
            &[
                ("PUBLISH", &publish),
                ("TARGET", &target.name),
                ("TAG_PREFIX", &target.tag_prefix),
                ("TAG_RULE", &single_quoted(&rule)),
            ],
        ));
    }
    for target in &targets.mirror {
        jobs.push_str(&render(MIRROR_JOB, &[("TARGET", &target.name)]));
    }
    let header = header(
        options,
        "# `boxwright ci generate gitlab --child` prints it at pipeline time, in the boxwright:generate\n\
         # job of .gitlab/boxwright.yml (the file `boxwright ci check` verifies).",
    );
    render(
        CHILD,
        &[
            ("HEADER", &header),
            ("IMAGE", IMAGE),
            ("VERSION", &options.boxwright_version),
            ("JOBS", jobs.trim_end_matches('\n')),
        ],
    )
}

/// A tag of any release target: `$CI_COMMIT_TAG =~ /^(p1|p2)-/`.
fn tag_pattern(release: &[ReleaseTarget]) -> String {
    let mut prefixes: Vec<String> = release
        .iter()
        .map(|t| regex_literal(&t.tag_prefix))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    format!("$CI_COMMIT_TAG =~ /^({})-/", prefixes.join("|"))
}

/// A tag of `target`: it starts with `<prefix>-` and not with a longer prefix of another
/// target (the longest prefix wins, as in `boxwright release check`).
fn release_rule(target: &ReleaseTarget, all: &[ReleaseTarget]) -> String {
    let own = format!(
        "$CI_COMMIT_TAG =~ /^{}-/",
        regex_literal(&target.tag_prefix)
    );
    let others = target
        .longer_prefixes(all)
        .into_iter()
        .map(|longer| format!(" && $CI_COMMIT_TAG !~ /^{}-/", regex_literal(longer)));
    std::iter::once(own).chain(others).collect()
}
