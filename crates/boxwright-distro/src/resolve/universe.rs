//! The candidates of the asked architecture, indexed by name and by provided name, and the
//! part of them an install list can reach.

use std::collections::{HashMap, HashSet, VecDeque};

use super::Options;
use crate::error::Error;
use crate::model::{Candidate, Kind, Op, Relation};
use crate::version;

/// Indexes over the candidates a resolution may use.
pub(super) struct Universe<'a> {
    pub(super) candidates: &'a [Candidate],
    pub(super) kind: Kind,
    /// Real packages by name, in the caller's order, one per version (the first listed).
    pub(super) by_name: HashMap<&'a str, Vec<usize>>,
    /// Provided names → `(candidate, provided version)`.
    pub(super) providers: HashMap<&'a str, Vec<(usize, Option<&'a str>)>>,
}

impl<'a> Universe<'a> {
    pub(super) fn new(candidates: &'a [Candidate], options: &Options) -> Self {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut providers: HashMap<&str, Vec<(usize, Option<&str>)>> = HashMap::new();
        let mut seen = HashSet::new();
        for (index, candidate) in candidates.iter().enumerate() {
            let eligible = candidate.kind == options.kind
                && (candidate.arch == options.arch
                    || matches!(candidate.arch.as_str(), "all" | "noarch" | ""));
            if !eligible || !seen.insert((candidate.name.as_str(), candidate.version.as_str())) {
                continue;
            }
            by_name.entry(&candidate.name).or_default().push(index);
            for provide in &candidate.provides {
                providers
                    .entry(&provide.name)
                    .or_default()
                    .push((index, provide.version.as_deref()));
            }
        }
        Self {
            candidates,
            kind: options.kind,
            by_name,
            providers,
        }
    }

    /// Whether `name` is provided by some package (then relations on it go through the
    /// providers, the real package of that name included).
    pub(super) fn is_provided(&self, name: &str) -> bool {
        self.providers.contains_key(name)
    }

    /// Every candidate that has `name` as its own or a provided name.
    fn answering(&self, name: &str) -> impl Iterator<Item = usize> + '_ {
        let own = self.by_name.get(name).into_iter().flatten().copied();
        let provided = self
            .providers
            .get(name)
            .into_iter()
            .flatten()
            .map(|&(index, _)| index);
        own.chain(provided)
    }

    /// An `install` entry must name something, and a pinned one something of that version.
    pub(super) fn check_install(&self, relation: &Relation) -> Result<(), Error> {
        if self.answering(&relation.name).next().is_none() {
            return Err(Error::UnknownPackage {
                name: relation.name.clone(),
            });
        }
        let Some((op, wanted)) = &relation.constraint else {
            return Ok(());
        };
        let matches = |version: Option<&str>| {
            version.is_some_and(|version| version::satisfies(self.kind, version, *op, wanted))
        };
        let own = self
            .by_name
            .get(relation.name.as_str())
            .into_iter()
            .flatten();
        if own
            .clone()
            .any(|&index| matches(Some(&self.candidates[index].version)))
            || self
                .providers
                .get(relation.name.as_str())
                .into_iter()
                .flatten()
                .any(|&(_, version)| matches(version))
        {
            return Ok(());
        }
        Err(Error::NoMatchingVersion {
            name: relation.name.clone(),
            wanted: format!("{}{wanted}", op_text(self.kind, *op)),
            available: own
                .map(|&index| self.candidates[index].version.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The candidates reachable from `install` through dependencies (every alternative),
    /// sorted: only these are given to the solver.
    pub(super) fn reachable(&self, install: &[Relation]) -> Vec<usize> {
        let mut names: HashSet<&str> = HashSet::new();
        let mut chosen = HashSet::new();
        let mut queue: VecDeque<&str> = install
            .iter()
            .map(|relation| relation.name.as_str())
            .collect();
        while let Some(name) = queue.pop_front() {
            if !names.insert(name) {
                continue;
            }
            for index in self.answering(name) {
                if chosen.insert(index) {
                    let depends = self.candidates[index].depends.iter().flatten();
                    queue.extend(depends.map(|relation| relation.name.as_str()));
                }
            }
        }
        let mut chosen: Vec<usize> = chosen.into_iter().collect();
        chosen.sort_unstable();
        chosen
    }
}

/// How the distribution writes a relation operator.
pub(super) fn op_text(kind: Kind, op: Op) -> &'static str {
    match (kind, op) {
        (Kind::Deb, Op::Lt) => "<< ",
        (Kind::Deb, Op::Gt) => ">> ",
        (Kind::Deb, Op::Le) => "<= ",
        (Kind::Deb, Op::Ge) => ">= ",
        (Kind::Deb, Op::Eq | Op::Fuzzy) => "= ",
        (Kind::Apk, Op::Lt) => "<",
        (Kind::Apk, Op::Gt) => ">",
        (Kind::Apk, Op::Le) => "<=",
        (Kind::Apk, Op::Ge) => ">=",
        (Kind::Apk, Op::Eq) => "=",
        (Kind::Apk, Op::Fuzzy) => "~",
    }
}

/// A relation as the distribution writes it: `execline (>= 2.9.3)`, `so:libc.musl.so.1>=1`.
pub(super) fn relation_text(kind: Kind, name: &str, constraint: Option<&(Op, String)>) -> String {
    match (kind, constraint) {
        (_, None) => name.to_owned(),
        (Kind::Deb, Some((op, version))) => format!("{name} ({}{version})", op_text(kind, *op)),
        (Kind::Apk, Some((op, version))) => format!("{name}{}{version}", op_text(kind, *op)),
    }
}
