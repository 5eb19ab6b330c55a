//! apt repositories as apt reads them: a signed `Release` (cleartext-signed `InRelease`, or
//! `Release` with a detached `Release.gpg`) checked against trusted keys ([`Keyring`]), then
//! `Packages` indexes checked by the size and SHA256 the signed Release gives and parsed
//! into [`Candidate`](crate::Candidate)s ([`parse_packages`]).

mod date;
mod keyring;
mod packages;

use std::io::Read as _;

use pgp::composed::CleartextSignedMessage;
use pgp::packet::{Packet, PacketParser, PacketTrait as _, Signature};
use sha2::Digest as _;

pub use date::parse_date;
pub use keyring::Keyring;
pub use packages::{parse_packages, parse_relation};

use crate::deb822;
use crate::error::{Error, Result};

/// The largest decompressed `Packages` index accepted: 256 MiB (bookworm's `main` for
/// amd64 is 48 MiB).
pub const MAX_INDEX: u64 = 256 << 20;

/// A parsed, signature-checked `Release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Every field as written, in order.
    pub fields: Vec<(String, String)>,
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub architectures: Vec<String>,
    pub components: Vec<String>,
    /// `Valid-Until`, seconds since the epoch.
    pub valid_until: Option<u64>,
    /// `Acquire-By-Hash: yes`: indexes may be fetched by their SHA256 (`by-hash/SHA256/`).
    pub acquire_by_hash: bool,
    /// The `SHA256` list: every file the Release vouches for.
    pub files: Vec<ReleaseFile>,
    /// Fingerprint of the primary key whose signature was accepted (empty when parsed
    /// without a signature check).
    pub signed_by: String,
}

/// One line of a Release's `SHA256` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    /// Relative to `dists/<suite>/` (`main/binary-amd64/Packages.xz`).
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// How an index file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Xz,
    Gzip,
    None,
}

/// A `Packages` index listed in a Release, with what the Release says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// Relative to `dists/<suite>/`.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub compression: Compression,
}

impl IndexFile {
    /// The by-hash path of the file (`main/binary-amd64/by-hash/SHA256/<hex>`), for
    /// Releases with `Acquire-By-Hash: yes`.
    pub fn by_hash_path(&self) -> String {
        let dir = self.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{dir}/by-hash/SHA256/{}", self.sha256)
    }
}

const SIGNED_MESSAGE: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const END_SIGNATURE: &str = "-----END PGP SIGNATURE-----";

