//! Discovery against fake GitHub and GitLab APIs on 127.0.0.1.
//!
//! The pages in `tests/fixtures/` have the shape of the real APIs' answers (fields the
//! crate does not read included), trimmed to a few entries; `{base}` in links is the fake
//! server.

mod errors;
mod github;
mod gitlab;
mod support;
