//! `release check` and `release package`.

use std::io::Read;
use std::process::Command;

use crate::support::TestProject;

const METADATA: &str = r#"{
  "nginx": { "tag_prefix": "nginx", "version_env_var": "NGINX_VERSION",
             "release_files": ["sbin/nginx"], "env": { "NGINX_VERSION": "1.28.2" } },
  "nginx-resty-upstream-healthcheck": {
    "tag_prefix": "nginx-resty-upstream-healthcheck", "version_env_var": "NGINX_VERSION",
    "release_files": ["sbin/nginx", "lualib/resty/core.lua", "lualib/resty/core/", "./lualib/resty/upstream/"],
    "env": { "NGINX_VERSION": "1.28.2" } },
  "apache-httpd": { "tag_prefix": "httpd", "version_env_var": "HTTPD_VERSION",
                    "release_files": ["bin/httpd", "bin/rotatelogs"], "env": { "HTTPD_VERSION": "2.4.66" } },
  "haproxy": { "tag_prefix": "haproxy", "version_env_var": "HAPROXY_VERSION",
               "release_files": ["sbin/haproxy"], "env": { "HAPROXY_VERSION": "3.2.13" } }
}"#;

fn check(project: &TestProject, tag: &str) -> (i32, String, String) {
    let out = project
        .boxwright()
        .args(["release", "check", tag])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn seed_valid_tags() {
    let project = TestProject::new(METADATA);
    for (tag, target, version, pre, revision) in [
        ("nginx-1.28.2.18", "nginx", "1.28.2", "", "18"),
        ("httpd-2.4.66.5", "apache-httpd", "2.4.66", "", "5"),
        ("haproxy-3.2.13-beta.0", "haproxy", "3.2.13", "beta", "0"),
        ("haproxy-3.2.13-rc.1.2", "haproxy", "3.2.13", "rc.1", "2"),
        (
            "nginx-resty-upstream-healthcheck-1.28.2.4",
            "nginx-resty-upstream-healthcheck",
            "1.28.2",
            "",
            "4",
        ),
    ] {
        let (code, stdout, stderr) = check(&project, tag);
        assert_eq!(code, 0, "{tag}: {stderr}");
        assert_eq!(
            stdout,
            format!(
                "target: {target}\nversion: {version}\nprerelease: {pre}\nrevision: {revision}\n"
            ),
            "{tag}"
        );
    }
    let out = project
        .boxwright()
        .args(["--json", "release", "check", "haproxy-3.2.13-beta.0"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["target"], "haproxy");
    assert_eq!(json["prerelease"], "beta");
    assert_eq!(json["revision"], 0);
}

#[test]
fn invalid_tags_exit_1_with_the_reason() {
    let project = TestProject::new(METADATA);
    for (tag, reason) in [
        ("nginx-1.28.2", "has no revision"),
        (
            "custom-1.0.0.0",
            "no known tag prefix (known: httpd, haproxy, nginx, nginx-resty-upstream-healthcheck)",
        ),
        (
            "nginx-1.28.2.x",
            "revision \"x\", which is not a non-negative integer",
        ),
        (
            "nginx-1.28.2.-1",
            "revision \"-1\", which is not a non-negative integer",
        ),
        (
            "nginx-1.27.0.3",
            "has version \"1.27.0\" but target `nginx` has official version \"1.28.2\"",
        ),
        ("httpd-2.4.65.1", "official version \"2.4.66\""),
        ("apache-httpd-2.4.66.1", "no known tag prefix"),
        ("haproxy-3.2.13-be ta.0", "pre-release"),
        ("", "the tag is empty"),
    ] {
        let (code, stdout, stderr) = check(&project, tag);
        assert_eq!(code, 1, "{tag:?} should fail: {stdout}");
        assert!(stdout.is_empty(), "{tag:?}: {stdout}");
        assert!(
            stderr.contains(reason),
            "{tag:?}: expected {reason:?} in {stderr}"
        );
    }
}

/// Fills `.out/<target>/` of the overlapping-prefix target with files of assorted modes.
fn resty_project() -> TestProject {
    let project = TestProject::new(METADATA);
    let out = ".out/nginx-resty-upstream-healthcheck";
    project.write(&format!("{out}/sbin/nginx"), b"\x7fELF not really", 0o700);
    project.write(
        &format!("{out}/lualib/resty/core.lua"),
        b"return {}\n",
        0o600,
    );
    project.write(
        &format!("{out}/lualib/resty/core/base.lua"),
        b"-- base\n",
        0o664,
    );
    project.write(
        &format!("{out}/lualib/resty/core/var.lua"),
        b"-- var\n",
        0o644,
    );
    project.write(
        &format!("{out}/lualib/resty/upstream/healthcheck.lua"),
        b"-- hc\n",
        0o644,
    );
    project.write(&format!("{out}/unlisted.txt"), b"not released\n", 0o644);
    std::os::unix::fs::symlink(
        "base.lua",
        project.path().join(out).join("lualib/resty/core/link.lua"),
    )
    .unwrap();
    project
}

const TAG: &str = "nginx-resty-upstream-healthcheck-1.28.2.0";

fn package(project: &TestProject, out_dir: &std::path::Path) -> std::process::Output {
    project
        .boxwright()
        .args(["release", "package", TAG, "-o"])
        .arg(out_dir)
        .output()
        .unwrap()
}

#[test]
fn package_is_reproducible_and_normalised() {
    let project = resty_project();
    let first = project.path().join("first");
    let second = project.path().join("second");
    let out = package(&project, &first);
    crate::support::assert_success(&out);
    // Touch every input: new mtimes must not change the archive.
    for f in ["sbin/nginx", "lualib/resty/core.lua"] {
        let path = project
            .path()
            .join(".out/nginx-resty-upstream-healthcheck")
            .join(f);
        let content = std::fs::read(&path).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, content).unwrap();
    }
    assert!(package(&project, &second).status.success());
    let name = format!("{TAG}.tar.gz");
    let a = std::fs::read(first.join(&name)).unwrap();
    let b = std::fs::read(second.join(&name)).unwrap();
    assert_eq!(a, b, "two packages of the same inputs differ");

    // gzip header: no name flag, mtime 0.
    assert_eq!(&a[..4], &[0x1f, 0x8b, 8, 0]);
    assert_eq!(&a[4..8], &[0, 0, 0, 0]);

    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(&a[..])
        .read_to_end(&mut tar_bytes)
        .unwrap();
    let mut archive = tar::Archive::new(&tar_bytes[..]);
    let entries: Vec<(String, u32, u64, u64, String)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                e.path().unwrap().display().to_string(),
                h.mode().unwrap(),
                h.mtime().unwrap(),
                h.uid().unwrap() + h.gid().unwrap(),
                h.username().unwrap().unwrap_or("").to_string()
                    + h.groupname().unwrap().unwrap_or(""),
            )
        })
        .collect();
    let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "lualib/resty/core/",
            "lualib/resty/core/base.lua",
            "lualib/resty/core/link.lua",
            "lualib/resty/core/var.lua",
            "lualib/resty/core.lua",
            "lualib/resty/upstream/",
            "lualib/resty/upstream/healthcheck.lua",
            "sbin/nginx",
        ]
    );
    let mode = |p: &str| entries.iter().find(|e| e.0 == p).unwrap().1;
    assert_eq!(mode("sbin/nginx"), 0o755);
    assert_eq!(mode("lualib/resty/core.lua"), 0o644);
    assert_eq!(mode("lualib/resty/core/base.lua"), 0o644);
    assert_eq!(mode("lualib/resty/core/"), 0o755);
    assert!(
        entries
            .iter()
            .all(|e| e.2 == 1_700_000_000 && e.3 == 0 && e.4.is_empty()),
        "{entries:?}"
    );

    // The .sha256 file is in sha256sum format and checks out.
    let sums = std::fs::read_to_string(first.join(format!("{name}.sha256"))).unwrap();
    assert_eq!(
        sums,
        format!("{}  {name}\n", crate::support::sha256_hex(&a))
    );
    let status = Command::new("sha256sum")
        .arg("-c")
        .arg(format!("{name}.sha256"))
        .current_dir(&first)
        .output()
        .unwrap();
    assert!(status.status.success());

    // GNU tar reads it and sees the symlink as a symlink.
    let listing = Command::new("tar")
        .arg("-tvzf")
        .arg(first.join(&name))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("lualib/resty/core/link.lua -> base.lua"),
        "{listing}"
    );
}

