//! Static builds: a target's recipe run in a sandbox on freshly unpacked sources, its output
//! verified (ELF policy and a smoke run in an empty root), then published as a whole.
//!
//! [`plan`] decides everything (paths, environment, sandbox) and can be shown without
//! running; [`run`] executes a plan, or finds its output up to date ([`key`]). Build
//! dependencies reach a recipe as a read-only sysroot ([`sysroot`]); Rust crates and Go
//! modules are fetched before the offline sandbox ([`vendor`]).

mod arch;
mod error;
pub mod key;
mod publish;
mod recipe;
mod sandbox;
pub mod schedule;
mod smoke;
pub mod sysroot;
pub mod toolchain;
pub mod vendor;
mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use boxwright_metadata::{Project, Target};
use serde::Serialize;

pub use arch::Arch;
pub use error::Error;
pub use publish::publish;
pub use sandbox::{Sandbox, SandboxChoice};

/// Everything a build will do, decided before it starts.
#[derive(Debug, Clone, Serialize)]
pub struct BuildPlan {
    pub target: String,
    pub version: String,
    pub arch: Arch,
    /// `<project>/<target>/build.sh`, or the target's `Dockerfile` when it has only that.
    pub recipe: PathBuf,
    /// The recipe is a Dockerfile, built by `docker buildx` with a local output.
    pub docker: bool,
    /// The target's directory, `<project>/<target>/` (`TARGETDIR` in the recipe).
    pub target_dir: PathBuf,
    /// Fresh for every build: `<project>/.cache/<target>/work/`.
    pub work_dir: PathBuf,
    /// `<project>/.cache/<target>/build.log`.
    pub log: PathBuf,
    /// Where the verified output is published.
    pub output_dir: PathBuf,
    pub sandbox: Sandbox,
    /// Downloaded files in `downloads[]` order; archives are unpacked, others copied.
    pub sources: Vec<PathBuf>,
    /// The target's `env` plus boxwright's build variables (toolchain variables come at run
    /// time), with paths as the recipe sees them ([`Sandbox::visible`]).
    pub env: BTreeMap<String, String>,
    /// ELF policy names from the target's `verify` (`static`, `pie`, …).
    pub policy: Vec<String>,
    /// The smoke command: a path under the output and its arguments.
    pub smoke: Vec<String>,
    /// Targets whose outputs form the sysroot (`build_depends`), built first.
    pub depends: Vec<String>,
    /// `<project>/.cache/<target>/`: work dir, log, vendored dependencies, the build record.
    pub cache_dir: PathBuf,
    /// `<project>/.cache/<target>/build-<arch>.json`: the key and output digest of the last
    /// successful build.
    pub record: PathBuf,
    /// Vendoring uses only what is cached.
    pub offline: bool,
}

/// Whether a target was built or found up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Built,
    UpToDate,
}

/// A finished target as its dependents see it.
#[derive(Debug, Clone, Serialize)]
pub struct Built {
    pub target: String,
    /// Its input key ([`key::input_key`]): part of every dependent's key.
    pub key: String,
    pub output_dir: PathBuf,
}

/// What a running build tells its caller.
pub trait Observer: Sync {
    /// A new step begins (`unpack`, `vendor`, `build`, `check`, `package`, `verify`...).
    fn step(&self, step: &str);
    /// A line of the recipe's output (also written to the log).
    fn line(&self, line: &str);
}

/// What a finished build produced.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub target: String,
    pub arch: Arch,
    pub status: Status,
    /// The input key; see [`key`].
    pub key: String,
    /// Why it was built: the inputs that changed since the last build (empty when up to date).
    pub reasons: Vec<String>,
    pub output_dir: PathBuf,
    /// Files published, relative to the output directory.
    pub files: Vec<String>,
    pub log: PathBuf,
    pub seconds: f64,
    /// The smoke command run in an empty root, if any.
    pub smoke: Option<String>,
}

