//! `login` and `logout`: registry credentials checked against the registry, then kept in the
//! docker config file the registry client reads (as `docker login` and `crane auth login` do).

use std::path::PathBuf;

use anyhow::{Context, bail};
use boxwright_metadata::env_vars;
use boxwright_registry::{AuthLocations, Client, ClientOptions, Credentials, Reference};

use super::ExitStatus;
use crate::cli::{LoginArgs, LogoutArgs};
use crate::context::{block_on, var};
use crate::printer::Printer;

/// `login REGISTRY`: stores the credentials only when the registry accepts them.
pub fn login(printer: &Printer, args: &LoginArgs) -> anyhow::Result<ExitStatus> {
    let registry = registry_host(&args.registry)?;
    let file = login_file()?;
    let credentials = Credentials {
        username: args.registry_username.clone(),
        password: password(args)?,
    };
    let ca_pem = match &args.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read --ca-file {}", path.display()))?,
        ),
        None => None,
    };
    let client = Client::new(ClientOptions {
        insecure: args.insecure,
        credentials: Some(credentials.clone()),
        ca_pem,
        ..ClientOptions::default()
    })?;
    block_on(client.login(&registry))??;
    boxwright_registry::store_credentials(&file, &registry, &credentials)?;
    report(printer, "logged in to", &registry, &file);
    Ok(ExitStatus::Success)
}

/// `logout REGISTRY`: removes the registry's entries; an error when there is none.
pub fn logout(printer: &Printer, args: &LogoutArgs) -> anyhow::Result<ExitStatus> {
    let registry = registry_host(&args.registry)?;
    let file = login_file()?;
    if !boxwright_registry::forget_credentials(&file, &registry)? {
        bail!("{} holds no credentials for {registry}", file.display());
    }
    report(printer, "logged out of", &registry, &file);
    Ok(ExitStatus::Success)
}

fn report(printer: &Printer, what: &str, registry: &str, file: &std::path::Path) {
    if printer.json {
        printer.json(&serde_json::json!({ "registry": registry, "file": file }));
    } else {
        printer.info(format!("{what} {registry} ({})", file.display()));
    }
}

/// `host[:port]` of `REGISTRY` (a scheme and a path, as `docker login` accepts, are dropped).
fn registry_host(input: &str) -> anyhow::Result<String> {
    let without_scheme = input
        .strip_prefix("https://")
        .or_else(|| input.strip_prefix("http://"))
        .unwrap_or(input);
    let host = without_scheme.split('/').next().unwrap_or_default();
    // A registry is a reference's first part: check it as one.
    let reference: Reference = format!("{host}/x")
        .parse()
        .with_context(|| format!("`{input}` is not a registry (HOST[:PORT])"))?;
    if reference.registry != host {
        bail!("`{input}` is not a registry (HOST[:PORT])");
    }
    Ok(host.to_string())
}

/// The password from standard input (`--registry-password-stdin`), else the environment.
fn password(args: &LoginArgs) -> anyhow::Result<String> {
    crate::context::registry_password(args.registry_password_stdin)?.with_context(|| {
        format!(
            "no password: pass --registry-password-stdin or set {}",
            boxwright_registry::PASSWORD_ENV
        )
    })
}

/// `$REGISTRY_AUTH_FILE`, else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn login_file() -> anyhow::Result<PathBuf> {
    AuthLocations {
        registry_auth_file: var(env_vars::REGISTRY_AUTH_FILE).map(PathBuf::from),
        docker_config: var(env_vars::DOCKER_CONFIG).map(PathBuf::from),
        home: var("HOME").map(PathBuf::from),
    }
    .login_file()
    .context("no place for credentials: set REGISTRY_AUTH_FILE, DOCKER_CONFIG or HOME")
}
