//! `package`, `repo index` and `key generate --format rsa|openpgp`: packages from the example
//! `hello` target, read back by real tools: dpkg-deb, apt-get (a `file:` repository signed
//! with OpenPGP), and for apk, where no client installs here, a test-only reader below that
//! checks what apk-tools checks (docs/packages.md) with openssl verifying every signature.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;

use crate::support::{
    TestProject, assert_success, coreutils_digest, edit_metadata, example_project, require_tool,
    tools_for_examples,
};

/// The example project with `hello` built, a `package` object, and a documentation file
/// added to its output (for the `doc` subpackage).
fn built_hello() -> TestProject {
    tools_for_examples();
    let project = example_project();
    edit_metadata(&project, |m| {
        m["hello"]["package"] = serde_json::json!({
            "description": "Prints hello\nA small static program.",
            "license": "MIT",
            "url": "https://example.invalid/hello",
            "maintainer": "Hello Maintainers <hello@example.invalid>",
            "depends": ["ca-certificates"],
            "scripts": { "post-install": "echo hello installed" },
            "revision": 3,
            "subpackages": { "doc": ["share/doc/**"] }
        });
    });
    let out = project
        .boxwright()
        .args(["build", "hello"])
        .output()
        .unwrap();
    assert_success(&out);
    project.write(".out/hello/share/doc/hello/README", b"Read me.\n", 0o644);
    project
}

fn run(command: &mut Command) -> std::process::Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("{command:?} runs: {e}"))
}

