//! `boxwright verify PATH... [--policy LIST]`: an ELF report per file, checked against a policy.

use std::io::{self, Write};

use boxwright_elf::{ElfReport, FileKind, FileReport, Policy};
use serde::Serialize;

use super::ExitStatus;
use crate::cli::{GlobalArgs, VerifyArgs};
use crate::context;
use crate::printer::Printer;

/// One file's report and what the policy found wrong with it (the `--json` array items).
#[derive(Serialize)]
struct Verdict {
    #[serde(flatten)]
    report: FileReport,
    violations: Vec<String>,
}

pub fn run(
    global: &GlobalArgs,
    printer: &Printer,
    args: &VerifyArgs,
) -> anyhow::Result<ExitStatus> {
    if let Some(subject) = &args.image {
        return services(global, printer, subject, args.platform.as_deref());
    }
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let results = boxwright_elf::inspect_paths(&args.paths, threads)?;
    let total = results.len();
    let mut verdicts = Vec::with_capacity(total);
    let mut unreadable = 0_usize;
    for result in results {
        match result {
            Ok(report) => {
                let violations = args
                    .policy
                    .as_ref()
                    .map(|policy| policy.violations(&report))
                    .unwrap_or_default();
                verdicts.push(Verdict { report, violations });
            }
            Err(error) => {
                printer.failed(&anyhow::Error::from(error));
                unreadable += 1;
            }
        }
    }
    printer.detail(format!(
        "inspected {} files ({} ELF) on {threads} threads",
        verdicts.len(),
        verdicts
            .iter()
            .filter(|v| v.report.kind == FileKind::Elf)
            .count()
    ));

    if printer.json {
        // Unreadable files end in an error: its object is the one document on stdout.
        if unreadable == 0 {
            printer.json(&verdicts);
        }
    } else {
        print_table(printer, &verdicts);
    }

    let violations = report_violations(&verdicts, args.policy.as_ref());
    if unreadable > 0 {
        anyhow::bail!("{unreadable} of {total} files could not be read");
    }
    Ok(if violations > 0 {
        ExitStatus::CheckFailed
    } else {
        ExitStatus::Success
    })
}

/// Writes `PATH: reason` for every violation to stderr, then `error: N violations`; returns N.
fn report_violations(verdicts: &[Verdict], policy: Option<&Policy>) -> usize {
    let count: usize = verdicts.iter().map(|v| v.violations.len()).sum();
    if count == 0 {
        return 0;
    }
    let mut err = io::stderr().lock();
    for verdict in verdicts {
        for reason in &verdict.violations {
            let _ = writeln!(err, "{}: {reason}", verdict.report.path.display());
        }
    }
    let files = verdicts.iter().filter(|v| !v.violations.is_empty()).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        err,
        "error: {} of policy {} in {} (of {} checked)",
        plural(count, "violation"),
        policy.map(ToString::to_string).unwrap_or_default(),
        plural(files, "file"),
        verdicts.len()
    );
    count
}

const HEADER: [&str; 11] = [
    "PATH", "ARCH", "TYPE", "LINKING", "PIE", "RELRO", "NX", "CANARY", "FORTIFY", "STRIPPED",
    "DETAILS",
];

/// One aligned line per file: the key facts, then the interpreter and libraries (or the eBPF
/// programs) at the end, where their length does not push other columns around.
fn print_table(printer: &Printer, verdicts: &[Verdict]) {
    let rows: Vec<Vec<String>> = verdicts.iter().map(|v| row(&v.report)).collect();
    let mut widths = HEADER.map(str::len);
    for row in rows.iter().filter(|row| row.len() == HEADER.len()) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let last = cells.len() - 1;
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(index, cell)| {
                if index == last {
                    cell.clone()
                } else {
                    format!("{cell:<width$}", width = widths[index])
                }
            })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    printer.line(line(&HEADER.map(str::to_owned)));
    for row in &rows {
        printer.line(line(row));
    }
}

fn row(report: &FileReport) -> Vec<String> {
    let path = report.path.display().to_string();
    match (&report.kind, &report.elf) {
        (FileKind::Elf, Some(elf)) => elf_row(path, elf),
        (FileKind::Malformed, _) => vec![
            path,
            format!(
                "malformed ELF file: {}",
                report.error.as_deref().unwrap_or("")
            ),
        ],
        _ => vec![path, "not an ELF file".to_owned()],
    }
}

