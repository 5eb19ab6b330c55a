//! SUBJECT, the one grammar of every command that takes an image or artifact (`sbom`,
//! `provenance`, `image push|inspect|sign|attest|verify`):
//!
//! | form                     | meaning                                                    |
//! |--------------------------|------------------------------------------------------------|
//! | `NAME`                   | a target of the project (when the project has one so named) |
//! | `PATH`                   | an existing file or directory                              |
//! | `DIR:TAG`                | the image named `TAG` in the OCI layout `DIR`              |
//! | `FILE:TAG`               | the image named `TAG` in the oci-archive `FILE`            |
//! | `oci-archive:FILE[:TAG]` | an oci-archive, and the image named `TAG` in it            |
//! | `docker-archive:FILE`    | a docker-archive (`docker save`)                           |
//! | `HOST[:PORT]/REPO[:TAG][@DIGEST]` | an image in a registry                            |
//!
//! Tried in that order, so a target wins over a directory of the same name (write `./NAME`
//! for the directory), an existing path wins over `DIR:TAG`, and `DIR:TAG` only when `DIR`
//! exists and `TAG` is a name without `/` (so `localhost:5000/app` stays a reference even
//! when a directory `localhost` exists).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::{PushSource, Reference, ReferenceError};

/// What SUBJECT names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A target of the project.
    Target(String),
    /// An existing file or directory (an OCI layout, an oci-archive, a tarball, a tree).
    Path(PathBuf),
    /// `DIR:TAG`: the image whose `org.opencontainers.image.ref.name` is `tag`.
    Layout { dir: PathBuf, tag: String },
    /// `oci-archive:FILE[:TAG]`, or `FILE:TAG` of an existing file.
    OciArchive { file: PathBuf, tag: Option<String> },
    /// `docker-archive:FILE`.
    DockerArchive(PathBuf),
    /// An image in a registry.
    Reference(Reference),
}

/// What kind of thing a path is, for the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Missing,
    File,
    Directory,
}

/// What the parser needs to know beyond the text: the project's targets and the file system.
/// Tests hand in a fake.
pub trait Lookup {
    /// Whether the project has a target called `name`.
    fn is_target(&self, name: &str) -> bool;
    /// What `path` is.
    fn kind(&self, path: &Path) -> PathKind;
}

/// The real file system, and the target names of the project (none outside one).
pub struct FileSystem<'a> {
    pub targets: &'a [String],
}

impl Lookup for FileSystem<'_> {
    fn is_target(&self, name: &str) -> bool {
        self.targets.iter().any(|t| t == name)
    }

    fn kind(&self, path: &Path) -> PathKind {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => PathKind::Directory,
            Ok(_) => PathKind::File,
            Err(_) => PathKind::Missing,
        }
    }
}

/// Why SUBJECT does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("empty subject")]
    Empty,
    #[error("`{text}`: {prefix} needs a file after the colon")]
    NoFile { text: String, prefix: &'static str },
    #[error("`{text}`: {} does not exist", path.display())]
    Missing { text: String, path: PathBuf },
    #[error("`{text}`: {} is a directory, not an archive file", path.display())]
    NotAFile { text: String, path: PathBuf },
    #[error(
        "`{text}`: invalid image name `{tag}` after {} (letters, digits, `.`, `_`, `-`, `+`; no `/`)",
        path.display()
    )]
    BadTag {
        text: String,
        path: PathBuf,
        tag: String,
    },
    #[error(
        "`{text}` is not a target of the project, a file or directory, or an image reference \
         (nor DIR:TAG, oci-archive:FILE[:TAG] or docker-archive:FILE): {reason}"
    )]
    Unrecognised {
        text: String,
        reason: ReferenceError,
    },
    #[error(
        "{subject} is {}, and {command} works on an image in a registry (push it first)",
        kind
    )]
    NotInRegistry {
        subject: String,
        kind: &'static str,
        command: &'static str,
    },
    #[error(
        "{subject} is {}, and {command} reads OCI layouts and oci-archives",
        kind
    )]
    NotAnImage {
        subject: String,
        kind: &'static str,
        command: &'static str,
    },
}

const OCI_ARCHIVE: &str = "oci-archive:";
const DOCKER_ARCHIVE: &str = "docker-archive:";

impl Subject {
    /// Parses `text` against `lookup` (see the module's table for the order).
    pub fn parse(text: &str, lookup: &dyn Lookup) -> Result<Subject, SubjectError> {
        if text.is_empty() {
            return Err(SubjectError::Empty);
        }
        if let Some(rest) = text.strip_prefix(OCI_ARCHIVE) {
            return oci_archive(text, rest, lookup);
        }
        if let Some(rest) = text.strip_prefix(DOCKER_ARCHIVE) {
            return archive_file(text, rest, DOCKER_ARCHIVE, lookup).map(Subject::DockerArchive);
        }
        if lookup.is_target(text) {
            return Ok(Subject::Target(text.to_string()));
        }
        if lookup.kind(Path::new(text)) != PathKind::Missing {
            return Ok(Subject::Path(text.into()));
        }
        if let Some((path, tag)) = text.rsplit_once(':')
            && !tag.contains('/')
        {
            let kind = lookup.kind(Path::new(path));
            if kind != PathKind::Missing {
                if !is_ref_name(tag) {
                    return Err(SubjectError::BadTag {
                        text: text.into(),
                        path: path.into(),
                        tag: tag.into(),
                    });
                }
                return Ok(match kind {
                    PathKind::Directory => Subject::Layout {
                        dir: path.into(),
                        tag: tag.into(),
                    },
                    _ => Subject::OciArchive {
                        file: path.into(),
                        tag: Some(tag.into()),
                    },
                });
            }
        }
        text.parse::<Reference>()
            .map(Subject::Reference)
            .map_err(|reason| SubjectError::Unrecognised {
                text: text.into(),
                reason,
            })
    }

