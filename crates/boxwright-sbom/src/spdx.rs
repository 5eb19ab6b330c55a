//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>), from our own serde structs.
//!
//! The document DESCRIBES one package, the subject. The subject CONTAINS every target built
//! into it, its base image and its files; each target is GENERATED_FROM one package per
//! download (its URL as `downloadLocation`, its SHA-256/SHA-512 as checksums) and has a
//! STATIC_LINK to each of its `build_depends`. Files carry SHA-256 and the SHA-1 SPDX 2.3
//! requires; the subject's `packageVerificationCode` is computed from those SHA-1s.
//!
//! Deterministic: the namespace is derived from the subject's name and digest, `created` from
//! `SOURCE_DATE_EPOCH`; every list is in a fixed order (files by path, packages by name).

#![allow(
    clippy::struct_field_names,
    reason = "fields are named after the specification's JSON keys"
)]

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::subject::{DownloadInfo, Subject, SubjectKind};
use crate::{DocumentOptions, InstalledPackage, hash};

/// The namespace prefix of every document (`<prefix>/<name>-<hex digest>`).
pub const NAMESPACE_PREFIX: &str = "https://boxwright.invalid/spdx";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<Package>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<File>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

/// A license named in the document that is not on the SPDX list (`LicenseRef-…`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: String,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_verification_code: Option<VerificationCode>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_concluded: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_declared: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerificationCode {
    package_verification_code_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    file_name: String,
    checksums: Vec<Checksum>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

impl Relationship {
    fn new(from: &str, kind: &'static str, to: &str) -> Self {
        Relationship {
            spdx_element_id: from.to_string(),
            relationship_type: kind,
            related_spdx_element: to.to_string(),
        }
    }
}

const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";
const SUBJECT_ID: &str = "SPDXRef-Subject";
const BASE_ID: &str = "SPDXRef-Base";
const NOASSERTION: &str = "NOASSERTION";

/// The SPDX 2.3 JSON document of `subject` (pretty-printed, ending with a newline).
pub fn write(subject: &Subject, options: &DocumentOptions) -> Vec<u8> {
    let mut ids = Ids::default();
    let mut packages = vec![subject_package(subject)];
    let mut relationships = vec![Relationship::new(DOCUMENT_ID, "DESCRIBES", SUBJECT_ID)];
    let package_ids: Vec<String> = subject
        .packages
        .iter()
        .map(|p| ids.unique(&format!("SPDXRef-Package-{}", id_part(&p.name))))
        .collect();
    for (package, id) in subject.packages.iter().zip(&package_ids) {
        relationships.push(Relationship::new(SUBJECT_ID, "CONTAINS", id));
        packages.push(Package {
            spdx_id: id.clone(),
            name: package.name.clone(),
            version_info: package.version.clone(),
            download_location: NOASSERTION.into(),
            files_analyzed: false,
            package_verification_code: None,
            checksums: Vec::new(),
            source_info: source_info(subject),
            primary_package_purpose: if package.library {
                "LIBRARY"
            } else {
                "APPLICATION"
            },
            external_refs: purl_ref(package.purl.as_deref()),
            comment: None,
            license_concluded: None,
            license_declared: None,
        });
    }
    if let Some(base) = &subject.base {
        relationships.push(Relationship::new(SUBJECT_ID, "CONTAINS", BASE_ID));
        packages.push(Package {
            spdx_id: BASE_ID.into(),
            name: base.name.clone(),
            version_info: Some(base.digest.clone()),
            download_location: NOASSERTION.into(),
            files_analyzed: false,
            package_verification_code: None,
            checksums: Vec::new(),
            source_info: None,
            primary_package_purpose: "CONTAINER",
            external_refs: purl_ref(base.purl.as_deref()),
            comment: Some(format!(
                "base image; manifest digest {}; its files are among the subject's",
                base.digest
            )),
            license_concluded: None,
            license_declared: None,
        });
    }
    for (package, id) in subject.packages.iter().zip(&package_ids) {
        for (n, download) in package.downloads.iter().enumerate() {
            let source_id = ids.unique(&format!(
                "SPDXRef-Source-{}-{}",
                id_part(&package.name),
                n + 1
            ));
            relationships.push(Relationship::new(id, "GENERATED_FROM", &source_id));
            packages.push(source_package(source_id, package.version.clone(), download));
        }
        for dependency in &package.depends {
            if let Some(i) = subject.packages.iter().position(|p| &p.name == dependency) {
                relationships.push(Relationship::new(id, "STATIC_LINK", &package_ids[i]));
            }
        }
    }
    let extracted = push_installed(subject, &mut ids, &mut packages, &mut relationships);
    let files = file_elements(subject);
    for file in &files {
        relationships.push(Relationship::new(SUBJECT_ID, "CONTAINS", &file.spdx_id));
    }
    let document = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: DOCUMENT_ID,
        name: subject.name.clone(),
        document_namespace: namespace(subject),
        creation_info: CreationInfo {
            created: crate::rfc3339(options.created),
            creators: vec![format!("Tool: boxwright-{}", options.tool_version)],
        },
        packages,
        files,
        relationships,
        has_extracted_licensing_infos: extracted,
    };
    crate::to_json(&document)
}

