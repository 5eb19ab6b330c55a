//! dpkg's database as dpkg leaves it after `dpkg --install` and `--configure` of the set:
//!
//! - `var/lib/dpkg/status`: each package's `control` paragraph (from the package file, the
//!   same bytes the index's digest covers) with `Status: install ok installed` and
//!   `Conffiles:` (path and MD5 of the shipped content), fields in dpkg's order, paragraphs
//!   sorted by name;
//! - `var/lib/dpkg/info/<pkg>.list` (`/.` then every path of the data member in archive
//!   order), and every other file of the control member (`md5sums`, `conffiles`, maintainer
//!   scripts, `shlibs`, `triggers`...) as `info/<pkg>.<file>`; `<pkg>:<arch>` for
//!   `Multi-Arch: same` packages; `info/format` (`1`);
//! - the empty files and directories dpkg expects: `available`, `diversions`,
//!   `statoverride`, `alternatives/`, `parts/`, `triggers/` (with an empty `Unincorp`),
//!   `updates/`.

use std::fmt::Write as _;
use std::path::Path;

use boxwright_package::deb::parse_paragraph;

use super::Generated;
use super::merge::Unit;
use super::tree::Store;
use crate::Error;

const ADMIN: &str = "var/lib/dpkg";

/// dpkg's own field order in the status file (lib/dpkg's field table); other fields follow
/// in the order the control file has them.
const FIELD_ORDER: [&str; 27] = [
    "Package",
    "Essential",
    "Protected",
    "Status",
    "Priority",
    "Section",
    "Installed-Size",
    "Origin",
    "Maintainer",
    "Bugs",
    "Architecture",
    "Multi-Arch",
    "Source",
    "Version",
    "Config-Version",
    "Replaces",
    "Provides",
    "Depends",
    "Pre-Depends",
    "Recommends",
    "Suggests",
    "Breaks",
    "Conflicts",
    "Enhances",
    "Conffiles",
    "Description",
    "Triggers-Pending",
];

pub(crate) fn database(
    units: &[Unit<'_>],
    store: &Store,
    generated: &mut Generated,
) -> Result<(), Error> {
    for dir in ["alternatives", "info", "parts", "triggers", "updates"] {
        generated.dir(&format!("{ADMIN}/{dir}"));
    }
    for empty in [
        "available",
        "diversions",
        "statoverride",
        "triggers/Unincorp",
    ] {
        generated.file(store, &format!("{ADMIN}/{empty}"), 0o644, b"")?;
    }
    generated.file(store, &format!("{ADMIN}/info/format"), 0o644, b"1\n")?;
    let mut paragraphs = Vec::new();
    for unit in units {
        let fields = control_fields(unit)?;
        let conffiles = conffiles(unit);
        paragraphs.push(status_paragraph(&fields, &conffiles));
        info_files(unit, &fields, store, generated)?;
    }
    generated.file(
        store,
        &format!("{ADMIN}/status"),
        0o644,
        paragraphs.join("\n").as_bytes(),
    )?;
    Ok(())
}

fn invalid(unit: &Unit<'_>, what: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidControl {
        package: unit.label(),
        what,
        message: message.into(),
    }
}

fn control_fields(unit: &Unit<'_>) -> Result<Vec<(String, String)>, Error> {
    let control = unit
        .unpacked
        .control
        .file("control")
        .ok_or_else(|| invalid(unit, "control member", "it has no `control` file"))?;
    let text = std::str::from_utf8(control)
        .map_err(|_| invalid(unit, "control file", "it is not UTF-8"))?;
    parse_paragraph(Path::new(&unit.label()), text)
        .map_err(|e| invalid(unit, "control file", e.to_string()))
}

/// `(path, md5)` of each conffile (`conffiles` lines may carry flags before the path).
fn conffiles(unit: &Unit<'_>) -> Vec<(String, String)> {
    let Some(text) = unit.unpacked.control.file("conffiles") else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let path = line.split_whitespace().last().unwrap_or_default();
        // A conffile the package does not ship (`remove-on-upgrade`) is recorded so.
        let md5 = unit
            .unpacked
            .content(path.trim_start_matches('/'))
            .map_or_else(|| "newconffile".to_string(), super::tree::Staged::md5_hex);
        out.push((path.to_string(), md5));
    }
    out
}

