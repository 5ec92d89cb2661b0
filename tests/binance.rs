//! The Binance live source end to end: the real `klaxon` binary against a
//! local mock venue (combined streams over WebSocket, depth snapshots over
//! REST) replaying the recorded fixtures plus hand-written edge cases, with a
//! file sink and stock plugins so every assertion is on the exact alerts.
//! Also `klaxon replay --books` against an independent book computation.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde_json::Value;
use support::mock_venue::{MockConn, MockVenue};
use support::{Running, base_config, fixtures, klaxon};

const HANG_GUARD: Duration = Duration::from_secs(60);
const SPOT: &str = "binance/spot_2021-10-11.combined.ndjson";

// ---------------------------------------------------------------- helpers

/// Streams a connection asked for: `/stream?streams=a/b/c` → `[a, b, c]`.
fn streams_of(path: &str) -> Vec<String> {
    path.split_once("streams=")
        .map(|(_, s)| s.split('/').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Lines of `file` whose stream this connection subscribed to, as Binance
/// would send them.
fn frames_for(file: &Path, conn: &MockConn) -> Vec<String> {
    let wanted = streams_of(&conn.path);
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            wanted.iter().any(|s| v["stream"] == s.as_str())
        })
        .map(str::to_owned)
        .collect()
}

/// A REST depth route (`/api/v3/depth` or `/fapi/v1/depth`) whose answer per
/// hit number (1-based) and symbol comes from `answer`; counts hits.
fn depth_route(
    path: &str,
    hits: Arc<AtomicUsize>,
    answer: impl Fn(usize, &HashMap<String, String>) -> Response + Clone + Send + Sync + 'static,
) -> Router {
    Router::new().route(
        path,
        get(move |Query(q): Query<HashMap<String, String>>| {
            let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
            let response = answer(n, &q);
            async move { response }
        }),
    )
}

fn json(body: String) -> Response {
    ([("content-type", "application/json"), ("x-mbx-used-weight-1m", "10")], body).into_response()
}

/// The binance source section pointing at `mock`.
fn source(mock: &MockVenue, extra: &str) -> String {
    format!(
        "[sources.market]\ntype = \"binance\"\nws_url = \"{}\"\nrest_url = \"{}\"\n{extra}\n\
         [sources.market.connection]\nbackoff_min = \"10ms\"\nbackoff_max = \"50ms\"\nstall_after = \"20s\"\n",
        mock.ws_url(""),
        mock.http_url("")
    )
}

/// Config with a file sink at `<dir>/alerts.ndjson`, `/metrics` on a free port, and `templates`.
fn config(dir: &Path, source: &str, templates: &str) -> PathBuf {
    let text = format!(
        "{}[server]\nlisten = \"127.0.0.1:0\"\n{source}[sinks.file]\ntype = \"file\"\npath = \"{}\"\n{templates}",
        base_config(dir),
        dir.join("alerts.ndjson").display()
    );
    let path = dir.join("k.toml");
    fs::write(&path, text).unwrap();
    path
}

fn run(config: &Path) -> Running {
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(config);
    Running::spawn(cmd)
}

