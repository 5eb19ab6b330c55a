//! What images record of the project's source: a cleaned URL, never a credential from the git
//! remote and never a path of the builder (issue: credentials leaking into annotations).
//!
//! Needs git, gzip, tar and what `build` needs for the `hello` example (scripts/setup.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{
    TestProject, assert_success, copy_tree, edit_metadata, example_project, require_tool,
    tools_for_examples,
};

const TOKEN: &str = "glcbt-64_s3cr3tTOKEN";
const CLEAN: &str = "https://gitlab.example.invalid/group/project";

fn git(dir: &Path, args: &[&str]) -> String {
    require_tool("git", "apt-get install git");
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .env("GIT_COMMITTER_DATE", "1700000000 +0000")
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .output()
        .unwrap();
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The example project as a git repository (one commit, outputs ignored) with `hello` built.
fn source_repository() -> TestProject {
    tools_for_examples();
    let project = example_project();
    std::fs::write(project.path().join(".gitignore"), ".tmp/\n.cache/\n.out/\n").unwrap();
    git(project.path(), &["init", "-q"]);
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-q", "-m", "import"]);
    assert_success(
        &project
            .boxwright()
            .args(["build", "hello"])
            .output()
            .unwrap(),
    );
    project
}

/// `git clone FROM` into a new temporary project, with FROM's built outputs copied in.
fn clone(from: &Path) -> TestProject {
    let project = TestProject::new("{}");
    std::fs::remove_file(project.path().join("metadata.json")).unwrap();
    let parent = project.path().parent().unwrap();
    git(
        parent,
        &[
            "clone",
            "-q",
            &from.display().to_string(),
            &project.path().display().to_string(),
        ],
    );
    copy_tree(&from.join(".out"), &project.path().join(".out"), &[]);
    project
}

fn image(project: &TestProject, format: &str, output: &Path, env: &[(&str, &str)]) -> String {
    let mut command = project.boxwright();
    command
        .args(["image", "build", "hello", "--format", format, "-o"])
        .arg(output);
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    assert_success(&out);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !printed.contains("s3cr3t"),
        "the token is printed: {printed}"
    );
    printed
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The manifest and config of a single-platform OCI layout.
fn manifest_and_config(layout: &Path) -> (Vec<u8>, Value, Value) {
    let index = read_json(&layout.join("index.json"));
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let bytes = std::fs::read(blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap();
    let manifest: Value = serde_json::from_slice(&bytes).unwrap();
    let config = read_json(&blob(manifest["config"]["digest"].as_str().unwrap()));
    (bytes, manifest, config)
}

/// Every file under `dir` (archives extracted, gzip streams decompressed) as bytes.
fn every_byte(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let out = Command::new("gzip")
                .args(["-dc"])
                .arg(entry.path())
                .output()
                .unwrap();
            assert_success(&out);
            found.push((entry.path().with_extension("gunzipped"), out.stdout));
        }
        found.push((entry.path().to_path_buf(), bytes));
    }
    found
}

