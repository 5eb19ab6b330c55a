//! apk repositories as apk-tools reads them: `APKINDEX.tar.gz` is a gzip member holding a
//! cut tar with one `.SIGN.RSA.<key>` (SHA-1), `.SIGN.RSA256.<key>` or `.SIGN.RSA512.<key>`
//! entry, a PKCS#1 v1.5 signature over every byte after that member (the index member(s)),
//! then the index tar with `DESCRIPTION` and `APKINDEX`. `<key>` is the file name of a
//! trusted public key. See docs/packages.md and APK-FORMAT.md.

use std::io::Read as _;

use boxwright_sign::rsa::RsaDigest;

use crate::error::{Error, Result};
use crate::model::{Candidate, Kind, Op, Provide, Relation};

const FILE: &str = "APKINDEX.tar.gz";

/// The largest decompressed signature member: 64 KiB (one RSA signature is at most 1 KiB).
pub const MAX_SIGNATURE_MEMBER: u64 = 64 << 10;
/// The largest decompressed index tar: 256 MiB (Alpine's `community` is about 10 MiB).
pub const MAX_INDEX: u64 = 256 << 20;

/// A signature-checked APKINDEX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApkIndex {
    /// The key file name the index is signed for.
    pub signer: String,
    /// `DESCRIPTION` (`v3.20.3-...`), empty when absent.
    pub description: String,
    /// The `APKINDEX` text.
    pub text: String,
}

impl ApkIndex {
    /// The index's packages, for the caller's repository number `repository`.
    pub fn candidates(&self, repository: usize) -> Result<Vec<Candidate>> {
        parse_apkindex(&self.text, repository)
    }
}

/// Checks an `APKINDEX.tar.gz` against `trusted` keys (`(key file name, PEM public key)`,
/// as in `/etc/apk/keys/`) and reads it. Refused: an unsigned index, a signature for a key
/// name not trusted, a signature that does not verify.
pub fn verify_apkindex(bytes: &[u8], trusted: &[(String, String)]) -> Result<ApkIndex> {
    let mut decoder = flate2::bufread::GzDecoder::new(bytes);
    let mut first = Vec::new();
    (&mut decoder)
        .take(MAX_SIGNATURE_MEMBER + 1)
        .read_to_end(&mut first)
        .map_err(|e| index_error(format!("the first gzip member: {e}")))?;
    if first.len() as u64 > MAX_SIGNATURE_MEMBER {
        return Err(not_signed(
            "the first member is larger than a signature member",
        ));
    }
    let signed = decoder.into_inner();
    let (entry, signature) = signature_entry(&first)?;
    let (digest, key) = signature_kind(&entry)?;
    let public_pem = trusted
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, pem)| pem)
        .ok_or_else(|| Error::UnknownApkKey {
            file: FILE.into(),
            key: key.clone(),
            trusted: trusted
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    boxwright_sign::rsa::verify_pkcs1(public_pem, digest, signed, &signature).map_err(
        |source| Error::Signature {
            file: FILE.into(),
            key: key.clone(),
            source: Box::new(source),
        },
    )?;
    let (description, text) = index_entries(signed)?;
    Ok(ApkIndex {
        signer: key,
        description,
        text,
    })
}

fn index_error(reason: String) -> Error {
    Error::Index {
        file: FILE.into(),
        reason,
    }
}

fn not_signed(reason: &str) -> Error {
    Error::NotSigned {
        file: FILE.into(),
        reason: reason.into(),
    }
}

/// The first entry of the signature tar: its name and content, when it is a `.SIGN.` entry.
fn signature_entry(tar_bytes: &[u8]) -> Result<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut entries = archive
        .entries()
        .map_err(|e| index_error(format!("the first member is not a tar: {e}")))?;
    let Some(entry) = entries.next() else {
        return Err(not_signed("the first member is empty"));
    };
    let mut entry = entry.map_err(|e| index_error(format!("the first member: {e}")))?;
    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    if !name.starts_with(".SIGN.") {
        return Err(not_signed(&format!(
            "it starts with `{name}`, not a `.SIGN.RSA*.<key>` entry"
        )));
    }
    let mut signature = Vec::new();
    entry
        .read_to_end(&mut signature)
        .map_err(|e| index_error(format!("the signature entry: {e}")))?;
    Ok((name, signature))
}

/// `.SIGN.RSA.<key>` → (SHA-1, key), `.SIGN.RSA256.` → SHA-256, `.SIGN.RSA512.` → SHA-512.
fn signature_kind(entry: &str) -> Result<(RsaDigest, String)> {
    let kinds = [
        (".SIGN.RSA256.", RsaDigest::Sha256),
        (".SIGN.RSA512.", RsaDigest::Sha512),
        (".SIGN.RSA.", RsaDigest::Sha1),
    ];
    kinds
        .into_iter()
        .find_map(|(prefix, digest)| {
            entry
                .strip_prefix(prefix)
                .filter(|key| !key.is_empty() && !key.contains('/'))
                .map(|key| (digest, key.to_string()))
        })
        .ok_or_else(|| not_signed(&format!("unknown signature entry `{entry}`")))
}