    /// What kind of subject this is, in words.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Target(_) => "a target",
            Subject::Path(_) => "a local path",
            Subject::Layout { .. } => "an image in an OCI layout",
            Subject::OciArchive { .. } => "an oci-archive",
            Subject::DockerArchive(_) => "a docker-archive",
            Subject::Reference(_) => "an image reference",
        }
    }

    /// The registry reference, for commands that work on images in a registry.
    pub fn into_reference(self, command: &'static str) -> Result<Reference, SubjectError> {
        match self {
            Subject::Reference(reference) => Ok(reference),
            other => Err(SubjectError::NotInRegistry {
                subject: other.to_string(),
                kind: other.kind(),
                command,
            }),
        }
    }

    /// The local image, as a layout or oci-archive and the name of the image in it, for
    /// `image push` and `image inspect`; `None` for a registry reference.
    pub fn local_image(&self, command: &'static str) -> Result<Option<PushSource>, SubjectError> {
        let source = |path: &Path, tag: Option<&String>| PushSource {
            path: path.to_path_buf(),
            ref_name: tag.cloned(),
            mount_from: None,
        };
        match self {
            Subject::Reference(_) => Ok(None),
            Subject::Path(path) => Ok(Some(source(path, None))),
            Subject::Layout { dir, tag } => Ok(Some(source(dir, Some(tag)))),
            Subject::OciArchive { file, tag } => Ok(Some(source(file, tag.as_ref()))),
            Subject::Target(_) | Subject::DockerArchive(_) => Err(SubjectError::NotAnImage {
                subject: self.to_string(),
                kind: self.kind(),
                command,
            }),
        }
    }
}

/// Parses against the real file system, outside a project (no target names).
impl FromStr for Subject {
    type Err = SubjectError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Subject::parse(text, &FileSystem { targets: &[] })
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Target(name) => write!(f, "target `{name}`"),
            Subject::Path(path) => write!(f, "{}", path.display()),
            Subject::Layout { dir, tag } => write!(f, "{}:{tag}", dir.display()),
            Subject::OciArchive { file, tag: None } => write!(f, "{OCI_ARCHIVE}{}", file.display()),
            Subject::OciArchive {
                file,
                tag: Some(tag),
            } => write!(f, "{OCI_ARCHIVE}{}:{tag}", file.display()),
            Subject::DockerArchive(file) => write!(f, "{DOCKER_ARCHIVE}{}", file.display()),
            Subject::Reference(reference) => write!(f, "{reference}"),
        }
    }
}

/// `oci-archive:FILE` or `oci-archive:FILE:TAG` (the tag only when `FILE:TAG` is no file).
fn oci_archive(text: &str, rest: &str, lookup: &dyn Lookup) -> Result<Subject, SubjectError> {
    if lookup.kind(Path::new(rest)) == PathKind::Missing
        && let Some((file, tag)) = rest.rsplit_once(':')
        && !tag.contains('/')
        && lookup.kind(Path::new(file)) != PathKind::Missing
    {
        let file = archive_file(text, file, OCI_ARCHIVE, lookup)?;
        if !is_ref_name(tag) {
            return Err(SubjectError::BadTag {
                text: text.into(),
                path: file,
                tag: tag.into(),
            });
        }
        return Ok(Subject::OciArchive {
            file,
            tag: Some(tag.into()),
        });
    }
    let file = archive_file(text, rest, OCI_ARCHIVE, lookup)?;
    Ok(Subject::OciArchive { file, tag: None })
}

/// The existing file after a `oci-archive:` or `docker-archive:` prefix.
fn archive_file(
    text: &str,
    path: &str,
    prefix: &'static str,
    lookup: &dyn Lookup,
) -> Result<PathBuf, SubjectError> {
    if path.is_empty() {
        return Err(SubjectError::NoFile {
            text: text.into(),
            prefix: prefix.trim_end_matches(':'),
        });
    }
    match lookup.kind(Path::new(path)) {
        PathKind::File => Ok(path.into()),
        PathKind::Directory => Err(SubjectError::NotAFile {
            text: text.into(),
            path: path.into(),
        }),
        PathKind::Missing => Err(SubjectError::Missing {
            text: text.into(),
            path: path.into(),
        }),
    }
}

