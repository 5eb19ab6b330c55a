//! Bounds on what the package readers accept from untrusted files.

/// A package file (the repository server takes uploads up to its own, smaller limit).
pub const PACKAGE: u64 = 4 << 30;
/// A decompressed signature or control member.
pub const CONTROL: u64 = 16 << 20;
/// A decompressed data member.
pub const DATA: u64 = 16 << 30;
/// Entries of a data tar.
pub const ENTRIES: usize = 1_000_000;
