//! Bytes as `metadata.json` text → `Metadata::parse` (shape check, `env` resolution,
//! `{VAR}` templates, value rules), then every target resolved for one version and
//! architecture (the late `{VERSION}`/`{ARCH}` templates) and the build order. The process
//! environment is a fixed table, so every run of an input is the same.

#![no_main]

use std::path::Path;

use boxwright_metadata::Metadata;
use libfuzzer_sys::fuzz_target;

/// Stands in for the process environment: a few names, one whose value looks like a template
/// (process values are taken as they are, never expanded).
fn process_env(name: &str) -> Option<String> {
    let value = match name {
        "HOME" => "/home/fuzz",
        "CI" => "true",
        "TEMPLATE_LOOKALIKE" => "{HOME}{{",
        _ => return None,
    };
    Some(value.to_string())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(metadata) = Metadata::parse(Path::new("metadata.json"), text, &process_env) else {
        return;
    };
    for target in metadata.targets.values() {
        let _ = target.resolved("1.2.3", "amd64", &process_env);
    }
    let names: Vec<String> = metadata.targets.keys().cloned().collect();
    let order = metadata.build_order(&names);
    assert_eq!(
        order.len(),
        names.len(),
        "every target built once: {order:?}"
    );
});
