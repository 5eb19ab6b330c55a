//! JSON pointers (RFC 6901) for error messages.

/// Appends one reference token to a JSON pointer, escaping `~` and `/`.
pub(crate) fn push(pointer: &str, token: &str) -> String {
    let escaped = token.replace('~', "~0").replace('/', "~1");
    format!("{pointer}/{escaped}")
}

/// Converts a serde_path_to_error path into a JSON pointer below `base`.
pub(crate) fn from_path(base: &str, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = base.to_string();
    for segment in path {
        pointer = match segment {
            Segment::Seq { index } => push(&pointer, &index.to_string()),
            Segment::Map { key } => push(&pointer, key),
            Segment::Enum { variant } => push(&pointer, variant),
            Segment::Unknown => push(&pointer, "?"),
        };
    }
    pointer
}

/// The reference tokens of a serde_ignored path.
pub(crate) fn ignored_tokens(path: &serde_ignored::Path<'_>) -> Vec<String> {
    use serde_ignored::Path;
    fn walk(path: &Path<'_>, out: &mut Vec<String>) {
        match path {
            Path::Root => {}
            Path::Seq { parent, index } => {
                walk(parent, out);
                out.push(index.to_string());
            }
            Path::Map { parent, key } => {
                walk(parent, out);
                out.push(key.clone());
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => {
                walk(parent, out);
            }
        }
    }
    let mut tokens = Vec::new();
    walk(path, &mut tokens);
    tokens
}

/// Converts a serde_ignored path into a JSON pointer below `base`, returning the last key too.
pub(crate) fn from_ignored(base: &str, path: &serde_ignored::Path<'_>) -> (String, String) {
    let tokens = ignored_tokens(path);
    let key = tokens.last().cloned().unwrap_or_default();
    let pointer = tokens.iter().fold(base.to_string(), |p, t| push(&p, t));
    (pointer, key)
}

#[cfg(test)]
mod tests {
    use super::push;

    #[test]
    fn escapes_reference_tokens() {
        assert_eq!(push("/image/files", "/opt/a~b"), "/image/files/~1opt~1a~0b");
    }
}