/// (template, event id) of every alert in the file sink so far.
fn alerts(dir: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(dir.join("alerts.ndjson")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["template"].as_str().unwrap().to_owned(),
                v["event"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn wait_alerts(dir: &Path, n: usize, running: &Running) -> Vec<(String, String)> {
    let start = Instant::now();
    loop {
        let got = alerts(dir);
        if got.len() >= n {
            return got;
        }
        assert!(
            start.elapsed() < HANG_GUARD,
            "only {} alerts: {got:?}\n{}",
            got.len(),
            running.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// One sample from the binary's `/metrics`, 0 if absent.
fn metric(running: &Running, name_and_labels: &str) -> f64 {
    running.wait_stderr("Serving /health", 1, HANG_GUARD);
    let log = running.stderr.lock().unwrap().clone();
    let addr = log.split("addr=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let body = http_get(&addr, "/metrics");
    body.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

fn wait_metric(running: &Running, sample: &str, want: f64) {
    let start = Instant::now();
    while metric(running, sample) != want {
        assert!(
            start.elapsed() < HANG_GUARD,
            "{sample} never reached {want} (is {})",
            metric(running, sample)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_metric_at_least(running: &Running, sample: &str, want: f64) {
    let start = Instant::now();
    while metric(running, sample) < want {
        assert!(
            start.elapsed() < HANG_GUARD,
            "{sample} never reached {want} (is {})",
            metric(running, sample)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The book-top templates pass every top once a trade is in the windows
/// (`price-move` with a 0% bar). The recordings span seconds, so the
/// market measures young windows from what they hold instead of flagging
/// them cold (`flag_cold_windows = false`).
const BOOK_TOPS_ONCE: &str = "[market]\nflag_cold_windows = false\n[templates.tops]\nselect = { kinds = [\"book-top\"] }\n\
    filter = { plugin = \"price-move\", params = { min_change_1h_pct = 0, kinds = [\"book-top\"] } }\n\
    cooldown = { plugin = \"fixed\", params = { window = \"1h\" } }\nchannels = [\"file\"]\n";

const EVERY_BOOK_TOP: &str = "[market]\nflag_cold_windows = false\n[templates.tops]\nselect = { kinds = [\"book-top\"] }\n\
    filter = { plugin = \"price-move\", params = { min_change_1h_pct = 0, kinds = [\"book-top\"] } }\ndefault_cooldown = \"0s\"\nchannels = [\"file\"]\n";

fn trades_over(usd: u32, kinds: &str) -> String {
    format!(
        "[templates.big]\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = {usd}, kinds = [{kinds}] }} }}\ndefault_cooldown = \"0s\"\nchannels = [\"file\"]\n"
    )
}

// ------------------------------------------------------------------ spot

#[test]
fn spot_fixture_streams_sync_every_book_and_alert_exactly() {
    let Some(fx) = fixtures() else { return };
    let frames = fx.join(SPOT);
    let snapshots = fx.join("binance/spot_2021-10-11.snapshots");
    // What the books must emit: the replay of the same frames and snapshots
    // (the same sync code, fed from files).
    let expected_tops: Vec<klaxon::event::Event> =
        klaxon::sources::replay::replay_files(&klaxon::sources::ReplayConfig::new(vec![
            frames.clone(),
        ]))
        .unwrap()
        .events
        .into_iter()
        .filter(|e| e.kind == klaxon::event::EventKind::BookTop)
        .collect();
    let mut first_top: BTreeMap<String, String> = BTreeMap::new();
    for e in &expected_tops {
        first_top.entry(e.symbol.to_string()).or_insert_with(|| e.id.clone());
    }
    assert_eq!(first_top.len(), 4);

    let hits = Arc::new(AtomicUsize::new(0));
    let per_symbol = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = per_symbol.clone();
    let http = depth_route("/api/v3/depth", hits.clone(), move |_, query| {
        let symbol = &query["symbol"];
        log.lock().unwrap().push(format!("{symbol} limit={}", query["limit"]));
        json(fs::read_to_string(snapshots.join(format!("{symbol}.json"))).unwrap())
    });
    let paths = Arc::new(Mutex::new(Vec::new()));
    let seen = paths.clone();
    let mock = MockVenue::start(
        move |mut conn| {
            seen.lock().unwrap().push(conn.path.clone());
            // Trades first, then the depth diffs in their recorded order: a
            // book's tops wait for its snapshot, so only this order makes the
            // market state (trade before tops) independent of REST timing.
            let (depth, trades): (Vec<String>, Vec<String>) =
                frames_for(&frames, &conn).into_iter().partition(|f| f.contains("@depth"));
            async move {
                for f in trades.into_iter().chain(depth) {
                    conn.send(f).await;
                }
                conn.drain().await;
            }
        },
        http,
    );
    let dir = tempfile::tempdir().unwrap();
    let src = source(
        &mock,
        "symbols = [\"NKNUSDT\", \"BLZETH\", \"LRCBTC\", \"RUNEEUR\"]\ntrades = \"aggTrade\"\nsnapshot_limit = 500",
    );
    let running = run(&config(
        dir.path(),
        &src,
        &format!("{}{BOOK_TOPS_ONCE}", trades_over(10, "\"trade\"")),
    ));

    wait_alerts(dir.path(), 3, &running);
    // Every diff and trade went through before we stop: the events counter
    // holds the 2 aggTrades plus every book top.
    let events = "klaxon_source_events_total{source=\"market\",venue=\"binance\"}";
    wait_metric(&running, events, (2 + expected_tops.len()) as f64);
    assert_eq!(metric(&running, "klaxon_source_connections{source=\"market\"}"), 1.0);
    let resyncs =
        metric(&running, "klaxon_source_book_resyncs_total{reason=\"gap\",source=\"market\"}");
    running.stop();

    assert_eq!(
        *paths.lock().unwrap(),
        [
            "/stream?streams=nknusdt@aggTrade/nknusdt@depth@100ms/blzeth@aggTrade/blzeth@depth@100ms/lrcbtc@aggTrade/lrcbtc@depth@100ms/runeeur@aggTrade/runeeur@depth@100ms"
        ]
    );
    let mut asked = per_symbol.lock().unwrap().clone();
    asked.sort();
    assert_eq!(
        asked,
        ["BLZETH limit=500", "LRCBTC limit=500", "NKNUSDT limit=500", "RUNEEUR limit=500"],
        "one snapshot per symbol, no resync"
    );
    assert_eq!(resyncs, 0.0);
    let mut got = alerts(dir.path());
    got.sort();
    // price-move needs a trade in its windows: BLZETH and RUNEEUR (book
    // tops, no trades) never pass it; NKNUSDT and LRCBTC fire once each, on
    // their first book top.
    let mut want = vec![("big".to_owned(), "binance:NKNUSDT:a:15683430".to_owned())];
    want.extend(["LRCBTC", "NKNUSDT"].map(|s| ("tops".to_owned(), first_top[s].clone())));
    want.sort();
    assert_eq!(got, want);
}

fn diff(symbol: &str, first: u64, last: u64, bid: &str) -> String {
    let lower = symbol.to_lowercase();
    let time = T0 + last;
    format!(
        r#"{{"stream":"{lower}@depth@100ms","data":{{"e":"depthUpdate","E":{time},"s":"{symbol}","U":{first},"u":{last},"b":[["{bid}","1"]],"a":[]}}}}"#
    )
}

/// Exchange times of the hand-written frames (2023-11-14).
const T0: u64 = 1_700_000_000_000;

fn snapshot(last: u64, bid: &str) -> String {
    format!(r#"{{"lastUpdateId":{last},"bids":[["{bid}","1"],["90","5"]],"asks":[["101","1"]]}}"#)
}

async fn wait_hits(hits: &AtomicUsize, n: usize) {
    let start = Instant::now();
    while hits.load(Ordering::SeqCst) < n {
        assert!(
            start.elapsed() < HANG_GUARD,
            "snapshot endpoint hit {} times, want {n}",
            hits.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn spot_gap_fetches_a_second_snapshot_and_the_book_continues() {
    let hits = Arc::new(AtomicUsize::new(0));
    let http = depth_route("/api/v3/depth", hits.clone(), |n, _| {
        json(if n == 1 { snapshot(100, "100") } else { snapshot(200, "100.8") })
    });
    let served = hits.clone();
    let mock = MockVenue::start(
        move |mut conn| {
            let hits = served.clone();
            async move {
                // A trade first: price-move needs one to measure its windows.
                conn.send(trade(1)).await;
                conn.send(diff("BTCUSDT", 101, 101, "100.5")).await;
                wait_hits(&hits, 1).await;
                conn.send(diff("BTCUSDT", 102, 102, "100.6")).await;
                // 103..149 never arrive: a gap.
                conn.send(diff("BTCUSDT", 150, 160, "100.7")).await;
                wait_hits(&hits, 2).await;
                conn.send(diff("BTCUSDT", 199, 201, "100.9")).await;
                conn.drain().await;
            }
        },
        http,
    );
    let dir = tempfile::tempdir().unwrap();
    let running =
        run(&config(dir.path(), &source(&mock, "symbols = [\"BTCUSDT\"]"), EVERY_BOOK_TOP));
    let got = wait_alerts(dir.path(), 3, &running);
    wait_metric(
        &running,
        "klaxon_source_book_resyncs_total{reason=\"gap\",source=\"market\"}",
        1.0,
    );
    running.stop();
    let ids: Vec<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, ["binance:BTCUSDT:b:101", "binance:BTCUSDT:b:102", "binance:BTCUSDT:b:201"]);
    assert_eq!(alerts(dir.path()).len(), 3, "the gap diff (u 160) never reached a book");
    assert_eq!(hits.load(Ordering::SeqCst), 2, "exactly one refetch");
}

#[test]
fn throttled_snapshot_is_waited_out_then_the_book_syncs() {
    let hits = Arc::new(AtomicUsize::new(0));
    let http = depth_route("/api/v3/depth", hits.clone(), |n, _| {
        if n == 1 {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                "{\"code\":-1003,\"msg\":\"Too many requests\"}",
            )
                .into_response()
        } else {
            json(snapshot(100, "100"))
        }
    });
    let mock = MockVenue::start(
        |mut conn| async move {
            conn.send(trade(1)).await;
            conn.send(diff("BTCUSDT", 100, 101, "100.5")).await;
            conn.drain().await;
        },
        http,
    );
    let dir = tempfile::tempdir().unwrap();
    let running =
        run(&config(dir.path(), &source(&mock, "symbols = [\"BTCUSDT\"]"), EVERY_BOOK_TOP));
    let got = wait_alerts(dir.path(), 1, &running);
    let throttled =
        metric(&running, "klaxon_source_rest_throttled_total{source=\"market\",status=\"429\"}");
    let reconnects = mock.accepted();
    running.stop();
    assert_eq!(got, [("tops".to_owned(), "binance:BTCUSDT:b:101".to_owned())]);
    assert_eq!(hits.load(Ordering::SeqCst), 2, "one 429, one retry");
    assert_eq!(throttled, 1.0);
    assert_eq!(reconnects, 1, "a throttled snapshot is retried, not a reconnect");
}

// ------------------------------------------------------------- USD-M

#[test]
fn usdm_alerts_market_trades_and_liquidations_only() {
    let Some(fx) = fixtures() else { return };
    let frames = fx.join("binance/tardis_usdm_misc_messages.ndjson");
    let paths = Arc::new(Mutex::new(Vec::new()));
    let seen = paths.clone();
    let mock = MockVenue::start(
        move |mut conn| {
            seen.lock().unwrap().push(conn.path.clone());
            let frames = frames_for(&frames, &conn);
            async move {
                for f in frames {
                    conn.send(f).await;
                }
                conn.drain().await;
            }
        },
        Router::new(),
    );
    let dir = tempfile::tempdir().unwrap();
    let src = source(
        &mock,
        "market = \"usdm\"\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\ndepth = false\nliquidations = true",
    );
    // $50: the MARKET trades ($336, $5297), the liquidation ($65.88) and the
    // INSURANCE_FUND trade ($166) would all pass, if it were emitted.
    let running = run(&config(dir.path(), &src, &trades_over(50, "\"trade\", \"liquidation\"")));
    let got = wait_alerts(dir.path(), 3, &running);
    // The bookTicker came last; once it counted, every frame was handled.
    wait_metric(
        &running,
        "klaxon_source_events_total{source=\"market\",venue=\"binance-futures\"}",
        4.0,
    );
    running.stop();
    assert_eq!(
        *paths.lock().unwrap(),
        [
            "/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@forceOrder/ethusdt@trade/ethusdt@bookTicker/ethusdt@forceOrder"
        ]
    );
    let ids: Vec<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "binance-futures:BTCUSDT:t:10934580",
            "binance-futures:BTCUSDT:t:173525189",
            "binance-futures:BTCUSDT:l:1584059031421:BUY"
        ]
    );
    assert_eq!(alerts(dir.path()).len(), 3, "no ETHUSDT insurance-fund trade");
}

// ------------------------------------------------------ connection life

/// A $200 BTCUSDT trade with id `id`.
fn trade(id: u64) -> String {
    let time = T0 + id;
    format!(
        r#"{{"stream":"btcusdt@trade","data":{{"e":"trade","E":{time},"T":{time},"s":"BTCUSDT","t":{id},"p":"100","q":"2","m":false}}}}"#
    )
}

#[test]
fn server_shutdown_reconnects_and_pings_are_answered() {
    let mock = MockVenue::start(
        |mut conn| async move {
            if conn.id == 1 {
                conn.ping(b"hb").await;
                conn.recv_within(Duration::from_secs(10)).await;
                conn.send(trade(1)).await;
                conn.send(r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}"#).await;
                conn.drain().await;
            } else {
                // Garbage is counted and skipped, never fatal.
                conn.send("not json").await;
                conn.send(r#"{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":9,"p":"abc","q":"1","m":true}}"#).await;
                conn.send(trade(2)).await;
                conn.drain().await;
            }
        },
        Router::new(),
    );
    let dir = tempfile::tempdir().unwrap();
    let running = run(&config(
        dir.path(),
        &source(&mock, "symbols = [\"BTCUSDT\"]\ndepth = false"),
        &trades_over(100, "\"trade\""),
    ));
    let got = wait_alerts(dir.path(), 2, &running);
    let planned = metric(
        &running,
        "klaxon_source_reconnects_total{reason=\"server_shutdown\",source=\"market\"}",
    );
    let malformed = metric(
        &running,
        "klaxon_source_frames_malformed_total{source=\"market\",venue=\"binance\"}",
    );
    running.stop();
    assert_eq!(malformed, 2.0);
    assert_eq!(mock.accepted(), 2);
    assert!(mock.received().contains(&(1, "<pong:hb>".to_owned())), "{:?}", mock.received());
    assert_eq!(planned, 1.0);
    let ids: Vec<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, ["binance:BTCUSDT:t:1", "binance:BTCUSDT:t:2"]);
}

#[test]
fn planned_reconnect_at_max_lifetime_resyncs_the_book_without_repeating_its_top() {
    let hits = Arc::new(AtomicUsize::new(0));
    let http = depth_route("/api/v3/depth", hits.clone(), |_, _| json(snapshot(100, "100")));
    let mock = MockVenue::start(
        |mut conn| async move {
            conn.send(trade(1)).await;
            conn.send(diff("BTCUSDT", 101, 101, "100.5")).await;
            conn.drain().await;
        },
        http,
    );
    let dir = tempfile::tempdir().unwrap();
    let src = source(&mock, "symbols = [\"BTCUSDT\"]\nmax_lifetime = \"400ms\"");
    let running = run(&config(dir.path(), &src, EVERY_BOOK_TOP));
    mock.wait_until("a planned reconnect", HANG_GUARD, |m| m.accepted() >= 3);
    wait_metric_at_least(
        &running,
        "klaxon_source_book_resyncs_total{reason=\"reconnect\",source=\"market\"}",
        2.0,
    );
    let planned = metric(
        &running,
        "klaxon_source_reconnects_total{reason=\"max_lifetime\",source=\"market\"}",
    );
    running.stop();
    assert!(planned >= 2.0, "{planned}");
    assert!(hits.load(Ordering::SeqCst) >= 3, "every connection fetched a fresh snapshot");
    // Each connection rebuilt the same book: its top was alerted once.
    assert_eq!(alerts(dir.path()), [("tops".to_owned(), "binance:BTCUSDT:b:101".to_owned())]);
}

#[test]
fn dropped_connection_resumes_without_duplicate_alerts() {
    let mock = MockVenue::start(
        |mut conn| async move {
            // Each connection replays the tail of the previous one.
            let ids: &[u64] = match conn.id {
                1 => &[1, 2, 3],
                2 => &[2, 3, 4],
                _ => &[3, 4, 5],
            };
            for &id in ids {
                conn.send(trade(id)).await;
            }
            if conn.id < 3 {
                // Dropped mid-stream: no close frame.
                return;
            }
            conn.drain().await;
        },
        Router::new(),
    );
    let dir = tempfile::tempdir().unwrap();
    let running = run(&config(
        dir.path(),
        &source(&mock, "symbols = [\"BTCUSDT\"]\ndepth = false"),
        &trades_over(100, "\"trade\""),
    ));
    wait_alerts(dir.path(), 5, &running);
    mock.wait_until("the third connection", HANG_GUARD, |m| m.accepted() >= 3);
    wait_metric(&running, "klaxon_source_duplicates_total{source=\"market\"}", 4.0);
    running.stop();
    let ids: Vec<String> = alerts(dir.path()).into_iter().map(|(_, id)| id).collect();
    let want: Vec<String> = (1..=5).map(|i| format!("binance:BTCUSDT:t:{i}")).collect();
    assert_eq!(ids, want);
}

#[test]
fn streams_split_over_connections_each_with_its_own_list() {
    let paths = Arc::new(Mutex::new(Vec::new()));
    let seen = paths.clone();
    let mock = MockVenue::start(
        move |mut conn| {
            seen.lock().unwrap().push(conn.path.clone());
            async move {
                // A trade on this connection's first stream.
                let first = streams_of(&conn.path)[0].clone();
                let symbol = first.split('@').next().unwrap().to_uppercase();
                let frame = format!(
                    r#"{{"stream":"{first}","data":{{"e":"trade","E":1,"T":1,"s":"{symbol}","t":7,"p":"100","q":"2","m":true}}}}"#
                );
                conn.send(frame).await;
                conn.drain().await;
            }
        },
        Router::new(),
    );
    let dir = tempfile::tempdir().unwrap();
    let src = source(
        &mock,
        "symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\"]\ndepth = false\nstreams_per_connection = 2",
    );
    let running = run(&config(dir.path(), &src, &trades_over(100, "\"trade\"")));
    let got = wait_alerts(dir.path(), 3, &running);
    wait_metric(&running, "klaxon_source_connections{source=\"market\"}", 3.0);
    running.stop();
    let mut paths = paths.lock().unwrap().clone();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/stream?streams=aaausdt@trade/aaausdt@bookTicker",
            "/stream?streams=bbbusdt@trade/bbbusdt@bookTicker",
            "/stream?streams=cccusdt@trade/cccusdt@bookTicker",
        ]
    );
    let mut ids: Vec<String> = got.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    assert_eq!(ids, ["binance:AAAUSDT:t:7", "binance:BBBUSDT:t:7", "binance:CCCUSDT:t:7"]);
}

// ---------------------------------------------------------------- replay

/// Snapshot + every diff with `u > lastUpdateId`, as maps; returns
/// (last update id, top-5 bids, top-5 asks) as printed by `--books`.
fn independent_book(
    frames: &str,
    snapshot: &Path,
    symbol: &str,
) -> (u64, Vec<String>, Vec<String>) {
    fn apply(side: &mut BTreeMap<Decimal, Decimal>, levels: &Value) {
        for l in levels.as_array().unwrap() {
            let p: Decimal = l[0].as_str().unwrap().parse().unwrap();
            let q: Decimal = l[1].as_str().unwrap().parse().unwrap();
            if q.is_zero() {
                side.remove(&p.normalize());
            } else {
                side.insert(p.normalize(), q.normalize());
            }
        }
    }
    let snap: Value = serde_json::from_str(&fs::read_to_string(snapshot).unwrap()).unwrap();
    let mut last = snap["lastUpdateId"].as_u64().unwrap();
    let (mut bids, mut asks) = (BTreeMap::new(), BTreeMap::new());
    apply(&mut bids, &snap["bids"]);
    apply(&mut asks, &snap["asks"]);
    for line in frames.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let d = &v["data"];
        if d["e"] == "depthUpdate" && d["s"] == symbol && d["u"].as_u64().unwrap() > last {
            apply(&mut bids, &d["b"]);
            apply(&mut asks, &d["a"]);
            last = d["u"].as_u64().unwrap();
        }
    }
    let fmt = |side: &str, (p, q): (&Decimal, &Decimal)| format!("  {side} {p} {q}");
    (
        last,
        bids.iter().rev().take(5).map(|l| fmt("bid", l)).collect(),
        asks.iter().take(5).map(|l| fmt("ask", l)).collect(),
    )
}

#[test]
fn replay_books_prints_each_synced_book_matching_an_independent_computation() {
    let Some(fx) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let template = "[templates.big]\nfilter = { plugin = \"amount-threshold\", params = { min_notional_usd = 10 } }\n";
    fs::write(dir.path().join("k.toml"), format!("{}{template}", base_config(dir.path()))).unwrap();
    let out = klaxon()
        .args(["replay", "--books", "--config"])
        .arg(dir.path().join("k.toml"))
        .arg(fx.join(SPOT))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, books) = stdout.split_once("--- books\n").expect("books section");
    let frames = fs::read_to_string(fx.join(SPOT)).unwrap();
    let mut want = String::new();
    for symbol in ["BLZETH", "LRCBTC", "NKNUSDT", "RUNEEUR"] {
        let (last, bids, asks) = independent_book(
            &frames,
            &fx.join(format!("binance/spot_2021-10-11.snapshots/{symbol}.json")),
            symbol,
        );
        want.push_str(&format!("book {symbol} last_update_id={last}\n"));
        for line in bids.iter().chain(&asks) {
            want.push_str(line);
            want.push('\n');
        }
    }
    assert_eq!(books, want);

    // An explicit --snapshots directory that has no file for these symbols: no books.
    let empty = tempfile::tempdir().unwrap();
    let out = klaxon()
        .args(["replay", "--books", "--market", "spot", "--snapshots"])
        .arg(empty.path())
        .arg("--config")
        .arg(dir.path().join("k.toml"))
        .arg(fx.join(SPOT))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("--- books\n"));
}
