//! Peak resident memory of processes the tests start: `VmHWM` of a running process (a
//! server), and the maximum resident set of a one-shot command, measured by GNU time.

use std::path::Path;
use std::process::{Command, Output};

/// The peak resident set (`VmHWM`) of the live process `pid`, in KiB.
pub fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM line in /proc/{pid}/status"))
}

/// Runs `command` under GNU time and returns its output with its peak resident set in KiB.
pub fn run_measured(command: &Command) -> (Output, u64) {
    super::require_tool("/usr/bin/time", "apt-get install time");
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut timed = Command::new("/usr/bin/time");
    timed.arg("-f").arg("%M").arg("-o").arg(report.path());
    timed.arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let output = timed.output().expect("GNU time runs");
    (output, read_report(report.path()))
}

fn read_report(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    // GNU time writes "Command exited with non-zero status N" before the figure.
    text.lines()
        .rev()
        .find_map(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("no figure in GNU time's report: {text:?}"))
}
