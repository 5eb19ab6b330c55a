//! Packages a distribution's package database says are installed in a filesystem: dpkg's
//! `var/lib/dpkg/status` (paragraphs with `Status: install ok installed`) and apk's
//! `lib/apk/db/installed`, with the distribution from `etc/os-release` (`ID`, `VERSION_ID`).
//!
//! Licenses: apk's `L:`; Debian's `License:` fields of `usr/share/doc/<package>/copyright`
//! when it is machine-readable (DEP-5, a `Format:` naming `copyright-format`), else none
//! (`NOASSERTION` in the documents). Checksums: apk's `C:` (`Q1` + base64 of the SHA-1 of
//! the package's control member; `Q2`: SHA-256); dpkg's status has none.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde::Serialize;

use crate::{Error, FileEntry, purl};

/// dpkg's database of installed packages.
pub const DPKG_STATUS: &str = "var/lib/dpkg/status";
/// apk's database of installed packages.
pub const APK_INSTALLED: &str = "lib/apk/db/installed";
const OS_RELEASE: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];
/// The largest database file read (Debian's status for a full desktop is about 10 MiB).
pub const MAX_DATABASE: u64 = 64 << 20;
/// The largest copyright file read.
pub const MAX_COPYRIGHT: u64 = 1 << 20;

/// A package installed in the subject's filesystem, as its package database lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledPackage {
    pub name: String,
    pub version: String,
    /// As the database writes it (`amd64`, `all`; `x86_64`, `noarch`).
    pub arch: String,
    /// `pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12`, `pkg:apk/alpine/...`.
    pub purl: String,
    /// An SPDX-style license expression, when the database or the copyright file says one.
    pub license: Option<String>,
    pub checksum: Option<PackageChecksum>,
}

/// A package's checksum from its database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChecksum {
    /// `SHA1`, `SHA256`.
    pub algorithm: &'static str,
    /// Hex.
    pub value: String,
}

/// The paths whose contents [`read`] needs, among `files`: the databases present, the
/// os-release files and, with a dpkg database, every `usr/share/doc/*/copyright`. Empty
/// when there is no database (nothing more is read then).
pub fn wanted(files: &[FileEntry]) -> BTreeMap<String, u64> {
    let has = |path: &str| files.iter().any(|f| f.path == path);
    let dpkg = has(DPKG_STATUS);
    if !dpkg && !has(APK_INSTALLED) {
        return BTreeMap::new();
    }
    files
        .iter()
        .filter_map(|f| {
            let limit = if f.path == DPKG_STATUS || f.path == APK_INSTALLED {
                MAX_DATABASE
            } else if OS_RELEASE.contains(&f.path.as_str()) || (dpkg && is_copyright(&f.path)) {
                MAX_COPYRIGHT
            } else {
                return None;
            };
            (f.size <= limit).then(|| (f.path.clone(), f.size))
        })
        .collect()
}

fn is_copyright(path: &str) -> bool {
    path.strip_prefix("usr/share/doc/")
        .and_then(|rest| rest.strip_suffix("/copyright"))
        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// The installed packages the databases among `contents` (path → bytes, see [`wanted`])
/// list, sorted by name and architecture.
pub fn read(contents: &BTreeMap<String, Vec<u8>>) -> Result<Vec<InstalledPackage>, Error> {
    let os = OS_RELEASE
        .iter()
        .find_map(|p| contents.get(*p))
        .map(|bytes| os_release(&String::from_utf8_lossy(bytes)))
        .unwrap_or_default();
    let mut packages = Vec::new();
    if let Some(status) = contents.get(DPKG_STATUS) {
        packages.extend(dpkg(status, &os, contents)?);
    }
    if let Some(installed) = contents.get(APK_INSTALLED) {
        packages.extend(apk(installed, &os)?);
    }
    packages.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
    packages.dedup_by(|a, b| a.name == b.name && a.arch == b.arch);
    Ok(packages)
}

/// `ID` and `VERSION_ID` of an os-release file (values unquoted).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct OsRelease {
    id: Option<String>,
    version_id: Option<String>,
}

fn os_release(text: &str) -> OsRelease {
    let mut os = OsRelease::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches(['"', '\'']).to_string();
        match key.trim() {
            "ID" if !value.is_empty() => os.id = Some(value),
            "VERSION_ID" if !value.is_empty() => os.version_id = Some(value),
            _ => {}
        }
    }
    os
}

fn database_error(path: &str, reason: impl Into<String>) -> Error {
    Error::PackageDatabase {
        path: path.to_string(),
        reason: reason.into(),
    }
}

