//! Seed 000's real targets from their real sources (examples/seed000): zlib, pcre2, OpenSSL
//! and musl's crypt as library targets, nginx built against them, dnsmasq on its own.
//!
//! The sources are Debian's orig tarballs, fetched once by scripts/debian-sources.sh into the
//! test target directory and copied into the project's `.tmp/` (a cached file whose digest
//! matches is used without the network). The project is built once per test run, in one
//! shared directory under a file lock: the first test builds everything (minutes: OpenSSL),
//! the others find it up to date through boxwright's own build records.
//!
//! Needs apt-get with Debian's archive reachable, bubblewrap, gcc + musl-tools,
//! linux-libc-dev, make, perl, pkg-config and curl (scripts/setup.sh installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{assert_success, boxwright, copy_tree, require_tool, tools_for_examples};

const TARGETS: &[&str] = &["crypt", "dnsmasq", "nginx", "openssl", "pcre2", "zlib"];

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies the example project (metadata and recipes, no outputs) over `dir`.
fn sync_project(dir: &Path) {
    let example = checkout().join("examples/seed000");
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(&example).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if matches!(name.to_str(), Some(".tmp" | ".cache" | ".out")) {
            continue;
        }
        let to = dir.join(&name);
        if entry.file_type().unwrap().is_dir() {
            if to.exists() {
                std::fs::remove_dir_all(&to).unwrap();
            }
            std::fs::create_dir_all(&to).unwrap();
            copy_tree(&entry.path(), &to, &[]);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// The orig tarballs, downloaded once per target directory.
fn debian_sources() -> PathBuf {
    require_tool("apt-get", "a Debian machine");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("debian-sources");
    let out = Command::new("bash")
        .arg(checkout().join("scripts/debian-sources.sh"))
        .arg(&dir)
        .output()
        .unwrap();
    assert_success(&out);
    dir
}

/// The seed 000 project, built (or found up to date) in the shared directory.
fn built() -> PathBuf {
    tools_for_examples();
    for (tool, package) in [
        ("make", "make"),
        ("perl", "perl"),
        ("pkg-config", "pkg-config"),
    ] {
        require_tool(tool, &format!("apt-get install {package}"));
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(root).unwrap();
    let lock = std::fs::File::create(root.join("seed000.lock")).unwrap();
    lock.lock().unwrap();
    let sources = debian_sources();
    let dir = root.join("seed000");
    sync_project(&dir);
    let tmp = dir.join(".tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    for entry in std::fs::read_dir(&sources).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() && !tmp.join(entry.file_name()).exists() {
            std::fs::copy(entry.path(), tmp.join(entry.file_name())).unwrap();
        }
    }
    let out = build(&dir, &["--all", "-j", "2"]);
    assert_success(&out);
    lock.unlock().unwrap();
    dir
}

fn build(dir: &Path, args: &[&str]) -> Output {
    boxwright()
        .arg("--project")
        .arg(dir)
        .arg("--json")
        .arg("build")
        .args(args)
        .output()
        .unwrap()
}

fn statuses(out: &Output) -> Vec<(String, String)> {
    assert_success(out);
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found: Vec<(String, String)> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

/// Runs `binary ARGS` in an empty root: bubblewrap with a fresh tmpfs as `/` holding only it.
fn in_empty_root(binary: &Path, args: &[&str]) -> Output {
    require_tool("bwrap", "apt-get install bubblewrap");
    Command::new("bwrap")
        .args([
            "--unshare-all",
            "--die-with-parent",
            "--tmpfs",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--ro-bind",
        ])
        .arg(binary)
        .args(["/binary", "--", "/binary"])
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

#[test]
fn nginx_is_a_static_pie_with_openssl_pcre2_and_zlib_and_runs_in_an_empty_root() {
    let dir = built();
    let nginx = dir.join(".out/nginx/sbin/nginx");
    let out = boxwright()
        .args(["verify", "--policy", "static,pie,relro,nx"])
        .arg(&nginx)
        .output()
        .unwrap();
    assert_success(&out);
    let version = in_empty_root(&nginx, &["-V"]);
    assert_success(&version);
    // nginx -V prints to stderr.
    let text = String::from_utf8_lossy(&version.stderr);
    assert!(text.contains("nginx version: nginx/1.22.1"), "{text}");
    assert!(text.contains("built with OpenSSL 3.0.22"), "{text}");
    assert!(text.contains("--with-http_ssl_module"), "{text}");
    // Library targets ship static libraries only.
    for lib in [
        "zlib/lib/libz.a",
        "pcre2/lib/libpcre2-8.a",
        "openssl/lib/libssl.a",
        "openssl/lib/libcrypto.a",
        "crypt/lib/libcrypt.a",
    ] {
        assert!(dir.join(".out").join(lib).is_file(), "{lib} missing");
    }
    let shared: Vec<_> = walkdir::WalkDir::new(dir.join(".out"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".so"))
        .map(|e| e.path().to_path_buf())
        .collect();
    assert!(
        shared.is_empty(),
        "shared libraries in the outputs: {shared:?}"
    );
}

#[test]
fn dnsmasq_version_runs_in_an_empty_root() {
    let dir = built();
    let dnsmasq = dir.join(".out/dnsmasq/sbin/dnsmasq");
    let out = boxwright()
        .args(["verify", "--policy", "static,pie,relro,nx"])
        .arg(&dnsmasq)
        .output()
        .unwrap();
    assert_success(&out);
    let version = in_empty_root(&dnsmasq, &["--version"]);
    assert_success(&version);
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(text.starts_with("Dnsmasq version 2.90"), "{text}");
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn nginx_serves_a_file_from_a_sandbox_on_loopback() {
    let dir = built();
    require_tool("curl", "apt-get install curl");
    let prefix = tempfile::tempdir().unwrap();
    // The binary goes into the prefix: the sandbox's /tmp is private, and the checkout (with
    // the built project) may be under the host's /tmp.
    let nginx = prefix.path().join("sbin/nginx");
    std::fs::create_dir_all(nginx.parent().unwrap()).unwrap();
    std::fs::copy(dir.join(".out/nginx/sbin/nginx"), &nginx).unwrap();
    let root = prefix.path().join("html");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("index.html"), "served by a static nginx\n").unwrap();
    for sub in ["logs", "temp"] {
        std::fs::create_dir_all(prefix.path().join(sub)).unwrap();
    }
    let port = free_port();
    let conf = prefix.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\nerror_log stderr info;\npid {p}/logs/nginx.pid;\n\
             events {{ worker_connections 16; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {p}/temp/body;\n  proxy_temp_path {p}/temp/proxy;\n  \
             fastcgi_temp_path {p}/temp/fastcgi;\n  uwsgi_temp_path {p}/temp/uwsgi;\n  scgi_temp_path {p}/temp/scgi;\n  \
             server {{ listen 127.0.0.1:{port}; root {p}/html; }}\n}}\n",
            p = prefix.path().display()
        ),
    )
    .unwrap();
    // The sandbox: the host read-only, only the prefix writable, the network shared so the
    // loopback port is reachable from here.
    let mut server = Command::new("bwrap")
        .args([
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--bind",
        ])
        .arg(prefix.path())
        .arg(prefix.path())
        .args(["--unshare-pid", "--unshare-ipc", "--die-with-parent", "--"])
        .arg(&nginx)
        .arg("-p")
        .arg(prefix.path())
        .arg("-c")
        .arg(&conf)
        .env_clear()
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut body = String::new();
    for _ in 0..100 {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "2"])
            .arg(format!("http://127.0.0.1:{port}/index.html"))
            .output()
            .unwrap();
        if out.status.success() {
            body = String::from_utf8_lossy(&out.stdout).into_owned();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = server.kill();
    let output = server.wait_with_output().unwrap();
    assert_eq!(
        body,
        "served by a static nginx\n",
        "nginx said:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn release_package_of_nginx_holds_sbin_nginx() {
    let dir = built();
    let metadata: Value =
        serde_json::from_slice(&std::fs::read(dir.join("metadata.json")).unwrap()).unwrap();
    let version = metadata["nginx"]["env"]["NGINX_VERSION"].as_str().unwrap();
    let tag = format!("nginx-{version}.0");
    let out_dir = tempfile::tempdir().unwrap();
    let out = boxwright()
        .arg("--project")
        .arg(&dir)
        .args(["release", "package", &tag, "-o"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert_success(&out);
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(out_dir.path().join(format!("{tag}.tar.gz")))
        .output()
        .unwrap();
    assert_success(&listing);
    assert_eq!(String::from_utf8_lossy(&listing.stdout), "sbin/nginx\n");
}

/// A copy of the built project (sources, outputs and build records; no work directories).
fn copy_built(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    sync_project(copy.path());
    for sub in [".tmp", ".out"] {
        std::fs::create_dir_all(copy.path().join(sub)).unwrap();
        copy_tree(&dir.join(sub), &copy.path().join(sub), &[]);
    }
    for target in TARGETS {
        let cache = copy.path().join(".cache").join(target);
        std::fs::create_dir_all(&cache).unwrap();
        std::fs::copy(
            dir.join(".cache").join(target).join("build-x86_64.json"),
            cache.join("build-x86_64.json"),
        )
        .unwrap();
    }
    copy
}

#[test]
fn nothing_changed_rebuilds_nothing_and_a_zlib_recipe_change_rebuilds_zlib_and_nginx() {
    let dir = built();
    let copy = copy_built(&dir);
    let again = build(copy.path(), &["--all"]);
    assert!(
        statuses(&again).iter().all(|(_, s)| s == "up_to_date"),
        "{:?}",
        statuses(&again)
    );
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to rebuild: 6 targets up to date")
    );

    let recipe = copy.path().join("zlib/build.sh");
    let mut text = std::fs::read_to_string(&recipe).unwrap();
    text.push_str("\n# touched by the test\n");
    std::fs::write(&recipe, text).unwrap();
    let after = statuses(&build(copy.path(), &["--all", "-j", "2"]));
    let rebuilt: Vec<&str> = after
        .iter()
        .filter(|(_, s)| s == "built")
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(rebuilt, ["nginx", "zlib"], "{after:?}");
}
