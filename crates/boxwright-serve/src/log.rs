//! The server's log lines: one line per event, request-controlled text escaped.
//!
//! Everything a client controls (token header fields, claims, form fields, file names, package
//! metadata, errors that quote them) passes through [`escape`] before it reaches a log line or
//! a refusal's reason, so no request can end a line, start a forged one, or send terminal
//! control sequences to whoever reads the log.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

/// Where the server's log lines go (one line each, no trailing newline).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// `text` with backslashes doubled, `\n`, `\r`, `\t` as those escapes, and every other
/// control character, line or paragraph separator and bidirectional control as `\u{…}`.
/// Text without any of them is returned as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

fn needs_escape(c: char) -> bool {
    c == '\\'
        || c.is_control()
        // Line and paragraph separators: line breaks to some readers.
        || matches!(c, '\u{2028}' | '\u{2029}')
        // Bidirectional embeddings, overrides and isolates: reorder what a reader sees.
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "upload from 127.0.0.1:80 refused: 401 unknown key id rsa-9 ünïcode \"q\"";
        assert!(matches!(escape(text), std::borrow::Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn control_characters_and_separators_are_escaped() {
        for (raw, shown) in [
            ("a\nb", "a\\nb"),
            ("a\r\nb", "a\\r\\nb"),
            ("a\tb", "a\\tb"),
            ("\u{1b}[2K", "\\u{1b}[2K"),
            ("nul\0", "nul\\u{0}"),
            ("del\u{7f}", "del\\u{7f}"),
            ("nel\u{85}", "nel\\u{85}"),
            ("ls\u{2028}ps\u{2029}", "ls\\u{2028}ps\\u{2029}"),
            ("\u{202e}rtl\u{2066}", "\\u{202e}rtl\\u{2066}"),
            // The escape character itself, so `\n` in the text and a newline differ.
            ("back\\nslash", "back\\\\nslash"),
        ] {
            assert_eq!(escape(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn escaped_text_is_one_line_of_printable_characters() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let escaped = escape(&all);
        assert!(!escaped.chars().any(char::is_control));
        assert_eq!(escaped.lines().count(), 1);
    }
}
