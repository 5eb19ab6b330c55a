//! Image references: `host[:port]/repo[/more][:tag][@sha256:HEX]`. The host is required:
//! there is no default registry.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host`, `host:port` or `[v6]:port`, as written.
    pub registry: String,
    /// The repository path below the registry, e.g. `library/hello`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:` followed by 64 lowercase hex digits.
    pub digest: Option<String>,
}

/// Why a reference did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("empty image reference")]
    Empty,
    #[error(
        "image reference `{0}` has no registry host: write it as HOST[:PORT]/REPOSITORY[:TAG], e.g. registry.example:5000/{example}",
        example = .0.trim_start_matches('/')
    )]
    NoHost(String),
    #[error("image reference `{reference}`: invalid registry host `{host}`: {reason}")]
    BadHost {
        reference: String,
        host: String,
        reason: &'static str,
    },
    #[error(
        "image reference `{reference}`: invalid repository component `{component}` (lowercase letters, digits and single `.`, `_`, `__` or `-` runs between them)"
    )]
    BadRepository {
        reference: String,
        component: String,
    },
    #[error(
        "image reference `{reference}`: invalid tag `{tag}` (letters, digits, `_`, `.`, `-`; up to 128, not starting with `.` or `-`)"
    )]
    BadTag { reference: String, tag: String },
    #[error(
        "image reference `{reference}`: invalid digest `{digest}` (expected sha256: and 64 lowercase hex digits)"
    )]
    BadDigest { reference: String, digest: String },
    #[error("`{0}` names a repository, not an image: it must not have a tag or digest")]
    NotARepository(String),
    #[error("`{0}`: a merge takes HOST[:PORT]/REPOSITORY[:TAG], without a digest")]
    DigestInMerge(String),
    #[error("`{mount}`: blobs mount only within one registry, and the push goes to {registry}")]
    OtherRegistry { mount: String, registry: String },
}

impl Reference {
    /// Parses a repository (`host/repo`) without tag or digest.
    pub fn repository(text: &str) -> Result<Reference, ReferenceError> {
        let reference: Reference = text.parse()?;
        if reference.tag.is_some() || reference.digest.is_some() {
            return Err(ReferenceError::NotARepository(text.to_string()));
        }
        Ok(reference)
    }

    /// What goes after `/manifests/`: the digest when there is one, else the tag, else `latest`.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The host without port or brackets, for the loopback check.
    pub fn hostname(&self) -> &str {
        host_without_port(&self.registry)
    }

    /// Whether the registry is on this machine: `localhost`, 127.0.0.0/8 or `::1`.
    pub fn is_loopback(&self) -> bool {
        let host = self.hostname();
        host.eq_ignore_ascii_case("localhost")
            || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
            || host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// `host/repo` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The repository to mount blobs from into this reference's: `HOST[:PORT]/REPOSITORY`
    /// of the same registry, or a repository path of this registry; as `host/repo`.
    pub fn mount_source(&self, text: &str) -> Result<String, ReferenceError> {
        let mount = Reference::repository(text)
            .or_else(|_| Reference::repository(&format!("{}/{text}", self.registry)))?;
        if mount.registry != self.registry {
            return Err(ReferenceError::OtherRegistry {
                mount: text.to_string(),
                registry: self.registry.clone(),
            });
        }
        Ok(mount.name())
    }

    /// The tags of a merge into this reference: its own tag (taken off it) first, then
    /// `extra`, each checked, without repeats. A reference with a digest is an error.
    pub fn take_merge_tags(&mut self, extra: &[String]) -> Result<Vec<String>, ReferenceError> {
        if self.digest.is_some() {
            return Err(ReferenceError::DigestInMerge(self.to_string()));
        }
        let mut tags: Vec<String> = self.tag.take().into_iter().collect();
        for tag in extra {
            format!("{}:{tag}", self.name()).parse::<Reference>()?;
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        Ok(tags)
    }
}

fn host_without_port(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    registry.split_once(':').map_or(registry, |(host, _)| host)
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                if !is_sha256_digest(digest) {
                    return Err(ReferenceError::BadDigest {
                        reference: text.into(),
                        digest: digest.into(),
                    });
                }
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        let Some((host, path)) = rest.split_once('/') else {
            return Err(ReferenceError::NoHost(text.to_string()));
        };
        if !host.contains(['.', ':', '[']) && host != "localhost" && !path.is_empty() {
            // `library/hello` or `user/app:1`: a Docker-style short name, which needs a host.
            return Err(ReferenceError::NoHost(text.to_string()));
        }
        check_host(text, host)?;
        let (repository, tag) = match path.rsplit_once('/') {
            Some((_, last)) if last.contains(':') => {
                let (repo, tag) = path.rsplit_once(':').expect("contains `:`");
                (repo, Some(tag))
            }
            None if path.contains(':') => {
                let (repo, tag) = path.split_once(':').expect("contains `:`");
                (repo, Some(tag))
            }
            _ => (path, None),
        };
        for component in repository.split('/') {
            if !is_repository_component(component) {
                return Err(ReferenceError::BadRepository {
                    reference: text.into(),
                    component: component.into(),
                });
            }
        }
        if let Some(tag) = tag
            && !is_tag(tag)
        {
            return Err(ReferenceError::BadTag {
                reference: text.into(),
                tag: tag.into(),
            });
        }
        Ok(Reference {
            registry: host.to_string(),
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }
}

fn check_host(reference: &str, host: &str) -> Result<(), ReferenceError> {
    let bad = |reason| ReferenceError::BadHost {
        reference: reference.into(),
        host: host.into(),
        reason,
    };
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("unclosed `[` of an IPv6 address"))?;
        v6.parse::<Ipv6Addr>()
            .map_err(|_| bad("not an IPv6 address between `[` and `]`"))?;
        match after {
            "" => (None, None),
            _ => (
                None,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| bad("expected `:PORT` after `]`"))?,
                ),
            ),
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        }
    };
    if let Some(name) = name {
        if name.is_empty() {
            return Err(bad("empty host name"));
        }
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if !name.split('.').all(label_ok) {
            return Err(bad(
                "host names are dot-separated labels of letters, digits and inner `-`",
            ));
        }
    }
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(bad("the port must be a number from 1 to 65535"));
    }
    Ok(())
}

