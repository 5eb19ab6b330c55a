//! The package set an `install` list means, as each distribution means it, solved by
//! [`resolvo`] (a CDCL SAT solver) over the candidates reachable from the list.
//!
//! - Debian: `Depends`/`Pre-Depends` with alternatives (the first that can be satisfied is
//!   preferred, as apt does), version relations, `Provides` (a versioned relation is only
//!   satisfied by a versioned provide, Policy §7.5), `Conflicts`/`Breaks` (never against the
//!   package itself through its own provides), `Architecture: all` beside the asked one.
//! - apk: `D:` with `so:`/`cmd:` and other `p:` providers, `!name` conflicts, `noarch`.
//! - Both: the highest version of a name is tried first. Among several providers of one
//!   name: the real package of that name first, then the highest priority (apk's
//!   `provider_priority`, `k:`; for Debian `Essential`, then the `Priority` field), then name
//!   order, then the highest version.
//!
//! Cycles in dependencies are allowed (dpkg allows them); the install order puts
//! dependencies first wherever there is no cycle.

mod explain;
mod order;
mod provider;
mod universe;

use resolvo::{Problem, Solver, UnsolvableOrCancelled};

use crate::error::Error;
use crate::model::{Candidate, Kind, Relation};
use provider::Provider;
use universe::Universe;

/// What the resolution is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The distribution family; decides the version order.
    pub kind: Kind,
    /// The architecture as the index writes it (`amd64`, `x86_64`); candidates of this
    /// architecture and architecture-independent ones (`all`, `noarch`) are considered.
    pub arch: String,
}

/// The chosen package set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Indexes into the candidates, sorted by package name.
    pub chosen: Vec<usize>,
    /// The same indexes, dependencies before their dependants where there is no cycle.
    pub install_order: Vec<usize>,
}

/// Resolves `install` (names, optionally pinned `name=version`) against `candidates`.
///
/// # Errors
///
/// [`Error::UnknownPackage`] for a name nothing has, [`Error::NoMatchingVersion`] for a pin
/// nothing matches, [`Error::Unsatisfiable`] with the failing chain when no package set
/// satisfies everything.
pub fn resolve(
    candidates: &[Candidate],
    install: &[Relation],
    options: &Options,
) -> Result<Resolution, Error> {
    let universe = Universe::new(candidates, options);
    for relation in install {
        universe.check_install(relation)?;
    }
    let provider = Provider::new(&universe, &universe.reachable(install));
    let requirements = install
        .iter()
        .map(|relation| provider.requirement(std::slice::from_ref(relation)).into())
        .collect();
    let mut solver = Solver::new(provider);
    match solver.solve(Problem::new().requirements(requirements)) {
        Ok(solvables) => {
            let chosen = solver.provider().chosen_candidates(&solvables);
            Ok(order::resolution(&universe, chosen))
        }
        Err(UnsolvableOrCancelled::Unsolvable(conflict)) => Err(Error::Unsatisfiable {
            packages: install_list(install),
            explanation: explain::explain(&conflict.graph(&solver), solver.provider()),
        }),
        Err(UnsolvableOrCancelled::Cancelled(_)) => Err(Error::Unsatisfiable {
            packages: install_list(install),
            explanation: "the solver was cancelled".to_owned(),
        }),
    }
}

/// `a, b=1.0` for messages.
fn install_list(install: &[Relation]) -> String {
    install
        .iter()
        .map(|relation| match &relation.constraint {
            Some((_, version)) => format!("{}={version}", relation.name),
            None => relation.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
