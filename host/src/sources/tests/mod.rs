//! Tests that span the `sources` modules: golden parses of the real fixtures
//! in `shared/fixtures`, property tests that no parser panics, and the
//! replay and synthetic sources run under paused tokio time.
//!
//! Fixture-based tests skip (with a message) when the fixtures directory is
//! absent, e.g. in a crate-only checkout; they run whenever it is present.
//! CI sets `KLAXON_REQUIRE_FIXTURES` (see `.ci/run`), which turns the skip
//! into a failure so a missing checkout cannot pass silently.

mod binance_books;
mod dex_alerts;
mod golden;
mod props;
mod replay;
mod synthetic;

use std::path::PathBuf;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures");

/// The fixture at `rel`, or `None` (after saying why) when it is absent.
///
/// # Panics
/// When it is absent and `KLAXON_REQUIRE_FIXTURES` is set.
pub(crate) fn fixture(rel: &str) -> Option<PathBuf> {
    let path = PathBuf::from(FIXTURES).join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("KLAXON_REQUIRE_FIXTURES").is_some() {
        panic!("fixture `{}` not found and KLAXON_REQUIRE_FIXTURES is set", path.display());
    }
    eprintln!("skipping: fixture `{}` not found", path.display());
    None
}

/// A decimal from plain (`0.14`) or scientific (`1.3692e-10`) notation.
fn dec(s: &str) -> rust_decimal::Decimal {
    let parsed =
        if s.contains('e') { rust_decimal::Decimal::from_scientific(s) } else { s.parse() };
    parsed.expect("test decimal")
}
