//! Tag → version: what part of a tag is the version, and what is a flavour.

use regex::Regex;

use crate::Error;
use crate::version::Version;

/// How tags become versions: an upstream's `tag_regex`, compiled, or none.
#[derive(Debug, Clone)]
pub(crate) struct TagRule {
    regex: Option<Regex>,
}

/// A tag that gave a version.
#[derive(Debug, Clone)]
pub(crate) struct TaggedVersion {
    pub version: Version,
    /// What the regex matched outside its `version` group (without a leading `v`).
    pub flavour: Option<String>,
}

/// Why a tag gives no version.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TagSkip {
    /// The tag does not match `tag_regex`.
    #[error("does not match tag_regex `{regex}`")]
    NoMatch { regex: String },
    /// The regex matched, but its `version` group did not take part.
    #[error("the `version` group of tag_regex `{regex}` took no part in the match")]
    GroupUnused { regex: String },
    /// The version text is not a version.
    #[error(transparent)]
    Version(#[from] Error),
}

impl TagRule {
    /// Compiles `tag_regex` (checked at load time already; checked again for callers that
    /// build an `Upstream` themselves).
    pub fn new(tag_regex: Option<&str>) -> Result<TagRule, Error> {
        let regex = tag_regex
            .map(|pattern| {
                Regex::new(pattern).map_err(|source| Error::TagRegex {
                    pattern: pattern.to_string(),
                    source,
                })
            })
            .transpose()?;
        Ok(TagRule { regex })
    }

    /// The version of `tag`, or why the tag gives none.
    ///
    /// - With a regex, the tag must match. With a `version` group, the group is the version
    ///   and the rest of the match is the flavour: text after the group, and text before it
    ///   other than a leading `v` (`v11.0.4-limitless` → `11.0.4`, flavour `-limitless`).
    ///   Without a `version` group, the whole match minus a leading `v` is the version.
    /// - Without a regex, the tag minus a leading `v` is the version (so
    ///   `v11.0.4-limitless` is the pre-release `11.0.4-limitless`).
    pub fn version(&self, tag: &str) -> Result<TaggedVersion, TagSkip> {
        let (text, flavour) = match &self.regex {
            None => (strip_v(tag), None),
            Some(regex) => {
                let captures = regex.captures(tag).ok_or_else(|| TagSkip::NoMatch {
                    regex: regex.as_str().to_string(),
                })?;
                let whole = captures.get(0).expect("group 0 is the match");
                if regex.capture_names().flatten().any(|n| n == "version") {
                    let group = captures
                        .name("version")
                        .ok_or_else(|| TagSkip::GroupUnused {
                            regex: regex.as_str().to_string(),
                        })?;
                    let before = &tag[whole.start()..group.start()];
                    let after = &tag[group.end()..whole.end()];
                    let flavour = format!("{}{after}", strip_v(before));
                    (group.as_str(), (!flavour.is_empty()).then_some(flavour))
                } else {
                    (strip_v(whole.as_str()), None)
                }
            }
        };
        let version = Version::parse(text)?;
        Ok(TaggedVersion { version, flavour })
    }
}

fn strip_v(text: &str) -> &str {
    text.strip_prefix('v').unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const LIMITLESS: &str = r"^v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-limitless$";

    #[rstest]
    #[case(None, "v1.2.3", "1.2.3", None)]
    #[case(None, "1.2.3", "1.2.3", None)]
    #[case(None, "v11.0.4-limitless", "11.0.4-limitless", None)]
    #[case(None, "v2.0-rc1", "2.0-rc1", None)]
    #[case(Some(LIMITLESS), "v11.0.4-limitless", "11.0.4", Some("-limitless"))]
    #[case(Some(r"^v(?P<version>[0-9.]+)$"), "v10.10.0", "10.10.0", None)]
    #[case(
        Some(r"^v(?P<version>[0-9.]+(-rc[0-9]+)?)$"),
        "v1.0-rc2",
        "1.0-rc2",
        None
    )]
    #[case(
        Some(r"^release-(?P<version>[0-9.]+)$"),
        "release-1.4",
        "1.4",
        Some("release-")
    )]
    #[case(
        Some(r"^(?P<version>[0-9.]+)-(alpine|slim)$"),
        "3.2-slim",
        "3.2",
        Some("-slim")
    )]
    #[case(Some(r"^v[0-9.]+$"), "v4.5.6", "4.5.6", None)]
    #[case(Some(r"[0-9]+\.[0-9]+"), "nginx-1.27-final", "1.27", None)]
    #[case(Some(r"(?P<version>[0-9]+\.[0-9]+)"), "nginx-1.27-final", "1.27", None)]
    fn versions(
        #[case] regex: Option<&str>,
        #[case] tag: &str,
        #[case] version: &str,
        #[case] flavour: Option<&str>,
    ) {
        let tagged = TagRule::new(regex).unwrap().version(tag).unwrap();
        assert_eq!(tagged.version.as_str(), version);
        assert_eq!(tagged.flavour.as_deref(), flavour);
    }

    #[rstest]
    #[case(None, "latest", "`latest` is not a version")]
    #[case(None, "nightly-2024", "`nightly-2024` is not a version")]
    #[case(None, "vv1.2", "`v1.2` is not a version")]
    #[case(Some(LIMITLESS), "v11.0.4", "does not match tag_regex")]
    #[case(Some(LIMITLESS), "v11.0.4-limitless-rc1", "does not match tag_regex")]
    #[case(Some(r"^v(?P<version>[0-9.]+)$"), "v1..2", "`1..2` is not a version")]
    #[case(
        Some(r"^(v(?P<version>[0-9.]+)|head)$"),
        "head",
        "took no part in the match"
    )]
    fn skips(#[case] regex: Option<&str>, #[case] tag: &str, #[case] reason: &str) {
        let err = TagRule::new(regex).unwrap().version(tag).unwrap_err();
        assert!(err.to_string().contains(reason), "{tag}: {err}");
    }

    #[test]
    fn a_regex_that_does_not_compile_is_an_error() {
        let err = TagRule::new(Some("^v(?P<version>[0-9.]+$")).unwrap_err();
        assert!(matches!(err, Error::TagRegex { .. }));
        assert!(err.to_string().contains("^v(?P<version>[0-9.]+$"));
    }
}
