//! `update-alternatives --install LINK NAME PATH PRIORITY [--slave LINK NAME PATH]...`,
//! done as update-alternatives does in automatic mode: of the alternatives for one name
//! whose path is in the tree, the highest priority wins (the first one read on a tie);
//! `LINK → /etc/alternatives/NAME → PATH` for the master and each slave, and
//! `var/lib/dpkg/alternatives/NAME` records every alternative.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Generated;
use super::merge::Merged;
use super::tree::Store;
use crate::{Error, Kind};

/// One `--install` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Alternative {
    pub link: String,
    pub name: String,
    pub path: String,
    pub priority: i64,
    /// `(link, name, path)` of each `--slave`.
    pub slaves: Vec<(String, String, String)>,
}

impl Alternative {
    /// Parses the words of an `update-alternatives` line; `None` for other actions or
    /// values that are not literal.
    pub fn parse(words: &[&str]) -> Option<Alternative> {
        let literal = |w: &str| !w.contains(['$', '`', '"', '\'']);
        let start = words.iter().position(|w| *w == "--install")?;
        let [link, name, path, priority] = words.get(start + 1..start + 5)? else {
            return None;
        };
        let mut slaves = Vec::new();
        let mut rest = &words[start + 5..];
        while let [flag, slave_link, slave_name, slave_path, tail @ ..] = rest {
            if *flag != "--slave" {
                break;
            }
            slaves.push((
                (*slave_link).to_string(),
                (*slave_name).to_string(),
                (*slave_path).to_string(),
            ));
            rest = tail;
        }
        let literal_values = [*link, *name, *path].into_iter().all(literal)
            && slaves
                .iter()
                .all(|(a, b, c)| literal(a) && literal(b) && literal(c));
        // What may follow: output redirections and `|| true`.
        let tail_ok = rest
            .iter()
            .all(|w| w.starts_with('>') || w.starts_with("2>") || *w == "||" || *w == "true");
        if !literal_values || !tail_ok {
            return None;
        }
        Some(Alternative {
            link: (*link).to_string(),
            name: (*name).to_string(),
            path: (*path).to_string(),
            priority: priority.parse().ok()?,
            slaves,
        })
    }
}

pub(crate) fn apply(
    kind: Kind,
    alternatives: &[Alternative],
    merged: &Merged,
    store: &Store,
    generated: &mut Generated,
) -> Result<(), Error> {
    let mut by_name: BTreeMap<&str, Vec<&Alternative>> = BTreeMap::new();
    for alternative in alternatives {
        if merged
            .get(alternative.path.trim_start_matches('/'))
            .is_some()
        {
            by_name
                .entry(&alternative.name)
                .or_default()
                .push(alternative);
        }
    }
    for (name, choices) in by_name {
        let best = choices
            .iter()
            .copied()
            .reduce(|best, next| {
                if next.priority > best.priority {
                    next
                } else {
                    best
                }
            })
            .expect("at least one choice");
        link(generated, &best.link, name, &best.path);
        for (slave_link, slave_name, slave_path) in &best.slaves {
            if merged.get(slave_path.trim_start_matches('/')).is_some() {
                link(generated, slave_link, slave_name, slave_path);
            }
        }
        if kind == Kind::Deb {
            let record = record(best, &choices);
            generated.file(
                store,
                &format!("var/lib/dpkg/alternatives/{name}"),
                0o644,
                record.as_bytes(),
            )?;
        }
    }
    Ok(())
}

fn link(generated: &mut Generated, link: &str, name: &str, path: &str) {
    let link = link.trim_start_matches('/');
    generated.symlink(link, &format!("/etc/alternatives/{name}"));
    generated.symlink(&format!("etc/alternatives/{name}"), path);
}

/// The administrative file: mode, master link, slaves (name, link), a blank line; then per
/// alternative its path, priority and slave paths; a final blank line.
fn record(best: &Alternative, choices: &[&Alternative]) -> String {
    let mut slave_names: Vec<(&str, &str)> = Vec::new();
    for choice in choices {
        for (link, name, _) in &choice.slaves {
            if !slave_names.iter().any(|(n, _)| n == name) {
                slave_names.push((name, link));
            }
        }
    }
    slave_names.sort_unstable();
    let mut out = format!("auto\n{}\n", best.link);
    for (name, link) in &slave_names {
        let _ = write!(out, "{name}\n{link}\n");
    }
    out.push('\n');
    for choice in choices {
        let _ = write!(out, "{}\n{}\n", choice.path, choice.priority);
        for (name, _) in &slave_names {
            let path = choice
                .slaves
                .iter()
                .find(|(_, n, _)| n == name)
                .map_or("", |(_, _, p)| p.as_str());
            let _ = writeln!(out, "{path}");
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_lines_parse_with_slaves() {
        let line = "update-alternatives --install /usr/bin/awk awk /usr/bin/mawk 5 --slave /usr/share/man/man1/awk.1.gz awk.1.gz /usr/share/man/man1/mawk.1.gz";
        let words: Vec<&str> = line.split_whitespace().collect();
        let parsed = Alternative::parse(&words).unwrap();
        assert_eq!(parsed.link, "/usr/bin/awk");
        assert_eq!(parsed.priority, 5);
        assert_eq!(parsed.slaves.len(), 1);
        let bad: Vec<&str> = "update-alternatives --install $x awk /usr/bin/mawk 5"
            .split_whitespace()
            .collect();
        assert!(Alternative::parse(&bad).is_none());
        let remove: Vec<&str> = "update-alternatives --remove awk /usr/bin/mawk"
            .split_whitespace()
            .collect();
        assert!(Alternative::parse(&remove).is_none());
    }

    #[test]
    fn the_record_lists_every_choice() {
        let a = Alternative {
            link: "/usr/bin/x".into(),
            name: "x".into(),
            path: "/usr/bin/x1".into(),
            priority: 10,
            slaves: vec![],
        };
        let b = Alternative {
            path: "/usr/bin/x2".into(),
            priority: 20,
            ..a.clone()
        };
        assert_eq!(
            record(&b, &[&a, &b]),
            "auto\n/usr/bin/x\n\n/usr/bin/x1\n10\n/usr/bin/x2\n20\n\n"
        );
    }
}
