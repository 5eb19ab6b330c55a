//! Hostile verify: see hostile/mod.rs.
