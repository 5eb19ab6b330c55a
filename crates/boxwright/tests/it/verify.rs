//! `verify`: ELF reports on binaries built here with gcc, musl-gcc and clang, compared with
//! what readelf, scanelf (pax-utils) and checksec say about the same files.
//!
//! A missing tool fails the test with the command that installs it: nothing passes by being
//! skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support;

const INSTALL: &str = "apt-get install gcc binutils musl-tools clang pax-utils checksec";

/// Fails the test when `tool` is not on PATH, saying how to install it.
fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "this test needs `{tool}`, which is missing: {INSTALL} (scripts/test-all.sh installs it)"
    );
}

/// Runs a tool and returns its stdout; fails the test with its stderr when it fails.
fn run(program: &str, args: &[&str]) -> String {
    require(program);
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const HELLO_C: &str = r#"
#include <stdio.h>
#include <string.h>

/* A local char array: -fstack-protector-strong protects this function. */
int copy_name(const char *name) {
    char buffer[64];
    strcpy(buffer, name);
    return (int)strlen(buffer);
}

int main(int argc, char **argv) {
    char first[32];
    size_t n = strlen(argv[0]);
    /* Sizes unknown at compile time: with FORTIFY_SOURCE these become __*_chk calls. */
    memcpy(first, argv[0], n < sizeof first ? n : sizeof first - 1);
    first[sizeof first - 1] = 0;
    printf("%s %d %d\n", first, copy_name(argv[0]), argc);
    return 0;
}
"#;

/// A tiny XDP program; declares its own types, so no kernel headers are needed.
const XDP_C: &str = r#"
struct xdp_md { unsigned int data, data_end, data_meta, ingress_ifindex, rx_queue_index; };
__attribute__((section("xdp"), used)) int pass_all(struct xdp_md *ctx) { return 2; }
char license_text[] __attribute__((section("license"), used)) = "GPL";
"#;

/// `(name, compiler, flags)`; every one compiles hello.c except the eBPF object.
const BUILDS: &[(&str, &str, &[&str])] = &[
    ("dyn-pie", "gcc", &["-fPIE", "-pie"]),
    ("dyn-no-pie", "gcc", &["-no-pie"]),
    ("static", "gcc", &["-static"]),
    ("static-pie", "gcc", &["-static-pie"]),
    (
        "static-pie-hardened",
        "gcc",
        &[
            "-static-pie",
            "-fPIE",
            "-O2",
            "-D_FORTIFY_SOURCE=2",
            "-fstack-protector-strong",
            "-Wl,-z,relro,-z,now",
        ],
    ),
    ("execstack", "gcc", &["-z", "execstack"]),
    ("norelro", "gcc", &["-Wl,-z,norelro"]),
    ("full-relro", "gcc", &["-Wl,-z,relro,-z,now"]),
    ("stack-protector", "gcc", &["-fstack-protector-strong"]),
    ("no-stack-protector", "gcc", &["-fno-stack-protector"]),
    ("fortify", "gcc", &["-O2", "-D_FORTIFY_SOURCE=2"]),
    (
        "libdemo.so.1",
        "gcc",
        &["-shared", "-fPIC", "-Wl,-soname,libdemo.so.1"],
    ),
    ("musl-static", "musl-gcc", &["-static"]),
    // Debian 12's musl-gcc makes a *dynamic* binary here: PT_INTERP /lib/ld-musl-x86_64.so.1.
    ("musl-static-pie", "musl-gcc", &["-static-pie", "-fPIE"]),
    ("xdp.o", "clang", &["-O2", "-target", "bpf", "-c"]),
];

/// Built files that `strip` copies, named `<name>.stripped`.
const STRIPPED: &[&str] = &["dyn-pie", "static", "static-pie", "static-pie-hardened"];

/// Binaries built into a temporary directory.
struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    /// Builds `names` (all of [`BUILDS`] and their stripped copies when empty), compilers in
    /// parallel.
    fn build(names: &[&str]) -> Fixtures {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hello.c"), HELLO_C).unwrap();
        std::fs::write(dir.path().join("xdp.c"), XDP_C).unwrap();
        let wanted = |name: &str| names.is_empty() || names.contains(&name);
        let mut children = Vec::new();
        for &(name, compiler, flags) in BUILDS {
            let stripped = format!("{name}.stripped");
            if !wanted(name) && !wanted(&stripped) {
                continue;
            }
            require(compiler);
            let source = if compiler == "clang" {
                "xdp.c"
            } else {
                "hello.c"
            };
            let child = Command::new(compiler)
                .current_dir(dir.path())
                .args(flags)
                .args(["-o", name, source])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            children.push((name, child));
        }
        for (name, child) in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "building {name} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for name in STRIPPED {
            let stripped = format!("{name}.stripped");
            if names.is_empty() || names.contains(&stripped.as_str()) {
                let input = dir.path().join(name);
                let output = dir.path().join(&stripped);
                run(
                    "strip",
                    &["-o", output.to_str().unwrap(), input.to_str().unwrap()],
                );
            }
        }
        Fixtures { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Every built file (not the sources), sorted.
    fn binaries(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_none_or(|e| e != "c"))
            .collect();
        paths.sort();
        paths
    }
}

