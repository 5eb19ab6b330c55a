//! The compilers a recipe sees: C through gcc with a musl specs file, Rust through cargo's
//! musl targets, eBPF through clang. Written into the work directory, never into the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{Arch, Error};

/// Compiler flags for hardened static PIE C builds (DESIGN: Recipe).
pub const CFLAGS: &str = "-O2 -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2";
/// Linker flags for hardened static PIE builds.
pub const LDFLAGS: &str = "-static-pie -Wl,-z,relro,-z,now";

/// Where Debian's musl-tools keeps musl for an architecture.
fn musl_lib_dir(arch: Arch) -> PathBuf {
    PathBuf::from(format!("/usr/lib/{}-linux-musl", arch.name()))
}

/// Directories of the Linux UAPI headers (`linux-libc-dev`, or its cross package for another
/// architecture) that a musl build may see: they hold no C library headers, so glibc's stay
/// hidden. `asm` is the architecture's own.
const KERNEL_HEADER_DIRS: &[&str] = &[
    "linux",
    "asm-generic",
    "drm",
    "misc",
    "mtd",
    "rdma",
    "sound",
    "video",
    "xen",
];

/// Where the kernel headers for `arch` are: (the directory holding `linux/`, the `asm/` one).
fn kernel_header_source(arch: Arch) -> (PathBuf, PathBuf) {
    if Arch::host() == Some(arch) {
        (
            PathBuf::from("/usr/include"),
            PathBuf::from(format!("/usr/include/{}/asm", arch.gnu_triple())),
        )
    } else {
        // Debian's linux-libc-dev-<arch>-cross, installed with the cross compiler.
        let base = PathBuf::from(format!("/usr/{}/include", arch.gnu_triple()));
        let asm = base.join("asm");
        (base, asm)
    }
}

/// Builds `dir/` as an include directory of symlinks to the kernel headers only; returns
/// whether `linux/` was found.
fn kernel_headers(arch: Arch, dir: &Path) -> Result<bool, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let (base, asm) = kernel_header_source(arch);
    let mut links: Vec<(String, PathBuf)> = KERNEL_HEADER_DIRS
        .iter()
        .map(|name| ((*name).to_string(), base.join(name)))
        .collect();
    links.push(("asm".into(), asm));
    for (name, target) in links {
        if target.is_dir() {
            let link = dir.join(&name);
            std::os::unix::fs::symlink(&target, &link).map_err(io(&link))?;
        }
    }
    Ok(dir.join("linux/version.h").is_file() && dir.join("asm").is_dir())
}

/// A gcc specs file for musl that also handles `-static-pie`.
///
/// Debian's `musl-gcc.specs` always passes `-dynamic-linker /lib/ld-musl-….so.1` unless
/// `-static` is given, so `musl-gcc -static-pie` silently yields a *dynamic* binary. This
/// one drops the dynamic linker for `-static-pie`, links `rcrt1.o` (musl's self-relocating
/// start file) and passes the linker the options gcc itself uses for static PIE.
///
/// The includes are musl's own, then `kernel` (the Linux UAPI headers), nothing of glibc.
fn musl_specs(arch: Arch, kernel: &Path) -> String {
    let lib = musl_lib_dir(arch).display().to_string();
    let include = format!(
        "/usr/include/{}-linux-musl -isystem {}",
        arch.name(),
        kernel.display()
    );
    let loader = format!("/lib/ld-musl-{}.so.1", arch.name());
    format!(
        "%rename cpp_options old_cpp_options\n\n\
         *cpp_options:\n-nostdinc -isystem {include} -isystem include%s %(old_cpp_options)\n\n\
         *cc1:\n%(cc1_cpu) -nostdinc -isystem {include} -isystem include%s\n\n\
         *link_libgcc:\n-L{lib} -L .%s\n\n\
         *libgcc:\nlibgcc.a%s %:if-exists(libgcc_eh.a%s)\n\n\
         *startfile:\n%{{!shared:%{{static-pie:{lib}/rcrt1.o;static|no-pie:{lib}/crt1.o;:{lib}/Scrt1.o}}}} \
         {lib}/crti.o %{{static-pie:crtbeginS.o%s;static|no-pie:crtbegin.o%s;:crtbeginS.o%s}}\n\n\
         *endfile:\n%{{static-pie:crtendS.o%s;static|no-pie:crtend.o%s;:crtendS.o%s}} {lib}/crtn.o\n\n\
         *link:\n%{{!static:%{{!static-pie:-dynamic-linker {loader}}}}} -nostdlib %{{shared:-shared}} \
         %{{static:-static}} %{{static-pie:-static -pie --no-dynamic-linker -z text}} %{{rdynamic:-export-dynamic}}\n"
    )
}

