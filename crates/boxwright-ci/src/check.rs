//! `ci check`: a generated file against the one on disk.

use serde::Serialize;
use similar::TextDiff;

/// How a file on disk compares with what would be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Identical.
    Current,
    /// Present, with other contents.
    Changed,
    /// Generated, but not on disk.
    Missing,
    /// A generated file on disk that metadata.json no longer calls for.
    Stale,
}

/// The comparison of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// Relative to the project root.
    pub path: String,
    pub status: FileStatus,
    /// A unified diff from the file on disk to the generated one (`/dev/null` for a missing
    /// or stale side); `None` when current.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl FileStatus {
    /// The status as `ci check` names it (`current`, `changed`, `missing`, `stale`).
    pub fn name(self) -> &'static str {
        match self {
            FileStatus::Current => "current",
            FileStatus::Changed => "changed",
            FileStatus::Missing => "missing",
            FileStatus::Stale => "stale",
        }
    }
}

impl FileCheck {
    pub fn is_current(&self) -> bool {
        self.status == FileStatus::Current
    }
}

/// Compares `path` as generated (`expected`; `None` when it is no longer generated) with the
/// file on disk (`actual`; `None` when there is none).
pub fn compare(path: &str, expected: Option<&str>, actual: Option<&str>) -> FileCheck {
    let status = match (expected, actual) {
        (Some(e), Some(a)) if e == a => FileStatus::Current,
        (None, None) => FileStatus::Current,
        (Some(_), Some(_)) => FileStatus::Changed,
        (Some(_), None) => FileStatus::Missing,
        (None, Some(_)) => FileStatus::Stale,
    };
    let diff = (status != FileStatus::Current).then(|| {
        let old_name = if actual.is_some() {
            format!("{path} (on disk)")
        } else {
            "/dev/null".to_string()
        };
        let new_name = if expected.is_some() {
            format!("{path} (generated)")
        } else {
            "/dev/null".to_string()
        };
        TextDiff::from_lines(actual.unwrap_or(""), expected.unwrap_or(""))
            .unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
            .to_string()
    });
    FileCheck {
        path: path.to_string(),
        status,
        diff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_changed_missing_stale() {
        let current = compare("a.yml", Some("x\n"), Some("x\n"));
        assert!(current.is_current());
        assert_eq!(current.diff, None);

        let changed = compare("a.yml", Some("x\ny\n"), Some("x\nz\n"));
        assert_eq!(changed.status, FileStatus::Changed);
        assert_eq!(
            changed.diff.unwrap(),
            "--- a.yml (on disk)\n+++ a.yml (generated)\n@@ -1,2 +1,2 @@\n x\n-z\n+y\n"
        );

        let missing = compare("a.yml", Some("x\n"), None);
        assert_eq!(missing.status, FileStatus::Missing);
        assert!(
            missing
                .diff
                .unwrap()
                .starts_with("--- /dev/null\n+++ a.yml (generated)\n@@ -0,0 +1 @@\n+x\n")
        );

        let stale = compare("a.yml", None, Some("x\n"));
        assert_eq!(stale.status, FileStatus::Stale);
        assert!(
            stale
                .diff
                .unwrap()
                .starts_with("--- a.yml (on disk)\n+++ /dev/null\n")
        );
    }
}