fn dpkg(
    status: &[u8],
    os: &OsRelease,
    contents: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<InstalledPackage>, Error> {
    let text = std::str::from_utf8(status).map_err(|_| database_error(DPKG_STATUS, "not UTF-8"))?;
    let paragraphs = boxwright_distro::deb822::parse(text, DPKG_STATUS)
        .map_err(|e| database_error(DPKG_STATUS, e.to_string()))?;
    let namespace = os.id.as_deref().unwrap_or("debian");
    let distro = os
        .id
        .as_deref()
        .zip(os.version_id.as_deref())
        .map(|(id, version)| format!("{id}-{version}"));
    let mut out = Vec::new();
    for paragraph in paragraphs {
        let installed = paragraph
            .get("Status")
            .is_some_and(|s| s.split_whitespace().eq(["install", "ok", "installed"]));
        let (Some(name), Some(version), true) = (
            paragraph.get("Package"),
            paragraph.get("Version"),
            installed,
        ) else {
            continue;
        };
        let arch = paragraph.get("Architecture").unwrap_or_default();
        let mut qualifiers = vec![("arch", arch.to_string())];
        if let Some(distro) = &distro {
            qualifiers.push(("distro", distro.clone()));
        }
        let license = contents
            .get(&format!("usr/share/doc/{name}/copyright"))
            .and_then(|bytes| copyright_license(&String::from_utf8_lossy(bytes)));
        out.push(InstalledPackage {
            purl: purl::distribution("deb", namespace, name, version, &qualifiers),
            name: name.to_string(),
            version: version.to_string(),
            arch: arch.to_string(),
            license,
            checksum: None,
        });
    }
    Ok(out)
}

/// The licenses of a machine-readable Debian copyright file, joined with `AND`.
fn copyright_license(text: &str) -> Option<String> {
    let paragraphs = boxwright_distro::deb822::parse(text, "copyright").ok()?;
    let format = paragraphs.first()?.get("Format")?;
    if !format.contains("copyright-format") {
        return None;
    }
    let mut seen = BTreeSet::new();
    let mut licenses = Vec::new();
    for paragraph in &paragraphs {
        let Some(value) = paragraph.get("License") else {
            continue;
        };
        let short = value.lines().next().unwrap_or_default().trim();
        let expression = license_expression(short)?;
        if seen.insert(expression.clone()) {
            licenses.push(expression);
        }
    }
    match licenses.len() {
        0 => None,
        1 => licenses.pop(),
        _ => Some(
            licenses
                .iter()
                .map(|l| {
                    if l.contains(' ') {
                        format!("({l})")
                    } else {
                        l.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

/// A license text in the shape of an SPDX expression (`GPL-2+ or Artistic` → `GPL-2+ OR
/// Artistic`), or `None` when it has characters an expression cannot hold.
fn license_expression(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .replace(',', " ")
        .split_whitespace()
        .map(|w| match w {
            "or" | "OR" => "OR".to_string(),
            "and" | "AND" => "AND".to_string(),
            "with" | "WITH" => "WITH".to_string(),
            other => debian_to_spdx(other),
        })
        .collect();
    let valid = !words.is_empty()
        && words.iter().all(|w| {
            w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.+()".contains(&b))
        });
    valid.then(|| words.join(" "))
}

/// Debian's short license names (DEP-5) as SPDX identifiers where they differ
/// (`GPL-2+` → `GPL-2.0-or-later`, `Expat` → `MIT`); other names unchanged.
fn debian_to_spdx(name: &str) -> String {
    let (base, later) = name.strip_suffix('+').map_or((name, false), |b| (b, true));
    let gnu = ["GPL", "LGPL", "AGPL", "GFDL"].iter().find_map(|family| {
        let version = base.strip_prefix(family)?.strip_prefix('-')?;
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        let version = if version.contains('.') {
            version.to_string()
        } else {
            format!("{version}.0")
        };
        Some(format!(
            "{family}-{version}-{}",
            if later { "or-later" } else { "only" }
        ))
    });
    if let Some(spdx) = gnu.filter(|_| !base.ends_with("-only") && !base.ends_with("-or-later")) {
        return spdx;
    }
    match name {
        "Expat" => "MIT".into(),
        "BSD-2-clause" => "BSD-2-Clause".into(),
        "BSD-3-clause" => "BSD-3-Clause".into(),
        "BSD-4-clause" => "BSD-4-Clause".into(),
        "Artistic" => "Artistic-1.0-Perl".into(),
        "MPL-2.0" | "Apache-2.0" | "Zlib" | "ISC" => name.into(),
        other => other.into(),
    }
}

fn apk(installed: &[u8], os: &OsRelease) -> Result<Vec<InstalledPackage>, Error> {
    let text =
        std::str::from_utf8(installed).map_err(|_| database_error(APK_INSTALLED, "not UTF-8"))?;
    let namespace = os.id.as_deref().unwrap_or("alpine");
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for line in block.lines() {
            if let Some((key, value)) = line.split_once(':') {
                fields.entry(key).or_insert(value);
            }
        }
        let (Some(name), Some(version)) = (fields.get("P"), fields.get("V")) else {
            if fields.is_empty() {
                continue;
            }
            return Err(database_error(
                APK_INSTALLED,
                format!("a package without `P:` or `V:` ({} fields)", fields.len()),
            ));
        };
        let arch = fields.get("A").copied().unwrap_or_default();
        out.push(InstalledPackage {
            purl: purl::distribution("apk", namespace, name, version, &[("arch", arch.into())]),
            name: (*name).to_string(),
            version: (*version).to_string(),
            arch: arch.to_string(),
            license: fields.get("L").and_then(|l| license_expression(l)),
            checksum: fields.get("C").and_then(|c| apk_checksum(c)),
        });
    }
    Ok(out)
}

/// `Q1<base64>` → SHA-1, `Q2<base64>` → SHA-256 (hex).
fn apk_checksum(text: &str) -> Option<PackageChecksum> {
    let (algorithm, length, encoded) = match text.get(..2)? {
        "Q1" => ("SHA1", 20, &text[2..]),
        "Q2" => ("SHA256", 32, &text[2..]),
        _ => return None,
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    (bytes.len() == length).then(|| PackageChecksum {
        algorithm,
        value: hex::encode(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64) -> FileEntry {
        FileEntry {
            path: path.into(),
            sha256: String::new(),
            sha1: String::new(),
            size,
        }
    }

    const STATUS: &str = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n\
Multi-Arch: same\nVersion: 2.36-9+deb12u9\nDescription: GNU C Library\n long text\n\n\
Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n\n\
Package: busybox-static\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.35.0-4+b3\n";

    const COPYRIGHT: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: glibc\n\nFiles: *\nCopyright: FSF\nLicense: LGPL-2.1+\n\n\
Files: debian/*\nCopyright: Debian\nLicense: GPL-2+ or Artistic\n\n\
License: LGPL-2.1+\n On Debian systems, see /usr/share/common-licenses.\n";

    #[test]
    fn dpkg_status_gives_installed_packages_with_distribution_purls() {
        let contents = BTreeMap::from([
            (DPKG_STATUS.to_string(), STATUS.as_bytes().to_vec()),
            (
                "usr/lib/os-release".to_string(),
                b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
                    .to_vec(),
            ),
            (
                "usr/share/doc/libc6/copyright".to_string(),
                COPYRIGHT.as_bytes().to_vec(),
            ),
            (
                "usr/share/doc/busybox-static/copyright".to_string(),
                b"This is busybox, written by ...\n".to_vec(),
            ),
        ]);
        let packages = read(&contents).unwrap();
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["busybox-static", "libc6"]);
        assert_eq!(
            packages[0].purl,
            "pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bb3?arch=amd64&distro=debian-12"
        );
        assert_eq!(packages[0].license, None);
        assert_eq!(
            packages[1].purl,
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            packages[1].license.as_deref(),
            Some("LGPL-2.1-or-later AND (GPL-2.0-or-later OR Artistic-1.0-Perl)")
        );
        assert_eq!(packages[1].checksum, None);
    }

    #[test]
    fn apk_database_gives_licenses_and_checksums() {
        let installed = "C:Q1p8Dh0mEJhL1kOYe5BRlBWmtN9Xo=\nP:busybox\nV:1.36.1-r29\nA:x86_64\n\
L:GPL-2.0-only\nF:bin\nR:busybox\nZ:Q1abc=\n\nC:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:musl\n\
V:1.2.5-r0\nA:x86_64\nL:MIT\n\n";
        let contents = BTreeMap::from([
            (APK_INSTALLED.to_string(), installed.as_bytes().to_vec()),
            (
                "etc/os-release".to_string(),
                b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n".to_vec(),
            ),
        ]);
        let packages = read(&contents).unwrap();
        assert_eq!(packages.len(), 2);
        assert_eq!(
            packages[0].purl,
            "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64"
        );
        assert_eq!(packages[0].license.as_deref(), Some("GPL-2.0-only"));
        let checksum = packages[0].checksum.as_ref().unwrap();
        assert_eq!(checksum.algorithm, "SHA1");
        assert_eq!(checksum.value, "a7c0e1d2610984bd643987b90519415a6b4df57a");
        assert_eq!(packages[1].name, "musl");
        let error = read(&BTreeMap::from([(
            APK_INSTALLED.to_string(),
            b"P:x\nA:y\n".to_vec(),
        )]))
        .unwrap_err();
        assert!(error.to_string().contains(APK_INSTALLED), "{error}");
    }

    #[test]
    fn only_images_with_a_database_want_more_reading() {
        let plain = [entry("bin/sh", 10), entry("etc/os-release", 100)];
        assert!(wanted(&plain).is_empty());
        let debian = [
            entry(DPKG_STATUS, 1000),
            entry("etc/os-release", 100),
            entry("usr/share/doc/libc6/copyright", 50),
            entry("usr/share/doc/libc6/changelog.gz", 50),
            entry("usr/share/doc/x/copyright", MAX_COPYRIGHT + 1),
        ];
        let paths: Vec<String> = wanted(&debian).into_keys().collect();
        assert_eq!(
            paths,
            [
                "etc/os-release",
                "usr/share/doc/libc6/copyright",
                DPKG_STATUS
            ]
        );
    }
}
