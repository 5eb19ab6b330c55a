//! ELF verification of a build's output against the target's `verify` policy.

use std::path::Path;

use boxwright_elf::{FileKind, FileType, Policy};

use crate::{Arch, Error};

/// Checks every ELF file and static library of the output; returns one line per violation
/// (`path: reason`).
///
/// Executables and shared objects must also match the build's architecture; relocatable
/// objects (such as eBPF programs) are checked against the policy only. Every member of a
/// static library (`.a`) must be an ELF relocatable object for the build's architecture: a
/// library target ships those instead of executables.
pub fn check_tree(
    dest: &Path,
    files: &[String],
    policy: &[String],
    arch: Arch,
) -> Result<Vec<String>, Error> {
    let general = (!policy.is_empty())
        .then(|| Policy::parse(&policy.join(",")).expect("policy names come from metadata keys"));
    let mut names = policy.to_vec();
    names.push(format!("arch={}", arch.name()));
    let with_arch =
        Policy::parse(&names.join(",")).expect("architecture names are known to the policy");
    let mut violations = Vec::new();
    for file in files {
        let path = dest.join(file);
        if path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            continue;
        }
        let report = boxwright_elf::inspect(&path).map_err(|e| Error::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        if report.kind == FileKind::NotElf && starts_like_archive(&path) {
            violations.extend(
                archive_violations(&path, arch)?
                    .into_iter()
                    .map(|reason| format!("{file}: {reason}")),
            );
            continue;
        }
        let reasons = match (&report.kind, &report.elf) {
            (FileKind::Elf, Some(elf)) if elf.file_type == FileType::Rel => general
                .as_ref()
                .map(|p| p.elf_violations(elf))
                .unwrap_or_default(),
            (FileKind::Elf | FileKind::Malformed, _) => with_arch.violations(&report),
            (FileKind::NotElf, _) => Vec::new(),
        };
        violations.extend(
            reasons
                .into_iter()
                .map(|reason| format!("{file}: {reason}")),
        );
    }
    Ok(violations)
}

fn starts_like_archive(path: &Path) -> bool {
    use std::io::Read;
    let mut start = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut start))
        .is_ok()
        && boxwright_elf::archive::is_archive(&start)
}

/// Each member of the static library at `path` must be an ELF relocatable object for `arch`.
fn archive_violations(path: &Path, arch: Arch) -> Result<Vec<String>, Error> {
    use boxwright_elf::archive::{ArchiveReport, inspect_archive};
    let report = inspect_archive(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let members = match report {
        ArchiveReport::Unusable(reason) => return Ok(vec![reason]),
        ArchiveReport::Members(members) => members,
    };
    let mut reasons = Vec::new();
    for member in members {
        let name = member
            .path
            .to_string_lossy()
            .rsplit_once('(')
            .map(|(_, m)| m.trim_end_matches(')').to_string())
            .unwrap_or_default();
        match (&member.kind, &member.elf) {
            (FileKind::Elf, Some(elf)) if elf.file_type != FileType::Rel => reasons.push(format!(
                "member {name} is an ELF {:?} file, not a relocatable object",
                elf.file_type
            )),
            (FileKind::Elf, Some(elf)) if elf.machine != arch.name() => reasons.push(format!(
                "member {name} is built for {}, not {}",
                elf.machine,
                arch.name()
            )),
            (FileKind::Elf, _) => {}
            (FileKind::Malformed, _) => {
                reasons.push(format!("member {name} is a malformed ELF file"));
            }
            (FileKind::NotElf, _) => reasons.push(format!(
                "member {name} is not an ELF object (LLVM bitcode or another format)"
            )),
        }
    }
    Ok(reasons)
}
