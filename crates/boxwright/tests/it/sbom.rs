//! `sbom` and `provenance` on every kind of subject the example project's `hello` gives: its
//! output directory, an OCI layout, an oci-archive, a rootfs tarball and a release archive
//! (registry references are in `registry::sbom`). Every SPDX document goes through
//! spdx-tools' `pyspdxtools`, every CycloneDX document through cyclonedx-python-lib's strict
//! 1.6 schema validator plus checks the schema lets through (`specVersion`, dangling
//! `dependsOn`); file digests are checked against coreutils on the files GNU tar extracts.
//!
//! Needs what `build` needs for the example targets, and the checkers in the checkout's
//! `.venv-tools` (scripts/setup.sh installs them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{
    TestProject, assert_success, coreutils_digest, example_project, sha256_hex, tools_for_examples,
};

// ---------------------------------------------------------------------------------------------
// The checkers

/// A tool of the checkout's `.venv-tools`; fails the test with the install hint when missing.
pub fn venv_tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv-tools/bin")
        .join(name);
    assert!(
        path.is_file(),
        "this test needs {} (run scripts/setup.sh, or: python3 -m venv .venv-tools && \
         .venv-tools/bin/pip install spdx-tools 'cyclonedx-python-lib[json-validation]')",
        path.display()
    );
    path
}

/// The cyclonedx-python-lib check: the strict 1.6 schema, `specVersion`, and every `ref` and
/// `dependsOn` naming a `bom-ref` of the document. Prints `ok` or the problems, exits 1.
const CYCLONEDX_CHECK: &str = r#"
import json, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
text = open(sys.argv[1]).read()
problems = []
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
if error is not None:
    problems.append(f"schema: {error}")
bom = json.loads(text)
if bom.get("specVersion") != "1.6":
    problems.append(f"specVersion {bom.get('specVersion')!r}")
refs = set()
def collect(component):
    if "bom-ref" in component:
        refs.add(component["bom-ref"])
    for child in component.get("components", []):
        collect(child)
collect(bom.get("metadata", {}).get("component", {}))
for component in bom.get("components", []):
    collect(component)
for dependency in bom.get("dependencies", []):
    for ref in [dependency["ref"]] + dependency.get("dependsOn", []):
        if ref not in refs:
            problems.append(f"dangling ref {ref!r}")
print("\n".join(problems) or "ok")
sys.exit(1 if problems else 0)
"#;

fn checker(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"))
}

