//! Hostile input, as an attacker would send it: each case of the security review is a test
//! here that failed before its fix. Peak memory is measured (`support::rss`), never timed.

mod images;
mod packages;
mod serve;
mod templates;
mod verify;
