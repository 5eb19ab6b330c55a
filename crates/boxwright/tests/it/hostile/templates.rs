//! Hostile templates: see hostile/mod.rs.
//!
//! `env` values that refer to each other: 24 levels each doubling the one below (a 1 KB
//! file that would expand to gigabytes), and a chain of 50,000 variables (deeper than any
//! stack). `boxwright targets` refuses both with exit 2 and an error naming the chain.

use std::os::unix::process::ExitStatusExt as _;

use crate::support::{self, TestProject, rss};

/// Peak resident memory allowed to `boxwright targets` on a hostile metadata.json.
const MAX_RSS_KIB: u64 = 100 * 1024;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `env` entries as a JSON object body, `"K": "V"` joined by commas.
fn env_json(entries: &[(String, String)]) -> String {
    entries
        .iter()
        .map(|(k, v)| format!("{k:?}: {v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn doubling_variables_are_refused_within_bounded_memory() {
    // L00 = {L01}{L01}, L01 = {L02}{L02}, ... L24 = 32 bytes: L00 would be 512 MiB.
    let mut entries = vec![("V".to_string(), "1.0".to_string())];
    for level in 0..24 {
        entries.push((
            format!("L{level:02}"),
            format!("{{L{next:02}}}{{L{next:02}}}", next = level + 1),
        ));
    }
    entries.push(("L24".into(), "x".repeat(32)));
    let metadata = format!(
        r#"{{"t": {{"version_env_var": "V", "env": {{{}}}}}}}"#,
        env_json(&entries)
    );
    assert!(metadata.len() < 1024, "{} bytes", metadata.len());
    let project = TestProject::new(&metadata);
    let mut command = support::boxwright_std();
    command.arg("--project").arg(project.path()).arg("targets");
    let (output, peak_kib) = rss::run_measured(&command);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("/t/env/L00"), "{stderr}");
    assert!(stderr.contains("L00 → L01 → "), "{stderr}");
    assert!(stderr.contains("more than 1 MiB"), "{stderr}");
    assert!(
        peak_kib < MAX_RSS_KIB,
        "peak RSS {peak_kib} KiB (limit {MAX_RSS_KIB} KiB); stderr: {stderr}"
    );
}

#[test]
fn a_chain_of_fifty_thousand_variables_is_an_error_not_a_crash() {
    // C00000 = {C00001}, ..., C49999 = "end".
    let count = 50_000;
    let mut entries = vec![("V".to_string(), "1.0".to_string())];
    for i in 0..count - 1 {
        entries.push((format!("C{i:05}"), format!("{{C{:05}}}", i + 1)));
    }
    entries.push((format!("C{:05}", count - 1), "end".into()));
    let project = TestProject::new(&format!(
        r#"{{"t": {{"version_env_var": "V", "env": {{{}}}}}}}"#,
        env_json(&entries)
    ));
    let output = support::boxwright_std()
        .arg("--project")
        .arg(project.path())
        .arg("targets")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.signal(), None, "killed by a signal: {stderr}");
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("more than 32 deep"), "{stderr}");
    assert!(stderr.contains("C00000 → C00001 → "), "{stderr}");
    assert!(
        stderr.contains(" … "),
        "the long chain is shortened: {stderr}"
    );
}
