//! Version order and version relations, as dpkg and apk-tools define them.
//!
//! Both orders are written here rather than taken from a crate: dpkg's is a dozen lines of
//! Debian Policy §5.6.12, and no maintained crate implements apk-tools' order (its tokens,
//! suffixes and leading-zero rule are apk's own), so one small module keeps both side by side
//! with the same table tests.

use std::cmp::Ordering;

use crate::model::{Kind, Op};

/// Orders two versions as the distribution's own tool does (`dpkg --compare-versions`,
/// `apk version -t`).
pub fn compare(kind: Kind, a: &str, b: &str) -> Ordering {
    match kind {
        Kind::Deb => compare_deb(a, b),
        Kind::Apk => compare_apk(a, b),
    }
}

/// Whether `version` satisfies the relation `op wanted`. [`Op::Fuzzy`] is apk's `~`: every
/// token of `wanted` matches the start of `version` (`1.2.3-r0 ~ 1.2`); for Debian it means
/// equality.
pub fn satisfies(kind: Kind, version: &str, op: Op, wanted: &str) -> bool {
    if op == Op::Fuzzy && kind == Kind::Apk {
        return apk::compare(version, wanted, true) == Ordering::Equal;
    }
    let order = compare(kind, version, wanted);
    match op {
        Op::Lt => order == Ordering::Less,
        Op::Le => order != Ordering::Greater,
        Op::Eq | Op::Fuzzy => order == Ordering::Equal,
        Op::Ge => order != Ordering::Less,
        Op::Gt => order == Ordering::Greater,
    }
}

/// dpkg: `[epoch:]upstream[-revision]`, epoch numerically, then upstream and revision with
/// dpkg's string order.
fn compare_deb(a: &str, b: &str) -> Ordering {
    let (epoch_a, upstream_a, revision_a) = split_deb(a);
    let (epoch_b, upstream_b, revision_b) = split_deb(b);
    compare_digits(epoch_a, epoch_b)
        .then_with(|| compare_deb_part(upstream_a, upstream_b))
        .then_with(|| compare_deb_part(revision_a, revision_b))
}

/// `(epoch, upstream, revision)`; an absent epoch is `0`, an absent revision empty (which
/// dpkg orders like `0`).
fn split_deb(version: &str) -> (&str, &str, &str) {
    let (epoch, rest) = match version.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|byte| byte.is_ascii_digit()) => (epoch, rest),
        _ => ("0", version),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// dpkg's weight of a non-digit byte: `~` sorts before the end of the string, letters before
/// everything else.
fn deb_weight(byte: Option<u8>) -> i32 {
    match byte {
        None => 0,
        Some(b'~') => -1,
        Some(byte) if byte.is_ascii_alphabetic() => i32::from(byte),
        Some(byte) => i32::from(byte) + 256,
    }
}

/// Alternating non-digit runs (compared byte by byte with [`deb_weight`]) and digit runs
/// (compared numerically).
fn compare_deb_part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        let text_a = a.iter().take_while(|byte| !byte.is_ascii_digit()).count();
        let text_b = b.iter().take_while(|byte| !byte.is_ascii_digit()).count();
        for index in 0..text_a.max(text_b) {
            let weight_a = deb_weight((index < text_a).then(|| a[index]));
            let weight_b = deb_weight((index < text_b).then(|| b[index]));
            if weight_a != weight_b {
                return weight_a.cmp(&weight_b);
            }
        }
        (a, b) = (&a[text_a..], &b[text_b..]);
        let digits_a = a.iter().take_while(|byte| byte.is_ascii_digit()).count();
        let digits_b = b.iter().take_while(|byte| byte.is_ascii_digit()).count();
        let order = compare_digits(
            std::str::from_utf8(&a[..digits_a]).unwrap_or_default(),
            std::str::from_utf8(&b[..digits_b]).unwrap_or_default(),
        );
        if order != Ordering::Equal {
            return order;
        }
        (a, b) = (&a[digits_a..], &b[digits_b..]);
    }
    Ordering::Equal
}

/// Two runs of ASCII digits as numbers of any length (an empty run is zero).
fn compare_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn compare_apk(a: &str, b: &str) -> Ordering {
    apk::compare(a, b, false)
}

/// apk-tools' order: `digit{.digit}...{letter}{_suffix{digits}}...{~hash}{-r#}`.
mod apk {
    use std::cmp::Ordering;

    use super::compare_digits;

