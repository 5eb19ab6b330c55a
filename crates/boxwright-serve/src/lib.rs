//! `boxwright serve`: a package repository server, and the client of its upload protocol.
//!
//! - [`config`]: `repo.yaml` (seed 003's reposerve file plus `addr`, `keys`, `apt`, `limits`).
//! - [`server`]: serves the tree ([`files`]: ranges, conditional GETs, content types, no
//!   escapes) and `POST /upload` ([`upload`]: multipart staging with limits; [`publish`]:
//!   validation, per-index serialisation, placement, re-indexing with rollback), guarded by
//!   [`auth`] (JWT against a JWKS) when configured; optional TLS ([`tls`]).
//! - [`client`]: `repo upload`, the same protocol from the other side.

pub mod auth;
pub mod client;
pub mod config;
mod error;
pub mod files;
pub mod publish;
pub mod server;
mod tls;
pub mod upload;

use std::sync::Arc;

pub use config::ServeConfig;
pub use error::Error;
pub use server::Server;

/// Where the server's log lines go (one line each, no trailing newline).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;
