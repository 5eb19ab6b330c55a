//! Seed 001 end to end on the bundled example project: the `distro` target built, packed as a
//! flat rootfs tarball, released as `404-distro.tar.gz` with a minisign-signed manifest
//! (key in `DISTRO_MANIFEST_SIGNING_KEY`), published to a directory, verified from it and
//! over HTTP; then the tarball is imported the way `wsl --import` takes it: extracted by GNU
//! tar into an empty directory, holding exactly seed 001's files, its proxy running in an
//! empty root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::http::{FixtureServer, Reply};
use crate::support::{TestProject, example_project, require_tool, sha256_hex, tools_for_examples};

const TAG: &str = "distro-0.1.0.0";
const KEY_ENV: &str = "DISTRO_MANIFEST_SIGNING_KEY";

/// The regular files seed 001 says the distro tarball holds ("Make sure you see the following
/// files"); everything else in it is a directory.
const SEED_FILES: &[&str] = &[
    "etc/wsl.conf",
    "opt/404/404-init.sh",
    "opt/404/distro-version",
    "opt/404/static",
    "opt/404/ttl_editor.o",
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Relative paths of the entries below `dir` that `keep` accepts, sorted.
fn entries(dir: &Path, keep: impl Fn(&walkdir::DirEntry) -> bool) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(Result::unwrap)
        .filter(keep)
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

fn files(dir: &Path) -> Vec<String> {
    entries(dir, |e| e.file_type().is_file())
}

/// `binary ARGS` alone in an empty root: a tmpfs `/` holding nothing but the binary (no
/// libc, no loader, no /etc), with no network or other namespaces shared.
fn in_empty_root(binary: &Path, args: &[&str]) -> Output {
    require_tool("bwrap", "apt-get install bubblewrap");
    Command::new("bwrap")
        .args(["--unshare-all", "--die-with-parent", "--tmpfs", "/"])
        .arg("--ro-bind")
        .arg(binary)
        .args(["/static", "--", "/static"])
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

fn gnu_tar() -> Command {
    let version = Command::new("tar").arg("--version").output().unwrap();
    assert!(
        text(&version.stdout).contains("GNU tar"),
        "this test needs GNU tar: apt-get install tar"
    );
    Command::new("tar")
}

/// The example project with distro built and packed, a minisign key pair in `keys`.
struct Release {
    project: TestProject,
    keys: tempfile::TempDir,
    secret: String,
    tarball: Vec<u8>,
}

impl Release {
    /// `boxwright ARGS` with the secret key's text in `DISTRO_MANIFEST_SIGNING_KEY`.
    fn signed(&self, what: &str, args: &[&str]) -> String {
        ok(
            what,
            &self
                .project
                .boxwright()
                .args(args)
                .env(KEY_ENV, &self.secret)
                .output()
                .unwrap(),
        )
    }

    fn public(&self) -> PathBuf {
        self.keys.path().join("distro.pub")
    }

    fn verify(&self, base: &str, key: &Path, out_dir: &Path) -> Output {
        self.project
            .boxwright()
            .args(["release", "verify", base, "--key"])
            .arg(key)
            .arg("-o")
            .arg(out_dir)
            .output()
            .unwrap()
    }
}

/// A minisign key pair at `PREFIX.key` and `PREFIX.pub`.
fn generate_key(project: &TestProject, prefix: &Path) {
    ok(
        "key generate",
        &project
            .boxwright()
            .args(["key", "generate", "--format", "minisign", "--output"])
            .arg(prefix)
            .output()
            .unwrap(),
    );
}

/// Tag check, build, rootfs tarball and a throw-away key, as docs/guides/distro-release.md runs them.
fn built() -> Release {
    tools_for_examples();
    let project = example_project();
    let run = |what: &str, args: &[&str]| {
        ok(
            what,
            &project
                .boxwright()
                .args(args)
                .env_remove(KEY_ENV)
                .output()
                .unwrap(),
        )
    };

    // The tag grammar takes distro's tag: prefix `distro`, version from DISTRO_VERSION.
    let check: serde_json::Value =
        serde_json::from_str(&run("release check", &["--json", "release", "check", TAG])).unwrap();
    assert_eq!(check["target"], "distro", "{check}");
    assert_eq!(check["version"], "0.1.0", "{check}");
    assert_eq!(check["revision"], 0, "{check}");

    // Build, then the flat rootfs tarball the `release` object names.
    run("build distro", &["build", "distro"]);
    let rootfs = project.path().join(".out/distro-rootfs.tar.gz");
    run(
        "image build",
        &[
            "image",
            "build",
            "distro",
            "--format",
            "rootfs",
            "-o",
            rootfs.to_str().unwrap(),
        ],
    );
    let tarball = std::fs::read(&rootfs).unwrap();

    // A throw-away minisign key pair, the secret key's text in the environment as CI has it.
    let keys = tempfile::tempdir().unwrap();
    generate_key(&project, &keys.path().join("distro"));
    let secret = std::fs::read_to_string(keys.path().join("distro.key")).unwrap();
    Release {
        project,
        keys,
        secret,
        tarball,
    }
}

/// `release manifest`: the manifest, its signature and the artifact under `<tag>/`.
fn check_manifest(release: &Release) {
    let staged = release.project.path().join(".out/release").join(TAG);
    release.signed("release manifest", &["release", "manifest", TAG]);
    assert_eq!(
        files(&staged),
        [
            format!("{TAG}/404-distro.tar.gz"),
            "manifest.json".to_string(),
            "manifest.json.sig".to_string(),
        ]
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(staged.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["target"], "distro");
    assert_eq!(manifest["version"], "0.1.0");
    assert_eq!(manifest["tag"], TAG);
    let artifacts = manifest["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 1, "{manifest}");
    assert_eq!(artifacts[0]["name"], "404-distro.tar.gz");
    assert_eq!(artifacts[0]["path"], format!("{TAG}/404-distro.tar.gz"));
    assert_eq!(artifacts[0]["size"], release.tarball.len());
    assert_eq!(artifacts[0]["sha256"], sha256_hex(&release.tarball));
}

/// `release publish --to DEST`: seed 001's stable and versioned objects; returns `DEST/distro`.
fn check_publish(release: &Release, dest: &Path) -> PathBuf {
    release.signed(
        "release publish",
        &["release", "publish", TAG, "--to", dest.to_str().unwrap()],
    );
    let base = dest.join("distro");
    assert_eq!(
        files(dest),
        [
            format!("distro/{TAG}/404-distro.tar.gz"),
            format!("distro/{TAG}/manifest.json"),
            format!("distro/{TAG}/manifest.json.sig"),
            "distro/manifest.json".to_string(),
            "distro/manifest.json.sig".to_string(),
        ]
    );
    assert_eq!(
        std::fs::read(base.join(format!("{TAG}/404-distro.tar.gz"))).unwrap(),
        release.tarball
    );
    // minisign itself accepts the stable manifest's signature.
    let out = Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(release.public())
        .arg("-m")
        .arg(base.join("manifest.json"))
        .arg("-x")
        .arg(base.join("manifest.json.sig"))
        .output()
        .unwrap();
    ok("minisign -V", &out);
    base
}

/// `release verify` from the directory and over HTTP; another key is refused. Returns the
/// directory the verified `404-distro.tar.gz` was written to.
fn check_verify(release: &Release, base: &Path, scratch: &Path) -> PathBuf {
    let out_dir = scratch.join("from-dir");
    let stdout = ok(
        "release verify DIR",
        &release.verify(base.to_str().unwrap(), &release.public(), &out_dir),
    );
    assert!(stdout.contains(&sha256_hex(&release.tarball)), "{stdout}");
    assert_eq!(files(&out_dir), ["404-distro.tar.gz"]);

    let server = FixtureServer::start();
    for relative in files(base) {
        let body = std::fs::read(base.join(&relative)).unwrap();
        server.route(
            &format!("/updates/distro/{relative}"),
            vec![Reply::Ok(body)],
        );
    }
    let http_dir = scratch.join("from-http");
    ok(
        "release verify URL",
        &release.verify(&server.url("/updates/distro"), &release.public(), &http_dir),
    );
    assert_eq!(
        std::fs::read(http_dir.join("404-distro.tar.gz")).unwrap(),
        release.tarball
    );

    // Another key does not verify it, and nothing is written.
    let other = release.keys.path().join("other");
    generate_key(&release.project, &other);
    let refused = scratch.join("refused");
    let out = release.verify(
        base.to_str().unwrap(),
        &other.with_extension("pub"),
        &refused,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        !refused.exists(),
        "a refused release wrote {}",
        refused.display()
    );
    out_dir
}

/// The WSL-like import: GNU tar into an empty directory holds exactly the seed's files, and
/// the proxy runs alone in an empty root.
fn check_import(tarball: &Path, root: &Path) {
    std::fs::create_dir(root).unwrap();
    let listing = ok(
        "tar -tzf",
        &gnu_tar().arg("-tzf").arg(tarball).output().unwrap(),
    );
    for name in listing.lines() {
        assert!(
            !name.starts_with('/') && !name.split('/').any(|part| part == ".."),
            "unsafe entry {name:?}"
        );
    }
    ok(
        "tar -xzf",
        &gnu_tar()
            .arg("-xzf")
            .arg(tarball)
            .arg("-C")
            .arg(root)
            .output()
            .unwrap(),
    );
    assert_eq!(files(root), SEED_FILES);
    let others: BTreeSet<String> = entries(root, |e| !e.file_type().is_file())
        .into_iter()
        .collect();
    let dirs: BTreeSet<String> = entries(root, |e| e.file_type().is_dir())
        .into_iter()
        .collect();
    assert_eq!(others, dirs, "only regular files and directories");
    assert_eq!(
        std::fs::read_to_string(root.join("opt/404/distro-version")).unwrap(),
        "0.1.0\n"
    );
    let init = std::fs::read_to_string(root.join("opt/404/404-init.sh")).unwrap();
    assert!(init.starts_with("#!"), "{init}");

    let version = in_empty_root(&root.join("opt/404/static"), &["--version"]);
    assert_eq!(ok("static --version", &version), "static_proxy 0.3.0\n");
}

#[test]
fn distro_release_is_published_verified_and_imports_like_wsl() {
    require_tool("minisign", "apt-get install minisign");
    let release = built();
    check_manifest(&release);
    let dest = tempfile::tempdir().unwrap();
    let base = check_publish(&release, dest.path());
    let scratch = tempfile::tempdir().unwrap();
    let verified = check_verify(&release, &base, scratch.path());
    check_import(
        &verified.join("404-distro.tar.gz"),
        &scratch.path().join("root"),
    );
}
