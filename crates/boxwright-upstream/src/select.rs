//! From the tags an API listed to the versions kept: filter, order, deduplicate, bound.

use std::cmp::Ordering;

use crate::tag::TagRule;
use crate::version::Version;
use crate::{SkippedTag, UpstreamVersion};

/// A tag as a forge listed it.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub tag: String,
    /// A GitHub draft release.
    pub draft: bool,
    /// Marked as a prerelease by the forge (GitHub's `prerelease`).
    pub prerelease: bool,
}

/// The versions kept (highest first, at most `max`) and the tags skipped with the reason.
///
/// Drafts are always skipped; prereleases (marked by the forge, or a version with a
/// pre-release part) unless `prereleases`. Tags giving an equal version (`1.2` and `1.2.0`)
/// with the same flavour keep the first the forge listed; the others are skipped.
pub(crate) fn select(
    candidates: Vec<Candidate>,
    rule: &TagRule,
    prereleases: bool,
    max: usize,
) -> (Vec<UpstreamVersion>, Vec<SkippedTag>) {
    let mut skipped = Vec::new();
    let mut skip = |tag: String, reason: String| skipped.push(SkippedTag { tag, reason });
    let mut kept: Vec<(Version, UpstreamVersion)> = Vec::new();
    for candidate in candidates {
        if candidate.draft {
            skip(candidate.tag, "draft release".into());
            continue;
        }
        let tagged = match rule.version(&candidate.tag) {
            Ok(tagged) => tagged,
            Err(reason) => {
                skip(candidate.tag, reason.to_string());
                continue;
            }
        };
        if !prereleases && candidate.prerelease {
            skip(candidate.tag, "prerelease (prereleases is false)".into());
            continue;
        }
        if !prereleases && tagged.version.is_prerelease() {
            skip(
                candidate.tag,
                format!(
                    "`{}` is a pre-release version (prereleases is false)",
                    tagged.version
                ),
            );
            continue;
        }
        let upstream = UpstreamVersion {
            version: tagged.version.to_string(),
            prerelease: candidate.prerelease || tagged.version.is_prerelease(),
            tag: candidate.tag,
            flavour: tagged.flavour,
        };
        kept.push((tagged.version, upstream));
    }
    // Stable: among equal versions and flavours, the forge's first stays first.
    kept.sort_by(|(a, a_up), (b, b_up)| b.cmp(a).then_with(|| a_up.flavour.cmp(&b_up.flavour)));
    let mut versions: Vec<(Version, UpstreamVersion)> = Vec::with_capacity(kept.len());
    for (version, upstream) in kept {
        if let Some((_, first)) = versions
            .last()
            .filter(|(v, up)| *v == version && up.flavour == upstream.flavour)
        {
            let reason = format!("same version as tag `{}`", first.tag);
            skip(upstream.tag, reason);
        } else {
            versions.push((version, upstream));
        }
    }
    versions.truncate(max);
    (versions.into_iter().map(|(_, up)| up).collect(), skipped)
}

