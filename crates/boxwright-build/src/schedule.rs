//! Builds of many plans on worker threads: each plan starts as soon as its build dependencies
//! are done, and a plan whose dependency failed is not started.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

use crate::{BuildPlan, BuildReport, Built, Error};

/// Runs `plans` (in dependency order) with `build` on up to `workers` threads and returns
/// one result per plan, in the plans' order. `build` gets the plan and its finished
/// dependencies; a plan whose dependency failed gets [`Error::DependencyFailed`].
pub fn run_all<E, F>(plans: &[BuildPlan], workers: usize, build: F) -> Vec<Result<BuildReport, E>>
where
    E: From<Error> + Send,
    F: Fn(&BuildPlan, &[Built]) -> Result<BuildReport, E> + Sync,
{
    if plans.is_empty() {
        return Vec::new();
    }
    let scheduler = Scheduler {
        plans,
        state: Mutex::new(State {
            pending: (0..plans.len()).collect(),
            finished: BTreeMap::new(),
            results: Vec::new(),
        }),
        changed: Condvar::new(),
    };
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, plans.len()) {
            scope.spawn(|| scheduler.work(&build));
        }
    });
    let mut results = scheduler.state.into_inner().expect("not poisoned").results;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

struct Scheduler<'a, E> {
    plans: &'a [BuildPlan],
    state: Mutex<State<E>>,
    changed: Condvar,
}

struct State<E> {
    /// Indexes of plans not started yet, in order.
    pending: Vec<usize>,
    /// Finished targets: what dependents need, or `None` when it failed.
    finished: BTreeMap<String, Option<Built>>,
    results: Vec<(usize, Result<BuildReport, E>)>,
}

/// What a worker does next.
enum Next {
    Run(usize, Vec<Built>),
    Skip(usize, String),
    Wait,
    Stop,
}

impl<E: From<Error>> Scheduler<'_, E> {
    /// The first pending plan whose dependencies are all finished.
    fn next(&self, state: &mut State<E>) -> Next {
        if state.pending.is_empty() {
            return Next::Stop;
        }
        for position in 0..state.pending.len() {
            let index = state.pending[position];
            let mut ready = Vec::new();
            let mut waiting = false;
            for dependency in &self.plans[index].depends {
                match state.finished.get(dependency) {
                    Some(Some(built)) => ready.push(built.clone()),
                    Some(None) => {
                        state.pending.remove(position);
                        return Next::Skip(index, dependency.clone());
                    }
                    None => waiting = true,
                }
            }
            if !waiting {
                state.pending.remove(position);
                return Next::Run(index, ready);
            }
        }
        Next::Wait
    }

    fn work(&self, build: &(impl Fn(&BuildPlan, &[Built]) -> Result<BuildReport, E> + Sync)) {
        loop {
            let next = {
                let mut state = self.state.lock().expect("not poisoned");
                loop {
                    match self.next(&mut state) {
                        Next::Wait => state = self.changed.wait(state).expect("not poisoned"),
                        next => break next,
                    }
                }
            };
            let (index, result) = match next {
                Next::Stop => return,
                Next::Wait => unreachable!("waited above"),
                Next::Skip(index, dependency) => {
                    let target = self.plans[index].target.clone();
                    (
                        index,
                        Err(Error::DependencyFailed { target, dependency }.into()),
                    )
                }
                Next::Run(index, dependencies) => (index, build(&self.plans[index], &dependencies)),
            };
            let plan = &self.plans[index];
            let finished = result.as_ref().ok().map(|report| Built {
                target: plan.target.clone(),
                key: report.key.clone(),
                output_dir: report.output_dir.clone(),
            });
            let mut state = self.state.lock().expect("not poisoned");
            state.finished.insert(plan.target.clone(), finished);
            state.results.push((index, result));
            self.changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::{Arch, Sandbox, Status};

    fn plan(target: &str, depends: &[&str]) -> BuildPlan {
        BuildPlan {
            target: target.into(),
            version: "1".into(),
            arch: Arch::X86_64,
            recipe: PathBuf::new(),
            docker: false,
            target_dir: PathBuf::new(),
            work_dir: PathBuf::new(),
            log: PathBuf::new(),
            output_dir: PathBuf::from(target),
            sandbox: Sandbox::Host,
            sources: Vec::new(),
            env: BTreeMap::new(),
            policy: Vec::new(),
            smoke: Vec::new(),
            depends: depends.iter().map(|d| (*d).to_string()).collect(),
            cache_dir: PathBuf::new(),
            record: PathBuf::new(),
            offline: true,
        }
    }

    fn report(plan: &BuildPlan, dependencies: &[Built]) -> BuildReport {
        BuildReport {
            target: plan.target.clone(),
            arch: plan.arch,
            status: Status::Built,
            key: dependencies.iter().map(|d| d.target.as_str()).collect(),
            reasons: Vec::new(),
            output_dir: plan.output_dir.clone(),
            files: Vec::new(),
            log: PathBuf::new(),
            seconds: 0.0,
            smoke: None,
        }
    }

    #[test]
    fn dependencies_reach_dependents_and_results_keep_the_plans_order() {
        let plans = [plan("a", &[]), plan("b", &["a"]), plan("c", &["a", "b"])];
        let results: Vec<Result<BuildReport, Error>> =
            run_all(&plans, 3, |plan, deps| Ok(report(plan, deps)));
        let keys: Vec<String> = results.into_iter().map(|r| r.unwrap().key).collect();
        assert_eq!(keys, ["", "a", "ab"]);
    }

    #[test]
    fn a_failed_dependency_skips_its_dependents_only() {
        let plans = [plan("a", &[]), plan("b", &["a"]), plan("c", &[])];
        let results: Vec<Result<BuildReport, Error>> = run_all(&plans, 2, |plan, deps| {
            if plan.target == "a" {
                Err(Error::DependencyFailed {
                    target: "a".into(),
                    dependency: "x".into(),
                })
            } else {
                Ok(report(plan, deps))
            }
        });
        assert!(results[0].is_err());
        assert!(matches!(
            &results[1],
            Err(Error::DependencyFailed { target, dependency }) if target == "b" && dependency == "a"
        ));
        assert_eq!(results[2].as_ref().unwrap().target, "c");
    }
}
