//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>), from our own serde structs.
//!
//! `metadata.component` is the subject. `components` holds every target built into it (its
//! downloads as `source-distribution` external references with their hashes, the project's
//! repository as a `vcs` reference), the base image, then one `file` component per regular
//! file with its SHA-1 and SHA-256. `dependencies` says what the subject holds (the targets
//! and the base) and what each target is linked against (`build_depends`); every `dependsOn`
//! names a component of the document.
//!
//! Deterministic: the serial number is a UUID derived from the subject's name and digest,
//! the timestamp is `SOURCE_DATE_EPOCH`'s, lists are in a fixed order.

#![allow(
    clippy::struct_field_names,
    reason = "fields are named after the specification's JSON keys"
)]

use serde::Serialize;

use crate::subject::{PackageInfo, Subject, SubjectKind};
use crate::{DocumentOptions, InstalledPackage, hash};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize, Default)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<License>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

/// A license choice: an SPDX expression.
#[derive(Serialize)]
struct License {
    expression: String,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
struct ExternalReference {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
}

#[derive(Serialize)]
struct Property {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

const SUBJECT_REF: &str = "subject";
const BASE_REF: &str = "base-image";

fn package_ref(name: &str) -> String {
    format!("package:{name}")
}

/// The CycloneDX 1.6 JSON document of `subject` (pretty-printed, ending with a newline).
pub fn write(subject: &Subject, options: &DocumentOptions) -> Vec<u8> {
    let mut components = Vec::new();
    let mut held = Vec::new();
    for package in &subject.packages {
        held.push(package_ref(&package.name));
        components.push(package_component(subject, package));
    }
    for package in &subject.installed {
        let reference = installed_ref(package);
        held.push(reference.clone());
        components.push(installed_component(reference, package));
    }
    if let Some(base) = &subject.base {
        held.push(BASE_REF.into());
        components.push(Component {
            kind: "container",
            bom_ref: Some(BASE_REF.into()),
            name: base.name.clone(),
            version: Some(base.digest.clone()),
            description: Some("base image; its files are among the subject's".into()),
            purl: base.purl.clone(),
            ..Component::default()
        });
    }
    for file in &subject.files {
        components.push(Component {
            kind: "file",
            bom_ref: Some(format!("file:{}", file.path)),
            name: file.path.clone(),
            hashes: vec![
                Hash {
                    alg: "SHA-1",
                    content: file.sha1.clone(),
                },
                Hash {
                    alg: "SHA-256",
                    content: file.sha256.clone(),
                },
            ],
            ..Component::default()
        });
    }
    let mut dependencies = vec![Dependency {
        reference: SUBJECT_REF.into(),
        depends_on: held,
    }];
    for package in &subject.packages {
        dependencies.push(Dependency {
            reference: package_ref(&package.name),
            depends_on: package
                .depends
                .iter()
                .filter(|d| subject.packages.iter().any(|p| &&p.name == d))
                .map(|d| package_ref(d))
                .collect(),
        });
    }
    for package in &subject.installed {
        dependencies.push(Dependency {
            reference: installed_ref(package),
            depends_on: Vec::new(),
        });
    }
    if subject.base.is_some() {
        dependencies.push(Dependency {
            reference: BASE_REF.into(),
            depends_on: Vec::new(),
        });
    }
    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: serial_number(subject),
        version: 1,
        metadata: Metadata {
            timestamp: crate::rfc3339(options.created),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: "boxwright".into(),
                    version: Some(options.tool_version.clone()),
                    ..Component::default()
                }],
            },
            component: subject_component(subject),
        },
        components,
        dependencies,
    };
    crate::to_json(&bom)
}

/// `installed:<name>:<arch>`: unique among the subject's installed packages.
fn installed_ref(package: &InstalledPackage) -> String {
    format!("installed:{}:{}", package.name, package.arch)
}

