//! The universe as resolvo sees it.
//!
//! resolvo wants every candidate of a version set to carry the set's name, so a name that
//! packages provide is a *capability*: one solvable per package answering to it (the real
//! package of that name and each provider), each requiring its package, and each package
//! requiring its own capabilities (so a capability is chosen exactly when its package is,
//! and a conflict with a provided name catches every provider). Capability names allow
//! several solvables at once; package names allow one version.

use std::collections::HashMap;
use std::fmt;

use resolvo::utils::{Pool, VersionSet};
use resolvo::{
    Candidates, Condition, ConditionId, ConditionalRequirement, Dependencies, DependencyProvider,
    HintDependenciesAvailable, Interner, KnownDependencies, NameId, Requirement, SolvableId,
    SolverCache, StringId, VersionSetId, VersionSetUnionId,
};

use super::universe::{Universe, relation_text};
use crate::model::{Candidate, Kind, Op, Relation};
use crate::version;

/// A name in the solver: a real package's, or a name answered by providers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Name {
    Package(String),
    Capability(String),
}

impl Name {
    pub(super) fn text(&self) -> &str {
        match self {
            Self::Package(name) | Self::Capability(name) => name,
        }
    }
}

/// Which solvables of a name a relation accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Spec {
    /// A dependency: any version, or those that satisfy the constraint.
    Wants(Option<(Op, String)>),
    /// A conflict's complement: everything except what `conflict` names, apart from the
    /// package `owner` itself (which never conflicts with itself through its provides).
    Allows {
        conflict: Option<(Op, String)>,
        owner: String,
    },
    /// Exactly the solvables of one candidate (a capability and its package).
    Exactly(usize),
}

/// A solvable: a candidate, as a package or as one of its capabilities.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) candidate: usize,
    /// The version it answers with: the package's, or the provided one (`None` for an
    /// unversioned provide, which satisfies only unversioned relations).
    pub(super) version: Option<String>,
}

impl fmt::Display for Record {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}",
            self.version.as_deref().unwrap_or("(unversioned)")
        )
    }
}

impl VersionSet for Spec {
    type V = Record;
}

pub(super) struct Provider<'u> {
    pub(super) universe: &'u Universe<'u>,
    pub(super) pool: Pool<Spec, Name>,
    candidates_of: HashMap<NameId, Vec<SolvableId>>,
    /// The capability names of each package candidate.
    capabilities: HashMap<usize, Vec<NameId>>,
}

impl<'u> Provider<'u> {
    pub(super) fn new(universe: &'u Universe<'u>, reachable: &[usize]) -> Self {
        let mut provider = Self {
            universe,
            pool: Pool::new(),
            candidates_of: HashMap::new(),
            capabilities: HashMap::new(),
        };
        for &index in reachable {
            let candidate = &universe.candidates[index];
            let version = Some(candidate.version.clone());
            provider.add(
                Name::Package(candidate.name.clone()),
                index,
                version.clone(),
            );
            if universe.is_provided(&candidate.name) {
                provider.add_capability(&candidate.name, index, version);
            }
            for provide in &candidate.provides {
                provider.add_capability(&provide.name, index, provide.version.clone());
            }
        }
        provider
    }

    fn add(&mut self, name: Name, candidate: usize, version: Option<String>) -> NameId {
        let name = self.pool.intern_package_name(name);
        let solvable = self
            .pool
            .intern_solvable(name, Record { candidate, version });
        self.candidates_of.entry(name).or_default().push(solvable);
        name
    }

    fn add_capability(&mut self, name: &str, candidate: usize, version: Option<String>) {
        let name = self.add(Name::Capability(name.to_owned()), candidate, version);
        let names = self.capabilities.entry(candidate).or_default();
        if !names.contains(&name) {
            names.push(name);
        }
    }