fn bw(command: &mut assert_cmd::Command) -> std::process::Output {
    command.output().unwrap()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `boxwright package hello` in `format`, as JSON: the packages written.
fn package(
    project: &TestProject,
    format: &str,
    out: &Path,
    key: Option<&Path>,
) -> Vec<serde_json::Value> {
    let mut command = project.boxwright();
    command.args([
        "--json", "package", "hello", "--format", format, "--arch", "x86_64", "-o",
    ]);
    command.arg(out);
    if let Some(key) = key {
        command.arg("--key").arg(key);
    }
    let output = bw(&mut command);
    assert_success(&output);
    serde_json::from_slice::<Vec<serde_json::Value>>(&output.stdout).unwrap()
}

fn generate_key(project: &TestProject, format: &str, prefix: &Path) {
    let mut command = project.boxwright();
    command
        .args(["key", "generate", "--format", format, "--output"])
        .arg(prefix);
    if format == "rsa" {
        command.args(["--bits", "2048"]);
    }
    assert_success(&bw(&mut command));
}

#[test]
fn deb_is_read_by_dpkg_deb_and_lintian() {
    require_tool("dpkg-deb", "apt-get install dpkg");
    let project = built_hello();
    let out = project.path().join("debs");
    let packages = package(&project, "deb", &out, None);
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello", "hello-doc"]);
    let main = PathBuf::from(packages[0]["path"].as_str().unwrap());
    assert_eq!(main.file_name().unwrap(), "hello_1.0.0-3_amd64.deb");
    assert_eq!(
        packages[0]["sha256"],
        coreutils_digest("sha256sum", &std::fs::read(&main).unwrap())
    );

    let info = run(Command::new("dpkg-deb").arg("--info").arg(&main));
    assert!(info.status.success(), "{info:?}");
    let info = stdout(&info);
    for field in [
        "Package: hello\n",
        "Version: 1.0.0-3\n",
        "Architecture: amd64\n",
        "Maintainer: Hello Maintainers <hello@example.invalid>\n",
        "Depends: ca-certificates\n",
        "Homepage: https://example.invalid/hello\n",
        "Description: Prints hello\n  A small static program.\n",
    ] {
        assert!(info.contains(field), "{field:?} missing from\n{info}");
    }
    assert!(info.contains(" postinst "), "{info}");
    let contents = stdout(&run(Command::new("dpkg-deb").arg("--contents").arg(&main)));
    assert!(
        contents.contains("root/root") && contents.contains("usr/bin/hello"),
        "{contents}"
    );
    assert!(
        contents.contains("usr/share/doc/hello/copyright"),
        "{contents}"
    );
    assert!(
        !contents.contains("README"),
        "the doc subpackage takes README:\n{contents}"
    );
    let doc = stdout(&run(Command::new("dpkg-deb")
        .arg("--contents")
        .arg(packages[1]["path"].as_str().unwrap())));
    assert!(doc.contains("usr/share/doc/hello/README"), "{doc}");

    // dpkg-deb unpacks what md5sums lists, and the binary runs.
    let root = project.path().join("unpacked");
    assert!(
        run(Command::new("dpkg-deb").arg("-x").arg(&main).arg(&root))
            .status
            .success()
    );
    let version = run(Command::new(root.join("usr/bin/hello")).arg("--version"));
    assert_eq!(stdout(&version).trim(), "hello 1.0.0");

    require_tool("lintian", "apt-get install lintian");
    let lintian = run(Command::new("lintian")
        .args(["--fail-on", "error"])
        .arg(&main)
        .arg(packages[1]["path"].as_str().unwrap()));
    assert!(
        lintian.status.success(),
        "lintian finds errors:\n{}{}",
        stdout(&lintian),
        String::from_utf8_lossy(&lintian.stderr)
    );
}

/// apt-get with private state, cache and sources (nothing of the machine's apt is used).
fn apt_get(dir: &Path, args: &[&str]) -> std::process::Output {
    let option = |name: &str, value: &Path| format!("-o{name}={}", value.display());
    run(Command::new("apt-get")
        .arg(option("Dir::State::Lists", &dir.join("lists")))
        .arg(option("Dir::Cache", &dir.join("cache")))
        .arg(option("Dir::Etc::SourceList", &dir.join("sources.list")))
        .arg("-oDir::Etc::SourceParts=/dev/null")
        .arg("-oAPT::Architecture=amd64")
        .arg("-oAPT::Architectures=amd64")
        .arg("-oDebug::NoLocking=1")
        // The test's temporary directories are not readable by apt's `_apt` user.
        .arg("-oAPT::Sandbox::User=root")
        .args(args)
        .current_dir(dir))
}

#[test]
fn apt_get_installs_from_a_signed_file_repository_and_refuses_another_key() {
    require_tool("apt-get", "apt-get install apt");
    require_tool("dpkg-deb", "apt-get install dpkg");
    let project = built_hello();
    let keys = project.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    generate_key(&project, "openpgp", &keys.join("apt"));
    generate_key(&project, "openpgp", &keys.join("other"));
    let repo = project.path().join("repo");
    let pool = repo.join("apt/pool/stable/main");
    package(&project, "deb", &pool, None);
    let index = bw(project
        .boxwright()
        .args(["repo", "index"])
        .arg(&repo)
        .arg("--apt-key")
        .arg(keys.join("apt.key"))
        .args(["--origin", "Hello", "--label", "Hello"]));
    assert_success(&index);
    assert_eq!(stdout(&index).trim(), "deb apt/stable (2 packages)");
    let release = std::fs::read_to_string(repo.join("apt/dists/stable/Release")).unwrap();
    assert!(
        release.contains("Origin: Hello\n") && release.contains("Components: main\n"),
        "{release}"
    );

    for (key, ok) in [("apt.pub", true), ("other.pub", false)] {
        let client = project.path().join(format!("client-{key}"));
        for dir in ["lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(client.join(dir)).unwrap();
        }
        std::fs::write(
            client.join("sources.list"),
            format!(
                "deb [signed-by={}] file:{} stable main\n",
                keys.join(key).display(),
                repo.join("apt").display()
            ),
        )
        .unwrap();
        let update = apt_get(&client, &["update"]);
        let text = format!(
            "{}{}",
            stdout(&update),
            String::from_utf8_lossy(&update.stderr)
        );
        if !ok {
            assert!(
                text.contains("NO_PUBKEY") || text.contains("not signed"),
                "a wrong key must fail:\n{text}"
            );
            let download = apt_get(&client, &["download", "hello"]);
            assert!(
                !download.status.success(),
                "nothing to download without a trusted index"
            );
            continue;
        }
        assert!(update.status.success() && !text.contains("W: "), "{text}");
        let download = apt_get(&client, &["download", "hello"]);
        assert!(download.status.success(), "{download:?}");
        let deb = client.join("hello_1.0.0-3_amd64.deb");
        let root = client.join("root");
        assert!(
            run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))
                .status
                .success()
        );
        let version = run(Command::new(root.join("usr/bin/hello")).arg("--version"));
        assert_eq!(stdout(&version).trim(), "hello 1.0.0");
    }
}