/// `boxwright --json verify PATHS...` with an optional policy: exit code, reports by path,
/// stderr.
fn verify(paths: &[&Path], policy: Option<&str>) -> (i32, BTreeMap<String, Value>, String) {
    let mut cmd = support::boxwright();
    cmd.args(["--json", "verify"]).args(paths);
    if let Some(policy) = policy {
        cmd.args(["--policy", policy]);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let reports: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}); stderr: {stderr}"));
    let by_path = reports
        .into_iter()
        .map(|report| (report["path"].as_str().unwrap().to_owned(), report))
        .collect();
    (out.status.code().unwrap(), by_path, stderr)
}

fn elf_reports(fixtures: &Fixtures) -> Vec<(PathBuf, Value)> {
    let binaries = fixtures.binaries();
    let paths: Vec<&Path> = binaries.iter().map(PathBuf::as_path).collect();
    let (code, reports, stderr) = verify(&paths, None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(reports.len(), binaries.len());
    binaries
        .into_iter()
        .map(|path| {
            let report = reports[path.to_str().unwrap()].clone();
            assert_eq!(report["kind"], "elf", "{}: {report}", path.display());
            (path, report["elf"].clone())
        })
        .collect()
}

fn name_of(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

/// The facts each fixture was built to have, as boxwright must report them; columns are
/// JSON values (`null`: cannot be told from the file).
const EXPECTED: &str = "
name                          linking       pie    relro      nx     stripped  canary  fortify
dyn-pie                       dynamic       true   partial    true   false     false   false
dyn-pie.stripped              dynamic       true   partial    true   true      false   false
dyn-no-pie                    dynamic       false  partial    true   false     false   false
static                        static        false  partial    true   false     true    false
static.stripped               static        false  partial    true   true      null    null
static-pie                    static-pie    true   partial    true   false     true    false
static-pie.stripped           static-pie    true   partial    true   true      null    null
static-pie-hardened           static-pie    true   full       true   false     true    true
static-pie-hardened.stripped  static-pie    true   full       true   true      null    null
execstack                     dynamic       true   partial    false  false     false   false
norelro                       dynamic       true   none       true   false     false   false
full-relro                    dynamic       true   full       true   false     false   false
stack-protector               dynamic       true   partial    true   false     true    false
no-stack-protector            dynamic       true   partial    true   false     false   false
fortify                       dynamic       true   partial    true   false     false   true
libdemo.so.1                  dynamic       false  partial    true   false     false   false
musl-static                   static        false  partial    true   false     true    false
musl-static-pie               dynamic       true   partial    true   false     false   false
xdp.o                         null          false  none       null   false     false   false
";

#[test]
fn facts_of_each_fixture() {
    let fixtures = Fixtures::build(&[]);
    let reports: BTreeMap<String, Value> = elf_reports(&fixtures)
        .into_iter()
        .map(|(path, elf)| (name_of(&path).to_owned(), elf))
        .collect();
    let mut lines = EXPECTED.trim().lines().map(str::split_whitespace);
    let columns: Vec<&str> = lines.next().unwrap().skip(1).collect();
    let keys = [
        "linking",
        "pie",
        "relro",
        "nx",
        "stripped",
        "stack_protector",
        "fortify",
    ];
    assert_eq!(columns.len(), keys.len());
    let mut names = Vec::new();
    for mut row in lines {
        let name = row.next().unwrap();
        names.push(name);
        let elf = &reports[name];
        for (key, cell) in keys.iter().zip(row) {
            // Bare words (dynamic, partial...) are strings; the rest is JSON.
            let expected = serde_json::from_str(cell).unwrap_or_else(|_| Value::from(cell));
            assert_eq!(elf[key], expected, "{name}: {key}\n{elf:#}");
        }
    }
    names.sort_unstable();
    assert_eq!(
        reports.keys().collect::<Vec<_>>(),
        names,
        "fixtures and expectations list the same files"
    );
    assert_eq!(reports["libdemo.so.1"]["soname"], "libdemo.so.1");
    // Which calls gcc turns into checked ones depends on its version; printf always is.
    let fortified = reports["fortify"]["fortified"].as_array().unwrap();
    assert!(fortified.contains(&"__printf_chk".into()), "{fortified:?}");
    assert!(
        fortified
            .iter()
            .all(|f| f.as_str().unwrap().ends_with("_chk")),
        "{fortified:?}"
    );
    assert_eq!(reports["xdp.o"]["machine"], "bpf");
    assert_eq!(reports["dyn-pie"]["machine"], "x86_64");
}

/// readelf's header, program headers, dynamic section and section list.
#[derive(Debug, Default)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one flag per readelf line looked for"
)]
struct Readelf {
    class: String,
    file_type: String,
    pie_executable: bool,
    machine: String,
    interpreter: Option<String>,
    needed: Vec<String>,
    soname: Option<String>,
    gnu_relro: bool,
    gnu_stack_flags: Option<String>,
    bind_now: bool,
    symtab: bool,
}

