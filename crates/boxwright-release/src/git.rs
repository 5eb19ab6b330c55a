//! What the project's git repository says about a release: commit times, the commit being
//! built, the `origin` remote. Every answer is `None` when git, the repository or the
//! revision is missing: callers fall back (to `SOURCE_DATE_EPOCH`, CI variables, 0).

use std::path::Path;
use std::process::{Command, Stdio};

/// The commit time (seconds since the epoch) of `revision` (`HEAD`, `refs/tags/v1.2.3`...).
pub fn commit_time(root: &Path, revision: &str) -> Option<u64> {
    output(root, &["log", "-1", "--format=%ct", revision, "--"])?
        .parse()
        .ok()
}

/// The commit id of `HEAD`, as git prints it.
pub fn head(root: &Path) -> Option<String> {
    output(root, &["rev-parse", "--verify", "-q", "HEAD"])
}

/// The URL of the `origin` remote, as configured.
pub fn origin_url(root: &Path) -> Option<String> {
    output(root, &["remote", "get-url", "origin"])
}

/// `git -C root ARGS`'s standard output, trimmed; `None` when git fails or prints nothing.
fn output(root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(root: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
            .env("GIT_AUTHOR_DATE", "@1700000000 +0000")
            .stdout(Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn a_directory_without_a_repository_has_no_answers() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(commit_time(dir.path(), "HEAD"), None);
        assert_eq!(head(dir.path()), None);
        assert_eq!(origin_url(dir.path()), None);
    }

    #[test]
    fn a_repository_reports_its_commit_time_head_and_origin() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        git(dir.path(), &["commit", "-q", "--allow-empty", "-m", "one"]);
        git(dir.path(), &["tag", "v1"]);
        git(
            dir.path(),
            &["remote", "add", "origin", "https://example.org/p.git"],
        );
        assert_eq!(commit_time(dir.path(), "refs/tags/v1"), Some(1_700_000_000));
        assert_eq!(commit_time(dir.path(), "refs/tags/v2"), None);
        assert_eq!(head(dir.path()).map(|h| h.len()), Some(40));
        assert_eq!(
            origin_url(dir.path()).as_deref(),
            Some("https://example.org/p.git")
        );
    }
}
