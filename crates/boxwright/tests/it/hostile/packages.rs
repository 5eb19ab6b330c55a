//! Hostile packages: see hostile/mod.rs.
