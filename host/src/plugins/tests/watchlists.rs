//! Watchlists through a real plugin (stock `whale-fill` with a `watchlist`
//! param): an edit of the list changes which accounts pass on the next
//! call, with the same instance and rule; a template that does not declare
//! the list gets a guest error naming the list and the template, counted,
//! while a template that declares it keeps passing in the same call; and
//! only components that query watchlists import the interface.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::{engine, generous, loaded, services, template};
use crate::alert::TemplateId;
use crate::event::{Direction, Event, EventKind, Sym};
use crate::market::Snapshot;
use crate::plugins::filter::Verdict;
use crate::plugins::host_api::HostServices;
use crate::plugins::{
    CallError, Columns, Domain, FilterJob, InstancePool, PluginKind, PluginSlot, RuleRef, Run,
    TrapLedger,
};
use crate::telemetry::metrics;
use crate::watchlists::{Entries, ListLimits, WatchlistConfig, WatchlistConfigs, Watchlists};

const WHALES: &str = r#"{"watchlist": "whales"}"#;

fn inline(entries: &[&str]) -> WatchlistConfigs {
    let list = entries.iter().map(|e| e.to_string()).collect();
    let config = WatchlistConfig { entries: Some(Entries::List(list)), file: None, format: None };
    [("whales".to_owned(), config)].into()
}

fn fill(account: &str, n: u64) -> Event {
    let mut e = Event::new(
        EventKind::PerpFill,
        Sym::new("hyperliquid"),
        Sym::new("ETH"),
        format!("hl:fill:{account}:{n}"),
        1_700_000_000_000 + n,
    );
    e.price = Decimal::from(2000);
    e.size = Decimal::from(10);
    e.notional_usd = Some(Decimal::from(20_000));
    e.account = Some(Sym::new(account));
    e.direction = Direction::OpenLong;
    e
}

fn whale_slot(declares: &[&str]) -> PluginSlot {
    PluginSlot {
        plugin: loaded("whale-fill", PluginKind::Filter),
        params: Arc::from(WHALES),
        domain: Domain::Trusted,
        watchlists: declares.iter().map(|d| Arc::from(*d)).collect(),
    }
}

fn with_lists(lists: &Watchlists) -> HostServices {
    HostServices { watchlists: lists.clone(), ..services() }
}

/// Each template's passing accounts for `events`, in one call per instance.
fn passing(
    pool: &mut InstancePool,
    rules: &[(TemplateId, PluginSlot)],
    events: &[Event],
) -> (Vec<Vec<String>>, u64) {
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
    let mut out = Vec::new();
    let failed = pool.filter(&jobs, &mut run, &mut out);
    let mut passes = vec![Vec::new(); rules.len()];
    for (j, row, _) in out {
        passes[j].push(events[row].account.unwrap().name().to_string());
    }
    (passes, failed)
}

#[test]
fn an_edit_of_the_list_changes_who_passes_on_the_next_call() {
    let lists = Watchlists::load(&inline(&["0xaaa"]), ListLimits::default()).unwrap();
    let mut pool =
        InstancePool::new(engine().clone(), with_lists(&lists), Arc::new(TrapLedger::new(0)));
    let rules = [(template("wl-edit"), whale_slot(&["whales"]))];
    let events = [fill("0xaaa", 1), fill("0xbbb", 2), fill("0xccc", 3)];

    let (passes, failed) = passing(&mut pool, &rules, &events);
    assert_eq!((passes[0].clone(), failed), (vec!["0xaaa".to_owned()], 0));

    let configs = inline(&["0xbbb", "0xCCC"]);
    let next = lists.prepare(&configs, ListLimits::default()).unwrap();
    lists.publish(&configs, ListLimits::default(), next);
    let (passes, failed) = passing(&mut pool, &rules, &events);
    assert_eq!((passes[0].clone(), failed), (vec!["0xbbb".to_owned(), "0xccc".to_owned()], 0));
    assert_eq!(pool.instances(), 1, "the same instance served both versions");
}

#[test]
fn an_undeclared_list_is_a_guest_error_naming_it_and_counted() {
    let lists = Watchlists::load(&inline(&["0xaaa"]), ListLimits::default()).unwrap();
    let mut instance = crate::plugins::Instance::new(
        engine(),
        loaded("whale-fill", PluginKind::Filter),
        &with_lists(&lists),
        16 << 20,
        generous().call_timeout,
    )
    .unwrap();
    let sneaky = template("wl-sneaky");
    instance.grant(&sneaky, &Arc::from([Arc::from("other")]));
    instance.add_rule(&sneaky, &Arc::from(WHALES), generous()).unwrap();
    let refused =
        || metrics().watchlist_refused.with_label_values(&["wl-sneaky", "whale-fill"]).get();
    let before = refused();
    let err = instance.evaluate(&sneaky, &fill("0xaaa", 1), &Snapshot::default(), 1).unwrap_err();
    let CallError::Guest(message) = &err else { panic!("not a guest error: {err:?}") };
    assert_eq!(
        message,
        "watchlist `whales` (host `contains-id`) is not declared by template `wl-sneaky` (its `watchlists`: `other`)"
    );
    assert_eq!(refused(), before + 1);

    // Declared: the same instance answers, and the guest error left no trace.
    let fair = template("wl-fair");
    instance.grant(&fair, &Arc::from([Arc::from("whales")]));
    instance.add_rule(&fair, &Arc::from(WHALES), generous()).unwrap();
    let verdict = instance.evaluate(&fair, &fill("0xaaa", 2), &Snapshot::default(), 1).unwrap();
    assert!(matches!(verdict, Verdict::Pass(_)), "{verdict:?}");
}

#[test]
fn a_refused_rule_fails_alone_in_a_shared_batch() {
    let lists = Watchlists::load(&inline(&["0xaaa"]), ListLimits::default()).unwrap();
    let mut pool =
        InstancePool::new(engine().clone(), with_lists(&lists), Arc::new(TrapLedger::new(0)));
    let rules = [
        (template("wl-batch-undeclared"), whale_slot(&[])),
        (template("wl-batch-declared"), whale_slot(&["whales"])),
    ];
    let events = [fill("0xaaa", 1), fill("0xbbb", 2)];
    let (passes, failed) = passing(&mut pool, &rules, &events);
    assert!(passes[0].is_empty(), "{passes:?}");
    assert_eq!(passes[1], ["0xaaa"]);
    assert_eq!(failed, 2, "the undeclared rule's rows fail; the declared rule's pass");
}

/// Compatibility: a component that never queries a watchlist does not
/// import the interface (wit-component keeps only the imports the core
/// module uses), so its imports are exactly those of a component built
/// against 0.2 before watchlists existed, whose `host` is unchanged; one
/// that does imports it, and both load.
#[test]
fn only_components_that_query_watchlists_import_them() {
    for (name, imports_watchlists) in
        [("amount-threshold", false), ("whale-fill", true), ("plain", false)]
    {
        let bytes = super::wasm(name);
        let component = wasmtime::component::Component::new(&engine().engine, &bytes).unwrap();
        let imports: Vec<String> = component
            .component_type()
            .imports(&engine().engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        let expected: &[&str] = match imports_watchlists {
            true => &[
                "klaxon:plugin/host@0.2.0",
                "klaxon:plugin/watchlists@0.2.0",
                "klaxon:plugin/types@0.2.0",
            ],
            false => &["klaxon:plugin/host@0.2.0", "klaxon:plugin/types@0.2.0"],
        };
        let mut sorted = imports.clone();
        sorted.sort();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(sorted, want, "{name}");
    }
    let _ = loaded("whale-fill", PluginKind::Filter);
}
