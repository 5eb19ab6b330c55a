//! Upstream version numbers and their order.
//!
//! The grammar is `N(.N)*` followed by an optional pre-release `-ID(.ID)*`, where `N` is
//! ASCII digits and `ID` is ASCII letters, digits and `-`. Anything else (`latest`,
//! `nightly-2024`, `1..2`, `v1.2`, `1.2+build`, the empty string) is an error: a string
//! that is not a version is never ordered as text.
//!
//! The order:
//! - release components numerically, missing ones as zero (`1.2` equals `1.2.0`, and
//!   `10.10.0` is above `10.9.3`); the original text is kept for display;
//! - a release above its pre-releases (`1.0.0` > `1.0.0-rc1`);
//! - pre-releases by dot-separated identifiers, as in SemVer: numeric identifiers
//!   numerically and below alphanumeric ones, more identifiers above fewer when the rest is
//!   equal. Unlike SemVer's plain ASCII order, digit runs inside an alphanumeric identifier
//!   compare numerically too, so `rc2` < `rc10` as upstreams mean it.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A parsed upstream version, ordered numerically; displays as the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    release: Vec<u64>,
    pre: Vec<String>,
}

impl Version {
    /// Parses `text` (without a leading `v`: that belongs to the tag, not the version).
    pub fn parse(text: &str) -> Result<Version, Error> {
        let invalid = |reason: &'static str| Error::InvalidVersion {
            text: text.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        let (release_text, pre_text) = match text.split_once('-') {
            Some((release, pre)) => (release, Some(pre)),
            None => (text, None),
        };
        let mut release = Vec::new();
        for component in release_text.split('.') {
            if component.is_empty() {
                return Err(invalid("a numeric component is empty"));
            }
            if !component.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "the release part must be numbers separated by dots",
                ));
            }
            release.push(
                component
                    .parse()
                    .map_err(|_| invalid("a numeric component is too large"))?,
            );
        }
        let mut pre = Vec::new();
        if let Some(pre_text) = pre_text {
            for identifier in pre_text.split('.') {
                if identifier.is_empty() {
                    return Err(invalid("a pre-release identifier is empty"));
                }
                if !identifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(invalid(
                        "pre-release identifiers may hold only letters, digits and `-`",
                    ));
                }
                pre.push(identifier.to_string());
            }
        }
        Ok(Version {
            text: text.to_string(),
            release,
            pre,
        })
    }

    /// The text this version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the version has a pre-release part (`-rc1`).
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl FromStr for Version {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Version::parse(text)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let width = self.release.len().max(other.release.len());
        let component = |v: &Version, i: usize| v.release.get(i).copied().unwrap_or(0);
        (0..width)
            .map(|i| component(self, i).cmp(&component(other, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(&self.pre, &other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Equal in the order (`1.2 == 1.2.0`), whatever the text.
impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Version {}

fn compare_pre(a: &[String], b: &[String]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| compare_identifier(x, y))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

fn is_numeric(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// SemVer's identifier order, with digit runs inside alphanumeric identifiers compared as
/// numbers.
fn compare_identifier(a: &str, b: &str) -> Ordering {
    match (is_numeric(a), is_numeric(b)) {
        (true, true) => compare_digits(a, b),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => {
            let (mut a_runs, mut b_runs) = (runs(a), runs(b));
            loop {
                match (a_runs.next(), b_runs.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(x), Some(y)) => {
                        let order = if is_numeric(x) && is_numeric(y) {
                            compare_digits(x, y)
                        } else {
                            x.cmp(y)
                        };
                        if order.is_ne() {
                            return order;
                        }
                    }
                }
            }
        }
    }
}

/// Two strings of ASCII digits compared as numbers of any length.
fn compare_digits(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `rc10beta` → `rc`, `10`, `beta`: maximal runs of digits and of other characters.
fn runs(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.bytes().next()?;
        let digits = first.is_ascii_digit();
        let end = rest
            .bytes()
            .position(|b| b.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[rstest]
    #[case("10.10.0", &[10, 10, 0], &[])]
    #[case("1.2", &[1, 2], &[])]
    #[case("11.0.10", &[11, 0, 10], &[])]
    #[case("7", &[7], &[])]
    #[case("1.0.0-rc1", &[1, 0, 0], &["rc1"])]
    #[case("2.0-beta.2", &[2, 0], &["beta", "2"])]
    #[case("1.0.0-rc-1", &[1, 0, 0], &["rc-1"])]
    #[case("1.02.3", &[1, 2, 3], &[])]
    #[case("2024.01.15", &[2024, 1, 15], &[])]
    fn parses(#[case] text: &str, #[case] release: &[u64], #[case] pre: &[&str]) {
        let version = v(text);
        assert_eq!(version.release, release);
        assert_eq!(version.pre, pre);
        assert_eq!(version.as_str(), text);
        assert_eq!(version.to_string(), text);
        assert_eq!(version.is_prerelease(), !pre.is_empty());
    }

    #[rstest]
    #[case("", "it is empty")]
    #[case("latest", "numbers separated by dots")]
    #[case("nightly-2024", "numbers separated by dots")]
    #[case("1..2", "component is empty")]
    #[case(".1", "component is empty")]
    #[case("1.", "component is empty")]
    #[case("v1.2", "numbers separated by dots")]
    #[case("1.2.3rc1", "numbers separated by dots")]
    #[case(" 1.2", "numbers separated by dots")]
    #[case("1.2-", "identifier is empty")]
    #[case("1.2-rc..1", "identifier is empty")]
    #[case("1.2-rc_1", "letters, digits and `-`")]
    #[case("1.2.3+build5", "numbers separated by dots")]
    #[case("1.2.3-rc1+build5", "letters, digits and `-`")]
    #[case("99999999999999999999.1", "too large")]
    fn refuses(#[case] text: &str, #[case] reason: &str) {
        let err = Version::parse(text).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(reason), "{text:?}: {message}");
        assert!(message.contains(&format!("`{text}`")), "{message}");
    }

    /// Each row: lower < higher.
    #[rstest]
    #[case("10.9.3", "10.10.0")]
    #[case("1.9", "1.10")]
    #[case("1.2.9", "1.10")]
    #[case("1.2", "1.2.1")]
    #[case("1.2.0", "1.2.0.1")]
    #[case("9.11.5", "10.0.0")]
    #[case("11.0.4", "11.0.10")]
    #[case("1.0.0-rc1", "1.0.0")]
    #[case("1.0.0-rc10", "1.0")]
    #[case("1.0-rc1", "1.0.0")]
    #[case("0.9.9", "1.0.0-alpha")]
    #[case("1.0.0-alpha", "1.0.0-alpha.1")]
    #[case("1.0.0-alpha.1", "1.0.0-alpha.beta")]
    #[case("1.0.0-alpha.beta", "1.0.0-beta")]
    #[case("1.0.0-beta", "1.0.0-beta.2")]
    #[case("1.0.0-beta.2", "1.0.0-beta.11")]
    #[case("1.0.0-beta.11", "1.0.0-rc.1")]
    #[case("1.0.0-rc2", "1.0.0-rc10")]
    #[case("1.0.0-rc", "1.0.0-rc1")]
    #[case("1.0.0-1", "1.0.0-alpha")]
    #[case("1.0.0-2", "1.0.0-10")]
    #[case("1.0.0-RC1", "1.0.0-rc1")]
    #[case("1.0.0-99999999999999999999999", "1.0.0-100000000000000000000000")]
    fn orders(#[case] lower: &str, #[case] higher: &str) {
        let (lower, higher) = (v(lower), v(higher));
        assert_eq!(lower.cmp(&higher), Ordering::Less, "{lower} < {higher}");
        assert_eq!(higher.cmp(&lower), Ordering::Greater, "{higher} > {lower}");
        assert!(lower < higher && lower != higher);
    }

    #[rstest]
    #[case("1.2", "1.2.0")]
    #[case("1.2.0", "1.2.0.0")]
    #[case("1.02", "1.2")]
    #[case("1.0-rc01", "1.0.0-rc1")]
    fn equal_in_order_but_keep_their_text(#[case] a: &str, #[case] b: &str) {
        assert_eq!(v(a), v(b));
        assert_eq!(v(a).cmp(&v(b)), Ordering::Equal);
        assert_eq!(v(a).as_str(), a);
        assert_eq!(v(b).as_str(), b);
    }

    #[test]
    fn sorts_a_list_numerically() {
        let mut versions: Vec<Version> = [
            "10.9.3",
            "10.10.0",
            "2.0",
            "10.10.0-rc1",
            "10.9.10",
            "1.0",
            "10.10.0-rc2",
        ]
        .iter()
        .map(|t| v(t))
        .collect();
        versions.sort();
        let texts: Vec<&str> = versions.iter().map(Version::as_str).collect();
        assert_eq!(
            texts,
            [
                "1.0",
                "2.0",
                "10.9.3",
                "10.9.10",
                "10.10.0-rc1",
                "10.10.0-rc2",
                "10.10.0"
            ]
        );
    }

    #[test]
    fn from_str_is_parse() {
        let parsed: Version = "3.1.4".parse().unwrap();
        assert_eq!(parsed, v("3.1.4"));
        assert!("latest".parse::<Version>().is_err());
    }
}
