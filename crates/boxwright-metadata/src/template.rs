//! `{VAR}` templates.
//!
//! A placeholder is `{NAME}` where NAME matches `[A-Za-z_][A-Za-z0-9_]*`; `{{` stands for a
//! literal `{`. Any other brace is kept as it is, so shell snippets such as `${HOME}` only
//! have their inner `{HOME}` expanded.

use std::collections::BTreeMap;

/// How deep `env` variables may refer to each other: `A = "{B}"`, `B = "{C}"`, `C = "x"` is
/// 3 deep. No real project comes near it; it keeps hostile chains cheap to refuse.
pub const MAX_DEPTH: usize = 32;
/// The largest expanded value, in bytes (1 MiB): an `env` entry or any other string.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// The most names an error's chain shows in full; longer ones keep their ends around `…`.
const CHAIN_SHOWN: usize = 8;

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown variable `{0}`")]
    UnknownVariable(String),
    #[error("variable `{variable}` refers to itself through {chain}")]
    Cycle { variable: String, chain: String },
    /// More than [`MAX_DEPTH`] variables refer to each other in a row.
    #[error("variables nest more than {MAX_DEPTH} deep: {chain}")]
    TooDeep { chain: String },
    /// A value would expand to more than [`MAX_VALUE_BYTES`].
    #[error("value expands to more than 1 MiB: {chain}")]
    TooLarge { chain: String },
}

/// Expands every placeholder in `input` with `lookup`; the result is at most
/// [`MAX_VALUE_BYTES`].
pub fn expand(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(input.len());
    for piece in pieces(input) {
        let (text, from) = match piece {
            Piece::Literal(text) => (std::borrow::Cow::Borrowed(text), None),
            Piece::Variable(name) => match lookup(name) {
                Some(value) => (std::borrow::Cow::Owned(value), Some(name)),
                None => return Err(TemplateError::UnknownVariable(name.to_string())),
            },
        };
        push_bounded(&mut out, &text).map_err(|()| TemplateError::TooLarge {
            chain: from.map_or_else(|| "the text itself".into(), str::to_string),
        })?;
    }
    Ok(out)
}

/// Appends `text` unless that makes `out` longer than [`MAX_VALUE_BYTES`].
fn push_bounded(out: &mut String, text: &str) -> Result<(), ()> {
    if out.len() + text.len() > MAX_VALUE_BYTES {
        return Err(());
    }
    out.push_str(text);
    Ok(())
}

/// The names of the variables `input` refers to, in order.
pub fn variables(input: &str) -> Vec<&str> {
    pieces(input)
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Variable(name) => Some(name),
            Piece::Literal(_) => None,
        })
        .collect()
}

/// Expands an `env` map whose values may refer to each other, then to `process`.
///
/// Iterative (an explicit stack, never recursion), at most [`MAX_DEPTH`] deep, every value at
/// most [`MAX_VALUE_BYTES`]. Returns the first unknown variable, loop or limit, with the env
/// key it was found in.
pub fn resolve_env(
    env: &BTreeMap<String, String>,
    process: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, (String, TemplateError)> {
    let mut resolved = BTreeMap::new();
    for key in env.keys() {
        if !resolved.contains_key(key.as_str()) {
            resolve_one(key, env, process, &mut resolved).map_err(|e| (key.clone(), e))?;
        }
    }
    Ok(resolved
        .into_iter()
        .map(|(key, done)| (key.to_string(), done.value))
        .collect())
}

/// An expanded `env` entry and its depth (1 when it refers to no other entry).
struct Resolved {
    value: String,
    depth: usize,
}

/// An `env` entry being expanded: its pieces, how far along, and the text so far.
struct Frame<'a> {
    key: &'a str,
    pieces: Vec<Piece<'a>>,
    next: usize,
    out: String,
    /// The deepest entry it refers to so far.
    below: usize,
}

impl<'a> Frame<'a> {
    fn new(key: &'a str, raw: &'a str) -> Frame<'a> {
        Frame {
            key,
            pieces: pieces(raw),
            next: 0,
            out: String::with_capacity(raw.len()),
            below: 0,
        }
    }
}

