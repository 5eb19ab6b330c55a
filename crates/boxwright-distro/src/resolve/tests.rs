use super::{Options, resolve};
use crate::error::Error;
use crate::model::{Candidate, Kind, Op, Provide, Relation};

fn relation(text: &str) -> Relation {
    let text = text.trim();
    let (name, constraint) = match text.split_once(' ') {
        Some((name, rest)) => {
            let rest = rest.trim().trim_start_matches('(').trim_end_matches(')');
            let (op, version) = rest.split_once(' ').expect("op and version");
            let op = match op {
                "<<" | "<" => Op::Lt,
                "<=" => Op::Le,
                "=" => Op::Eq,
                ">=" => Op::Ge,
                ">>" | ">" => Op::Gt,
                "~" => Op::Fuzzy,
                other => panic!("operator {other}"),
            };
            (name, Some((op, version.to_owned())))
        }
        None => (text, None),
    };
    Relation {
        name: name.to_owned(),
        constraint,
        arch_qualifier: String::new(),
    }
}

/// `a (>= 1) | b, c`
fn depends(text: &str) -> Vec<Vec<Relation>> {
    text.split(',')
        .filter(|group| !group.trim().is_empty())
        .map(|group| group.split('|').map(relation).collect())
        .collect()
}

fn package(kind: Kind, name: &str, version: &str, requires: &str) -> Candidate {
    Candidate {
        kind,
        name: name.to_owned(),
        version: version.to_owned(),
        arch: if kind == Kind::Deb { "amd64" } else { "x86_64" }.to_owned(),
        depends: depends(requires),
        conflicts: Vec::new(),
        provides: Vec::new(),
        essential: false,
        filename: format!("{name}_{version}"),
        size: 1,
        sha256: None,
        apk_checksum: None,
        repository: 0,
        fields: Vec::new(),
    }
}

fn deb(name: &str, version: &str, requires: &str) -> Candidate {
    package(Kind::Deb, name, version, requires)
}

fn apk(name: &str, version: &str, requires: &str) -> Candidate {
    package(Kind::Apk, name, version, requires)
}

fn provides(mut candidate: Candidate, names: &[(&str, Option<&str>)]) -> Candidate {
    candidate.provides = names
        .iter()
        .map(|(name, version)| Provide {
            name: (*name).to_owned(),
            version: version.map(str::to_owned),
        })
        .collect();
    candidate
}

fn conflicts(mut candidate: Candidate, text: &str) -> Candidate {
    candidate.conflicts = text.split(',').map(relation).collect();
    candidate
}

fn options(kind: Kind) -> Options {
    Options {
        kind,
        arch: if kind == Kind::Deb { "amd64" } else { "x86_64" }.to_owned(),
    }
}

fn names(candidates: &[Candidate], indexes: &[usize]) -> Vec<String> {
    indexes
        .iter()
        .map(|&index| format!("{}={}", candidates[index].name, candidates[index].version))
        .collect()
}

fn solve(kind: Kind, candidates: &[Candidate], install: &[&str]) -> Result<Vec<String>, Error> {
    let install: Vec<Relation> = install.iter().map(|text| relation(text)).collect();
    let resolution = resolve(candidates, &install, &options(kind))?;
    Ok(names(candidates, &resolution.chosen))
}

fn unsatisfiable(kind: Kind, candidates: &[Candidate], install: &[&str]) -> String {
    match solve(kind, candidates, install) {
        Err(Error::Unsatisfiable { explanation, .. }) => explanation,
        other => panic!("expected an unsatisfiable install, got {other:?}"),
    }
}

#[test]
fn the_highest_version_wins() {
    let universe = [
        deb("a", "1.0-1", ""),
        deb("a", "1.0-10", ""),
        deb("a", "1.0-2", ""),
    ];
    assert_eq!(solve(Kind::Deb, &universe, &["a"]).unwrap(), ["a=1.0-10"]);
}

#[test]
fn the_first_alternative_that_can_be_satisfied_is_chosen() {
    let universe = [deb("x", "1", "a | b"), deb("a", "1", ""), deb("b", "1", "")];
    assert_eq!(solve(Kind::Deb, &universe, &["x"]).unwrap(), ["a=1", "x=1"]);
    let universe = [
        deb("x", "1", "a (>= 2) | b"),
        deb("a", "1", ""),
        deb("b", "1", ""),
    ];
    assert_eq!(solve(Kind::Deb, &universe, &["x"]).unwrap(), ["b=1", "x=1"]);
}

