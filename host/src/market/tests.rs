//! `MarketState` behaviour end to end: events in, snapshots and prices out.

use rust_decimal::Decimal;

use super::*;

fn dec(v: f64) -> Decimal {
    Decimal::try_from(v).unwrap()
}

fn trade(kind: EventKind, symbol: &str, t_ms: u64, price: f64, notional: Option<f64>) -> Event {
    let mut ev = Event::new(
        kind,
        Sym::new("test-venue"),
        Sym::new(symbol),
        format!("{symbol}:{t_ms}"),
        t_ms,
    );
    ev.price = dec(price);
    ev.size = Decimal::ONE;
    ev.notional_usd = notional.map(dec);
    ev
}

fn book(symbol: &str, t_ms: u64, bid: Option<f64>, ask: Option<f64>) -> Event {
    let mut ev = Event::new(
        EventKind::BookTop,
        Sym::new("test-venue"),
        Sym::new(symbol),
        format!("{symbol}:b:{t_ms}"),
        t_ms,
    );
    ev.best_bid = bid.map(dec);
    ev.best_ask = ask.map(dec);
    if let (Some(b), Some(a)) = (bid, ask) {
        ev.price = dec((b + a) / 2.0);
    }
    ev
}

fn inst(symbol: &str) -> Instrument {
    Instrument { venue: Sym::new("test-venue"), symbol: Sym::new(symbol) }
}

/// A market that measures young windows from what they hold, so the
/// window arithmetic is testable in seconds of events; the cold-window
/// tests use [`watched_market`].
fn market(max_symbols: usize) -> (MarketState, Prices) {
    MarketState::new(&MarketConfig { max_symbols, flag_cold_windows: false })
}

fn watched_market() -> (MarketState, Prices) {
    MarketState::new(&MarketConfig::default())
}

#[test]
fn one_minute_change_after_ninety_seconds_of_trades() {
    let (mut m, prices) = market(10);
    let mut snap = Snapshot::UNKNOWN;
    for s in 0..90u64 {
        snap = m.apply(&mut trade(
            EventKind::Trade,
            "mk-90s",
            1_000_000 + s * 1_000,
            100.0 + s as f64,
            Some(50.0),
        ));
    }
    // 1m window at 1089 s: buckets 1030..=1089, start price 130, last 189.
    assert_eq!(snap.last_price, 189.0);
    assert!((snap.w1m.change_pct - (189.0 - 130.0) / 130.0 * 100.0).abs() < 1e-9);
    assert_eq!((snap.w1m.trades, snap.w1m.volume_usd), (60, 3_000.0));
    // 5m and 1h only have 90 s of history: measured from the oldest price
    // (cold windows are not flagged in this market).
    assert!((snap.w5m.change_pct - 89.0).abs() < 1e-9);
    assert_eq!((snap.w1h.trades, snap.w1h.volume_usd), (90, 4_500.0));
    assert_eq!(snap.missing, Missing::BEST_BID | Missing::BEST_ASK);
    assert_eq!(m.snapshot(inst("mk-90s")), snap);
    assert_eq!(prices.get("mk-90s"), Some(189.0));
}

#[test]
fn every_trade_like_kind_feeds_the_windows() {
    let (mut m, _) = market(10);
    let kinds = [EventKind::Trade, EventKind::Swap, EventKind::PerpFill, EventKind::Liquidation];
    let mut snap = Snapshot::UNKNOWN;
    for (i, kind) in kinds.into_iter().enumerate() {
        snap = m.apply(&mut trade(kind, "mk-kinds", 5_000 + i as u64, 10.0, Some(1.5)));
    }
    assert_eq!((snap.w1m.trades, snap.w1m.volume_usd), (4, 6.0));
    // Unknown notional counts as a trade with no volume.
    let snap = m.apply(&mut trade(EventKind::Trade, "mk-kinds", 5_010, 10.0, None));
    assert_eq!((snap.w1m.trades, snap.w1m.volume_usd), (5, 6.0));
}