// ---- a test-only apk reader: what apk-tools 2.14 checks (docs/packages.md) ----

/// One gzip member: its compressed bytes and what they decompress to.
struct Member {
    compressed: Vec<u8>,
    data: Vec<u8>,
}

/// Splits concatenated gzip members at their boundaries.
fn gzip_members(bytes: &[u8]) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let mut cursor = rest;
        let mut data = Vec::new();
        flate2::bufread::GzDecoder::new(&mut cursor)
            .read_to_end(&mut data)
            .map_err(|e| format!("gzip member {}: {e}", members.len()))?;
        let used = rest.len() - cursor.len();
        members.push(Member {
            compressed: rest[..used].to_vec(),
            data,
        });
        rest = cursor;
    }
    Ok(members)
}

/// A tar entry read by hand: name (pax `path` applied), type flag, content, pax records.
struct TarEntry {
    name: String,
    kind: u8,
    link: String,
    content: Vec<u8>,
    pax: Vec<(String, String)>,
}

fn octal(field: &[u8]) -> Result<usize, String> {
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    usize::from_str_radix(text.trim(), 8).map_err(|_| format!("bad octal field {text:?}"))
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(&field[..field.iter().position(|b| *b == 0).unwrap_or(field.len())])
        .into_owned()
}

/// Reads a tar. `cut`: the archive must end right after its last entry (no end blocks);
/// otherwise it must end with zero blocks and nothing else.
fn read_tar(bytes: &[u8], cut: bool) -> Result<Vec<TarEntry>, String> {
    let mut entries = Vec::new();
    let mut pos = 0;
    let mut pax: Vec<(String, String)> = Vec::new();
    let mut long_name: Option<String> = None;
    while pos < bytes.len() {
        let header = bytes.get(pos..pos + 512).ok_or("truncated header")?;
        if header.iter().all(|b| *b == 0) {
            if cut {
                return Err("end-of-archive blocks in a cut tar".into());
            }
            if bytes[pos..].iter().any(|b| *b != 0) {
                return Err("data after the end-of-archive blocks".into());
            }
            return Ok(entries);
        }
        let checksum = octal(&header[148..156])?;
        let sum: usize = header
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    *b as usize
                }
            })
            .sum();
        if sum != checksum {
            return Err("bad header checksum".into());
        }
        let size = octal(&header[124..136])?;
        let kind = header[156];
        let content = bytes
            .get(pos + 512..pos + 512 + size)
            .ok_or("truncated entry")?
            .to_vec();
        pos += 512 + size.div_ceil(512) * 512;
        match kind {
            b'x' => {
                let mut rest = content.as_slice();
                while !rest.is_empty() {
                    let space = rest
                        .iter()
                        .position(|b| *b == b' ')
                        .ok_or("bad pax record")?;
                    let length: usize = std::str::from_utf8(&rest[..space])
                        .unwrap()
                        .parse()
                        .map_err(|_| "bad pax length")?;
                    let record = std::str::from_utf8(&rest[space + 1..length - 1])
                        .map_err(|_| "pax not UTF-8")?;
                    let (key, value) = record.split_once('=').ok_or("bad pax record")?;
                    pax.push((key.to_string(), value.to_string()));
                    rest = &rest[length..];
                }
            }
            b'L' => long_name = Some(text(&content)),
            _ => {
                let mut name = text(&header[..100]);
                if &header[257..262] == b"ustar" && header[345] != 0 {
                    name = format!("{}/{name}", text(&header[345..500]));
                }
                if let Some(long) = long_name.take() {
                    name = long;
                }
                if let Some((_, path)) = pax.iter().find(|(k, _)| k == "path") {
                    name.clone_from(path);
                }
                entries.push(TarEntry {
                    name,
                    kind,
                    link: text(&header[157..257]),
                    content,
                    pax: std::mem::take(&mut pax),
                });
            }
        }
    }
    if cut {
        Ok(entries)
    } else {
        Err("no end-of-archive blocks".into())
    }
}