/// The name of an image in a layout (`org.opencontainers.image.ref.name`): a tag, or the
/// OCI spec's wider component characters (`+` too), without `/` or `:`.
fn is_ref_name(name: &str) -> bool {
    name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Targets `hello` and `both` (also a directory); directories `layout`, `both`,
    /// `localhost`; files `image.tar`, `root.tar.gz`, `we:ird`.
    struct Fake;

    impl Lookup for Fake {
        fn is_target(&self, name: &str) -> bool {
            matches!(name, "hello" | "both")
        }

        fn kind(&self, path: &Path) -> PathKind {
            match path.to_str().unwrap() {
                "layout" | "both" | "./both" | "localhost" | "out/layout" => PathKind::Directory,
                "image.tar" | "root.tar.gz" | "we:ird" => PathKind::File,
                _ => PathKind::Missing,
            }
        }
    }

    fn reference(text: &str) -> Subject {
        Subject::Reference(text.parse().unwrap())
    }

    fn layout(dir: &str, tag: &str) -> Subject {
        Subject::Layout {
            dir: dir.into(),
            tag: tag.into(),
        }
    }

    fn archive(file: &str, tag: Option<&str>) -> Subject {
        Subject::OciArchive {
            file: file.into(),
            tag: tag.map(String::from),
        }
    }

    #[rstest]
    #[case::target("hello", Subject::Target("hello".into()))]
    #[case::target_over_directory("both", Subject::Target("both".into()))]
    #[case::directory_by_path("./both", Subject::Path("./both".into()))]
    #[case::layout_of_a_target_named_directory("both:1.0", layout("both", "1.0"))]
    #[case::directory("layout", Subject::Path("layout".into()))]
    #[case::file("root.tar.gz", Subject::Path("root.tar.gz".into()))]
    #[case::file_with_colon("we:ird", Subject::Path("we:ird".into()))]
    #[case::dir_tag("layout:1.0", layout("layout", "1.0"))]
    #[case::dir_tag_nested("out/layout:moved", layout("out/layout", "moved"))]
    #[case::dir_tag_plus("layout:1.0+build", layout("layout", "1.0+build"))]
    #[case::file_tag("image.tar:1.0", archive("image.tar", Some("1.0")))]
    #[case::oci_archive("oci-archive:image.tar", archive("image.tar", None))]
    #[case::oci_archive_tag("oci-archive:image.tar:moved", archive("image.tar", Some("moved")))]
    #[case::oci_archive_colon_file("oci-archive:we:ird", archive("we:ird", None))]
    #[case::docker_archive(
        "docker-archive:image.tar",
        Subject::DockerArchive("image.tar".into())
    )]
    #[case::host_port_repo("localhost:5000/app", reference("localhost:5000/app"))]
    #[case::host_port_repo_tag("localhost:5000/app:1.0", reference("localhost:5000/app:1.0"))]
    #[case::host_repo_tag("registry.example/a/b:2", reference("registry.example/a/b:2"))]
    #[case::digest(
        "localhost:5000/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        reference(
            "localhost:5000/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"
        )
    )]
    fn forms(#[case] text: &str, #[case] expected: Subject) {
        assert_eq!(Subject::parse(text, &Fake).unwrap(), expected);
    }

    #[rstest]
    #[case::empty("", "empty subject")]
    #[case::no_file("oci-archive:", "oci-archive needs a file after the colon")]
    #[case::missing_archive("docker-archive:gone.tar", "gone.tar does not exist")]
    #[case::archive_is_directory("oci-archive:layout", "layout is a directory, not an archive")]
    #[case::bad_tag("layout:-x", "invalid image name `-x` after layout")]
    #[case::short_name(
        "library/hello",
        "is not a target of the project, a file or directory, or an image reference"
    )]
    #[case::missing_dir_tag("nowhere:1.0", "has no registry host")]
    fn errors(#[case] text: &str, #[case] message: &str) {
        let error = Subject::parse(text, &Fake).unwrap_err().to_string();
        assert!(error.contains(message), "{text}: {error}");
    }

    #[test]
    fn a_target_name_with_a_tag_is_no_target() {
        // Targets carry no tags; without a directory of that name, `hello:1.0` is nothing.
        let error = Subject::parse("hello:1.0", &Fake).unwrap_err();
        assert!(
            matches!(error, SubjectError::Unrecognised { .. }),
            "{error}"
        );
    }

    #[test]
    fn registry_commands_refuse_local_subjects_and_local_ones_references() {
        let error = layout("layout", "1.0")
            .into_reference("image sign")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "layout:1.0 is an image in an OCI layout, and image sign works on an image in a \
             registry (push it first)"
        );
        let source = layout("out/layout", "moved")
            .local_image("image push")
            .unwrap()
            .unwrap();
        assert_eq!(
            (source.path, source.ref_name),
            (PathBuf::from("out/layout"), Some("moved".into()))
        );
        assert!(
            reference("localhost:5000/app")
                .local_image("image push")
                .unwrap()
                .is_none()
        );
        assert!(
            Subject::DockerArchive("image.tar".into())
                .local_image("image push")
                .is_err()
        );
    }
}
