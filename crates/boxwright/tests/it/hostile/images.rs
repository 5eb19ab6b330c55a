//! Hostile images: see hostile/mod.rs.