fn openssl_verify(public_pem: &Path, data: &[u8], signature: &[u8], scratch: &Path) -> bool {
    std::fs::create_dir_all(scratch).unwrap();
    std::fs::write(scratch.join("data"), data).unwrap();
    std::fs::write(scratch.join("sig"), signature).unwrap();
    run(Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public_pem)
        .arg("-signature")
        .arg(scratch.join("sig"))
        .arg(scratch.join("data")))
    .status
    .success()
}

/// The `C:` identity apk computes: `Q1` + base64(SHA-1 of the compressed control member).
fn identity(control_member: &[u8]) -> String {
    let hex = coreutils_digest("sha1sum", control_member);
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    format!(
        "Q1{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Checks one .apk as apk-tools does when installing it, trusting `key_name` = `public_pem`.
/// Returns `.PKGINFO` fields and the `C:` identity.
fn check_apk(
    path: &Path,
    public_pem: &Path,
    key_name: &str,
    scratch: &Path,
) -> Result<(Vec<(String, String)>, String), String> {
    let bytes = std::fs::read(path).unwrap();
    let members = gzip_members(&bytes)?;
    let [signature, control, data] = members.as_slice() else {
        return Err(format!("{} gzip members, not 3", members.len()));
    };
    let signature_entries = read_tar(&signature.data, true)?;
    let [sign] = signature_entries.as_slice() else {
        return Err("not one signature entry".into());
    };
    if sign.name != format!(".SIGN.RSA256.{key_name}") {
        return Err(format!("signature entry {}", sign.name));
    }
    if !openssl_verify(public_pem, &control.compressed, &sign.content, scratch) {
        return Err("the signature does not verify over the control member".into());
    }
    let control_entries = read_tar(&control.data, true)?;
    let pkginfo = control_entries
        .first()
        .filter(|e| e.name == ".PKGINFO")
        .ok_or(".PKGINFO is not first")?;
    let fields: Vec<(String, String)> = String::from_utf8(pkginfo.content.clone())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            l.split_once(" = ")
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    for key in ["pkgname", "pkgver", "arch", "size", "datahash"] {
        field(key).ok_or(format!(".PKGINFO lacks {key}"))?;
    }
    if field("size").unwrap().parse::<u64>().unwrap_or(0) == 0 {
        return Err("size 0 (a virtual package)".into());
    }
    if field("datahash").unwrap() != coreutils_digest("sha256sum", &data.compressed) {
        return Err("datahash does not match the data member".into());
    }
    let mut dirs = std::collections::BTreeSet::new();
    for entry in read_tar(&data.data, false)? {
        let name = entry.name.trim_end_matches('/').to_string();
        if let Some((parent, _)) = name.rsplit_once('/')
            && !dirs.contains(parent)
        {
            return Err(format!("no dirent before {name}"));
        }
        let checksum = entry
            .pax
            .iter()
            .find(|(k, _)| k == "APK-TOOLS.checksum.SHA1")
            .map(|(_, v)| v.clone());
        match entry.kind {
            b'5' => {
                dirs.insert(name);
            }
            b'0' | b'\0' => {
                if checksum.as_deref() != Some(&coreutils_digest("sha1sum", &entry.content)) {
                    return Err(format!("{name}: SHA-1 pax record missing or wrong"));
                }
            }
            b'2' => {
                if checksum.as_deref() != Some(&coreutils_digest("sha1sum", entry.link.as_bytes()))
                {
                    return Err(format!("{name}: symlink SHA-1 pax record missing or wrong"));
                }
            }
            other => return Err(format!("{name}: entry type {other}")),
        }
    }
    Ok((fields, identity(&control.compressed)))
}

/// Checks an APKINDEX.tar.gz signed for `key_name`; returns the APKINDEX text.
fn check_index(
    path: &Path,
    public_pem: &Path,
    key_name: &str,
    scratch: &Path,
) -> Result<String, String> {
    let members = gzip_members(&std::fs::read(path).unwrap())?;
    let [signature, index] = members.as_slice() else {
        return Err(format!("{} gzip members, not 2", members.len()));
    };
    let signature_entries = read_tar(&signature.data, true)?;
    let [sign] = signature_entries.as_slice() else {
        return Err("not one signature entry".into());
    };
    if sign.name != format!(".SIGN.RSA256.{key_name}") {
        return Err(format!("signature entry {}", sign.name));
    }
    if !openssl_verify(public_pem, &index.compressed, &sign.content, scratch) {
        return Err("the index signature does not verify".into());
    }
    let entries = read_tar(&index.data, false)?;
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    if names != ["DESCRIPTION", "APKINDEX"] {
        return Err(format!("index tar holds {names:?}"));
    }
    Ok(String::from_utf8(entries[1].content.clone()).unwrap())
}

/// Installs from an index as apk does: index signature → `C:` → the package's checks.
fn check_install(
    index: &Path,
    package: &Path,
    public_pem: &Path,
    key_name: &str,
    scratch: &Path,
) -> Result<(), String> {
    let text = check_index(index, public_pem, key_name, scratch)?;
    let (fields, identity) = check_apk(package, public_pem, key_name, scratch)?;
    let name = &fields.iter().find(|(k, _)| k == "pkgname").unwrap().1;
    let block = text
        .split("\n\n")
        .find(|b| b.lines().any(|l| l == format!("P:{name}")))
        .ok_or("package not in the index")?;
    if !block.lines().any(|l| l == format!("C:{identity}")) {
        return Err("C: does not match the package's control member".into());
    }
    Ok(())
}

/// The built `hello` packaged as apk into `repo/v3.20/main/x86_64/` and indexed, signed with
/// `keys/repo.rsa`; `keys/other.rsa` is a second key.
struct ApkRepo {
    project: TestProject,
    keys: PathBuf,
    public: PathBuf,
    scratch: PathBuf,
    main: PathBuf,
    index: PathBuf,
}

fn apk_repo() -> ApkRepo {
    require_tool("openssl", "apt-get install openssl");
    let project = built_hello();
    let keys = project.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    generate_key(&project, "rsa", &keys.join("repo"));
    generate_key(&project, "rsa", &keys.join("other"));
    let arch_dir = project.path().join("repo/v3.20/main/x86_64");
    let packages = package(&project, "apk", &arch_dir, Some(&keys.join("repo.rsa")));
    let main = PathBuf::from(packages[0]["path"].as_str().unwrap());
    assert_eq!(main.file_name().unwrap(), "hello-1.0.0-r3.apk");
    assert_eq!(packages[1]["name"], "hello-doc");
    let index = bw(project
        .boxwright()
        .args(["repo", "index"])
        .arg(project.path().join("repo"))
        .arg("--apk-key")
        .arg(keys.join("repo.rsa")));
    assert_success(&index);
    assert_eq!(stdout(&index).trim(), "apk v3.20/main/x86_64 (2 packages)");
    ApkRepo {
        public: keys.join("repo.rsa.pub"),
        scratch: project.path().join("scratch"),
        index: arch_dir.join("APKINDEX.tar.gz"),
        project,
        keys,
        main,
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, data).unwrap();
    gz.finish().unwrap()
}

#[test]
fn apk_packages_and_index_pass_the_apk_tools_checks() {
    let repo = apk_repo();
    let (fields, identity) =
        check_apk(&repo.main, &repo.public, "repo.rsa.pub", &repo.scratch).unwrap();
    let field = |key: &str| {
        fields
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(field("pkgname"), ["hello"]);
    assert_eq!(field("pkgver"), ["1.0.0-r3"]);
    assert_eq!(field("arch"), ["x86_64"]);
    assert_eq!(field("license"), ["MIT"]);
    assert_eq!(field("depend"), ["ca-certificates"]);
    assert_eq!(field("pkgdesc"), ["Prints hello"]);
    // Another key name, or another key, is not trusted.
    assert!(check_apk(&repo.main, &repo.public, "other.rsa.pub", &repo.scratch).is_err());
    let other = repo.keys.join("other.rsa.pub");
    assert!(check_apk(&repo.main, &other, "repo.rsa.pub", &repo.scratch).is_err());

    let text = check_index(&repo.index, &repo.public, "repo.rsa.pub", &repo.scratch).unwrap();
    let size = std::fs::metadata(&repo.main).unwrap().len();
    let block = text.split("\n\n").next().unwrap();
    let lines: Vec<&str> = block.lines().collect();
    assert_eq!(lines[0], format!("C:{identity}"));
    assert_eq!(
        &lines[1..5],
        ["P:hello", "V:1.0.0-r3", "A:x86_64", &format!("S:{size}")]
    );
    let order: String = lines.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(order, "CPVASITULomtD", "{block}");
    assert!(
        text.ends_with("\n\n") && text.contains("\nP:hello-doc\n"),
        "{text}"
    );
    check_install(
        &repo.index,
        &repo.main,
        &repo.public,
        "repo.rsa.pub",
        &repo.scratch,
    )
    .unwrap();
}

/// Issue 22: `repo index --apk-key`/`--apt-key` take `env://VAR` as `--key` does everywhere
/// (they read `env://X` as a file name). An apk key from a variable needs `--apk-key-name`.
#[test]
fn repo_index_reads_its_keys_from_variables() {
    let repo = apk_repo();
    let project = &repo.project;
    let pem = std::fs::read_to_string(repo.keys.join("repo.rsa")).unwrap();
    generate_key(project, "openpgp", &repo.keys.join("apt"));
    let armored = std::fs::read_to_string(repo.keys.join("apt.key")).unwrap();
    let index = |args: &[&str]| {
        bw(project
            .boxwright()
            .args(["repo", "index"])
            .arg(project.path().join("repo"))
            .args(args)
            .env("REPO_RSA", &pem)
            .env("APT_KEY", &armored))
    };
    let out = index(&["--apk-key", "env://REPO_RSA"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("env://REPO_RSA needs a key name"),
        "{stderr}"
    );

    std::fs::remove_file(&repo.index).unwrap();
    let out = index(&[
        "--apk-key",
        "env://REPO_RSA",
        "--apk-key-name",
        "repo.rsa.pub",
        "--apt-key",
        "env://APT_KEY",
    ]);
    assert_success(&out);
    check_index(&repo.index, &repo.public, "repo.rsa.pub", &repo.scratch).unwrap();
}

#[test]
fn apk_index_of_another_key_and_tampered_packages_are_refused() {
    let repo = apk_repo();
    let (public, scratch) = (&repo.public, &repo.scratch);
    let project = &repo.project;
    // An index signed by another key is refused.
    let other_repo = project.path().join("other");
    crate::support::copy_tree(&project.path().join("repo"), &other_repo, &[]);
    assert_success(&bw(project
        .boxwright()
        .args(["repo", "index"])
        .arg(&other_repo)
        .arg("--apk-key")
        .arg(repo.keys.join("other.rsa"))));
    let other_index = other_repo.join("v3.20/main/x86_64/APKINDEX.tar.gz");
    assert!(check_index(&other_index, public, "repo.rsa.pub", scratch).is_err());
    assert!(check_index(&other_index, public, "other.rsa.pub", scratch).is_err());

    // A package whose data member changed (its signature still good) is refused: datahash.
    let members = gzip_members(&std::fs::read(&repo.main).unwrap()).unwrap();
    let mut data = members[2].data.clone();
    let at = data.windows(5).position(|w| w == b"hello").unwrap();
    data[at] = b'j';
    let tampered = project.path().join("tampered.apk");
    let parts = [
        &members[0].compressed[..],
        &members[1].compressed,
        &gzip(&data),
    ];
    std::fs::write(&tampered, parts.concat()).unwrap();
    let error = check_install(&repo.index, &tampered, public, "repo.rsa.pub", scratch).unwrap_err();
    assert!(error.contains("datahash"), "{error}");

    // A package whose control member changed: its signature and C: no longer match.
    let mut control = members[1].data.clone();
    let at = control
        .windows(12)
        .position(|w| w == b"Prints hello")
        .unwrap();
    control[at] = b'p';
    let changed_control = gzip(&control);
    let parts = [
        &members[0].compressed[..],
        &changed_control,
        &members[2].compressed,
    ];
    std::fs::write(&tampered, parts.concat()).unwrap();
    let error = check_apk(&tampered, public, "repo.rsa.pub", scratch).unwrap_err();
    assert!(error.contains("signature"), "{error}");

    // Even re-signed by the key holder (openssl), the index's C: refuses it.
    std::fs::write(scratch.join("control"), &changed_control).unwrap();
    let sign = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(repo.keys.join("repo.rsa"))
        .arg("-out")
        .arg(scratch.join("resigned"))
        .arg(scratch.join("control")));
    assert!(sign.status.success(), "{sign:?}");
    let resigned = std::fs::read(scratch.join("resigned")).unwrap();
    let old = read_tar(&members[0].data, true).unwrap();
    assert_eq!(
        resigned.len(),
        old[0].content.len(),
        "same size: the header stays valid"
    );
    let mut signature_tar = members[0].data[..512].to_vec();
    signature_tar.extend_from_slice(&resigned);
    signature_tar.resize(512 + resigned.len().div_ceil(512) * 512, 0);
    let parts = [
        &gzip(&signature_tar)[..],
        &changed_control,
        &members[2].compressed,
    ];
    std::fs::write(&tampered, parts.concat()).unwrap();
    check_apk(&tampered, public, "repo.rsa.pub", scratch).expect("valid on its own");
    let error = check_install(&repo.index, &tampered, public, "repo.rsa.pub", scratch).unwrap_err();
    assert!(error.contains("C:"), "{error}");
}

#[test]
fn packages_are_byte_identical_across_runs_and_checkouts() {
    let project = built_hello();
    let keys = project.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    generate_key(&project, "rsa", &keys.join("repo"));
    let first = project.path().join("first");
    let second = project.path().join("second");
    package(&project, "apk", &first, Some(&keys.join("repo.rsa")));
    package(&project, "deb", &first, None);
    package(&project, "apk", &second, Some(&keys.join("repo.rsa")));
    package(&project, "deb", &second, None);
    // The same output in another checkout, files touched.
    let other = TestProject::new("{}");
    crate::support::copy_tree(project.path(), other.path(), &["first", "second", "keys"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run(Command::new("touch").arg(other.path().join(".out/hello/bin/hello")));
    let third = other.path().join("third");
    package(&other, "apk", &third, Some(&keys.join("repo.rsa")));
    package(&other, "deb", &third, None);
    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&first).len(), 4, "{:?}", names(&first));
    assert_eq!(names(&first), names(&second));
    assert_eq!(names(&first), names(&third));
    for name in names(&first) {
        let bytes = std::fs::read(first.join(&name)).unwrap();
        assert_eq!(bytes, std::fs::read(second.join(&name)).unwrap(), "{name}");
        assert_eq!(
            bytes,
            std::fs::read(third.join(&name)).unwrap(),
            "{name} in another checkout"
        );
    }
}

#[test]
fn errors_name_the_target_the_state_the_key_and_the_flag() {
    let project = example_project();
    let out = project.path().join("out");
    let fail = |args: &[&str]| {
        let output = bw(project.boxwright().args(args));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let out_arg = out.to_str().unwrap();
    let error = fail(&["package", "nosuch", "--format", "deb", "-o", out_arg]);
    assert!(error.contains("unknown target `nosuch`"), "{error}");
    let error = fail(&["package", "hello", "--format", "deb", "-o", out_arg]);
    assert!(
        error.contains("not built") && error.contains("boxwright build hello"),
        "{error}"
    );
    project.write(".out/hello/bin/hello", b"#!/bin/sh\n", 0o755);
    let error = fail(&["package", "hello", "--format", "apk", "-o", out_arg]);
    assert!(error.contains("--key"), "{error}");
    let error = fail(&[
        "package",
        "hello",
        "--format",
        "apk",
        "-o",
        out_arg,
        "--key",
        "env://NO_SUCH_KEY_VAR",
    ]);
    assert!(error.contains("--key-name"), "{error}");
    edit_metadata(&project, |m| {
        m["hello"]["package"] = serde_json::json!({ "depends": "musl" });
    });
    let error = fail(&["package", "hello", "--format", "deb", "-o", out_arg]);
    assert!(error.contains("/hello/package/depends"), "{error}");
    assert!(!out.join("hello_1.0.0-0_amd64.deb").exists());
}

/// Stops the gpg-agent of a GnuPG home when dropped.
struct GpgAgent(PathBuf);

impl Drop for GpgAgent {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.0)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// A key made by GnuPG (RSA, as many existing apt repositories use) signs the apt indexes,
/// and gpgv verifies both signatures; our Ed25519 public key imports into gpg.
#[test]
fn gnupg_keys_sign_apt_indexes_and_gpgv_verifies_them() {
    require_tool("gpg", "apt-get install gnupg");
    require_tool("gpgv", "apt-get install gpgv");
    let project = built_hello();
    let home = project.path().join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // gpg starts a gpg-agent for this home; stop it at the end, whatever happens.
    let _agent = GpgAgent(home.clone());
    let gpg = |args: &[&str]| {
        let out = run(Command::new("gpg")
            .env("GNUPGHOME", &home)
            .arg("--batch")
            .args(args));
        assert!(out.status.success(), "gpg {args:?}: {out:?}");
        out.stdout
    };
    gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        "Repo <repo@example.invalid>",
        "rsa3072",
        "sign",
        "0",
    ]);
    let secret = project.path().join("gpg.key");
    std::fs::write(&secret, gpg(&["--armor", "--export-secret-keys"])).unwrap();
    let repo = project.path().join("repo");
    package(&project, "deb", &repo.join("apt/pool/bookworm/main"), None);
    assert_success(&bw(project
        .boxwright()
        .args(["repo", "index"])
        .arg(&repo)
        .arg("--apt-key")
        .arg(&secret)));
    let dists = repo.join("apt/dists/bookworm");
    let keyring = home.join("pubring.kbx");
    let gpgv = run(Command::new("gpgv")
        .arg("--keyring")
        .arg(&keyring)
        .arg(dists.join("Release.gpg"))
        .arg(dists.join("Release")));
    assert!(gpgv.status.success(), "{gpgv:?}");
    let gpgv = run(Command::new("gpgv")
        .arg("--keyring")
        .arg(&keyring)
        .arg(dists.join("InRelease")));
    assert!(gpgv.status.success(), "{gpgv:?}");

    // boxwright's own OpenPGP public key imports into GnuPG, which then verifies InRelease.
    let keys = project.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    generate_key(&project, "openpgp", &keys.join("apt"));
    assert_success(&bw(project
        .boxwright()
        .args(["repo", "index"])
        .arg(&repo)
        .arg("--apt-key")
        .arg(keys.join("apt.key"))));
    gpg(&["--import", keys.join("apt.pub").to_str().unwrap()]);
    let gpgv = run(Command::new("gpgv")
        .arg("--keyring")
        .arg(&keyring)
        .arg(dists.join("InRelease")));
    assert!(gpgv.status.success(), "{gpgv:?}");
}
