//! How a run ends: the exit status of an outcome (0 ok, 1 a check failed, 2 error) and the
//! `hint:` shown after an error. Both are chosen from the typed errors in the chain (library
//! error variants), never from message text.

use std::process::ExitCode;

use boxwright_metadata::TagError;

/// How a command ended (DESIGN: 0 ok, 1 a check failed, 2 usage or input error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    CheckFailed,
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::CheckFailed => 1,
            ExitStatus::Error => 2,
        })
    }
}

/// `cause` as a `T`, also when a library boxed it (a boxed source is a `Box<T>` in the chain).
pub fn find<'a, T: std::error::Error + 'static>(
    cause: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    cause
        .downcast_ref::<T>()
        .or_else(|| cause.downcast_ref::<Box<T>>().map(AsRef::as_ref))
}

/// A failed check (an invalid release tag, a build's verification or smoke run) exits 1;
/// every other error exits 2.
pub fn classify(error: &anyhow::Error) -> ExitStatus {
    let tag_error = |cause: &(dyn std::error::Error + 'static)| {
        find::<TagError>(cause).is_some()
            || matches!(find(cause), Some(boxwright_release::Error::Tag(_)))
            || matches!(
                find(cause),
                Some(
                    boxwright_build::Error::Verification { .. }
                        | boxwright_build::Error::SmokeFailed { .. }
                )
            )
            || matches!(
                find(cause),
                Some(
                    boxwright_ci::Error::Drift { .. }
                        | boxwright_ci::Error::NothingGenerated { .. }
                )
            )
            || find::<boxwright_sign::Error>(cause)
                .is_some_and(boxwright_sign::Error::is_verification_failure)
    };
    if error.chain().any(tag_error) {
        ExitStatus::CheckFailed
    } else {
        ExitStatus::Error
    }
}

/// What sort of failure an error is: the `kind` of the `--json` error object. The list is
/// the contract (docs/cli.md "JSON output", docs/schemas/error.schema.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The command line is wrong (clap refused it, or two options conflict).
    Usage,
    /// A file, argument or value is invalid (metadata, a tag, a key, a reference).
    Input,
    /// Something named does not exist (no project, an image or file not found).
    NotFound,
    /// A server could not be reached or the transfer failed.
    Network,
    /// A registry or server needs credentials, rejected them or denied access.
    Auth,
    /// A check failed: a signature, digest, build verification, smoke run or CI drift.
    Verification,
    /// Reading or writing a local file failed.
    Io,
    /// A fault of boxwright itself (an answer it cannot serialise, a task that panicked).
    Internal,
}

/// The kind of `error`, from the typed errors in its chain; the first that decides wins.
pub fn kind(error: &anyhow::Error) -> ErrorKind {
    if classify(error) == ExitStatus::CheckFailed {
        let tag = error.chain().any(|cause| {
            find::<TagError>(cause).is_some()
                || matches!(find(cause), Some(boxwright_release::Error::Tag(_)))
        });
        return if tag {
            ErrorKind::Input
        } else {
            ErrorKind::Verification
        };
    }
    error
        .chain()
        .find_map(typed_kind)
        .or_else(|| {
            error
                .chain()
                .find_map(|cause| find::<std::io::Error>(cause).map(io_kind))
        })
        .unwrap_or(ErrorKind::Input)
}

/// The kind a library error decides by itself (none: look further down the chain).
fn typed_kind(cause: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    use boxwright_registry::Error as Registry;
    if find::<tokio::task::JoinError>(cause).is_some() {
        return Some(ErrorKind::Internal);
    }
    if let Some(error) = find::<Registry>(cause) {
        return match error {
            Registry::NeedsCredentials { .. }
            | Registry::Unauthorized { .. }
            | Registry::Forbidden { .. }
            | Registry::Token { .. } => Some(ErrorKind::Auth),
            Registry::NotFound { .. } => Some(ErrorKind::NotFound),
            Registry::DigestMismatch { .. } => Some(ErrorKind::Verification),
            Registry::Http { .. } | Registry::Tls { .. } | Registry::GaveUp { .. } => {
                Some(ErrorKind::Network)
            }
            _ => None,
        };
    }
    match find::<boxwright_fetch::Error>(cause) {
        Some(boxwright_fetch::Error::ChecksumMismatch { .. }) => {
            return Some(ErrorKind::Verification);
        }
        Some(
            boxwright_fetch::Error::Http { .. }
            | boxwright_fetch::Error::Status { .. }
            | boxwright_fetch::Error::Truncated { .. }
            | boxwright_fetch::Error::GaveUp { .. },
        ) => return Some(ErrorKind::Network),
        Some(boxwright_fetch::Error::UnknownTarget { .. }) => return Some(ErrorKind::NotFound),
        _ => {}
    }
    match find::<boxwright_metadata::Error>(cause) {
        Some(
            boxwright_metadata::Error::NotFound { .. }
            | boxwright_metadata::Error::UnknownTarget { .. },
        ) => Some(ErrorKind::NotFound),
        Some(boxwright_metadata::Error::Read { .. }) => None,
        Some(_) => Some(ErrorKind::Input),
        None => find::<serde_json::Error>(cause)
            .filter(|error| error.is_io())
            .map(|_| ErrorKind::Io),
    }
}

