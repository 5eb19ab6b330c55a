//! The install order of a solution: dependencies before dependants where there is no cycle.

use std::collections::{HashMap, HashSet};

use super::Resolution;
use super::universe::Universe;
use crate::version;

/// `chosen` (sorted by name) with its install order.
pub(super) fn resolution(universe: &Universe<'_>, chosen: Vec<usize>) -> Resolution {
    let edges = dependency_edges(universe, &chosen);
    let mut visited = HashSet::new();
    let mut install_order = Vec::with_capacity(chosen.len());
    for position in 0..chosen.len() {
        visit(position, &edges, &mut visited, &mut install_order);
    }
    let install_order = install_order
        .into_iter()
        .map(|position| chosen[position])
        .collect();
    Resolution {
        chosen,
        install_order,
    }
}

/// Post-order depth-first walk: a package comes after everything it depends on, except
/// for the edge that closes a cycle.
fn visit(
    position: usize,
    edges: &[Vec<usize>],
    visited: &mut HashSet<usize>,
    order: &mut Vec<usize>,
) {
    if !visited.insert(position) {
        return;
    }
    for &dependency in &edges[position] {
        visit(dependency, edges, visited, order);
    }
    order.push(position);
}

/// For each chosen package (by position in `chosen`), the chosen packages that satisfy one
/// of its dependencies, in name order.
fn dependency_edges(universe: &Universe<'_>, chosen: &[usize]) -> Vec<Vec<usize>> {
    let candidates = universe.candidates;
    let mut answers: HashMap<&str, Vec<(usize, Option<&str>)>> = HashMap::new();
    for (position, &index) in chosen.iter().enumerate() {
        let candidate = &candidates[index];
        answers
            .entry(&candidate.name)
            .or_default()
            .push((position, Some(&candidate.version)));
        for provide in &candidate.provides {
            answers
                .entry(&provide.name)
                .or_default()
                .push((position, provide.version.as_deref()));
        }
    }
    chosen
        .iter()
        .enumerate()
        .map(|(position, &index)| {
            let mut edges: Vec<usize> = candidates[index]
                .depends
                .iter()
                .flatten()
                .flat_map(|relation| {
                    let answering = answers.get(relation.name.as_str()).into_iter().flatten();
                    answering.filter_map(move |&(other, version)| {
                        let satisfied = match (&relation.constraint, version) {
                            (None, _) => true,
                            (Some((op, wanted)), Some(version)) => {
                                version::satisfies(universe.kind, version, *op, wanted)
                            }
                            (Some(_), None) => false,
                        };
                        (satisfied && other != position).then_some(other)
                    })
                })
                .collect();
            edges.sort_unstable();
            edges.dedup();
            edges
        })
        .collect()
}
