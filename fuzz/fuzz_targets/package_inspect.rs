//! Bytes as a package file → `boxwright_package::inspect`, the checking reader behind
//! uploads: .deb when the bytes start with the ar magic, .apk for gzip, refused otherwise.
//! Errors are expected; a panic, an abort, a timeout or RSS over the limit is a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = boxwright_fuzz::scratch().join("input.package");
    std::fs::write(&path, data).expect("the scratch file can be written");
    if let Ok(info) = boxwright_package::inspect(&path) {
        assert!(!info.name.is_empty(), "a package read without a name");
    }
});
