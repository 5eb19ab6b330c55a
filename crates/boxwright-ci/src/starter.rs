//! `boxwright init`: the files of a starter project. One target that builds a static hello
//! world from C source kept beside its recipe (no download, so nothing to invent a URL for),
//! a `.gitignore` for boxwright's work directories, and optionally the CI files of
//! [`generate`](crate::generate) for the starter's metadata.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use boxwright_archive::AtomicFile;
use boxwright_metadata::Metadata;
use serde::Serialize;

use crate::{Error, GeneratedFile, Options, Provider, Result};

/// The starter's version, in `env.<NAME>_VERSION`.
pub const STARTER_VERSION: &str = "0.1.0";

/// One file of the starter, relative to the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StarterFile {
    pub path: String,
    #[serde(skip)]
    pub contents: String,
    /// Whether the file is executable (the recipe).
    pub executable: bool,
}

/// A target name made of the directory's name: characters outside `[A-Za-z0-9._-]` become
/// `-`, and a name that does not start with a letter or digit gets `app-` in front; an empty
/// one is `app`.
pub fn target_name(directory_name: &str) -> String {
    let mapped: String = directory_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    match trimmed.chars().next() {
        None => "app".into(),
        Some(c) if c.is_ascii_alphanumeric() => trimmed.into(),
        Some(_) => format!("app-{trimmed}"),
    }
}

/// The starter's files for target `name`, with `provider`'s CI files when given. The
/// metadata is parsed back (so a name metadata.json refuses is refused here, by the same
/// check) before the CI files are generated from it.
pub fn files(name: &str, ci: Option<Provider>, options: &Options) -> Result<Vec<StarterFile>> {
    let metadata_text = metadata_json(name);
    let metadata = Metadata::parse(Path::new("metadata.json"), &metadata_text, &|_| None).map_err(
        |source| Error::Starter {
            name: name.to_string(),
            source: Box::new(source),
        },
    )?;
    let mut files = vec![
        text("metadata.json", metadata_text),
        text(".gitignore", GITIGNORE.to_string()),
        text(&format!("{name}/main.c"), MAIN_C.to_string()),
        StarterFile {
            executable: true,
            ..text(&format!("{name}/build.sh"), RECIPE.replace("@NAME@", name))
        },
    ];
    if let Some(provider) = ci {
        let generated = crate::generate(&metadata, provider, options)?;
        files.extend(
            generated
                .into_iter()
                .map(|GeneratedFile { path, contents }| text(&path, contents)),
        );
    }
    Ok(files)
}

/// Writes `files` under `root` (created if missing). Files that exist are refused, all named,
/// before anything is written, unless `force`; a failure midway removes the files this call
/// created. Returns the paths written.
pub fn write(root: &Path, files: &[StarterFile], force: bool) -> Result<Vec<PathBuf>> {
    let existing: Vec<String> = files
        .iter()
        .filter(|f| root.join(&f.path).symlink_metadata().is_ok())
        .map(|f| f.path.clone())
        .collect();
    if !force && !existing.is_empty() {
        return Err(Error::Exists {
            root: root.to_path_buf(),
            paths: existing,
        });
    }
    let mut created = Vec::new();
    let mut written = Vec::new();
    for file in files {
        let path = root.join(&file.path);
        let new = !existing.contains(&file.path);
        if let Err(error) = write_one(&path, file) {
            for path in &created {
                let _ = std::fs::remove_file(path);
            }
            return Err(error);
        }
        if new {
            created.push(path.clone());
        }
        written.push(path);
    }
    Ok(written)
}

fn write_one(path: &Path, file: &StarterFile) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    let mut atomic = AtomicFile::create(path).map_err(|e| Error::io("write", path, e))?;
    atomic
        .write_all(file.contents.as_bytes())
        .and_then(|()| atomic.commit().map(drop))
        .map_err(|e| Error::io("write", path, e))?;
    // The committed file is 0644; the recipe is made executable once in place.
    if file.executable {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io("make executable", path, e))?;
    }
    Ok(())
}

