//! Integration tests: they drive the real `boxwright` binary.

mod fetch;
mod metadata;
mod release;
mod support;
