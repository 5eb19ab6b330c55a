//! Bounds on what the package readers accept from untrusted files.

/// A package file (the repository server takes uploads up to its own, smaller limit).
pub const PACKAGE: u64 = 4 << 30;
/// A decompressed signature or control member.
pub const CONTROL: u64 = 16 << 20;
/// Entries of a data tar.
pub const ENTRIES: usize = 1_000_000;
/// The header data of one tar entry: its GNU long name and long link entries and its pax
/// extended header together, and each pax global header. The tar crate would keep them in
/// memory whole; our reader refuses them past this size before reading them.
pub const HEADER: u64 = 1 << 20;
/// Unpacked bytes always allowed whatever the ratio: a tiny package's tar blocks and padding
/// make its ratio high without making it large.
pub const RATIO_GRACE: u64 = 16 << 20;

/// Default of [`ReadLimits::max_unpacked`]: 16 GiB.
pub const DEFAULT_MAX_UNPACKED: u64 = 16 << 30;
/// Default of [`ReadLimits::max_ratio`].
pub const DEFAULT_MAX_RATIO: u64 = 100;

/// Bounds of one package read, on what its compressed members unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Decompressed bytes of all members together (tar headers included).
    pub max_unpacked: u64,
    /// Decompressed bytes per byte of the package file, checked once [`RATIO_GRACE`] bytes
    /// were unpacked.
    pub max_ratio: u64,
}

impl Default for ReadLimits {
    /// 16 GiB and a ratio of 100.
    fn default() -> Self {
        ReadLimits {
            max_unpacked: DEFAULT_MAX_UNPACKED,
            max_ratio: DEFAULT_MAX_RATIO,
        }
    }
}

impl ReadLimits {
    /// The decompressed bytes allowed for a package file of `file_size` bytes.
    pub fn allowance(&self, file_size: u64) -> u64 {
        let by_ratio = self.max_ratio.saturating_mul(file_size).max(RATIO_GRACE);
        by_ratio.min(self.max_unpacked)
    }
}