/// Options of a build that do not come from metadata.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub arch: Arch,
    pub sandbox: SandboxChoice,
    /// Parallel jobs inside the recipe (`JOBS`).
    pub jobs: usize,
    pub source_date_epoch: u64,
    /// Overrides the output directory (default: the project's, see `Project::output_dir`).
    pub output_dir: Option<PathBuf>,
    /// Vendoring of Rust crates and Go modules uses only what is cached.
    pub offline: bool,
}

/// Plans the build of `name`.
pub fn plan(project: &Project, name: &str, options: &BuildOptions) -> Result<BuildPlan, Error> {
    let target = project
        .metadata
        .target(name)
        .expect("caller checked the target exists");
    let target_dir = project.root.join(name);
    let recipe = target_dir.join("build.sh");
    let dockerfile = target_dir.join("Dockerfile");
    let docker = !recipe.is_file() && dockerfile.is_file();
    if docker && !docker_engine_available() {
        return Err(Error::DockerfileOnly {
            target: name.to_string(),
            path: dockerfile,
        });
    }
    let recipe = if docker { dockerfile } else { recipe };
    if !recipe.is_file() {
        return Err(Error::NoRecipe {
            target: name.to_string(),
            path: recipe,
        });
    }
    let cache = project.root.join(".cache").join(name);
    let work_dir = cache.join("work");
    let sources = target
        .downloads
        .iter()
        .map(|d| project.download_dir().join(d.file_name()))
        .collect();
    let sandbox = Sandbox::resolve(options.sandbox)?;
    let (visible_work, visible_project) = sandbox.visible(&work_dir, &project.root);
    let env = recipe_env(
        name,
        target,
        &visible_project.join(name),
        &visible_work,
        options,
    );
    let record = cache.join(format!("build-{}.json", options.arch.name()));
    let verify = target.verify.clone().unwrap_or_default();
    let mut policy: Vec<String> = [
        ("static", verify.static_),
        ("pie", verify.pie),
        ("stripped", verify.stripped),
        ("relro", verify.relro),
        ("nx", verify.nx),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(name, _)| name.to_string())
    .collect();
    policy.sort();
    Ok(BuildPlan {
        target: name.to_string(),
        version: target.version().to_string(),
        arch: options.arch,
        recipe,
        docker,
        target_dir,
        log: cache.join("build.log"),
        work_dir,
        output_dir: options.output_dir.clone().unwrap_or_else(|| {
            // Other architectures' outputs sit beside this machine's: `.out/<target>@<arch>/`.
            if Arch::host() == Some(options.arch) {
                project.output_dir(name)
            } else {
                project.output_dir(&format!("{name}@{}", options.arch.name()))
            }
        }),
        sandbox,
        sources,
        env,
        policy,
        smoke: verify.smoke,
        depends: target.build_depends.clone(),
        cache_dir: cache,
        record,
        offline: options.offline,
    })
}

/// The recipe's variables (DESIGN: Recipe), without the toolchain's.
fn recipe_env(
    name: &str,
    target: &Target,
    target_dir: &Path,
    work: &Path,
    options: &BuildOptions,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = target.env.clone();
    let dir = |sub: &str| work.join(sub).display().to_string();
    let pairs = [
        ("SRCDIR", dir("src")),
        ("srcdir", dir("src")),
        ("builddir", dir("src")),
        ("DESTDIR", dir("dest")),
        ("pkgdir", dir("dest")),
        ("HOME", dir("home")),
        ("TMPDIR", dir("tmp")),
        ("TARGETDIR", target_dir.display().to_string()),
        ("TARGET", name.to_string()),
        ("VERSION", target.version().to_string()),
        ("ARCH", options.arch.name().to_string()),
        ("JOBS", options.jobs.max(1).to_string()),
        ("SOURCE_DATE_EPOCH", options.source_date_epoch.to_string()),
        ("LC_ALL", "C.UTF-8".to_string()),
        ("TZ", "UTC".to_string()),
        // The build dependencies' outputs (empty without any); see `sysroot`.
        ("SYSROOT", dir("sysroot")),
        ("PKG_CONFIG", "pkg-config --static".to_string()),
        (
            "PKG_CONFIG_PATH",
            format!("{0}/lib/pkgconfig:{0}/share/pkgconfig", dir("sysroot")),
        ),
        (
            "PKG_CONFIG_LIBDIR",
            format!("{0}/lib/pkgconfig:{0}/share/pkgconfig", dir("sysroot")),
        ),
    ];
    let user_cppflags = env.remove("CPPFLAGS");
    for (key, value) in pairs {
        env.insert(key.to_string(), value);
    }
    let cppflags = format!("-I{}/include", dir("sysroot"));
    env.insert(
        "CPPFLAGS".into(),
        match user_cppflags {
            Some(user) => format!("{cppflags} {user}"),
            None => cppflags,
        },
    );
    env
}

