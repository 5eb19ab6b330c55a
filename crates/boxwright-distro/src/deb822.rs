//! deb822 paragraphs (Debian Policy §5.1): `Name: value` fields, continuation lines that
//! start with a space or a tab, paragraphs separated by blank lines. Field order is kept,
//! values are kept as written, so a paragraph can be written back unchanged.
//!
//! Comments (`#` at the start of a line) are allowed only where Debian allows them, in source
//! control files ([`parse_control`]); in Release, Packages and status files a `#` line is an
//! error, as it is not a valid field ([`parse`]).

use crate::error::{Error, Result};

/// The largest paragraph accepted, in bytes (Packages paragraphs are a few KiB).
pub const MAX_PARAGRAPH: usize = 1 << 20;

/// One paragraph: its fields in order, and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    /// The line of the paragraph's first field.
    pub line: usize,
    fields: Vec<(String, String)>,
}

impl Paragraph {
    /// The value of a field (names compare case-insensitively, as Policy says). A multi-line
    /// value is the first line, then each continuation line after a `\n`, as written (with
    /// its leading space).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The continuation lines of a multi-line field, trimmed, without empty ones (the
    /// `SHA256` list of a Release).
    pub fn lines(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .map(|value| {
                value
                    .split('\n')
                    .skip(1)
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The fields in order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The fields in order, owned.
    pub fn into_fields(self) -> Vec<(String, String)> {
        self.fields
    }
}

/// Parses a deb822 text without comments (Release, Packages, dpkg's status). `source_name`
/// names the text in errors.
pub fn parse(text: &str, source_name: &str) -> Result<Vec<Paragraph>> {
    Parser::new(source_name, false).run(text)
}

/// Parses a deb822 text in which lines starting with `#` are comments (debian/control).
pub fn parse_control(text: &str, source_name: &str) -> Result<Vec<Paragraph>> {
    Parser::new(source_name, true).run(text)
}

struct Parser<'a> {
    source_name: &'a str,
    comments: bool,
    paragraphs: Vec<Paragraph>,
    current: Option<Paragraph>,
    bytes: usize,
}

impl<'a> Parser<'a> {
    fn new(source_name: &'a str, comments: bool) -> Self {
        Parser {
            source_name,
            comments,
            paragraphs: Vec::new(),
            current: None,
            bytes: 0,
        }
    }

    fn error(&self, line: usize, reason: impl Into<String>) -> Error {
        Error::Deb822 {
            source_name: self.source_name.to_string(),
            line,
            reason: reason.into(),
        }
    }

    fn run(mut self, text: &str) -> Result<Vec<Paragraph>> {
        for (index, line) in text.split('\n').enumerate() {
            self.line(index + 1, line)?;
        }
        self.finish();
        Ok(self.paragraphs)
    }

    fn finish(&mut self) {
        if let Some(paragraph) = self.current.take() {
            self.paragraphs.push(paragraph);
        }
        self.bytes = 0;
    }

    fn line(&mut self, number: usize, line: &str) -> Result<()> {
        if line.trim_matches([' ', '\t']).is_empty() {
            self.finish();
            return Ok(());
        }
        if line.starts_with('#') {
            if self.comments {
                return Ok(());
            }
            return Err(self.error(number, "a `#` comment, which this file does not allow"));
        }
        self.bytes += line.len() + 1;
        if self.bytes > MAX_PARAGRAPH {
            return Err(self.error(
                number,
                format!("the paragraph is larger than {MAX_PARAGRAPH} bytes"),
            ));
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = self.current.as_mut().and_then(|p| p.fields.last_mut()) else {
                return Err(self.error(number, "a continuation line before any field"));
            };
            value.push('\n');
            value.push_str(line);
            return Ok(());
        }
        let (name, value) = self.field(number, line)?;
        let paragraph = self.current.get_or_insert_with(|| Paragraph {
            line: number,
            fields: Vec::new(),
        });
        if paragraph.get(name).is_some() {
            let reason = format!("field `{name}` appears twice in the paragraph");
            return Err(self.error(number, reason));
        }
        paragraph
            .fields
            .push((name.to_string(), value.trim().to_string()));
        Ok(())
    }

    /// `Name: value`, the name printable ASCII without `:`, not starting with `#` or `-`.
    fn field<'l>(&self, number: usize, line: &'l str) -> Result<(&'l str, &'l str)> {
        let Some((name, value)) = line.split_once(':') else {
            return Err(self.error(number, "not a `Name: value` field (no `:`)"));
        };
        if name.is_empty() {
            return Err(self.error(number, "empty field name"));
        }
        if !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(self.error(
                number,
                format!(
                    "field name `{}` is not printable ASCII",
                    name.escape_debug()
                ),
            ));
        }
        if name.starts_with(['#', '-']) {
            return Err(self.error(
                number,
                format!("field name `{name}` starts with `#` or `-`"),
            ));
        }
        Ok((name, value))
    }
}

