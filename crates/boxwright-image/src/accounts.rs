//! `image.accounts` → `/etc/passwd`, `/etc/group`, `/etc/shadow` and home directories,
//! merged over what the installed packages ship.
//!
//! The starting point is the image's own `/etc/passwd` and `/etc/group` when a package ships
//! them (alpine-baselayout does), else Debian base-passwd's `passwd.master`/`group.master`
//! (its postinst, which copies them, is not run), else `root` alone. Entries found there keep
//! their order and text; declared users and groups replace an entry of the same name and are
//! appended otherwise. A declared id used by an entry of another name is an error. A user
//! whose primary gid has no group gets a group of the user's name. Passwords are `x` in
//! passwd and locked in shadow: the master's `*`, or `!` for everything else. `/etc/shadow`
//! is mode 0640, group `shadow` when the image has that group, else root.
//!
//! Home directories the image lacks are made, mode 0755, owned by their user; existing ones
//! are left as the packages ship them (as `useradd -m` does). `/` and `/nonexistent` are
//! never made.
//!
//! The config's `User` is `run_as` as `uid:gid`, not the name: runtimes then need no
//! `/etc/passwd` lookup, and Kubernetes' `runAsNonRoot` can only check a numeric user.

use boxwright_metadata::Accounts;

use crate::Error;
use crate::generated::GeneratedEntry;
use crate::tree::TreeIndex;

/// The account files, home directories and the config's `User`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFiles {
    /// `/etc/passwd`, `/etc/group`, `/etc/shadow` and the homes to make.
    pub entries: Vec<GeneratedEntry>,
    /// `uid:gid` of `run_as`.
    pub user: Option<String>,
}

/// One line of a colon-separated database, split into fields.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    fields: Vec<String>,
}

impl Line {
    fn parse(text: &str, width: usize) -> Option<Line> {
        let text = text.trim_end_matches('\r');
        if text.is_empty() || text.starts_with('#') {
            return None;
        }
        let mut fields: Vec<String> = text.split(':').map(str::to_string).collect();
        if fields.len() < width {
            fields.resize(width, String::new());
        }
        Some(Line { fields })
    }

    fn name(&self) -> &str {
        &self.fields[0]
    }

    fn id(&self) -> Option<u32> {
        self.fields[2].parse().ok()
    }
}

/// A database as a list of lines, read from the first source the tree has.
fn read(tree: &TreeIndex, sources: &[&str], width: usize) -> (Vec<Line>, bool) {
    for (i, source) in sources.iter().enumerate() {
        if let Some(bytes) = tree.contents(source) {
            let lines = String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|line| Line::parse(line, width))
                .collect();
            return (lines, i > 0);
        }
    }
    (Vec::new(), false)
}

/// Puts `line` in place of the entry of its name, or appends it; an entry of another name
/// with its id is an error.
fn merge(lines: &mut Vec<Line>, line: Line, what: &str) -> Result<(), Error> {
    if let Some(other) = lines
        .iter()
        .find(|l| l.name() != line.name() && l.id() == line.id())
    {
        return Err(Error::Account {
            message: format!(
                "{what} `{}` has id {}, which the image's `{}` already uses",
                line.name(),
                line.fields[2],
                other.name()
            ),
        });
    }
    match lines.iter_mut().find(|l| l.name() == line.name()) {
        Some(slot) => *slot = line,
        None => lines.push(line),
    }
    Ok(())
}

fn text(lines: &[Line]) -> Vec<u8> {
    let mut out = String::new();
    for line in lines {
        out.push_str(&line.fields.join(":"));
        out.push('\n');
    }
    out.into_bytes()
}

fn line(fields: &[&str]) -> Line {
    Line {
        fields: fields.iter().map(ToString::to_string).collect(),
    }
}

/// The three databases being merged, and the shadow password of every passwd entry.
struct Databases {
    passwd: Vec<Line>,
    group: Vec<Line>,
    shadow: Vec<Line>,
    /// User name → the password its new shadow line gets.
    locked: Vec<(String, String)>,
}

impl Databases {
    /// What the installed tree ships (see the module documentation).
    fn read(tree: &TreeIndex) -> Databases {
        let (mut passwd, from_master) = read(
            tree,
            &["etc/passwd", "usr/share/base-passwd/passwd.master"],
            7,
        );
        let (mut group, _) = read(
            tree,
            &["etc/group", "usr/share/base-passwd/group.master"],
            4,
        );
        let (shadow, _) = read(tree, &["etc/shadow"], 9);
        if passwd.is_empty() {
            passwd.push(line(&["root", "x", "0", "0", "root", "/root", "/bin/sh"]));
        }
        if group.is_empty() {
            group.push(line(&["root", "x", "0", ""]));
        }
        for entry in &mut group {
            entry.fields[1] = "x".into();
        }
        // The master's password field (`*`) goes to shadow; passwd says `x`.
        let mut locked = Vec::new();
        for entry in &mut passwd {
            let password = std::mem::replace(&mut entry.fields[1], "x".into());
            let kept = if from_master && !password.is_empty() && password != "x" {
                password
            } else {
                "!".into()
            };
            locked.push((entry.name().to_string(), kept));
        }
        Databases {
            passwd,
            group,
            shadow,
            locked,
        }
    }