/// Runs a plan: unless its output is up to date (and `force` is off), fresh work dir, unpack,
/// vendor, sysroot from `dependencies`, recipe, verify, smoke, publish, record.
pub fn run(
    plan: &BuildPlan,
    dependencies: &[Built],
    force: bool,
    observer: &dyn Observer,
) -> Result<BuildReport, Error> {
    let started = Instant::now();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let dependency_keys = dependencies
        .iter()
        .map(|d| (d.target.clone(), d.key.clone()))
        .collect();
    let key = key::input_key(plan, &dependency_keys)?;
    let record = key::read_record(&plan.record);
    if !force && key::up_to_date(record.as_ref(), &key, &plan.output_dir)? {
        return Ok(BuildReport {
            target: plan.target.clone(),
            arch: plan.arch,
            status: Status::UpToDate,
            key: key.key,
            reasons: Vec::new(),
            files: list_files(&plan.output_dir)?,
            output_dir: plan.output_dir.clone(),
            log: plan.log.clone(),
            seconds: started.elapsed().as_secs_f64(),
            smoke: None,
        });
    }
    let reasons = if force {
        vec!["--force".to_string()]
    } else {
        key::changes(record.as_ref(), &key)
    };
    if plan.work_dir.exists() {
        std::fs::remove_dir_all(&plan.work_dir).map_err(io(&plan.work_dir))?;
    }
    for sub in ["src", "dest", "home", "tmp"] {
        let path = plan.work_dir.join(sub);
        std::fs::create_dir_all(&path).map_err(io(&path))?;
    }
    if plan.docker {
        run_docker(plan, observer)?;
    } else {
        run_recipe(plan, dependencies, observer)?;
    }
    let mut report = finish(plan, started, observer)?;
    key::write_record(
        &plan.record,
        &key::BuildRecord {
            key: key.key.clone(),
            parts: key.parts,
            output_dir: plan.output_dir.clone(),
            output_digest: key::tree_digest(&plan.output_dir)?,
        },
    )?;
    report.key = key.key;
    report.reasons = reasons;
    Ok(report)
}