fn assert_no_token(dir: &Path) {
    let files = every_byte(dir);
    assert!(files.len() > 3, "nothing written under {}", dir.display());
    for (path, bytes) in files {
        for needle in [TOKEN.as_bytes(), b"s3cr3t", b"gitlab-ci-token"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
}

#[test]
fn a_credentialed_remote_leaks_into_no_output() {
    let source = source_repository();
    let project = clone(source.path());
    git(
        project.path(),
        &[
            "remote",
            "set-url",
            "origin",
            &format!("https://gitlab-ci-token:{TOKEN}@gitlab.example.invalid/group/project.git"),
        ],
    );
    let out = tempfile::tempdir().unwrap();
    let layout = out.path().join("layout");
    image(&project, "oci", &layout, &[]);
    image(&project, "oci-archive", &out.path().join("image.tar"), &[]);
    image(
        &project,
        "docker-archive",
        &out.path().join("docker.tar"),
        &[],
    );
    image(&project, "rootfs", &out.path().join("rootfs.tar.gz"), &[]);
    for archive in ["image.tar", "docker.tar"] {
        let into = out.path().join(format!("{archive}.d"));
        std::fs::create_dir(&into).unwrap();
        let status = Command::new("tar")
            .arg("-xf")
            .arg(out.path().join(archive))
            .arg("-C")
            .arg(&into)
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert_no_token(out.path());

    let (_, manifest, config) = manifest_and_config(&layout);
    let revision = git(project.path(), &["rev-parse", "HEAD"]);
    for (what, fields) in [
        ("manifest annotations", &manifest["annotations"]),
        ("config labels", &config["config"]["Labels"]),
    ] {
        assert_eq!(fields["org.opencontainers.image.source"], CLEAN, "{what}");
        assert_eq!(
            fields["org.opencontainers.image.revision"],
            revision.as_str(),
            "{what}"
        );
        assert_eq!(
            fields["org.opencontainers.image.version"], "1.0.0",
            "{what}"
        );
    }
    // The target's own label is kept beside them.
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.title"],
        "hello"
    );

    // CI variables win over the remote; an explicit setting wins over both; "" records none.
    let source_of = |env: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        image(&project, "oci", &dir.path().join("l"), env);
        manifest_and_config(&dir.path().join("l")).1["annotations"]
            ["org.opencontainers.image.source"]
            .clone()
    };
    assert_eq!(
        source_of(&[(
            "CI_PROJECT_URL",
            "https://gitlab.example.invalid/ci/project"
        )]),
        "https://gitlab.example.invalid/ci/project"
    );
    assert_eq!(
        source_of(&[
            ("GITHUB_SERVER_URL", "https://github.example.invalid"),
            ("GITHUB_REPOSITORY", "owner/repo"),
        ]),
        "https://github.example.invalid/owner/repo"
    );
    assert_eq!(
        source_of(&[
            (
                "BOXWRIGHT_SOURCE_URL",
                "https://u:pw@override.example.invalid/p.git"
            ),
            (
                "CI_PROJECT_URL",
                "https://gitlab.example.invalid/ci/project"
            ),
        ]),
        "https://override.example.invalid/p"
    );
    assert_eq!(source_of(&[("BOXWRIGHT_SOURCE_URL", "")]), Value::Null);
    edit_metadata(&project, |m| {
        m["hello"]["source_url"] = "https://meta.example.invalid/acme/hello".into();
    });
    assert_eq!(
        source_of(&[("BOXWRIGHT_SOURCE_URL", "https://override.example.invalid/p")]),
        "https://meta.example.invalid/acme/hello"
    );
}

#[test]
fn source_url_with_credentials_in_metadata_is_refused() {
    let project = example_project();
    edit_metadata(&project, |m| {
        m["hello"]["source_url"] =
            format!("https://user:{TOKEN}@example.invalid/acme/hello.git").into();
    });
    let out = project.boxwright().arg("targets").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/hello/source_url")
            && stderr.contains("credentials")
            && stderr.contains("https://example.invalid/acme/hello")
            && !stderr.contains("s3cr3t"),
        "{stderr}"
    );
}

/// Two clones of one commit at different paths, whose remotes are paths (or absent), give
/// byte-identical manifests: no path is recorded, only the commit.
#[test]
fn clones_at_different_paths_give_identical_manifests() {
    let source = source_repository();
    let first = clone(source.path());
    let second = clone(first.path());
    let third = clone(first.path());
    git(third.path(), &["remote", "remove", "origin"]);
    let out = tempfile::tempdir().unwrap();
    let mut manifests = Vec::new();
    for (i, project) in [&first, &second, &third].into_iter().enumerate() {
        let layout = out.path().join(format!("layout{i}"));
        image(project, "oci", &layout, &[]);
        let (bytes, manifest, _) = manifest_and_config(&layout);
        assert!(
            manifest["annotations"]["org.opencontainers.image.source"].is_null(),
            "a path remote is recorded: {manifest}"
        );
        let text = String::from_utf8_lossy(&bytes).into_owned();
        for path in [source.path(), first.path(), second.path(), third.path()] {
            assert!(!text.contains(&*path.to_string_lossy()), "{text}");
        }
        manifests.push(bytes);
    }
    assert_eq!(manifests[0], manifests[1]);
    assert_eq!(manifests[0], manifests[2]);
}
