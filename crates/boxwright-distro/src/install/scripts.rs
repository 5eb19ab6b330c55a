//! Maintainer scripts, read and never run. Each line of a Debian `preinst`/`postinst` or an
//! apk `.pre-install`/`.post-install` is one of:
//!
//! - shell structure (`if`, `case`, `fi`, `;;`, function braces, `set -e`, `exit 0`),
//!   output (`echo`, `printf`) or a plain variable assignment: nothing to do;
//! - a command that does nothing lasting in an image built without a running system:
//!   debconf (`db_*`, `. /usr/share/debconf/confmodule`), init system glue
//!   (`deb-systemd-helper`, `deb-systemd-invoke`, `systemctl`, `invoke-rc.d`,
//!   `update-rc.d`: s6 supervises, no init system reads these), `ldconfig` (the runtime
//!   linker searches the standard directories anyway; the cache is an optimisation),
//!   `dpkg-trigger`, `dpkg-maintscript-helper` (conffile moves on upgrades), `dpkg
//!   --compare-versions` (a test) and the caches of desktop systems;
//! - an effect done here declaratively: `update-alternatives --install` (see
//!   `alternatives.rs`), `ln -s TARGET LINK` (the link, when nothing is there), and the whole
//!   of ca-certificates' scripts (the CA bundle, see `certs.rs`);
//! - anything else (`adduser`, `useradd`, `chown`, `rm`, `mkdir`, arbitrary commands): a
//!   [`Warning`] naming the package, the script and the line.

use super::Generated;
use super::alternatives::Alternative;
use super::merge::{Merged, Unit};
use crate::Kind;

/// Script lines of a package that installation did not carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `name version`.
    pub package: String,
    /// `postinst`, `.post-install`...
    pub script: String,
    /// The lines, trimmed, continuation lines joined.
    pub lines: Vec<String>,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "package {}: {} was not run and does what installation does not do: `{}`",
            self.package, self.script, self.lines[0]
        )?;
        if self.lines.len() > 1 {
            write!(f, " (and {} more lines)", self.lines.len() - 1)?;
        }
        Ok(())
    }
}

/// Packages whose scripts' effects are done by `certs.rs` as a whole.
const HANDLED_PACKAGES: [&str; 1] = ["ca-certificates"];

/// Commands without a lasting effect in an image (see the module documentation).
const NO_OPS: [&str; 28] = [
    "echo",
    "printf",
    "true",
    ":",
    "exit",
    "return",
    "set",
    "local",
    "shift",
    "export",
    "unset",
    ".",
    "ldconfig",
    "deb-systemd-helper",
    "deb-systemd-invoke",
    "systemctl",
    "invoke-rc.d",
    "update-rc.d",
    "dpkg-trigger",
    "dpkg-maintscript-helper",
    "update-mime",
    "update-desktop-database",
    "update-icon-caches",
    "gtk-update-icon-cache",
    "update-menus",
    "install-info",
    "mandb",
    "py3compile",
];

/// Words that only shape the script.
const STRUCTURE: [&str; 17] = [
    "if", "then", "else", "elif", "fi", "case", "esac", ";;", "do", "done", "for", "while", "{",
    "}", "until", "(", ")",
];

/// The scripts inspected, per kind.
fn inspected(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Deb => &["preinst", "postinst"],
        Kind::Apk => &[".pre-install", ".post-install"],
    }
}

/// Reads every package's install scripts: alternatives and links go into `generated`,
/// the rest comes back as warnings (in package order).
pub(crate) fn apply(
    kind: Kind,
    units: &[Unit<'_>],
    merged: &Merged,
    generated: &mut Generated,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for unit in units {
        if HANDLED_PACKAGES.contains(&unit.candidate.name.as_str()) {
            continue;
        }
        for script in inspected(kind) {
            let Some(text) = unit.unpacked.control.file(script) else {
                continue;
            };
            let text = String::from_utf8_lossy(text);
            let mut lines = Vec::new();
            for line in logical_lines(&text) {
                match classify(&line) {
                    Line::Nothing => {}
                    Line::Alternative(alternative) => generated.alternatives.push(alternative),
                    Line::Symlink { target, link } => {
                        let link = link.trim_start_matches('/').to_string();
                        if merged.get(&link).is_none() && !generated.has(&link) {
                            generated.symlink(&link, &target);
                        }
                    }
                    Line::Other => lines.push(line),
                }
            }
            if !lines.is_empty() {
                warnings.push(Warning {
                    package: unit.label(),
                    script: (*script).to_string(),
                    lines,
                });
            }
        }
    }
    warnings
}

/// The script's commands: comments and blank lines dropped, `\` continuations joined.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(start) = line.strip_suffix('\\') {
            current.push_str(start);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let joined = std::mem::take(&mut current);
        let joined = joined.trim();
        if !joined.is_empty() && !joined.starts_with('#') {
            out.push(joined.to_string());
        }
    }
    out
}