/// The recipe in the sandbox, on the unpacked sources, against the dependencies' sysroot.
fn run_recipe(
    plan: &BuildPlan,
    dependencies: &[Built],
    observer: &dyn Observer,
) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut env = plan.env.clone();
    let project = plan.target_dir.parent().unwrap_or(&plan.target_dir);
    // What the recipe sees of a path on the host.
    let visible = |path: &Path| plan.sandbox.translate(path, &plan.work_dir, project);
    observer.step("unpack");
    let builddir = unpack_sources(plan)?;
    if let Some(builddir) = &builddir {
        env.insert("builddir".into(), visible(builddir).display().to_string());
    }
    observer.step("vendor");
    let vendored = vendor::prepare(
        &plan.target,
        &plan.target_dir,
        builddir.as_deref(),
        &plan.cache_dir,
        plan.offline,
        &|line| observer.line(line),
    )?;
    let sysroot = plan.work_dir.join("sysroot");
    if !dependencies.is_empty() {
        observer.step("sysroot");
    }
    let outputs: Vec<&Path> = dependencies
        .iter()
        .map(|d| d.output_dir.as_path())
        .collect();
    sysroot::assemble(&sysroot, &visible(&sysroot), &outputs)?;
    let toolchain_dir = plan.work_dir.join("toolchain");
    let toolchain = toolchain::prepare(
        plan.arch,
        &toolchain_dir,
        &visible(&toolchain_dir),
        &[
            (visible(&plan.work_dir), sandbox::SANDBOX_WORK.into()),
            (visible(project), sandbox::SANDBOX_PROJECT.into()),
        ],
    )?;
    if uses_cargo(&plan.recipe)? && !toolchain::rust_target_installed(plan.arch.rust_target())? {
        return Err(Error::MissingRustTarget {
            triple: plan.arch.rust_target().to_string(),
        });
    }
    env.extend(toolchain.env);
    if let Some(ldflags) = env.get_mut("LDFLAGS") {
        *ldflags = format!("{ldflags} -L{}/lib", visible(&sysroot).display());
    }
    if let Some(config) = &vendored.cargo_config {
        let home = plan.work_dir.join("cargo-home");
        std::fs::create_dir_all(&home).map_err(io(&home))?;
        let file = home.join("config.toml");
        let config = config.replace(
            &*project.to_string_lossy(),
            &visible(project).to_string_lossy(),
        );
        std::fs::write(&file, config).map_err(io(&file))?;
    }
    env.extend(vendored.env.into_iter().map(|(k, v)| {
        (
            k,
            v.replace(
                &*project.to_string_lossy(),
                &visible(project).to_string_lossy(),
            ),
        )
    }));
    let mut path: Vec<String> = toolchain
        .path
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    path.extend(
        [
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ]
        .map(String::from),
    );
    env.insert("PATH".into(), path.join(":"));

    let driver = plan.work_dir.join("boxwright-driver.sh");
    std::fs::write(&driver, recipe::driver(&visible(&plan.recipe))).map_err(io(&driver))?;
    if let Sandbox::Host = plan.sandbox {
        observer.line("note: no sandbox: the recipe runs on the host, with network access");
    }
    let argv = ["bash".to_string(), visible(&driver).display().to_string()];
    run_logged(plan, &plan.sandbox, &[sysroot], &env, &argv, observer)
}

/// The seed layout: `docker buildx build` of `<target>/Dockerfile` with the project as
/// context, the target's upper-case `env` entries as build arguments, and the final stage
/// exported into `dest/`. Docker is the sandbox here.
fn run_docker(plan: &BuildPlan, observer: &dyn Observer) -> Result<(), Error> {
    observer.step("docker buildx build");
    let project = plan.target_dir.parent().unwrap_or(&plan.target_dir);
    let mut argv: Vec<String> = ["docker", "buildx", "build", "--file"]
        .map(String::from)
        .to_vec();
    argv.push(plan.recipe.display().to_string());
    argv.push(format!(
        "--output=type=local,dest={}",
        plan.work_dir.join("dest").display()
    ));
    for (key, value) in &plan.env {
        if key
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
        {
            argv.push(format!("--build-arg={key}={value}"));
        }
    }
    argv.push(project.display().to_string());
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    env.insert(
        "SOURCE_DATE_EPOCH".into(),
        plan.env["SOURCE_DATE_EPOCH"].clone(),
    );
    run_logged(plan, &Sandbox::Host, &[], &env, &argv, observer)
}