#[test]
fn missing_release_file_leaves_nothing_behind() {
    let project = resty_project();
    std::fs::remove_file(
        project
            .path()
            .join(".out/nginx-resty-upstream-healthcheck/lualib/resty/core.lua"),
    )
    .unwrap();
    let dest = project.path().join("dist");
    std::fs::create_dir(&dest).unwrap();
    let out = package(&project, &dest);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("release file `lualib/resty/core.lua` is missing"),
        "{stderr}"
    );
    assert!(
        project.list("dist").is_empty(),
        "{:?}",
        project.list("dist")
    );
}

#[test]
fn listed_directory_must_be_a_directory() {
    let project = resty_project();
    let core = project
        .path()
        .join(".out/nginx-resty-upstream-healthcheck/lualib/resty/core");
    std::fs::remove_dir_all(&core).unwrap();
    std::fs::write(&core, b"a file").unwrap();
    let out = package(&project, &project.path().join("dist"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
    assert!(project.list("dist").is_empty());
}

#[test]
fn package_uses_build_output_dest_and_default_directory() {
    let project = TestProject::new(METADATA);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(elsewhere.path().join("httpd-out/apache-httpd/bin")).unwrap();
    for f in ["httpd", "rotatelogs"] {
        std::fs::write(
            elsewhere.path().join("httpd-out/apache-httpd/bin").join(f),
            f,
        )
        .unwrap();
    }
    let out = project
        .boxwright()
        .env("BUILD_OUTPUT_DEST", elsewhere.path().join("httpd-out"))
        .args(["--json", "release", "package", "httpd-2.4.66.1"])
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["target"], "apache-httpd");
    assert_eq!(report["tag"], "httpd-2.4.66.1");
    assert_eq!(
        project.list(".out/release"),
        ["httpd-2.4.66.1.tar.gz", "httpd-2.4.66.1.tar.gz.sha256"]
    );
}

#[test]
fn package_refuses_an_invalid_tag_with_exit_1() {
    let project = resty_project();
    let out = project
        .boxwright()
        .args(["release", "package", "nginx-9.9.9.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!project.path().join(".out/release").exists());
}

#[test]
fn release_file_behind_a_symlink_out_of_the_output_dir_is_refused() {
    let project = TestProject::new(METADATA);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("nginx"), b"secret").unwrap();
    std::fs::create_dir_all(project.path().join(".out/nginx")).unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path().join(".out/nginx/sbin")).unwrap();
    let out = project
        .boxwright()
        .args(["release", "package", "nginx-1.28.2.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside the output directory"));
}