    /// Token kinds in the order apk ranks them when one version stops matching the other's
    /// shape: a version whose next token is a later kind is the smaller one.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Kind {
        InitialDigit,
        Digit,
        Letter,
        Suffix,
        SuffixNumber,
        CommitHash,
        Revision,
        End,
        Invalid,
    }

    /// Pre-release suffixes sort before the release, post-release ones after it.
    const SUFFIXES: [(&str, i8); 9] = [
        ("alpha", -4),
        ("beta", -3),
        ("pre", -2),
        ("rc", -1),
        ("cvs", 1),
        ("svn", 2),
        ("git", 3),
        ("hg", 4),
        ("p", 5),
    ];

    #[derive(Debug, Clone, Copy)]
    struct Token<'a> {
        kind: Kind,
        text: &'a str,
        suffix: i8,
    }

    /// Splits a version into tokens, stopping after the first `End` or `Invalid`.
    struct Tokens<'a> {
        rest: &'a str,
        previous: Option<Kind>,
    }

    impl<'a> Tokens<'a> {
        fn new(version: &'a str) -> Self {
            Self {
                rest: version,
                previous: None,
            }
        }

        fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
            let length = self.rest.bytes().take_while(|&byte| keep(byte)).count();
            let (taken, rest) = self.rest.split_at(length);
            self.rest = rest;
            taken
        }

        fn digits(&mut self, kind: Kind) -> Token<'a> {
            let text = self.take_while(|byte| byte.is_ascii_digit());
            let kind = if text.is_empty() { Kind::Invalid } else { kind };
            Token {
                kind,
                text,
                suffix: 0,
            }
        }

        fn next_token(&mut self, previous: Kind) -> Token<'a> {
            let invalid = Token {
                kind: Kind::Invalid,
                text: "",
                suffix: 0,
            };
            let Some(&first) = self.rest.as_bytes().first() else {
                return Token {
                    kind: Kind::End,
                    ..invalid
                };
            };
            match first {
                b'a'..=b'z' if previous <= Kind::Digit => {
                    let (text, rest) = self.rest.split_at(1);
                    self.rest = rest;
                    Token {
                        kind: Kind::Letter,
                        text,
                        suffix: 0,
                    }
                }
                b'.' | b'0'..=b'9' => {
                    if first == b'.' {
                        if previous > Kind::Digit {
                            return invalid;
                        }
                        self.rest = &self.rest[1..];
                    }
                    match previous {
                        Kind::InitialDigit | Kind::Digit => self.digits(Kind::Digit),
                        Kind::Suffix => self.digits(Kind::SuffixNumber),
                        _ => invalid,
                    }
                }
                b'_' if previous <= Kind::SuffixNumber => {
                    self.rest = &self.rest[1..];
                    let text = self.take_while(|byte| byte.is_ascii_lowercase());
                    match SUFFIXES.iter().find(|(name, _)| *name == text) {
                        Some(&(_, suffix)) => Token {
                            kind: Kind::Suffix,
                            text,
                            suffix,
                        },
                        None => invalid,
                    }
                }
                b'~' if previous < Kind::CommitHash => {
                    self.rest = &self.rest[1..];
                    let text = self.take_while(|byte| byte.is_ascii_hexdigit());
                    if text.is_empty() {
                        return invalid;
                    }
                    Token {
                        kind: Kind::CommitHash,
                        text,
                        suffix: 0,
                    }
                }
                b'-' if previous < Kind::Revision && self.rest.starts_with("-r") => {
                    self.rest = &self.rest[2..];
                    self.digits(Kind::Revision)
                }
                _ => invalid,
            }
        }
    }

    impl<'a> Iterator for Tokens<'a> {
        type Item = Token<'a>;

        fn next(&mut self) -> Option<Token<'a>> {
            let token = match self.previous {
                None => self.digits(Kind::InitialDigit),
                Some(Kind::End | Kind::Invalid) => return None,
                Some(previous) => self.next_token(previous),
            };
            self.previous = Some(token.kind);
            Some(token)
        }
    }

    /// Two tokens of one kind: digit runs numerically unless either has a leading zero after
    /// a dot (then as strings, Gentoo's rule), letters by byte, suffixes by rank, a commit
    /// hash as a string.
    fn compare_tokens(a: &Token<'_>, b: &Token<'_>) -> Ordering {
        match a.kind {
            Kind::Digit if a.text.starts_with('0') || b.text.starts_with('0') => a.text.cmp(b.text),
            Kind::InitialDigit | Kind::Digit | Kind::SuffixNumber | Kind::Revision => {
                compare_digits(a.text, b.text)
            }
            Kind::Suffix => a.suffix.cmp(&b.suffix),
            _ => a.text.cmp(b.text),
        }
    }

    /// `fuzzy`: equal when `b`'s tokens all match the start of `a` (apk's `~`).
    pub(super) fn compare(a: &str, b: &str, fuzzy: bool) -> Ordering {
        let mut left = Tokens::new(a);
        let mut right = Tokens::new(b);
        loop {
            let (Some(token_a), Some(token_b)) = (left.next(), right.next()) else {
                return Ordering::Equal;
            };
            if token_a.kind == token_b.kind && token_a.kind < Kind::End {
                let order = compare_tokens(&token_a, &token_b);
                if order != Ordering::Equal {
                    return order;
                }
                continue;
            }
            return compare_tails(token_a, token_b, fuzzy);
        }
    }

    /// The first tokens whose kinds differ (or that end both versions) decide: the version
    /// that goes on is greater, unless it goes on with a pre-release suffix.
    fn compare_tails(a: Token<'_>, b: Token<'_>, fuzzy: bool) -> Ordering {
        if a.kind == b.kind || (fuzzy && b.kind == Kind::End) {
            return Ordering::Equal;
        }
        if a.kind == Kind::Suffix && a.suffix < 0 {
            return Ordering::Less;
        }
        if b.kind == Kind::Suffix && b.suffix < 0 {
            return Ordering::Greater;
        }
        b.kind.cmp(&a.kind)
    }
}

#[cfg(test)]
mod tests;
