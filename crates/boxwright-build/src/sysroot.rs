//! The sysroot a dependent recipe builds against: its build dependencies' outputs merged into
//! one directory (`include/`, `lib/`, `lib/pkgconfig/`), with pkg-config files rewritten so
//! their absolute paths point into it. Library targets install with prefix `/`, so an
//! absolute path in their `.pc` files names a place in their own output.

use std::fmt::Write as _;
use std::path::Path;

use crate::Error;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io { path, source }
}

/// Merges `outputs` (in order; a later file replaces an earlier one of the same path) into
/// `sysroot`, then rewrites its `.pc` files to point at `visible` (where the recipe sees the
/// sysroot). `include/`, `lib/pkgconfig/` always exist.
pub fn assemble(sysroot: &Path, visible: &Path, outputs: &[&Path]) -> Result<(), Error> {
    for dir in ["include", "lib/pkgconfig"] {
        let path = sysroot.join(dir);
        std::fs::create_dir_all(&path).map_err(io(&path))?;
    }
    for output in outputs {
        copy_into(output, sysroot)?;
    }
    for dir in ["lib/pkgconfig", "share/pkgconfig"] {
        let Ok(entries) = std::fs::read_dir(sysroot.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.map_err(io(&sysroot.join(dir)))?.path();
            if path.extension().is_some_and(|e| e == "pc") && path.is_file() {
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                let rewritten = rewrite_pc(&text, &visible.display().to_string());
                std::fs::remove_file(&path).map_err(io(&path))?;
                std::fs::write(&path, rewritten).map_err(io(&path))?;
            }
        }
    }
    Ok(())
}

/// Copies the tree `from` (files, directories, symlinks as links) into `to`, replacing files
/// of the same path.
pub(crate) fn copy_into(from: &Path, to: &Path) -> Result<(), Error> {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io {
            path: from.to_path_buf(),
            source: std::io::Error::from(e),
        })?;
        let target = to.join(entry.path().strip_prefix(from).expect("below root"));
        let kind = entry.file_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(io(&target))?;
            continue;
        }
        if target.symlink_metadata().is_ok() {
            std::fs::remove_file(&target).map_err(io(&target))?;
        }
        if kind.is_symlink() {
            let link = std::fs::read_link(entry.path()).map_err(io(entry.path()))?;
            std::os::unix::fs::symlink(link, &target).map_err(io(&target))?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(io(&target))?;
        }
    }
    Ok(())
}

/// Points a pkg-config file at `sysroot`: variable definitions holding an absolute path
/// (`prefix=/`, `libdir=/lib`) get the sysroot in front, as do literal `-I/` and `-L/`
/// flags in `Cflags:` and `Libs:` fields.
pub fn rewrite_pc(text: &str, sysroot: &str) -> String {
    let sysroot = sysroot.trim_end_matches('/');
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        let variable = line
            .find('=')
            .filter(|&i| {
                i > 0
                    && line[..i]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            })
            .filter(|_| !line.contains(':') || line.find('=') < line.find(':'));
        if let Some(i) = variable {
            let (name, value) = (&line[..i], line[i + 1..].trim());
            if value == "/" {
                let _ = write!(out, "{name}={sysroot}");
            } else if value.starts_with('/') && !value.starts_with(sysroot) {
                let _ = write!(out, "{name}={sysroot}{value}");
            } else {
                out.push_str(line);
            }
        } else if line.starts_with("Cflags") || line.starts_with("Libs") {
            let tokens: Vec<String> = line
                .split(' ')
                .map(|token| match token.get(..3) {
                    Some(flag @ ("-I/" | "-L/")) if !token[2..].starts_with(sysroot) => {
                        format!("{}{sysroot}{}", &flag[..2], &token[2..])
                    }
                    _ => token.to_string(),
                })
                .collect();
            out.push_str(&tokens.join(" "));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pc_files_point_into_the_sysroot() {
        let pc = "prefix=/\nexec_prefix=${prefix}\nlibdir=/lib\nincludedir=${prefix}/include\n\n\
                  Name: zlib\nVersion: 1.2.13\nLibs: -L${libdir} -lz\nCflags: -I${includedir} -I/include/extra\n";
        let out = rewrite_pc(pc, "/w/sysroot/");
        assert!(out.contains("prefix=/w/sysroot\n"), "{out}");
        assert!(out.contains("exec_prefix=${prefix}\n"), "{out}");
        assert!(out.contains("libdir=/w/sysroot/lib\n"), "{out}");
        assert!(
            out.contains("Cflags: -I${includedir} -I/w/sysroot/include/extra\n"),
            "{out}"
        );
        assert!(
            out.contains("Name: zlib\n") && out.contains("Libs: -L${libdir} -lz\n"),
            "{out}"
        );
        assert_eq!(
            rewrite_pc(&out, "/w/sysroot"),
            out,
            "rewriting twice changes nothing"
        );
    }

    #[test]
    fn outputs_merge_and_pc_files_are_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        for (root, lib) in [(&a, "liba.a"), (&b, "libb.a")] {
            std::fs::create_dir_all(root.join("lib/pkgconfig")).unwrap();
            std::fs::write(root.join("lib").join(lib), b"!<arch>\n").unwrap();
        }
        std::fs::write(
            a.join("lib/pkgconfig/a.pc"),
            "prefix=/\nLibs: -L${prefix}/lib -la\n",
        )
        .unwrap();
        std::os::unix::fs::symlink("libb.a", b.join("lib/libb2.a")).unwrap();
        let sysroot = dir.path().join("sysroot");
        assemble(&sysroot, &sysroot, &[&a, &b]).unwrap();
        assert!(sysroot.join("lib/liba.a").is_file() && sysroot.join("lib/libb.a").is_file());
        assert_eq!(
            std::fs::read_link(sysroot.join("lib/libb2.a")).unwrap(),
            Path::new("libb.a")
        );
        assert!(sysroot.join("include").is_dir());
        let pc = std::fs::read_to_string(sysroot.join("lib/pkgconfig/a.pc")).unwrap();
        assert!(
            pc.starts_with(&format!("prefix={}\n", sysroot.display())),
            "{pc}"
        );
        // The dependency's own output is untouched.
        assert_eq!(
            std::fs::read_to_string(a.join("lib/pkgconfig/a.pc")).unwrap(),
            "prefix=/\nLibs: -L${prefix}/lib -la\n"
        );
    }
}
