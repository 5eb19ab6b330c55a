//! Release tags: `{tag_prefix}-{version}[-{prerelease}].{revision}`.

use serde::Serialize;

use crate::Metadata;

/// A release tag that matches a target of the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseTag {
    /// The whole tag.
    pub tag: String,
    /// The target it belongs to.
    pub target: String,
    /// The target's official version (equal to the one in metadata).
    pub version: String,
    /// The optional pre-release part, e.g. `beta` or `rc.1`.
    pub prerelease: Option<String>,
    /// The release revision, counted from 0.
    pub revision: u64,
}

/// Why a tag is not a release tag of this project.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("the tag is empty")]
    Empty,
    #[error("tag {tag:?} has no known tag prefix (known: {})", known.join(", "))]
    UnknownPrefix { tag: String, known: Vec<String> },
    #[error("tag {tag:?} has no revision: expected {expected}")]
    MissingRevision { tag: String, expected: String },
    #[error("tag {tag:?} has revision {revision:?}, which is not a non-negative integer")]
    BadRevision { tag: String, revision: String },
    #[error(
        "tag {tag:?} has version {found:?} but target `{target}` has official version {expected:?} (expected a tag like {example})"
    )]
    VersionMismatch {
        tag: String,
        target: String,
        found: String,
        expected: String,
        example: String,
    },
    #[error("tag {tag:?} has pre-release {prerelease:?}: allowed are [0-9A-Za-z.-], not empty")]
    BadPrerelease { tag: String, prerelease: String },
    /// The tag's prefix is that of a target without an official version: a mirror target
    /// (`upstream`) or an image from packages without `version_env_var`.
    #[error("tag {tag:?} names target `{target}`, which has no release tags: {}", if *.mirror {
        "it is a mirror target, whose versions come from upstream; `boxwright mirror run` tags \
         its images with the upstream versions (e.g. 1.2.0 and latest)"
    } else {
        "it has no official version (version_env_var); give it one to release it"
    })]
    NoReleaseTags {
        tag: String,
        target: String,
        mirror: bool,
    },
}

impl ReleaseTag {
    /// Parses `tag` against every target; when prefixes overlap the longest one that parses
    /// wins, and when none parses the error of the longest matching prefix is returned.
    pub fn parse(metadata: &Metadata, tag: &str) -> Result<Self, TagError> {
        if tag.is_empty() {
            return Err(TagError::Empty);
        }
        let mut candidates: Vec<(&str, &str, &str)> = metadata
            .targets
            .iter()
            .filter_map(|(name, target)| {
                let prefix = target.tag_prefix(name);
                let rest = tag.strip_prefix(prefix)?.strip_prefix('-')?;
                Some((name.as_str(), prefix, rest))
            })
            .collect();
        candidates.sort_by_key(|(_, prefix, _)| std::cmp::Reverse(prefix.len()));
        let mut first_error = None;
        for (name, prefix, rest) in candidates {
            let target = &metadata.targets[name];
            let version = target.version();
            if version.is_empty() {
                first_error.get_or_insert(TagError::NoReleaseTags {
                    tag: tag.to_string(),
                    target: name.to_string(),
                    mirror: target.upstream.is_some(),
                });
                continue;
            }
            match parse_rest(tag, name, prefix, version, rest) {
                Ok(parsed) => return Ok(parsed),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| TagError::UnknownPrefix {
            tag: tag.to_string(),
            known: metadata
                .targets
                .iter()
                .map(|(name, t)| t.tag_prefix(name).to_string())
                .collect(),
        }))
    }
}

