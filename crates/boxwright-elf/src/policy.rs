//! Policies: requirements that turn report facts into violations.

use std::fmt;
use std::str::FromStr;

use crate::machine;
use crate::report::{ElfReport, FileKind, FileReport, FileType, Linking, Relro};

/// What `--policy static,pie,stripped,relro,nx,canary,fortify,arch=x86_64` asks of every file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each flag is one independent requirement"
)]
pub struct Policy {
    /// `static`: no interpreter and no `DT_NEEDED` (static or static-pie).
    pub static_linking: bool,
    /// `pie`: a position-independent executable.
    pub pie: bool,
    /// `stripped`: no `.symtab`.
    pub stripped: bool,
    /// `relro`: full RELRO (`PT_GNU_RELRO` and BIND_NOW).
    pub relro: bool,
    /// `nx`: a `PT_GNU_STACK` without `PF_X`.
    pub nx: bool,
    /// `canary`: a stack protector symbol is used.
    pub canary: bool,
    /// `fortify`: a FORTIFY_SOURCE checked function is used.
    pub fortify: bool,
    /// `arch=NAME`: the machine, by canonical name (`amd64` is stored as `x86_64`).
    pub arch: Option<String>,
}

/// What is wrong with a policy list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("empty policy (known: {KNOWN})")]
    Empty,
    #[error("unknown policy `{name}` (known: {KNOWN})")]
    Unknown { name: String },
    #[error("policy `{name}` takes no value")]
    UnexpectedValue { name: String },
    #[error("policy `arch` needs a value, like arch=x86_64")]
    MissingArch,
    #[error("policy asks for two architectures, `{first}` and `{second}`")]
    ConflictingArch { first: String, second: String },
}

const KNOWN: &str = "static, pie, stripped, relro, nx, canary, fortify, arch=NAME";

impl Policy {
    /// Parses a comma-separated list; blanks around names are ignored.
    pub fn parse(list: &str) -> Result<Policy, PolicyError> {
        let mut policy = Policy::default();
        let mut any = false;
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            any = true;
            let (name, value) = match item.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim())),
                None => (item, None),
            };
            if name == "arch" {
                let arch = value
                    .filter(|v| !v.is_empty())
                    .map(machine::canonical)
                    .ok_or(PolicyError::MissingArch)?;
                if let Some(first) = policy.arch.as_ref().filter(|first| **first != arch) {
                    return Err(PolicyError::ConflictingArch {
                        first: first.clone(),
                        second: arch,
                    });
                }
                policy.arch = Some(arch);
                continue;
            }
            let flag = match name {
                "static" => &mut policy.static_linking,
                "pie" => &mut policy.pie,
                "stripped" => &mut policy.stripped,
                "relro" => &mut policy.relro,
                "nx" => &mut policy.nx,
                "canary" => &mut policy.canary,
                "fortify" => &mut policy.fortify,
                _ => {
                    return Err(PolicyError::Unknown {
                        name: name.to_owned(),
                    });
                }
            };
            if value.is_some() {
                return Err(PolicyError::UnexpectedValue {
                    name: name.to_owned(),
                });
            }
            *flag = true;
        }
        if any {
            Ok(policy)
        } else {
            Err(PolicyError::Empty)
        }
    }

    /// One reason per requirement the file does not meet; empty when it meets them all. A
    /// file that is not ELF (or not readable as ELF) meets none, and gets one reason.
    pub fn violations(&self, report: &FileReport) -> Vec<String> {
        match (&report.kind, &report.elf) {
            (FileKind::Elf, Some(elf)) => self.elf_violations(elf),
            (FileKind::Malformed, _) => vec![format!(
                "malformed ELF file: {}",
                report.error.as_deref().unwrap_or("unreadable headers")
            )],
            _ => vec!["not an ELF file".to_owned()],
        }
    }

    /// One reason per requirement this ELF file does not meet.
    pub fn elf_violations(&self, elf: &ElfReport) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.static_linking {
            reasons.extend(static_violation(elf));
        }
        if self.pie && !elf.pie {
            reasons.push(match elf.file_type {
                FileType::Exec => "not PIE: ET_EXEC, loaded at a fixed address".to_owned(),
                FileType::Dyn => match &elf.soname {
                    Some(soname) => format!("not PIE: a shared library ({soname})"),
                    None => "not PIE: a shared library".to_owned(),
                },
                other => format!("not PIE: not an executable (type {other})"),
            });
        }
        if self.stripped && !elf.stripped {
            reasons.push("not stripped: has a .symtab section".to_owned());
        }
        if self.relro {
            match elf.relro {
                Relro::Full => {}
                Relro::Partial => reasons.push(
                    "partial RELRO: PT_GNU_RELRO without BIND_NOW (link with -z now)".to_owned(),
                ),
                Relro::None => reasons.push("no RELRO: no PT_GNU_RELRO segment".to_owned()),
            }
        }
        if self.nx {
            match elf.nx {
                Some(true) => {}
                Some(false) if elf.gnu_stack => {
                    reasons.push("executable stack: PT_GNU_STACK has PF_X".to_owned());
                }
                Some(false) => reasons.push(
                    "executable stack: no PT_GNU_STACK segment, so most architectures default \
                     to an executable stack"
                        .to_owned(),
                ),
                None => reasons.push("stack executability unknown: no program headers".to_owned()),
            }
        }
        let unknown = "a stripped static file has no symbols to look at";
        if self.canary {
            match elf.stack_protector {
                Some(true) => {}
                Some(false) => reasons.push(
                    "no stack protector: neither __stack_chk_fail nor __stack_chk_guard is used"
                        .to_owned(),
                ),
                None => reasons.push(format!("stack protector unknown: {unknown}")),
            }
        }
        if self.fortify {
            match elf.fortify {
                Some(true) => {}
                Some(false) => reasons.push(
                    "not fortified: no FORTIFY_SOURCE checked function (__*_chk) is used"
                        .to_owned(),
                ),
                None => reasons.push(format!("FORTIFY_SOURCE unknown: {unknown}")),
            }
        }
        if let Some(arch) = self.arch.as_ref().filter(|arch| **arch != elf.machine) {
            reasons.push(format!(
                "architecture is {}, the policy wants {arch}",
                elf.machine
            ));
        }
        reasons
    }
}