fn elf_row(path: String, elf: &ElfReport) -> Vec<String> {
    let yes_no = |value: bool| if value { "yes" } else { "no" }.to_owned();
    let maybe = |value: Option<bool>| value.map_or_else(|| "?".to_owned(), yes_no);
    vec![
        path,
        elf.machine.clone(),
        elf.file_type.to_string(),
        elf.linking
            .map_or_else(|| "-".to_owned(), |l| l.to_string()),
        yes_no(elf.pie),
        elf.relro.to_string(),
        maybe(elf.nx),
        maybe(elf.stack_protector),
        maybe(elf.fortify),
        yes_no(elf.stripped),
        details(elf),
    ]
}

fn details(elf: &ElfReport) -> String {
    let mut parts = Vec::new();
    if let Some(interpreter) = &elf.interpreter {
        parts.push(format!("interpreter {interpreter}"));
    }
    if !elf.needed.is_empty() {
        parts.push(format!("needs {}", elf.needed.join(" ")));
    }
    if let Some(soname) = &elf.soname {
        parts.push(format!("soname {soname}"));
    }
    if elf.nx == Some(false) && !elf.gnu_stack {
        parts.push("no PT_GNU_STACK (executable stack)".to_owned());
    }
    if elf.textrel {
        parts.push("TEXTREL".to_owned());
    }
    if let Some(bpf) = &elf.bpf {
        let programs: Vec<String> = bpf
            .programs
            .iter()
            .map(|p| format!("{} ({} bytes)", p.section, p.size))
            .collect();
        parts.push(format!("programs {}", programs.join(" ")));
        if let Some(license) = &bpf.license {
            parts.push(format!("license {license}"));
        }
    }
    parts.join(", ")
}

/// `verify --image SUBJECT`: the image's s6 services, one line per problem on stderr.
fn services(
    global: &GlobalArgs,
    printer: &Printer,
    subject: &str,
    platform: Option<&str>,
) -> anyhow::Result<ExitStatus> {
    use boxwright_registry::Subject;
    let project = context::optional_project(global)?;
    let targets: Vec<String> = project
        .iter()
        .flat_map(|p| p.metadata.targets.keys().cloned())
        .collect();
    let parsed = Subject::parse(
        subject,
        &boxwright_registry::subject::FileSystem { targets: &targets },
    )?;
    let (path, tag) = match &parsed {
        Subject::Path(path) => (path.clone(), None),
        Subject::Layout { dir, tag } => (dir.clone(), Some(tag.clone())),
        Subject::OciArchive { file, tag } => (file.clone(), tag.clone()),
        Subject::Target(name) => anyhow::bail!(
            "`{name}` is a target: verify --image checks an image; build it first \
             (boxwright image build {name} --format oci -o DIR) and name DIR"
        ),
        other => anyhow::bail!(
            "verify --image reads local images (OCI layout, oci-archive, rootfs), not {}; \
             save it first with `boxwright image pull REF -o DIR`",
            other.kind()
        ),
    };
    let image = boxwright_image::image_tree(&path, tag.as_deref(), platform)?;
    let report = boxwright_image::check_services(&image.tree, &image.entrypoint);
    if printer.json {
        let problems: Vec<_> = report
            .problems
            .iter()
            .map(
                |p| serde_json::json!({ "service": p.service, "path": p.path, "reason": p.reason }),
            )
            .collect();
        printer.json(&serde_json::json!({ "services": report.services, "problems": problems }));
    } else {
        for name in &report.services {
            let ok = !report.problems.iter().any(|p| &p.service == name);
            printer.line(format!("{name}  {}", if ok { "ok" } else { "FAILED" }));
        }
    }
    if report.services.is_empty() {
        printer.failed(&anyhow::anyhow!(
            "{subject} has no services (no directory in /etc/services.d)"
        ));
        return Ok(ExitStatus::CheckFailed);
    }
    if report.problems.is_empty() {
        printer.detail(format!(
            "{} services checked in {subject}",
            report.services.len()
        ));
        return Ok(ExitStatus::Success);
    }
    let mut err = io::stderr().lock();
    for problem in &report.problems {
        let _ = writeln!(err, "{problem}");
    }
    let _ = writeln!(
        err,
        "error: {} problem(s) in the services of {subject}",
        report.problems.len()
    );
    Ok(ExitStatus::CheckFailed)
}
