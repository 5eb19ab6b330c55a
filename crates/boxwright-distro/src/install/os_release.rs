//! `/etc/os-release` and `/usr/lib/os-release` (os-release(5)) when no package ships them
//! (Debian's base-files and Alpine's alpine-release do; theirs are kept then).

use std::fmt::Write as _;

use super::Generated;
use super::merge::Merged;
use super::tree::Store;
use crate::Error;

/// The distribution's identity, from the caller (scanners read `ID` and `VERSION_ID`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    /// `debian`, `alpine`.
    pub id: String,
    /// `12`, `3.20`.
    pub version_id: String,
    /// `bookworm` (empty for none).
    pub version_codename: String,
    /// `Debian GNU/Linux 12 (bookworm)`.
    pub pretty_name: String,
}

impl OsRelease {
    /// The file's text: one `KEY=value` line per non-empty field, values quoted.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (key, value) in [
            ("PRETTY_NAME", &self.pretty_name),
            ("ID", &self.id),
            ("VERSION_ID", &self.version_id),
            ("VERSION_CODENAME", &self.version_codename),
        ] {
            if !value.is_empty() {
                let _ = writeln!(out, "{key}={}", quote(value));
            }
        }
        out
    }
}

/// A double-quoted shell-compatible value (os-release(5): `$`, `"`, `\` and `` ` `` escaped).
fn quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars().filter(|c| *c != '\n') {
        if matches!(c, '$' | '"' | '\\' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

pub(crate) fn apply(
    release: &OsRelease,
    merged: &Merged,
    store: &Store,
    generated: &mut Generated,
) -> Result<(), Error> {
    let etc = merged.get("etc/os-release").is_some();
    let lib = merged.get("usr/lib/os-release").is_some();
    if !lib && !etc {
        if release.id.is_empty() {
            return Ok(());
        }
        generated.file(
            store,
            "usr/lib/os-release",
            0o644,
            release.text().as_bytes(),
        )?;
    }
    if !etc {
        generated.symlink("etc/os-release", "../usr/lib/os-release");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_quotes_values() {
        let release = OsRelease {
            id: "debian".into(),
            version_id: "12".into(),
            version_codename: "bookworm".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm) \"x\"".into(),
        };
        assert_eq!(
            release.text(),
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm) \\\"x\\\"\"\nID=\"debian\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=\"bookworm\"\n"
        );
    }
}
