//! `image.services` → s6's layout: `/etc/services.d/<name>/run`, an execline script
//! (`#!<execlineb> -P`, then the command, every word double-quoted), and the entrypoint
//! `<s6-svscan> /etc/services.d`.
//!
//! `execlineb` and `s6-svscan` are looked up in the installed tree: Debian's execline has
//! `/usr/bin/execlineb` (a wrapper script over `/usr/lib/execline/bin/execlineb`) and s6
//! `/usr/bin/s6-svscan`; Alpine's and static builds put them in `/bin` or `/command`.
//!
//! s6-svscan creates `.s6-svscan/` in the scan directory, and s6-supervise `supervise/` and
//! `event/` in every service directory. When the image runs as `run_as`, the scan directory
//! and the service directories belong to that user, so it can; `run` itself stays root's.

use boxwright_metadata::{Services, User};

use crate::Error;
use crate::generated::GeneratedEntry;
use crate::tree::TreeIndex;

/// The scan directory.
pub const SCAN_DIR: &str = "/etc/services.d";

/// Where programs are looked for, in order, before any other directory of the tree.
const SEARCH_DIRS: &[&str] = &[
    "usr/local/sbin",
    "usr/local/bin",
    "usr/sbin",
    "usr/bin",
    "sbin",
    "bin",
    "command",
    "usr/lib/execline/bin",
];

/// The service files and the entrypoint that starts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFiles {
    pub entries: Vec<GeneratedEntry>,
    /// `["<s6-svscan>", "/etc/services.d"]`.
    pub entrypoint: Vec<String>,
}

/// The s6 layout of `services` over the installed `tree`, writable by `run_as`.
pub fn services(
    services: &Services,
    run_as: Option<&User>,
    tree: &TreeIndex,
) -> Result<ServiceFiles, Error> {
    let execlineb = find_program(tree, "execlineb").ok_or(Error::MissingSupervisor {
        program: "execlineb",
        package: "execline",
    })?;
    let svscan = find_program(tree, "s6-svscan").ok_or(Error::MissingSupervisor {
        program: "s6-svscan",
        package: "s6",
    })?;
    let owner = run_as.map_or((0, 0), |user| (user.uid, user.gid));
    let mut entries = vec![GeneratedEntry::directory(SCAN_DIR, 0o755, owner)];
    for (name, command) in services {
        let dir = format!("{SCAN_DIR}/{name}");
        entries.push(GeneratedEntry::directory(&dir, 0o755, owner));
        entries.push(GeneratedEntry::file(
            &format!("{dir}/run"),
            run_script(&execlineb, command).into_bytes(),
            0o755,
            (0, 0),
        ));
    }
    Ok(ServiceFiles {
        entries,
        entrypoint: vec![svscan, SCAN_DIR.to_string()],
    })
}

/// `#!<execlineb> -P` and the command, each word quoted.
pub fn run_script(execlineb: &str, command: &[String]) -> String {
    let words: Vec<String> = command.iter().map(|word| quote(word)).collect();
    format!("#!{execlineb} -P\n{}\n", words.join(" "))
}

/// One word as an execline string: in double quotes, with `\` and `"` escaped. Inside
/// quotes execlineb takes everything else literally (`{`, `}`, `#`, `$`, spaces, newlines),
/// and with `-P` it substitutes nothing.
pub fn quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The absolute path of an executable `name` in the tree: the first of [`SEARCH_DIRS`] that
/// has it, else the first path (in name order) ending in `/name`.
pub fn find_program(tree: &TreeIndex, name: &str) -> Option<String> {
    let found = |path: &str| tree.executable(path).is_ok();
    SEARCH_DIRS
        .iter()
        .map(|dir| format!("/{dir}/{name}"))
        .find(|path| found(path))
        .or_else(|| {
            tree.paths()
                .filter(|path| path.rsplit('/').next() == Some(name))
                .map(|path| format!("/{path}"))
                .find(|path| found(path))
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::tree::{Node, NodeKind};

    fn debian_tree() -> TreeIndex {
        let mut tree = TreeIndex::new();
        let dir = Node {
            kind: NodeKind::Directory,
            mode: 0o755,
            uid: 0,
            gid: 0,
        };
        for path in [
            "usr",
            "usr/bin",
            "usr/lib",
            "usr/lib/execline",
            "usr/lib/execline/bin",
        ] {
            tree.insert(path, dir.clone());
        }
        for path in [
            "usr/bin/execlineb",
            "usr/lib/execline/bin/execlineb",
            "usr/bin/s6-svscan",
        ] {
            tree.insert(
                path,
                Node {
                    kind: NodeKind::File,
                    ..dir.clone()
                },
            );
        }
        tree
    }

    #[test]
    fn run_scripts_quote_every_word() {
        let command: Vec<String> = [
            "/bin/busybox",
            "httpd",
            "-h",
            "/srv",
            "a \"b\" \\c",
            "{",
            "#x",
            "$HOME",
            "",
        ]
        .map(str::to_string)
        .to_vec();
        assert_eq!(
            run_script("/usr/bin/execlineb", &command),
            "#!/usr/bin/execlineb -P\n\"/bin/busybox\" \"httpd\" \"-h\" \"/srv\" \
             \"a \\\"b\\\" \\\\c\" \"{\" \"#x\" \"$HOME\" \"\"\n"
        );
    }

    #[test]
    fn services_use_the_installed_supervisor_and_belong_to_run_as() {
        let declared: Services = BTreeMap::from([(
            "httpd".to_string(),
            vec![
                "/bin/busybox".to_string(),
                "httpd".to_string(),
                "-f".to_string(),
            ],
        )]);
        let user = User {
            name: "web".into(),
            uid: 1000,
            gid: 1001,
            home: None,
            shell: None,
        };
        let files = services(&declared, Some(&user), &debian_tree()).unwrap();
        assert_eq!(files.entrypoint, ["/usr/bin/s6-svscan", "/etc/services.d"]);
        let paths: Vec<(&str, u32, u32, u32)> = files
            .entries
            .iter()
            .map(|e| (e.path.as_str(), e.mode, e.uid, e.gid))
            .collect();
        assert_eq!(
            paths,
            [
                ("/etc/services.d", 0o755, 1000, 1001),
                ("/etc/services.d/httpd", 0o755, 1000, 1001),
                ("/etc/services.d/httpd/run", 0o755, 0, 0),
            ]
        );
        assert!(
            files.entries[2]
                .contents()
                .unwrap()
                .starts_with(b"#!/usr/bin/execlineb -P\n\"/bin/busybox\"")
        );
        let err = services(&declared, None, &TreeIndex::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`execlineb`") && err.contains("install execline"),
            "{err}"
        );
    }

    #[test]
    fn programs_elsewhere_are_found() {
        let mut tree = TreeIndex::new();
        let dir = Node {
            kind: NodeKind::Directory,
            mode: 0o755,
            uid: 0,
            gid: 0,
        };
        tree.insert("opt", dir.clone());
        tree.insert("opt/s6", dir.clone());
        tree.insert(
            "opt/s6/execlineb",
            Node {
                kind: NodeKind::File,
                ..dir
            },
        );
        assert_eq!(
            find_program(&tree, "execlineb").as_deref(),
            Some("/opt/s6/execlineb")
        );
        assert_eq!(find_program(&tree, "s6-svscan"), None);
    }
}
