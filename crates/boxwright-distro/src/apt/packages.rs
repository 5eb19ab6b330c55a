//! apt's `Packages` index (Debian Policy §5.3, relationship fields §7.1) into
//! [`Candidate`]s.

use crate::deb822::{self, Paragraph};
use crate::error::{Error, Result};
use crate::model::{Candidate, Kind, Op, Provide, Relation};

/// Parses a `Packages` text listed by the caller's repository number `repository`, for
/// architecture `arch` (Debian's name, `amd64`): relations restricted to other architectures
/// (`foo [i386]`, `foo [!amd64]`) are dropped. Every paragraph needs `Package`, `Version`,
/// `Architecture`, `Filename`, `Size` and `SHA256`.
pub fn parse_packages(text: &str, repository: usize, arch: &str) -> Result<Vec<Candidate>> {
    deb822::parse(text, "Packages")?
        .into_iter()
        .map(|paragraph| candidate(paragraph, repository, arch))
        .collect()
}

fn candidate(paragraph: Paragraph, repository: usize, arch: &str) -> Result<Candidate> {
    let line = paragraph.line;
    let name = required(&paragraph, "Package", &format!("paragraph at line {line}"))?;
    let who = format!("package {name}");
    let field_error = |field: &str, reason: String| Error::Field {
        file: "Packages".into(),
        what: format!("{who}: {field}"),
        reason,
    };
    let version = required(&paragraph, "Version", &who)?;
    let size = required(&paragraph, "Size", &who)?;
    let size = size
        .parse()
        .map_err(|_| field_error("Size", format!("`{size}` is not a number")))?;
    let sha256 = required(&paragraph, "SHA256", &who)?.to_ascii_lowercase();
    if sha256.len() != 64 || hex::decode(&sha256).is_err() {
        return Err(field_error(
            "SHA256",
            format!("`{sha256}` is not 64 hex digits"),
        ));
    }
    let depends_of = |field: &str| -> Result<Vec<Vec<Relation>>> {
        let mut out = Vec::new();
        for group in split_list(paragraph.get(field)) {
            let mut alternatives = Vec::new();
            for text in group.split('|') {
                if let Some(relation) =
                    parse_relation(text, arch).map_err(|reason| field_error(field, reason))?
                {
                    alternatives.push(relation);
                }
            }
            if !alternatives.is_empty() {
                out.push(alternatives);
            }
        }
        Ok(out)
    };
    let mut depends = depends_of("Pre-Depends")?;
    depends.extend(depends_of("Depends")?);
    let mut conflicts = Vec::new();
    for field in ["Conflicts", "Breaks"] {
        for group in split_list(paragraph.get(field)) {
            if let Some(relation) =
                parse_relation(group, arch).map_err(|reason| field_error(field, reason))?
            {
                conflicts.push(relation);
            }
        }
    }
    let mut provides = Vec::new();
    for text in split_list(paragraph.get("Provides")) {
        provides.push(provide(text).map_err(|reason| field_error("Provides", reason))?);
    }
    Ok(Candidate {
        kind: Kind::Deb,
        arch: required(&paragraph, "Architecture", &who)?.to_string(),
        filename: required(&paragraph, "Filename", &who)?.to_string(),
        essential: paragraph
            .get("Essential")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        name: name.to_string(),
        version: version.to_string(),
        depends,
        conflicts,
        provides,
        size,
        sha256: Some(sha256),
        apk_checksum: None,
        repository,
        fields: paragraph.into_fields(),
    })
}

fn required<'a>(paragraph: &'a Paragraph, field: &str, who: &str) -> Result<&'a str> {
    paragraph
        .get(field)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Field {
            file: "Packages".into(),
            what: format!("{who}: {field}"),
            reason: "missing".into(),
        })
}

