//! apk-tools' database as `apk add --root` leaves it:
//!
//! - `lib/apk/db/installed`: per package (sorted by name) the index fields from `.PKGINFO`
//!   (`C: P: V: A: S: I: T: U: L: o: m: t: c: k: D: p: i: r: q:`), then per directory `F:`
//!   with `M:uid:gid:mode` when it is not root's 0755, and per file `R:` with
//!   `a:uid:gid:mode` when it is not root's 0644 and `Z:` (`Q1` + base64 of the SHA-1 of
//!   the content; of the target for symbolic links); a blank line after each package;
//! - `lib/apk/db/scripts.tar`: the install scripts as `<name>-<version>.<C:>.<script>`;
//! - `lib/apk/db/triggers`: `<C:> <dir>...` of packages with `triggers`; `lib/apk/db/lock`;
//! - `etc/apk/world`, `etc/apk/repositories`, `etc/apk/arch`, `etc/apk/keys/<name>`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use sha1::Digest as _;

use super::merge::Unit;
use super::tree::{Node, Store, TreeEntry, parent};
use super::{ApkSetup, Generated};
use crate::Error;

/// `.PKGINFO` keys and their `installed` letters, in apk's order (after `C:`).
const FIELDS: [(&str, &str); 17] = [
    ("pkgname", "P"),
    ("pkgver", "V"),
    ("arch", "A"),
    ("", "S"),
    ("size", "I"),
    ("pkgdesc", "T"),
    ("url", "U"),
    ("license", "L"),
    ("origin", "o"),
    ("maintainer", "m"),
    ("builddate", "t"),
    ("commit", "c"),
    ("provider_priority", "k"),
    ("depend", "D"),
    ("provides", "p"),
    ("install_if", "i"),
    ("replaces", "r"),
];

