//! Hints that point the right way (issue 22): platforms, architectures and bases checked at
//! load with the known list and a did-you-mean, unknown keys, targets and subcommands with
//! the closest known name, release tags of targets that have none.

use crate::support::{TestProject, boxwright};

fn run(project: &TestProject, args: &[&str]) -> (i32, String) {
    let out = project.boxwright().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with_image(image: &str) -> TestProject {
    TestProject::new(&format!(
        r#"{{"nginx": {{"version_env_var": "V", "env": {{"V": "1.28.2"}}, "image": {image}}},
            "haproxy": {{"version_env_var": "V", "env": {{"V": "3.2.13"}}}}}}"#
    ))
}

#[test]
fn a_mistyped_platform_is_refused_at_load_with_the_known_list() {
    let project = with_image(r#"{"platforms": ["linux/amd64", "linux/amd46"]}"#);
    let (code, stderr) = run(&project, &["targets"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "at /nginx/image/platforms/1: unknown platform `linux/amd46`; did you mean \
             `linux/amd64`? (known: linux/amd64, linux/arm64, linux/arm64/v8, linux/arm/v7,"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("build the target first"), "{stderr}");
}

#[test]
fn a_mistyped_platform_or_arch_on_the_command_line_is_refused() {
    let project = with_image(r#"{"files": {"/x": "x"}}"#);
    let (code, stderr) = run(
        &project,
        &[
            "image",
            "build",
            "nginx",
            "--format",
            "oci",
            "--platform",
            "linux/amd46",
            "-o",
            project.path().join("out").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--platform: unknown platform `linux/amd46`; did you mean `linux/amd64`?"),
        "{stderr}"
    );
    let (code, stderr) = run(&project, &["build", "nginx", "--arch", "amd46"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("unknown architecture `amd46`; did you mean `amd64`?"),
        "{stderr}"
    );
}

#[test]
fn a_base_close_to_scratch_suggests_scratch_not_a_registry() {
    let project = with_image(r#"{"base": "scrach"}"#);
    let (code, stderr) = run(&project, &["targets"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "at /nginx/image/base: base `scrach` is not `scratch`; did you mean `scratch`?"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("/scrach:"), "{stderr}");
}

#[test]
fn unknown_metadata_keys_name_the_closest_known_key_at_every_level() {
    for (image, pointer, key, close) in [
        (
            r#"{}, "release_file": []"#,
            "/nginx/release_file",
            "release_file",
            "release_files",
        ),
        (
            r#"{"entrypiont": []}"#,
            "/nginx/image/entrypiont",
            "entrypiont",
            "entrypoint",
        ),
        (
            r#"{"packages": {"repositories": [], "instal": []}}"#,
            "/nginx/image/packages/instal",
            "instal",
            "install",
        ),
    ] {
        let project = with_image(image);
        let (code, stderr) = run(&project, &["targets"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains(&format!(
                "at {pointer}: unknown key `{key}`; did you mean `{close}`?"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn unknown_targets_name_the_closest_target_or_list_them() {
    let project = with_image("{}");
    for args in [
        &["build", "ngnix"][..],
        &["fetch", "ngnix"],
        &["metadata", "get", "ngnix", "version"],
        &[
            "image",
            "build",
            "ngnix",
            "--format",
            "oci",
            "-o",
            "/nonexistent/out",
        ],
    ] {
        let (code, stderr) = run(&project, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("unknown target `ngnix`; did you mean `nginx`?"),
            "{args:?}: {stderr}"
        );
    }
    let (code, stderr) = run(&project, &["build", "apache"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("unknown target `apache` (known: haproxy, nginx)"),
        "{stderr}"
    );
}

#[test]
fn a_mistyped_subcommand_gets_clap_suggestion() {
    let out = boxwright().arg("imgae").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unrecognized subcommand 'imgae'")
            && stderr.contains("a similar subcommand exists: 'image'"),
        "{stderr}"
    );
}

#[test]
fn release_check_of_a_mirror_target_says_it_has_no_release_tags() {
    let project = TestProject::new(
        r#"{"tool": {"upstream": {"github": "owner/tool"}, "image": {"platforms": ["linux/amd64"]}}}"#,
    );
    let (code, stderr) = run(&project, &["release", "check", "tool-1.2.0.0"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("names target `tool`, which has no release tags: it is a mirror target"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("tool-.0") && !stderr.contains("version \"\""),
        "{stderr}"
    );
}