    pub(super) fn candidate(&self, solvable: SolvableId) -> &'u Candidate {
        &self.universe.candidates[self.pool.resolve_solvable(solvable).record.candidate]
    }

    pub(super) fn name(&self, solvable: SolvableId) -> &Name {
        self.pool
            .resolve_package_name(self.pool.resolve_solvable(solvable).name)
    }

    /// The name a relation on `name` is resolved against.
    fn target(&self, name: &str) -> NameId {
        let name = if self.universe.is_provided(name) {
            Name::Capability(name.to_owned())
        } else {
            Name::Package(name.to_owned())
        };
        self.pool.intern_package_name(name)
    }

    /// One dependency (alternatives in order) as a resolvo requirement.
    pub(super) fn requirement(&self, alternatives: &[Relation]) -> Requirement {
        let mut sets = alternatives.iter().map(|relation| {
            self.pool.intern_version_set(
                self.target(&relation.name),
                Spec::Wants(relation.constraint.clone()),
            )
        });
        let first = sets
            .next()
            .expect("a dependency has at least one alternative");
        let rest: Vec<VersionSetId> = sets.collect();
        if rest.is_empty() {
            Requirement::Single(first)
        } else {
            Requirement::Union(self.pool.intern_version_set_union(first, rest.into_iter()))
        }
    }

    /// The package candidates of a solution, sorted by name then version.
    pub(super) fn chosen_candidates(&self, solvables: &[SolvableId]) -> Vec<usize> {
        let mut chosen: Vec<usize> = solvables
            .iter()
            .filter(|&&solvable| matches!(self.name(solvable), Name::Package(_)))
            .map(|&solvable| self.pool.resolve_solvable(solvable).record.candidate)
            .collect();
        let candidates = self.universe.candidates;
        chosen.sort_by(|&a, &b| {
            candidates[a].name.cmp(&candidates[b].name).then_with(|| {
                version::compare(
                    self.universe.kind,
                    &candidates[a].version,
                    &candidates[b].version,
                )
            })
        });
        chosen
    }

    fn matches(&self, solvable: SolvableId, spec: &Spec) -> bool {
        let record = &self.pool.resolve_solvable(solvable).record;
        let kind = self.universe.kind;
        let satisfies = |constraint: &Option<(Op, String)>| match constraint {
            None => true,
            Some((op, wanted)) => record
                .version
                .as_deref()
                .is_some_and(|version| version::satisfies(kind, version, *op, wanted)),
        };
        match spec {
            Spec::Wants(constraint) => satisfies(constraint),
            Spec::Allows { conflict, owner } => {
                self.universe.candidates[record.candidate].name == *owner || !satisfies(conflict)
            }
            Spec::Exactly(candidate) => record.candidate == *candidate,
        }
    }

    /// Order of preference among the solvables of one name (see the module documentation
    /// of `resolve`).
    fn preference(&self, solvable: SolvableId) -> (bool, i64, &str) {
        let candidate = self.candidate(solvable);
        let real = candidate.name == self.name(solvable).text();
        (
            !real,
            -priority(self.universe.kind, candidate),
            &candidate.name,
        )
    }

    fn requirements_of(&self, solvable: SolvableId) -> Vec<ConditionalRequirement> {
        let record = &self.pool.resolve_solvable(solvable).record;
        let candidate = self.candidate(solvable);
        if let Name::Capability(_) = self.name(solvable) {
            let package = self
                .pool
                .intern_package_name(Name::Package(candidate.name.clone()));
            let set = self
                .pool
                .intern_version_set(package, Spec::Exactly(record.candidate));
            return vec![Requirement::Single(set).into()];
        }
        let dependencies = candidate
            .depends
            .iter()
            .filter(|alternatives| !alternatives.is_empty())
            .map(|alternatives| self.requirement(alternatives).into());
        let own = self
            .capabilities
            .get(&record.candidate)
            .into_iter()
            .flatten();
        let own = own.map(|&name| {
            Requirement::Single(
                self.pool
                    .intern_version_set(name, Spec::Exactly(record.candidate)),
            )
            .into()
        });
        dependencies.chain(own).collect()
    }

    fn constraints_of(&self, solvable: SolvableId) -> Vec<VersionSetId> {
        if let Name::Capability(_) = self.name(solvable) {
            return Vec::new();
        }
        let candidate = self.candidate(solvable);
        candidate
            .conflicts
            .iter()
            .map(|relation| {
                self.pool.intern_version_set(
                    self.target(&relation.name),
                    Spec::Allows {
                        conflict: relation.constraint.clone(),
                        owner: candidate.name.clone(),
                    },
                )
            })
            .collect()
    }

    /// A version set for messages: `execline (>= 2.9.3)`.
    pub(super) fn describe_set(&self, set: VersionSetId) -> String {
        let name = self
            .pool
            .resolve_package_name(self.pool.resolve_version_set_package_name(set))
            .text();
        match self.pool.resolve_version_set(set) {
            Spec::Wants(constraint)
            | Spec::Allows {
                conflict: constraint,
                ..
            } => relation_text(self.universe.kind, name, constraint.as_ref()),
            Spec::Exactly(candidate) => {
                let candidate = &self.universe.candidates[*candidate];
                format!("{name} (from {} {})", candidate.name, candidate.version)
            }
        }
    }

    /// `execline 2.9.3.0-1`, or `debconf-2.0 (provided by cdebconf 0.270)`.
    pub(super) fn describe_solvable(&self, solvable: SolvableId) -> String {
        let candidate = self.candidate(solvable);
        match self.name(solvable) {
            Name::Package(name) => format!("{name} {}", candidate.version),
            Name::Capability(name) => {
                format!(
                    "{name} (provided by {} {})",
                    candidate.name, candidate.version
                )
            }
        }
    }

    /// What a name offers, for "but the only execline is 2.9.0".
    pub(super) fn availability(&self, name: NameId) -> String {
        let solvables = self.candidates_of.get(&name).map_or(&[][..], Vec::as_slice);
        match (self.pool.resolve_package_name(name), solvables) {
            (name, []) => format!("no package provides {}", name.text()),
            (Name::Package(name), [only]) => {
                format!("the only {name} is {}", self.candidate(*only).version)
            }
            (Name::Package(name), all) => {
                let versions: Vec<&str> = all
                    .iter()
                    .map(|&solvable| self.candidate(solvable).version.as_str())
                    .collect();
                format!("{name} has only {}", versions.join(", "))
            }
            (Name::Capability(name), all) => {
                let providers: Vec<String> = all
                    .iter()
                    .map(|&solvable| {
                        let candidate = self.candidate(solvable);
                        let record = &self.pool.resolve_solvable(solvable).record;
                        match &record.version {
                            Some(version) if candidate.name != *name => format!(
                                "{} {} (as {name} {version})",
                                candidate.name, candidate.version
                            ),
                            _ => format!("{} {}", candidate.name, candidate.version),
                        }
                    })
                    .collect();
                format!("{name} comes only from {}", providers.join(", "))
            }
        }
    }
}

