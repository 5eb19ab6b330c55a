//! ELF verification of a build's output against the target's `verify` policy.

use std::path::Path;

use boxwright_elf::{FileKind, FileType, Policy};

use crate::{Arch, Error};

/// Checks every ELF file of the output; returns one line per violation (`path: reason`).
///
/// Executables and shared objects must also match the build's architecture; relocatable
/// objects (such as eBPF programs) are checked against the policy only.
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
