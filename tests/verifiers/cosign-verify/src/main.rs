//! `cosign-verify`: a test-only, independent verifier of cosign signatures and keys, built on
//! the `sigstore` crate (sigstore-rs) rather than on boxwright's own code. boxwright's tests
//! run it to prove that what boxwright writes is what cosign's ecosystem accepts.
//!
//! Build it once with `scripts/build-verifiers.sh` (it lands in `target/verifiers/`; a cold
//! build takes several minutes, which is why it is not part of boxwright's workspace).
//!
//! ```text
//! cosign-verify blob --key PUB --signature SIG FILE
//!     verify a `cosign sign-blob` signature (SIG: a file holding the base64 signature)
//!     of FILE with the PEM public key PUB
//! cosign-verify image --key PUB [--insecure] [--username USER] REF
//!     verify the cosign signatures of the image REF in a registry (legacy `.sig` tags and
//!     OCI referrers, as sigstore's `trusted_signature_layers` finds them) with the public key
//!     PUB; loopback registries (localhost, 127.0.0.1, [::1]) are spoken to in plain http,
//!     others in https unless --insecure; with --username the password is read from
//!     COSIGN_VERIFY_REGISTRY_PASSWORD; prints the verified simple-signing payloads as JSON
//! cosign-verify key --private KEY [--public PUB]
//!     decrypt a cosign private key (`ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY`, or an
//!     unencrypted PKCS#8 `PRIVATE KEY` when the password is empty) with the password in
//!     COSIGN_PASSWORD (empty when unset), print its public key as PEM, and with --public
//!     check that it matches the public key file PUB
//! ```
//!
//! Exit status: 0 verified, 1 not verified (the reason on stderr), 2 usage or input error.

use std::process::ExitCode;

use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraintVec};
use sigstore::cosign::{ClientBuilder, CosignCapabilities, verify_constraints};
use sigstore::crypto::CosignVerificationKey;
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};

