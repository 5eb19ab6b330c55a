//! The check `boxwright verify --image` runs on an image's s6 services.
//!
//! For every directory `/etc/services.d/<name>` (names starting with `.` are s6's own):
//! `run` exists and is an executable regular file (links followed inside the image); its
//! `#!` interpreter exists and is executable, and when the interpreter is itself a script
//! (Debian's `/usr/bin/execlineb` is), so is that one's, up to 4 levels; and the program
//! the script starts exists and is executable. That program is the script's first word
//! (execline or shell quoting; comments skipped; for shells a leading `exec` and `VAR=value`
//! words skipped); a word without `/` is looked up in `PATH` (with `/usr/lib/execline/bin`
//! for execline scripts), and for shell scripts a shell builtin is not checked. An ELF `run`
//! file is its own program. The image's entrypoint, when given, is checked too.

use crate::tree::TreeIndex;

/// The `PATH` programs are looked up in.
const PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];
const SHELL_BUILTINS: &[&str] = &[
    ".", ":", "[", "cd", "command", "echo", "eval", "export", "false", "printf", "read", "set",
    "source", "test", "trap", "true", "ulimit", "umask", "if", "for", "while", "case", "{", "(",
];
const MAX_INTERPRETERS: usize = 4;

/// One thing wrong with a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProblem {
    /// The service's name (`entrypoint` for the image's entrypoint).
    pub service: String,
    /// The path at fault, absolute in the image.
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for ServiceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service `{}`: {}: {}",
            self.service, self.path, self.reason
        )
    }
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceReport {
    /// The services checked, by name.
    pub services: Vec<String>,
    pub problems: Vec<ServiceProblem>,
}

/// Checks every service of `tree`, and `entrypoint` when it is not empty.
pub fn check_services(tree: &TreeIndex, entrypoint: &[String]) -> ServiceReport {
    let mut report = ServiceReport::default();
    for name in tree.children(crate::services::SCAN_DIR) {
        let dir = format!("{}/{name}", crate::services::SCAN_DIR);
        let is_dir = tree
            .resolved_node(&dir)
            .is_ok_and(|node| node.kind == crate::tree::NodeKind::Directory);
        if name.starts_with('.') || !is_dir {
            continue;
        }
        let mut problems = Vec::new();
        check_one(tree, &format!("{dir}/run"), &mut problems);
        report
            .problems
            .extend(problems.into_iter().map(|(path, reason)| ServiceProblem {
                service: name.clone(),
                path,
                reason,
            }));
        report.services.push(name);
    }
    if let Some(program) = entrypoint.first() {
        let mut problems = Vec::new();
        program_exists(tree, program, false, &mut problems);
        report
            .problems
            .extend(problems.into_iter().map(|(path, reason)| ServiceProblem {
                service: "entrypoint".into(),
                path,
                reason,
            }));
    }
    report
}

type Problems = Vec<(String, String)>;

fn check_one(tree: &TreeIndex, run: &str, problems: &mut Problems) {
    if let Err(why) = tree.executable(run) {
        problems.push((run.to_string(), why.to_string()));
        return;
    }
    let Some(head) = tree.head(run) else {
        problems.push((run.to_string(), "cannot be read".into()));
        return;
    };
    if head.starts_with(b"\x7fELF") {
        return;
    }
    let Some(interpreter) = interpreter_of(&head) else {
        problems.push((
            run.to_string(),
            "has no `#!` line naming its interpreter".into(),
        ));
        return;
    };
    if !check_interpreter(tree, &interpreter, problems) {
        return;
    }
    let Some(script) = tree.contents(run) else {
        problems.push((run.to_string(), "cannot be read".into()));
        return;
    };
    let text = String::from_utf8_lossy(&script);
    let body = text.split_once('\n').map_or("", |(_, body)| body);
    let execline = interpreter.rsplit('/').next() == Some("execlineb");
    match first_program(body, execline) {
        Some(program) => program_exists(tree, &program, execline, problems),
        None if execline => problems.push((run.to_string(), "starts no program".into())),
        None => {}
    }
}

