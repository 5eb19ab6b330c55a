//! Canonical JSON bytes for digests: object keys sorted, no insignificant white space.
//!
//! The OCI types keep annotations and labels in hash maps, whose order changes from run to
//! run; going through `serde_json::Value` (a sorted map here) fixes the order.

use serde::Serialize;

/// The bytes whose SHA-256 names the document.
pub fn canonical<T: Serialize>(value: &T) -> Vec<u8> {
    let value = serde_json::to_value(value).expect("OCI documents serialise");
    serde_json::to_vec(&value).expect("a JSON value serialises")
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_come_out_sorted() {
        let map: std::collections::HashMap<&str, u8> =
            [("b", 1), ("a", 2), ("c", 3)].into_iter().collect();
        assert_eq!(super::canonical(&map), br#"{"a":2,"b":1,"c":3}"#);
    }
}