fn readelf(path: &Path) -> Readelf {
    let text = run("readelf", &["-lhdSW", path.to_str().unwrap()]);
    let mut facts = Readelf::default();
    let bracketed = |line: &str| {
        let start = line.find('[').unwrap() + 1;
        line[start..line.rfind(']').unwrap()].to_owned()
    };
    for line in text.lines() {
        let trimmed = line.trim_start();
        let field = |name: &str| {
            trimmed
                .strip_prefix(name)
                .map(|rest| rest.trim().to_owned())
        };
        if let Some(class) = field("Class:") {
            facts.class = class;
        } else if let Some(file_type) = field("Type:") {
            facts.pie_executable = file_type.contains("Position-Independent Executable");
            file_type
                .split_whitespace()
                .next()
                .unwrap()
                .clone_into(&mut facts.file_type);
        } else if let Some(machine) = field("Machine:") {
            facts.machine = machine;
        } else if trimmed.starts_with("[Requesting program interpreter:") {
            facts.interpreter = Some(
                bracketed(trimmed)
                    .trim_start_matches("Requesting program interpreter: ")
                    .to_owned(),
            );
        } else if trimmed.starts_with("GNU_RELRO ") {
            facts.gnu_relro = true;
        } else if trimmed.starts_with("GNU_STACK ") {
            // Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align: the flags are the
            // columns between MemSiz and Align ("RW" or "RWE").
            let columns: Vec<&str> = trimmed.split_whitespace().collect();
            facts.gnu_stack_flags = Some(columns[6..columns.len() - 1].concat());
        } else if trimmed.contains("(NEEDED)") {
            facts.needed.push(bracketed(trimmed));
        } else if trimmed.contains("(SONAME)") {
            facts.soname = Some(bracketed(trimmed));
        } else if trimmed.contains("(BIND_NOW)")
            || (trimmed.contains("(FLAGS)") && trimmed.contains("BIND_NOW"))
            || (trimmed.contains("(FLAGS_1)")
                && trimmed.split_whitespace().any(|word| word == "NOW"))
        {
            facts.bind_now = true;
        } else if trimmed.starts_with('[') && trimmed.contains(" .symtab ") {
            facts.symtab = true;
        }
    }
    facts
}

