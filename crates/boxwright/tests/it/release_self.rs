//! boxwright's own release archive (release/metadata.json, scripts/release-self.sh): besides
//! the binary it ships the shell completions and man pages that scripts/share-files.sh
//! generates with the built binary.

use std::path::Path;
use std::process::Command;

use crate::support::{TestProject, boxwright};

#[test]
fn the_release_archive_ships_completions_and_man_pages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let metadata = std::fs::read_to_string(root.join("release/metadata.json")).unwrap();
    let project = TestProject::new(&metadata);
    let output = project.path().join("out/boxwright");
    // A stand-in for the static binary; the share files come from the real one.
    project.write("out/boxwright/bin/boxwright", b"#!/bin/sh\n", 0o755);
    let status = Command::new("bash")
        .arg(root.join("scripts/share-files.sh"))
        .arg(env!("CARGO_BIN_EXE_boxwright"))
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success());

    let out = boxwright()
        .arg("--project")
        .arg(project.path())
        .env("BUILD_OUTPUT_DEST", project.path().join("out"))
        .args([
            "release",
            "package",
            "boxwright-0.1.0.0",
            "--level",
            "1",
            "-o",
        ])
        .arg(project.path().join("dist"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = Command::new("tar")
        .arg("tzf")
        .arg(project.path().join("dist/boxwright-0.1.0.0.tar.gz"))
        .output()
        .unwrap();
    let names = String::from_utf8(list.stdout).unwrap();
    for name in [
        "bin/boxwright",
        "share/bash-completion/completions/boxwright",
        "share/zsh/site-functions/_boxwright",
        "share/fish/vendor_completions.d/boxwright.fish",
        "share/man/man1/boxwright.1",
        "share/man/man1/boxwright-image-push.1",
        "share/man/man1/boxwright-login.1",
    ] {
        assert!(
            names
                .lines()
                .any(|line| line.trim_end_matches('/').ends_with(name)),
            "{name} missing from the archive:\n{names}"
        );
    }
    assert!(!names.contains(".tmp"), "{names}");
}
