//! Entry names of untrusted layers: normalisation into tree keys, whiteout names, and
//! names for messages.

use super::EntryProblem;

/// Longest name or link target accepted, in bytes (Linux's `PATH_MAX`).
pub(super) const MAX_PATH_LEN: usize = 4096;

/// Separator of the components in a tree key. NUL never occurs in a name, and as the
/// smallest byte it makes the byte order of keys the component-by-component order, with a
/// directory's subtree right after it.
pub(super) const SEP: u8 = 0;

/// Prefix of a whiteout file: `.wh.NAME` hides `NAME` of the layers below.
const WHITEOUT: &[u8] = b".wh.";
/// Prefix of the AUFS bookkeeping names (`.wh..wh.plnk`, `.wh..wh.orph`...).
const META: &[u8] = b".wh..wh.";
/// A directory holding this name hides everything the layers below put in it.
const OPAQUE: &[u8] = b".wh..wh..opq";

/// Turns an entry name (or a hard link target) into a tree key: the components joined by
/// [`SEP`], empty and `.` components dropped. One leading `/` or `./` is removed first (layers
/// are relative to the image root, and some writers prefix their names); a name that is still
/// absolute after that (`//etc`), that has a `..` component, a NUL byte, or more than
/// [`MAX_PATH_LEN`] bytes is refused. The empty key is the root itself.
pub(super) fn normalise(raw: &[u8]) -> Result<Vec<u8>, EntryProblem> {
    if raw.is_empty() {
        return Err(EntryProblem::EmptyName);
    }
    if raw.len() > MAX_PATH_LEN {
        return Err(EntryProblem::NameTooLong {
            limit: MAX_PATH_LEN,
        });
    }
    if raw.contains(&0) {
        return Err(EntryProblem::NulInName);
    }
    let rest = raw
        .strip_prefix(b"./")
        .or_else(|| raw.strip_prefix(b"/"))
        .unwrap_or(raw);
    if rest.first() == Some(&b'/') {
        return Err(EntryProblem::AbsolutePath);
    }
    let mut key = Vec::with_capacity(rest.len());
    for part in rest.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(EntryProblem::ParentDir),
            name => {
                if !key.is_empty() {
                    key.push(SEP);
                }
                key.extend_from_slice(name);
            }
        }
    }
    Ok(key)
}

/// The key as a path of the output: components joined by `/`.
pub(super) fn to_path(key: &[u8]) -> Vec<u8> {
    key.iter()
        .map(|&b| if b == SEP { b'/' } else { b })
        .collect()
}

/// The key of the directory holding `key` (the empty key for the root's children).
pub(super) fn parent(key: &[u8]) -> &[u8] {
    key.iter()
        .rposition(|&b| b == SEP)
        .map_or(&key[..0], |i| &key[..i])
}

/// Bounds of the keys strictly below `key`: `[key SEP, key 0x01)`; everything for the root.
pub(super) fn subtree_bounds(key: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut low = key.to_vec();
    let mut high = key.to_vec();
    if !key.is_empty() {
        low.push(SEP);
        high.push(SEP + 1);
    }
    (low, high)
}

/// What a normalised name means for the layer it is in.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Class {
    /// An ordinary entry.
    Plain,
    /// `D/.wh..wh..opq`: hide what lower layers have below `D` (the key given).
    Opaque(Vec<u8>),
    /// `D/.wh.NAME`: hide `D/NAME` of lower layers (the key given).
    Whiteout(Vec<u8>),
    /// AUFS bookkeeping (`.wh..wh.*`) or anything below a whiteout name: no effect.
    Ignored,
}

pub(super) fn classify(key: &[u8]) -> Result<Class, EntryProblem> {
    let mut parts = key.split(|&b| b == SEP);
    let last = parts.next_back().unwrap_or_default();
    if parts.any(|part| part.starts_with(WHITEOUT)) {
        return Ok(Class::Ignored);
    }
    if last == OPAQUE {
        return Ok(Class::Opaque(parent(key).to_vec()));
    }
    if last.starts_with(META) {
        return Ok(Class::Ignored);
    }
    let Some(hidden) = last.strip_prefix(WHITEOUT) else {
        return Ok(Class::Plain);
    };
    if hidden.is_empty() || hidden == b"." || hidden == b".." {
        return Err(EntryProblem::InvalidWhiteout);
    }
    let dir = parent(key);
    let mut target = dir.to_vec();
    if !dir.is_empty() {
        target.push(SEP);
    }
    target.extend_from_slice(hidden);
    Ok(Class::Whiteout(target))
}