#[test]
fn an_alternative_already_chosen_satisfies_the_dependency() {
    let universe = [
        deb("x", "1", "a | b"),
        deb("y", "1", "b"),
        deb("a", "1", ""),
        deb("b", "1", ""),
    ];
    let chosen = solve(Kind::Deb, &universe, &["y", "x"]).unwrap();
    assert!(chosen.contains(&"b=1".to_owned()));
    assert_eq!(chosen.len(), 3, "{chosen:?}");
}

#[test]
fn a_virtual_package_is_satisfied_by_its_provider() {
    let universe = [
        deb("x", "1", "debconf (>= 0.5) | debconf-2.0"),
        provides(deb("cdebconf", "0.270", ""), &[("debconf-2.0", None)]),
    ];
    assert_eq!(
        solve(Kind::Deb, &universe, &["x"]).unwrap(),
        ["cdebconf=0.270", "x=1"]
    );
}

#[test]
fn the_real_package_of_a_name_is_preferred_over_its_providers() {
    let universe = [
        provides(deb("aaa-awk", "9", ""), &[("awk", None)]),
        deb("awk", "1", ""),
        deb("x", "1", "awk"),
    ];
    assert_eq!(
        solve(Kind::Deb, &universe, &["x"]).unwrap(),
        ["awk=1", "x=1"]
    );
}

#[test]
fn a_versioned_relation_needs_a_versioned_provide() {
    let universe = [
        deb("x", "1", "v (>= 1)"),
        provides(deb("a", "5", ""), &[("v", None)]),
        provides(deb("b", "1", ""), &[("v", Some("1.5"))]),
    ];
    assert_eq!(solve(Kind::Deb, &universe, &["x"]).unwrap(), ["b=1", "x=1"]);
    let universe = [
        deb("x", "1", "v (>= 1)"),
        provides(deb("a", "5", ""), &[("v", None)]),
    ];
    let explanation = unsatisfiable(Kind::Deb, &universe, &["x"]);
    assert!(
        explanation.contains("x 1 depends on v (>= 1)"),
        "{explanation}"
    );
}

#[test]
fn a_conflict_makes_the_solver_take_another_alternative() {
    let universe = [
        deb("x", "1", "a | b"),
        conflicts(deb("y", "1", ""), "a"),
        deb("a", "1", ""),
        deb("b", "1", ""),
    ];
    assert_eq!(
        solve(Kind::Deb, &universe, &["y", "x"]).unwrap(),
        ["b=1", "x=1", "y=1"]
    );
}

#[test]
fn a_conflict_through_a_virtual_name_catches_every_provider_but_itself() {
    let universe = [
        conflicts(provides(deb("exim", "4", ""), &[("mta", None)]), "mta"),
        conflicts(provides(deb("postfix", "3", ""), &[("mta", None)]), "mta"),
    ];
    assert_eq!(solve(Kind::Deb, &universe, &["exim"]).unwrap(), ["exim=4"]);
    let explanation = unsatisfiable(Kind::Deb, &universe, &["exim", "postfix"]);
    assert!(explanation.contains("conflicts with"), "{explanation}");
}

#[test]
fn breaks_with_a_version_picks_a_newer_version() {
    let universe = [
        conflicts(deb("a", "2", ""), "b (<< 2)"),
        deb("b", "1", ""),
        deb("b", "2", ""),
        deb("c", "1", "b (<= 2)"),
    ];
    assert_eq!(
        solve(Kind::Deb, &universe, &["a", "c"]).unwrap(),
        ["a=2", "b=2", "c=1"]
    );
    let universe = [conflicts(deb("a", "2", ""), "b (<< 2)"), deb("b", "1", "")];
    let explanation = unsatisfiable(Kind::Deb, &universe, &["a", "b"]);
    assert!(explanation.contains("b 1"), "{explanation}");
}

#[test]
fn a_pin_installs_exactly_that_version() {
    let universe = [deb("a", "1.0", ""), deb("a", "2.0", "")];
    assert_eq!(
        solve(Kind::Deb, &universe, &["a (= 1.0)"]).unwrap(),
        ["a=1.0"]
    );
}