/// Whether pyspdxtools accepts the file (exit 0; 1 for an invalid document).
fn spdx_valid(path: &Path) -> Result<(), String> {
    let out = checker(Command::new(venv_tool("pyspdxtools")).arg("-i").arg(path));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn cyclonedx_valid(path: &Path) -> Result<(), String> {
    let out = checker(
        Command::new(venv_tool("python"))
            .args(["-c", CYCLONEDX_CHECK])
            .arg(path),
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// What a document of `format` is called: pyspdxtools tells formats by the file name.
pub fn file_suffix(format: &str) -> &'static str {
    match format {
        "spdx-json" => "spdx.json",
        _ => "cdx.json",
    }
}

/// Checks the document at `path` with the checker of `format`.
pub fn assert_valid(format: &str, path: &Path) {
    let result = match format {
        "spdx-json" => spdx_valid(path),
        "cyclonedx-json" => cyclonedx_valid(path),
        other => panic!("unknown format {other}"),
    };
    if let Err(problems) = result {
        panic!(
            "{} is not valid {format}:\n{problems}\n{}",
            path.display(),
            std::fs::read_to_string(path).unwrap_or_default()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The subjects

/// The example project with `hello` built, as an OCI layout, an oci-archive, a rootfs tarball
/// and a release archive. Returns the project and the subjects by kind.
fn hello_subjects() -> (TestProject, Vec<(&'static str, String)>) {
    tools_for_examples();
    let project = example_project();
    let run = |args: &[&str]| assert_success(&project.boxwright().args(args).output().unwrap());
    run(&["build", "hello"]);
    let path = |name: &str| project.path().join(name).to_string_lossy().into_owned();
    run(&[
        "image",
        "build",
        "hello",
        "--format",
        "oci",
        "-o",
        &path("hello-oci"),
    ]);
    run(&[
        "image",
        "build",
        "hello",
        "--format",
        "oci-archive",
        "-o",
        &path("hello.oci.tar"),
    ]);
    run(&[
        "image",
        "build",
        "hello",
        "--format",
        "rootfs",
        "-o",
        &path("rootfs.tar.gz"),
    ]);
    run(&[
        "release",
        "package",
        "hello-1.0.0.0",
        "-o",
        &path("release"),
    ]);
    let subjects = vec![
        ("target-output", "hello".to_string()),
        ("oci-image", path("hello-oci")),
        ("oci-image", path("hello.oci.tar")),
        ("rootfs", path("rootfs.tar.gz")),
        ("archive", path("release/hello-1.0.0.0.tar.gz")),
    ];
    (project, subjects)
}

/// `boxwright ARGS` in the project; its stdout after asserting success.
fn stdout_of(project: &TestProject, args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let mut command = project.boxwright();
    for name in ["GITHUB_ACTIONS", "GITLAB_CI"] {
        command.env_remove(name);
    }
    command.args(args).envs(env.iter().copied());
    let out = command.output().unwrap();
    assert_success(&out);
    out.stdout
}

fn sbom(project: &TestProject, subject: &str, format: &str) -> Vec<u8> {
    stdout_of(project, &["sbom", subject, "--format", format], &[])
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// SHA-256 of every regular file GNU tar extracts from `tarball`, by relative path.
fn extracted_digests(tarball: &Path) -> BTreeMap<String, (String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("tar")
        .arg("-xf")
        .arg(tarball)
        .arg("-C")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_success(&out);
    let mut digests = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir.path()) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            let relative = entry.path().strip_prefix(dir.path()).unwrap();
            digests.insert(
                relative.to_string_lossy().into_owned(),
                (sha256_hex(&bytes), coreutils_digest("sha1sum", &bytes)),
            );
        }
    }
    digests
}

const HELLO_SHA256: &str = "e2912cbf58909862c7fdce45b5d19cd74cf87d91fe72182cafb0074dbba74a65";

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn every_subject_kind_gives_valid_spdx_and_cyclonedx_without_host_paths() {
    let (project, subjects) = hello_subjects();
    let root = project.path().to_string_lossy().into_owned();
    let out = project.path().join("documents");
    std::fs::create_dir_all(&out).unwrap();
    for (i, (kind, subject)) in subjects.iter().enumerate() {
        for format in ["spdx-json", "cyclonedx-json"] {
            let path = out.join(format!("{i}.{}", file_suffix(format)));
            let written = project
                .boxwright()
                .args(["sbom", subject, "--format", format, "-o"])
                .arg(&path)
                .output()
                .unwrap();
            assert_success(&written);
            assert!(written.stdout.is_empty(), "with -o, stdout stays empty");
            assert_valid(format, &path);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains(&root), "{subject}: a host path in\n{text}");
            let document: Value = serde_json::from_str(&text).unwrap();
            let recorded = match format {
                "spdx-json" => document["packages"][0]["comment"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                _ => document["metadata"]["component"]["properties"][0]["value"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            };
            assert!(recorded.starts_with(kind), "{subject}: {recorded}");
        }
    }
}

#[test]
fn the_checkers_refuse_broken_documents() {
    let (project, _) = hello_subjects();
    let dir = project.path();
    // SPDX 2.3 requires a SHA1 on every file.
    let mut spdx = json(&sbom(&project, "hello", "spdx-json"));
    spdx["files"][0]["checksums"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["algorithm"] != "SHA1");
    let broken = dir.join("broken.spdx.json");
    std::fs::write(&broken, serde_json::to_vec(&spdx).unwrap()).unwrap();
    assert!(
        spdx_valid(&broken).is_err(),
        "pyspdxtools took a file without SHA1"
    );
    // A dependsOn naming nothing, which the schema alone lets through.
    let mut bom = json(&sbom(&project, "hello", "cyclonedx-json"));
    bom["dependencies"][0]["dependsOn"]
        .as_array_mut()
        .unwrap()
        .push("package:nowhere".into());
    let broken = dir.join("broken.cdx.json");
    std::fs::write(&broken, serde_json::to_vec(&bom).unwrap()).unwrap();
    let problems = cyclonedx_valid(&broken).unwrap_err();
    assert!(
        problems.contains("dangling ref 'package:nowhere'"),
        "{problems}"
    );
    bom["components"][0]["type"] = "not-a-type".into();
    std::fs::write(&broken, serde_json::to_vec(&bom).unwrap()).unwrap();
    assert!(cyclonedx_valid(&broken).unwrap_err().contains("schema"));
}

#[test]
fn the_hello_package_carries_its_download_url_and_sha256() {
    let (project, subjects) = hello_subjects();
    let pinned =
        sha256_hex(&std::fs::read(project.path().join("sources/hello-1.0.0.tar.gz")).unwrap());
    assert_eq!(pinned, HELLO_SHA256);
    for (kind, subject) in subjects.iter().filter(|(kind, _)| *kind != "rootfs") {
        let spdx = json(&sbom(&project, subject, "spdx-json"));
        let packages = spdx["packages"].as_array().unwrap();
        let hello = packages
            .iter()
            .find(|p| p["SPDXID"] == "SPDXRef-Package-hello")
            .unwrap_or_else(|| panic!("{kind}: no hello package in {spdx:#}"));
        assert_eq!(hello["versionInfo"], "1.0.0");
        assert_eq!(
            hello["externalRefs"][0]["referenceLocator"],
            format!(
                "pkg:generic/hello@1.0.0?checksum=sha256:{HELLO_SHA256}&download_url=file:sources/hello-1.0.0.tar.gz"
            )
        );
        let source = packages
            .iter()
            .find(|p| p["SPDXID"] == "SPDXRef-Source-hello-1")
            .unwrap();
        assert_eq!(source["name"], "hello-1.0.0.tar.gz");
        assert_eq!(source["checksums"][0]["algorithm"], "SHA256");
        assert_eq!(source["checksums"][0]["checksumValue"], HELLO_SHA256);
        // A `file:` URL in the project is no network location, so it is the comment.
        assert_eq!(
            source["comment"],
            "downloaded from file:sources/hello-1.0.0.tar.gz"
        );
        let generated: Vec<&Value> = spdx["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["relationshipType"] == "GENERATED_FROM")
            .collect();
        assert_eq!(generated.len(), 1);
        assert_eq!(generated[0]["spdxElementId"], "SPDXRef-Package-hello");

        let bom = json(&sbom(&project, subject, "cyclonedx-json"));
        let component = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["bom-ref"] == "package:hello")
            .unwrap();
        assert_eq!(
            component["externalReferences"][0],
            serde_json::json!({
                "type": "source-distribution",
                "url": "file:sources/hello-1.0.0.tar.gz",
                "comment": "hello-1.0.0.tar.gz",
                "hashes": [{"alg": "SHA-256", "content": HELLO_SHA256}],
            })
        );
    }
}

#[test]
fn file_digests_match_coreutils_on_the_extracted_files() {
    let (project, subjects) = hello_subjects();
    let rootfs = project.path().join("rootfs.tar.gz");
    let expected = extracted_digests(&rootfs);
    assert!(expected.contains_key("bin/hello"), "{expected:?}");
    let release = extracted_digests(&project.path().join("release/hello-1.0.0.0.tar.gz"));
    for (kind, subject) in &subjects {
        let wanted = if *kind == "archive" {
            &release
        } else {
            &expected
        };
        let spdx = json(&sbom(&project, subject, "spdx-json"));
        let files: BTreeMap<String, (String, String)> = spdx["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let checksum = |algorithm: &str| {
                    f["checksums"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["algorithm"] == algorithm)
                        .unwrap()["checksumValue"]
                        .as_str()
                        .unwrap()
                        .to_string()
                };
                let name = f["fileName"].as_str().unwrap();
                (
                    name.strip_prefix("./").unwrap().to_string(),
                    (checksum("SHA256"), checksum("SHA1")),
                )
            })
            .collect();
        assert_eq!(&files, wanted, "{kind} {subject}");
        let bom = json(&sbom(&project, subject, "cyclonedx-json"));
        let cyclonedx: BTreeMap<String, (String, String)> = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == "file")
            .map(|c| {
                let hashes = &c["hashes"];
                assert_eq!(hashes[0]["alg"], "SHA-1");
                assert_eq!(hashes[1]["alg"], "SHA-256");
                (
                    c["name"].as_str().unwrap().to_string(),
                    (
                        hashes[1]["content"].as_str().unwrap().to_string(),
                        hashes[0]["content"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect();
        assert_eq!(&cyclonedx, wanted, "{kind} {subject}");
    }
    // The archives' own digests are what coreutils says of the files.
    let spdx = json(&sbom(&project, rootfs.to_str().unwrap(), "spdx-json"));
    assert_eq!(
        spdx["packages"][0]["checksums"][0]["checksumValue"],
        sha256_hex(&std::fs::read(&rootfs).unwrap())
    );
}

#[test]
fn two_runs_give_identical_bytes_and_the_time_comes_from_source_date_epoch() {
    let (project, subjects) = hello_subjects();
    for (_, subject) in &subjects {
        for args in [
            vec!["sbom", subject.as_str(), "--format", "spdx-json"],
            vec!["sbom", subject.as_str(), "--format", "cyclonedx-json"],
            vec!["provenance", subject.as_str()],
        ] {
            let first = stdout_of(&project, &args, &[]);
            assert_eq!(first, stdout_of(&project, &args, &[]), "{args:?}");
        }
    }
    // One image, as a layout or as an oci-archive: the same documents.
    let layout = &subjects[1].1;
    let archive = &subjects[2].1;
    for format in ["spdx-json", "cyclonedx-json"] {
        assert_eq!(
            sbom(&project, layout, format),
            sbom(&project, archive, format)
        );
    }
    let spdx = json(&sbom(&project, layout, "spdx-json"));
    assert_eq!(spdx["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let digest = spdx["packages"][0]["comment"].as_str().unwrap().to_string();
    let hex = digest
        .split("sha256:")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    assert_eq!(
        spdx["documentNamespace"],
        format!("https://boxwright.invalid/spdx/hello-{hex}")
    );
    let later = json(&stdout_of(
        &project,
        &["sbom", layout, "--format", "cyclonedx-json"],
        &[("SOURCE_DATE_EPOCH", "1")],
    ));
    assert_eq!(later["metadata"]["timestamp"], "1970-01-01T00:00:01Z");
}

#[test]
fn provenance_lists_the_download_and_metadata_digests() {
    let (project, subjects) = hello_subjects();
    let metadata_sha256 = sha256_hex(&std::fs::read(project.path().join("metadata.json")).unwrap());
    for (kind, subject) in subjects.iter().filter(|(kind, _)| *kind != "rootfs") {
        let doc = json(&stdout_of(&project, &["provenance", subject], &[]));
        let definition = &doc["buildDefinition"];
        assert_eq!(
            definition["buildType"],
            "https://boxwright.invalid/build/v1"
        );
        let parameters = &definition["externalParameters"];
        assert_eq!(parameters["target"], "hello", "{kind}");
        assert_eq!(parameters["version"], "1.0.0");
        assert_eq!(parameters["metadata"]["uri"], "metadata.json");
        assert_eq!(parameters["metadata"]["digest"]["sha256"], metadata_sha256);
        assert_eq!(parameters["platform"], "linux/amd64", "{kind}");
        let download = definition["resolvedDependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "hello-1.0.0.tar.gz")
            .unwrap_or_else(|| panic!("{kind}: {doc:#}"));
        assert_eq!(download["digest"]["sha256"], HELLO_SHA256);
        assert_eq!(download["uri"], "file:sources/hello-1.0.0.tar.gz");
        assert_eq!(
            doc["runDetails"]["builder"]["id"],
            "https://boxwright.invalid/builder/local"
        );
        assert!(doc["runDetails"].get("metadata").is_none());
    }
}

#[test]
fn provenance_in_github_actions_names_the_workflow_and_the_run() {
    let (project, subjects) = hello_subjects();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/boxes"),
        (
            "GITHUB_WORKFLOW_REF",
            "acme/boxes/.github/workflows/release.yml@refs/tags/hello-1.0.0.0",
        ),
        ("GITHUB_RUN_ID", "4242"),
        ("GITHUB_RUN_ATTEMPT", "3"),
        ("GITHUB_SHA", commit),
    ];
    let layout = &subjects[1].1;
    let first = stdout_of(&project, &["provenance", layout], &env);
    assert_eq!(first, stdout_of(&project, &["provenance", layout], &env));
    let doc = json(&first);
    assert_eq!(
        doc["runDetails"]["builder"]["id"],
        "https://github.com/acme/boxes/.github/workflows/release.yml@refs/tags/hello-1.0.0.0"
    );
    assert_eq!(
        doc["runDetails"]["metadata"]["invocationId"],
        "https://github.com/acme/boxes/actions/runs/4242/attempts/3"
    );
    assert_eq!(
        doc["buildDefinition"]["externalParameters"]["workflow"],
        serde_json::json!({
            "repository": "https://github.com/acme/boxes",
            "path": ".github/workflows/release.yml",
            "ref": "refs/tags/hello-1.0.0.0",
        })
    );
    // The example project is no git checkout: the commit is the one CI names.
    assert_eq!(
        doc["buildDefinition"]["resolvedDependencies"][0],
        serde_json::json!({
            "uri": "git+https://github.com/acme/boxes",
            "digest": {"gitCommit": commit},
            "name": "source",
        })
    );
}

#[test]
fn unknown_subjects_and_formats_are_usage_errors() {
    let project = example_project();
    let out = project
        .boxwright()
        .args(["sbom", "no such thing", "--format", "spdx-json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("is not a target of the project, a file or directory, or an image reference"),
        "{stderr}"
    );
    let out = project
        .boxwright()
        .args(["sbom", "hello", "--format", "spdx-tag-value"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("known: spdx-json, cyclonedx-json"));
    let out = project
        .boxwright()
        .args(["sbom", "hello"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("build it first"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
