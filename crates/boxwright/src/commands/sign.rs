//! `key generate`, `sign-blob` and `verify-blob`: cosign-compatible keys and blob signatures.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use boxwright_sign::files::{KeyFile, write_key_files};
use boxwright_sign::minisign::MinisignSecretKey;
use boxwright_sign::{KeySource, Signature, SigningKey, Zeroizing, blob};
use serde::Serialize;

use super::ExitStatus;
use crate::cli::{KeyFormat, KeyGenerateArgs, SignBlobArgs, VerifyBlobArgs};
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
    match args.format {
        KeyFormat::Minisign => return generate_minisign(printer, args),
        KeyFormat::Rsa => return generate_rsa(printer, args),
        KeyFormat::Openpgp => return generate_openpgp(printer, args),
        KeyFormat::Cosign => {}
    }
    let password = password(args.password_stdin)?;
    let no_password = password.is_none();
    let password = password.unwrap_or_default();
    let key = SigningKey::generate()?;
    let private_pem = key.to_cosign_pem(&password)?;
    let public = key.verifying_key();
    if no_password {
        printer.info(format!(
            "note: no --password-stdin and no {}: the private key is encrypted with the empty \
             password",
            boxwright_metadata::env_vars::COSIGN_PASSWORD
        ));
    }
    write_pair(
        printer,
        args,
        "cosign",
        (private_pem.as_bytes(), public.to_pem().as_bytes()),
        public.key_id().to_string(),
        password.is_empty(),
    )
}

/// A minisign key pair; the secret key is not encrypted (as `minisign -G -W` writes it): keep
/// it in a CI secret or a file only its owner reads.
fn generate_minisign(printer: &Printer, args: &KeyGenerateArgs) -> anyhow::Result<ExitStatus> {
    if args.password_stdin {
        anyhow::bail!(
            "minisign keys are written unencrypted (as `minisign -G -W` does); \
             --password-stdin is for cosign keys"
        );
    }
    let key = MinisignSecretKey::generate()?;
    write_pair(
        printer,
        args,
        "minisign",
        (
            key.to_text().as_bytes(),
            key.public_key().to_text().as_bytes(),
        ),
        key.key_id().to_string(),
        true,
    )
}

/// An RSA key pair for apk (abuild's names): `PREFIX.rsa` and `PREFIX.rsa.pub`, unencrypted
/// (apk tooling reads plain PEM keys).
fn generate_rsa(printer: &Printer, args: &KeyGenerateArgs) -> anyhow::Result<ExitStatus> {
    if args.password_stdin {
        anyhow::bail!(
            "RSA keys for apk are written unencrypted; --password-stdin is for cosign keys"
        );
    }
    printer.detail(format!("generating a {}-bit RSA key", args.bits));
    let (private, public) = boxwright_sign::rsa::generate(args.bits)?;
    let key_name = with_suffix(&args.out, ".rsa.pub")
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_pair_as(
        printer,
        args,
        "rsa",
        (".rsa", ".rsa.pub"),
        (private.as_bytes(), public.as_bytes()),
        key_name,
        true,
    )
}

/// An OpenPGP key pair for apt: `PREFIX.key` (armored secret key, unencrypted) and
/// `PREFIX.pub` (armored public key).
fn generate_openpgp(printer: &Printer, args: &KeyGenerateArgs) -> anyhow::Result<ExitStatus> {
    if args.password_stdin {
        anyhow::bail!(
            "OpenPGP keys for apt are written unencrypted; --password-stdin is for cosign keys"
        );
    }
    let (secret, public) = boxwright_sign::openpgp::generate(&args.user_id)?;
    let fingerprint =
        boxwright_sign::openpgp::OpenPgpSigningKey::from_armored(&secret)?.fingerprint();
    write_pair(
        printer,
        args,
        "openpgp",
        (secret.as_bytes(), public.as_bytes()),
        fingerprint,
        true,
    )
}

/// Writes `PREFIX.key` (private, 0600) and `PREFIX.pub` from `(private, public)` and reports
/// them.
fn write_pair(
    printer: &Printer,
    args: &KeyGenerateArgs,
    format: &'static str,
    keys: (&[u8], &[u8]),
    key_id: String,
    empty_password: bool,
) -> anyhow::Result<ExitStatus> {
    write_pair_as(
        printer,
        args,
        format,
        (".key", ".pub"),
        keys,
        key_id,
        empty_password,
    )
}

/// [`write_pair`] with other file name suffixes.
fn write_pair_as(
    printer: &Printer,
    args: &KeyGenerateArgs,
    format: &'static str,
    (private_suffix, public_suffix): (&str, &str),
    (private, public): (&[u8], &[u8]),
    key_id: String,
    empty_password: bool,
) -> anyhow::Result<ExitStatus> {
    let private_path = with_suffix(&args.out, private_suffix);
    let public_path = with_suffix(&args.out, public_suffix);
    write_key_files(
        &[
            KeyFile {
                path: private_path.clone(),
                contents: private,
                private: true,
            },
            KeyFile {
                path: public_path.clone(),
                contents: public,
                private: false,
            },
        ],
        args.force,
    )?;
    let generated = Generated {
        format,
        private_key: private_path,
        public_key: public_path,
        key_id,
        empty_password,
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
    let password = password(args.password_stdin)?;
    let key = source
        .signing_key(password.as_deref().map(Vec::as_slice))
        .with_context(|| format!("cannot load the private key {source}"))?;
    let signature = blob::sign_file(&key, &args.file)?.to_base64();
    if let Some(path) = &args.output_signature {
        // As cosign writes it: the base64 text without a line break.
        std::fs::write(path, &signature)
            .with_context(|| format!("cannot write the signature to {}", path.display()))?;
        printer.info(format!("signature written to {}", path.display()));
    }
    let signed = Signed {
        file: &args.file,
        key_id: key.verifying_key().key_id().to_string(),
        output_signature: args.output_signature.as_deref(),
        signature,
    };
    if printer.json {
        printer.json(&signed);
    } else if args.output_signature.is_none() {
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
    let signature_text = read_signature(&args.signature)?;
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

/// The signature file's text or, when there is no such file, the argument itself if it is a
/// base64 signature.
fn read_signature(argument: &str) -> anyhow::Result<String> {
    match std::fs::read_to_string(argument) {
        Ok(text) => Ok(text),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && Signature::from_base64(argument).is_ok() =>
        {
            Ok(argument.to_string())
        }
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("cannot read the signature file {argument}")))
        }
    }
}

/// `--password-stdin` (all of standard input less one final line break), else
/// `COSIGN_PASSWORD`, else none.
fn password(from_stdin: bool) -> anyhow::Result<Option<Zeroizing<Vec<u8>>>> {
    let explicit = if from_stdin {
        let mut input = Zeroizing::new(Vec::new());
        std::io::stdin()
            .read_to_end(&mut input)
            .context("cannot read the password from standard input")?;
        if input.ends_with(b"\n") {
            input.pop();
            if input.ends_with(b"\r") {
                input.pop();
            }
        }
        Some(input)
    } else {
        None
    };
    Ok(boxwright_sign::source::password(explicit))
}

/// `PREFIX` + `suffix`, for prefixes that are not UTF-8 too.
fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut path = OsString::from(prefix.as_os_str());
    path.push(suffix);
    PathBuf::from(path)
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
