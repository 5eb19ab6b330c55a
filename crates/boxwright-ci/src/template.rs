//! Templates: YAML files kept as text with `@NAME@` markers, filled in by [`render`].

/// `template` with every `@NAME@` replaced by its value. A marker left unfilled is a bug in
/// this crate, caught by the tests.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("@{name}@"), value);
    }
    debug_assert!(
        unfilled_marker(&out).is_none(),
        "unfilled template marker {:?}",
        unfilled_marker(&out)
    );
    out
}

/// The first `@NAME@` (upper-case letters and `_`) left in `text`.
pub fn unfilled_marker(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(offset) = text[i..].find('@') {
        let start = i + offset;
        let mut end = start + 1;
        while end < bytes.len() && (bytes[end].is_ascii_uppercase() || bytes[end] == b'_') {
            end += 1;
        }
        if end > start + 1 && end < bytes.len() && bytes[end] == b'@' {
            return Some(&text[start..=end]);
        }
        i = start + 1;
    }
    None
}

/// `value` as a YAML single-quoted scalar.
pub fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `text` as a regular expression matching itself (for GitLab `rules: if` patterns; the
/// values are words of `[A-Za-z0-9._-]`, so only `.` needs escaping).
pub fn regex_literal(text: &str) -> String {
    text.replace('.', "\\.")
}
