//! `boxwright serve`: a package repository server, and the client of its upload protocol.
//!
//! - [`config`]: `repo.yaml` (seed 003's reposerve file plus `addr`, `keys`, `apt`, `limits`).
//! - [`server`]: serves the tree ([`files`]: ranges, conditional GETs, content types, no
//!   escapes) and `POST /upload` ([`upload`]: multipart staging with limits; [`publish`]:
//!   validation, per-index serialisation, placement, re-indexing with rollback), guarded by
//!   [`auth`] (JWT against a JWKS) when configured; optional TLS ([`tls`]).
//! - [`client`]: `repo upload`, the same protocol from the other side.
//! - [`log`]: the log callback and [`log::escape`], the one escaping of request-controlled
//!   text in log lines and refusals.

mod accept;
pub mod auth;
pub mod client;
pub mod config;
mod error;
pub mod files;
pub mod log;
pub mod publish;
pub mod server;
mod tls;
pub mod upload;

pub use config::ServeConfig;
pub use error::Error;
pub use log::Log;
pub use server::Server;
