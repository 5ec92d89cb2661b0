//! One instance serves many templates: each rule keeps its own params and
//! its own host scope, and a failure is charged to the rule and event that
//! caused it while the other rules of the instance keep their results.

use std::sync::Arc;

use super::{generous, pool, slot, template, trade};
use crate::alert::{Pass, TemplateId};
use crate::event::Event;
use crate::market::Snapshot;
use crate::plugins::{
    Columns, Domain, FilterJob, InstancePool, PluginKind, PluginSlot, RuleRef, Run,
};
use crate::telemetry::metrics;

/// Judge `events` with each (template, slot) as one call per instance key;
/// returns each template's passes as (row, pass) and the failed count.
fn judge(
    pool: &mut InstancePool,
    rules: &[(TemplateId, PluginSlot)],
    events: &[Event],
) -> (Vec<Vec<(usize, Pass)>>, u64) {
    let market = Snapshot::default();
    let rows: Vec<_> = events.iter().map(|e| (e, &market)).collect();
    let jobs: Vec<FilterJob<'_>> = rules
        .iter()
        .map(|(t, s)| FilterJob {
            rule: RuleRef { template: t, slot: s, limits: generous() },
            rows: None,
        })
        .collect();
    let mut columns = Columns::default();
    columns.reset(rows.len());
    let mut run = Run { rows: &rows, columns: &mut columns, now_ms: 1 };
    let mut passes = vec![Vec::new(); rules.len()];
    let mut failed = 0;
    for group in crate::plugins::pool::group_by_key(jobs.iter().map(|j| Some(&j.rule))) {
        let group_jobs: Vec<_> = group.iter().map(|&j| jobs[j]).collect();
        let mut out = Vec::new();
        failed += pool.filter(&group_jobs, &mut run, &mut out);
        for (j, row, pass) in out {
            passes[group[j]].push((row, pass));
        }
    }
    (passes, failed)
}

fn rows(passes: &[(usize, Pass)]) -> Vec<usize> {
    passes.iter().map(|(r, _)| *r).collect()
}

fn owned(name: &str, params: &str, owner: &str) -> PluginSlot {
    PluginSlot { domain: Domain::Owner(Arc::from(owner)), ..slot(name, PluginKind::Filter, params) }
}