/// How a run ended.
enum Outcome {
    Verified,
    NotVerified(String),
}

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(Outcome::Verified) => ExitCode::SUCCESS,
        Ok(Outcome::NotVerified(reason)) => {
            eprintln!("not verified: {reason}");
            ExitCode::from(1)
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<Outcome> {
    let (command, rest) = args
        .split_first()
        .ok_or("usage: cosign-verify blob|image|key ... (see the doc comment of main.rs)")?;
    let parsed = Args::parse(rest)?;
    match command.as_str() {
        "blob" => blob(&parsed),
        "image" => image(&parsed),
        "key" => key(&parsed),
        other => Err(format!("unknown subcommand `{other}` (known: blob, image, key)")),
    }
}

/// `--name value` options, `--flag`s and positional arguments.
#[derive(Default)]
struct Args {
    options: Vec<(String, String)>,
    flags: Vec<String>,
    positional: Vec<String>,
}

impl Args {
    const FLAGS: &[&str] = &["--insecure"];

    fn parse(args: &[String]) -> Result<Args> {
        let mut parsed = Args::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if Self::FLAGS.contains(&arg.as_str()) {
                parsed.flags.push(arg.clone());
            } else if arg.starts_with("--") {
                let value = iter.next().ok_or(format!("{arg} needs a value"))?;
                parsed.options.push((arg.clone(), value.clone()));
            } else {
                parsed.positional.push(arg.clone());
            }
        }
        Ok(parsed)
    }

    fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str> {
        self.option(name).ok_or(format!("{name} is required"))
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn one_positional(&self, what: &str) -> Result<&str> {
        match self.positional.as_slice() {
            [one] => Ok(one),
            _ => Err(format!("expected exactly one {what}")),
        }
    }
}

fn read(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn blob(args: &Args) -> Result<Outcome> {
    let key = read(args.required("--key")?)?;
    let signature = read(args.required("--signature")?)?;
    let file = read(args.one_positional("FILE")?)?;
    let key = CosignVerificationKey::try_from_pem(&key)
        .map_err(|e| format!("cannot load the public key: {e}"))?;
    let signature = String::from_utf8_lossy(&signature).trim().to_string();
    match key.verify_signature(
        sigstore::crypto::Signature::Base64Encoded(signature.as_bytes()),
        &file,
    ) {
        Ok(()) => Ok(Outcome::Verified),
        Err(e) => Ok(Outcome::NotVerified(e.to_string())),
    }
}

fn key(args: &Args) -> Result<Outcome> {
    let private = read(args.required("--private")?)?;
    let password = std::env::var("COSIGN_PASSWORD").unwrap_or_default();
    let pair = match SigStoreKeyPair::from_encrypted_pem(&private, password.as_bytes()) {
        Ok(pair) => pair,
        Err(e) => return Ok(Outcome::NotVerified(format!("cannot load the key: {e}"))),
    };
    let public = pair
        .public_key_to_pem()
        .map_err(|e| format!("cannot write the public key: {e}"))?;
    print!("{public}");
    if let Some(path) = args.option("--public") {
        let expected = pem_body(&read(path)?);
        if pem_body(public.as_bytes()) != expected {
            return Ok(Outcome::NotVerified(format!(
                "the private key's public key differs from {path}"
            )));
        }
    }
    Ok(Outcome::Verified)
}

/// The base64 body of a PEM document, whitespace removed.
fn pem_body(pem: &[u8]) -> String {
    String::from_utf8_lossy(pem)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

fn image(args: &Args) -> Result<Outcome> {
    let key = read(args.required("--key")?)?;
    let reference_text = args.one_positional("REF")?;
    let reference: OciReference = reference_text
        .parse()
        .map_err(|e| format!("invalid reference {reference_text}: {e}"))?;
    let auth = match args.option("--username") {
        Some(user) => Auth::Basic(
            user.to_string(),
            std::env::var("COSIGN_VERIFY_REGISTRY_PASSWORD").map_err(|_| {
                "--username needs COSIGN_VERIFY_REGISTRY_PASSWORD in the environment".to_string()
            })?,
        ),
        None => Auth::Anonymous,
    };
    let registry = reference.registry().to_string();
    let protocol = if args.flag("--insecure") {
        ClientProtocol::Http
    } else if is_loopback(&registry) {
        ClientProtocol::HttpsExcept(vec![registry])
    } else {
        ClientProtocol::Https
    };
    let verifier = PublicKeyVerifier::try_from(&key)
        .map_err(|e| format!("cannot load the public key: {e}"))?;
    let constraints: VerificationConstraintVec = vec![Box::new(verifier)];

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let mut client = ClientBuilder::default()
            .with_oci_client_config(ClientConfig {
                protocol,
                ..ClientConfig::default()
            })
            .build()
            .map_err(|e| format!("cannot build the cosign client: {e}"))?;
        let layers = match client.trusted_signature_layers(&auth, &reference).await {
            Ok(layers) => layers,
            Err(e) => {
                return Ok(Outcome::NotVerified(format!(
                    "cannot read the signatures of {reference_text}: {e}"
                )));
            }
        };
        if layers.is_empty() {
            return Ok(Outcome::NotVerified(format!(
                "no signatures found for {reference_text}"
            )));
        }
        if let Err(e) = verify_constraints(&layers, constraints.iter()) {
            return Ok(Outcome::NotVerified(format!(
                "no signature of {reference_text} is by the key ({} unsatisfied constraint(s))",
                e.unsatisfied_constraints.len()
            )));
        }
        let payloads: Vec<_> = layers.iter().map(|l| &l.simple_signing).collect();
        println!(
            "{}",
            serde_json::to_string(&payloads).map_err(|e| format!("cannot print payloads: {e}"))?
        );
        Ok(Outcome::Verified)
    })
}

fn is_loopback(registry: &str) -> bool {
    let host = registry
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(registry, |(host, _)| host);
    matches!(host, "localhost" | "[::1]" | "::1") || host.starts_with("127.")
}