/// Writes fields back as one deb822 paragraph (without the blank line after it).
pub fn write_paragraph(fields: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in fields {
        out.push_str(name);
        out.push(':');
        if !value.is_empty() && !value.starts_with('\n') {
            out.push(' ');
        }
        out.push_str(value);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_keep_order_and_continuations() {
        let text = "Package: a\nVersion: 1\nDescription: short\n long\n .\n more\n\n\n\
                    Package: b\nSHA256:\n 00 1 x\n 11 2 y\n";
        let paragraphs = parse(text, "Packages").unwrap();
        assert_eq!(paragraphs.len(), 2);
        assert_eq!(paragraphs[0].line, 1);
        assert_eq!(paragraphs[0].get("package"), Some("a"));
        assert_eq!(
            paragraphs[0].get("Description"),
            Some("short\n long\n .\n more")
        );
        let names: Vec<&str> = paragraphs[0]
            .fields()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(names, ["Package", "Version", "Description"]);
        assert_eq!(paragraphs[1].line, 9);
        assert_eq!(paragraphs[1].lines("SHA256"), ["00 1 x", "11 2 y"]);
        let written = write_paragraph(paragraphs[1].fields());
        assert_eq!(written, "Package: b\nSHA256:\n 00 1 x\n 11 2 y\n");
        assert_eq!(
            write_paragraph(paragraphs[0].fields()),
            "Package: a\nVersion: 1\nDescription: short\n long\n .\n more\n"
        );
    }

    #[test]
    fn comments_only_in_control_files() {
        let text = "# a comment\nSource: x\n# inside\nSection: y\n";
        let control = parse_control(text, "debian/control").unwrap();
        assert_eq!(control[0].fields().len(), 2);
        let error = parse(text, "Packages").unwrap_err().to_string();
        assert!(error.contains("Packages line 1"), "{error}");
        assert!(error.contains('#'), "{error}");
    }

    #[test]
    fn refuses_bad_fields_naming_the_line() {
        for (text, line, words) in [
            ("Package: a\nno colon here\n", 2, "no `:`"),
            (" continuation\n", 1, "continuation"),
            ("Package: a\nPackage: b\n", 2, "twice"),
            ("Pack\u{e9}ge: a\n", 1, "printable ASCII"),
            ("Pack age: a\n", 1, "printable ASCII"),
            (": a\n", 1, "empty field name"),
        ] {
            let error = parse(text, "Release").unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("Release line {line}:")),
                "{error}"
            );
            assert!(error.contains(words), "{error}");
        }
    }

    #[test]
    fn refuses_a_paragraph_over_the_bound() {
        let mut text = String::from("Package: a\nDescription: x\n");
        let line = format!(" {}\n", "y".repeat(1000));
        for _ in 0..1100 {
            text.push_str(&line);
        }
        let error = parse(&text, "Packages").unwrap_err().to_string();
        assert!(error.contains("larger than 1048576 bytes"), "{error}");
        // The same lines split over paragraphs are fine.
        let split = text.replace(&line, &format!("{line}\nPackage: b\n"));
        assert_eq!(parse(&split, "Packages").unwrap().len(), 1101);
    }
}