#[test]
fn agrees_with_readelf() {
    let fixtures = Fixtures::build(&[]);
    for (path, elf) in elf_reports(&fixtures) {
        let name = name_of(&path);
        let readelf = readelf(&path);
        let context = format!("{name}: readelf says {readelf:#?}\nboxwright says {elf:#}");
        let class = match readelf.class.as_str() {
            "ELF64" => "elf64",
            "ELF32" => "elf32",
            other => panic!("unexpected class {other}"),
        };
        assert_eq!(elf["class"], class, "{context}");
        assert_eq!(elf["type"], readelf.file_type.to_lowercase(), "{context}");
        let machine = match readelf.machine.as_str() {
            "Advanced Micro Devices X86-64" => "x86_64",
            "AArch64" => "aarch64",
            "Linux BPF" => "bpf",
            other => panic!("{context}\nunexpected machine {other}"),
        };
        assert_eq!(elf["machine"], machine, "{context}");
        assert_eq!(
            elf["interpreter"].as_str(),
            readelf.interpreter.as_deref(),
            "{context}"
        );
        assert_eq!(
            elf["needed"],
            serde_json::json!(readelf.needed),
            "{context}"
        );
        assert_eq!(
            elf["soname"].as_str(),
            readelf.soname.as_deref(),
            "{context}"
        );
        assert_eq!(elf["relro"] != "none", readelf.gnu_relro, "{context}");
        assert_eq!(elf["bind_now"], readelf.bind_now, "{context}");
        assert_eq!(
            elf["gnu_stack"],
            readelf.gnu_stack_flags.is_some(),
            "{context}"
        );
        if let Some(flags) = &readelf.gnu_stack_flags {
            assert_eq!(elf["nx"], !flags.contains('E'), "{context}");
        }
        assert_eq!(elf["stripped"], !readelf.symtab, "{context}");
        // readelf calls an ET_DYN with DF_1_PIE a "Position-Independent Executable"; every
        // PIE built here has that flag, and no shared library does.
        assert_eq!(elf["pie"], readelf.pie_executable, "{context}");
    }
}