/// What identifies the compilers of a build for `arch`, for the rebuild key: gcc's version,
/// musl's `libc.a` (size and time: a new musl package changes them) and rustc's version.
/// Asked once per process.
pub fn identity(arch: Arch) -> String {
    static SEEN: std::sync::Mutex<BTreeMap<&'static str, String>> =
        std::sync::Mutex::new(BTreeMap::new());
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    seen.entry(arch.name())
        .or_insert_with(|| {
            let version = |program: &Path, arg: &str| {
                std::process::Command::new(program)
                    .arg(arg)
                    .stderr(std::process::Stdio::null())
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map_or_else(
                        || "none".into(),
                        |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
                    )
            };
            let gcc = if Arch::host() == Some(arch) {
                "gcc".to_string()
            } else {
                format!("{}-gcc", arch.gnu_triple())
            };
            let libc = std::fs::metadata(musl_lib_dir(arch).join("libc.a")).map_or_else(
                |_| "none".to_string(),
                |m| {
                    let time = m
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs());
                    format!("{} {time}", m.len())
                },
            );
            let rustc = cargo_bin_dir()
                .map_or_else(|| "none".into(), |bin| version(&bin.join("rustc"), "-V"));
            format!(
                "gcc {}; musl {libc}; {rustc}",
                version(Path::new(&gcc), "-dumpfullversion")
            )
        })
        .clone()
}

/// Finds `program` on the host's PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The directory holding the host's `cargo` (rustup's proxies), if any.
pub fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(found) = which("cargo") {
        return found.parent().map(Path::to_path_buf);
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let bin = home.join("bin");
    is_executable(&bin.join("cargo")).then_some(bin)
}

/// rustup's home on the host, so cargo finds its toolchains when `HOME` is the work dir.
fn rustup_home() -> Option<PathBuf> {
    std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")))
        .filter(|p| p.is_dir())
}

/// Whether rustup has the standard library for `triple` installed.
pub fn rust_target_installed(triple: &str) -> Result<bool, Error> {
    let Some(bin) = cargo_bin_dir() else {
        return Err(Error::MissingTool {
            tool: "cargo".into(),
            install: "install Rust with rustup".into(),
        });
    };
    let rustup = bin.join("rustup");
    let output = std::process::Command::new(if is_executable(&rustup) {
        rustup
    } else {
        "rustup".into()
    })
    .args(["target", "list", "--installed"])
    .output()
    .map_err(|_| Error::MissingTool {
        tool: "rustup".into(),
        install: "install Rust with rustup".into(),
    })?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|l| l.trim() == triple))
}

/// The environment and PATH entries of the toolchain, writing wrappers under `dir`.
pub struct Toolchain {
    pub env: BTreeMap<String, String>,
    pub path: Vec<PathBuf>,
}

/// Sets up compilers for `arch` in `dir` (inside the work directory on the host), which the
/// recipe sees as `visible` (so scripts, variables and PATH name `visible`). `prefix_maps`
/// turn paths the recipe sees into the fixed ones recorded in debug information and Rust
/// panic locations (pairs that are equal are left out).
pub fn prepare(
    arch: Arch,
    dir: &Path,
    visible: &Path,
    prefix_maps: &[(PathBuf, PathBuf)],
) -> Result<Toolchain, Error> {
    let bin = dir.join("bin");
    let visible_bin = visible.join("bin");
    let work = visible.parent().unwrap_or(visible);
    let maps: Vec<&(PathBuf, PathBuf)> = prefix_maps.iter().filter(|(a, b)| a != b).collect();
    let c_maps: Vec<String> = maps
        .iter()
        .map(|(from, to)| format!("-ffile-prefix-map={}={}", from.display(), to.display()))
        .collect();
    let rust_maps: Vec<String> = maps
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={}", from.display(), to.display()))
        .collect();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(&bin).map_err(io(&bin))?;
    let mut env = BTreeMap::new();
    let host_arch = Arch::host();
    c_compiler(arch, dir, visible, &bin)?;
    let cc = visible_bin.join("musl-gcc");
    write_script(
        &bin.join("musl-g++"),
        "echo 'boxwright: C++ against musl needs a musl libstdc++, which Debian does not ship' >&2\nexit 127\n",
    )?;
    env.insert("CC".into(), cc.display().to_string());
    env.insert(
        "CXX".into(),
        visible_bin.join("musl-g++").display().to_string(),
    );
    let cflags = [CFLAGS.to_string()]
        .into_iter()
        .chain(c_maps)
        .collect::<Vec<_>>()
        .join(" ");
    env.insert("CFLAGS".into(), cflags.clone());
    env.insert("CXXFLAGS".into(), cflags);
    env.insert("LDFLAGS".into(), LDFLAGS.into());
    let strip = if host_arch == Some(arch) {
        "strip".to_string()
    } else {
        format!("{}-strip", arch.gnu_triple())
    };
    env.insert("STRIP".into(), strip);

    // Rust: cargo from the host, a private CARGO_HOME, the musl target by default.
    let triple = arch.rust_target();
    env.insert("RUST_TARGET".into(), triple.into());
    env.insert("CARGO_BUILD_TARGET".into(), triple.into());
    env.insert(
        "CARGO_HOME".into(),
        work.join("cargo-home").display().to_string(),
    );
    env.insert(
        "CARGO_TARGET_DIR".into(),
        work.join("cargo-target").display().to_string(),
    );
    env.insert("CARGO_NET_OFFLINE".into(), "true".into());
    if !rust_maps.is_empty() {
        env.insert("RUSTFLAGS".into(), rust_maps.join(" "));
    }
    if let Some(home) = rustup_home() {
        env.insert("RUSTUP_HOME".into(), home.display().to_string());
    }
    // Crates that compile C (the `cc` crate) use the same musl compiler as the recipe.
    let underscored = triple.replace('-', "_");
    env.insert(format!("CC_{underscored}"), cc.display().to_string());
    env.insert(
        format!("AR_{underscored}"),
        if host_arch == Some(arch) {
            "ar".to_string()
        } else {
            format!("{}-ar", arch.gnu_triple())
        },
    );
    // C compiled for the build machine (build scripts) stays with the host's gcc.
    env.insert("HOST_CC".into(), "gcc".into());
    env.insert("HOST_CFLAGS".into(), "-O2".into());
    let var = |what: &str| {
        format!(
            "CARGO_TARGET_{}_{what}",
            triple.to_uppercase().replace('-', "_")
        )
    };
    if host_arch == Some(arch) {
        // The musl compiler links too, as seed 001 sets by hand (a static PIE either way).
        env.insert(var("LINKER"), cc.display().to_string());
    } else {
        let linker = format!("{}-gcc", arch.gnu_triple());
        if which(&linker).is_some() {
            env.insert(var("LINKER"), linker);
        }
        // `cargo test` in a recipe's check() runs the foreign test binaries under qemu.
        if let Some(qemu) = which(arch.qemu()) {
            env.insert(var("RUNNER"), qemu.display().to_string());
        }
    }
    let mut path = vec![visible_bin];
    path.extend(cargo_bin_dir());
    Ok(Toolchain { env, path })
}