/// The status paragraph (ending with a newline; paragraphs are joined by a blank line).
fn status_paragraph(fields: &[(String, String)], conffiles: &[(String, String)]) -> String {
    let mut all: Vec<(String, String)> = fields.to_vec();
    all.retain(|(k, _)| !k.eq_ignore_ascii_case("Status") && !k.eq_ignore_ascii_case("Conffiles"));
    all.push(("Status".into(), "install ok installed".into()));
    if !conffiles.is_empty() {
        let lines = conffiles
            .iter()
            .fold(String::new(), |mut out, (path, md5)| {
                let _ = write!(out, "\n {path} {md5}");
                out
            });
        all.push(("Conffiles".into(), lines));
    }
    let rank = |key: &str| {
        FIELD_ORDER
            .iter()
            .position(|k| k.eq_ignore_ascii_case(key))
            .unwrap_or(FIELD_ORDER.len())
    };
    // A stable sort keeps the control file's order among the fields dpkg does not know.
    all.sort_by_key(|(k, _)| rank(k));
    let mut out = String::new();
    for (key, value) in all {
        let space = if value.starts_with('\n') { "" } else { " " };
        let _ = writeln!(out, "{key}:{space}{value}");
    }
    out
}

/// `info/<pkg>.list` and the control member's files but `control`.
fn info_files(
    unit: &Unit<'_>,
    fields: &[(String, String)],
    store: &Store,
    generated: &mut Generated,
) -> Result<(), Error> {
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    let name = get("Package").unwrap_or(&unit.candidate.name);
    let base = if get("Multi-Arch") == Some("same") {
        format!(
            "{name}:{}",
            get("Architecture").unwrap_or(&unit.candidate.arch)
        )
    } else {
        name.to_string()
    };
    let mut list = String::from("/.\n");
    for entry in &unit.unpacked.entries {
        list.push('/');
        list.push_str(&entry.path);
        list.push('\n');
    }
    generated.file(
        store,
        &format!("{ADMIN}/info/{base}.list"),
        0o644,
        list.as_bytes(),
    )?;
    for file in &unit.unpacked.control.files {
        if file.name == "control" || file.name.contains('/') {
            continue;
        }
        let mode = if file.mode & 0o111 != 0 { 0o755 } else { 0o644 };
        generated.file(
            store,
            &format!("{ADMIN}/info/{base}.{}", file.name),
            mode,
            &file.data,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_follow_dpkgs_order() {
        let fields: Vec<(String, String)> = [
            ("Package", "libc6"),
            ("Source", "glibc"),
            ("Version", "2.36-9"),
            ("Architecture", "amd64"),
            ("Maintainer", "M <m@example.org>"),
            ("Installed-Size", "13001"),
            ("Depends", "libgcc-s1"),
            ("Section", "libs"),
            ("Priority", "optional"),
            ("Multi-Arch", "same"),
            ("Homepage", "https://www.gnu.org/software/libc/libc.html"),
            (
                "Description",
                "GNU C Library: Shared libraries\n Contains the libraries.",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let conffiles = vec![("/etc/ld.so.conf.d/x.conf".to_string(), "d4e7".to_string())];
        assert_eq!(
            status_paragraph(&fields, &conffiles),
            "Package: libc6\nStatus: install ok installed\nPriority: optional\nSection: libs\n\
             Installed-Size: 13001\nMaintainer: M <m@example.org>\nArchitecture: amd64\n\
             Multi-Arch: same\nSource: glibc\nVersion: 2.36-9\nDepends: libgcc-s1\n\
             Conffiles:\n /etc/ld.so.conf.d/x.conf d4e7\n\
             Description: GNU C Library: Shared libraries\n Contains the libraries.\n\
             Homepage: https://www.gnu.org/software/libc/libc.html\n"
        );
    }
}