/// apk's `provider_priority` (`k:`); for Debian, `Essential` then the `Priority` field.
fn priority(kind: Kind, candidate: &Candidate) -> i64 {
    let field = |key: &str| {
        candidate
            .fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.trim())
    };
    match kind {
        Kind::Apk => field("k").and_then(|value| value.parse().ok()).unwrap_or(0),
        Kind::Deb => {
            let priority = match field("Priority") {
                Some("required") => 4,
                Some("important") => 3,
                Some("standard") => 2,
                Some("optional") => 1,
                _ => 0,
            };
            i64::from(candidate.essential) * 10 + priority
        }
    }
}

impl Interner for Provider<'_> {
    type NameId = NameId;
    type SolvableId = SolvableId;

    fn display_solvable(&self, solvable: SolvableId) -> impl fmt::Display + '_ {
        self.describe_solvable(solvable)
    }

    fn display_name(&self, name: NameId) -> impl fmt::Display + '_ {
        self.pool.resolve_package_name(name).text()
    }

    fn display_version_set(&self, version_set: VersionSetId) -> impl fmt::Display + '_ {
        self.describe_set(version_set)
    }

    fn display_string(&self, string_id: StringId) -> impl fmt::Display + '_ {
        self.pool.resolve_string(string_id)
    }

    fn version_set_name(&self, version_set: VersionSetId) -> NameId {
        self.pool.resolve_version_set_package_name(version_set)
    }

    fn solvable_name(&self, solvable: SolvableId) -> NameId {
        self.pool.resolve_solvable(solvable).name
    }

    fn version_sets_in_union(
        &self,
        version_set_union: VersionSetUnionId,
    ) -> impl Iterator<Item = VersionSetId> {
        self.pool.resolve_version_set_union(version_set_union)
    }

    fn resolve_condition(&self, condition: ConditionId) -> Condition {
        self.pool.resolve_condition(condition).clone()
    }
}

impl DependencyProvider for Provider<'_> {
    async fn filter_candidates(
        &self,
        candidates: &[SolvableId],
        version_set: VersionSetId,
        inverse: bool,
    ) -> Vec<SolvableId> {
        let spec = self.pool.resolve_version_set(version_set);
        candidates
            .iter()
            .copied()
            .filter(|&solvable| self.matches(solvable, spec) != inverse)
            .collect()
    }

    async fn get_candidates(&self, name: NameId) -> Option<Candidates<SolvableId>> {
        Some(Candidates {
            candidates: self.candidates_of.get(&name).cloned().unwrap_or_default(),
            allow_multiple: matches!(self.pool.resolve_package_name(name), Name::Capability(_)),
            hint_dependencies_available: HintDependenciesAvailable::All,
            ..Candidates::default()
        })
    }

    async fn sort_candidates(&self, _solver: &SolverCache<Self>, solvables: &mut [SolvableId]) {
        let kind = self.universe.kind;
        solvables.sort_by(|&a, &b| {
            self.preference(a).cmp(&self.preference(b)).then_with(|| {
                let version_a = &self.candidate(a).version;
                let version_b = &self.candidate(b).version;
                version::compare(kind, version_b, version_a)
            })
        });
    }

    async fn get_dependencies(&self, solvable: SolvableId) -> Dependencies {
        Dependencies::Known(KnownDependencies {
            requirements: self.requirements_of(solvable),
            constrains: self.constraints_of(solvable),
        })
    }
}