pub(crate) fn database(
    units: &[Unit<'_>],
    setup: &ApkSetup,
    store: &Store,
    generated: &mut Generated,
) -> Result<(), Error> {
    let mut installed = String::new();
    let mut triggers = String::new();
    let mut scripts = boxwright_archive::DeterministicTar::new(Vec::new(), 0);
    for unit in units {
        let pkginfo = pkginfo(unit)?;
        let checksum = checksum(unit)?;
        installed.push_str(&block(unit, &pkginfo, &checksum));
        let values = |key: &str| -> Vec<&str> {
            pkginfo
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        let dirs = values("triggers").join(" ");
        if !dirs.trim().is_empty() {
            let _ = writeln!(triggers, "{checksum} {}", dirs.trim());
        }
        let name = values("pkgname")
            .first()
            .copied()
            .unwrap_or(&unit.candidate.name)
            .to_string();
        let version = values("pkgver")
            .first()
            .copied()
            .unwrap_or(&unit.candidate.version)
            .to_string();
        for file in &unit.unpacked.control.files {
            if let Some(script) = file
                .name
                .strip_prefix('.')
                .filter(|s| s.starts_with("pre-") || s.starts_with("post-") || *s == "trigger")
            {
                let entry = format!("{name}-{version}.{checksum}.{script}");
                let owner = boxwright_archive::Owner {
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                };
                scripts
                    .append_reader_as(&entry, owner, file.data.len() as u64, file.data.as_slice())
                    .map_err(Error::io(
                        "write",
                        std::path::Path::new("lib/apk/db/scripts.tar"),
                    ))?;
            }
        }
    }
    let scripts = scripts.finish().map_err(Error::io(
        "write",
        std::path::Path::new("lib/apk/db/scripts.tar"),
    ))?;
    for dir in ["lib/apk/db", "etc/apk/keys"] {
        generated.dir(dir);
    }
    generated.file(store, "lib/apk/db/installed", 0o644, installed.as_bytes())?;
    generated.file(store, "lib/apk/db/triggers", 0o644, triggers.as_bytes())?;
    generated.file(store, "lib/apk/db/scripts.tar", 0o644, &scripts)?;
    generated.file(store, "lib/apk/db/lock", 0o600, b"")?;
    let mut world = setup.world.clone();
    world.sort();
    world.dedup();
    generated.file(store, "etc/apk/world", 0o644, lines(&world).as_bytes())?;
    generated.file(
        store,
        "etc/apk/repositories",
        0o644,
        lines(&setup.repositories).as_bytes(),
    )?;
    if !setup.arch.is_empty() {
        generated.file(
            store,
            "etc/apk/arch",
            0o644,
            format!("{}\n", setup.arch).as_bytes(),
        )?;
    }
    for (name, pem) in &setup.keys {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(Error::InvalidControl {
                package: "etc/apk/keys".into(),
                what: "key file name",
                message: format!("`{name}` is not a plain file name"),
            });
        }
        generated.file(store, &format!("etc/apk/keys/{name}"), 0o644, pem)?;
    }
    Ok(())
}

fn lines(items: &[String]) -> String {
    items.iter().fold(String::new(), |mut out, item| {
        out.push_str(item);
        out.push('\n');
        out
    })
}

fn pkginfo(unit: &Unit<'_>) -> Result<Vec<(String, String)>, Error> {
    let bytes = unit
        .unpacked
        .control
        .file(".PKGINFO")
        .ok_or_else(|| Error::InvalidControl {
            package: unit.label(),
            what: "control member",
            message: "it has no .PKGINFO".into(),
        })?;
    Ok(String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// `Q1` + base64 of the control member's SHA-1 (the index's `C:`).
fn checksum(unit: &Unit<'_>) -> Result<String, Error> {
    let identity = unit
        .unpacked
        .control
        .apk_identity
        .ok_or_else(|| Error::InvalidControl {
            package: unit.label(),
            what: "package",
            message: "it is not an apk".into(),
        })?;
    Ok(q1(&identity))
}

fn q1(sha1: &[u8; 20]) -> String {
    format!(
        "Q1{}",
        base64::engine::general_purpose::STANDARD.encode(sha1)
    )
}

/// One package's block of `installed`.
fn block(unit: &Unit<'_>, pkginfo: &[(String, String)], checksum: &str) -> String {
    let mut out = format!("C:{checksum}\n");
    for (key, letter) in FIELDS {
        let value = if letter == "S" {
            unit.candidate.size.to_string()
        } else {
            let values: Vec<&str> = pkginfo
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect();
            values.join(" ")
        };
        if !value.is_empty() {
            let _ = writeln!(out, "{letter}:{value}");
        }
    }
    for (dir, (owner, files)) in directories(&unit.unpacked.entries) {
        let _ = writeln!(out, "F:{dir}");
        if let Some(owner) = owner.filter(|o| (o.mode, o.uid, o.gid) != (0o755, 0, 0)) {
            let _ = writeln!(out, "M:{}:{}:{:o}", owner.uid, owner.gid, owner.mode);
        }
        for entry in files {
            let name = entry
                .path
                .rsplit_once('/')
                .map_or(entry.path.as_str(), |(_, n)| n);
            let _ = writeln!(out, "R:{name}");
            let owner = entry.owner;
            if !matches!(entry.node, Node::Symlink(_))
                && (owner.mode, owner.uid, owner.gid) != (0o644, 0, 0)
            {
                let _ = writeln!(out, "a:{}:{}:{:o}", owner.uid, owner.gid, owner.mode);
            }
            if let Some(sha1) = file_sha1(unit, entry) {
                let _ = writeln!(out, "Z:{}", q1(&sha1));
            }
        }
    }
    out.push('\n');
    out
}

type Directory<'a> = (Option<boxwright_archive::Owner>, Vec<&'a TreeEntry>);

/// The package's directories in the order they first appear, each with its files.
fn directories(entries: &[TreeEntry]) -> Vec<(String, Directory<'_>)> {
    let mut order: Vec<String> = Vec::new();
    let mut dirs: BTreeMap<String, Directory<'_>> = BTreeMap::new();
    for entry in entries {
        if entry.node == Node::Directory {
            if !dirs.contains_key(&entry.path) {
                order.push(entry.path.clone());
            }
            dirs.entry(entry.path.clone()).or_default().0 = Some(entry.owner);
        } else {
            let dir = parent(&entry.path).unwrap_or("").to_string();
            if !dirs.contains_key(&dir) {
                order.push(dir.clone());
            }
            dirs.entry(dir).or_default().1.push(entry);
        }
    }
    order
        .into_iter()
        .map(|dir| {
            let value = dirs.remove(&dir).unwrap_or_default();
            (dir, value)
        })
        .collect()
}

fn file_sha1(unit: &Unit<'_>, entry: &TreeEntry) -> Option<[u8; 20]> {
    match &entry.node {
        Node::Symlink(target) => Some(sha1::Sha1::digest(target.as_bytes()).into()),
        Node::File(_) | Node::HardLink(_) => unit.unpacked.content(&entry.path).map(|s| s.sha1),
        Node::Directory => None,
    }
}
