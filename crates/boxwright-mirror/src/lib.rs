//! Mirror plans: which upstream versions x architectures a registry is missing, in the shape
//! seed 002's workflows consume (a flattened build matrix and a per-version merge list), and
//! the records of pairs already pushed, so an interrupted `mirror run` does not redo them.
//!
//! Pure: the caller discovers versions and asks the registry; this crate decides.

mod plan;
mod state;

pub use plan::{MatrixEntry, MergeEntry, Plan, PlanInput, default_runner, github_outputs};
pub use state::{PairRecord, StateDir};
