//! Binance order books over the real spot recording and its REST snapshots,
//! checked against a deliberately simple independent computation; and
//! property tests that depth parsing and book sync never panic.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;

use super::fixture;
use crate::event::{EventKind, Sym};
use crate::sources::binance::books::DepthBooks;
use crate::sources::binance::depth::{DepthDiff, parse_depth_frame, parse_snapshot_text};
use crate::sources::binance::sync::{BookSync, Rules};
use crate::sources::replay::{ReplayConfig, replay_files};

const SPOT: &str = "binance/spot_2021-10-11.combined.ndjson";

/// The reference: snapshot as two maps, then every diff of the symbol with
/// `u > lastUpdateId` applied in file order (qty 0 deletes). No sequencing
/// logic at all; the recording has no gaps, so this must agree.
struct Reference {
    last: u64,
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
}

fn num(v: &Value) -> Decimal {
    v.as_str().unwrap().parse::<Decimal>().unwrap().normalize()
}

fn set(side: &mut BTreeMap<Decimal, Decimal>, levels: &Value) {
    for level in levels.as_array().unwrap() {
        let (price, qty) = (num(&level[0]), num(&level[1]));
        if qty.is_zero() {
            side.remove(&price);
        } else {
            side.insert(price, qty);
        }
    }
}

fn reference(frames: &str, snapshots: &Path, symbol: &str) -> Reference {
    let snap: Value = serde_json::from_str(
        &std::fs::read_to_string(snapshots.join(format!("{symbol}.json"))).unwrap(),
    )
    .unwrap();
    let mut r = Reference {
        last: snap["lastUpdateId"].as_u64().unwrap(),
        bids: BTreeMap::new(),
        asks: BTreeMap::new(),
    };
    set(&mut r.bids, &snap["bids"]);
    set(&mut r.asks, &snap["asks"]);
    for line in frames.lines() {
        let frame: Value = serde_json::from_str(line).unwrap();
        let data = &frame["data"];
        if data["e"] == "depthUpdate" && data["s"] == symbol && data["u"].as_u64().unwrap() > r.last
        {
            set(&mut r.bids, &data["b"]);
            set(&mut r.asks, &data["a"]);
            r.last = data["u"].as_u64().unwrap();
        }
    }
    r
}

#[test]
fn replayed_spot_books_equal_an_independent_computation() {
    let Some(path) = fixture(SPOT) else { return };
    let snapshots = path.with_file_name("spot_2021-10-11.snapshots");
    let frames = std::fs::read_to_string(&path).unwrap();
    let replayed = replay_files(&ReplayConfig::new(vec![path.clone()])).unwrap();
    assert!(replayed.errors.is_empty(), "{:?}", replayed.errors);
    let symbols: Vec<&str> = replayed.books.iter().map(|b| b.symbol.as_str()).collect();
    assert_eq!(
        symbols,
        ["BLZETH", "LRCBTC", "NKNUSDT", "RUNEEUR"],
        "every symbol with a snapshot is synced"
    );
    for book in &replayed.books {
        let expected = reference(&frames, &snapshots, &book.symbol);
        assert_eq!(book.last_update_id, expected.last, "{}", book.symbol);
        let bids: Vec<(Decimal, Decimal)> =
            expected.bids.iter().rev().map(|(p, q)| (*p, *q)).collect();
        let asks: Vec<(Decimal, Decimal)> = expected.asks.iter().map(|(p, q)| (*p, *q)).collect();
        assert_eq!(book.bids, bids, "{} bids", book.symbol);
        assert_eq!(book.asks, asks, "{} asks", book.symbol);
    }
}

#[test]
fn synced_books_replace_book_tickers_in_replay() {
    let Some(path) = fixture(SPOT) else { return };
    let replayed = replay_files(&ReplayConfig::new(vec![path])).unwrap();
    let tops: Vec<_> = replayed.events.iter().filter(|e| e.kind == EventKind::BookTop).collect();
    assert!(!tops.is_empty());
    // Every book top now comes from a synced book: its id carries a depth `u`.
    for top in &tops {
        let (bid, ask) = (top.best_bid.unwrap(), top.best_ask.unwrap());
        assert!(bid < ask, "{top:?}");
        assert_eq!(top.price, (bid + ask) / Decimal::TWO);
    }
    let nkn = tops.iter().find(|e| e.symbol == Sym::new("NKNUSDT")).unwrap();
    // First diff applied after the snapshot (499869752) is 499869753..754.
    assert_eq!(nkn.id, "binance:NKNUSDT:b:499869754");
    assert_eq!(
        replayed.events.iter().filter(|e| e.kind == EventKind::Trade).count(),
        2,
        "trades unchanged"
    );
    // Without snapshots, the recording's bookTickers are the book tops, as before.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.ndjson");
    std::fs::copy(fixture(SPOT).unwrap(), &copy).unwrap();
    let plain = replay_files(&ReplayConfig::new(vec![copy])).unwrap();
    assert!(plain.books.is_empty());
    assert_eq!(plain.events.iter().filter(|e| e.kind == EventKind::BookTop).count(), 84);
}