fn io_kind(error: &std::io::Error) -> ErrorKind {
    if is_network(error) {
        ErrorKind::Network
    } else if error.kind() == std::io::ErrorKind::NotFound {
        ErrorKind::NotFound
    } else {
        ErrorKind::Io
    }
}

/// Whether an I/O error is a failed connection rather than a local file.
pub fn is_network(error: &std::io::Error) -> bool {
    use std::io::ErrorKind as Io;
    matches!(
        error.kind(),
        Io::ConnectionRefused
            | Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::NotConnected
            | Io::AddrNotAvailable
            | Io::TimedOut
            | Io::HostUnreachable
            | Io::NetworkUnreachable
            | Io::NetworkDown
    )
}

/// The server a failed request went to (`host:port`), where a library error names one.
pub fn endpoint(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    match find::<boxwright_registry::Error>(cause) {
        Some(boxwright_registry::Error::Http { registry, .. }) => return Some(registry.clone()),
        Some(_) => return None,
        None => {}
    }
    match find::<boxwright_fetch::Error>(cause) {
        Some(
            boxwright_fetch::Error::Http { url, .. } | boxwright_fetch::Error::GaveUp { url, .. },
        ) => Some(authority(url)),
        _ => None,
    }
}

/// `host:port` of a URL (the URL itself when it has no `scheme://`).
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or(rest)
        .to_owned()
}

