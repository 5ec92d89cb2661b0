//! The frame path of the running source, without sockets: attribution of
//! `user` frames, snapshots, deduplication across replays, venue errors and
//! malformed frames. Fixture frames are read from `shared/fixtures`.

use std::sync::Arc;

use proptest::prelude::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::event::{Event, EventKind};

const USER: &str = "0x2ad7672c2990107b8fd8130d896d5bdd2aa4a6b9";

/// The non-blank lines of a fixture, or `None` (saying why) when the
/// fixtures directory is absent; `KLAXON_REQUIRE_FIXTURES` makes that fatal.
fn fixture_lines(rel: &str) -> Option<Vec<String>> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures").join(rel);
    if !path.exists() {
        assert!(
            std::env::var_os("KLAXON_REQUIRE_FIXTURES").is_none(),
            "fixture `{}` missing",
            path.display()
        );
        eprintln!("skipping: fixture `{}` not found", path.display());
        return None;
    }
    let text = std::fs::read_to_string(&path).expect("fixture readable");
    Some(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect())
}

struct Harness {
    frames: Frames,
    emitter: Emitter,
    out: mpsc::Receiver<Vec<Event>>,
}

fn harness(source: &str) -> Harness {
    let (tx, out) = mpsc::channel(1024);
    let emitter = Emitter::new(source.to_owned(), tx, CancellationToken::new());
    Harness { frames: Frames::new(&HyperliquidConfig::default()), emitter, out }
}

impl Harness {
    async fn feed(&mut self, text: &str, user_events: Option<&str>) -> Vec<Event> {
        let frame =
            Inbound { slot: 0, text: text.to_owned(), user_events: user_events.map(Arc::from) };
        assert_eq!(self.frames.handle(frame, &mut self.emitter).await.unwrap(), Sent::Delivered);
        std::iter::from_fn(|| self.out.try_recv().ok()).flatten().collect()
    }
}

#[tokio::test]
async fn user_channel_fills_are_attributed_to_the_connections_account() {
    let Some(lines) = fixture_lines("hyperliquid/nautilus_ws_user_fill_liquidation.json") else {
        return;
    };
    let mut h = harness("hl-attr");
    let events = h.feed(&lines[0], Some(USER)).await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, EventKind::Liquidation, "a fill with `liquidation` is flagged");
    assert_eq!(e.account, Some(Sym::new(USER)));
    assert_eq!(
        e.id,
        "hyperliquid:fill:0xe29fd267b4d2c6f0e41904231bbec90000daea4d4fd5e5c286687dba73d6a0db:745210434703679:A"
    );
    // The same fill again (a reconnect, or the userFills copy) is dropped.
    assert!(h.feed(&lines[0], Some(USER)).await.is_empty());
    assert_eq!(metrics().source_duplicates.with_label_values(&["hl-attr"]).get(), 1);
}

#[tokio::test]
async fn snapshots_are_ignored_and_live_fills_pass_once() {
    let Some(lines) = fixture_lines("hyperliquid/testnet_userFills_2023-12.ndjson") else { return };
    let mut h = harness("hl-fills");
    assert!(h.feed(&lines[0], None).await.is_empty(), "isSnapshot: true");
    let live: Vec<Event> = [h.feed(&lines[1], None).await, h.feed(&lines[2], None).await].concat();
    assert_eq!(live.len(), 2);
    assert!(
        live.iter().all(|e| e.kind == EventKind::PerpFill && e.account == Some(Sym::new(USER)))
    );
    // A reconnect re-sends the snapshot and the live frames: nothing new.
    for line in &lines {
        assert!(h.feed(line, None).await.is_empty());
    }
    assert_eq!(h.frames.summary.events, 2);
    assert_eq!(h.frames.summary.ignored, 2);
}

#[tokio::test]
async fn trades_replayed_after_subscribe_are_dropped_books_are_not() {
    let Some(lines) = fixture_lines("hyperliquid/tardis_ws_messages.ndjson") else { return };
    let mut h = harness("hl-trades");
    let mut first = Vec::new();
    for line in &lines {
        first.extend(h.feed(line, None).await);
    }
    let kinds = |events: &[Event], kind| events.iter().filter(|e| e.kind == kind).count();
    // 6 trades; books: BANANA l2Book and the two-sided @162 bbo (empty or one-sided are ignored).
    assert_eq!((kinds(&first, EventKind::Trade), kinds(&first, EventKind::BookTop)), (6, 2));
    let mut again = Vec::new();
    for line in &lines {
        again.extend(h.feed(line, None).await);
    }
    assert_eq!((kinds(&again, EventKind::Trade), kinds(&again, EventKind::BookTop)), (0, 2));
}

#[tokio::test]
async fn venue_errors_and_malformed_frames_are_counted_not_fatal() {
    let mut h = harness("hl-errors");
    assert!(h.feed(r#"{"channel":"error","data":"Already subscribed: {\"type\":\"trades\",\"coin\":\"BTC\"}"}"#, None).await.is_empty());
    assert_eq!(metrics().source_refused.with_label_values(&["hl-errors", "venue_error"]).get(), 1);
    assert!(h.feed("{not json", None).await.is_empty());
    assert!(h.feed(r#"{"channel":"trades","data":[{"coin":"BTC"}]}"#, None).await.is_empty());
    assert_eq!(
        metrics().source_frames_malformed.with_label_values(&["hl-errors", "hyperliquid"]).get(),
        2
    );
    assert!(h.feed("Websocket connection established.", None).await.is_empty());
    assert!(h.feed(r#"{"channel":"pong"}"#, None).await.is_empty());
    assert!(h.feed(r#"{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}}"#, None).await.is_empty());
    assert_eq!(
        h.frames.summary,
        SourceSummary { frames: 6, ignored: 4, malformed: 2, ..Default::default() }
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever a connection forwards, the frame path returns (no panic),
    /// counts the frame, and emits only events of this venue.
    #[test]
    fn arbitrary_frames_never_panic(text in prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        (prop::sample::select(vec!["trades", "userFills", "user", "bbo", "l2Book", "error", "pong", "subscriptionResponse"]), "[ -~]{0,60}")
            .prop_map(|(channel, data)| format!(r#"{{"channel":"{channel}","data":{data}}}"#)),
    ], user in prop::option::of(Just(USER))) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut h = harness("hl-props");
            let events = h.feed(&text, user).await;
            assert_eq!(h.frames.summary.frames, 1);
            assert!(events.iter().all(|e| e.venue == Sym::new("hyperliquid")));
        });
    }
}