/// The semantic latest: the highest version that is not a prerelease; among equal ones, the
/// first in `versions`. Versions that do not parse are passed over.
pub fn latest(versions: &[UpstreamVersion]) -> Option<&UpstreamVersion> {
    versions
        .iter()
        .filter(|v| !v.prerelease)
        .filter_map(|v| Version::parse(&v.version).ok().map(|parsed| (parsed, v)))
        .fold(
            None,
            |best: Option<(Version, &UpstreamVersion)>, (parsed, v)| match &best {
                Some((top, _)) if parsed.cmp(top) != Ordering::Greater => best,
                _ => Some((parsed, v)),
            },
        )
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(tags: &[(&str, bool, bool)]) -> Vec<Candidate> {
        tags.iter()
            .map(|(tag, draft, prerelease)| Candidate {
                tag: (*tag).to_string(),
                draft: *draft,
                prerelease: *prerelease,
            })
            .collect()
    }

    fn plain(tags: &[&str]) -> Vec<Candidate> {
        candidates(&tags.iter().map(|t| (*t, false, false)).collect::<Vec<_>>())
    }

    fn texts(versions: &[UpstreamVersion]) -> Vec<&str> {
        versions.iter().map(|v| v.version.as_str()).collect()
    }

    fn up(version: &str, prerelease: bool) -> UpstreamVersion {
        UpstreamVersion {
            version: version.into(),
            tag: format!("v{version}"),
            flavour: None,
            prerelease,
        }
    }

    #[test]
    fn orders_by_version_not_by_listing() {
        let rule = TagRule::new(None).unwrap();
        let (versions, skipped) = select(
            plain(&["v10.9.3", "v10.10.0", "v9.0", "v10.9.10"]),
            &rule,
            false,
            10,
        );
        assert_eq!(texts(&versions), ["10.10.0", "10.9.10", "10.9.3", "9.0"]);
        assert!(skipped.is_empty());
    }

    #[test]
    fn skips_drafts_prereleases_and_non_versions_with_reasons() {
        let rule = TagRule::new(None).unwrap();
        let list = candidates(&[
            ("v2.0.0", true, false),
            ("v1.9.0", false, true),
            ("v1.9.0-rc1", false, false),
            ("nightly", false, false),
            ("v1.8.0", false, false),
        ]);
        let (versions, skipped) = select(list, &rule, false, 10);
        assert_eq!(texts(&versions), ["1.8.0"]);
        let reasons: Vec<(&str, &str)> = skipped
            .iter()
            .map(|s| (s.tag.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(reasons[0], ("v2.0.0", "draft release"));
        assert_eq!(reasons[1], ("v1.9.0", "prerelease (prereleases is false)"));
        assert_eq!(reasons[2].0, "v1.9.0-rc1");
        assert!(reasons[2].1.contains("pre-release version"));
        assert_eq!(reasons[3].0, "nightly");
        assert!(reasons[3].1.contains("`nightly` is not a version"));
        assert_eq!(skipped.len(), 4);
    }

    #[test]
    fn keeps_prereleases_when_asked_and_marks_them() {
        let rule = TagRule::new(None).unwrap();
        let list = candidates(&[
            ("v2.0.0", true, false),
            ("v1.9.0", false, true),
            ("v1.9.0-rc1", false, false),
            ("v1.8.0", false, false),
        ]);
        let (versions, skipped) = select(list, &rule, true, 10);
        assert_eq!(texts(&versions), ["1.9.0", "1.9.0-rc1", "1.8.0"]);
        let marks: Vec<bool> = versions.iter().map(|v| v.prerelease).collect();
        assert_eq!(marks, [true, true, false]);
        assert_eq!(skipped.len(), 1, "the draft stays skipped");
    }

    #[test]
    fn deduplicates_by_version_and_flavour_keeping_the_first_listed() {
        let rule = TagRule::new(Some(r"^v?(?P<version>[0-9.]+)(-slim)?$")).unwrap();
        let (versions, skipped) = select(
            plain(&["v1.2", "1.2.0", "v1.2-slim", "1.2-slim", "v1.1"]),
            &rule,
            false,
            10,
        );
        let kept: Vec<(&str, Option<&str>)> = versions
            .iter()
            .map(|v| (v.tag.as_str(), v.flavour.as_deref()))
            .collect();
        assert_eq!(
            kept,
            [("v1.2", None), ("v1.2-slim", Some("-slim")), ("v1.1", None)]
        );
        let dropped: Vec<(&str, &str)> = skipped
            .iter()
            .map(|s| (s.tag.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            dropped,
            [
                ("1.2.0", "same version as tag `v1.2`"),
                ("1.2-slim", "same version as tag `v1.2-slim`")
            ]
        );
    }

    #[test]
    fn keeps_at_most_max_newest() {
        let rule = TagRule::new(None).unwrap();
        let (versions, skipped) = select(plain(&["1.1", "1.3", "1.2", "1.0"]), &rule, false, 2);
        assert_eq!(texts(&versions), ["1.3", "1.2"]);
        assert!(skipped.is_empty(), "versions past max are not skipped tags");
    }

    #[test]
    fn latest_is_the_highest_non_prerelease() {
        let versions = [
            up("10.9.3", false),
            up("11.0.0-rc1", true),
            up("10.10.0", false),
            up("10.11.0", true),
        ];
        assert_eq!(latest(&versions).unwrap().version, "10.10.0");
        assert!(latest(&[up("1.0-rc1", true)]).is_none());
        assert!(latest(&[]).is_none());
        let mut tie = [up("1.2", false), up("1.2.0", false)];
        tie[1].tag = "second".into();
        assert_eq!(latest(&tie).unwrap().tag, "v1.2");
        assert_eq!(
            latest(&[up("latest", false), up("0.1", false)])
                .unwrap()
                .version,
            "0.1"
        );
    }
}