/// What a script line means here.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Nothing,
    Alternative(Alternative),
    Symlink { target: String, link: String },
    Other,
}

fn classify(line: &str) -> Line {
    let words: Vec<&str> = line.split_whitespace().collect();
    let first = words[0];
    if STRUCTURE.contains(&first)
        || first.ends_with(')') && !first.contains('(')
        || first.ends_with("()")
        || line.ends_with("() {")
        || NO_OPS.contains(&first)
        || first.starts_with("db_")
        || line.starts_with(". /usr/share/debconf/confmodule")
        || line.starts_with("dpkg --compare-versions")
        || is_assignment(first) && words.len() == 1
    {
        return Line::Nothing;
    }
    if first == "update-alternatives" {
        return Alternative::parse(&words).map_or(Line::Other, Line::Alternative);
    }
    if first == "ln" {
        return symlink(&words).unwrap_or(Line::Other);
    }
    Line::Other
}

/// `NAME=value` without command substitution.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, value)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !value.contains("$(")
            && !value.contains('`')
    })
}

/// `ln -s[f] TARGET LINK` with literal paths.
fn symlink(words: &[&str]) -> Option<Line> {
    let mut rest = words[1..].iter().copied();
    let flags = rest.next()?;
    if !matches!(flags, "-s" | "-sf" | "-fs" | "-snf" | "-sfn") {
        return None;
    }
    let target = rest.next()?;
    let link = rest.next()?;
    let literal = |w: &str| w.starts_with('/') && !w.contains(['$', '`', '*', '"', '\'']);
    if rest.next().is_some() || !literal(target) || !literal(link) {
        return None;
    }
    Some(Line::Symlink {
        target: target.to_string(),
        link: link.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_classified() {
        for nothing in [
            "set -e",
            "case \"$1\" in",
            "configure)",
            ";;",
            "esac",
            "if [ \"$1\" = configure ]; then",
            "fi",
            "db_get foo/bar",
            ". /usr/share/debconf/confmodule",
            "deb-systemd-helper unmask 'x.service' >/dev/null || true",
            "exit 0",
            "FOO=bar",
            "ldconfig",
        ] {
            assert_eq!(classify(nothing), Line::Nothing, "{nothing}");
        }
        for other in [
            "adduser --system web",
            "useradd -r web",
            "rm -f \"$DPKG_ROOT/etc/ld.so.nohwcap\"",
            "chown root:shadow /etc/shadow",
            "X=$(dpkg-query -W foo)",
            "ln -s \"$x\" /usr/lib/y",
        ] {
            assert_eq!(classify(other), Line::Other, "{other}");
        }
        assert_eq!(
            classify("ln -sf /etc/ssl /usr/lib/ssl"),
            Line::Symlink {
                target: "/etc/ssl".into(),
                link: "/usr/lib/ssl".into()
            }
        );
        assert!(matches!(
            classify("update-alternatives --install /usr/bin/awk awk /usr/bin/mawk 5"),
            Line::Alternative(_)
        ));
    }

    #[test]
    fn continuation_lines_are_joined_and_comments_dropped() {
        let text = "#!/bin/sh\n# comment\nupdate-alternatives --install /usr/bin/x x \\\n  /usr/bin/x.real 10\n\n";
        assert_eq!(
            logical_lines(text),
            ["update-alternatives --install /usr/bin/x x  /usr/bin/x.real 10"]
        );
    }
}