#[test]
fn agrees_with_scanelf() {
    let fixtures = Fixtures::build(&[]);
    for (path, elf) in elf_reports(&fixtures) {
        let name = name_of(&path);
        // type|class|machine|stack relro load|bind|interp|needed|soname|textrel|.symtab|path
        let line = run(
            "scanelf",
            &[
                "-B",
                "-k",
                ".symtab",
                "-F",
                "%o|%M|%a|%e|%b|%i|%n|%S|%t|%k|%F",
                path.to_str().unwrap(),
            ],
        );
        let fields: Vec<&str> = line.trim_end().split('|').collect();
        assert_eq!(fields.len(), 11, "{name}: {line}");
        assert_eq!(fields[10], path.to_str().unwrap());
        let context = format!("{name}: scanelf says {line}\nboxwright says {elf:#}");
        let file_type = fields[0].strip_prefix("ET_").unwrap().to_lowercase();
        assert_eq!(elf["type"], file_type, "{context}");
        assert_eq!(
            elf["class"],
            fields[1]
                .strip_prefix("ELFCLASS")
                .map(|bits| format!("elf{bits}"))
                .unwrap(),
            "{context}"
        );
        match fields[2] {
            "EM_X86_64" => assert_eq!(elf["machine"], "x86_64", "{context}"),
            // pax-utils 1.3.7 has no name for EM_BPF; later versions print EM_BPF.
            "UNKNOWN_TYPE" | "EM_BPF" => assert_eq!(elf["machine"], "bpf", "{context}"),
            other => panic!("{context}\nunexpected machine {other}"),
        }
        if elf["type"] != "rel" {
            // GNU_STACK, GNU_RELRO and the first PT_LOAD, as rwx; --- when absent.
            let segments: Vec<&str> = fields[3].split_whitespace().collect();
            let (stack, relro) = (segments[0], segments[1]);
            let nx = stack != "---" && !stack.contains('X');
            assert_eq!(elf["nx"], nx, "{context}");
            assert_eq!(elf["gnu_stack"], stack != "---", "{context}");
            assert_eq!(elf["relro"] != "none", relro != "---", "{context}");
        }
        assert_eq!(elf["bind_now"], fields[4] == "NOW", "{context}");
        let interpreter = Some(fields[5]).filter(|i| !i.is_empty());
        assert_eq!(elf["interpreter"].as_str(), interpreter, "{context}");
        let needed: Vec<&str> = fields[6].split(',').filter(|n| !n.is_empty()).collect();
        assert_eq!(elf["needed"], serde_json::json!(needed), "{context}");
        let soname = Some(fields[7]).filter(|s| !s.is_empty());
        assert_eq!(elf["soname"].as_str(), soname, "{context}");
        assert_eq!(elf["textrel"], fields[8].trim() == "TEXTREL", "{context}");
        assert_eq!(elf["stripped"], fields[9].trim() != ".symtab", "{context}");
    }
}

#[test]
fn agrees_with_checksec() {
    let fixtures = Fixtures::build(&[]);
    for (path, elf) in elf_reports(&fixtures) {
        let name = name_of(&path);
        let file = path.to_str().unwrap();
        // Debian's checksec is a shell script; its JSON is one object keyed by the file name.
        let output = run("checksec", &["--output=json", &format!("--file={file}")]);
        let json: Value = serde_json::from_str(output.trim())
            .unwrap_or_else(|e| panic!("{name}: checksec printed no JSON ({e}): {output}"));
        let checksec = &json[file];
        let context = format!("{name}: checksec says {checksec}\nboxwright says {elf:#}");
        let relro = match checksec["relro"].as_str().unwrap() {
            "no" => "none",
            other => other,
        };
        assert_eq!(elf["relro"], relro, "{context}");
        let yes = |key: &str| checksec[key] == "yes";
        // Where boxwright cannot tell (a stripped static file), checksec says "no".
        match elf["stack_protector"].as_bool() {
            Some(found) => assert_eq!(found, yes("canary"), "{context}"),
            None => assert!(!yes("canary"), "{context}"),
        }
        // checksec treats a file without program headers (xdp.o) as having no NX.
        match elf["nx"].as_bool() {
            Some(nx) => assert_eq!(nx, yes("nx"), "{context}"),
            None => assert_eq!(checksec["nx"], "no", "{context}"),
        }
        let pie = match (elf["type"].as_str().unwrap(), elf["pie"].as_bool().unwrap()) {
            ("exec", _) => "no",
            ("dyn", true) => "yes",
            ("dyn", false) => "dso",
            ("rel", _) => "rel",
            other => panic!("{context}\nunexpected {other:?}"),
        };
        assert_eq!(checksec["pie"], pie, "{context}");
        assert_eq!(elf["stripped"], !yes("symbols"), "{context}");
        // checksec looks for FORTIFY only in .dynsym, so it can only see it in dynamic files;
        // boxwright also finds the checked functions linked into a static file.
        if elf["linking"] == "dynamic" {
            assert_eq!(elf["fortify"], yes("fortify_source"), "{context}");
            let fortified = elf["fortified"].as_array().unwrap().len();
            assert_eq!(checksec["fortified"], fortified.to_string(), "{context}");
        } else {
            assert_eq!(checksec["fortify_source"], "no", "{context}");
        }
    }
}