fn text(path: &str, contents: String) -> StarterFile {
    StarterFile {
        path: path.to_string(),
        contents,
        executable: false,
    }
}

/// `NAME_VERSION` for target `name`: upper case, other characters as `_`.
fn version_variable(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{upper}_VERSION")
}

fn metadata_json(name: &str) -> String {
    let variable = version_variable(name);
    let value = serde_json::json!({
        "x-notes": "A starter from `boxwright init`. Sources to download go in the target's `downloads` (url, name, sha256): see docs/metadata.md in boxwright's repository.",
        name: {
            "tag_prefix": name,
            "version_env_var": variable,
            "release_files": [format!("bin/{name}")],
            "env": { variable.clone(): STARTER_VERSION },
            "verify": {
                "static": true,
                "pie": true,
                "stripped": true,
                "relro": true,
                "nx": true,
                "smoke": [format!("bin/{name}"), "--version"]
            },
            "x-notes": format!("a C program (`{name}/main.c`) built by `{name}/build.sh` as a hardened static PIE")
        }
    });
    let mut text = serde_json::to_string_pretty(&value).expect("JSON values serialise");
    text.push('\n');
    text
}

const GITIGNORE: &str =
    "# boxwright's downloads and work directories, and its outputs\n.tmp/\n.cache/\n.out/\n";

const MAIN_C: &str = r#"#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", NAME, VERSION);
		return 0;
	}
	printf("hello from %s\n", NAME);
	return 0;
}
"#;

const RECIPE: &str = r#"# Recipe of the `@NAME@` target. boxwright runs build(), check() and package() in a sandbox
# with CC (musl gcc), CFLAGS and LDFLAGS set for a hardened static PIE; TARGETDIR is this
# directory (read-only), DESTDIR what gets published to .out/@NAME@/.

build() {
	"$CC" $CPPFLAGS $CFLAGS -DNAME='"@NAME@"' -DVERSION="\"$VERSION\"" \
		-o @NAME@ "$TARGETDIR/main.c" $LDFLAGS
}

check() {
	./@NAME@ --version | grep -qx "@NAME@ $VERSION"
}

package() {
	install -D -m 0755 @NAME@ "$DESTDIR/bin/@NAME@"
	"$STRIP" "$DESTDIR/bin/@NAME@"
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            boxwright_version: "0.1.0".into(),
        }
    }

    #[test]
    fn names_from_directories() {
        assert_eq!(target_name("hello"), "hello");
        assert_eq!(target_name("My Tool!"), "My-Tool");
        assert_eq!(target_name(".hidden"), "app-.hidden");
        assert_eq!(target_name("ü"), "app");
        assert_eq!(version_variable("my-tool.x"), "MY_TOOL_X_VERSION");
    }

    #[test]
    fn the_starter_parses_and_brings_ci_files() {
        let files = files("tool", Some(Provider::Github), &options()).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"tool/build.sh"), "{paths:?}");
        assert!(
            paths.iter().any(|p| p.starts_with(".github/workflows/")),
            "{paths:?}"
        );
        let recipe = files.iter().find(|f| f.path == "tool/build.sh").unwrap();
        assert!(recipe.executable && recipe.contents.contains("\"$DESTDIR/bin/tool\""));
        assert!(super::files("bad name", None, &options()).is_err());
    }

    #[test]
    fn existing_files_are_refused_all_named_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let starter = files("tool", None, &options()).unwrap();
        std::fs::write(dir.path().join("metadata.json"), "{}").unwrap();
        std::fs::write(dir.path().join(".gitignore"), "x").unwrap();
        let error = write(dir.path(), &starter, false).unwrap_err().to_string();
        assert!(
            error.contains("metadata.json") && error.contains(".gitignore"),
            "{error}"
        );
        assert!(!dir.path().join("tool").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
            "x"
        );

        let written = write(dir.path(), &starter, true).unwrap();
        assert_eq!(written.len(), starter.len());
        let mode = std::fs::metadata(dir.path().join("tool/build.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }
}
