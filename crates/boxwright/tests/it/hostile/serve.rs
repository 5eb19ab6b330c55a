//! Hostile serve: see hostile/mod.rs.