/// Expands `key` and every entry it refers to that is not yet in `resolved`.
fn resolve_one<'a>(
    key: &'a str,
    env: &'a BTreeMap<String, String>,
    process: &dyn Fn(&str) -> Option<String>,
    resolved: &mut BTreeMap<&'a str, Resolved>,
) -> Result<(), TemplateError> {
    let mut stack = vec![Frame::new(key, &env[key])];
    while let Some(top) = stack.last() {
        let Some(piece) = top.pieces.get(top.next).copied() else {
            let frame = stack.pop().expect("a frame is on the stack");
            let done = Resolved {
                value: frame.out,
                depth: frame.below + 1,
            };
            if !stack.is_empty() {
                add(&mut stack, &done, frame.key)?;
                stack.last_mut().expect("a parent frame").next += 1;
            }
            resolved.insert(frame.key, done);
            continue;
        };
        match piece {
            Piece::Literal(text) => append(&mut stack, text, None)?,
            Piece::Variable(name) => {
                if let Some(done) = resolved.get(name) {
                    add(&mut stack, done, name)?;
                } else if let Some((name, raw)) = env.get_key_value(name) {
                    if stack.iter().any(|frame| frame.key == name) {
                        return Err(TemplateError::Cycle {
                            variable: name.clone(),
                            chain: chain(&stack, Some(name)),
                        });
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(TemplateError::TooDeep {
                            chain: chain(&stack, Some(name)),
                        });
                    }
                    stack.push(Frame::new(name, raw));
                    continue;
                } else {
                    let value = process(name)
                        .ok_or_else(|| TemplateError::UnknownVariable(name.to_string()))?;
                    append(&mut stack, &value, Some(name))?;
                }
            }
        }
        stack.last_mut().expect("a frame is on the stack").next += 1;
    }
    Ok(())
}