#[test]
fn windows_empty_as_time_passes_and_flag_missing() {
    let (mut m, prices) = market(10);
    m.apply(&mut trade(EventKind::Trade, "mk-idle", 0, 20.0, Some(100.0)));
    m.apply(&mut trade(EventKind::Trade, "mk-idle", 30_000, 22.0, Some(100.0)));
    // Another symbol moves "now" on; the idle one's 1m window empties.
    m.apply(&mut trade(EventKind::Trade, "mk-other", 100_000, 1.0, None));
    let snap = m.snapshot(inst("mk-idle"));
    assert_eq!(snap.missing, Missing::WINDOW_1M | Missing::BEST_BID | Missing::BEST_ASK);
    assert_eq!((snap.w1m.trades, snap.w1m.volume_usd, snap.w1m.change_pct), (0, 0.0, 0.0));
    assert!((snap.w5m.change_pct - 10.0).abs() < 1e-9);
    assert_eq!(snap.w5m.volume_usd, 200.0);
    assert_eq!(snap.last_price, 22.0, "last price never expires");
    // An hour later only the last price remains.
    m.apply(&mut trade(EventKind::Trade, "mk-other", 3_700_000, 1.0, None));
    let snap = m.snapshot(inst("mk-idle"));
    assert_eq!(
        snap.missing,
        Missing::from_bits_truncate(Missing::ALL.bits() & !Missing::LAST_PRICE.bits())
    );
    assert_eq!(prices.get("mk-idle"), Some(22.0));
}

#[test]
fn unknown_symbols_are_all_missing() {
    let (m, prices) = market(10);
    assert_eq!(m.snapshot(inst("mk-never")), Snapshot::UNKNOWN);
    assert_eq!(prices.get("mk-never"), None);
}

#[test]
fn book_top_sets_bid_ask_and_a_mid_only_until_the_first_trade() {
    let (mut m, prices) = market(10);
    let snap = m.apply(&mut book("mk-book", 1_000, Some(99.0), Some(101.0)));
    assert_eq!((snap.best_bid, snap.best_ask, snap.last_price), (99.0, 101.0, 100.0));
    assert_eq!(snap.missing, Missing::WINDOW_1M | Missing::WINDOW_5M | Missing::WINDOW_1H);
    assert_eq!(prices.get("mk-book"), Some(100.0));

    let snap = m.apply(&mut trade(EventKind::Trade, "mk-book", 2_000, 100.5, Some(10.0)));
    assert_eq!((snap.last_price, snap.w1m.trades), (100.5, 1));
    let snap = m.apply(&mut book("mk-book", 3_000, Some(104.0), Some(106.0)));
    assert_eq!((snap.best_bid, snap.best_ask), (104.0, 106.0));
    assert_eq!(snap.last_price, 100.5, "mids no longer move the last price");
    assert_eq!((snap.w1m.trades, snap.w1m.change_pct), (1, 0.0), "book-tops are not trades");

    // A stale book-top is ignored; an empty side becomes missing.
    let snap = m.apply(&mut book("mk-book", 2_500, Some(1.0), Some(2.0)));
    assert_eq!((snap.best_bid, snap.best_ask), (104.0, 106.0));
    let snap = m.apply(&mut book("mk-book", 4_000, Some(0.0), Some(107.0)));
    assert_eq!((snap.best_bid, snap.best_ask), (0.0, 107.0));
    assert!(snap.missing.contains(Missing::BEST_BID) && !snap.missing.contains(Missing::BEST_ASK));
}

#[test]
fn non_positive_prices_count_volume_but_never_move_prices() {
    let (mut m, prices) = market(10);
    let snap = m.apply(&mut trade(EventKind::Swap, "mk-zero", 1_000, 0.0, Some(5.0)));
    assert_eq!((snap.w1m.trades, snap.w1m.volume_usd), (1, 5.0));
    assert!(snap.missing.contains(Missing::LAST_PRICE | Missing::WINDOW_1M));
    assert_eq!(prices.get("mk-zero"), None);
    m.apply(&mut trade(EventKind::Swap, "mk-zero", 2_000, 3.0, None));
    let snap = m.apply(&mut trade(EventKind::Swap, "mk-zero", 3_000, -1.0, None));
    assert_eq!((snap.last_price, snap.w1m.trades, snap.w1m.change_pct), (3.0, 3, 0.0));
    assert!(
        !snap.missing.contains(Missing::LAST_PRICE) && !snap.missing.contains(Missing::WINDOW_1M)
    );
    assert_eq!(prices.get("mk-zero"), Some(3.0));
}

