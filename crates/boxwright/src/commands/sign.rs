//! `key generate`, `sign-blob` and `verify-blob`: cosign-compatible keys and blob signatures.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use boxwright_sign::files::{KeyFile, write_key_files};
use boxwright_sign::generate::{self, KeyPair, KeyRequest};
use boxwright_sign::{KeySource, Signature, Zeroizing, blob};
use serde::Serialize;

use super::ExitStatus;
use crate::cli::{KeyFormat, KeyGenerateArgs, SignBlobArgs, VerifyBlobArgs};
use crate::context;
use crate::printer::Printer;

#[derive(Serialize)]
struct Generated {
    format: &'static str,
    private_key: PathBuf,
    public_key: PathBuf,
    key_id: String,
    /// Whether the password was empty (the key opens without one).
    empty_password: bool,
}

pub fn generate(printer: &Printer, args: &KeyGenerateArgs) -> anyhow::Result<ExitStatus> {
    let format = match args.format {
        KeyFormat::Cosign => generate::KeyFormat::Cosign,
        KeyFormat::Minisign => generate::KeyFormat::Minisign,
        KeyFormat::Rsa => generate::KeyFormat::Rsa,
        KeyFormat::Openpgp => generate::KeyFormat::OpenPgp,
    };
    let password = match format {
        generate::KeyFormat::Cosign => Some(new_key_password(args)?),
        // Refused by `KeyPair::generate`: the other formats are written unencrypted.
        _ if args.key_password_stdin => Some(Zeroizing::new(Vec::new())),
        _ => None,
    };
    if format == generate::KeyFormat::Rsa {
        printer.detail(format!("generating a {}-bit RSA key", args.bits));
    }
    let pair = KeyPair::generate(&KeyRequest {
        format,
        password: password.as_deref().map(Vec::as_slice),
        prefix: &args.output,
        rsa_bits: args.bits,
        user_id: &args.user_id,
    })?;
    write_key_files(
        &[
            KeyFile {
                path: pair.private_path.clone(),
                contents: &pair.private,
                private: true,
            },
            KeyFile {
                path: pair.public_path.clone(),
                contents: &pair.public,
                private: false,
            },
        ],
        args.force,
    )?;
    let generated = Generated {
        format: format.name(),
        private_key: pair.private_path,
        public_key: pair.public_path,
        key_id: pair.key_id,
        empty_password: pair.empty_password,
    };
    if printer.json {
        printer.json(&generated);
    } else {
        printer.line(format!("private key: {}", generated.private_key.display()));
        printer.line(format!("public key: {}", generated.public_key.display()));
        printer.line(format!("key id: {}", generated.key_id));
    }
    Ok(ExitStatus::Success)
}

#[derive(Serialize)]
struct Signed<'a> {
    file: &'a Path,
    signature: String,
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_signature: Option<&'a Path>,
}

pub fn sign_blob(printer: &Printer, args: &SignBlobArgs) -> anyhow::Result<ExitStatus> {
    let source = KeySource::parse(&args.key);
    let password = crate::context::key_password(args.key_password_stdin)?;
    let key = source
        .signing_key(password.as_deref().map(Vec::as_slice))
        .with_context(|| format!("cannot load the private key {source}"))?;
    let signature = blob::sign_file(&key, &args.file)?.to_base64();
    if let Some(path) = &args.output {
        // As cosign writes it: the base64 text without a line break.
        std::fs::write(path, &signature)
            .with_context(|| format!("cannot write the signature to {}", path.display()))?;
        printer.info(format!("signature written to {}", path.display()));
    }
    let signed = Signed {
        file: &args.file,
        key_id: key.verifying_key().key_id().to_string(),
        output_signature: args.output.as_deref(),
        signature,
    };
    if printer.json {
        printer.json(&signed);
    } else if args.output.is_none() {
        printer.line(&signed.signature);
    }
    Ok(ExitStatus::Success)
}

#[derive(Serialize)]
struct Verdict<'a> {
    file: &'a Path,
    verified: bool,
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

pub fn verify_blob(printer: &Printer, args: &VerifyBlobArgs) -> anyhow::Result<ExitStatus> {
    let source = KeySource::parse(&args.key);
    let key = source
        .verifying_key()
        .with_context(|| format!("cannot load the public key {source}"))?;
    let signature_text = blob::read_signature(&args.signature)?;
    let outcome = Signature::from_base64(&signature_text)
        .and_then(|s| blob::verify_file(&key, &args.file, &s));
    let reason = match outcome {
        Ok(()) => None,
        Err(error) if error.is_verification_failure() => Some(error.to_string()),
        Err(error) => return Err(error.into()),
    };
    let verdict = Verdict {
        file: &args.file,
        verified: reason.is_none(),
        key_id: key.key_id().to_string(),
        reason,
    };
    if printer.json {
        printer.json(&verdict);
    }
    match &verdict.reason {
        None => {
            if !printer.json {
                printer.line("Verified OK");
            }
            Ok(ExitStatus::Success)
        }
        Some(reason) => {
            printer.failure(format!("not verified: {reason}"));
            Ok(ExitStatus::CheckFailed)
        }
    }
}

/// The password of a new cosign key: `--key-password-stdin`, else `COSIGN_PASSWORD` (set,
/// even empty: the user chose), else `--no-password` (empty), else asked twice on a
/// terminal; with none of them, an error naming them.
fn new_key_password(args: &KeyGenerateArgs) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    if let Some(password) = context::key_password(args.key_password_stdin)? {
        return Ok(password);
    }
    if args.no_password {
        return Ok(Zeroizing::new(Vec::new()));
    }
    if context::prompt::can_prompt() {
        return context::prompt::new_password("the private key");
    }
    bail!(
        "no password for the private key: give --key-password-stdin, {} or --no-password",
        boxwright_metadata::env_vars::COSIGN_PASSWORD
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_password_variable_is_the_documented_one() {
        assert_eq!(
            boxwright_metadata::env_vars::COSIGN_PASSWORD,
            boxwright_sign::source::PASSWORD_ENV
        );
    }
}
