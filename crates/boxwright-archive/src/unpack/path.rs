//! Checks on entry names and link targets, done on the raw bytes of the archive.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::Refusal;

/// Turns an entry name into a path relative to the destination, one component at a time:
/// empty and `.` components are dropped; absolute names, `..`, NUL bytes and over-long names
/// are refused. `None` means the name is the destination itself (such as `./`).
pub(super) fn normalise(raw: &[u8], max_len: usize) -> Result<Option<PathBuf>, Refusal> {
    if raw.is_empty() {
        return Err(Refusal::EmptyName);
    }
    if raw.len() > max_len {
        return Err(Refusal::NameTooLong { limit: max_len });
    }
    if raw.contains(&0) {
        return Err(Refusal::NulInName);
    }
    if raw[0] == b'/' {
        return Err(Refusal::AbsolutePath);
    }
    let mut out = PathBuf::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(Refusal::LeavesDestination),
            name => out.push(OsStr::from_bytes(name)),
        }
    }
    Ok(if out.as_os_str().is_empty() {
        None
    } else {
        Some(out)
    })
}

/// Checks the target of a symbolic link at `link` (relative to the destination) and returns
/// it as written.
///
/// The target must be relative, and any `..` must come before the first name: the leading
/// `..` then climb through real directories only (no entry is ever created under a symbolic
/// link, and directories are never replaced), so checking that they do not climb above the
/// destination is exact. A `..` after a name could climb out of a directory reached through
/// another link (`a/l/../x` with `a/l -> ../..`), even one created later, so it is refused.
pub(super) fn symlink_target(link: &Path, raw: &[u8], max_len: usize) -> Result<PathBuf, Refusal> {
    let target = || display_name(raw);
    if raw.is_empty() || raw.len() > max_len || raw.contains(&0) {
        return Err(Refusal::SymlinkTargetInvalid { target: target() });
    }
    if raw[0] == b'/' {
        return Err(Refusal::SymlinkAbsolute { target: target() });
    }
    // Directories above the link inside the destination.
    let depth = link.components().count().saturating_sub(1);
    let mut ups = 0;
    let mut seen_name = false;
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if seen_name => return Err(Refusal::SymlinkDotDotAfterName { target: target() }),
            b".." => {
                ups += 1;
                if ups > depth {
                    return Err(Refusal::SymlinkOutside { target: target() });
                }
            }
            _ => seen_name = true,
        }
    }
    Ok(PathBuf::from(OsStr::from_bytes(raw)))
}

/// `entry `NAME`: ` for an error about an archive entry, or nothing when no entry is known.
pub fn entry_prefix(entry: Option<&str>) -> String {
    entry.map_or_else(String::new, |e| format!("entry `{e}`: "))
}

/// Where in an archive something went wrong, given the last entry read before it.
pub fn after_entry(previous: Option<&str>) -> String {
    previous.map_or_else(
        || "the first entry".to_string(),
        |e| format!("the entry after `{e}`"),
    )
}

/// A raw name for messages: invalid UTF-8 replaced, control characters escaped so that a
/// hostile name cannot write terminal escape sequences.
pub fn display_name(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Result<Option<PathBuf>, Refusal> {
        normalise(s.as_bytes(), 4096)
    }

    #[test]
    fn names_are_normalised_component_by_component() {
        assert_eq!(norm("a/./b//c/"), Ok(Some(PathBuf::from("a/b/c"))));
        assert_eq!(norm("./pkg-1.0"), Ok(Some(PathBuf::from("pkg-1.0"))));
        assert_eq!(norm("./"), Ok(None));
        assert_eq!(norm("."), Ok(None));
        assert_eq!(norm(""), Err(Refusal::EmptyName));
        assert_eq!(norm("/etc/passwd"), Err(Refusal::AbsolutePath));
        assert_eq!(norm("a/../b"), Err(Refusal::LeavesDestination));
        assert_eq!(norm(".."), Err(Refusal::LeavesDestination));
        assert_eq!(norm("a\0b"), Err(Refusal::NulInName));
        assert_eq!(
            normalise(b"abcdef", 5),
            Err(Refusal::NameTooLong { limit: 5 })
        );
        // A backslash is an ordinary character in a tar name.
        assert_eq!(norm("a\\b"), Ok(Some(PathBuf::from("a\\b"))));
    }

    #[test]
    fn symlink_targets_may_climb_only_to_the_destination() {
        let check =
            |link: &str, target: &str| symlink_target(Path::new(link), target.as_bytes(), 4096);
        assert!(check("a/b/link", "../../x").is_ok());
        assert!(check("a/b/link", "./c/d").is_ok());
        assert!(check("link", ".").is_ok());
        assert!(check("a/link", "..").is_ok());
        assert!(matches!(
            check("link", "../x"),
            Err(Refusal::SymlinkOutside { .. })
        ));
        assert!(matches!(
            check("a/b/link", "../../../x"),
            Err(Refusal::SymlinkOutside { .. })
        ));
        assert!(matches!(
            check("link", "/etc"),
            Err(Refusal::SymlinkAbsolute { .. })
        ));
        assert!(matches!(
            check("link", "a/../b"),
            Err(Refusal::SymlinkDotDotAfterName { .. })
        ));
        assert!(matches!(
            check("link", ""),
            Err(Refusal::SymlinkTargetInvalid { .. })
        ));
    }

    #[test]
    fn display_names_escape_control_characters() {
        assert_eq!(display_name(b"a\x1b[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(display_name(b"caf\xff"), "caf\u{fffd}");
    }
}