#[test]
fn late_trades_count_but_do_not_rewind_the_last_price() {
    let (mut m, prices) = market(10);
    let base = 4_000_000;
    m.apply(&mut trade(EventKind::Trade, "mk-late", base + 10_000, 100.0, Some(1.0)));
    m.apply(&mut trade(EventKind::Trade, "mk-late", base + 20_000, 110.0, Some(1.0)));
    let snap = m.apply(&mut trade(EventKind::Trade, "mk-late", base + 12_000, 50.0, Some(8.0)));
    assert_eq!(snap.last_price, 110.0);
    assert_eq!((snap.w1m.trades, snap.w1m.volume_usd), (3, 10.0));
    assert!((snap.w1m.change_pct - 10.0).abs() < 1e-9);
    assert_eq!(prices.get("mk-late"), Some(110.0));
    // 400 s late: too old for the 1m and 5m windows, still inside 1h.
    let snap = m.apply(&mut trade(
        EventKind::Trade,
        "mk-late",
        base + 20_000 - 400_000,
        90.0,
        Some(100.0),
    ));
    assert_eq!((snap.w1m.trades, snap.w5m.trades, snap.w1h.trades), (3, 3, 4));
    assert_eq!((snap.w1m.volume_usd, snap.w1h.volume_usd), (10.0, 110.0));
    assert_eq!(snap.last_price, 110.0);
}

#[test]
fn eviction_keeps_the_bound_and_drops_the_least_recently_updated() {
    let (mut m, prices) = market(3);
    for (i, s) in ["mk-ev-a", "mk-ev-b", "mk-ev-c"].into_iter().enumerate() {
        m.apply(&mut trade(EventKind::Trade, s, i as u64, 1.0 + i as f64, None));
    }
    m.apply(&mut book("mk-ev-a", 10, Some(1.0), Some(2.0))); // any event counts as an update
    m.apply(&mut trade(EventKind::Trade, "mk-ev-d", 11, 4.0, None));
    assert_eq!((m.len(), m.evictions(), prices.len()), (3, 1, 3));
    assert_eq!(m.snapshot(inst("mk-ev-b")), Snapshot::UNKNOWN);
    assert_eq!(prices.get("mk-ev-b"), None);
    assert_eq!(prices.get("mk-ev-a"), Some(1.0));
    for i in 0..100u64 {
        m.apply(&mut trade(EventKind::Swap, &format!("mk-ev-churn-{i}"), 20 + i, 1.0, None));
    }
    assert_eq!((m.len(), m.evictions(), prices.len()), (3, 101, 3));
    // A re-admitted symbol starts from scratch.
    let snap = m.apply(&mut trade(EventKind::Trade, "mk-ev-a", 200, 9.0, None));
    assert_eq!((snap.last_price, snap.w1h.trades), (9.0, 1));
    assert!(snap.missing.contains(Missing::BEST_BID));
}

#[test]
fn config_defaults_rejects_unknown_fields_and_validates() {
    let cfg: MarketConfig = toml::from_str("").unwrap();
    assert_eq!(cfg, MarketConfig { max_symbols: 10_000, flag_cold_windows: true });
    let err = toml::from_str::<MarketConfig>("max_symbol = 5").unwrap_err();
    assert!(err.to_string().contains("unknown field `max_symbol`"), "{err}");
    let issues = MarketConfig { max_symbols: 0, ..MarketConfig::default() }.validate();
    assert_eq!(issues, vec![ConfigIssue::new("market.max_symbols", "must be greater than 0")]);
    assert!(MarketConfig::default().validate().is_empty());
}

#[test]
fn fast_decimal_conversion_matches_to_f64() {
    use rust_decimal::prelude::ToPrimitive;
    let cases = [
        "0",
        "1",
        "-2.5",
        "0.000000000000000000000000001",
        "123456789.123456789",
        "79228162514264337593543950335",
        "3000.12",
        "0.1",
    ];
    for case in cases {
        let d: Decimal = case.parse().unwrap();
        let (fast, slow) = (dec_to_f64(d), d.to_f64().unwrap());
        assert!((fast - slow).abs() <= slow.abs() * 4.0 * f64::EPSILON, "{case}: {fast} vs {slow}");
    }
    assert_eq!(dec_to_f64("0.1".parse().unwrap()), 0.1);
    assert_eq!(positive("-0.0".parse().unwrap()), None);
    assert_eq!(positive("0.5".parse().unwrap()), Some(0.5));
}

