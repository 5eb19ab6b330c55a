//! `{VAR}` templates.
//!
//! A placeholder is `{NAME}` where NAME matches `[A-Za-z_][A-Za-z0-9_]*`; `{{` stands for a
//! literal `{`. Any other brace is kept as it is, so shell snippets such as `${HOME}` only
//! have their inner `{HOME}` expanded.

use std::collections::BTreeMap;

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown variable `{0}`")]
    UnknownVariable(String),
    #[error("variable `{variable}` refers to itself through {chain}")]
    Cycle { variable: String, chain: String },
}

/// Expands every placeholder in `input` with `lookup`.
pub fn expand(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(input.len());
    for piece in pieces(input) {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Variable(name) => match lookup(name) {
                Some(value) => out.push_str(&value),
                None => return Err(TemplateError::UnknownVariable(name.to_string())),
            },
        }
    }
    Ok(out)
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
/// Returns the first unknown variable or loop, with the env key it was found in.
pub fn resolve_env(
    env: &BTreeMap<String, String>,
    process: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, (String, TemplateError)> {
    let mut resolved = BTreeMap::new();
    for key in env.keys() {
        let mut stack = Vec::new();
        resolve_one(key, env, process, &mut resolved, &mut stack).map_err(|e| (key.clone(), e))?;
    }
    Ok(resolved)
}

fn resolve_one(
    key: &str,
    env: &BTreeMap<String, String>,
    process: &dyn Fn(&str) -> Option<String>,
    resolved: &mut BTreeMap<String, String>,
    stack: &mut Vec<String>,
) -> Result<String, TemplateError> {
    if let Some(done) = resolved.get(key) {
        return Ok(done.clone());
    }
    if stack.iter().any(|k| k == key) {
        stack.push(key.to_string());
        return Err(TemplateError::Cycle {
            variable: key.to_string(),
            chain: stack.join(" -> "),
        });
    }
    let raw = &env[key];
    stack.push(key.to_string());
    let mut out = String::with_capacity(raw.len());
    for piece in pieces(raw) {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Variable(name) if env.contains_key(name) => {
                out.push_str(&resolve_one(name, env, process, resolved, stack)?);
            }
            Piece::Variable(name) => match process(name) {
                Some(value) => out.push_str(&value),
                None => return Err(TemplateError::UnknownVariable(name.to_string())),
            },
        }
    }
    stack.pop();
    resolved.insert(key.to_string(), out.clone());
    Ok(out)
}

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
                chain: "A -> B -> A".into()
            }
        );
    }
}