/// `https://boxwright.invalid/spdx/<name>-<hex digest>`: the same subject always gets the same
/// namespace, a different digest a different one.
pub fn namespace(subject: &Subject) -> String {
    format!(
        "{NAMESPACE_PREFIX}/{}-{}",
        id_part(&subject.name),
        subject.digest_hex()
    )
}

fn subject_package(subject: &Subject) -> Package {
    let analysed = !subject.files.is_empty();
    let verification = analysed.then(|| {
        let mut sha1s: Vec<&str> = subject.files.iter().map(|f| f.sha1.as_str()).collect();
        sha1s.sort_unstable();
        VerificationCode {
            package_verification_code_value: hash::sha1_bytes(sha1s.concat().as_bytes()),
        }
    });
    let file_digest = matches!(subject.kind, SubjectKind::Rootfs | SubjectKind::Archive);
    let checksums = if file_digest {
        vec![Checksum {
            algorithm: "SHA256",
            checksum_value: subject.digest_hex().to_string(),
        }]
    } else {
        Vec::new()
    };
    let comment = match subject.kind {
        SubjectKind::TargetOutput => format!(
            "{}; output tree digest {} (as in the build record)",
            subject.kind.as_str(),
            subject.digest
        ),
        SubjectKind::OciImage => format!(
            "{}; manifest digest {}{}",
            subject.kind.as_str(),
            subject.digest,
            subject
                .platform
                .as_ref()
                .map(|p| format!("; platform {p}"))
                .unwrap_or_default()
        ),
        SubjectKind::Rootfs | SubjectKind::Archive => subject.kind.as_str().to_string(),
    };
    Package {
        spdx_id: SUBJECT_ID.into(),
        name: subject.name.clone(),
        version_info: subject.version.clone(),
        download_location: NOASSERTION.into(),
        files_analyzed: analysed,
        package_verification_code: verification,
        checksums,
        source_info: source_info(subject),
        primary_package_purpose: match subject.kind {
            SubjectKind::TargetOutput => "INSTALL",
            SubjectKind::OciImage => "CONTAINER",
            SubjectKind::Rootfs | SubjectKind::Archive => "ARCHIVE",
        },
        external_refs: purl_ref(subject.purl.as_deref()),
        comment: Some(comment),
        license_concluded: None,
        license_declared: None,
    }
}

fn source_package(spdx_id: String, version: Option<String>, download: &DownloadInfo) -> Package {
    let mut checksums = Vec::new();
    if let Some(sha256) = &download.sha256 {
        checksums.push(Checksum {
            algorithm: "SHA256",
            checksum_value: sha256.clone(),
        });
    }
    if let Some(sha512) = &download.sha512 {
        checksums.push(Checksum {
            algorithm: "SHA512",
            checksum_value: sha512.clone(),
        });
    }
    let location = download
        .url
        .as_deref()
        .filter(|url| is_network_location(url));
    Package {
        spdx_id,
        name: download.name.clone(),
        version_info: version,
        download_location: location.unwrap_or(NOASSERTION).to_string(),
        files_analyzed: false,
        package_verification_code: None,
        checksums,
        source_info: None,
        primary_package_purpose: "SOURCE",
        external_refs: Vec::new(),
        // A URL that is not a network location (`file:` in the project, a loopback
        // address) is still worth knowing.
        comment: match (&download.url, location) {
            (Some(url), None) => Some(format!("downloaded from {url}")),
            _ => None,
        },
        license_concluded: None,
        license_declared: None,
    }
}

fn source_info(subject: &Subject) -> Option<String> {
    let source = subject.source.as_ref()?;
    match (&source.url, &source.revision) {
        (Some(url), Some(revision)) => Some(format!("built from {url} at commit {revision}")),
        (Some(url), None) => Some(format!("built from {url}")),
        (None, Some(revision)) => Some(format!("built from commit {revision}")),
        (None, None) => None,
    }
}

/// The installed packages as packages the subject CONTAINS; returns the licenses their
/// expressions name that are not on the SPDX list.
fn push_installed(
    subject: &Subject,
    ids: &mut Ids,
    packages: &mut Vec<Package>,
    relationships: &mut Vec<Relationship>,
) -> Vec<ExtractedLicense> {
    let mut license_refs = BTreeMap::new();
    for package in &subject.installed {
        let id = ids.unique(&format!(
            "SPDXRef-Installed-{}-{}",
            id_part(&package.name),
            id_part(&package.arch)
        ));
        relationships.push(Relationship::new(SUBJECT_ID, "CONTAINS", &id));
        packages.push(installed_package(id, package, &mut license_refs));
    }
    license_refs
        .into_iter()
        .map(|(license_id, name)| ExtractedLicense {
            extracted_text: format!("the license its package database calls {name}"),
            license_id,
            name,
        })
        .collect()
}

