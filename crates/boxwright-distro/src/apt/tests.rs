use std::io::Write as _;
use std::process::Command;

use boxwright_sign::openpgp::{OpenPgpSigningKey, generate};
use sha2::Digest as _;

use super::*;

struct Signer {
    key: OpenPgpSigningKey,
    keyring: Keyring,
}

fn signer() -> Signer {
    let (secret, public) = generate("Test Archive <archive@example.invalid>").unwrap();
    let key = OpenPgpSigningKey::from_armored(&secret).unwrap();
    let keyring = Keyring::from_bytes(public.as_bytes(), "test.asc").unwrap();
    Signer { key, keyring }
}

fn compressed() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let plain = b"Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/a.deb\nSize: 1\n\
SHA256: 0000000000000000000000000000000000000000000000000000000000000000\n"
        .to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let mut xz =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    xz.write_all(&plain).unwrap();
    let xz = xz.finish().unwrap();
    (plain, gz, xz)
}

fn release_text(extra: &str) -> String {
    let (plain, gz, xz) = compressed();
    let line = |bytes: &[u8], name: &str| {
        format!(
            " {} {} main/binary-amd64/{name}\n",
            hex::encode(sha2::Sha256::digest(bytes)),
            bytes.len()
        )
    };
    format!(
        "Origin: Test\nSuite: stable\nCodename: test\n{extra}Architectures: amd64\n\
         Components: main\nAcquire-By-Hash: yes\nSHA256:\n{}{}{}",
        line(&plain, "Packages"),
        line(&gz, "Packages.gz"),
        line(&xz, "Packages.xz"),
    )
}

#[test]
fn inrelease_signed_by_a_trusted_key_is_read() {
    let trusted = signer();
    let signed = trusted.key.cleartext_sign(&release_text(""), 1000).unwrap();
    let release = verify_inrelease(signed.as_bytes(), &trusted.keyring, 2000).unwrap();
    assert_eq!(release.signed_by, trusted.key.fingerprint());
    assert_eq!(release.suite.as_deref(), Some("stable"));
    assert_eq!(release.components, ["main"]);
    assert!(release.acquire_by_hash);
    let indexes = release.index_for("main", "amd64");
    let names: Vec<&str> = indexes.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "main/binary-amd64/Packages.xz",
            "main/binary-amd64/Packages.gz",
            "main/binary-amd64/Packages"
        ]
    );
    assert!(
        indexes[0]
            .by_hash_path()
            .starts_with("main/binary-amd64/by-hash/SHA256/")
    );
    assert!(release.index_for("contrib", "amd64").is_empty());
    let error = release
        .require_index("main", "arm64")
        .unwrap_err()
        .to_string();
    assert!(error.contains("main/binary-arm64"), "{error}");

    let (plain, gz, xz) = compressed();
    for (index, bytes) in indexes.iter().zip([&xz, &gz, &plain]) {
        let text = open_index(index, bytes).unwrap();
        assert_eq!(text.as_bytes(), plain.as_slice());
        assert_eq!(parse_packages(&text, 0, "amd64").unwrap()[0].name, "a");
    }
}

