//! The synthetic market: determinism, timing, limits, incidents, config.

use std::collections::HashMap;
use std::time::Duration;

use rust_decimal::prelude::ToPrimitive;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::event::{Event, EventKind, Sym};
use crate::sources::synthetic::{SyntheticConfig, SyntheticMarket};
use crate::sources::{SourceConfig, SourceSummary};

fn events(config: &SyntheticConfig, n: usize) -> Vec<Event> {
    SyntheticMarket::new(config).take(n).collect()
}

#[test]
fn same_seed_same_events_other_seed_other_events() {
    let config = SyntheticConfig::default();
    let a = events(&config, 5_000);
    assert_eq!(a, events(&config, 5_000));
    let other = SyntheticConfig { seed: 7, ..SyntheticConfig::default() };
    let b = events(&other, 5_000);
    assert_ne!(
        a.iter().map(|e| e.price).collect::<Vec<_>>(),
        b.iter().map(|e| e.price).collect::<Vec<_>>()
    );
    // Ids are unique per event.
    let ids: std::collections::HashSet<&str> = a.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), a.len());
}

#[test]
fn exchange_times_advance_with_the_rate() {
    let config =
        SyntheticConfig { rate: 200.0, start_ms: Some(1_000), ..SyntheticConfig::default() };
    for (i, e) in events(&config, 1_000).iter().enumerate() {
        assert_eq!(e.exchange_time_ms, 1_000 + 5 * i as u64);
    }
    // A rate that does not divide a second evenly still never drifts.
    let config = SyntheticConfig { rate: 3.0, start_ms: Some(0), ..SyntheticConfig::default() };
    let last = events(&config, 3_001).pop().unwrap();
    assert_eq!(last.exchange_time_ms, 1_000_000);
    // Without start_ms the epoch comes from the seed: fixed, not the wall clock.
    let seeded = SyntheticConfig::default();
    assert_eq!(events(&seeded, 1)[0].exchange_time_ms, seeded.default_start_ms());
}

#[test]
fn iterator_honours_limit() {
    let config = SyntheticConfig { limit: Some(37), ..SyntheticConfig::default() };
    assert_eq!(SyntheticMarket::new(&config).count(), 37);
}

#[test]
fn events_look_like_a_market() {
    let evs = events(&SyntheticConfig::default(), 20_000);
    let books = evs.iter().filter(|e| e.kind == EventKind::BookTop).count();
    assert!((1_500..2_500).contains(&books), "about 10% book tops, got {books}");
    for e in &evs {
        assert!(
            e.price > rust_decimal::Decimal::ZERO && e.size >= rust_decimal::Decimal::ZERO,
            "{e:?}"
        );
        match e.kind {
            EventKind::Trade => assert_eq!(e.notional_usd, Some(e.price * e.size)),
            EventKind::BookTop => assert!(e.best_bid < e.best_ask, "{e:?}"),
            other => panic!("unexpected kind {other:?}"),
        }
    }
    for sym in ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "DOGEUSDT"] {
        assert!(evs.iter().any(|e| e.symbol == Sym::new(sym)), "{sym}");
    }
}

#[test]
fn whale_bursts_and_fast_moves_happen_with_the_defaults() {
    let config = SyntheticConfig::default();
    let mut market = SyntheticMarket::new(&config);
    let evs: Vec<Event> = market.by_ref().take(60_000).collect();
    let stats = market.stats();
    assert!(stats.whale_bursts >= 5 && stats.fast_moves >= 2, "{stats:?}");

    // Whales, seen from the tape: consecutive same-symbol, same-side trades of $250k+.
    let whale = |e: &Event| e.kind == EventKind::Trade && e.notional_or_zero() >= 250_000.into();
    let bursts = evs
        .windows(2)
        .filter(|w| {
            whale(&w[0]) && whale(&w[1]) && w[0].symbol == w[1].symbol && w[0].side == w[1].side
        })
        .count();
    assert!(bursts >= 5, "{bursts} whale pairs");
    assert!(
        evs.iter()
            .filter(|e| e.kind == EventKind::Trade && !whale(e))
            .all(|e| e.notional_or_zero() <= 150_001.into())
    );

    // Fast moves, seen from the tape: some symbol moves 2%+ within 60 s.
    let mut per_second: HashMap<Sym, Vec<(u64, f64)>> = HashMap::new();
    for e in &evs {
        let series = per_second.entry(e.symbol).or_default();
        let second = e.exchange_time_ms / 1_000;
        let price = e.price.to_f64().unwrap();
        match series.last_mut() {
            Some(last) if last.0 == second => last.1 = price,
            _ => series.push((second, price)),
        }
    }
    let fastest = per_second
        .values()
        .flat_map(|s| {
            s.iter().enumerate().flat_map(move |(i, (t, p))| {
                s[i + 1..]
                    .iter()
                    .take_while(move |(u, _)| u - t <= 60)
                    .map(move |(_, q)| (q / p - 1.0).abs())
            })
        })
        .fold(0.0_f64, f64::max);
    assert!(fastest >= 0.02, "largest 60 s move {fastest}");
}

