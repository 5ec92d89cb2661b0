//! Cross-tenant name lookups. `host.name(id)` resolves ids, and ids come
//! from one process-wide interner, where alice's private tracked account
//! sits from the moment her template's selector is indexed. Bob's filter
//! asks for every id up to past hers; it must get names only for ids that
//! occurred in the events given to that call (the venue and symbols of
//! the synthetic market), so her account never reaches his alerts.

use std::collections::BTreeSet;

use klaxon::event::Sym;

use crate::harness::{self, Case, EVENTS, SYMBOLS, VENUE};

const ALICE: &str = "0xa11ce000000000000000000000000000000a11ce";

/// Alice's template: a tracked account she does not want anyone to see.
/// Nothing in the synthetic market fills for it, so it never alerts; it
/// only puts her account in the interner.
const ALICE_TEMPLATE: &str = r#"
[templates.alice-whale]
owner = "alice"
select = { kinds = ["perp-fill"], accounts = ["0xa11ce000000000000000000000000000000a11ce"] }
filter = { plugin = "whale-fill", params = { accounts = ["0xa11ce000000000000000000000000000000a11ce"] } }
channels = ["out"]
"#;

#[test]
fn a_tenant_resolves_only_the_names_of_its_own_events() {
    assert!(ALICE_TEMPLATE.contains(ALICE));
    // Interning is idempotent: this is the id alice's selector gets.
    let alice = Sym::new(ALICE).id();
    let hostile = format!(
        r#"
[templates.hostile-names]
owner = "bob"
filter = {{ plugin = "hostile-filter", params = {{ mode = "names", size = {} }} }}
default_cooldown = "0s"
channels = ["bad"]
"#,
        alice + 64
    );
    let o =
        harness::run(&Case { hostile: &hostile, neighbours: ALICE_TEMPLATE, rss_bound_mib: 96 });
    let allowed: BTreeSet<&str> = SYMBOLS.iter().copied().chain([VENUE]).collect();
    let records = o.bad_records();
    // A refused lookup is an answer (none), not a failure: bob's filter
    // passes every event.
    assert_eq!(records.len() as u64, EVENTS, "bob's filter alerted on every event");
    assert_eq!(o.delta("klaxon_plugin_traps_total", &[("template", "hostile-names")]), 0);
    for r in &records {
        let names: BTreeSet<&str> = r
            .fields
            .iter()
            .find(|(n, _)| n == "names")
            .map(|(_, v)| v.split(',').filter(|n| !n.is_empty()).collect())
            .unwrap_or_default();
        assert!(!names.iter().any(|n| n.contains("a11ce")), "alice's account leaked: {names:?}");
        assert!(names.is_subset(&allowed), "names beyond bob's events: {names:?}");
        // The lookups work: the event's own symbol resolves.
        assert!(names.contains(r.event.symbol.as_str()), "{names:?} lacks {}", r.event.symbol);
    }
}

/// Bob's template is routed only BTCUSDT; his plugin is untrusted, so its
/// instance is his alone. Whatever the worker's run holds for the healthy
/// template (every symbol), the batch his filter gets holds his rows only:
/// the symbol column it reads back names BTCUSDT and nothing else.
#[test]
fn a_tenant_reads_only_the_rows_routed_to_it() {
    let btc = Sym::new("BTCUSDT").id().to_string();
    let hostile = r#"
[templates.hostile-rows]
owner = "bob"
select = { symbols = ["BTCUSDT"] }
filter = { plugin = "hostile-filter", params = { mode = "batch-symbols" } }
default_cooldown = "0s"
channels = ["bad"]
"#;
    let o = harness::run(&Case { hostile, neighbours: "", rss_bound_mib: 96 });
    let records = o.bad_records();
    assert!(!records.is_empty(), "bob's filter answered some batches");
    for r in &records {
        assert_eq!(r.event.symbol, "BTCUSDT");
        let symbols = r.fields.iter().find(|(n, _)| n == "symbols").map(|(_, v)| v.as_str());
        assert_eq!(symbols, Some(btc.as_str()), "bob's batch held rows routed to others");
    }
}