fn is_sha256_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_repository_component(text: &str) -> bool {
    let bytes = text.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &text[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn is_tag(text: &str) -> bool {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    text.len() <= 128
        && text.bytes().next().is_some_and(ok)
        && text.bytes().all(|b| ok(b) || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_mount_from_repositories_of_the_same_registry_only() {
        let target = parse("registry.example:5000/app:1");
        assert_eq!(
            target.mount_source("base").unwrap(),
            "registry.example:5000/base"
        );
        assert_eq!(
            target
                .mount_source("registry.example:5000/lib/base")
                .unwrap(),
            "registry.example:5000/lib/base"
        );
        assert!(matches!(
            target.mount_source("elsewhere.example/base"),
            Err(ReferenceError::OtherRegistry { .. })
        ));
    }

    #[test]
    fn merge_tags_start_with_the_references_own_and_repeat_none() {
        let mut reference = parse("registry.example/app:1");
        let tags = reference
            .take_merge_tags(&["latest".into(), "1".into()])
            .unwrap();
        assert_eq!(tags, ["1", "latest"]);
        assert_eq!(reference.tag, None);
        assert!(matches!(
            reference.take_merge_tags(&["-bad".into()]),
            Err(ReferenceError::BadTag { .. })
        ));
        let mut pinned = parse(&format!("registry.example/app@sha256:{}", "a".repeat(64)));
        assert!(matches!(
            pinned.take_merge_tags(&[]),
            Err(ReferenceError::DigestInMerge(_))
        ));
    }

    fn parse(text: &str) -> Reference {
        text.parse().unwrap()
    }

    #[test]
    fn full_references() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("127.0.0.1:5000/a/b-c/d:1.0@{digest}"));
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "a/b-c/d");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.manifest_reference(), digest);
        assert!(r.is_loopback());
        let r = parse("registry.example/hello");
        assert_eq!((r.tag, r.digest), (None, None));
        assert!(!parse("registry.example/x").is_loopback());
        assert!(parse("[::1]:5000/x:y").is_loopback());
        assert!(parse("localhost/x").is_loopback());
        assert_eq!(
            parse("localhost:5000/x__y/z:t").to_string(),
            "localhost:5000/x__y/z:t"
        );
    }

    #[test]
    fn errors() {
        let err = |t: &str| t.parse::<Reference>().unwrap_err();
        assert!(matches!(err("hello"), ReferenceError::NoHost(_)));
        assert!(matches!(err("library/hello:1"), ReferenceError::NoHost(_)));
        // The example is a reference that parses: no doubled slash.
        assert!(
            err("/mirror/app:1")
                .to_string()
                .ends_with("e.g. registry.example:5000/mirror/app:1"),
            "{}",
            err("/mirror/app:1")
        );
        assert!(matches!(err(""), ReferenceError::Empty));
        assert!(matches!(
            err("host.example:99999/x"),
            ReferenceError::BadHost { .. }
        ));
        assert!(matches!(
            err("host.example/Hello"),
            ReferenceError::BadRepository { .. }
        ));
        assert!(matches!(
            err("host.example/a//b"),
            ReferenceError::BadRepository { .. }
        ));
        assert!(matches!(
            err("host.example/a:-x"),
            ReferenceError::BadTag { .. }
        ));
        assert!(matches!(
            err("host.example/a@sha256:abc"),
            ReferenceError::BadDigest { .. }
        ));
        assert!(matches!(
            Reference::repository("host.example/a:1"),
            Err(ReferenceError::NotARepository(_))
        ));
    }
}
