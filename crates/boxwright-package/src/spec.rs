//! What goes into a package: its fields ([`PackageSpec`]) and its files ([`Entry`]), read from
//! a target's output tree and split into subpackages by globs ([`split_tree`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::PackageError;

/// An install script, by apk's name. deb maintainer scripts: `pre-install` and `pre-upgrade`
/// → `preinst`, `post-install` and `post-upgrade` → `postinst`, `pre-deinstall` → `prerm`,
/// `post-deinstall` → `postrm` (the upgrade variants run when `$1` is `upgrade`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Script {
    PreInstall,
    PostInstall,
    PreUpgrade,
    PostUpgrade,
    PreDeinstall,
    PostDeinstall,
}

impl Script {
    /// All scripts, in metadata order.
    pub const ALL: [Script; 6] = [
        Script::PreInstall,
        Script::PostInstall,
        Script::PreUpgrade,
        Script::PostUpgrade,
        Script::PreDeinstall,
        Script::PostDeinstall,
    ];

    /// The metadata key (`post-install`); apk's file name is this with a leading dot.
    pub fn key(self) -> &'static str {
        match self {
            Script::PreInstall => "pre-install",
            Script::PostInstall => "post-install",
            Script::PreUpgrade => "pre-upgrade",
            Script::PostUpgrade => "post-upgrade",
            Script::PreDeinstall => "pre-deinstall",
            Script::PostDeinstall => "post-deinstall",
        }
    }

    /// The script for a metadata key.
    pub fn from_key(key: &str) -> Option<Script> {
        Script::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Installed path without the leading `/` (`usr/bin/hello`).
    pub path: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory (parents of files get entries of their own anyway).
    Dir,
    /// A regular file read from `source`; mode 0755 when executable, else 0644.
    File { source: PathBuf, executable: bool },
    /// A symbolic link, its target as written.
    Symlink { target: String },
    /// A regular file with the given content (files made at packaging time).
    Content { data: Vec<u8>, executable: bool },
}

/// The fields and files of one package to write.
#[derive(Debug, Clone, Default)]
pub struct PackageSpec {
    pub name: String,
    /// The upstream version (`1.2.3`); the revision is added per format.
    pub version: String,
    /// `-r<N>` (apk) / `-<N>` (deb).
    pub revision: u32,
    /// Either spelling (`x86_64`/`amd64`, `aarch64`/`arm64`, `noarch`/`all`).
    pub arch: String,
    pub description: String,
    pub url: String,
    pub license: String,
    pub maintainer: String,
    pub depends: Vec<String>,
    pub provides: Vec<String>,
    /// Absolute installed paths of configuration files.
    pub conffiles: Vec<String>,
    pub scripts: BTreeMap<Script, String>,
    /// The main package's name (apk `origin`, deb `Source`).
    pub origin: String,
    /// mtime of every entry and apk's `builddate`.
    pub source_date_epoch: u64,
    /// Files, in any order (written sorted, parents first).
    pub entries: Vec<Entry>,
}

/// The main package's entries and each subpackage's (by suffix), from [`split_tree`].
pub type SplitTree = (Vec<Entry>, BTreeMap<String, Vec<Entry>>);

/// The entries of `tree` installed under `prefix` (`/usr`: `tree/bin/x` → `usr/bin/x`),
/// split by `subpackages` (suffix → globs over paths relative to `tree`; the first suffix
/// in name order whose glob matches takes a file). Returns the main package's entries and
/// each subpackage's, sorted by path. Hard links are stored as copies; other special files
/// are refused.
pub fn split_tree(
    tree: &Path,
    prefix: &str,
    subpackages: &BTreeMap<String, Vec<String>>,
) -> Result<SplitTree, PackageError> {
    let prefix = prefix.trim_matches('/');
    let patterns: Vec<(&String, Vec<Glob>)> = subpackages
        .iter()
        .map(|(suffix, globs)| {
            globs
                .iter()
                .map(|g| Glob::new(g))
                .collect::<Result<Vec<_>, _>>()
                .map(|g| (suffix, g))
        })
        .collect::<Result<_, _>>()?;
    let mut main = Vec::new();
    let mut split: BTreeMap<String, Vec<Entry>> = subpackages
        .keys()
        .map(|k| (k.clone(), Vec::new()))
        .collect();
    for item in walkdir::WalkDir::new(tree)
        .min_depth(1)
        .sort_by_file_name()
        .follow_links(false)
    {
        let item = item.map_err(|e| {
            let path = e.path().unwrap_or(tree).to_path_buf();
            PackageError::io("read", &path, e.into())
        })?;
        let relative = item
            .path()
            .strip_prefix(tree)
            .expect("walkdir yields paths below its root")
            .to_str()
            .ok_or_else(|| PackageError::InvalidField {
                field: "file name",
                value: item.path().display().to_string(),
                reason: "not UTF-8".into(),
            })?
            .to_string();
        let file_type = item.file_type();
        let kind = if file_type.is_dir() {
            // Parents of files get entries anyway; only an empty directory needs its own.
            let mut children = std::fs::read_dir(item.path())
                .map_err(|e| PackageError::io("read", item.path(), e))?;
            if children.next().is_some() {
                continue;
            }
            EntryKind::Dir
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(item.path())
                .map_err(|e| PackageError::io("read the link", item.path(), e))?;
            EntryKind::Symlink {
                target: target.to_string_lossy().into_owned(),
            }
        } else if file_type.is_file() {
            use std::os::unix::fs::PermissionsExt;
            let meta = item
                .metadata()
                .map_err(|e| PackageError::io("read", item.path(), e.into()))?;
            EntryKind::File {
                source: item.path().to_path_buf(),
                executable: meta.permissions().mode() & 0o111 != 0,
            }
        } else {
            return Err(PackageError::InvalidField {
                field: "file",
                value: item.path().display().to_string(),
                reason: "neither a regular file, a directory nor a symbolic link".into(),
            });
        };
        let path = if prefix.is_empty() {
            relative.clone()
        } else {
            format!("{prefix}/{relative}")
        };
        let entry = Entry { path, kind };
        let owner = patterns
            .iter()
            .find(|(_, globs)| globs.iter().any(|g| g.matches(&relative)))
            .map(|(suffix, _)| (*suffix).clone());
        match owner {
            Some(suffix) => split.get_mut(&suffix).expect("keys made above").push(entry),
            None => main.push(entry),
        }
    }
    Ok((main, split))
}