/// Adds the expanded entry `name` to the frame on top, which refers to it.
fn add(stack: &mut [Frame<'_>], done: &Resolved, name: &str) -> Result<(), TemplateError> {
    if stack.len() + done.depth > MAX_DEPTH {
        return Err(TemplateError::TooDeep {
            chain: chain(stack, Some(name)),
        });
    }
    append(stack, &done.value, Some(name))?;
    let top = stack.last_mut().expect("a frame is on the stack");
    top.below = top.below.max(done.depth);
    Ok(())
}

/// Appends `text` (the value of `via`, if a variable) to the frame on top, within
/// [`MAX_VALUE_BYTES`].
fn append(stack: &mut [Frame<'_>], text: &str, via: Option<&str>) -> Result<(), TemplateError> {
    let top = stack.last_mut().expect("a frame is on the stack");
    if push_bounded(&mut top.out, text).is_err() {
        return Err(TemplateError::TooLarge {
            chain: chain(stack, via),
        });
    }
    Ok(())
}

/// `A → B → C`: the entries on `stack`, then `last`; long chains keep their ends around `…`.
fn chain(stack: &[Frame<'_>], last: Option<&str>) -> String {
    let names: Vec<&str> = stack.iter().map(|frame| frame.key).chain(last).collect();
    if names.len() <= CHAIN_SHOWN {
        return names.join(" → ");
    }
    let head = CHAIN_SHOWN / 2;
    let tail = CHAIN_SHOWN - head - 1;
    let mut shown = names[..head].to_vec();
    shown.push("…");
    shown.extend_from_slice(&names[names.len() - tail..]);
    shown.join(" → ")
}

#[derive(Clone, Copy)]
enum Piece<'a> {
    Literal(&'a str),
    Variable(&'a str),
}

fn pieces(input: &str) -> Vec<Piece<'_>> {
    let bytes = input.as_bytes();
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'{') {
            pieces.push(Piece::Literal(&input[literal_start..=i]));
            i += 2;
            literal_start = i;
            continue;
        }
        let name_len = variable_name_len(&bytes[i + 1..]);
        if name_len > 0 && bytes.get(i + 1 + name_len) == Some(&b'}') {
            pieces.push(Piece::Literal(&input[literal_start..i]));
            pieces.push(Piece::Variable(&input[i + 1..i + 1 + name_len]));
            i += name_len + 2;
            literal_start = i;
        } else {
            i += 1;
        }
    }
    pieces.push(Piece::Literal(&input[literal_start..]));
    pieces
}

fn variable_name_len(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {}
        _ => return 0,
    }
    bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn vars(name: &str) -> Option<String> {
        match name {
            "V" => Some("1.2.3".into()),
            "NAME_2" => Some("x".into()),
            _ => None,
        }
    }

    #[rstest]
    #[case("plain", "plain")]
    #[case("a-{V}.tar.gz", "a-1.2.3.tar.gz")]
    #[case("{V}{NAME_2}", "1.2.3x")]
    #[case("${V}", "$1.2.3")]
    #[case("{{V}", "{V}")]
    #[case("{ V }", "{ V }")]
    #[case("{1V}", "{1V}")]
    #[case("{", "{")]
    #[case("}{", "}{")]
    #[case("{\"json\": 1}", "{\"json\": 1}")]
    fn expands(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(expand(input, &vars).unwrap(), expected);
    }

    #[test]
    fn unknown_variable_is_named() {
        assert_eq!(
            expand("x-{NOPE}", &vars).unwrap_err(),
            TemplateError::UnknownVariable("NOPE".into())
        );
    }

    #[test]
    fn env_values_refer_to_each_other_and_to_the_process() {
        let env = BTreeMap::from([
            ("A".to_string(), "{B}-{V}".to_string()),
            ("B".to_string(), "b".to_string()),
        ]);
        let resolved = resolve_env(&env, &vars).unwrap();
        assert_eq!(resolved["A"], "b-1.2.3");
    }

    #[test]
    fn env_loops_are_reported() {
        let env = BTreeMap::from([
            ("A".to_string(), "{B}".to_string()),
            ("B".to_string(), "{A}".to_string()),
        ]);
        let (key, err) = resolve_env(&env, &vars).unwrap_err();
        assert_eq!(key, "A");
        assert_eq!(
            err,
            TemplateError::Cycle {
                variable: "A".into(),
                chain: "A → B → A".into()
            }
        );
    }

    /// `C00000 = {C00001}`, ... the last `end`: a chain of `count` entries.
    fn chain_env(count: usize) -> BTreeMap<String, String> {
        (0..count)
            .map(|i| {
                let value = if i + 1 == count {
                    "end".to_string()
                } else {
                    format!("{{C{:05}}}", i + 1)
                };
                (format!("C{i:05}"), value)
            })
            .collect()
    }

    #[test]
    fn chains_up_to_the_depth_limit_resolve() {
        let resolved = resolve_env(&chain_env(MAX_DEPTH), &vars).unwrap();
        assert_eq!(resolved["C00000"], "end");
    }

    #[test]
    fn deeper_chains_are_refused_naming_a_shortened_chain() {
        let (key, err) = resolve_env(&chain_env(MAX_DEPTH + 1), &vars).unwrap_err();
        assert_eq!(key, "C00000");
        assert_eq!(
            err.to_string(),
            "variables nest more than 32 deep: C00000 → C00001 → C00002 → C00003 → … → \
             C00030 → C00031 → C00032"
        );
    }

    #[test]
    fn depth_counts_entries_resolved_earlier() {
        // Z refers to the 32-deep chain, which the key order resolves first.
        let mut env = chain_env(MAX_DEPTH);
        env.insert("Z".into(), "{C00000}".into());
        let (key, err) = resolve_env(&env, &vars).unwrap_err();
        assert_eq!(key, "Z");
        assert!(
            matches!(&err, TemplateError::TooDeep { chain } if chain == "Z → C00000"),
            "{err}"
        );
    }

    #[test]
    fn a_chain_of_fifty_thousand_is_refused_without_recursion() {
        // Recursion this deep would overflow the test thread's stack.
        let (key, err) = resolve_env(&chain_env(50_000), &vars).unwrap_err();
        assert_eq!(key, "C00000");
        assert!(matches!(err, TemplateError::TooDeep { .. }), "{err}");
    }

    #[test]
    fn doubling_values_are_refused_at_one_mebibyte() {
        // L00 = {L01}{L01}, ... L24 = 32 bytes: L08 would be 2 MiB.
        let mut env: BTreeMap<String, String> = (0..24)
            .map(|i| (format!("L{i:02}"), format!("{{L{0:02}}}{{L{0:02}}}", i + 1)))
            .collect();
        env.insert("L24".into(), "x".repeat(32));
        let (key, err) = resolve_env(&env, &vars).unwrap_err();
        assert_eq!(key, "L00");
        assert_eq!(
            err.to_string(),
            "value expands to more than 1 MiB: L00 → L01 → L02 → L03 → … → L07 → L08 → L09"
        );
        // 1 MiB exactly is allowed.
        env.retain(|k, _| k.as_str() >= "L09");
        let resolved = resolve_env(&env, &vars).unwrap();
        assert_eq!(resolved["L09"].len(), MAX_VALUE_BYTES);
    }

    #[test]
    fn expanded_strings_are_bounded_too() {
        let big = |name: &str| (name == "B").then(|| "b".repeat(MAX_VALUE_BYTES / 2));
        assert_eq!(expand("{B}{B}", &big).unwrap().len(), MAX_VALUE_BYTES);
        assert_eq!(
            expand("{B}{B}x", &big).unwrap_err(),
            TemplateError::TooLarge {
                chain: "the text itself".into()
            }
        );
        assert_eq!(
            expand("x{B}{B}", &big).unwrap_err(),
            TemplateError::TooLarge { chain: "B".into() }
        );
    }
}
