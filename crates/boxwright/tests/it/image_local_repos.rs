//! Images from packages served by `boxwright serve` (packages made by boxwright itself):
//! an apk image whose database is read back as apk-tools reads it (no apk client installs
//! on Debian, so the checks `apk info` and `apk audit` make are done here: every installed
//! file's `Z:` checksum against the file), and bad input refused naming the package or the
//! repository, with nothing written.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::json;

use crate::support::podman::run;
use crate::support::serve::{Repo, Served, apk, deb, spec};
use crate::support::{TestProject, assert_success, boxwright, coreutils_digest};

/// A running server with `hello` uploaded as .deb (suite `stable`, component `main`) and
/// as .apk (`3.20/main`), and both repository keys.
struct Fixture {
    repo: Repo,
    server: Served,
}

/// Where the .deb files go: `repo upload --suite stable --component main`.
const DEB_PLACE: &[&str] = &["--suite", "stable", "--component", "main"];

fn served() -> Fixture {
    let repo = Repo::new();
    repo.apt_key();
    repo.apk_key();
    let config = repo.config("apt: { origin: Boxwright Test, label: Boxwright Test }\n");
    let server = Served::start(&config);
    let upload = |file: &Path, place: &[&str]| {
        let out = boxwright()
            .args(["repo", "upload", &server.url])
            .arg(file)
            .args(place)
            .output()
            .unwrap();
        assert_success(&out);
    };
    upload(&deb(&repo.path("build"), "hello"), DEB_PLACE);
    // A dependency cycle through virtual names that cannot be satisfied: cyc-a needs v-one,
    // which only cyc-b provides; cyc-b needs v-two (>= 2), which only cyc-a provides, at 1.
    for (name, depends, provides) in [
        ("cyc-a", "v-one", "v-two (= 1)"),
        ("cyc-b", "v-two (>= 2)", "v-one"),
    ] {
        let mut spec = spec(name, "amd64", 0);
        spec.depends = vec![depends.to_string()];
        spec.provides = vec![provides.to_string()];
        let file = boxwright_package::deb::write(&spec, &repo.path("build")).unwrap();
        upload(&file, DEB_PLACE);
    }
    upload(
        &apk(&repo.path("build-apk"), "hello", 0),
        &["--alpine", "3.20", "--repo", "main"],
    );
    Fixture { repo, server }
}

fn project_with(served: &Fixture, repository: &serde_json::Value, install: &[&str]) -> TestProject {
    let project = TestProject::new(
        &json!({ "box": { "image": { "packages": {
            "repositories": [repository], "install": install, "architectures": ["amd64"] } } } })
        .to_string(),
    );
    std::fs::create_dir_all(project.path().join("keys")).unwrap();
    for key in ["apt.asc", "repo.rsa.pub"] {
        std::fs::copy(
            served.repo.path(&format!("keys/{key}")),
            project.path().join("keys").join(key),
        )
        .unwrap();
    }
    project
}

fn apt_repository(served: &Fixture, key: &str) -> serde_json::Value {
    json!({ "apt": format!("{}/apt", served.server.url), "suite": "stable",
            "components": ["main"], "key": key })
}

/// Runs `image build box --format rootfs`; (exit code, stderr).
fn build_rootfs(project: &TestProject, out: &Path) -> (i32, String) {
    let output = project
        .boxwright()
        .args(["image", "build", "box", "--format", "rootfs", "-o"])
        .arg(out)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_apk_image_carries_apks_database_with_every_files_checksum() {
    let served = served();
    let project = project_with(
        &served,
        &json!({ "apk": format!("{}/3.20/main", served.server.url), "keys": ["keys/repo.rsa.pub"] }),
        &["hello"],
    );
    let scratch = tempfile::tempdir().unwrap();
    let rootfs = scratch.path().join("rootfs.tar");
    let (code, stderr) = build_rootfs(&project, &rootfs);
    assert_eq!(code, 0, "{stderr}");
    let root = scratch.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&rootfs)
        .arg("-C")
        .arg(&root));

    // `apk info -v`: the installed packages, from lib/apk/db/installed.
    let db = std::fs::read_to_string(root.join("lib/apk/db/installed")).unwrap();
    let names: Vec<String> = db
        .lines()
        .filter_map(|l| l.strip_prefix("P:"))
        .map(str::to_string)
        .collect();
    assert_eq!(names, ["hello"], "{db}");
    assert!(db.lines().any(|l| l == "V:1.0-r0"), "{db}");
    // `apk audit`: every R: file under its F: directory matches its Z: checksum.
    let mut dir = String::new();
    let mut file = String::new();
    let mut checked = 0;
    for line in db.lines() {
        if let Some(d) = line.strip_prefix("F:") {
            dir = d.to_string();
        } else if let Some(f) = line.strip_prefix("R:") {
            file = f.to_string();
        } else if let Some(z) = line.strip_prefix("Z:Q1") {
            let bytes = std::fs::read(root.join(&dir).join(&file)).unwrap();
            // SHA-1 by coreutils, not by the code under test.
            let hex = coreutils_digest("sha1sum", &bytes);
            let raw: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let digest = base64::engine::general_purpose::STANDARD.encode(raw);
            assert_eq!(z, digest, "{dir}/{file} differs from its Z: checksum");
            checked += 1;
        }
    }
    assert_eq!(checked, 1, "{db}");
    let world = std::fs::read_to_string(root.join("etc/apk/world")).unwrap();
    assert_eq!(world.trim(), "hello");
    assert!(root.join("etc/apk/keys/repo.rsa.pub").is_file());
    let lock = std::fs::read_to_string(project.path().join("metadata.lock.json")).unwrap();
    assert!(lock.contains("/3.20/main/x86_64/APKINDEX.tar.gz"), "{lock}");
}