/// The paths of `entries` with every parent directory, sorted so a directory comes before
/// its contents: (path, entry or `None` for an implied directory).
pub(crate) fn with_parents(entries: &[Entry]) -> Vec<(String, Option<&Entry>)> {
    let mut all: BTreeMap<String, Option<&Entry>> = BTreeMap::new();
    for entry in entries {
        let mut parent = entry.path.as_str();
        while let Some((dir, _)) = parent.rsplit_once('/') {
            all.entry(dir.to_string()).or_insert(None);
            parent = dir;
        }
        all.insert(entry.path.clone(), Some(entry));
    }
    // Sorting by path components puts `a/` before `a/b` and `a-b`: compare with '/' lowest.
    let mut list: Vec<_> = all.into_iter().collect();
    list.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    list
}

/// A path glob: `*` matches within one path component, `?` one character, `**` any number of
/// components (`share/doc/**` matches everything below `share/doc`, `**/*.h` every header).
#[derive(Debug, Clone)]
pub struct Glob {
    parts: Vec<String>,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, PackageError> {
        let trimmed = pattern.trim_start_matches("./").trim_matches('/');
        if trimmed.is_empty() || trimmed.split('/').any(|p| p.is_empty() || p == "..") {
            return Err(PackageError::InvalidGlob {
                pattern: pattern.to_string(),
                reason: "empty, `..` or `//` components".into(),
            });
        }
        if trimmed.split('/').any(|p| p.contains("**") && p != "**") {
            return Err(PackageError::InvalidGlob {
                pattern: pattern.to_string(),
                reason: "`**` must be a whole path component".into(),
            });
        }
        Ok(Glob {
            parts: trimmed.split('/').map(str::to_string).collect(),
        })
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub fn matches(&self, path: &str) -> bool {
        let components: Vec<&str> = path.split('/').collect();
        match_parts(&self.parts, &components)
    }
}

fn match_parts(parts: &[String], path: &[&str]) -> bool {
    match parts.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            // `dir/**` matches `dir` itself too, so the directory entry goes along.
            (0..=path.len()).any(|skip| match_parts(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((component, path_rest)) => {
                match_component(first.as_bytes(), component.as_bytes())
                    && match_parts(rest, path_rest)
            }
            None => false,
        },
    }
}

fn match_component(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| match_component(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && match_component(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && match_component(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_apkbuild_subpackages() {
        let doc = Glob::new("share/doc/**").unwrap();
        assert!(doc.matches("share/doc"));
        assert!(doc.matches("share/doc/hello/README"));
        assert!(!doc.matches("share/docs/x"));
        let headers = Glob::new("**/*.h").unwrap();
        assert!(headers.matches("include/a.h"));
        assert!(headers.matches("a.h"));
        assert!(!headers.matches("include/a.c"));
        assert!(Glob::new("lib/lib?.a").unwrap().matches("lib/libz.a"));
        assert!(Glob::new("../x").is_err());
        assert!(Glob::new("a**").is_err());
        assert!(Glob::new("").is_err());
    }

    #[test]
    fn split_moves_matched_files_and_keeps_parents_implied() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("share/doc/hello")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("bin/hello"), "x").unwrap();
        std::fs::write(root.join("share/doc/hello/README"), "r").unwrap();
        std::os::unix::fs::symlink("hello", root.join("bin/hi")).unwrap();
        let subpackages = BTreeMap::from([("doc".to_string(), vec!["share/doc/**".to_string()])]);
        let (main, split) = split_tree(root, "/usr", &subpackages).unwrap();
        let main_paths: Vec<_> = main.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(main_paths, ["usr/bin/hello", "usr/bin/hi", "usr/empty"]);
        let doc: Vec<_> = split["doc"].iter().map(|e| e.path.as_str()).collect();
        assert_eq!(doc, ["usr/share/doc/hello/README"]);
        let listed: Vec<_> = with_parents(&main).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            listed,
            ["usr", "usr/bin", "usr/bin/hello", "usr/bin/hi", "usr/empty"]
        );
    }
}