#[test]
fn a_pin_nothing_matches_names_the_package_and_its_versions() {
    let universe = [deb("a", "1.0", ""), deb("a", "2.0", "")];
    match solve(Kind::Deb, &universe, &["a (= 3.0)"]) {
        Err(error @ Error::NoMatchingVersion { .. }) => assert_eq!(
            error.to_string(),
            "no version of a matches = 3.0 (available: 1.0, 2.0)"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_package_is_named() {
    let universe = [deb("a", "1.0", "")];
    match solve(Kind::Deb, &universe, &["a", "nosuch"]) {
        Err(error @ Error::UnknownPackage { .. }) => {
            assert!(
                error.to_string().contains("unknown package nosuch"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unsatisfiable_dependency_names_the_chain() {
    let universe = [
        deb("web", "1", "s6"),
        deb("s6", "2.11", "execline (>= 2.9.3)"),
        deb("execline", "2.9.0", ""),
    ];
    let install = [relation("web")];
    let error = resolve(&universe, &install, &options(Kind::Deb)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot install web: web 1 → s6 2.11 depends on execline (>= 2.9.3) \
         but the only execline is 2.9.0"
    );
}

#[test]
fn a_pinned_version_whose_dependencies_fail_is_explained() {
    let universe = [
        deb("a", "1", "b (>= 2)"),
        deb("a", "2", ""),
        deb("b", "1", ""),
    ];
    let explanation = unsatisfiable(Kind::Deb, &universe, &["a (= 1)"]);
    assert!(
        explanation.contains("a 1 depends on b (>= 2) but the only b is 1"),
        "{explanation}"
    );
}

#[test]
fn cycles_are_allowed_also_through_virtual_names() {
    let universe = [
        deb("a", "1", "b"),
        deb("b", "1", "a"),
        deb("c", "1", "vd"),
        provides(deb("d", "1", "vc"), &[("vd", None)]),
        provides(deb("e", "1", ""), &[("vc", None)]),
        provides(deb("f", "1", "vd"), &[("vc", None)]),
    ];
    assert_eq!(solve(Kind::Deb, &universe, &["a"]).unwrap(), ["a=1", "b=1"]);
    let chosen = solve(Kind::Deb, &universe, &["c", "f"]).unwrap();
    assert_eq!(chosen, ["c=1", "d=1", "f=1"]);
}

#[test]
fn the_install_order_puts_dependencies_first() {
    let universe = [
        deb("a", "1", "b"),
        deb("b", "1", "c, d"),
        deb("c", "1", ""),
        deb("d", "1", "c"),
    ];
    let install = [relation("a")];
    let resolution = resolve(&universe, &install, &options(Kind::Deb)).unwrap();
    assert_eq!(
        names(&universe, &resolution.chosen),
        ["a=1", "b=1", "c=1", "d=1"]
    );
    assert_eq!(
        names(&universe, &resolution.install_order),
        ["c=1", "d=1", "b=1", "a=1"]
    );
}

#[test]
fn other_architectures_are_ignored_and_all_is_kept() {
    let mut foreign = deb("a", "9", "");
    foreign.arch = "arm64".to_owned();
    let mut independent = deb("b", "1", "");
    independent.arch = "all".to_owned();
    let universe = [foreign, deb("a", "1", "b"), independent];
    assert_eq!(solve(Kind::Deb, &universe, &["a"]).unwrap(), ["a=1", "b=1"]);
}

#[test]
fn apk_shared_library_and_command_providers() {
    let universe = [
        apk("curl", "8.9.1-r0", "so:libc.musl-x86_64.so.1, cmd:sh"),
        provides(
            apk("musl", "1.2.5-r0", ""),
            &[("so:libc.musl-x86_64.so.1", Some("1"))],
        ),
        provides(apk("busybox-binsh", "1.36.1-r29", ""), &[("cmd:sh", None)]),
    ];
    assert_eq!(
        solve(Kind::Apk, &universe, &["curl"]).unwrap(),
        ["busybox-binsh=1.36.1-r29", "curl=8.9.1-r0", "musl=1.2.5-r0"]
    );
}

#[test]
fn apk_provider_priority_beats_name_order() {
    let mut busybox = provides(apk("busybox-binsh", "1.36.1-r29", ""), &[("/bin/sh", None)]);
    busybox.fields.push(("k".to_owned(), "100".to_owned()));
    let mut dash = provides(apk("dash-binsh", "0.5.12-r3", ""), &[("/bin/sh", None)]);
    dash.fields.push(("k".to_owned(), "60".to_owned()));
    let universe = [apk("x", "1-r0", "/bin/sh"), dash, busybox];
    assert_eq!(
        solve(Kind::Apk, &universe, &["x"]).unwrap(),
        ["busybox-binsh=1.36.1-r29", "x=1-r0"]
    );
}

#[test]
fn apk_conflicts_and_fuzzy_pins() {
    let universe = [
        apk("a", "1.2.3-r0", ""),
        apk("a", "1.3.0-r0", ""),
        conflicts(apk("b", "1-r0", ""), "a"),
    ];
    assert_eq!(
        solve(Kind::Apk, &universe, &["a ~ 1.2"]).unwrap(),
        ["a=1.2.3-r0"]
    );
    let explanation = unsatisfiable(Kind::Apk, &universe, &["a", "b"]);
    assert!(
        explanation.contains("b 1-r0 conflicts with a"),
        "{explanation}"
    );
}
