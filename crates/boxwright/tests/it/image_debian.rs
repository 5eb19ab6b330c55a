//! An image from Debian bookworm's own packages (DESIGN.md, "Images from packages"): the
//! indexes fetched from Debian's archive and checked with Debian's keyring, busybox's httpd
//! run under s6 as an unprivileged user by podman, restarted by s6 when killed; the package
//! database checked by dpkg itself; the lock honoured offline, byte for byte.
//!
//! Needs the network to Debian's archive (as apt-get does here), podman, runc, dpkg and
//! curl (scripts/setup.sh installs them). One test, because every step builds on the lock
//! and the package cache of the one before.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::podman::{Podman, run};
use crate::support::{TestProject, require_tool};

const ARCHIVE: &str = "http://deb.debian.org/debian";
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// DESIGN.md's `web` target, serving `/srv` on 127.0.0.1:`port`.
fn web_metadata(port: u16) -> String {
    json!({ "web": { "image": {
        "packages": {
            "repositories": [ { "apt": ARCHIVE, "suite": "bookworm", "components": ["main"],
                                "key": KEYRING } ],
            "install": ["busybox-static", "ca-certificates", "s6", "execline"],
            "architectures": ["amd64"] },
        "accounts": { "users": [ { "name": "web", "uid": 1000, "gid": 1000, "home": "/srv",
                                   "shell": "/sbin/nologin" } ],
                      "groups": [ { "name": "web", "gid": 1000 } ], "run_as": "web" },
        "contents": { "/srv/index.html": "hello from s6\n" },
        "services": { "httpd": ["/bin/busybox", "httpd", "-f", "-p",
                                format!("127.0.0.1:{port}"), "-h", "/srv"] } } } })
    .to_string()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn boxwright_ok(project: &TestProject, args: &[&str]) -> String {
    let out = project.boxwright().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "boxwright {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `curl` of the page, `None` while it does not answer.
fn page(port: u16) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "2"])
        .arg(format!("http://127.0.0.1:{port}/index.html"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The pid of httpd in the container, when running (busybox's `ps`: httpd runs as
/// `/bin/busybox httpd ...`, so `pidof httpd` would not find it).
fn httpd_pid(podman: &Podman, name: &str) -> Option<String> {
    let out = podman
        .cmd()
        .args(["exec", name, "/bin/busybox", "ps", "-o", "pid,args"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|line| line.contains("/bin/busybox httpd"))
        .and_then(|line| line.split_whitespace().next())
        .map(str::to_string)
}

fn lock_names(project: &TestProject) -> Vec<String> {
    let lock: Value =
        serde_json::from_slice(&std::fs::read(project.path().join("metadata.lock.json")).unwrap())
            .unwrap();
    let packages = lock["images"]["web"]["architectures"]["amd64"]["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no amd64 packages in the lock: {lock}"));
    for package in packages {
        let url = package["url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{ARCHIVE}/pool/")), "{url}");
        assert_eq!(package["sha256"].as_str().unwrap().len(), 64);
    }
    let indexes = lock["images"]["web"]["architectures"]["amd64"]["indexes"]
        .as_array()
        .unwrap();
    assert!(
        indexes
            .iter()
            .any(|i| i["url"] == format!("{ARCHIVE}/dists/bookworm/InRelease")),
        "{indexes:?}"
    );
    packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

fn untar(tarball: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    run(Command::new("tar")
        .args(["--numeric-owner", "-xpf"])
        .arg(tarball)
        .arg("-C")
        .arg(dir));
}

#[test]
fn debian_bookworm_image_runs_busybox_httpd_under_s6_and_honours_its_lock() {
    for (tool, package) in [
        ("podman", "podman"),
        ("runc", "runc"),
        ("curl", "curl"),
        ("dpkg-query", "dpkg"),
    ] {
        require_tool(tool, &format!("apt-get install {package}"));
    }
    let port = free_port();
    let project = TestProject::new(&web_metadata(port));

    // The lock: every package from Debian's pool, with its digest; the signed InRelease.
    boxwright_ok(&project, &["image", "lock", "web"]);
    let names = lock_names(&project);
    for wanted in [
        "busybox-static",
        "ca-certificates",
        "s6",
        "execline",
        "libc6",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} not in {names:?}"
        );
    }

    let scratch = tempfile::tempdir().unwrap();
    let archive = scratch.path().join("web.tar");
    runs_under_s6(&project, port, &archive);
    dpkg_reads_the_database(&project, scratch.path(), &names);
    the_lock_is_honoured_offline(&project, scratch.path(), &archive, &names);
}