/// The interpreter path of a `#!` line.
fn interpreter_of(head: &[u8]) -> Option<String> {
    let line = head.strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    line.split_whitespace().next().map(str::to_string)
}

/// The interpreter chain: each exists and is executable; returns whether all are.
fn check_interpreter(tree: &TreeIndex, first: &str, problems: &mut Problems) -> bool {
    let mut interpreter = first.to_string();
    for _ in 0..MAX_INTERPRETERS {
        if !interpreter.starts_with('/') {
            problems.push((
                interpreter,
                "the interpreter must be an absolute path".into(),
            ));
            return false;
        }
        if let Err(why) = tree.executable(&interpreter) {
            problems.push((interpreter, format!("interpreter: {why}")));
            return false;
        }
        match tree.head(&interpreter).as_deref().and_then(interpreter_of) {
            Some(next) => interpreter = next,
            None => return true,
        }
    }
    problems.push((interpreter, "too many nested interpreters".into()));
    false
}

fn program_exists(tree: &TreeIndex, program: &str, execline: bool, problems: &mut Problems) {
    if program.contains('/') {
        if !program.starts_with('/') {
            problems.push((program.to_string(), "a relative program path".into()));
        } else if let Err(why) = tree.executable(program) {
            problems.push((program.to_string(), why.to_string()));
        }
        return;
    }
    let extra = execline.then_some("/usr/lib/execline/bin");
    let found = PATH
        .iter()
        .copied()
        .chain(extra)
        .any(|dir| tree.executable(&format!("{dir}/{program}")).is_ok());
    if !found {
        problems.push((
            program.to_string(),
            format!("no executable `{program}` in PATH ({})", PATH.join(":")),
        ));
    }
}

/// The first word of a script body that names a program.
fn first_program(body: &str, execline: bool) -> Option<String> {
    let words = words(body, execline);
    let mut words = words.into_iter();
    loop {
        let word = words.next()?;
        if execline {
            return Some(word);
        }
        let assignment = word
            .split_once('=')
            .is_some_and(|(name, _)| !name.is_empty() && !name.contains('/'));
        if word == "exec" || assignment {
            continue;
        }
        if SHELL_BUILTINS.contains(&word.as_str()) {
            return None;
        }
        return Some(word);
    }
}