#[test]
fn swap_in_native_coin_gets_usd_notional_from_the_reference_price() {
    let (mut m, _) = market(10);
    let mut swap = trade(EventKind::Swap, "mk-CAKE/WBNB", 1_000, 0.005, None);
    swap.notional_ref = Some((Sym::new("mk-BNBUSDT"), dec(2.5)));
    // No reference price yet: the notional stays unknown (never a guess).
    m.apply(&mut swap);
    assert_eq!(swap.notional_usd, None);
    m.apply(&mut trade(EventKind::Trade, "mk-BNBUSDT", 2_000, 600.0, Some(600.0)));
    let mut swap = trade(EventKind::Swap, "mk-CAKE/WBNB", 3_000, 0.005, None);
    swap.notional_ref = Some((Sym::new("mk-BNBUSDT"), dec(2.5)));
    let snap = m.apply(&mut swap);
    assert_eq!(swap.notional_usd, Some(dec(1500.0)));
    // The filled notional counts as the swap's volume.
    assert_eq!(snap.w1m.volume_usd, 1500.0);
    // A notional the source already knew is left alone.
    let mut known = trade(EventKind::Swap, "mk-CAKE/WBNB", 4_000, 0.005, Some(7.0));
    known.notional_ref = Some((Sym::new("mk-BNBUSDT"), dec(2.5)));
    m.apply(&mut known);
    assert_eq!(known.notional_usd, Some(dec(7.0)));
}

#[test]
fn windows_are_missing_until_they_cover_their_span() {
    let (mut m, _) = watched_market();
    let start = 1_000_000;
    let at = |m: &mut MarketState, dt: u64, price: f64| {
        m.apply(&mut trade(EventKind::Trade, "mk-cold", start + dt, price, Some(10.0)))
    };
    let all = Missing::WINDOW_1M | Missing::WINDOW_5M | Missing::WINDOW_1H;
    // 0.4 s after start: up 0.67%, but nothing is known of the minute before.
    at(&mut m, 0, 100.0);
    let snap = at(&mut m, 400, 100.67);
    assert!(snap.missing.contains(all), "{:?}", snap.missing);
    assert_eq!(snap.w1m, WindowStats::default(), "a cold window reads 0");
    // A full minute watched: the 1m window is warm, the others still cold.
    let snap = at(&mut m, 60_000, 101.0);
    assert!(!snap.missing.contains(Missing::WINDOW_1M));
    assert!(snap.missing.contains(Missing::WINDOW_5M | Missing::WINDOW_1H));
    assert!(snap.w1m.trades > 0);
    let snap = at(&mut m, 3_600_000, 102.0);
    assert_eq!(snap.missing.bits() & all.bits(), 0, "{:?}", snap.missing);
}

#[test]
fn a_symbol_first_seen_later_is_warm_once_the_market_is() {
    let (mut m, _) = watched_market();
    m.apply(&mut trade(EventKind::Trade, "mk-early", 0, 1.0, None));
    // The host watched the venue for 2 minutes before mk-late first traded:
    // its 1m window is known to hold only this trade.
    let snap = m.apply(&mut trade(EventKind::Trade, "mk-late", 120_000, 5.0, Some(1.0)));
    assert!(!snap.missing.contains(Missing::WINDOW_1M));
    assert!(snap.missing.contains(Missing::WINDOW_5M));
}

#[test]
fn one_symbol_on_two_venues_keeps_two_states_and_one_price() {
    let (mut m, prices) = market(10);
    let on = |venue: &str, t: u64, price: f64, notional: f64| {
        let mut ev = trade(EventKind::Trade, "mk-2v", t, price, Some(notional));
        ev.venue = Sym::new(venue);
        ev
    };
    m.apply(&mut on("mk-spot", 1_000, 100.0, 10.0));
    let futures = m.apply(&mut on("mk-usdm", 2_000, 200.0, 99.0));
    assert_eq!((futures.last_price, futures.w1h.volume_usd), (200.0, 99.0));
    let spot = m.snapshot(Instrument { venue: Sym::new("mk-spot"), symbol: Sym::new("mk-2v") });
    assert_eq!(spot.last_price, 100.0, "futures never move the spot instrument");
    assert_eq!(prices.get("mk-2v"), Some(200.0), "price() answers on any venue: the latest");
}