fn static_violation(elf: &ElfReport) -> Option<String> {
    match elf.linking {
        Some(Linking::Static | Linking::StaticPie) => None,
        Some(Linking::Dynamic) => {
            let mut parts = Vec::new();
            if let Some(interpreter) = &elf.interpreter {
                parts.push(format!("interpreter {interpreter}"));
            }
            if !elf.needed.is_empty() {
                parts.push(format!("needs {}", elf.needed.join(", ")));
            }
            Some(format!("dynamically linked: {}", parts.join(", ")))
        }
        None => Some(format!(
            "not a linked executable (type {}), so not static",
            elf.file_type
        )),
    }
}

impl FromStr for Policy {
    type Err = PolicyError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        Policy::parse(list)
    }
}

/// The canonical list, in a fixed order: `static,pie,stripped,relro,nx,canary,fortify,arch=…`.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = [
            (self.static_linking, "static"),
            (self.pie, "pie"),
            (self.stripped, "stripped"),
            (self.relro, "relro"),
            (self.nx, "nx"),
            (self.canary, "canary"),
            (self.fortify, "fortify"),
        ];
        let mut names: Vec<String> = flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| (*name).to_owned())
            .collect();
        if let Some(arch) = &self.arch {
            names.push(format!("arch={arch}"));
        }
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rstest::rstest;

    use super::*;
    use crate::facts::tests::{dynamic_pie, static_exec, static_pie};

    #[test]
    fn parses_every_name() {
        let policy =
            Policy::parse(" static, pie ,stripped,relro,nx,canary,fortify,arch=amd64").unwrap();
        assert_eq!(
            policy,
            Policy {
                static_linking: true,
                pie: true,
                stripped: true,
                relro: true,
                nx: true,
                canary: true,
                fortify: true,
                arch: Some("x86_64".into()),
            }
        );
        assert_eq!(
            policy.to_string(),
            "static,pie,stripped,relro,nx,canary,fortify,arch=x86_64"
        );
        assert_eq!("pie,,".parse::<Policy>().unwrap().to_string(), "pie");
        assert_eq!(
            Policy::parse("arch=x86_64,arch=amd64")
                .unwrap()
                .arch
                .as_deref(),
            Some("x86_64")
        );
    }

    #[rstest]
    #[case("", PolicyError::Empty)]
    #[case(" , ", PolicyError::Empty)]
    #[case("static,pic", PolicyError::Unknown { name: "pic".into() })]
    #[case("pie=yes", PolicyError::UnexpectedValue { name: "pie".into() })]
    #[case("arch", PolicyError::MissingArch)]
    #[case("arch=", PolicyError::MissingArch)]
    #[case("arch=x86_64,arch=arm64", PolicyError::ConflictingArch { first: "x86_64".into(), second: "aarch64".into() })]
    fn rejects(#[case] list: &str, #[case] error: PolicyError) {
        assert_eq!(Policy::parse(list), Err(error));
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let message = Policy::parse("bogus").unwrap_err().to_string();
        assert_eq!(
            message,
            "unknown policy `bogus` (known: static, pie, stripped, relro, nx, canary, fortify, arch=NAME)"
        );
    }

    fn everything() -> Policy {
        Policy::parse("static,pie,stripped,relro,nx,canary,fortify,arch=x86_64").unwrap()
    }

    #[test]
    fn dynamic_pie_violations_one_per_requirement() {
        let report = dynamic_pie().into_report();
        assert_eq!(
            everything().elf_violations(&report),
            [
                "dynamically linked: interpreter /lib64/ld-linux-x86-64.so.2, needs libc.so.6",
                "not stripped: has a .symtab section",
                "partial RELRO: PT_GNU_RELRO without BIND_NOW (link with -z now)",
                "no stack protector: neither __stack_chk_fail nor __stack_chk_guard is used",
                "not fortified: no FORTIFY_SOURCE checked function (__*_chk) is used",
            ]
        );
    }

    #[test]
    fn static_exec_and_unknowns() {
        let mut facts = static_exec();
        facts.symtab = false;
        facts.gnu_stack_executable = None;
        facts.gnu_relro = false;
        facts.machine = "aarch64".into();
        assert_eq!(
            everything().elf_violations(&facts.into_report()),
            [
                "not PIE: ET_EXEC, loaded at a fixed address",
                "no RELRO: no PT_GNU_RELRO segment",
                "executable stack: no PT_GNU_STACK segment, so most architectures default to an executable stack",
                "stack protector unknown: a stripped static file has no symbols to look at",
                "FORTIFY_SOURCE unknown: a stripped static file has no symbols to look at",
                "architecture is aarch64, the policy wants x86_64",
            ]
        );
    }

    #[test]
    fn hardened_static_pie_passes() {
        let mut facts = static_pie();
        facts.symtab = false;
        facts.dynsym = true;
        facts.stack_protector_symbol = true;
        facts.fortified.insert("__memcpy_chk".into());
        if let Some(dynamic) = facts.dynamic.as_mut() {
            dynamic.bind_now_tag = true;
        }
        assert_eq!(
            everything().elf_violations(&facts.into_report()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn interpreter_only_is_dynamic() {
        let mut facts = static_pie();
        facts.interpreter = Some("/lib/ld-musl-x86_64.so.1".into());
        let policy = Policy::parse("static").unwrap();
        assert_eq!(
            policy.elf_violations(&facts.into_report()),
            ["dynamically linked: interpreter /lib/ld-musl-x86_64.so.1"]
        );
    }

    #[test]
    fn files_that_are_not_elf() {
        let policy = Policy::parse("pie").unwrap();
        let path = Path::new("notes.txt");
        assert_eq!(
            policy.violations(&FileReport::not_elf(path)),
            ["not an ELF file"]
        );
        assert_eq!(
            policy.violations(&FileReport::malformed(path, "truncated")),
            ["malformed ELF file: truncated"]
        );
    }
}