#[tokio::test(start_paused = true)]
async fn run_respects_rate_and_limit() {
    let config = SyntheticConfig { rate: 50.0, limit: Some(100), ..SyntheticConfig::default() };
    let (tx, mut rx) = mpsc::channel(1_000);
    let start = Instant::now();
    let task = tokio::spawn(SourceConfig::Synthetic(config).run(
        "test_synth_rate".into(),
        crate::sources::SourceContext::new(tx, CancellationToken::new()),
    ));
    let mut received = Vec::new();
    while let Some(batch) = rx.recv().await {
        let at = start.elapsed();
        received.extend(batch.into_iter().map(|e| (at, e)));
    }
    let summary = task.await.unwrap().unwrap();
    assert_eq!(summary, SourceSummary { frames: 100, events: 100, ..Default::default() });
    assert_eq!(received.len(), 100);
    // Event i is due at i/50 s: never early, never bunched.
    for (i, (at, _)) in received.iter().enumerate() {
        let due = Duration::from_millis(20 * i as u64);
        assert!(*at >= due && *at < due + Duration::from_millis(5), "event {i} at {at:?}");
    }
    // Live-rate mode stamps wall time, 20 ms apart.
    assert_eq!(received[99].1.exchange_time_ms - received[0].1.exchange_time_ms, 99 * 20);
    let counted = crate::telemetry::metrics()
        .source_events
        .with_label_values(&["test_synth_rate", "synthetic"])
        .get();
    assert_eq!(counted, 100);
}

#[tokio::test]
async fn as_fast_as_possible_stops_promptly_when_cancelled() {
    let config = SyntheticConfig { rate: 0.0, ..SyntheticConfig::default() };
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let task =
        tokio::spawn(SourceConfig::Synthetic(config).run(
            "test_synth_cancel".into(),
            crate::sources::SourceContext::new(tx, cancel.clone()),
        ));
    for _ in 0..1_000 {
        rx.recv().await.unwrap();
    }
    let up = crate::telemetry::metrics().source_up.with_label_values(&["test_synth_cancel"]);
    assert_eq!(up.get(), 1, "up while running");
    cancel.cancel();
    let summary = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops promptly")
        .unwrap()
        .unwrap();
    assert!(summary.cancelled && summary.events >= 1_000, "{summary:?}");
    assert_eq!(up.get(), 0);
}

#[test]
fn config_defaults_validation_and_unknown_fields() {
    let config: SourceConfig = toml::from_str("type = \"synthetic\"").unwrap();
    assert_eq!(config, SourceConfig::Synthetic(SyntheticConfig::default()));
    assert!(config.validate("sources.demo").is_empty());

    let config: SourceConfig =
        toml::from_str("type = \"synthetic\"\nrate = 0\nlimit = 10\nsymbols = [{ symbol = \"PEPEUSDT\", price = \"0.0000012\" }]").unwrap();
    let SourceConfig::Synthetic(s) = &config else { panic!() };
    assert_eq!(
        (s.rate, s.limit, s.symbols[0].price.to_string().as_str()),
        (0.0, Some(10), "0.0000012")
    );
    let pepe = events(s, 100);
    assert!(
        pepe.iter().all(|e| e.price > rust_decimal::Decimal::ZERO),
        "tiny prices keep their digits"
    );

    let err = toml::from_str::<SourceConfig>("type = \"synthetic\"\nrat = 5").unwrap_err();
    assert!(err.to_string().contains("unknown field `rat`"), "{err}");

    let bad: SourceConfig = toml::from_str(
        "type = \"synthetic\"\nrate = -1\nvenue = \"\"\nwhale_probability = 2\nsymbols = [{ symbol = \"A\", price = 0 }, { symbol = \"A\", price = 1 }]",
    )
    .unwrap();
    let issues: Vec<String> =
        bad.validate("sources.demo").iter().map(ToString::to_string).collect();
    assert_eq!(
        issues,
        [
            "sources.demo.rate: must be a finite number, 0 or greater",
            "sources.demo.venue: must not be empty",
            "sources.demo.symbols.0.price: must be greater than 0",
            "sources.demo.symbols.1.symbol: `A` is listed twice",
            "sources.demo.whale_probability: must be between 0 and 1",
        ]
    );
    let empty =
        SourceConfig::Synthetic(SyntheticConfig { symbols: vec![], ..SyntheticConfig::default() });
    assert_eq!(empty.validate("s")[0].to_string(), "s.symbols: must list at least one symbol");
}