/// Whether `cause` is a "giving up after N attempts" summary (shown after the context).
pub fn is_retry_summary(cause: &(dyn std::error::Error + 'static)) -> bool {
    matches!(find(cause), Some(boxwright_registry::Error::GaveUp { .. }))
        || matches!(find(cause), Some(boxwright_fetch::Error::GaveUp { .. }))
}

/// A known fix for an error, shown after it.
pub fn hint(error: &anyhow::Error) -> Option<String> {
    for cause in error.chain() {
        if let Some(boxwright_metadata::Error::NotFound { .. }) = find(cause) {
            return Some("run inside a project, or pass --project DIR".into());
        }
        if let Some(boxwright_ci::Error::Drift { providers, .. }) = find(cause) {
            let commands: Vec<String> = providers
                .iter()
                .map(|p| format!("`boxwright ci generate {p}`"))
                .collect();
            return Some(format!(
                "run {} and commit the result",
                commands.join(" and ")
            ));
        }
        if let Some(boxwright_ci::Error::NothingGenerated { .. }) = find(cause) {
            return Some(
                "run `boxwright ci generate github` or `boxwright ci generate gitlab`".into(),
            );
        }
        if let Some(boxwright_publish::Error::Unsigned { .. }) = find(cause) {
            return Some(
                "give --key KEY (a file or env://VAR) or set the release's manifest_key_env; \
                 --allow-unsigned writes an unsigned manifest"
                    .into(),
            );
        }
        if let Some(boxwright_fetch::Error::NotCached { .. }) = find(cause) {
            return Some("run `boxwright fetch` once with network access".into());
        }
        if let Some(
            boxwright_sign::Error::WrongPassword | boxwright_sign::Error::PasswordRequired,
        ) = find(cause)
        {
            return Some(format!(
                "give the key's password with --key-password-stdin, or in {} (cosign keys) or {} \
                 (minisign keys)",
                boxwright_metadata::env_vars::COSIGN_PASSWORD,
                boxwright_sign::minisign::PASSWORD_ENV
            ));
        }
        let image_error = find::<boxwright_sbom::Error>(cause)
            .and_then(boxwright_sbom::Error::image_error)
            .or_else(|| find::<boxwright_oci::Error>(cause));
        if let Some(hint) = image_error.and_then(image_hint) {
            return Some(hint);
        }
        if let Some(boxwright_fetch::Error::ChecksumMismatch { .. }) = find(cause) {
            return Some(
                "if the new file is the one you want, update the digest in metadata.json".into(),
            );
        }
    }
    None
}

/// How to choose an image when a layout holds several.
fn image_hint(error: &boxwright_oci::Error) -> Option<String> {
    match error {
        boxwright_oci::Error::SeveralPlatforms { .. } => {
            Some("choose one with --platform OS/ARCH[/VARIANT]".into())
        }
        boxwright_oci::Error::SeveralImages { path, names } => Some(format!(
            "name one as DIR:TAG: {}",
            names
                .iter()
                .map(|name| format!("{}:{name}", path.display()))
                .collect::<Vec<_>>()
                .join(" or ")
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use anyhow::anyhow;

    use super::*;

    /// `error` as a command returns it: wrapped in context, as the commands do.
    fn wrapped(error: impl std::error::Error + Send + Sync + 'static) -> anyhow::Error {
        anyhow::Error::new(error).context("the command failed")
    }

    fn hint_of(error: impl std::error::Error + Send + Sync + 'static) -> Option<String> {
        hint(&wrapped(error))
    }

    #[test]
    fn no_project_hints_at_project() {
        let error = boxwright_metadata::Error::NotFound {
            start: PathBuf::from("/somewhere"),
            file: "metadata.json",
        };
        assert_eq!(
            hint_of(error).as_deref(),
            Some("run inside a project, or pass --project DIR")
        );
    }

    #[test]
    fn ci_drift_names_each_provider_to_regenerate() {
        let error = boxwright_ci::Error::Drift {
            providers: vec![
                boxwright_ci::Provider::Github,
                boxwright_ci::Provider::Gitlab,
            ],
            paths: vec![".github/workflows/release.yml".into()],
        };
        assert_eq!(
            hint_of(error).as_deref(),
            Some(
                "run `boxwright ci generate github` and `boxwright ci generate gitlab` and commit the result"
            )
        );
    }

    #[test]
    fn nothing_generated_hints_at_both_generators() {
        let error = boxwright_ci::Error::NothingGenerated {
            looked_for: ".github/workflows".into(),
        };
        assert_eq!(
            hint_of(error).as_deref(),
            Some("run `boxwright ci generate github` or `boxwright ci generate gitlab`")
        );
    }

    #[test]
    fn an_unsigned_manifest_hints_at_the_key_and_allow_unsigned() {
        let error = boxwright_publish::Error::Unsigned {
            tag: "distro-0.1.0.0".into(),
            key_env: Some("DISTRO_KEY".into()),
        };
        let hint = hint_of(error).unwrap();
        assert!(
            hint.contains("--key KEY") && hint.contains("--allow-unsigned"),
            "{hint}"
        );
        assert_eq!(
            classify(&wrapped(boxwright_publish::Error::Unsigned {
                tag: "t".into(),
                key_env: None,
            })),
            ExitStatus::Error
        );
    }

    #[test]
    fn offline_without_cache_hints_at_fetch() {
        let error = boxwright_fetch::Error::NotCached {
            name: "src".into(),
            url: "https://example.org/src.tar.gz".into(),
            path: PathBuf::from(".tmp/src.tar.gz"),
        };
        assert_eq!(
            hint_of(error).as_deref(),
            Some("run `boxwright fetch` once with network access")
        );
    }

    #[test]
    fn checksum_mismatch_hints_at_the_digest() {
        let error = boxwright_fetch::Error::ChecksumMismatch {
            name: "src".into(),
            url: "https://example.org/src.tar.gz".into(),
            algorithm: "sha256",
            expected: "00".into(),
            actual: "11".into(),
        };
        assert_eq!(
            hint_of(error).as_deref(),
            Some("if the new file is the one you want, update the digest in metadata.json")
        );
    }

    #[test]
    fn key_passwords_hint_at_the_two_ways_to_give_one() {
        let expected = "give the key's password with --key-password-stdin, or in COSIGN_PASSWORD \
                        (cosign keys) or MINISIGN_PASSWORD (minisign keys)"
            .to_string();
        assert_eq!(
            hint_of(boxwright_sign::Error::WrongPassword),
            Some(expected.clone())
        );
        assert_eq!(
            hint_of(boxwright_sign::Error::PasswordRequired),
            Some(expected)
        );
    }

    #[test]
    fn several_platforms_hint_at_platform() {
        let error = boxwright_oci::Error::SeveralPlatforms {
            path: PathBuf::from("layout"),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
        };
        assert_eq!(
            hint_of(error).as_deref(),
            Some("choose one with --platform OS/ARCH[/VARIANT]")
        );
    }

    #[test]
    fn several_images_hint_at_dir_tag_also_through_sbom() {
        let oci = || boxwright_oci::Error::SeveralImages {
            path: PathBuf::from("layout"),
            names: vec!["1.0".into(), "2.0".into()],
        };
        let expected = Some("name one as DIR:TAG: layout:1.0 or layout:2.0".to_string());
        assert_eq!(hint_of(oci()), expected);
        let sbom = boxwright_sbom::Error::ReadImage {
            what: "the subject".into(),
            source: Box::new(boxwright_sbom::Error::Image(oci())),
        };
        assert_eq!(hint_of(sbom), expected);
    }

    #[test]
    fn other_errors_have_no_hint_whatever_their_text() {
        assert_eq!(
            hint(&anyhow!("run inside a project (metadata.json not found)")),
            None
        );
        assert_eq!(
            hint_of(boxwright_sign::Error::EnvNotSet { name: "K".into() }),
            None
        );
    }

    #[test]
    fn failed_checks_exit_1_and_other_errors_2() {
        assert_eq!(classify(&wrapped(TagError::Empty)), ExitStatus::CheckFailed);
        let release = boxwright_release::Error::Tag(TagError::Empty);
        assert_eq!(classify(&wrapped(release)), ExitStatus::CheckFailed);
        let drift = boxwright_ci::Error::NothingGenerated {
            looked_for: "x".into(),
        };
        assert_eq!(classify(&wrapped(drift)), ExitStatus::CheckFailed);
        assert_eq!(
            classify(&wrapped(boxwright_sign::Error::WrongPassword)),
            ExitStatus::Error
        );
        assert_eq!(classify(&anyhow!("a check failed")), ExitStatus::Error);
    }
}