/// Writes `bin/musl-gcc`: gcc with the musl specs file, or a script naming what is missing.
/// `dir` is where it is written, `visible` where the recipe sees it.
fn c_compiler(arch: Arch, dir: &Path, visible: &Path, bin: &Path) -> Result<(), Error> {
    let cc = bin.join("musl-gcc");
    let host_arch = Arch::host();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let musl_ready = musl_lib_dir(arch).join("rcrt1.o").is_file();
    // The host's gcc, or the Debian cross gcc for another architecture (with that
    // architecture's musl, e.g. musl-dev:arm64 from a multiarch setup).
    let gcc = if host_arch == Some(arch) {
        "gcc".to_string()
    } else {
        format!("{}-gcc", arch.gnu_triple())
    };
    let kernel = dir.join("kernel-include");
    let have_kernel_headers = kernel_headers(arch, &kernel)?;
    if musl_ready && which(&gcc).is_some() {
        if !have_kernel_headers {
            let package = if host_arch == Some(arch) {
                "linux-libc-dev".to_string()
            } else {
                format!("linux-libc-dev-{}-cross", arch.oci_name())
            };
            return Err(Error::MissingTool {
                tool: format!("Linux kernel headers for {}", arch.name()),
                install: format!("apt-get install {package}"),
            });
        }
        let specs = dir.join("musl.specs");
        std::fs::write(&specs, musl_specs(arch, &visible.join("kernel-include")))
            .map_err(io(&specs))?;
        write_script(
            &cc,
            &format!(
                "exec {gcc} \"$@\" -specs '{}'\n",
                visible.join("musl.specs").display()
            ),
        )?;
    } else {
        let why = if host_arch == Some(arch) {
            "the C toolchain for static musl builds is missing: apt-get install gcc musl-tools"
                .to_string()
        } else {
            format!(
                "no C toolchain for static {arch} musl builds: it needs {gcc} \
                 (apt-get install gcc-{triple}) and musl for {arch} in {lib} (apt-get install \
                 musl-dev:{oci} after dpkg --add-architecture {oci}); Rust targets \
                 cross-compile without them",
                arch = arch.name(),
                triple = arch.gnu_triple(),
                lib = musl_lib_dir(arch).display(),
                oci = arch.oci_name(),
            )
        };
        write_script(&cc, &format!("echo 'boxwright: {why}' >&2\nexit 127\n"))?;
    }
    Ok(())
}

fn write_script(path: &Path, body: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}")).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|source| {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_never_add_a_dynamic_linker_to_static_pie() {
        let specs = musl_specs(Arch::X86_64, Path::new("/w/kernel-include"));
        assert!(specs.contains(
            "-nostdinc -isystem /usr/include/x86_64-linux-musl -isystem /w/kernel-include -isystem include%s"
        ));
        assert!(
            specs.contains("%{!static:%{!static-pie:-dynamic-linker /lib/ld-musl-x86_64.so.1}}")
        );
        assert!(specs.contains("%{static-pie:/usr/lib/x86_64-linux-musl/rcrt1.o;"));
        assert!(specs.contains("--no-dynamic-linker"));
    }
}