    fn add_group(&mut self, declared: &boxwright_metadata::Group) -> Result<(), Error> {
        let members = merged_members(&self.group, &declared.name, &declared.members);
        let gid = declared.gid.to_string();
        merge(
            &mut self.group,
            line(&[&declared.name, "x", &gid, &members]),
            "group",
        )
    }

    fn add_user(&mut self, user: &boxwright_metadata::User) -> Result<(), Error> {
        let (uid, gid) = (user.uid.to_string(), user.gid.to_string());
        merge(
            &mut self.passwd,
            line(&[
                &user.name,
                "x",
                &uid,
                &gid,
                &user.name,
                &user.home(),
                user.shell(),
            ]),
            "user",
        )?;
        self.locked.retain(|(name, _)| *name != user.name);
        self.locked.push((user.name.clone(), "!".into()));
        // The user's own shadow line replaces one the image had.
        self.shadow.retain(|l| l.name() != user.name);
        if self.group.iter().any(|g| g.id() == Some(user.gid)) {
            return Ok(());
        }
        if let Some(named) = self.group.iter().find(|g| g.name() == user.name) {
            return Err(Error::Account {
                message: format!(
                    "user `{}` has gid {gid}, which no group has, and group `{}` has gid {}",
                    user.name,
                    named.name(),
                    named.fields[2]
                ),
            });
        }
        merge(&mut self.group, line(&[&user.name, "x", &gid, ""]), "group")
    }

    /// The three files: shadow lines added for passwd entries that have none.
    fn files(mut self) -> Vec<GeneratedEntry> {
        for (name, password) in std::mem::take(&mut self.locked) {
            if !self.shadow.iter().any(|l| l.name() == name) {
                self.shadow
                    .push(line(&[&name, &password, "", "", "", "", "", "", ""]));
            }
        }
        let shadow_gid = self
            .group
            .iter()
            .find(|g| g.name() == "shadow")
            .and_then(Line::id)
            .unwrap_or(0);
        vec![
            GeneratedEntry::file("/etc/group", text(&self.group), 0o644, (0, 0)),
            GeneratedEntry::file("/etc/passwd", text(&self.passwd), 0o644, (0, 0)),
            GeneratedEntry::file("/etc/shadow", text(&self.shadow), 0o640, (0, shadow_gid)),
        ]
    }
}

/// The account files of `accounts` over the installed `tree`.
pub fn accounts(accounts: &Accounts, tree: &TreeIndex) -> Result<AccountFiles, Error> {
    let mut databases = Databases::read(tree);
    for declared in &accounts.groups {
        databases.add_group(declared)?;
    }
    let mut entries = Vec::new();
    for user in &accounts.users {
        databases.add_user(user)?;
        let home = user.home();
        if home != "/" && home != "/nonexistent" && !tree.exists(&home) {
            entries.push(GeneratedEntry::directory(
                &home,
                0o755,
                (user.uid, user.gid),
            ));
        }
    }
    entries.extend(databases.files());
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(AccountFiles {
        entries,
        user: accounts
            .run_as_user()
            .map(|user| format!("{}:{}", user.uid, user.gid)),
    })
}