/// The comma-separated entries of a relationship field, trimmed, without empty ones.
fn split_list(value: Option<&str>) -> impl Iterator<Item = &str> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// One Debian relation: `name[:arch] [(op version)] [[arch list]] [<profiles>]`. `None`
/// when an architecture restriction excludes `arch`. Build profiles (`<!nocheck>`) are
/// ignored: they restrict build dependencies only.
pub fn parse_relation(text: &str, arch: &str) -> std::result::Result<Option<Relation>, String> {
    let text = text.trim();
    let bad = |why: &str| format!("relation `{text}`: {why}");
    let mut rest = text;
    let end = rest
        .find(|c: char| c.is_whitespace() || "([<".contains(c))
        .unwrap_or(rest.len());
    let (name_part, after) = rest.split_at(end);
    rest = after.trim_start();
    let (name, qualifier) = name_part.split_once(':').unwrap_or((name_part, ""));
    if name.is_empty() {
        return Err(bad("no package name"));
    }
    let mut constraint = None;
    if let Some(inner) = rest.strip_prefix('(') {
        let close = inner.find(')').ok_or_else(|| bad("no closing `)`"))?;
        constraint = Some(
            version_constraint(inner[..close].trim())
                .ok_or_else(|| bad("the version relation is not `(<<|<=|=|>=|>> version)`"))?,
        );
        rest = inner[close + 1..].trim_start();
    }
    let mut included = true;
    if let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']').ok_or_else(|| bad("no closing `]`"))?;
        included = arch_matches(&inner[..close], arch);
        rest = inner[close + 1..].trim_start();
    }
    while let Some(inner) = rest.strip_prefix('<') {
        let close = inner.find('>').ok_or_else(|| bad("no closing `>`"))?;
        rest = inner[close + 1..].trim_start();
    }
    if !rest.is_empty() {
        return Err(bad(&format!("unexpected `{rest}`")));
    }
    Ok(included.then(|| Relation {
        name: name.to_string(),
        constraint,
        arch_qualifier: qualifier.to_string(),
    }))
}

/// `>= 1.0` → `(Ge, "1.0")`; dpkg reads the obsolete `<` and `>` as `<=` and `>=`.
fn version_constraint(text: &str) -> Option<(Op, String)> {
    let op_end = text
        .find(|c: char| !"<>=".contains(c))
        .unwrap_or(text.len());
    let op = match &text[..op_end] {
        "<<" => Op::Lt,
        "<=" | "<" => Op::Le,
        "=" => Op::Eq,
        ">=" | ">" => Op::Ge,
        ">>" => Op::Gt,
        _ => return None,
    };
    let version = text[op_end..].trim();
    if version.is_empty() || version.contains(char::is_whitespace) {
        return None;
    }
    Some((op, version.to_string()))
}

/// Whether an architecture list (`amd64 i386` or `!armel !armhf`) includes `arch`.
fn arch_matches(list: &str, arch: &str) -> bool {
    let words: Vec<&str> = list.split_whitespace().collect();
    if words.iter().all(|w| w.starts_with('!')) {
        !words.iter().any(|w| &w[1..] == arch)
    } else {
        words.iter().any(|w| *w == arch || *w == "any")
    }
}

