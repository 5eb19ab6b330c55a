//! Bytes as a package dropped into a repository tree → `Repository::reindex_all`, the index
//! path (apk's fast `.PKGINFO` reader, apt's full reader, then both indexes signed). A .deb
//! (ar magic) goes into the apt pool, anything else into an apk architecture directory. The
//! tree is made anew for each input, so no input leaves state for the next.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use boxwright_package::repo::{KeySource, RepoConfig, Repository};
use libfuzzer_sys::fuzz_target;

const AR_MAGIC: &[u8] = b"!<arch>\n";

/// The repository and its root, with throwaway signing keys made once per process.
fn repository() -> &'static (Repository, PathBuf) {
    static REPOSITORY: OnceLock<(Repository, PathBuf)> = OnceLock::new();
    REPOSITORY.get_or_init(|| {
        let scratch = boxwright_fuzz::scratch();
        let (rsa, _) = boxwright_sign::rsa::generate(2048).expect("an RSA key is generated");
        let (openpgp, _) = boxwright_sign::openpgp::generate("Fuzz <fuzz@example.invalid>")
            .expect("an OpenPGP key is generated");
        let rsa_path = scratch.join("repo.rsa");
        let openpgp_path = scratch.join("apt.asc");
        std::fs::write(&rsa_path, rsa.as_bytes()).expect("the apk key can be written");
        std::fs::write(&openpgp_path, openpgp.as_bytes()).expect("the apt key can be written");
        let root = scratch.join("repo");
        let repository = Repository::new(RepoConfig {
            root: root.clone(),
            apk_key: Some(KeySource::Path(rsa_path)),
            apk_key_name: None,
            apt_key: Some(KeySource::Path(openpgp_path)),
            apt_origin: "fuzz".into(),
            apt_label: "fuzz".into(),
            index_time: None,
        });
        (repository, root)
    })
}

/// Drops `data` into a fresh repository tree and indexes it.
fn index(data: &[u8]) {
    let (repository, root) = repository();
    match std::fs::remove_dir_all(root) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("{}: {e}", root.display()),
        _ => {}
    }
    let path = if data.starts_with(AR_MAGIC) {
        root.join("apt/pool/stable/main/fuzz_1.0-1_amd64.deb")
    } else {
        root.join("v3.20/main/x86_64/fuzz-1.0-r0.apk")
    };
    let parent = path.parent().expect("a package path has a parent");
    std::fs::create_dir_all(parent).expect("the repository tree can be made");
    std::fs::write(&path, data).expect("the package file can be written");
    if let Ok(summary) = repository.reindex_all() {
        assert_eq!(
            summary.indexes.len(),
            1,
            "one package, one index: {summary:?}"
        );
    }
}

// The keys are made before the first input, outside its 10 s limit (RSA key generation
// under AddressSanitizer takes seconds).
fuzz_target!(init: { repository(); }, |data: &[u8]| index(data));