#[test]
fn rules_in_one_instance_keep_their_own_params() {
    let mut pool = pool(0);
    let rules = [
        (
            template("small"),
            slot("amount-threshold", PluginKind::Filter, r#"{"min_notional_usd": 50000}"#),
        ),
        (
            template("large"),
            slot("amount-threshold", PluginKind::Filter, r#"{"min_notional_usd": 150000}"#),
        ),
    ];
    let events =
        [trade("BTCUSDT", 100_000, 1), trade("BTCUSDT", 200_000, 1), trade("BTCUSDT", 10, 1)];
    let (passes, failed) = judge(&mut pool, &rules, &events);
    assert_eq!((rows(&passes[0]), rows(&passes[1]), failed), (vec![0, 1], vec![1], 0));
    assert_eq!(pool.instances(), 1, "both templates share one trusted instance");
}

#[test]
fn new_params_or_another_order_are_never_served_from_the_last_call() {
    // Calls reuse the last call's rules while the same ones keep coming
    // (`call_set`); a reload with new params, or the same templates in
    // another order, must still get each template's own rule.
    let mut pool = pool(0);
    let threshold = |min: u32| {
        slot("amount-threshold", PluginKind::Filter, &format!(r#"{{"min_notional_usd": {min}}}"#))
    };
    let (small, large) = (template("set-small"), template("set-large"));
    let events =
        [trade("BTCUSDT", 100_000, 1), trade("BTCUSDT", 200_000, 1), trade("BTCUSDT", 10, 1)];
    let first = [(small.clone(), threshold(50_000)), (large.clone(), threshold(150_000))];
    for _ in 0..2 {
        let (passes, _) = judge(&mut pool, &first, &events);
        assert_eq!((rows(&passes[0]), rows(&passes[1])), (vec![0, 1], vec![1]));
    }
    let reloaded = [(small.clone(), threshold(5)), (large.clone(), threshold(150_000))];
    let (passes, _) = judge(&mut pool, &reloaded, &events);
    assert_eq!((rows(&passes[0]), rows(&passes[1])), (vec![0, 1, 2], vec![1]), "new params");
    let swapped = [reloaded[1].clone(), reloaded[0].clone()];
    let (passes, _) = judge(&mut pool, &swapped, &events);
    assert_eq!((rows(&passes[0]), rows(&passes[1])), (vec![1], vec![0, 1, 2]), "other order");
    assert_eq!(pool.instances(), 1);
}

#[test]
fn host_calls_act_for_the_rule_being_served() {
    let mut pool = pool(0);
    let probe = |tag: &str| slot("kv-probe", PluginKind::Filter, &format!(r#"{{"tag": "{tag}"}}"#));
    let rules = [
        (template("probe-a"), probe("a")),
        (template("probe-b"), probe("b")),
        (template("probe-c"), owned("kv-probe", r#"{"tag": "c"}"#, "owner:other")),
    ];
    let events = [trade("BTCUSDT", 1, 1), trade("ETHUSDT", 1, 1)];
    for round in 1..=2 {
        let (passes, _) = judge(&mut pool, &rules, &events);
        for (t, p) in passes.iter().enumerate() {
            let counts: Vec<&str> = p.iter().map(|(_, pass)| pass.fields[0].1.as_str()).collect();
            let expected = [(round * 2 - 1).to_string(), (round * 2).to_string()];
            assert_eq!(
                counts, expected,
                "template {t}: its own `count` key, untouched by the others"
            );
            assert_eq!(p[0].1.title, ["a", "b", "c"][t], "its own params");
        }
    }
    assert_eq!(pool.instances(), 2, "the trusted instance, and one for the other owner");
}

/// Captures what is logged on this thread while `f` runs. One global
/// subscriber writes into a thread-local buffer: a thread-local default
/// subscriber would race other tests over tracing's per-callsite interest
/// cache and miss lines.
fn logged(f: impl FnOnce()) -> String {
    use std::cell::RefCell;
    thread_local! {
        static CAPTURE: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    }
    struct ToCapture;
    impl std::io::Write for ToCapture {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            CAPTURE.with(|c| c.borrow_mut().as_mut().map(|v| v.extend_from_slice(b)));
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber =
            tracing_subscriber::fmt().with_ansi(false).with_writer(|| ToCapture).finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    CAPTURE.with(|c| *c.borrow_mut() = Some(Vec::new()));
    f();
    let bytes = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_trap_is_charged_to_its_rule_and_event_and_the_others_keep_alerting() {
    let mut pool = pool(5);
    let rules = [
        (
            template("shared-innocent"),
            owned("trap", r#"{"above_price": 1e12, "pass_from": 1}"#, "owner:o"),
        ),
        (template("shared-guilty"), owned("trap", r#"{"above_price": 10}"#, "owner:o")),
    ];
    let mut events =
        vec![trade("DOGEUSDT", 1, 1), trade("BTCUSDT", 65_000, 1), trade("DOGEUSDT", 2, 1)];
    events[1].id = "unit:poison-event".into();
    let poisoned = || metrics().poison_events.with_label_values(&["shared-guilty", "trap"]).get();
    let before = poisoned();
    let log = logged(|| {
        let (passes, failed) = judge(&mut pool, &rules, &events);
        assert_eq!(rows(&passes[0]), [0, 1, 2], "the innocent rule keeps every result");
        assert!(passes[1].is_empty());
        assert_eq!(failed, 1, "only the guilty rule's poison event fails closed");
    });
    assert_eq!(poisoned() - before, 1);
    assert!(log.contains("unit:poison-event") && log.contains("shared-guilty"), "{log}");
    assert!(
        !log.contains("template=shared-innocent"),
        "the innocent template is never charged: {log}"
    );
    // The panic's own message reaches the log, not just a wasm backtrace.
    assert!(log.contains("panicked: trap plugin: price 65000 > 10"), "{log}");
    let ledger = &pool.ledger;
    assert!(!ledger.is_disabled(&template("shared-innocent"), &rules[0].1.plugin.reference));
}

#[test]
fn a_rule_that_keeps_failing_is_quarantined_alone() {
    let mut pool = pool(2);
    let rules = [
        (
            template("q-innocent"),
            owned("trap", r#"{"above_price": 1e12, "pass_from": 1}"#, "owner:q"),
        ),
        (template("q-guilty"), owned("trap", r#"{"above_price": 10}"#, "owner:q")),
    ];
    let events = [trade("BTCUSDT", 65_000, 1)];
    for _ in 0..3 {
        judge(&mut pool, &rules, &events);
    }
    let version = &rules[1].1.plugin.reference;
    assert!(pool.ledger.is_disabled(&template("q-guilty"), version));
    assert!(!pool.ledger.is_disabled(&template("q-innocent"), version));
    let (passes, failed) = judge(&mut pool, &rules, &events);
    assert_eq!(
        (rows(&passes[0]), failed),
        (vec![0], 1),
        "quarantined: fails closed without a call"
    );
}