#[test]
fn an_apt_image_from_the_server_installs_and_a_wrong_key_is_refused() {
    let served = served();
    let project = project_with(
        &served,
        &apt_repository(&served, "keys/apt.asc"),
        &["hello"],
    );
    let scratch = tempfile::tempdir().unwrap();
    let (code, stderr) = build_rootfs(&project, &scratch.path().join("ok.tar"));
    assert_eq!(code, 0, "{stderr}");

    // The index signed by another key than the one trusted.
    let (_, other) = boxwright_sign::openpgp::generate("Other <other@example.invalid>").unwrap();
    std::fs::write(project.path().join("keys/other.asc"), other).unwrap();
    let wrong = project_with(
        &served,
        &apt_repository(&served, "keys/other.asc"),
        &["hello"],
    );
    std::fs::copy(
        project.path().join("keys/other.asc"),
        wrong.path().join("keys/other.asc"),
    )
    .unwrap();
    let out = scratch.path().join("wrong.tar");
    let (code, stderr) = build_rootfs(&wrong, &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("InRelease") && stderr.contains("not in the trusted keyring"),
        "{stderr}"
    );
    assert_nothing_written(&wrong, &out);
}

fn assert_nothing_written(project: &TestProject, out: &Path) {
    assert!(!out.exists(), "{} was written", out.display());
    assert!(
        !project.path().join("metadata.lock.json").exists(),
        "a lock was written"
    );
}

#[test]
fn bad_input_names_the_package_or_repository_and_writes_nothing() {
    let served = served();
    let scratch = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str, &[&str])] = &[
        (&["nosuch"], "keys/apt.asc", &["unknown package nosuch"]),
        (&["hello=9.9"], "keys/apt.asc", &["hello", "9.9", "1.0-0"]),
        (
            &["hello"],
            "keys/missing.asc",
            &["keys/missing.asc", "/apt"],
        ),
        (&["cyc-a"], "keys/apt.asc", &["cyc-a", "cyc-b", "v-two"]),
    ];
    for (install, key, wanted) in cases {
        let project = project_with(&served, &apt_repository(&served, key), install);
        let out = scratch.path().join("out.tar");
        let (code, stderr) = build_rootfs(&project, &out);
        assert_eq!(code, 2, "{install:?}: {stderr}");
        for text in *wanted {
            assert!(
                stderr.contains(text),
                "{install:?}: no `{text}` in {stderr}"
            );
        }
        assert_nothing_written(&project, &out);
        // `image lock` says the same and writes no lock either.
        let lock = project
            .boxwright()
            .args(["image", "lock", "box"])
            .output()
            .unwrap();
        assert_eq!(lock.status.code(), Some(2));
        assert_nothing_written(&project, &out);
    }
}

#[test]
fn per_package_layering_gives_each_package_its_own_layer() {
    let served = served();
    let scratch = tempfile::tempdir().unwrap();
    for (layering, layers) in [("single", "1 layers"), ("per-package", "2 layers")] {
        let project = project_with(
            &served,
            &apt_repository(&served, "keys/apt.asc"),
            &["hello"],
        );
        crate::support::edit_metadata(&project, |m| {
            m["box"]["image"]["packages"]["layering"] = json!(layering);
        });
        let (code, stderr) =
            build_rootfs(&project, &scratch.path().join(format!("{layering}.tar")));
        assert_eq!(code, 0, "{stderr}");
        // One layer for the set, or hello's then the package database's.
        assert!(
            stderr.contains(&format!(", {layers}, ")),
            "{layering}: {stderr}"
        );
    }
}

#[test]
fn locked_builds_refuse_a_missing_or_stale_lock() {
    let served = served();
    let scratch = tempfile::tempdir().unwrap();
    let project = project_with(
        &served,
        &apt_repository(&served, "keys/apt.asc"),
        &["hello"],
    );
    let locked = |out: &str| {
        project
            .boxwright()
            .args([
                "image", "build", "box", "--locked", "--format", "rootfs", "-o",
            ])
            .arg(scratch.path().join(out))
            .output()
            .unwrap()
    };
    let missing = locked("missing.tar");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("boxwright image lock box"), "{stderr}");
    assert!(!scratch.path().join("missing.tar").exists());

    let lock = project
        .boxwright()
        .args(["image", "lock", "box"])
        .output()
        .unwrap();
    assert_success(&lock);
    assert_success(&locked("current.tar"));

    crate::support::edit_metadata(&project, |m| {
        m["box"]["image"]["packages"]["install"] = json!(["hello", "cyc-b"]);
    });
    let stale = locked("stale.tar");
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert_eq!(stale.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cyc-b"), "{stderr}");
    assert!(!scratch.path().join("stale.tar").exists());
}