/// The image runs under podman: s6-svscan as PID 1, httpd as uid 1000, restarted by s6.
fn runs_under_s6(project: &TestProject, port: u16, archive: &Path) {
    let archive_arg = archive.to_str().unwrap();
    boxwright_ok(
        project,
        &[
            "image",
            "build",
            "web",
            "--locked",
            "--format",
            "docker-archive",
            "-o",
            archive_arg,
        ],
    );
    let podman = Podman::new();
    run(podman.cmd().args(["load", "-i", archive_arg]));
    let name = format!("web-{}", std::process::id());
    run(podman.cmd().args([
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        "web:latest",
    ]));
    let result = std::panic::catch_unwind(|| {
        wait_for("the page", || page(port).is_some());
        assert_eq!(page(port).unwrap(), "hello from s6\n");
        let pid = httpd_pid(&podman, &name).expect("httpd runs");
        let status = run(podman.cmd().args([
            "exec",
            &name,
            "/bin/busybox",
            "cat",
            &format!("/proc/{pid}/status"),
        ]));
        assert!(
            status
                .lines()
                .any(|l| l.starts_with("Uid:") && l.contains("\t1000\t")),
            "httpd does not run as uid 1000:\n{status}"
        );
        let init =
            run(podman
                .cmd()
                .args(["exec", &name, "/bin/busybox", "cat", "/proc/1/cmdline"]));
        assert!(init.contains("s6-svscan"), "PID 1 is {init:?}");
        // s6 restarts a killed httpd.
        run(podman
            .cmd()
            .args(["exec", &name, "/bin/busybox", "kill", &pid]));
        wait_for("a new httpd", || {
            httpd_pid(&podman, &name).is_some_and(|new| new != pid)
        });
        wait_for("the page again", || page(port).is_some());
    });
    let _ = podman.cmd().args(["rm", "-f", "-t", "0", &name]).output();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// dpkg itself reads the database (exactly the locked packages, nothing changed); the
/// services check and the SBOM read the image.
fn dpkg_reads_the_database(project: &TestProject, scratch: &Path, names: &[String]) {
    let rootfs = scratch.join("rootfs.tar");
    boxwright_ok(
        project,
        &[
            "image",
            "build",
            "web",
            "--locked",
            "--format",
            "rootfs",
            "-o",
            rootfs.to_str().unwrap(),
        ],
    );
    let root = scratch.join("root");
    untar(&rootfs, &root);
    let listed = run(Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            root.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f", "${Package} ${db:Status-Abbrev}\\n"]));
    let mut installed: Vec<String> = listed
        .lines()
        .map(|l| {
            assert!(l.ends_with(" ii "), "not installed: {l}");
            l.split(' ').next().unwrap().to_string()
        })
        .collect();
    installed.sort();
    let mut locked = names.to_vec();
    locked.sort();
    assert_eq!(installed, locked);
    let verify = Command::new("dpkg")
        .arg("--root")
        .arg(&root)
        .arg("--verify")
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");
    assert_eq!(
        String::from_utf8_lossy(&verify.stdout),
        "",
        "dpkg --verify found changes"
    );
    let os_release = std::fs::read_to_string(root.join("etc/os-release")).unwrap();
    assert!(
        os_release
            .lines()
            .any(|l| l == "ID=debian" || l == "ID=\"debian\""),
        "{os_release}"
    );
    // The services check passes on the image.
    boxwright_ok(project, &["verify", "--image", rootfs.to_str().unwrap()]);
    // The SBOM lists every package with its distribution-qualified purl, read from dpkg's
    // database in the image.
    let sbom: Value = serde_json::from_str(&boxwright_ok(
        project,
        &[
            "sbom",
            rootfs.to_str().unwrap(),
            "--format",
            "cyclonedx-json",
        ],
    ))
    .unwrap();
    let purls: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    for name in names {
        let prefix = format!("pkg:deb/debian/{name}@");
        assert!(
            purls
                .iter()
                .any(|p| p.starts_with(&prefix) && p.contains("distro=debian-12")),
            "no {prefix}...&distro=debian-12 in {purls:?}"
        );
    }
}

/// No index and no network: the lock and the package cache alone, byte-identical; a cached
/// package whose bytes differ from the lock is refused, naming it.
fn the_lock_is_honoured_offline(
    project: &TestProject,
    scratch: &Path,
    archive: &Path,
    names: &[String],
) {
    std::fs::remove_dir_all(project.path().join(".tmp/indexes")).unwrap();
    let again = scratch.join("web-again.tar");
    boxwright_ok(
        project,
        &[
            "image",
            "build",
            "web",
            "--locked",
            "--offline",
            "--format",
            "docker-archive",
            "-o",
            again.to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read(archive).unwrap() == std::fs::read(&again).unwrap(),
        "a second build from the lock differs"
    );

    // A cached package whose bytes differ from the lock is refused, naming it.
    let cache = project.path().join(".tmp/packages");
    let busybox = names.iter().position(|n| n == "busybox-static").unwrap();
    let lock: Value =
        serde_json::from_slice(&std::fs::read(project.path().join("metadata.lock.json")).unwrap())
            .unwrap();
    let sha = lock["images"]["web"]["architectures"]["amd64"]["packages"][busybox]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let cached = cache.join(format!("{sha}.deb"));
    let mut bytes = std::fs::read(&cached).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&cached, bytes).unwrap();
    let out = project
        .boxwright()
        .args([
            "image",
            "build",
            "web",
            "--locked",
            "--offline",
            "--format",
            "rootfs",
            "-o",
        ])
        .arg(scratch.join("refused.tar"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("busybox-static"), "{stderr}");
    assert!(!scratch.join("refused.tar").exists());
}
