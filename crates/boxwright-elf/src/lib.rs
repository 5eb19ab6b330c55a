//! ELF reports for `boxwright verify`.
//!
//! [`inspect`] reads one file and reports what kind of ELF file it is and how it was
//! hardened; [`inspect_paths`] does that for whole trees on several threads; [`Policy`]
//! turns a report into violations. The crate reads files and nothing else: no processes,
//! no network.
//!
//! # The rules
//!
//! Each fact comes from the headers, the dynamic segment or the symbol tables, never from
//! running anything. Where tools disagree, the rule below says what this crate does.
//!
//! - **linking**: `dynamic` when the file has `PT_INTERP` or any `DT_NEEDED`, whatever
//!   else it has (`musl-gcc -static-pie` on Debian 12 makes an `ET_DYN` with
//!   `PT_INTERP /lib/ld-musl-x86_64.so.1`: dynamic). Otherwise `static-pie` when the file
//!   is PIE, else `static`. Relocatable objects and core files have no linking (`null`).
//! - **pie**: `ET_DYN` and one of: `DF_1_PIE` in `DT_FLAGS_1`; a `DT_DEBUG` entry (linkers
//!   add it to executables only; checksec's whole rule); `PT_INTERP` without `DT_SONAME`;
//!   or no `PT_DYNAMIC` at all and a non-zero entry point. A shared library with a soname
//!   and none of these is not PIE even if it can be run (glibc's `ld.so`). readelf's
//!   "Position-Independent Executable" label follows `DF_1_PIE` alone, checksec's "PIE
//!   enabled" `DT_DEBUG` alone; they differ from this rule only on runnable shared objects
//!   without either flag (a PAM module with an interpreter: "DSO" to checksec, PIE here).
//! - **bind_now**: `DT_BIND_NOW`, `DF_BIND_NOW` in `DT_FLAGS`, or `DF_1_NOW` in
//!   `DT_FLAGS_1` (the loader honours each; checksec looks for the first two only).
//! - **relro**: `none` without `PT_GNU_RELRO`, `full` with it and BIND_NOW, else
//!   `partial`. A static `ET_EXEC` has no dynamic section to record BIND_NOW in, so its
//!   RELRO is at most `partial`, as checksec reports it; static-pie records it and can be
//!   `full`.
//! - **nx**: `PT_GNU_STACK` without `PF_X`. Without `PT_GNU_STACK` most architectures give
//!   an executable stack: `false`. Files without program headers (relocatable objects):
//!   `null`, the linker decides later (checksec says "NX disabled").
//! - **stripped**: no `SHT_SYMTAB` section.
//! - **stack_protector**: `__stack_chk_fail` (or `__stack_chk_fail_local`),
//!   `__stack_chk_guard` or `__intel_security_cookie` in `.symtab` or `.dynsym`.
//! - **fortify**: any of glibc's FORTIFY_SOURCE checked functions (`__memcpy_chk`,
//!   `__printf_chk`...) in `.symtab` or `.dynsym`. For a dynamic file this matches
//!   checksec; for a static file that kept its `.symtab`, the checked functions linked in
//!   are found too (checksec only looks at `.dynsym` and says no).
//! - **unknown**: stack protector and FORTIFY are `null` when nothing is there to look at:
//!   no `.symtab`, and the file is not dynamically linked (a stripped static binary keeps
//!   no names; checksec says "no").
//! - **eBPF** (`EM_BPF`): the program sections are the sections with `SHF_EXECINSTR` and a
//!   non-zero size, in section order; the license is the `license` section's text.
//!
//! Malformed input never panics: every offset and size read from the file is checked, and a
//! file whose headers do not hold together is reported as `malformed` with the reason.

pub mod archive;
mod error;
mod facts;
mod machine;
mod parse;
mod policy;
mod read;
mod report;
mod symbols;
pub mod walk;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, mpsc};

pub use error::Error;
pub use policy::{Policy, PolicyError};
pub use read::inspect;
pub use report::{
    BpfProgram, BpfReport, Class, ElfReport, Endian, FileKind, FileReport, FileType, Linking, Relro,
};

/// Reports on a file already in memory; `path` only names it in the report.
pub fn inspect_bytes(path: &Path, bytes: &[u8]) -> FileReport {
    if !bytes.starts_with(parse::MAGIC) {
        return FileReport::not_elf(path);
    }
    match parse::elf_report(bytes) {
        Ok(elf) => FileReport::elf(path, elf),
        Err(reason) => FileReport::malformed(path, reason),
    }
}

/// [`inspect`] on every file that [`walk::files`] finds under `roots`, on `threads` threads
/// while the walk goes on; the results are in walk order. The walk failing (a root that does
/// not exist, an unreadable directory) fails the whole call; a file that cannot be read is an
/// `Err` in its place.
pub fn inspect_paths(
    roots: &[PathBuf],
    threads: usize,
) -> Result<Vec<Result<FileReport, Error>>, Error> {
    let threads = threads.max(1);
    // Bounded, so a walk far ahead of the workers does not pile up paths.
    let (sender, receiver) = mpsc::sync_channel::<(usize, PathBuf)>(4096);
    let receiver = Mutex::new(receiver);
    let mut results: Vec<Option<Result<FileReport, Error>>> = Vec::new();
    let walked = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        // The lock is held only while taking the next path.
                        let next = receiver
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .recv();
                        let Ok((index, path)) = next else {
                            break done;
                        };
                        done.push((index, inspect(&path)));
                    }
                })
            })
            .collect();
        let mut count = 0;
        let walked = walk::visit(roots, |path| {
            // Workers only stop once the sender is dropped, so sending cannot fail.
            let _ = sender.send((count, path));
            count += 1;
        });
        drop(sender);
        results.resize_with(count, || None);
        for worker in workers {
            let done = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (index, result) in done {
                results[index] = Some(result);
            }
        }
        walked
    });
    walked?;
    Ok(results
        .into_iter()
        .map(|result| result.expect("every path was taken by a worker"))
        .collect())
}

#[cfg(test)]
mod tests;
