//! The single-event path and the batch path see the same data: every stock
//! filter, driven with random events and markets, gives identical verdicts
//! and passes one event at a time and in batches of 1, 7, 64 and 1024, and
//! what only the window trade counts can tell reaches a filter in a batch.

use std::sync::Arc;

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::{engine, generous, loaded, services, template};
use crate::alert::{Pass, TemplateId};
use crate::event::{Direction, Event, EventKind, Side, Sym};
use crate::market::{Missing, Snapshot, WindowStats};
use crate::plugins::filter::{RuleRows, Verdict};
use crate::plugins::{Columns, Instance, PluginKind};

/// Each stock filter with params that make it pass some events, not most.
const RULES: [(&str, &str); 5] = [
    ("amount-threshold", r#"{"min_notional_usd": 50000}"#),
    ("amount-threshold", r#"{"window_total_usd": 400000, "window": "1m", "key_by": "account"}"#),
    ("price-move", r#"{"min_change_1m_pct": 1.0, "min_volume_1m_usd": 100000}"#),
    ("whale-fill", r#"{"accounts": ["0xw1", "0xw2"], "min_notional_usd": 20000}"#),
    ("avg-trade", r#"{"multiple": 3.0}"#),
];

fn instance(name: &str, params: &str, t: &TemplateId) -> Instance {
    let mut i = Instance::new(
        engine(),
        loaded(name, PluginKind::Filter),
        &services(),
        16 << 20,
        generous().call_timeout,
    )
    .expect("instantiate");
    i.add_rule(t, &Arc::from(params), generous()).expect("configure");
    i
}

fn event_strategy() -> impl Strategy<Value = (Event, Snapshot)> {
    let kinds = prop::sample::select(EventKind::ALL.to_vec());
    let symbols = prop::sample::select(vec!["BTCUSDT", "ETHUSDT", "DOGEUSDT"]);
    let accounts = prop::option::of(prop::sample::select(vec!["0xw1", "0xw2", "0xother"]));
    let window = (-5.0f64..5.0, 0.0f64..2e6, 0u32..500).prop_map(|(c, v, n)| WindowStats {
        change_pct: c,
        volume_usd: v,
        trades: n,
    });
    let money = (1i64..100_000, 1i64..50);
    (
        kinds,
        symbols,
        accounts,
        money,
        0u64..600_000,
        (window.clone(), window.clone(), window),
        0u8..64,
        any::<bool>(),
    )
        .prop_map(
            |(kind, symbol, account, (price, size), dt, (w1m, w5m, w1h), missing, buy)| {
                let mut e = Event::new(
                    kind,
                    Sym::new("prop"),
                    Sym::new(symbol),
                    format!("prop:{dt}:{price}:{size}"),
                    1_700_000_000_000 + dt,
                );
                e.price = Decimal::from(price);
                e.size = Decimal::from(size);
                e.notional_usd = (price % 7 != 0).then(|| Decimal::from(price * size));
                e.side = if buy { Side::Buy } else { Side::Sell };
                e.account = account.map(Sym::new);
                e.direction =
                    if kind == EventKind::PerpFill { Direction::OpenLong } else { Direction::None };
                let market = Snapshot {
                    last_price: price as f64,
                    w1m,
                    w5m,
                    w1h,
                    best_bid: price as f64 - 1.0,
                    best_ask: price as f64 + 1.0,
                    missing: Missing::from_bits_truncate(missing),
                };
                (e, market)
            },
        )
}

/// (row, pass) of `data` one event at a time, at one host time per chunk
/// of `size` (what a batch call of that chunk sees), in a fresh instance.
fn single(name: &str, params: &str, data: &[(Event, Snapshot)], size: usize) -> Vec<(usize, Pass)> {
    let t = template("equivalence");
    let mut i = instance(name, params, &t);
    let mut out = Vec::new();
    for (c, chunk) in data.chunks(size).enumerate() {
        let now = chunk[chunk.len() - 1].0.exchange_time_ms;
        for (r, (e, m)) in chunk.iter().enumerate() {
            if let Verdict::Pass(p) = i.evaluate(&t, e, m, now).expect("evaluate") {
                out.push((c * size + r, p));
            }
        }
    }
    out
}

fn batched(
    name: &str,
    params: &str,
    data: &[(Event, Snapshot)],
    size: usize,
) -> Vec<(usize, Pass)> {
    let t = template("equivalence");
    let mut i = instance(name, params, &t);
    let (mut out, mut columns) = (Vec::new(), Columns::default());
    for (c, chunk) in data.chunks(size).enumerate() {
        let run: Vec<_> = chunk.iter().map(|(e, m)| (e, m)).collect();
        columns.reset(run.len());
        let mut passes = Vec::new();
        let now = chunk[chunk.len() - 1].0.exchange_time_ms;
        i.evaluate_batch(
            &mut columns,
            &run,
            &[RuleRows { template: &t, rows: None }],
            now,
            &mut passes,
        )
        .expect("evaluate-batch");
        out.extend(passes.into_iter().map(|(_, r, p)| (c * size + r, p)));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn every_stock_filter_judges_alike_one_by_one_and_in_batches(data in prop::collection::vec(event_strategy(), 1..1500)) {
        for (name, params) in RULES {
            for size in [1, 7, 64, 1024] {
                let (one_by_one, in_batches) = (single(name, params, &data, size), batched(name, params, &data, size));
                prop_assert_eq!(&one_by_one, &in_batches, "{} {} at batch size {}", name, params, size);
            }
        }
    }
}

/// "notional ≥ 3 × the 1-minute average trade" needs `trades_1m`: in a
/// batch it must be there, or this filter would never pass (0.1's did not).
#[test]
fn the_one_minute_trade_count_reaches_a_filter_in_a_batch() {
    let market = |trades| Snapshot {
        last_price: 100.0,
        w1m: WindowStats { change_pct: 0.0, volume_usd: 1_000_000.0, trades },
        missing: Missing::NONE,
        ..Snapshot::default()
    };
    let trade = |notional: i64| {
        let mut e = super::trade("BTCUSDT", notional, 1);
        e.id = format!("avg:{notional}");
        e
    };
    // Average trade: $1M / 100 = $10k; 3× is $30k.
    let data = vec![
        (trade(40_000), market(100)),
        (trade(20_000), market(100)),
        (trade(40_000), market(10)),
    ];
    let passes = batched("avg-trade", r#"{"multiple": 3.0}"#, &data, 64);
    assert_eq!(
        passes.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        [0],
        "only the $40k trade against a $10k average passes"
    );
    assert_eq!(passes, single("avg-trade", r#"{"multiple": 3.0}"#, &data, 64));
}