/// The subject's files with their SHA-1 and SHA-256.
fn file_elements(subject: &Subject) -> Vec<File> {
    subject
        .files
        .iter()
        .enumerate()
        .map(|(i, file)| File {
            spdx_id: format!("SPDXRef-File-{}", i + 1),
            file_name: format!("./{}", file.path),
            checksums: vec![
                Checksum {
                    algorithm: "SHA1",
                    checksum_value: file.sha1.clone(),
                },
                Checksum {
                    algorithm: "SHA256",
                    checksum_value: file.sha256.clone(),
                },
            ],
        })
        .collect()
}

/// A package the subject's package database lists: its purl, its database checksum, its
/// license as declared (none known: `NOASSERTION`).
fn installed_package(
    spdx_id: String,
    package: &InstalledPackage,
    license_refs: &mut BTreeMap<String, String>,
) -> Package {
    Package {
        spdx_id,
        name: package.name.clone(),
        version_info: Some(package.version.clone()),
        download_location: NOASSERTION.into(),
        files_analyzed: false,
        package_verification_code: None,
        checksums: package
            .checksum
            .iter()
            .map(|c| Checksum {
                algorithm: c.algorithm,
                checksum_value: c.value.clone(),
            })
            .collect(),
        source_info: None,
        primary_package_purpose: "LIBRARY",
        external_refs: purl_ref(Some(&package.purl)),
        comment: Some(format!("installed ({})", package.arch)),
        license_concluded: Some(NOASSERTION.into()),
        license_declared: Some(package.license.as_deref().map_or_else(
            || NOASSERTION.into(),
            |expression| spdx_expression(expression, license_refs),
        )),
    }
}

/// SPDX license identifiers boxwright writes as they are; any other name in an installed
/// package's license becomes `LicenseRef-<name>`, declared in `hasExtractedLicensingInfos`,
/// so the document stays valid whatever a package database says.
const LISTED_LICENSES: &[&str] = &[
    "0BSD",
    "AFL-2.1",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "BSL-1.0",
    "bzip2-1.0.6",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "curl",
    "EPL-1.0",
    "EPL-2.0",
    "FTL",
    "GFDL-1.2-only",
    "GFDL-1.2-or-later",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-1.0-only",
    "GPL-1.0-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ICU",
    "IJG",
    "ISC",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Libpng",
    "libtiff",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "NCSA",
    "OFL-1.1",
    "OpenSSL",
    "PHP-3.01",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Ruby",
    "Sleepycat",
    "TCL",
    "Unicode-DFS-2016",
    "Unlicense",
    "Vim",
    "W3C",
    "X11",
    "Zlib",
    "ZPL-2.1",
    "Classpath-exception-2.0",
    "GCC-exception-3.1",
    "LLVM-exception",
    "OpenSSL-exception",
    "Autoconf-exception-3.0",
    "Bison-exception-2.2",
];

/// `expression` with every identifier not in [`LISTED_LICENSES`] as `LicenseRef-<name>`
/// (recorded in `refs`: id → original name).
fn spdx_expression(expression: &str, refs: &mut BTreeMap<String, String>) -> String {
    let spaced = expression.replace('(', " ( ").replace(')', " ) ");
    let mut out: Vec<String> = Vec::new();
    for token in spaced.split_whitespace() {
        let mapped = match token {
            "AND" | "OR" | "WITH" | "(" | ")" => token.to_string(),
            id if LISTED_LICENSES.contains(&id) => id.to_string(),
            other => {
                let clean: String = other
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect();
                let id = format!("LicenseRef-{clean}");
                refs.insert(id.clone(), other.to_string());
                id
            }
        };
        out.push(mapped);
    }
    out.join(" ").replace("( ", "(").replace(" )", ")")
}

fn purl_ref(purl: Option<&str>) -> Vec<ExternalRef> {
    purl.map(|locator| ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_type: "purl",
        reference_locator: locator.to_string(),
    })
    .into_iter()
    .collect()
}

/// An `http(s)://` URL on a DNS name (what SPDX's `downloadLocation` means by a URL; the
/// reference validator refuses IP addresses and `file:` URLs there).
fn is_network_location(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    let Some((_, top)) = host.rsplit_once('.') else {
        return false;
    };
    top.len() >= 2 && top.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Letters, digits, `.` and `-` (what an SPDX id may hold); anything else becomes `-`.
fn id_part(text: &str) -> String {
    let part: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if part.is_empty() { "-".into() } else { part }
}

/// Hands out ids, making repeated ones unique with a numeric suffix.
#[derive(Default)]
struct Ids {
    used: BTreeSet<String>,
}

impl Ids {
    fn unique(&mut self, wanted: &str) -> String {
        let mut id = wanted.to_string();
        let mut n = 2;
        while !self.used.insert(id.clone()) {
            id = format!("{wanted}-{n}");
            n += 1;
        }
        id
    }
}