/// `DESCRIPTION` and `APKINDEX` of the index member(s).
fn index_entries(bytes: &[u8]) -> Result<(String, String)> {
    let mut tar_bytes = Vec::new();
    flate2::bufread::MultiGzDecoder::new(bytes)
        .take(MAX_INDEX + 1)
        .read_to_end(&mut tar_bytes)
        .map_err(|e| index_error(format!("the index member: {e}")))?;
    if tar_bytes.len() as u64 > MAX_INDEX {
        return Err(Error::IndexTooLarge {
            file: FILE.into(),
            limit: MAX_INDEX,
        });
    }
    let mut archive = tar::Archive::new(&tar_bytes[..]);
    let mut description = String::new();
    let mut index = None;
    for entry in archive
        .entries()
        .map_err(|e| index_error(format!("the index tar: {e}")))?
    {
        let mut entry = entry.map_err(|e| index_error(format!("the index tar: {e}")))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut content = String::new();
        entry
            .read_to_string(&mut content)
            .map_err(|e| index_error(format!("{name}: {e}")))?;
        match name.as_str() {
            "DESCRIPTION" => description = content.trim().to_string(),
            "APKINDEX" => index = Some(content),
            _ => {}
        }
    }
    let index = index.ok_or_else(|| index_error("the index tar has no APKINDEX".into()))?;
    Ok((description, index))
}

/// Parses an `APKINDEX` text: blocks of `X:value` lines separated by blank lines. Every
/// block needs `P`, `V` and `C`; all fields are kept in order in `fields` (single-letter
/// keys).
pub fn parse_apkindex(text: &str, repository: usize) -> Result<Vec<Candidate>> {
    let mut candidates = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut start = 1;
    for (index, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            if !fields.is_empty() {
                candidates.push(candidate(std::mem::take(&mut fields), repository, start)?);
            }
            start = index + 2;
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .filter(|(key, _)| key.len() == 1)
            .ok_or_else(|| Error::Deb822 {
                source_name: "APKINDEX".into(),
                line: index + 1,
                reason: format!("`{}` is not an `X:value` line", line.escape_debug()),
            })?;
        fields.push((key.to_string(), value.to_string()));
    }
    if !fields.is_empty() {
        candidates.push(candidate(fields, repository, start)?);
    }
    Ok(candidates)
}

fn candidate(fields: Vec<(String, String)>, repository: usize, line: usize) -> Result<Candidate> {
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let field_error = |what: String, reason: String| Error::Field {
        file: "APKINDEX".into(),
        what,
        reason,
    };
    let name = get("P")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| field_error(format!("block at line {line}"), "no `P:`".into()))?;
    let who = |field: &str| format!("package {name}: {field}");
    let required = |key: &str| {
        get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| field_error(who(key), "missing".into()))
    };
    let version = required("V")?;
    let checksum = required("C")?;
    if !checksum.starts_with("Q1") {
        return Err(field_error(
            who("C"),
            format!("`{checksum}` is not `Q1` + base64 of a SHA-1"),
        ));
    }
    let size = match get("S") {
        None => 0,
        Some(s) => s
            .parse()
            .map_err(|_| field_error(who("S"), format!("`{s}` is not a number")))?,
    };
    let mut depends = Vec::new();
    let mut conflicts = Vec::new();
    for token in get("D").unwrap_or_default().split_whitespace() {
        match token.strip_prefix('!') {
            Some(conflict) => conflicts.push(parse_apk_relation(conflict)),
            None => depends.push(vec![parse_apk_relation(token)]),
        }
    }
    let provides = get("p")
        .unwrap_or_default()
        .split_whitespace()
        .map(|token| match token.split_once('=') {
            Some((name, version)) => Provide {
                name: name.to_string(),
                version: Some(version.to_string()),
            },
            None => Provide {
                name: token.to_string(),
                version: None,
            },
        })
        .collect();
    Ok(Candidate {
        kind: Kind::Apk,
        name: name.to_string(),
        version: version.to_string(),
        arch: get("A").unwrap_or_default().to_string(),
        depends,
        conflicts,
        provides,
        essential: false,
        filename: format!("{name}-{version}.apk"),
        size,
        sha256: None,
        apk_checksum: Some(checksum.to_string()),
        repository,
        fields,
    })
}

/// One apk dependency token without `!`: `name`, `name>=1.0`, `so:libc.musl-x86_64.so.1`,
/// `cmd:sh`, `name~1.2`, `name@tag` (the repository tag is dropped).
pub fn parse_apk_relation(token: &str) -> Relation {
    let end = token.find(['<', '>', '=', '~']).unwrap_or(token.len());
    let (name, rest) = token.split_at(end);
    let name = name.split_once('@').map_or(name, |(name, _)| name);
    let op_end = rest.find(|c| !"<>=~".contains(c)).unwrap_or(rest.len());
    let op = match &rest[..op_end] {
        "" => None,
        "<" => Some(Op::Lt),
        "<=" | "<~" => Some(Op::Le),
        "=" => Some(Op::Eq),
        ">=" | ">~" => Some(Op::Ge),
        ">" => Some(Op::Gt),
        _ => Some(Op::Fuzzy),
    };
    let version = rest[op_end..]
        .split_once('@')
        .map_or(&rest[op_end..], |(v, _)| v);
    Relation {
        name: name.to_string(),
        constraint: op.map(|op| (op, version.to_string())),
        arch_qualifier: String::new(),
    }
}

#[cfg(test)]
mod tests;