/// A package the subject's package database lists: purl, license, database checksum.
fn installed_component(reference: String, package: &InstalledPackage) -> Component {
    Component {
        kind: "library",
        bom_ref: Some(reference),
        name: package.name.clone(),
        version: Some(package.version.clone()),
        hashes: package
            .checksum
            .iter()
            .map(|c| Hash {
                alg: match c.algorithm {
                    "SHA1" => "SHA-1",
                    _ => "SHA-256",
                },
                content: c.value.clone(),
            })
            .collect(),
        licenses: package
            .license
            .iter()
            .map(|l| License {
                expression: l.clone(),
            })
            .collect(),
        purl: Some(package.purl.clone()),
        properties: vec![Property {
            name: "boxwright:package:arch".into(),
            value: package.arch.clone(),
        }],
        ..Component::default()
    }
}

/// A target built into the subject: its downloads as source distributions with their hashes,
/// the project's repository as `vcs`.
fn package_component(subject: &Subject, package: &PackageInfo) -> Component {
    let mut external_references = Vec::new();
    let mut properties = Vec::new();
    for download in &package.downloads {
        let mut hashes = Vec::new();
        if let Some(sha256) = &download.sha256 {
            hashes.push(Hash {
                alg: "SHA-256",
                content: sha256.clone(),
            });
        }
        if let Some(sha512) = &download.sha512 {
            hashes.push(Hash {
                alg: "SHA-512",
                content: sha512.clone(),
            });
        }
        if let Some(url) = &download.url {
            external_references.push(ExternalReference {
                kind: "source-distribution",
                url: url.clone(),
                comment: Some(download.name.clone()),
                hashes,
            });
        } else {
            // Nothing of the URL may be published: the file name and digest still are.
            for hash in hashes {
                properties.push(Property {
                    name: format!("boxwright:download:{}:{}", download.name, hash.alg),
                    value: hash.content,
                });
            }
        }
    }
    if let Some(source) = &subject.source
        && let Some(url) = &source.url
    {
        external_references.push(ExternalReference {
            kind: "vcs",
            url: url.clone(),
            comment: source.revision.as_ref().map(|r| format!("commit {r}")),
            hashes: Vec::new(),
        });
    }
    Component {
        kind: if package.library {
            "library"
        } else {
            "application"
        },
        bom_ref: Some(package_ref(&package.name)),
        name: package.name.clone(),
        version: package.version.clone(),
        purl: package.purl.clone(),
        external_references,
        properties,
        ..Component::default()
    }
}

fn subject_component(subject: &Subject) -> Component {
    let mut hashes = Vec::new();
    if matches!(subject.kind, SubjectKind::Rootfs | SubjectKind::Archive) {
        hashes.push(Hash {
            alg: "SHA-256",
            content: subject.digest_hex().to_string(),
        });
    }
    let mut properties = vec![
        Property {
            name: "boxwright:subject-kind".into(),
            value: subject.kind.as_str().into(),
        },
        Property {
            name: "boxwright:digest".into(),
            value: subject.digest.clone(),
        },
    ];
    if let Some(platform) = &subject.platform {
        properties.push(Property {
            name: "boxwright:platform".into(),
            value: platform.clone(),
        });
    }
    Component {
        kind: match subject.kind {
            SubjectKind::TargetOutput => "application",
            SubjectKind::OciImage => "container",
            SubjectKind::Rootfs | SubjectKind::Archive => "file",
        },
        bom_ref: Some(SUBJECT_REF.into()),
        name: subject.name.clone(),
        version: subject.version.clone(),
        hashes,
        purl: subject.purl.clone(),
        properties,
        ..Component::default()
    }
}

/// `urn:uuid:` of a name-based UUID (the version 5 layout, over SHA-256 rather than SHA-1) of
/// the subject's name and digest.
pub fn serial_number(subject: &Subject) -> String {
    let mut bytes = hash::sha256_raw(
        format!("boxwright-cyclonedx\0{}\0{}", subject.name, subject.digest).as_bytes(),
    );
    // Version 5, RFC 4122 variant.
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(&bytes[..16]);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