fn docker_engine_available() -> bool {
    std::process::Command::new("docker")
        .arg("info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Verification, smoke run and publishing of what the build left in `dest/`.
fn finish(
    plan: &BuildPlan,
    started: Instant,
    observer: &dyn Observer,
) -> Result<BuildReport, Error> {
    let dest = plan.work_dir.join("dest");
    observer.step("verify");
    let files = list_files(&dest)?;
    if files.is_empty() {
        return Err(Error::EmptyOutput {
            target: plan.target.clone(),
        });
    }
    let violations = verify::check_tree(&dest, &files, &plan.policy, plan.arch)?;
    if !violations.is_empty() {
        return Err(Error::Verification {
            target: plan.target.clone(),
            violations,
        });
    }
    let smoke = if plan.smoke.is_empty() {
        None
    } else {
        observer.step("smoke");
        Some(smoke::run(&plan.sandbox, &dest, &plan.smoke, plan.arch)?)
    };
    observer.step("publish");
    publish(&dest, &plan.output_dir)?;
    Ok(BuildReport {
        target: plan.target.clone(),
        arch: plan.arch,
        status: Status::Built,
        key: String::new(),
        reasons: Vec::new(),
        output_dir: plan.output_dir.clone(),
        files,
        log: plan.log.clone(),
        seconds: started.elapsed().as_secs_f64(),
        smoke,
    })
}

/// Unpacks archives (copies other files) into `src/`; returns the builddir when the first
/// archive holds a single top-level directory.
fn unpack_sources(plan: &BuildPlan) -> Result<Option<PathBuf>, Error> {
    let src = plan.work_dir.join("src");
    let mut builddir = None;
    for (i, source) in plan.sources.iter().enumerate() {
        if is_archive(source) {
            let unpacked =
                boxwright_archive::unpack(source, &src, &boxwright_archive::Limits::default())
                    .map_err(|e| Error::Unpack {
                        archive: source.clone(),
                        source: e,
                    })?;
            if i == 0 {
                builddir = unpacked.top_level.map(|top| src.join(top));
            }
        } else {
            let name = source.file_name().unwrap_or_default();
            std::fs::copy(source, src.join(name)).map_err(|e| Error::Io {
                path: source.clone(),
                source: e,
            })?;
        }
    }
    Ok(builddir)
}

fn is_archive(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [
        ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz", ".tar.zst",
        ".tzst", ".zip",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

fn uses_cargo(recipe: &Path) -> Result<bool, Error> {
    let text = std::fs::read_to_string(recipe).map_err(|source| Error::Io {
        path: recipe.to_path_buf(),
        source,
    })?;
    Ok(text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
        .any(|word| word == "cargo"))
}

/// Runs `argv` in the sandbox with output appended to the log; on failure the error carries
/// the log's tail.
fn run_logged(
    plan: &BuildPlan,
    sandbox: &Sandbox,
    read_only: &[PathBuf],
    env: &BTreeMap<String, String>,
    argv: &[String],
    observer: &dyn Observer,
) -> Result<(), Error> {
    use std::io::{BufRead, BufReader, Write};
    let log_path = &plan.log;
    let mut log = std::fs::File::create(log_path).map_err(|source| Error::Io {
        path: log_path.clone(),
        source,
    })?;
    let project = plan.target_dir.parent().unwrap_or(&plan.target_dir);
    let mut command = sandbox.command(project, &plan.work_dir, read_only, env, argv);
    let (reader, writer) = std::io::pipe().map_err(|source| Error::Io {
        path: log_path.clone(),
        source,
    })?;
    command
        .stdin(std::process::Stdio::null())
        .stdout(writer.try_clone().map_err(|source| Error::Io {
            path: log_path.clone(),
            source,
        })?)
        .stderr(writer);
    let mut child = command.spawn().map_err(|source| Error::Spawn {
        program: argv.join(" "),
        source,
    })?;
    drop(command);
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for line in BufReader::new(reader).lines() {
        let line = line.unwrap_or_else(|e| format!("(unreadable output: {e})"));
        let _ = writeln!(log, "{line}");
        match line.strip_prefix("==> ") {
            Some(step) => observer.step(step),
            None => observer.line(&line),
        }
        if tail.len() == 40 {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    let status = child.wait().map_err(|source| Error::Spawn {
        program: argv.join(" "),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::RecipeFailed {
            target: plan.target.clone(),
            status: status.to_string(),
            log: log_path.clone(),
            tail: tail.into_iter().collect::<Vec<_>>().join("\n"),
        })
    }
}

/// Regular files and symlinks under `root`, relative, sorted.
fn list_files(root: &Path) -> Result<Vec<String>, Error> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io {
            path: root.to_path_buf(),
            source: std::io::Error::from(e),
        })?;
        if !entry.file_type().is_dir() {
            let relative = entry.path().strip_prefix(root).expect("below root");
            files.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(files)
}
