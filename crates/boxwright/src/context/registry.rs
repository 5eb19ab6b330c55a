//! The registry client of the command's registry arguments: credentials from the arguments,
//! the environment or an auth file, and an extra CA.

use std::path::PathBuf;

use anyhow::{Context, bail};
use boxwright_metadata::env_vars;
use boxwright_registry::{AuthFile, AuthLocations, Client, ClientOptions, Credentials};

use super::env::{var, var_os};
use crate::cli::RegistryArgs;

/// A registry client for the command's registry arguments.
pub fn registry_client(args: &RegistryArgs) -> anyhow::Result<Client> {
    registry_client_with(args, &ClientOptions::default())
}

/// A client for the command's registry arguments, on top of `options`.
pub fn registry_client_with(
    args: &RegistryArgs,
    options: &ClientOptions,
) -> anyhow::Result<Client> {
    if args.registry_password_stdin && args.registry_username.is_none() {
        bail!(
            "--registry-password-stdin needs --registry-username (or BOXWRIGHT_REGISTRY_USERNAME)"
        );
    }
    let password = registry_password(args.registry_password_stdin)?;
    let credentials = match (&args.registry_username, password) {
        (Some(username), Some(password)) => Some(Credentials {
            username: username.clone(),
            password,
        }),
        (Some(username), None) => bail!(
            "--registry-username {username} needs a password: pass --registry-password-stdin or set {}",
            boxwright_registry::PASSWORD_ENV
        ),
        (None, _) => None,
    };
    let auth_file = if credentials.is_none() {
        AuthFile::discover(&AuthLocations {
            registry_auth_file: var_os(env_vars::REGISTRY_AUTH_FILE).map(PathBuf::from),
            docker_config: var_os(env_vars::DOCKER_CONFIG).map(PathBuf::from),
            home: var_os("HOME").map(PathBuf::from),
        })?
    } else {
        None
    };
    let ca_pem = match &args.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read --ca-file {}", path.display()))?,
        ),
        None => None,
    };
    Client::new(ClientOptions {
        insecure: args.insecure,
        credentials,
        auth_file,
        ca_pem,
        ..options.clone()
    })
    .with_context(|| match &args.ca_file {
        Some(path) => format!("cannot use --ca-file {}", path.display()),
        None => "cannot set up the registry client".into(),
    })
}

/// The registry password: one line of standard input (`--registry-password-stdin`), else
/// `BOXWRIGHT_REGISTRY_PASSWORD`, else none.
pub fn registry_password(from_stdin: bool) -> anyhow::Result<Option<String>> {
    if !from_stdin {
        return Ok(var(boxwright_registry::PASSWORD_ENV));
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("--registry-password-stdin: standard input holds no password");
    }
    Ok(Some(password))
}