/// The members of group `name` in `group` plus `declared`, each once, in order.
fn merged_members(group: &[Line], name: &str, declared: &[String]) -> String {
    let mut members: Vec<String> = group
        .iter()
        .find(|g| g.name() == name)
        .map(|g| {
            g.fields[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    for member in declared {
        if !members.contains(member) {
            members.push(member.clone());
        }
    }
    members.join(",")
}

#[cfg(test)]
mod tests {
    use boxwright_metadata::{Group, User};

    use super::*;
    use crate::tree::{Node, NodeKind};

    fn web() -> Accounts {
        Accounts {
            users: vec![User {
                name: "web".into(),
                uid: 1000,
                gid: 1000,
                home: Some("/srv/web".into()),
                shell: Some("/sbin/nologin".into()),
            }],
            groups: vec![Group {
                name: "web".into(),
                gid: 1000,
                members: vec![],
            }],
            run_as: Some("web".into()),
        }
    }

    fn file(files: &AccountFiles, path: &str) -> String {
        let entry = files.entries.iter().find(|e| e.path == path).unwrap();
        String::from_utf8(entry.contents().unwrap().to_vec()).unwrap()
    }

    #[test]
    fn an_empty_image_gets_root_and_the_declared_accounts() {
        let files = accounts(&web(), &TreeIndex::new()).unwrap();
        assert_eq!(files.user.as_deref(), Some("1000:1000"));
        assert_eq!(
            file(&files, "/etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000:web:/srv/web:/sbin/nologin\n"
        );
        assert_eq!(file(&files, "/etc/group"), "root:x:0:\nweb:x:1000:\n");
        assert_eq!(file(&files, "/etc/shadow"), "root:!:::::::\nweb:!:::::::\n");
        let shadow = files
            .entries
            .iter()
            .find(|e| e.path == "/etc/shadow")
            .unwrap();
        assert_eq!((shadow.mode, shadow.uid, shadow.gid), (0o640, 0, 0));
        let home = files.entries.iter().find(|e| e.path == "/srv/web").unwrap();
        assert_eq!((home.mode, home.uid, home.gid), (0o755, 1000, 1000));
    }

    #[test]
    fn debian_masters_are_kept_and_shadow_belongs_to_group_shadow() {
        let mut tree = TreeIndex::new();
        tree.set_contents(
            "usr/share/base-passwd/passwd.master",
            b"root:*:0:0:root:/root:/bin/bash\ndaemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                .to_vec(),
        );
        tree.set_contents(
            "usr/share/base-passwd/group.master",
            b"root:*:0:\nshadow:*:42:\nusers:*:100:\n".to_vec(),
        );
        for path in [
            "usr/share/base-passwd/passwd.master",
            "usr/share/base-passwd/group.master",
        ] {
            tree.insert(
                path,
                Node {
                    kind: NodeKind::File,
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                },
            );
        }
        for dir in ["usr", "usr/share", "usr/share/base-passwd", "srv"] {
            tree.insert(
                dir,
                Node {
                    kind: NodeKind::Directory,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                },
            );
        }
        let mut declared = web();
        declared.users[0].home = Some("/srv".into());
        declared.groups.push(Group {
            name: "users".into(),
            gid: 100,
            members: vec!["web".into()],
        });
        let files = accounts(&declared, &tree).unwrap();
        assert_eq!(
            file(&files, "/etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
             web:x:1000:1000:web:/srv:/sbin/nologin\n"
        );
        assert_eq!(
            file(&files, "/etc/group"),
            "root:x:0:\nshadow:x:42:\nusers:x:100:web\nweb:x:1000:\n"
        );
        assert_eq!(
            file(&files, "/etc/shadow"),
            "root:*:::::::\ndaemon:*:::::::\nweb:!:::::::\n"
        );
        let shadow = files
            .entries
            .iter()
            .find(|e| e.path == "/etc/shadow")
            .unwrap();
        assert_eq!(shadow.gid, 42);
        assert!(
            files.entries.iter().all(|e| e.path != "/srv"),
            "an existing home is left alone"
        );
    }

    #[test]
    fn an_existing_passwd_wins_and_clashing_ids_are_refused() {
        let mut tree = TreeIndex::new();
        tree.set_contents(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/ash\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"
                .to_vec(),
        );
        tree.set_contents("etc/shadow", b"root:*::0:::::\n".to_vec());
        for path in ["etc/passwd", "etc/shadow"] {
            tree.insert(
                path,
                Node {
                    kind: NodeKind::File,
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                },
            );
        }
        tree.insert(
            "etc",
            Node {
                kind: NodeKind::Directory,
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        );
        let mut declared = web();
        declared.users[0].gid = 2000;
        let err = accounts(&declared, &tree).unwrap_err().to_string();
        assert!(err.contains("gid 2000, which no group has"), "{err}");
        declared.groups.clear();
        let files = accounts(&declared, &tree).unwrap();
        assert!(file(&files, "/etc/passwd").starts_with("root:x:0:0:root:/root:/bin/ash\nnobody:"));
        assert_eq!(file(&files, "/etc/group"), "root:x:0:\nweb:x:2000:\n");
        let shadow = file(&files, "/etc/shadow");
        assert!(
            shadow.starts_with("root:*::0:::::\nnobody:!:::::::\n"),
            "{shadow}"
        );
        assert_eq!(files.user.as_deref(), Some("1000:2000"));
        let mut clash = web();
        clash.users[0].uid = 65534;
        let err = accounts(&clash, &tree).unwrap_err().to_string();
        assert!(
            err.contains("`web` has id 65534") && err.contains("`nobody`"),
            "{err}"
        );
    }
}
