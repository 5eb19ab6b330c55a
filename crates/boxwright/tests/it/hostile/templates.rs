//! Hostile templates: see hostile/mod.rs.
