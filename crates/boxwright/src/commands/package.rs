//! `package TARGET --format apk|deb`: packages from a target's built output.

use std::path::PathBuf;

use anyhow::Context;
use boxwright_package::{ApkSigner, PackageFormat, PackageSpec, Script};
use boxwright_sign::KeySource;

use super::ExitStatus;
use crate::cli::{GlobalArgs, PackageFormatArg, PackageTargetArgs};
use crate::context;
use crate::printer::Printer;

/// The install prefix of a target's output tree unless `package.prefix` says otherwise.
const DEFAULT_PREFIX: &str = "/usr";

pub fn run(
    global: &GlobalArgs,
    printer: &Printer,
    args: &PackageTargetArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let target = context::target(&project, &args.target)?;
    let format = match args.format {
        PackageFormatArg::Apk => PackageFormat::Apk,
        PackageFormatArg::Deb => PackageFormat::Deb,
    };
    let host = boxwright_build::Arch::host().map(boxwright_build::Arch::name);
    let arch = args
        .arch
        .clone()
        .or_else(|| host.map(str::to_string))
        .context("cannot tell this machine's architecture: pass --arch")?;
    let machine = boxwright_package::format_arch(PackageFormat::Apk, &arch);
    // Like `image build`: this machine's build in .out/<target>/, others in .out/<target>@<arch>/.
    let tree = if host == Some(machine.as_str()) || machine == "noarch" {
        project.output_dir(&args.target)
    } else {
        project.output_dir(&format!("{}@{machine}", args.target))
    };
    let built = std::fs::read_dir(&tree).is_ok_and(|mut d| d.next().is_some());
    if !built {
        anyhow::bail!(
            "target `{}` is not built for {machine}: {} is missing or empty (run `boxwright build {}{}`)",
            args.target,
            tree.display(),
            args.target,
            args.arch
                .as_deref()
                .map(|a| format!(" --arch {a}"))
                .unwrap_or_default()
        );
    }
    let version = target.version();
    if version.is_empty() {
        anyhow::bail!(
            "target `{}` has no version (`env.{}`)",
            args.target,
            target.version_env_var
        );
    }
    let metadata = target.package.clone().unwrap_or_default();
    let mut scripts = std::collections::BTreeMap::new();
    for (key, text) in &metadata.scripts {
        // Checked at load time.
        let script = Script::from_key(key).context("unknown install script")?;
        scripts.insert(script, text.clone());
    }
    let spec = PackageSpec {
        name: metadata.name.clone().unwrap_or_else(|| args.target.clone()),
        version: version.to_string(),
        revision: metadata.revision,
        arch,
        description: metadata.description.clone().unwrap_or_default(),
        url: metadata.url.clone().unwrap_or_default(),
        license: metadata.license.clone().unwrap_or_default(),
        maintainer: metadata.maintainer.clone().unwrap_or_default(),
        depends: metadata.depends.clone(),
        provides: metadata.provides.clone(),
        conffiles: metadata.conffiles.clone(),
        scripts,
        origin: String::new(),
        source_date_epoch: context::source_date_epoch(&project.root)?,
        entries: Vec::new(),
    };
    let key = match (format, &args.key) {
        (PackageFormat::Apk, None) => anyhow::bail!(
            "apk packages are signed: pass --key with an RSA private key (boxwright key generate --format rsa -o PREFIX)"
        ),
        (PackageFormat::Apk, Some(key)) => Some(load_key(key, args.key_name.as_deref())?),
        (PackageFormat::Deb, _) => None,
    };
    let signer = key.as_ref().map(|(key, name)| ApkSigner {
        key,
        key_name: name,
    });
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let prefix = metadata.prefix.as_deref().unwrap_or(DEFAULT_PREFIX);
    let packages = boxwright_package::build_all(
        &spec,
        &tree,
        prefix,
        &metadata.subpackages,
        format,
        signer.as_ref(),
        &args.output,
    )
    .with_context(|| format!("cannot package target `{}` as {format}", args.target))?;
    if printer.json {
        printer.json(&packages);
    } else {
        for package in &packages {
            printer.line(package.path.display());
        }
    }
    Ok(ExitStatus::Success)
}

/// The RSA key and the public key name clients trust.
fn load_key(
    key: &str,
    key_name: Option<&str>,
) -> anyhow::Result<(boxwright_sign::rsa::RsaSigningKey, String)> {
    let source = KeySource::parse(key);
    let name = match (key_name, &source) {
        (Some(name), _) => name.to_string(),
        (None, KeySource::Path(path)) => {
            let mut name = PathBuf::from(path.file_name().context("--key names no file")?);
            name.as_mut_os_string().push(".pub");
            name.to_string_lossy().into_owned()
        }
        (None, KeySource::Env(_)) => anyhow::bail!(
            "--key {key} needs --key-name NAME: the public key file name apk clients trust (e.g. repo.rsa.pub)"
        ),
    };
    let text = source
        .read()
        .with_context(|| format!("cannot read --key {key}"))?;
    let key = boxwright_sign::rsa::RsaSigningKey::from_pem(&text)
        .with_context(|| format!("--key {key} is not a usable RSA private key"))?;
    Ok((key, name))
}
