//! Offline checks of every mode, through the SDK's test double.

use klaxon_sdk::testing::{self, FilterHarness, Value, json};
use klaxon_sdk::{EventRecord, MarketRecord};

use super::*;

fn rule(params: Value) -> FilterHarness<HostileFilter> {
    FilterHarness::configure_json(&params).unwrap()
}

fn live(id: &str) -> EventRecord {
    EventRecord::trade("BTCUSDT", 65_000.0, 1.0).with_id(id).with_venue("synthetic")
}

fn evaluate(f: &FilterHarness<HostileFilter>, e: &EventRecord) -> Verdict {
    f.evaluate(e, &MarketRecord::default())
}

#[test]
fn every_mode_rejects_the_smoke_event() {
    testing::reset();
    let smoke = EventRecord::trade("SMOKEUSDT", 1.0, 1.0).with_id("klaxon-smoke:1");
    for mode in ["pass", "huge-alert", "long-key", "names", "kv-size", "log-flood"] {
        let f = rule(json!({ "mode": mode }));
        assert!(!evaluate(&f, &smoke).is_pass(), "{mode}");
        assert!(f.evaluate_batch(&[(smoke.clone(), MarketRecord::default())]).is_empty());
    }
    assert!(testing::kv_entries().is_empty() && testing::logs().is_empty());
}

#[test]
fn live_events_get_the_hostile_answer() {
    testing::reset();
    let huge = rule(json!({ "mode": "huge-alert", "size": 100, "fields": 3 }));
    let pass = evaluate(&huge, &live("a")).into_pass().unwrap();
    assert_eq!((pass.title.len(), pass.fields.len()), (100, 3));
    assert!(pass.fields.iter().all(|f| f.value.len() == 100));
    let wide = rule(json!({ "mode": "huge-alert", "size": 8, "fields": 2, "field_size": 50 }));
    let pass = evaluate(&wide, &live("a")).into_pass().unwrap();
    assert_eq!(pass.title, "huge BTCUSDT ", "never cut below its prefix");
    assert!(pass.fields.iter().all(|f| f.value.len() == 50));

    let key = rule(json!({ "mode": "long-key", "size": 300, "unique": true }));
    let (a, b) = (evaluate(&key, &live("a")), evaluate(&key, &live("b")));
    let (a, b) = (a.into_pass().unwrap().alert_key, b.into_pass().unwrap().alert_key);
    assert!(a.len() == 300 && b.len() == 300 && a != b);

    let kv = rule(json!({ "mode": "kv-size", "size": 10, "key_size": 20 }));
    evaluate(&kv, &live("a"));
    evaluate(&kv, &live("b"));
    let entries = testing::kv_entries();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|(k, v)| k.len() == 20 && v.len() == 10));
}

#[test]
fn names_asks_for_every_id() {
    testing::reset();
    let secret = testing::intern("0xa11ce");
    let f = rule(json!({ "mode": "names", "size": secret + 1 }));
    let pass = evaluate(&f, &live("a")).into_pass().unwrap();
    assert!(pass.field("names").unwrap().contains("0xa11ce"), "{pass:?}");
}

#[test]
fn logs_flood_and_forge() {
    testing::reset();
    let flood = rule(json!({ "mode": "log-flood", "size": 5, "lines": 7 }));
    flood.evaluate_batch(&[(live("a"), MarketRecord::default())]);
    assert_eq!(testing::logs().len(), 7);
    assert!(testing::logs().iter().all(|(_, l)| l.starts_with("flood a ")));
    testing::reset();
    let inject = rule(json!({ "mode": "log-inject" }));
    evaluate(&inject, &live("b"));
    assert!(testing::logs().iter().all(|(_, l)| l.contains(FORGED)));
}

#[test]
fn configure_loops_only_once_prices_are_known() {
    testing::reset();
    assert!(
        FilterHarness::<HostileFilter>::configure(r#"{"mode":"configure-loop-later"}"#).is_ok()
    );
    // (With a price set, `new` would never return; that is the host's test.)
}

#[test]
fn corrupt_repeats_or_exceeds_rows() {
    let honest = |rule| RulePass {
        rule,
        row: 0,
        pass: WitPass {
            alert_key: "k".into(),
            severity: WitSeverity::Info,
            value: 0.0,
            title: "t".into(),
            fields: vec![],
        },
    };
    let view = |len, live| BatchView { len, symbols: &[7, 3, 7, 9], live };
    let mut passes = vec![honest(0), honest(2)];
    corrupt(Mode::DupRows, 3, 1, view(4, &[2, 3]), &mut passes);
    let at: Vec<(u32, u32)> = passes.iter().map(|p| (p.rule, p.row)).collect();
    assert_eq!(at, [(0, 0), (1, 2), (1, 2), (1, 2), (2, 0)]);

    let mut passes = vec![honest(0)];
    corrupt(Mode::ExcessRows, 2, 1, view(3, &[1]), &mut passes);
    let rows: Vec<u32> = passes.iter().skip(1).map(|p| p.row).collect();
    assert_eq!(rows, [0, 1, 2, 3, 4], "every row, given or not, and two past the end");

    let mut passes = vec![];
    corrupt(Mode::DupRows, 3, 0, view(4, &[]), &mut passes);
    assert!(passes.is_empty(), "no live row, no misbehaviour (the smoke run)");

    let mut passes = vec![];
    corrupt(Mode::BatchSymbols, 0, 0, view(4, &[1, 2]), &mut passes);
    let answer: Vec<(u32, &str)> =
        passes.iter().map(|p| (p.row, &*p.pass.fields[0].value)).collect();
    assert_eq!(answer, [(1, "3,7,9")], "the first live row, every symbol of the batch");
}
