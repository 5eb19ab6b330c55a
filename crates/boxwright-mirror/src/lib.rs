//! Mirroring upstream versions of a target into a registry.
//!
//! - [`Plan`]: which upstream versions x architectures a registry is missing, in the shape
//!   seed 002's workflows consume (a flattened build matrix and a per-version merge list);
//!   pure.
//! - [`StateDir`]: the records of pairs already pushed, so an interrupted run does not redo
//!   them.
//! - [`Mirror`]: the orchestration over the library crates: discovery (`boxwright-upstream`),
//!   checksum pinning and downloads (`boxwright-fetch`), image assembly (`boxwright-image`),
//!   push, merge and tags (`boxwright-registry`), SBOM and provenance (`boxwright-sbom`) and
//!   their attestation. Progress goes to the caller's [`Host`] as [`Event`]s; nothing is
//!   printed here.

mod digests;
mod error;
mod event;
mod mirror;
mod pin;
mod plan;
mod state;

pub use digests::merge_digests;
pub use error::Error;
pub use event::Event;
pub use mirror::{Host, Mirror, RunReport, Settings, Signing, oci_arch, platform_arch};
pub use plan::{MatrixEntry, MergeEntry, Plan, PlanInput, default_runner, github_outputs};
pub use state::{PairRecord, StateDir, StateError};