/// Checks a cleartext-signed `InRelease` against `keyring` and parses the signed text.
/// Refused: text outside the signed message, no signature, signatures only by unknown keys,
/// a bad signature, a `Valid-Until` before `now` (seconds since the epoch).
pub fn verify_inrelease(bytes: &[u8], keyring: &Keyring, now: u64) -> Result<Release> {
    const FILE: &str = "InRelease";
    let not_signed = |reason: &str| Error::NotSigned {
        file: FILE.into(),
        reason: reason.into(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| not_signed("it is not UTF-8 text"))?;
    if !text.starts_with(SIGNED_MESSAGE) {
        return Err(not_signed(
            "it does not start with `-----BEGIN PGP SIGNED MESSAGE-----`",
        ));
    }
    let end = text
        .find(END_SIGNATURE)
        .ok_or_else(|| not_signed("no `-----END PGP SIGNATURE-----` line"))?;
    if !text[end + END_SIGNATURE.len()..].trim().is_empty() {
        return Err(not_signed("text follows the signature"));
    }
    if text[SIGNED_MESSAGE.len()..].contains(SIGNED_MESSAGE) {
        return Err(not_signed("it holds more than one signed message"));
    }
    let (message, _) = CleartextSignedMessage::from_string(text)
        .map_err(|e| not_signed(&format!("not a cleartext-signed message: {e}")))?;
    let signed = message.signed_text();
    let fingerprint = keyring.check(FILE, message.signatures(), signed.as_bytes(), now)?;
    let mut release = Release::parse(&signed.replace("\r\n", "\n"), FILE)?;
    release.check_valid_until(FILE, now)?;
    release.signed_by = fingerprint;
    Ok(release)
}

/// Checks `Release` with its detached signature `Release.gpg` (armored or binary) against
/// `keyring`, then parses it; refused as [`verify_inrelease`] refuses.
pub fn verify_release(
    release_bytes: &[u8],
    signature_bytes: &[u8],
    keyring: &Keyring,
    now: u64,
) -> Result<Release> {
    const FILE: &str = "Release.gpg";
    let signatures = detached_signatures(signature_bytes).map_err(|reason| Error::NotSigned {
        file: FILE.into(),
        reason,
    })?;
    let fingerprint = keyring.check(FILE, &signatures, release_bytes, now)?;
    let text = std::str::from_utf8(release_bytes).map_err(|_| Error::Field {
        file: "Release".into(),
        what: "text".into(),
        reason: "not UTF-8".into(),
    })?;
    let mut release = Release::parse(text, "Release")?;
    release.check_valid_until("Release", now)?;
    release.signed_by = fingerprint;
    Ok(release)
}

/// The signature packets of a detached signature file.
fn detached_signatures(bytes: &[u8]) -> std::result::Result<Vec<Signature>, String> {
    let armored = bytes
        .trim_ascii_start()
        .starts_with(b"-----BEGIN PGP SIGNATURE-----");
    let packets: Vec<u8> = if armored {
        let mut out = Vec::new();
        pgp::armor::Dearmor::new(bytes.trim_ascii_start())
            .read_to_end(&mut out)
            .map_err(|e| format!("not an armored OpenPGP signature: {e}"))?;
        out
    } else {
        bytes.to_vec()
    };
    let mut signatures = Vec::new();
    for packet in PacketParser::new(&packets[..]) {
        match packet {
            Ok(Packet::Signature(signature)) => signatures.push(signature),
            Ok(other) => return Err(format!("holds a {:?} packet", other.tag())),
            Err(e) => return Err(format!("not an OpenPGP signature: {e}")),
        }
    }
    if signatures.is_empty() {
        return Err("it holds no OpenPGP signature".into());
    }
    Ok(signatures)
}

impl Release {
    /// Parses a Release's text (without checking any signature: use [`verify_inrelease`] or
    /// [`verify_release`] for what comes from a repository). `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Release> {
        let field_error = |what: &str, reason: String| Error::Field {
            file: file.to_string(),
            what: what.to_string(),
            reason,
        };
        let mut paragraphs = deb822::parse(text, file)?;
        if paragraphs.len() != 1 {
            let reason = format!("{} paragraphs, a Release has one", paragraphs.len());
            return Err(field_error("text", reason));
        }
        let paragraph = paragraphs.remove(0);
        if paragraph.get("SHA256").is_none() {
            return Err(field_error(
                "SHA256",
                "missing (apt refuses Releases without SHA256 sums)".into(),
            ));
        }
        let mut files = Vec::new();
        for line in paragraph.lines("SHA256") {
            files.push(release_file(line).ok_or_else(|| {
                field_error(
                    "SHA256",
                    format!("line `{line}` is not `<sha256> <size> <path>`"),
                )
            })?);
        }
        let valid_until = paragraph
            .get("Valid-Until")
            .map(|value| {
                parse_date(value)
                    .ok_or_else(|| field_error("Valid-Until", format!("`{value}` is not a date")))
            })
            .transpose()?;
        let words = |name: &str| -> Vec<String> {
            paragraph
                .get(name)
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default()
        };
        Ok(Release {
            suite: paragraph.get("Suite").map(str::to_string),
            codename: paragraph.get("Codename").map(str::to_string),
            architectures: words("Architectures"),
            components: words("Components"),
            valid_until,
            acquire_by_hash: paragraph
                .get("Acquire-By-Hash")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            files,
            signed_by: String::new(),
            fields: paragraph.into_fields(),
        })
    }

    /// Refuses a Release whose `Valid-Until` is before `now`.
    pub fn check_valid_until(&self, file: &str, now: u64) -> Result<()> {
        match self.valid_until {
            Some(until) if until < now => Err(Error::Expired {
                file: file.to_string(),
                valid_until: self
                    .fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("Valid-Until"))
                    .map_or_else(|| until.to_string(), |(_, v)| v.clone()),
                now,
            }),
            _ => Ok(()),
        }
    }

    /// The `Packages` indexes of `component` for `arch` the Release lists, best first:
    /// `Packages.xz`, `Packages.gz`, `Packages`.
    pub fn index_for(&self, component: &str, arch: &str) -> Vec<IndexFile> {
        [
            ("Packages.xz", Compression::Xz),
            ("Packages.gz", Compression::Gzip),
            ("Packages", Compression::None),
        ]
        .into_iter()
        .filter_map(|(name, compression)| {
            let path = format!("{component}/binary-{arch}/{name}");
            self.files
                .iter()
                .find(|f| f.path == path)
                .map(|f| IndexFile {
                    path,
                    size: f.size,
                    sha256: f.sha256.clone(),
                    compression,
                })
        })
        .collect()
    }

    /// [`Release::index_for`], refusing a Release that lists none.
    pub fn require_index(&self, component: &str, arch: &str) -> Result<Vec<IndexFile>> {
        let found = self.index_for(component, arch);
        if found.is_empty() {
            return Err(Error::NoIndex {
                file: "Release".into(),
                component: component.to_string(),
                arch: arch.to_string(),
            });
        }
        Ok(found)
    }
}

fn release_file(line: &str) -> Option<ReleaseFile> {
    let mut words = line.split_whitespace();
    let sha256 = words.next()?;
    let size = words.next()?.parse().ok()?;
    let path = words.next()?;
    if words.next().is_some() || sha256.len() != 64 || hex::decode(sha256).is_err() {
        return None;
    }
    Some(ReleaseFile {
        path: path.to_string(),
        size,
        sha256: sha256.to_ascii_lowercase(),
    })
}

/// Checks an index file's bytes against the size and SHA256 the signed Release gives, then
/// decompresses it (at most [`MAX_INDEX`] bytes) into its text.
pub fn open_index(file: &IndexFile, bytes: &[u8]) -> Result<String> {
    open_index_within(file, bytes, MAX_INDEX)
}

fn open_index_within(file: &IndexFile, bytes: &[u8], limit: u64) -> Result<String> {
    let mismatch = |what, expected: String, actual: String| Error::IndexMismatch {
        file: file.path.clone(),
        what,
        expected,
        actual,
    };
    if bytes.len() as u64 != file.size {
        return Err(mismatch(
            "size",
            file.size.to_string(),
            bytes.len().to_string(),
        ));
    }
    let actual = hex::encode(sha2::Sha256::digest(bytes));
    if actual != file.sha256 {
        return Err(mismatch("SHA256", file.sha256.clone(), actual));
    }
    let reader: Box<dyn std::io::Read + '_> = match file.compression {
        Compression::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(bytes, true, 256 * 1024)),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        Compression::None => Box::new(bytes),
    };
    let mut out = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Index {
            file: file.path.clone(),
            reason: format!("cannot decompress: {e}"),
        })?;
    if out.len() as u64 > limit {
        return Err(Error::IndexTooLarge {
            file: file.path.clone(),
            limit,
        });
    }
    String::from_utf8(out).map_err(|_| Error::Index {
        file: file.path.clone(),
        reason: "not UTF-8 text".into(),
    })
}

#[cfg(test)]
mod tests;