#[test]
fn replay_with_explicit_snapshots_and_usdm_rules() {
    let dir = tempfile::tempdir().unwrap();
    let snaps = dir.path().join("snaps");
    std::fs::create_dir(&snaps).unwrap();
    std::fs::write(
        snaps.join("BTCUSDT.json"),
        r#"{"lastUpdateId":105,"E":1,"T":1,"bids":[["100","1"]],"asks":[["101","1"]]}"#,
    )
    .unwrap();
    let diff = |f: u64, l: u64, pu: u64, bid: &str| {
        format!(
            r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":{l},"T":{l},"s":"BTCUSDT","U":{f},"u":{l},"pu":{pu},"b":[["{bid}","1"]],"a":[]}}}}"#
        )
    };
    // USD-M: 100..110 covers 105 and is applied; then the pu chain holds.
    let lines =
        [diff(100, 110, 99, "100.1"), diff(111, 120, 110, "100.2"), diff(121, 125, 120, "100.3")]
            .join("\n");
    let frames = dir.path().join("f.ndjson");
    std::fs::write(&frames, lines).unwrap();
    let mut config = ReplayConfig::new(vec![frames]);
    config.snapshots = Some(snaps);
    config.venue = Some("binance-futures".into());
    assert_eq!(config.book_rules(), Rules::UsdM, "venue picks the rules");
    let replayed = replay_files(&config).unwrap();
    assert_eq!(replayed.books[0].last_update_id, 125);
    let ids: Vec<&str> = replayed.events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "binance-futures:BTCUSDT:b:110",
            "binance-futures:BTCUSDT:b:120",
            "binance-futures:BTCUSDT:b:125"
        ]
    );
    // A pu break: the recording holds no second snapshot, so the book is dropped.
    let broken = [diff(100, 110, 99, "100.1"), diff(115, 120, 114, "100.2")].join("\n");
    std::fs::write(&config.files[0], broken).unwrap();
    let replayed = replay_files(&config).unwrap();
    assert!(
        replayed.books.is_empty(),
        "a pu break needs a second snapshot the recording does not have"
    );
}

fn arb_diff() -> impl Strategy<Value = DepthDiff> {
    (0u64..40, 0u64..6, prop::option::of(0u64..40), prop::collection::vec((0u32..5, 0u32..3), 0..4))
        .prop_map(|(first, len, pu, levels)| {
            let lv: Vec<(Decimal, Decimal)> =
                levels.iter().map(|&(p, q)| (Decimal::from(p), Decimal::from(q))).collect();
            DepthDiff {
                symbol: "X".into(),
                first_id: first,
                last_id: first + len,
                prev_last_id: pu,
                time_ms: 1,
                bids: lv.clone(),
                asks: lv,
            }
        })
}

proptest! {
    #[test]
    fn depth_frame_parsing_never_panics(text in ".{0,200}") {
        let _ = parse_depth_frame(&text);
        let _ = parse_snapshot_text(&text);
    }

    #[test]
    fn depth_shaped_garbage_never_panics(u in any::<u64>(), first in any::<u64>(), price in "[-0-9.eE]{0,30}", qty in "[-0-9.]{0,30}") {
        let frame = format!(r#"{{"stream":"x@depth","data":{{"e":"depthUpdate","s":"X","U":{first},"u":{u},"b":[["{price}","{qty}"]],"a":[]}}}}"#);
        let _ = parse_depth_frame(&frame);
        let snap = format!(r#"{{"lastUpdateId":{u},"bids":[["{price}","{qty}"]],"asks":[]}}"#);
        let _ = parse_snapshot_text(&snap);
    }

    #[test]
    fn book_sync_never_panics_and_never_keeps_a_broken_chain(
        diffs in prop::collection::vec(arb_diff(), 0..30),
        snaps in prop::collection::vec(0u64..40, 1..4),
        spot in any::<bool>(),
    ) {
        let rules = if spot { Rules::Spot } else { Rules::UsdM };
        let mut books = DepthBooks::new(rules, Sym::new("prop"));
        let mut sync = BookSync::new(rules);
        for (i, diff) in diffs.into_iter().enumerate() {
            let _ = sync.on_diff(diff.clone());
            let out = books.on_diff(diff);
            if out.fetch || i % 5 == 0 {
                let snap = crate::sources::binance::depth::DepthSnapshot { last_update_id: snaps[i % snaps.len()], bids: vec![], asks: vec![] };
                let _ = books.on_snapshot("X", &snap);
                let _ = sync.on_snapshot(&snap);
            }
            if let Some(book) = sync.book() {
                prop_assert!(book.depth().0 <= 5);
            }
        }
    }
}