/// The words of the script, up to the first 16: whitespace-separated, `#` comments skipped,
/// double quotes with backslash escapes (and single quotes for shells) honoured.
fn words(body: &str, execline: bool) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = body.chars().peekable();
    while words.len() < 16 {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            break;
        };
        if first == '#' {
            while chars.next_if(|c| *c != '\n').is_some() {}
            continue;
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            match c {
                '"' => {
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' => word.extend(chars.next()),
                            c => word.push(c),
                        }
                    }
                }
                '\'' if !execline => word.extend(chars.by_ref().take_while(|c| *c != '\'')),
                '\\' => word.extend(chars.next()),
                c => word.push(c),
            }
        }
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{Node, NodeKind};

    fn put(tree: &mut TreeIndex, path: &str, mode: u32, contents: Option<&str>) {
        let parts: Vec<&str> = path.split('/').collect();
        for depth in 1..parts.len() {
            tree.insert(
                &parts[..depth].join("/"),
                Node {
                    kind: NodeKind::Directory,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                },
            );
        }
        tree.insert(
            path,
            Node {
                kind: NodeKind::File,
                mode,
                uid: 0,
                gid: 0,
            },
        );
        if let Some(text) = contents {
            tree.set_contents(path, text.as_bytes().to_vec());
        }
    }

    fn debian() -> TreeIndex {
        let mut tree = TreeIndex::new();
        put(
            &mut tree,
            "usr/bin/execlineb",
            0o755,
            Some("#!/usr/lib/execline/bin/execlineb -S0\n/usr/lib/execline/bin/exec $@\n"),
        );
        put(
            &mut tree,
            "usr/lib/execline/bin/execlineb",
            0o755,
            Some("\x7fELF"),
        );
        put(
            &mut tree,
            "usr/lib/execline/bin/fdmove",
            0o755,
            Some("\x7fELF"),
        );
        put(&mut tree, "usr/bin/s6-svscan", 0o755, Some("\x7fELF"));
        put(&mut tree, "bin/busybox", 0o755, Some("\x7fELF"));
        tree
    }

    fn problems(tree: &TreeIndex) -> Vec<String> {
        check_services(tree, &["/usr/bin/s6-svscan".into()])
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_generated_service_passes() {
        let mut tree = debian();
        let script = crate::services::run_script(
            "/usr/bin/execlineb",
            &["/bin/busybox".into(), "httpd".into(), "-f".into()],
        );
        put(&mut tree, "etc/services.d/httpd/run", 0o755, Some(&script));
        put(
            &mut tree,
            "etc/services.d/log/run",
            0o755,
            Some("#!/usr/bin/execlineb -P\n# note\nfdmove -c 2 1\n/bin/busybox true\n"),
        );
        put(&mut tree, "etc/services.d/.s6-svscan/finish", 0o755, None);
        let report = check_services(&tree, &["/usr/bin/s6-svscan".into()]);
        assert_eq!(report.services, ["httpd", "log"]);
        assert_eq!(report.problems, []);
    }

    #[test]
    fn broken_services_name_the_service_and_the_path() {
        let mut tree = debian();
        put(
            &mut tree,
            "etc/services.d/a/run",
            0o644,
            Some("#!/usr/bin/execlineb -P\n\"/bin/busybox\"\n"),
        );
        put(
            &mut tree,
            "etc/services.d/b/run",
            0o755,
            Some("#!/bin/execlineb -P\n\"/bin/busybox\"\n"),
        );
        put(
            &mut tree,
            "etc/services.d/c/run",
            0o755,
            Some("#!/usr/bin/execlineb -P\n\"/usr/sbin/httpd\" \"-f\"\n"),
        );
        put(
            &mut tree,
            "etc/services.d/d/run",
            0o755,
            Some("#!/bin/sh\nexec FOO=1 nginx -g 'daemon off;'\n"),
        );
        put(
            &mut tree,
            "etc/services.d/e/run",
            0o755,
            Some("/bin/busybox httpd\n"),
        );
        tree.insert(
            "etc/services.d/f",
            Node {
                kind: NodeKind::Directory,
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        );
        assert_eq!(
            problems(&tree),
            [
                "service `a`: /etc/services.d/a/run: /etc/services.d/a/run is not executable",
                "service `b`: /bin/execlineb: interpreter: /bin/execlineb does not exist",
                "service `c`: /usr/sbin/httpd: /usr/sbin does not exist",
                "service `d`: /bin/sh: interpreter: /bin/sh does not exist",
                "service `e`: /etc/services.d/e/run: has no `#!` line naming its interpreter",
                "service `f`: /etc/services.d/f/run: /etc/services.d/f/run does not exist",
            ]
        );
        put(&mut tree, "bin/sh", 0o755, Some("\x7fELF"));
        let d = problems(&tree);
        assert!(
            d.contains(&"service `d`: nginx: no executable `nginx` in PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)".to_string()),
            "{d:?}"
        );
    }

    #[test]
    fn script_words_follow_the_quoting() {
        assert_eq!(
            words("# c\n \"a \\\"b\" c\\ d 'e f'", false),
            ["a \"b", "c d", "e f"]
        );
        assert_eq!(words("'e f'", true), ["'e", "f'"]);
        assert_eq!(first_program("exec A=1 /x y", false).as_deref(), Some("/x"));
        assert_eq!(first_program("echo hi", false), None);
    }
}