#[test]
fn musl_static_pie_trap_is_dynamic_and_fails_static() {
    let fixtures = Fixtures::build(&["musl-static-pie", "musl-static"]);
    let trap = fixtures.path("musl-static-pie");
    let (code, reports, stderr) = verify(&[&trap], Some("static"));
    assert_eq!(code, 1, "{stderr}");
    let elf = &reports[trap.to_str().unwrap()]["elf"];
    assert_eq!(elf["linking"], "dynamic");
    assert_eq!(elf["interpreter"], "/lib/ld-musl-x86_64.so.1");
    assert_eq!(
        stderr.lines().next().unwrap(),
        format!(
            "{}: dynamically linked: interpreter /lib/ld-musl-x86_64.so.1, needs libc.so",
            trap.display()
        )
    );
    assert!(stderr.contains("error: 1 violation"), "{stderr}");

    // A real musl static binary passes.
    let (code, _, stderr) = verify(
        &[&fixtures.path("musl-static")],
        Some("static,nx,arch=x86_64"),
    );
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn bin_ls_fails_static_policy() {
    let (code, reports, stderr) = verify(&[Path::new("/bin/ls")], Some("static"));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(reports["/bin/ls"]["elf"]["linking"], "dynamic");
    assert!(
        stderr.starts_with("/bin/ls: dynamically linked: interpreter /lib"),
        "{stderr}"
    );
    assert!(stderr.contains("libc.so.6"), "{stderr}");
    assert!(
        stderr.ends_with("\nerror: 1 violation of policy static in 1 file (of 1 checked)\n"),
        "{stderr}"
    );
}

#[test]
fn hardened_static_pie_meets_the_strict_policy() {
    let fixtures = Fixtures::build(&["static-pie-hardened.stripped", "static-pie"]);
    let hardened = fixtures.path("static-pie-hardened.stripped");
    let (code, reports, stderr) = verify(
        &[&hardened],
        Some("static,pie,stripped,relro,nx,arch=amd64"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        reports[hardened.to_str().unwrap()]["violations"],
        serde_json::json!([])
    );

    // Canary and FORTIFY cannot be confirmed on a stripped static binary: a violation each.
    let (code, reports, stderr) = verify(&[&hardened], Some("canary,fortify"));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        reports[hardened.to_str().unwrap()]["violations"],
        serde_json::json!([
            "stack protector unknown: a stripped static file has no symbols to look at",
            "FORTIFY_SOURCE unknown: a stripped static file has no symbols to look at",
        ])
    );

    let plain = fixtures.path("static-pie");
    let (code, reports, _) = verify(&[&plain], Some("relro,stripped,arch=aarch64"));
    assert_eq!(code, 1);
    assert_eq!(
        reports[plain.to_str().unwrap()]["violations"],
        serde_json::json!([
            "not stripped: has a .symtab section",
            "partial RELRO: PT_GNU_RELRO without BIND_NOW (link with -z now)",
            "architecture is x86_64, the policy wants aarch64",
        ])
    );
}

#[test]
fn ebpf_program_sections_and_license() {
    let fixtures = Fixtures::build(&["xdp.o"]);
    let object = fixtures.path("xdp.o");
    let (code, reports, stderr) = verify(&[&object], None);
    assert_eq!(code, 0, "{stderr}");
    let bpf = &reports[object.to_str().unwrap()]["elf"]["bpf"];
    assert_eq!(bpf["license"], "GPL");
    let programs = bpf["programs"].as_array().unwrap();
    assert_eq!(programs.len(), 1, "{bpf}");
    assert_eq!(programs[0]["section"], "xdp");
    // readelf agrees: the xdp section is executable (X), with the same size.
    let sections = run("readelf", &["-SW", object.to_str().unwrap()]);
    let line = sections
        .lines()
        .find(|line| line.split_whitespace().nth(2) == Some("xdp"))
        .unwrap_or_else(|| panic!("no xdp section in {sections}"));
    // [Nr] Name Type Address Off Size ES Flg Lk Inf Al
    let columns: Vec<&str> = line.split(']').nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        programs[0]["size"].as_u64().unwrap(),
        u64::from_str_radix(columns[4], 16).unwrap()
    );
    assert!(columns[6].contains('X'), "{line}");
    // arch=bpf is how a policy says "only eBPF objects here".
    let (code, _, stderr) = verify(&[&object], Some("arch=bpf"));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn text_files_are_not_elf() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a program\n").unwrap();
    let (code, reports, stderr) = verify(&[&text], None);
    assert_eq!(code, 0, "{stderr}");
    let report = &reports[text.to_str().unwrap()];
    assert_eq!(report["kind"], "not_elf");
    assert_eq!(report["elf"], Value::Null);

    let (code, reports, stderr) = verify(&[&text], Some("pie"));
    assert_eq!(code, 1);
    assert_eq!(
        reports[text.to_str().unwrap()]["violations"],
        serde_json::json!(["not an ELF file"])
    );
    assert!(
        stderr.starts_with(&format!("{}: not an ELF file\n", text.display())),
        "{stderr}"
    );

    let out = support::boxwright()
        .args(["verify"])
        .arg(&text)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("  not an ELF file"),
        "{stdout}"
    );
}