#[test]
fn inrelease_refusals_name_the_file_and_key() {
    let trusted = signer();
    let other = signer_other();
    let text = release_text("");

    // Signed by a key that is not in the keyring.
    let signed = other.cleartext_sign(&text, 1000).unwrap();
    let error = verify_inrelease(signed.as_bytes(), &trusted.keyring, 2000).unwrap_err();
    assert!(matches!(error, Error::UnknownKey { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("InRelease"), "{message}");
    assert!(message.contains(&other.fingerprint()), "{message}");

    // Altered after signing.
    let signed = trusted.key.cleartext_sign(&text, 1000).unwrap();
    let altered = signed.replace("Suite: stable", "Suite: stalbe");
    let error = verify_inrelease(altered.as_bytes(), &trusted.keyring, 2000).unwrap_err();
    assert!(matches!(error, Error::BadSignature { .. }), "{error}");
    assert!(error.to_string().contains(&trusted.key.fingerprint()));

    // Not signed at all.
    let error = verify_inrelease(text.as_bytes(), &trusted.keyring, 2000).unwrap_err();
    assert!(matches!(error, Error::NotSigned { .. }), "{error}");

    // Text after the signature.
    let trailing = format!("{signed}Suite: injected\n");
    let error = verify_inrelease(trailing.as_bytes(), &trusted.keyring, 2000).unwrap_err();
    assert!(
        error.to_string().contains("follows the signature"),
        "{error}"
    );

    // Valid-Until in the past.
    let text = release_text("Valid-Until: Thu, 01 Jan 1970 00:30:00 UTC\n");
    let signed = trusted.key.cleartext_sign(&text, 1000).unwrap();
    verify_inrelease(signed.as_bytes(), &trusted.keyring, 1000).unwrap();
    let error = verify_inrelease(signed.as_bytes(), &trusted.keyring, 2000).unwrap_err();
    assert!(matches!(error, Error::Expired { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("Valid-Until Thu, 01 Jan 1970 00:30:00 UTC")
    );
}

fn signer_other() -> OpenPgpSigningKey {
    let (secret, _) = generate("Other <other@example.invalid>").unwrap();
    OpenPgpSigningKey::from_armored(&secret).unwrap()
}

#[test]
fn release_with_detached_signature() {
    let trusted = signer();
    let text = release_text("");
    let signature = trusted.key.detached_sign(text.as_bytes(), 1000).unwrap();
    let release = verify_release(
        text.as_bytes(),
        signature.as_bytes(),
        &trusted.keyring,
        2000,
    )
    .unwrap();
    assert_eq!(release.files.len(), 3);

    let altered = text.replace("stable", "unstable");
    let error = verify_release(
        altered.as_bytes(),
        signature.as_bytes(),
        &trusted.keyring,
        2000,
    )
    .unwrap_err();
    assert!(matches!(error, Error::BadSignature { .. }), "{error}");
    assert!(error.to_string().starts_with("Release.gpg:"), "{error}");

    let error = verify_release(text.as_bytes(), b"", &trusted.keyring, 2000).unwrap_err();
    assert!(matches!(error, Error::NotSigned { .. }), "{error}");

    let other = signer_other().detached_sign(text.as_bytes(), 1000).unwrap();
    let error =
        verify_release(text.as_bytes(), other.as_bytes(), &trusted.keyring, 2000).unwrap_err();
    assert!(matches!(error, Error::UnknownKey { .. }), "{error}");
}

#[test]
fn index_files_must_match_the_release() {
    let (plain, gz, _) = compressed();
    let file = IndexFile {
        path: "main/binary-amd64/Packages.gz".into(),
        size: gz.len() as u64,
        sha256: hex::encode(sha2::Sha256::digest(&gz)),
        compression: Compression::Gzip,
    };
    let mut tampered = gz.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let error = open_index(&file, &tampered).unwrap_err().to_string();
    assert!(error.contains("SHA256 is"), "{error}");
    assert!(error.contains(&file.sha256), "{error}");
    let error = open_index(&file, &gz[1..]).unwrap_err().to_string();
    assert!(error.contains("size is"), "{error}");
    let error = open_index_within(&file, &gz, plain.len() as u64 - 1).unwrap_err();
    assert!(matches!(error, Error::IndexTooLarge { .. }), "{error}");
    assert!(open_index_within(&file, &gz, plain.len() as u64).is_ok());
}

#[test]
fn keyrings_refuse_what_holds_no_key() {
    let error = Keyring::from_bytes(b"hello", "x.gpg")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("keyring x.gpg:"), "{error}");
}

const LISTS: &str = "/var/lib/apt/lists";
const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

fn list_file(suffix: &str) -> std::path::PathBuf {
    std::fs::read_dir(LISTS)
        .ok()
        .and_then(|dir| {
            dir.flatten().map(|e| e.path()).find(|p| {
                let name = p.to_string_lossy();
                // apt stores lists plain or compressed (`.lz4`, `.gz`...) by its settings.
                name.ends_with(suffix) || name.contains(&format!("{suffix}."))
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "no {LISTS}/*{suffix}: run `apt-get update` with bookworm in sources.list \
                 (setup.sh does)"
            )
        })
}

/// The real bookworm InRelease against Debian's archive keyring, then the real `main`
/// Packages for amd64 (as apt stored it, decompressed by apt's helper, then checked against
/// the plain `Packages` SHA256 of the signed Release).
#[test]
fn real_bookworm_inrelease_and_packages() {
    let inrelease = std::fs::read(list_file("debian_dists_bookworm_InRelease")).unwrap();
    let keyring_bytes = std::fs::read(DEBIAN_KEYRING)
        .unwrap_or_else(|_| panic!("no {DEBIAN_KEYRING}: apt-get install debian-archive-keyring"));
    let keyring = Keyring::from_bytes(&keyring_bytes, DEBIAN_KEYRING).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let release = verify_inrelease(&inrelease, &keyring, now).unwrap();
    assert_eq!(release.codename.as_deref(), Some("bookworm"));
    assert!(keyring.fingerprints().contains(&release.signed_by.as_str()));

    // Another keyring (ours) does not trust it.
    let error = verify_inrelease(&inrelease, &signer().keyring, now).unwrap_err();
    assert!(matches!(error, Error::UnknownKey { .. }), "{error}");

    let packages = list_file("debian_dists_bookworm_main_binary-amd64_Packages");
    // apt's own helper reads the list however apt stored it.
    let output = Command::new("/usr/lib/apt/apt-helper")
        .arg("cat-file")
        .arg(&packages)
        .output()
        .unwrap_or_else(|e| panic!("cannot run apt-helper ({e}): apt-get install apt"));
    assert!(output.status.success());
    let indexes = release.index_for("main", "amd64");
    let plain = indexes
        .iter()
        .find(|i| i.compression == Compression::None)
        .expect("bookworm lists main/binary-amd64/Packages");
    let text = open_index(plain, &output.stdout).unwrap();
    let candidates = parse_packages(&text, 0, "amd64").unwrap();
    assert!(candidates.len() > 60_000, "{}", candidates.len());
    for name in [
        "busybox-static",
        "ca-certificates",
        "s6",
        "execline",
        "libc6",
    ] {
        assert!(candidates.iter().any(|c| c.name == name), "{name}");
    }
    let libc = candidates.iter().find(|c| c.name == "libc6").unwrap();
    assert!(libc.filename.starts_with("pool/main/g/glibc/libc6_"));
    assert!(candidates.iter().any(|c| c.essential));
    assert!(
        candidates
            .iter()
            .any(|c| c.provides.iter().any(|p| p.version.is_some()))
    );
}
