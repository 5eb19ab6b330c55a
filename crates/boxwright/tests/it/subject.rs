//! SUBJECT's grammar across commands: an OCI layout holding two images of the same platform,
//! tagged `1.0` and `moved`, made from two real `image build`s. `sbom DIR:TAG`,
//! `provenance DIR:TAG` and `image inspect DIR:TAG` describe the image the tag names;
//! `sbom DIR` refuses, naming both tags and the `DIR:TAG` form.
//!
//! Needs what `build` needs for the example targets (scripts/setup.sh installs it).

use std::path::Path;

use serde_json::Value;

use crate::support::{TestProject, assert_success, example_project, tools_for_examples};

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `index.json`'s one entry of a layout `image build` wrote.
fn only_entry(layout: &Path) -> Value {
    let index = read_json(&layout.join("index.json"));
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{index}");
    entries[0].clone()
}

/// `hello` built into `<project>/two`, an OCI layout naming two images: `1.0` and `moved`
/// (built at another SOURCE_DATE_EPOCH, so its digest differs). Returns the layout's path and
/// the two digests.
fn two_image_layout() -> (TestProject, String, String, String) {
    tools_for_examples();
    let project = example_project();
    assert_success(
        &project
            .boxwright()
            .args(["build", "hello"])
            .output()
            .unwrap(),
    );
    let two = project.path().join("two");
    let other = project.path().join("other");
    for (output, tag, epoch) in [(&two, "1.0", "1700000000"), (&other, "moved", "1800000000")] {
        let out = project
            .boxwright()
            .env("SOURCE_DATE_EPOCH", epoch)
            .args([
                "image", "build", "hello", "--format", "oci", "--tag", tag, "-o",
            ])
            .arg(output)
            .output()
            .unwrap();
        assert_success(&out);
    }
    // The second image joins the first layout: its blobs, and its index.json entry.
    for blob in std::fs::read_dir(other.join("blobs/sha256")).unwrap() {
        let blob = blob.unwrap();
        let dest = two.join("blobs/sha256").join(blob.file_name());
        if !dest.exists() {
            std::fs::copy(blob.path(), dest).unwrap();
        }
    }
    let first = only_entry(&two);
    let second = only_entry(&other);
    assert_eq!(
        first["annotations"]["org.opencontainers.image.ref.name"],
        "1.0"
    );
    assert_eq!(
        second["annotations"]["org.opencontainers.image.ref.name"],
        "moved"
    );
    let mut index = read_json(&two.join("index.json"));
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .push(second.clone());
    std::fs::write(two.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let digest = |entry: &Value| entry["digest"].as_str().unwrap().to_string();
    let (first, second) = (digest(&first), digest(&second));
    assert_ne!(first, second, "two builds at different times differ");
    (project, two.to_string_lossy().into_owned(), first, second)
}

/// `--json COMMAND SUBJECT -o FILE`'s report after success.
fn document_report(project: &TestProject, command: &[&str], subject: &str) -> Value {
    let output = project.path().join("document.json");
    let out = project
        .boxwright()
        .arg("--json")
        .args(command)
        .arg(subject)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn dir_tag_names_one_image_of_a_two_image_layout_in_every_command() {
    let (project, layout, first, moved) = two_image_layout();
    for (tag, digest) in [("1.0", &first), ("moved", &moved)] {
        let subject = format!("{layout}:{tag}");

        let sbom = document_report(&project, &["sbom", "--format", "spdx-json"], &subject);
        assert_eq!(
            sbom["subject"]["digest"], **digest,
            "sbom {subject}: {sbom}"
        );
        assert_eq!(sbom["subject"]["kind"], "oci-image");

        let provenance = document_report(&project, &["provenance"], &subject);
        assert_eq!(provenance["subject"]["digest"], **digest, "{provenance}");
        // The predicate describes the image's target (its subject, by digest, is what the
        // report above names: the statement that carries the predicate adds it).
        let document = read_json(&project.path().join("document.json"));
        let parameters = &document["buildDefinition"]["externalParameters"];
        assert_eq!(parameters["target"], "hello", "{document}");
        assert_eq!(parameters["platform"], "linux/amd64", "{document}");

        let out = project
            .boxwright()
            .args(["--json", "image", "inspect", &subject])
            .output()
            .unwrap();
        assert_success(&out);
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            summary["digest"], **digest,
            "image inspect {subject}: {summary}"
        );
    }
}

#[test]
fn a_two_image_layout_without_a_tag_names_both_tags_and_the_dir_tag_form() {
    let (project, layout, _, _) = two_image_layout();
    let out = project
        .boxwright()
        .args(["sbom", &layout, "--format", "spdx-json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("several images (1.0, moved)"), "{stderr}");
    assert!(stderr.contains(&format!("{layout}:TAG")), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "hint: name one as DIR:TAG: {layout}:1.0 or {layout}:moved"
        )),
        "{stderr}"
    );
    // No platform hint: both images are linux/amd64, and a platform does not choose.
    assert!(!stderr.contains("--platform"), "{stderr}");
    // An unknown tag lists the names there are.
    let out = project
        .boxwright()
        .args(["sbom", &format!("{layout}:2.0"), "--format", "spdx-json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no image named `2.0` in index.json (names: 1.0, moved)"),
        "{stderr}"
    );
}
