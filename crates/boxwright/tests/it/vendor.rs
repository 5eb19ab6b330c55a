//! Rust crates fetched before the offline sandbox: `cargo vendor` from the lock file, then an
//! offline build whose C code (zlib, compiled by the `cc` crate inside `libz-sys`) uses the
//! same musl compiler as the recipe. Needs the network to crates' registry, bubblewrap,
//! gcc + musl-tools and the Rust musl target (scripts/setup.sh installs them).

use std::path::Path;

use serde_json::json;

use crate::support::{TestProject, assert_success, copy_tree, tools_for_examples};

const RECIPE: &str = r#"
build() {
  cargo build --release --locked --offline --manifest-path "$TARGETDIR/crate/Cargo.toml"
}
package() {
  install -Dm755 "$CARGO_TARGET_DIR/$RUST_TARGET/release/zcrate" "$DESTDIR/bin/zcrate"
}
"#;

fn project() -> TestProject {
    tools_for_examples();
    let metadata = json!({
        "zcrate": {"version_env_var": "V", "env": {"V": "0.1.0"}, "release_files": ["bin/zcrate"],
                   "verify": {"static": true, "pie": true, "relro": true, "nx": true,
                              "smoke": ["bin/zcrate"]}}
    });
    let project = TestProject::new(&metadata.to_string());
    project.write("zcrate/build.sh", RECIPE.as_bytes(), 0o644);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zcrate");
    let crate_dir = project.path().join("zcrate/crate");
    std::fs::create_dir_all(&crate_dir).unwrap();
    copy_tree(&fixture, &crate_dir, &["target"]);
    project
}

#[test]
fn crates_with_c_code_are_vendored_and_build_offline_in_the_sandbox() {
    let project = project();
    let out = project
        .boxwright()
        .args(["build", "zcrate"])
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ran in an empty root"), "{stderr}");
    let binary = project.path().join(".out/zcrate/bin/zcrate");
    let run = std::process::Command::new(&binary).output().unwrap();
    assert!(
        String::from_utf8_lossy(&run.stdout).starts_with("zcrate with zlib 1."),
        "{run:?}"
    );
    // zlib's C code was compiled against musl: its objects carry no glibc symbol versions.
    let vendor = project.path().join(".cache/zcrate/vendor");
    let vendored: Vec<String> = std::fs::read_dir(&vendor)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let dir = vendored
        .iter()
        .find(|n| n.starts_with("cargo-") && vendor.join(n).is_dir())
        .unwrap_or_else(|| panic!("no vendored crates in {vendored:?}"));
    for name in ["anyhow-", "libz-sys-", "cc-"] {
        assert!(
            std::fs::read_dir(vendor.join(dir)).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(name)),
            "{name} was not vendored"
        );
    }
    let readelf = std::process::Command::new("readelf")
        .arg("-lV")
        .arg(&binary)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&readelf.stdout);
    assert!(
        !text.contains("INTERP") && !text.contains("GLIBC_"),
        "{text}"
    );

    // The `cc` crate inside libz-sys compiled zlib with the recipe's musl compiler.
    let outputs: Vec<String> =
        walkdir::WalkDir::new(project.path().join(".cache/zcrate/work/cargo-target"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name() == "output" && e.path().to_string_lossy().contains("/build/libz-sys-")
            })
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
    assert!(
        outputs.iter().any(|o| o
            .lines()
            .any(|l| l.starts_with("CC_x86_64_unknown_linux_musl = Some(")
                && l.ends_with("/toolchain/bin/musl-gcc)"))),
        "libz-sys did not use the musl compiler: {outputs:?}"
    );

    // A second build reuses the vendored crates: nothing to rebuild, no network needed.
    let again = project
        .boxwright()
        .args(["build", "zcrate", "--offline"])
        .output()
        .unwrap();
    assert_success(&again);
    assert!(String::from_utf8_lossy(&again.stderr).contains("up to date"));
}

#[test]
fn a_lock_file_checksum_that_does_not_match_names_the_crate() {
    let project = project();
    let lock = project.path().join("zcrate/crate/Cargo.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    // Replace the checksum of anyhow with another valid-looking one.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let at = lines.iter().position(|l| l == "name = \"anyhow\"").unwrap();
    let checksum = (at..lines.len())
        .find(|&i| lines[i].starts_with("checksum = "))
        .unwrap();
    lines[checksum] = format!("checksum = \"{}\"", "0".repeat(64));
    std::fs::write(&lock, lines.join("\n") + "\n").unwrap();
    let out = project
        .boxwright()
        .args(["build", "zcrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cargo vendor could not fetch the dependencies of `zcrate`")
            && stderr.contains("anyhow"),
        "{stderr}"
    );
    assert!(!project.path().join(".out/zcrate").exists());
}

#[test]
fn go_modules_without_a_go_toolchain_name_what_is_missing() {
    let metadata = json!({"gotool": {"version_env_var": "V", "env": {"V": "1.0"}}});
    let project = TestProject::new(&metadata.to_string());
    project.write(
        "gotool/build.sh",
        b"build() { go build ./...; }\npackage() { :; }\n",
        0o644,
    );
    project.write(
        "gotool/src/go.mod",
        b"module example.invalid/gotool\n\ngo 1.19\n",
        0o644,
    );
    project.write("gotool/src/go.sum", b"", 0o644);
    // A PATH without any Go toolchain (and without bubblewrap: the error comes first).
    let empty = tempfile::tempdir().unwrap();
    let out = project
        .boxwright()
        .env("PATH", empty.path())
        .args(["build", "gotool"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`go (target `gotool` has ")
            && stderr.contains("gotool/src/go.sum)` is not installed (apt-get install golang-go)"),
        "{stderr}"
    );
}
