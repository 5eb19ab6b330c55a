//! Images from packages (issue 21): the metadata of `image.packages`, `image.accounts` and
//! `image.services` (bad input names its key, nothing is written), a target with only an
//! image, and `verify --image` on an image's s6 services.

use std::path::Path;

use crate::support::TestProject;

const WEB: &str = r#"{
  "web": { "image": {
    "packages": {
      "repositories": [
        { "apt": "http://deb.debian.org/debian", "suite": "bookworm", "components": ["main"],
          "key": "/usr/share/keyrings/debian-archive-keyring.gpg" },
        { "apk": "http://127.0.0.1:8080/3.20/main", "keys": ["keys/repo.rsa.pub"] } ],
      "install": ["busybox-static", "ca-certificates", "s6", "execline"],
      "architectures": ["amd64"] },
    "accounts": { "users": [ { "name": "web", "uid": 1000, "gid": 1000, "home": "/srv",
                               "shell": "/sbin/nologin" } ],
                  "groups": [ { "name": "web", "gid": 1000 } ], "run_as": "web" },
    "services": { "httpd": ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/srv"] } } }
}"#;

fn output(command: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_target_with_only_packages_loads_and_is_not_built() {
    let project = TestProject::new(WEB);
    let (code, stdout, stderr) = output(project.boxwright().args(["targets", "--json"]));
    assert_eq!(code, 0, "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows[0]["name"], "web");
    assert_eq!(rows[0]["version"], "");
    let (code, _, stderr) = output(project.boxwright().args(["build", "--all"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("has a recipe"), "{stderr}");
    assert!(!project.path().join(".out").exists());
}

#[test]
fn bad_image_metadata_names_the_key_and_writes_nothing() {
    let cases = [
        (
            "\"keys\": [\"keys/repo.rsa.pub\"]",
            "\"keys\": []",
            "/web/image/packages/repositories/1/keys",
        ),
        (
            "\"key\": \"/usr/share/keyrings/debian-archive-keyring.gpg\"",
            "\"x-key\": 1",
            "/web/image/packages/repositories/0/key",
        ),
        (
            "\"execline\"]",
            "\"execline=\"]",
            "/web/image/packages/install/3",
        ),
        (
            "\"run_as\": \"web\"",
            "\"run_as\": \"nobody\"",
            "/web/image/accounts/run_as",
        ),
        (
            "\"uid\": 1000",
            "\"uid\": \"1000\"",
            "/web/image/accounts/users/0/uid",
        ),
        (
            "\"httpd\": [\"/bin/busybox\"",
            "\"httpd\": [\"busybox\"",
            "/web/image/services/httpd/0",
        ),
        (
            "\"httpd\":",
            "\"../httpd\":",
            "/web/image/services/..~1httpd",
        ),
    ];
    for (from, to, pointer) in cases {
        assert!(WEB.contains(from), "{from}");
        let project = TestProject::new(&WEB.replacen(from, to, 1));
        let out = project.path().join("out");
        let (code, _, stderr) = output(
            project
                .boxwright()
                .args(["image", "build", "web", "--format", "oci", "-o"])
                .arg(&out),
        );
        assert_eq!(code, 2, "{to}: {stderr}");
        assert!(stderr.contains(&format!("at {pointer}")), "{to}: {stderr}");
        let (code, _, stderr) = output(project.boxwright().arg("targets"));
        assert_eq!(code, 2, "{to}: {stderr}");
        assert!(stderr.contains(pointer), "{to}: {stderr}");
        assert!(!out.exists(), "{to}: nothing written");
        assert!(!project.path().join("metadata.lock.json").exists());
        assert!(!project.path().join(".tmp").exists() && !project.path().join(".cache").exists());
    }
}

/// A target whose image holds two s6 services from its own files (a rootfs overlay): one
/// starts a program the image has, the other one it lacks.
const SERVICES: &str = r##"{
  "svc": { "version_env_var": "V", "env": { "V": "1.0" },
    "image": { "platforms": ["linux/amd64"],
      "contents": {
        "/etc/services.d/web/run": "#!/bin/execlineb -P\n\"/bin/busybox\" \"httpd\" \"-f\"\n",
        "/etc/services.d/broken/run": "#!/bin/execlineb -P\n\"/usr/sbin/missing-daemon\" \"-f\"\n"
      },
      "entrypoint": ["/bin/s6-svscan", "/etc/services.d"] } }
}"##;

fn services_project(metadata: &str) -> TestProject {
    let project = TestProject::new(metadata);
    let true_bin = std::fs::read("/usr/bin/true").unwrap();
    for name in ["execlineb", "busybox", "s6-svscan"] {
        project.write(&format!("svc/rootfs/bin/{name}"), &true_bin, 0o755);
    }
    project
}

fn image_build(project: &TestProject, format: &str, out: &Path) {
    let (code, _, stderr) = output(
        project
            .boxwright()
            .args(["image", "build", "svc", "--format", format, "-o"])
            .arg(out),
    );
    assert_eq!(code, 0, "image build --format {format}: {stderr}");
}

#[test]
fn verify_image_names_the_broken_service_and_the_missing_path() {
    let project = services_project(SERVICES);
    let layout = project.path().join("layout");
    let rootfs = project.path().join("rootfs.tar");
    image_build(&project, "oci", &layout);
    image_build(&project, "rootfs", &rootfs);
    for subject in [
        layout.display().to_string(),
        format!("{}:1.0", layout.display()),
        rootfs.display().to_string(),
    ] {
        let (code, stdout, stderr) =
            output(project.boxwright().args(["verify", "--image", &subject]));
        assert_eq!(code, 1, "{subject}: {stdout}{stderr}");
        assert!(
            stderr.contains("service `broken`: /usr/sbin/missing-daemon: /usr does not exist"),
            "{subject}: {stderr}"
        );
        assert!(!stderr.contains("service `web`"), "{subject}: {stderr}");
        assert!(
            stdout.contains("broken  FAILED") && stdout.contains("web  ok"),
            "{stdout}"
        );
    }
    let (code, stdout, stderr) = output(
        project
            .boxwright()
            .args(["--json", "verify", "--image"])
            .arg(&layout),
    );
    assert_eq!(code, 1, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["services"], serde_json::json!(["broken", "web"]));
    assert_eq!(report["problems"][0]["path"], "/usr/sbin/missing-daemon");
}

#[test]
fn verify_image_passes_a_sound_image_and_checks_its_entrypoint() {
    let sound = SERVICES.replace(
        ",\n        \"/etc/services.d/broken/run\": \"#!/bin/execlineb -P\\n\\\"/usr/sbin/missing-daemon\\\" \\\"-f\\\"\\n\"",
        "",
    );
    assert_ne!(sound, SERVICES);
    let project = services_project(&sound);
    let layout = project.path().join("layout");
    image_build(&project, "oci", &layout);
    let (code, stdout, stderr) =
        output(project.boxwright().args(["verify", "--image"]).arg(&layout));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("web  ok"), "{stdout}");
    let moved = sound.replace("\"/bin/s6-svscan\"", "\"/usr/bin/s6-svscan\"");
    let project = services_project(&moved);
    image_build(&project, "oci", &layout);
    let (code, _, stderr) = output(project.boxwright().args(["verify", "--image"]).arg(&layout));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("service `entrypoint`: /usr/bin/s6-svscan"),
        "{stderr}"
    );
    let (code, _, stderr) = output(project.boxwright().args(["verify", "--image", "svc"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is a target"), "{stderr}");
}
