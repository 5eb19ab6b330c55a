//! Real bookworm packages (fetched with `apt-get download` from the machine's apt sources)
//! installed into a tree without dpkg, then checked by dpkg itself: `dpkg-query` lists
//! exactly the set, `dpkg --verify` finds nothing changed, and the CA bundle holds every
//! certificate the package ships.

use std::path::{Path, PathBuf};
use std::process::Command;

use boxwright_distro::install::{self, Layering, Options, OsRelease, Package};
use boxwright_distro::{Candidate, Kind};

/// The show case's packages and what they depend on (without debconf, which apt would add
/// for ca-certificates' templates; nothing here runs them).
const PACKAGES: [&str; 12] = [
    "busybox-static",
    "ca-certificates",
    "openssl",
    "libssl3",
    "libc6",
    "libgcc-s1",
    "gcc-12-base",
    "s6",
    "execline",
    "libexecline2.9",
    "libs6-2.11",
    "libskarnet2.13",
];

fn require_tool(tool: &str, hint: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is needed for this test; install it: {hint}"
    );
}

fn download(dir: &Path) -> Vec<PathBuf> {
    let status = Command::new("apt-get")
        .arg("download")
        .args(PACKAGES)
        .current_dir(dir)
        .output()
        .expect("apt-get runs");
    assert!(
        status.status.success(),
        "apt-get download failed (needs the Debian archive and `apt-get update`): {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    files.sort();
    assert_eq!(files.len(), PACKAGES.len(), "{files:?}");
    files
}

/// What an index would say about the package, read from the file itself.
fn candidate(file: &Path) -> Candidate {
    let info = boxwright_package::inspect(file).expect("a valid deb");
    Candidate {
        kind: Kind::Deb,
        name: info.name.clone(),
        version: info.version.clone(),
        arch: info.arch.clone(),
        depends: Vec::new(),
        conflicts: Vec::new(),
        provides: Vec::new(),
        essential: false,
        filename: file.file_name().unwrap().to_string_lossy().into_owned(),
        size: info.file_size,
        sha256: Some(info.sha256.clone()),
        apk_checksum: None,
        repository: 0,
        fields: info.control_fields,
    }
}

fn options(staging: &Path) -> Options<'_> {
    Options {
        staging,
        os_release: OsRelease {
            id: "debian".into(),
            version_id: "12".into(),
            version_codename: "bookworm".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
        },
        apk: install::ApkSetup::default(),
        limits: boxwright_package::ReadLimits::default(),
    }
}

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().expect("the command runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bookworm_packages_install_as_dpkg_would_leave_them() {
    require_tool("apt-get", "apt-get install apt");
    require_tool("dpkg", "apt-get install dpkg");
    let temp = tempfile::tempdir().unwrap();
    let debs = temp.path().join("debs");
    std::fs::create_dir(&debs).unwrap();
    let files = download(&debs);
    let candidates: Vec<Candidate> = files.iter().map(|f| candidate(f)).collect();
    let packages: Vec<Package<'_>> = candidates
        .iter()
        .zip(&files)
        .map(|(candidate, file)| Package { candidate, file })
        .collect();
    let staging = temp.path().join("staging");
    let installed = install::install(&packages, &options(&staging)).unwrap();
    let root = temp.path().join("root");
    installed.write_to(&root).unwrap();

    dpkg_sees_exactly_the_set(&root, &candidates);

    // The CA bundle holds every certificate the package ships, links named as
    // update-ca-certificates names them.
    let shipped = walk(&root.join("usr/share/ca-certificates"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "crt"))
        .count();
    assert!(
        shipped > 100,
        "ca-certificates ships {shipped} certificates"
    );
    let bundle = std::fs::read_to_string(root.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    assert_eq!(
        bundle.matches("-----BEGIN CERTIFICATE-----").count(),
        shipped
    );
    let conf = std::fs::read_to_string(root.join("etc/ca-certificates.conf")).unwrap();
    assert_eq!(
        conf.lines().filter(|l| !l.starts_with('#')).count(),
        shipped
    );
    let link = std::fs::read_link(root.join("etc/ssl/certs/ISRG_Root_X1.pem")).unwrap();
    assert_eq!(
        link,
        Path::new("/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt")
    );
    same_bundle_as_update_ca_certificates(&root, temp.path());

    // os-release from the caller (base-files is not in the set), and the image's tools.
    let release = std::fs::read_to_string(root.join("etc/os-release")).unwrap();
    assert!(
        release.contains("VERSION_CODENAME=\"bookworm\""),
        "{release}"
    );
    assert!(root.join("bin/busybox").is_file());
    assert!(root.join("usr/bin/s6-svscan").is_file());

    // openssl's `ln -sf /etc/ssl /usr/lib/ssl` is a no-op (the package ships the directory);
    // libc6's scripts are reported, never skipped; ca-certificates' are done declaratively.
    for warning in &installed.warnings {
        eprintln!("warning: {warning}");
    }
    let warned: Vec<&str> = installed
        .warnings
        .iter()
        .map(|w| w.package.split(' ').next().unwrap())
        .collect();
    assert!(warned.contains(&"libc6"), "{:?}", installed.warnings);
    assert!(
        !warned.contains(&"ca-certificates"),
        "{:?}",
        installed.warnings
    );
    assert!(!warned.contains(&"openssl"), "{:?}", installed.warnings);

    // Layers: one by default, or one per package plus the database; reproducible.
    assert_eq!(installed.layers(Layering::Single).unwrap().len(), 1);
    assert_eq!(
        installed.layers(Layering::PerPackage).unwrap().len(),
        PACKAGES.len() + 1
    );
    let again = install::install(&packages, &options(&temp.path().join("staging2"))).unwrap();
    let digest = |installed: &install::Installed, dir: &Path| {
        let store = boxwright_oci::BlobStore::create(dir).unwrap();
        let spec = installed.layers(Layering::Single).unwrap().remove(0);
        let layer = boxwright_oci::write_layer(
            &spec,
            &store,
            boxwright_oci::Compression::None,
            1_700_000_000,
            1,
            &boxwright_archive::progress::NoProgress,
        )
        .unwrap();
        layer.diff_id
    };
    assert_eq!(
        digest(&installed, &temp.path().join("blobs1")),
        digest(&again, &temp.path().join("blobs2"))
    );
}

/// The second opinion: Debian's own `update-ca-certificates` run over the installed
/// certificates and configuration makes the same bundle, byte for byte, and the same links.
fn same_bundle_as_update_ca_certificates(root: &Path, temp: &Path) {
    require_tool("update-ca-certificates", "apt-get install ca-certificates");
    let certs = temp.join("uca/certs");
    let hooks = temp.join("uca/hooks");
    let local = temp.join("uca/local");
    for dir in [&certs, &hooks, &local] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let (ok, out, stderr) = run(Command::new("update-ca-certificates")
        .arg("--fresh")
        .arg("--certsconf")
        .arg(root.join("etc/ca-certificates.conf"))
        .arg("--certsdir")
        .arg(root.join("usr/share/ca-certificates"))
        .arg("--localcertsdir")
        .arg(&local)
        .arg("--etccertsdir")
        .arg(&certs)
        .arg("--hooksdir")
        .arg(&hooks)
        .args(["--certbundle", "ca-certificates.crt"]));
    assert!(ok, "update-ca-certificates failed: {out}{stderr}");
    assert_eq!(
        std::fs::read(certs.join("ca-certificates.crt")).unwrap(),
        std::fs::read(root.join("etc/ssl/certs/ca-certificates.crt")).unwrap(),
        "the bundles differ"
    );
    let pem_names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| Path::new(n).extension().is_some_and(|e| e == "pem"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(pem_names(&certs), pem_names(&root.join("etc/ssl/certs")));
}

/// `dpkg-query` lists exactly the set, all installed; `dpkg --verify` reports nothing.
fn dpkg_sees_exactly_the_set(root: &Path, candidates: &[Candidate]) {
    // dpkg-query lists exactly the set.
    let admindir = format!("--admindir={}", root.join("var/lib/dpkg").display());
    let (ok, listed, stderr) = run(Command::new("dpkg-query").args([
        admindir.as_str(),
        "-W",
        "-f",
        "${Package} ${Version} ${db:Status-Abbrev}\n",
    ]));
    assert!(ok, "{stderr}");
    let mut expected: Vec<String> = candidates
        .iter()
        .map(|c| format!("{} {} ii ", c.name, c.version))
        .collect();
    expected.sort();
    let mut listed: Vec<String> = listed.lines().map(str::to_string).collect();
    listed.sort();
    assert_eq!(listed, expected);

    // dpkg finds every file as the package shipped it.
    let (ok, out, stderr) = run(Command::new("dpkg").arg("--root").arg(root).arg("--verify"));
    assert!(ok, "dpkg --verify failed: {out}{stderr}");
    assert_eq!(out, "", "dpkg --verify reports changes");
    assert!(!stderr.contains("error"), "{stderr}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.symlink_metadata().unwrap().is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}
