//! resolvo's conflict graph turned into one message naming the failing chain:
//! `s6 2.11.3.2-1 depends on execline (>= 2.9.3) but the only execline is 2.9.0-1`.

use std::collections::{HashMap, VecDeque};

use resolvo::conflict::{ConflictCause, ConflictEdge, ConflictGraph, ConflictNode};
use resolvo::{Interner, Requirement};

use super::provider::{Name, Provider};

/// Every failing fact of the conflict, each led by the chain of packages that needs it.
pub(super) fn explain(graph: &ConflictGraph, provider: &Provider<'_>) -> String {
    let parents = parents_from_root(graph);
    let nodes = graph.graph.raw_nodes();
    let mut problems: Vec<String> = Vec::new();
    for edge in graph.graph.raw_edges() {
        let source = edge.source().index();
        let target = &nodes[edge.target().index()].weight;
        let problem = match (edge.weight, target) {
            (ConflictEdge::Requires(requirement), ConflictNode::UnresolvedDependency) => {
                let wanted = describe_requirement(requirement, provider);
                let available = requirement_names(requirement, provider)
                    .into_iter()
                    .map(|name| provider.availability(name))
                    .collect::<Vec<_>>()
                    .join("; ");
                Some(format!("depends on {wanted} but {available}"))
            }
            (
                ConflictEdge::Conflict(ConflictCause::Constrains(set)),
                ConflictNode::Solvable(other),
            ) => Some(format!(
                "conflicts with {} (through {})",
                provider.describe_solvable(*other),
                provider.describe_set(set)
            )),
            (
                ConflictEdge::Conflict(ConflictCause::ForbidMultipleInstances),
                ConflictNode::Solvable(other),
            ) => Some(format!(
                "cannot be installed together with {}",
                provider.describe_solvable(*other)
            )),
            _ => None,
        };
        if let Some(problem) = problem {
            let text = format!("{} {problem}", chain(source, &parents, graph, provider));
            if !problems.contains(&text) {
                problems.push(text);
            }
        }
    }
    if problems.is_empty() {
        return "no combination of candidate versions satisfies every dependency".to_owned();
    }
    problems.join("; ")
}

/// For each node reachable from the root through requirements, the node it was reached from.
fn parents_from_root(graph: &ConflictGraph) -> HashMap<usize, usize> {
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for edge in graph.graph.raw_edges() {
        if let ConflictEdge::Requires(_) = edge.weight {
            children
                .entry(edge.source().index())
                .or_default()
                .push(edge.target().index());
        }
    }
    let root = graph.root_node.index();
    let mut parents = HashMap::new();
    let mut queue = VecDeque::from([root]);
    while let Some(node) = queue.pop_front() {
        for &child in children.get(&node).into_iter().flatten() {
            if child != root && !parents.contains_key(&child) {
                parents.insert(child, node);
                queue.push_back(child);
            }
        }
    }
    parents
}

/// `foo 1.0 → s6 2.11.3.2-1`: the packages from the install list down to `node`
/// (capabilities left out), or `the install list` for the root.
fn chain(
    node: usize,
    parents: &HashMap<usize, usize>,
    graph: &ConflictGraph,
    provider: &Provider<'_>,
) -> String {
    let nodes = graph.graph.raw_nodes();
    let mut steps = Vec::new();
    let mut current = Some(node);
    while let Some(index) = current {
        if let ConflictNode::Solvable(solvable) = nodes[index].weight
            && let Name::Package(_) = provider.name(solvable)
        {
            steps.push(provider.describe_solvable(solvable));
        }
        current = parents.get(&index).copied();
        if steps.len() > nodes.len() {
            break;
        }
    }
    if steps.is_empty() {
        return "the install list".to_owned();
    }
    steps.reverse();
    steps.join(" → ")
}

fn requirement_names(requirement: Requirement, provider: &Provider<'_>) -> Vec<resolvo::NameId> {
    match requirement {
        Requirement::Single(set) => vec![provider.version_set_name(set)],
        Requirement::Union(union) => provider
            .version_sets_in_union(union)
            .map(|set| provider.version_set_name(set))
            .collect(),
    }
}

fn describe_requirement(requirement: Requirement, provider: &Provider<'_>) -> String {
    match requirement {
        Requirement::Single(set) => provider.describe_set(set),
        Requirement::Union(union) => provider
            .version_sets_in_union(union)
            .map(|set| provider.describe_set(set))
            .collect::<Vec<_>>()
            .join(" | "),
    }
}