/// A raw name for messages, escaped as the unpacker escapes names.
pub(super) use boxwright_archive::display_name as display;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Result<String, EntryProblem> {
        normalise(s.as_bytes()).map(|k| String::from_utf8(to_path(&k)).unwrap())
    }

    #[test]
    fn names_are_normalised_and_escapes_refused() {
        assert_eq!(key("./etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(key("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(key("etc//./x/").unwrap(), "etc/x");
        assert_eq!(key("./").unwrap(), "");
        assert_eq!(key("/").unwrap(), "");
        assert_eq!(key(".").unwrap(), "");
        assert_eq!(key("//etc/shadow"), Err(EntryProblem::AbsolutePath));
        assert_eq!(key(".//etc"), Err(EntryProblem::AbsolutePath));
        assert_eq!(key("../x"), Err(EntryProblem::ParentDir));
        assert_eq!(key("a/../../x"), Err(EntryProblem::ParentDir));
        assert_eq!(key("a/.."), Err(EntryProblem::ParentDir));
        assert_eq!(key(""), Err(EntryProblem::EmptyName));
        assert_eq!(key("a\0b"), Err(EntryProblem::NulInName));
        assert!(matches!(
            normalise(&vec![b'a'; MAX_PATH_LEN + 1]),
            Err(EntryProblem::NameTooLong { .. })
        ));
    }

    #[test]
    fn key_order_is_component_order() {
        let mut keys: Vec<Vec<u8>> = ["a-b", "a/b", "a", "a.b", "a/b/c", "b"]
            .iter()
            .map(|s| normalise(s.as_bytes()).unwrap())
            .collect();
        keys.sort();
        let paths: Vec<String> = keys
            .iter()
            .map(|k| String::from_utf8(to_path(k)).unwrap())
            .collect();
        assert_eq!(paths, ["a", "a/b", "a/b/c", "a-b", "a.b", "b"]);
        let (low, high) = subtree_bounds(&normalise(b"a").unwrap());
        let below: Vec<&String> = keys
            .iter()
            .zip(&paths)
            .filter(|(k, _)| **k >= low && **k < high)
            .map(|(_, p)| p)
            .collect();
        assert_eq!(below, ["a/b", "a/b/c"]);
    }

    #[test]
    fn whiteouts_are_classified() {
        let class = |s: &str| classify(&normalise(s.as_bytes()).unwrap());
        assert_eq!(class("etc/passwd"), Ok(Class::Plain));
        assert_eq!(
            class("etc/.wh.passwd"),
            Ok(Class::Whiteout(normalise(b"etc/passwd").unwrap()))
        );
        assert_eq!(class(".wh.etc"), Ok(Class::Whiteout(b"etc".to_vec())));
        assert_eq!(
            class("opt/app/.wh..wh..opq"),
            Ok(Class::Opaque(normalise(b"opt/app").unwrap()))
        );
        assert_eq!(class(".wh..wh..opq"), Ok(Class::Opaque(Vec::new())));
        assert_eq!(class(".wh..wh.plnk"), Ok(Class::Ignored));
        assert_eq!(class(".wh..wh.plnk/12.34"), Ok(Class::Ignored));
        assert_eq!(class("a/.wh.b/c"), Ok(Class::Ignored));
        assert_eq!(class("a/.wh."), Err(EntryProblem::InvalidWhiteout));
        assert_eq!(class("a/.wh.."), Err(EntryProblem::InvalidWhiteout));
        assert_eq!(class("a/.wh..."), Err(EntryProblem::InvalidWhiteout));
    }

    #[test]
    fn display_escapes_control_characters() {
        assert_eq!(display(b"a\x1b[1mb\n"), "a\\u{1b}[1mb\\n");
        assert_eq!(display(b"caf\xff"), "caf\u{fffd}");
    }
}