fn parse_rest(
    tag: &str,
    target: &str,
    prefix: &str,
    version: &str,
    rest: &str,
) -> Result<ReleaseTag, TagError> {
    let example = format!("{prefix}-{version}.0");
    let mismatch = |found: &str| TagError::VersionMismatch {
        tag: tag.to_string(),
        target: target.to_string(),
        found: found.to_string(),
        expected: version.to_string(),
        example: example.clone(),
    };
    let Some(after) = rest.strip_prefix(version) else {
        // Report what stands where the version should: up to the revision dot.
        let found = rest.rsplit_once('.').map_or(rest, |(v, _)| v);
        return Err(mismatch(found));
    };
    let missing = || TagError::MissingRevision {
        tag: tag.to_string(),
        expected: format!("{tag}.<revision>, e.g. {tag}.0"),
    };
    let (prerelease, revision) = if after.is_empty() {
        return Err(missing());
    } else if let Some(revision) = after.strip_prefix('.') {
        if revision.contains('.') {
            // e.g. official 1.28 and tag 1.28.2.18: the version differs.
            let found = rest.rsplit_once('.').map_or(rest, |(v, _)| v);
            return Err(mismatch(found));
        }
        (None, revision)
    } else if let Some(pre_and_revision) = after.strip_prefix('-') {
        let Some((prerelease, revision)) = pre_and_revision.rsplit_once('.') else {
            return Err(missing());
        };
        let valid = !prerelease.is_empty()
            && prerelease
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !valid {
            return Err(TagError::BadPrerelease {
                tag: tag.to_string(),
                prerelease: prerelease.to_string(),
            });
        }
        (Some(prerelease.to_string()), revision)
    } else {
        let found = rest.rsplit_once('.').map_or(rest, |(v, _)| v);
        return Err(mismatch(found));
    };
    let bad_revision = || TagError::BadRevision {
        tag: tag.to_string(),
        revision: revision.to_string(),
    };
    if revision.is_empty() || !revision.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_revision());
    }
    let revision = revision.parse::<u64>().map_err(|_| bad_revision())?;
    Ok(ReleaseTag {
        tag: tag.to_string(),
        target: target.to_string(),
        version: version.to_string(),
        prerelease,
        revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::path::Path;

    fn seed() -> Metadata {
        let text = r#"{
          "nginx": {"tag_prefix": "nginx", "version_env_var": "NGINX_VERSION", "env": {"NGINX_VERSION": "1.28.2"}},
          "nginx-resty-upstream-healthcheck": {"tag_prefix": "nginx-resty-upstream-healthcheck",
             "version_env_var": "V", "env": {"V": "0.1.0"}},
          "apache-httpd": {"tag_prefix": "httpd", "version_env_var": "HTTPD_VERSION", "env": {"HTTPD_VERSION": "2.4.66"}},
          "haproxy": {"tag_prefix": "haproxy", "version_env_var": "HAPROXY_VERSION", "env": {"HAPROXY_VERSION": "3.2.13"}},
          "short": {"version_env_var": "V", "env": {"V": "1.28"}}
        }"#;
        Metadata::parse(Path::new("m.json"), text, &|_| None).unwrap()
    }

    #[rstest]
    #[case("nginx-1.28.2.18", "nginx", None, 18)]
    #[case("httpd-2.4.66.5", "apache-httpd", None, 5)]
    #[case("haproxy-3.2.13-beta.0", "haproxy", Some("beta"), 0)]
    #[case("haproxy-3.2.13-rc.1.7", "haproxy", Some("rc.1"), 7)]
    #[case("haproxy-3.2.13-rc-2.3", "haproxy", Some("rc-2"), 3)]
    #[case(
        "nginx-resty-upstream-healthcheck-0.1.0.2",
        "nginx-resty-upstream-healthcheck",
        None,
        2
    )]
    #[case("short-1.28.0", "short", None, 0)]
    fn valid(
        #[case] tag: &str,
        #[case] target: &str,
        #[case] pre: Option<&str>,
        #[case] revision: u64,
    ) {
        let parsed = ReleaseTag::parse(&seed(), tag).unwrap();
        assert_eq!(parsed.target, target);
        assert_eq!(parsed.prerelease.as_deref(), pre);
        assert_eq!(parsed.revision, revision);
    }

    #[test]
    fn invalid_seed_examples() {
        let m = seed();
        assert!(matches!(
            ReleaseTag::parse(&m, "nginx-1.28.2"),
            Err(TagError::MissingRevision { .. })
        ));
        assert!(matches!(
            ReleaseTag::parse(&m, "custom-1.0.0.0"),
            Err(TagError::UnknownPrefix { .. })
        ));
        assert!(matches!(
            ReleaseTag::parse(&m, "nginx-1.28.2.x"),
            Err(TagError::BadRevision { .. })
        ));
        assert!(matches!(ReleaseTag::parse(&m, ""), Err(TagError::Empty)));
        assert!(matches!(
            ReleaseTag::parse(&m, "nginx-1.28.2.-1"),
            Err(TagError::BadRevision { .. })
        ));
        assert!(matches!(
            ReleaseTag::parse(&m, "haproxy-3.2.13-.1"),
            Err(TagError::BadPrerelease { .. })
        ));
        assert!(matches!(
            ReleaseTag::parse(&m, "haproxy-3.2.13-beta"),
            Err(TagError::MissingRevision { .. })
        ));
    }

    #[test]
    fn version_mismatch_names_both_versions() {
        let err = ReleaseTag::parse(&seed(), "nginx-1.27.0.3").unwrap_err();
        assert_eq!(
            err,
            TagError::VersionMismatch {
                tag: "nginx-1.27.0.3".into(),
                target: "nginx".into(),
                found: "1.27.0".into(),
                expected: "1.28.2".into(),
                example: "nginx-1.28.2.0".into(),
            }
        );
        let err = ReleaseTag::parse(&seed(), "short-1.28.2.18").unwrap_err();
        assert!(
            matches!(err, TagError::VersionMismatch { ref found, .. } if found == "1.28.2"),
            "{err}"
        );
    }

    #[test]
    fn targets_without_an_official_version_have_no_release_tags() {
        let text = r#"{
          "tool": {"upstream": {"github": "o/tool"}, "image": {"platforms": ["linux/amd64"]}},
          "web": {"image": {"packages": {"repositories": [{"apk": "https://dl.invalid/alpine/v3.20/main", "keys": ["k.rsa.pub"]}],
                  "install": ["busybox"]}}}
        }"#;
        let m = Metadata::parse(Path::new("m.json"), text, &|_| None).unwrap();
        let err = ReleaseTag::parse(&m, "tool-1.2.0.0")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "tag \"tool-1.2.0.0\" names target `tool`, which has no release tags: it is a mirror \
             target, whose versions come from upstream; `boxwright mirror run` tags its images \
             with the upstream versions (e.g. 1.2.0 and latest)"
        );
        let err = ReleaseTag::parse(&m, "web-1.0.0").unwrap_err().to_string();
        assert!(err.contains("has no official version"), "{err}");
        assert!(!err.contains("-.0") && !err.contains("\"\""), "{err}");
    }

    #[test]
    fn overlapping_prefix_falls_back_to_shorter_one() {
        // `nginx-resty-…` does not parse as the longer target, so `nginx` is tried and reports.
        let err =
            ReleaseTag::parse(&seed(), "nginx-resty-upstream-healthcheck-9.9.9.1").unwrap_err();
        assert!(
            matches!(err, TagError::VersionMismatch { ref target, .. } if target == "nginx-resty-upstream-healthcheck")
        );
    }

    #[test]
    fn unknown_prefix_lists_known_ones() {
        let err = ReleaseTag::parse(&seed(), "custom-1.0.0.0")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("httpd") && err.contains("nginx-resty-upstream-healthcheck"),
            "{err}"
        );
    }
}