#[test]
fn directories_are_walked_in_order_without_following_links() {
    let fixtures = Fixtures::build(&["dyn-pie"]);
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("bin/sub")).unwrap();
    std::fs::copy(fixtures.path("dyn-pie"), root.path().join("bin/zeta")).unwrap();
    std::fs::copy(fixtures.path("dyn-pie"), root.path().join("bin/sub/alpha")).unwrap();
    std::fs::write(root.path().join("bin/README"), "text").unwrap();
    std::os::unix::fs::symlink("zeta", root.path().join("bin/link")).unwrap();
    std::os::unix::fs::symlink(fixtures.dir.path(), root.path().join("bin/dir-link")).unwrap();

    let out = support::boxwright()
        .args(["--json", "verify"])
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let reports: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<String> = reports
        .iter()
        .map(|r| {
            let path = Path::new(r["path"].as_str().unwrap());
            path.strip_prefix(root.path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(paths, ["bin/README", "bin/sub/alpha", "bin/zeta"]);
}

#[test]
fn text_report_is_one_aligned_line_per_file() {
    let fixtures = Fixtures::build(&["dyn-pie", "static-pie"]);
    let out = support::boxwright()
        .arg("verify")
        .arg(fixtures.path("dyn-pie"))
        .arg(fixtures.path("static-pie"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("PATH "), "{stdout}");
    let column = |line: &str, word: &str| line.find(word).unwrap();
    // Columns line up: ARCH's values start where the header's ARCH does.
    assert_eq!(column(lines[1], " x86_64 ") + 1, column(lines[0], "ARCH"));
    assert_eq!(column(lines[2], " x86_64 ") + 1, column(lines[0], "ARCH"));
    assert!(lines[1].contains(" dynamic "), "{stdout}");
    assert!(lines[1].ends_with("needs libc.so.6"), "{stdout}");
    assert!(lines[2].contains(" static-pie "), "{stdout}");
}

#[test]
fn invalid_policy_is_a_usage_error() {
    let out = support::boxwright()
        .args(["verify", "/bin/ls", "--policy", "static,pic"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("unknown policy `pic`"), "{stderr}");

    let out = support::boxwright()
        .args(["verify", "/nonexistent/boxwright-verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: cannot read /nonexistent/boxwright-verify"),
        "{stderr}"
    );
}