/// `name` or `name (= version)`.
fn provide(text: &str) -> std::result::Result<Provide, String> {
    let relation = parse_relation(text, "")?.ok_or_else(|| format!("`{text}`"))?;
    match relation.constraint {
        None => Ok(Provide {
            name: relation.name,
            version: None,
        }),
        Some((Op::Eq, version)) => Ok(Provide {
            name: relation.name,
            version: Some(version),
        }),
        Some(_) => Err(format!("`{text}`: only `(= version)` may be provided")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(name: &str, constraint: Option<(Op, &str)>, qualifier: &str) -> Relation {
        Relation {
            name: name.into(),
            constraint: constraint.map(|(op, v)| (op, v.into())),
            arch_qualifier: qualifier.into(),
        }
    }

    #[rstest::rstest]
    #[case("libc6 (>= 2.34)", Some(relation("libc6", Some((Op::Ge, "2.34")), "")))]
    #[case("python3:any", Some(relation("python3", None, "any")))]
    #[case("foo (<< 1:2.0~rc1)", Some(relation("foo", Some((Op::Lt, "1:2.0~rc1")), "")))]
    #[case("foo (>>1)", Some(relation("foo", Some((Op::Gt, "1")), "")))]
    #[case("foo (< 1)", Some(relation("foo", Some((Op::Le, "1")), "")))]
    #[case("foo [amd64 arm64]", Some(relation("foo", None, "")))]
    #[case("foo [i386]", None)]
    #[case("foo [!amd64]", None)]
    #[case("foo [!i386] <!nocheck>", Some(relation("foo", None, "")))]
    fn relations(#[case] text: &str, #[case] expected: Option<Relation>) {
        assert_eq!(parse_relation(text, "amd64").unwrap(), expected);
    }

    #[rstest::rstest]
    #[case("foo (>= 1")]
    #[case("foo (~ 1)")]
    #[case("foo bar")]
    #[case("(>= 1)")]
    fn bad_relations(#[case] text: &str) {
        assert!(parse_relation(text, "amd64").is_err(), "{text}");
    }

    const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn paragraphs_become_candidates() {
        let text = format!(
            "Package: mawk\nVersion: 1.3.4.20200120-3.1\nArchitecture: amd64\n\
             Pre-Depends: libc6 (>= 2.34)\nDepends: foo | bar (>= 2) [i386], baz:any [amd64]\n\
             Provides: awk, virt (= 1.0)\nBreaks: old (<< 1)\nConflicts: other\n\
             Essential: yes\nFilename: pool/main/m/mawk/mawk_1.3.4.20200120-3.1_amd64.deb\n\
             Size: 123\nSHA256: {SHA}\n\n\
             Package: plain\nVersion: 1\nArchitecture: all\nFilename: pool/p.deb\nSize: 1\n\
             SHA256: {SHA}\n"
        );
        let candidates = parse_packages(&text, 3, "amd64").unwrap();
        assert_eq!(candidates.len(), 2);
        let mawk = &candidates[0];
        assert_eq!(mawk.kind, Kind::Deb);
        assert_eq!(mawk.version, "1.3.4.20200120-3.1");
        assert!(mawk.essential);
        assert_eq!(mawk.repository, 3);
        assert_eq!(mawk.size, 123);
        assert_eq!(mawk.sha256.as_deref(), Some(SHA));
        assert_eq!(
            mawk.depends,
            vec![
                vec![relation("libc6", Some((Op::Ge, "2.34")), "")],
                vec![relation("foo", None, "")],
                vec![relation("baz", None, "any")],
            ]
        );
        assert_eq!(
            mawk.conflicts,
            vec![
                relation("other", None, ""),
                relation("old", Some((Op::Lt, "1")), "")
            ]
        );
        assert_eq!(
            mawk.provides,
            vec![
                Provide {
                    name: "awk".into(),
                    version: None
                },
                Provide {
                    name: "virt".into(),
                    version: Some("1.0".into())
                },
            ]
        );
        assert_eq!(mawk.fields.len(), 12);
        assert_eq!(mawk.fields[0], ("Package".into(), "mawk".into()));
        assert!(!candidates[1].essential);
        assert!(candidates[1].depends.is_empty());
    }

    #[test]
    fn refuses_paragraphs_without_what_apt_needs() {
        let error = parse_packages("Package: x\nVersion: 1\nArchitecture: all\n", 0, "amd64")
            .unwrap_err()
            .to_string();
        assert!(error.contains("package x: Size: missing"), "{error}");
        let text = format!(
            "Package: x\nVersion: 1\nArchitecture: all\nFilename: f\nSize: 1\nSHA256: {SHA}\n\
             Provides: y (>= 1)\n"
        );
        let error = parse_packages(&text, 0, "amd64").unwrap_err().to_string();
        assert!(error.contains("Provides"), "{error}");
    }
}
