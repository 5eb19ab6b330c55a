//! Every environment variable boxwright reads, in one place.

/// Where target outputs go instead of `<project>/.out/` (seed convention): `$BUILD_OUTPUT_DEST/<target>/`.
pub const BUILD_OUTPUT_DEST: &str = "BUILD_OUTPUT_DEST";
/// Seconds since the epoch used for every timestamp written (reproducible builds convention).
/// Default: the time of the project's last git commit, else 0.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";
/// A registry credentials file (podman's and skopeo's `auth.json`), tried before
/// `$DOCKER_CONFIG/config.json` and `~/.docker/config.json`.
pub const REGISTRY_AUTH_FILE: &str = "REGISTRY_AUTH_FILE";
/// Docker's configuration directory; its `config.json` holds registry credentials.
pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";
/// Number of simultaneous downloads in `fetch` (default 4).
pub const BOXWRIGHT_FETCH_JOBS: &str = "BOXWRIGHT_FETCH_JOBS";
/// Attempts per download before giving up on connection errors and 5xx answers (default 4).
pub const BOXWRIGHT_FETCH_ATTEMPTS: &str = "BOXWRIGHT_FETCH_ATTEMPTS";
/// Initial backoff between download attempts in milliseconds, doubled each time (default 500).
pub const BOXWRIGHT_FETCH_BACKOFF_MS: &str = "BOXWRIGHT_FETCH_BACKOFF_MS";
/// The source URL recorded in outputs (image annotations and labels), overriding CI variables
/// and the git remote; cleaned like them. Set and empty: record no source.
pub const BOXWRIGHT_SOURCE_URL: &str = "BOXWRIGHT_SOURCE_URL";
/// Sent as a bearer token to the GitHub API by `plan` and `mirror` (higher rate limits,
/// private repositories).
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// Sent as `PRIVATE-TOKEN` to the GitLab API by `plan` and `mirror`.
pub const GITLAB_TOKEN: &str = "GITLAB_TOKEN";
/// A file `plan` appends its outputs to (GitHub Actions).
pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
/// The password of cosign private keys (`key generate`, `sign-blob`, `image sign|attest`)
/// unless `--key-password-stdin` gives one; it may be empty. cosign reads the same variable.
pub const COSIGN_PASSWORD: &str = "COSIGN_PASSWORD";
/// `true` in GitHub Actions: `provenance` records the workflow (`GITHUB_WORKFLOW_REF`), the
/// repository (`GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`), the run (`GITHUB_RUN_ID`,
/// `GITHUB_RUN_ATTEMPT`) and the commit (`GITHUB_SHA`), cleaned.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// `true` in GitLab CI: `provenance` records the pipeline file (`CI_CONFIG_PATH`), the project
/// (`CI_PROJECT_URL`, else `CI_SERVER_URL`), the job (`CI_JOB_URL`, else `CI_PIPELINE_URL`) and
/// the commit (`CI_COMMIT_SHA`), cleaned.
pub const GITLAB_CI: &str = "GITLAB_CI";
