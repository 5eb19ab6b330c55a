//! `sbom` and `provenance` of a registry reference: the image is pulled into a temporary
//! layout and described like the layout it was pushed from.

use serde_json::Value;

use super::fixture::{Registry, hello_layout, ok, run};
use crate::sbom::{assert_valid, file_suffix};

#[test]
fn a_registry_reference_is_described_like_the_layout_it_was_pushed_from() {
    let (project, layout) = hello_layout();
    let registry = Registry::start(None);
    let reference = format!("{}/tools/hello:1.0.0", registry.host());
    let layout_arg = layout.to_str().unwrap();
    let digest = ok(
        &run(&project, &["image", "push", layout_arg, &reference]),
        "image push",
    )
    .trim()
    .to_string();

    for format in ["spdx-json", "cyclonedx-json"] {
        let path = project
            .path()
            .join(format!("registry.{}", file_suffix(format)));
        let out = run(
            &project,
            &[
                "sbom",
                &reference,
                "--format",
                format,
                "-o",
                path.to_str().unwrap(),
            ],
        );
        ok(&out, "sbom of a registry reference");
        assert_valid(format, &path);
        let pulled: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let local: Value = serde_json::from_str(&ok(
            &run(&project, &["sbom", layout_arg, "--format", format]),
            "sbom of the layout",
        ))
        .unwrap();
        if format == "spdx-json" {
            // Same image, same name and digest: same namespace and files; the purl adds the
            // repository it came from.
            assert_eq!(pulled["documentNamespace"], local["documentNamespace"]);
            assert_eq!(pulled["files"], local["files"]);
            assert!(
                pulled["documentNamespace"]
                    .as_str()
                    .unwrap()
                    .ends_with(digest.strip_prefix("sha256:").unwrap())
            );
            assert_eq!(
                pulled["packages"][0]["externalRefs"][0]["referenceLocator"],
                format!(
                    "pkg:oci/hello@{}?repository_url={}/tools/hello",
                    digest.replace(':', "%3A"),
                    registry.host()
                )
            );
            let packages: Vec<&str> = pulled["packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["SPDXID"].as_str().unwrap())
                .collect();
            assert!(packages.contains(&"SPDXRef-Package-hello"), "{packages:?}");
        } else {
            let files = |bom: &Value| -> Vec<Value> {
                bom["components"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| c["type"] == "file")
                    .cloned()
                    .collect()
            };
            assert_eq!(files(&pulled), files(&local));
            assert_eq!(pulled["serialNumber"], local["serialNumber"]);
        }
    }

    let provenance: Value = serde_json::from_str(&ok(
        &run(&project, &["provenance", &reference]),
        "provenance of a registry reference",
    ))
    .unwrap();
    let parameters = &provenance["buildDefinition"]["externalParameters"];
    assert_eq!(parameters["target"], "hello");
    assert_eq!(parameters["version"], "1.0.0");
    assert!(
        provenance["buildDefinition"]["resolvedDependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "hello-1.0.0.tar.gz")
    );
}
