//! GitHub Actions: a release-from-tag workflow and one mirror workflow per mirror target.

use crate::select::{DEFAULT_RUNNER, MirrorTarget, Targets};
use crate::template::{render, single_quoted};
use crate::{GeneratedFile, Options, Provider, checked_by, header};

pub const WORKFLOW_DIR: &str = ".github/workflows";
const RELEASE_FILE: &str = "boxwright-release.yml";

const RELEASE: &str = include_str!("templates/github-release.yml");
const MIRROR: &str = include_str!("templates/github-mirror.yml");
const SETUP_STEPS: &str = include_str!("templates/github-setup-steps.yml");
const LOGIN_STEP: &str = include_str!("templates/github-login-step.yml");
const PUBLISH_STEP: &str = include_str!("templates/github-publish-step.yml");

/// The release workflow (when some target has release files) and the mirror workflows.
pub fn files(targets: &Targets, options: &Options) -> Vec<GeneratedFile> {
    let mut files = Vec::new();
    if !targets.release.is_empty() {
        files.push(GeneratedFile {
            path: format!("{WORKFLOW_DIR}/{RELEASE_FILE}"),
            contents: release(targets, options),
        });
    }
    for target in &targets.mirror {
        files.push(GeneratedFile {
            path: format!("{WORKFLOW_DIR}/boxwright-mirror-{}.yml", target.name),
            contents: mirror(target, options),
        });
    }
    files
}

fn release(targets: &Targets, options: &Options) -> String {
    let mut prefixes: Vec<&str> = targets
        .release
        .iter()
        .map(|t| t.tag_prefix.as_str())
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    let patterns: Vec<String> = prefixes
        .iter()
        .map(|prefix| format!("      - {}", single_quoted(&format!("{prefix}-*"))))
        .collect();
    let publish_steps: String = targets
        .release
        .iter()
        .filter_map(|target| {
            let publish = target.publish.as_ref()?;
            let key_env = publish.key_env.as_deref().map_or_else(String::new, |name| {
                format!("          {name}: ${{{{ secrets.{name} }}}}\n")
            });
            let package = if publish.archive {
                "          boxwright release package \"$GITHUB_REF_NAME\" >/dev/null\n"
            } else {
                ""
            };
            Some(render(
                PUBLISH_STEP,
                &[
                    ("TARGET", &target.name),
                    ("KEY_ENV", &key_env),
                    ("PACKAGE", package),
                ],
            ))
        })
        .collect();
    render(
        RELEASE,
        &[
            ("HEADER", &header(options, &checked_by(Provider::Github))),
            ("TAG_PATTERNS", &patterns.join("\n")),
            ("PUBLISH_STEPS", &publish_steps),
            ("SETUP_STEPS", &setup_steps(options)),
            ("RUNNER", DEFAULT_RUNNER),
        ],
    )
}

fn mirror(target: &MirrorTarget, options: &Options) -> String {
    // The registry the images go to: the host of `image.repository` when it names one,
    // else the REGISTRY input; the repository likewise.
    let (registry_host, repository) = match &target.repository {
        Some(repository) => (
            repository
                .split('/')
                .next()
                .unwrap_or(repository)
                .to_string(),
            repository.clone(),
        ),
        None => (
            "${{ env.REGISTRY }}".to_string(),
            format!("$REGISTRY/${{NAMESPACE,,}}/{}", target.name),
        ),
    };
    let login = render(
        LOGIN_STEP.trim_end_matches('\n'),
        &[("REGISTRY_HOST", &registry_host)],
    );
    render(
        MIRROR,
        &[
            ("HEADER", &header(options, &checked_by(Provider::Github))),
            ("SETUP_STEPS", &setup_steps(options)),
            ("LOGIN_STEP", &login),
            ("TARGET", &target.name),
            ("MAX_VERSIONS", &target.max_versions.to_string()),
            ("RUNNER", &target.runner),
            ("REPOSITORY", &repository),
        ],
    )
}

/// Checkout, then boxwright at the generating version, cached per runner OS and architecture.
fn setup_steps(options: &Options) -> String {
    render(
        SETUP_STEPS.trim_end_matches('\n'),
        &[("VERSION", &options.boxwright_version)],
    )
}
