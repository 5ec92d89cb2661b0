//! The replay source end to end: malformed lines, pacing under paused time,
//! cancellation, backpressure, and its config surface.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::fixture;
use crate::event::Event;
use crate::sources::replay::FrameParser;
use crate::sources::replay::{ReplayConfig, ReplayError, parse_ndjson};
use crate::sources::{SourceConfig, SourceError, SourceSummary};
use crate::telemetry::metrics;

fn agg_trade(id: u64, time_ms: u64) -> String {
    format!(
        r#"{{"stream":"btcusdt@aggTrade","data":{{"e":"aggTrade","E":{time_ms},"s":"BTCUSDT","a":{id},"p":"100.0","q":"1","T":{time_ms},"m":false}}}}"#
    )
}

fn write_file(dir: &tempfile::TempDir, name: &str, lines: &[&[u8]]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for line in lines {
        f.write_all(line).unwrap();
        f.write_all(b"\n").unwrap();
    }
    path
}

/// Run a replay to the end, collecting what it emitted.
async fn replay(
    name: &str,
    config: ReplayConfig,
    capacity: usize,
) -> (Result<SourceSummary, SourceError>, Vec<Event>) {
    let (tx, mut rx) = mpsc::channel(capacity);
    let task = tokio::spawn(
        SourceConfig::Replay(config)
            .run(name.to_owned(), crate::sources::SourceContext::new(tx, CancellationToken::new())),
    );
    let mut events = Vec::new();
    while let Some(batch) = rx.recv().await {
        events.extend(batch);
    }
    (task.await.unwrap(), events)
}

fn mixed_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let good_binance = agg_trade(1, 1_000);
    let good_hl = r#"{"channel":"trades","data":[{"coin":"ETH","side":"A","px":"3000","sz":"2","time":2000,"hash":"0x1","tid":5}]}"#;
    let bad_price = r#"{"e":"trade","E":1,"s":"BTCUSDT","t":9,"p":"1.2.3","q":"1","m":true}"#;
    let lines: [&[u8]; 9] = [
        good_binance.as_bytes(),
        b"{not json",
        b"",
        b"\xff\xfe not utf-8",
        good_hl.as_bytes(),
        br#"{"x":1}"#,
        bad_price.as_bytes(),
        b"   ",
        br#"{"jsonrpc":"2.0","id":1,"result":"0xcd0c"}"#,
    ];
    write_file(dir, "mixed.ndjson", &lines)
}

#[tokio::test]
async fn malformed_lines_are_counted_and_skipped_the_rest_emitted() {
    let dir = tempfile::tempdir().unwrap();
    let path = mixed_file(&dir);
    let name = "test_replay_malformed";
    let (summary, events) = replay(name, ReplayConfig::new(vec![path.clone()]), 4).await;
    let summary = summary.unwrap();
    assert_eq!(
        summary,
        SourceSummary { frames: 7, events: 2, ignored: 1, malformed: 4, ..Default::default() }
    );
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["binance:BTCUSDT:a:1", "hyperliquid:ETH:5"]);

    let malformed =
        |venue| metrics().source_frames_malformed.with_label_values(&[name, venue]).get();
    assert_eq!((malformed("unknown"), malformed("binance")), (3, 1));
    let emitted = |venue| metrics().source_events.with_label_values(&[name, venue]).get();
    assert_eq!((emitted("binance"), emitted("hyperliquid")), (1, 1));
    assert_eq!(metrics().source_up.with_label_values(&[name]).get(), 0, "down once finished");

    // The pure helper agrees, and names file and line.
    let bytes = std::fs::read(&path).unwrap();
    let parsed = parse_ndjson(&bytes, &path, &FrameParser::default());
    assert_eq!(parsed.summary, summary);
    let errors: Vec<String> = parsed.errors.iter().map(ToString::to_string).collect();
    let at = |line: u32| format!("{}:{line}: ", path.display());
    assert!(errors[0].starts_with(&format!("{}not JSON", at(2))), "{}", errors[0]);
    assert_eq!(errors[1], format!("{}not UTF-8", at(4)));
    assert_eq!(errors[2], format!("{}frame matches no known venue protocol", at(6)));
    assert!(
        errors[3].starts_with(&format!("{}binance `trade`: field `p`", at(7))),
        "{}",
        errors[3]
    );
}

#[tokio::test(start_paused = true)]
async fn speed_scales_exchange_time_deltas() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = 1_700_000_000_000;
    let untimed_book = r#"{"u":1,"s":"BTCUSDT","b":"99","B":"1","a":"101","A":"1"}"#;
    let lines = [
        agg_trade(1, t0),
        agg_trade(2, t0 + 1_000),
        untimed_book.to_owned(),
        agg_trade(3, t0 + 3_000),
    ];
    let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let path = write_file(&dir, "timed.ndjson", &lines);

    for (speed, expected_ms) in [(2.0, [0, 500, 500, 1500]), (0.0, [0, 0, 0, 0])] {
        let mut config = ReplayConfig::new(vec![path.clone()]);
        config.speed = speed;
        let (tx, mut rx) = mpsc::channel(16);
        let start = Instant::now();
        let task = tokio::spawn(SourceConfig::Replay(config).run(
            "test_replay_speed".into(),
            crate::sources::SourceContext::new(tx, CancellationToken::new()),
        ));
        let mut seen = Vec::new();
        while let Some(batch) = rx.recv().await {
            let at = start.elapsed().as_millis() as u64;
            seen.extend(batch.iter().map(|e| (at, e.exchange_time_ms)));
        }
        task.await.unwrap().unwrap();
        let elapsed: Vec<u64> = seen.iter().map(|s| s.0).collect();
        assert_eq!(elapsed, expected_ms, "speed {speed}");
        // The untimed book top inherits the latest exchange time.
        assert_eq!(seen[2].1, t0 + 1_000);
    }
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_a_paced_replay_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let hour = 3_600_000;
    let lines = [agg_trade(1, 1_000), agg_trade(2, 1_000 + hour)];
    let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let mut config = ReplayConfig::new(vec![write_file(&dir, "slow.ndjson", &lines)]);
    config.speed = 1.0;
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let start = Instant::now();
    let task =
        tokio::spawn(SourceConfig::Replay(config).run(
            "test_replay_cancel".into(),
            crate::sources::SourceContext::new(tx, cancel.clone()),
        ));
    assert!(rx.recv().await.is_some());
    tokio::time::sleep(Duration::from_secs(1)).await;
    cancel.cancel();
    let summary = task.await.unwrap().unwrap();
    assert_eq!((summary.events, summary.cancelled), (1, true));
    assert!(start.elapsed() < Duration::from_secs(2), "waited {:?}", start.elapsed());
    assert!(rx.recv().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_gets_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..200).map(|i| agg_trade(i, 1_000 + i)).collect();
    let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let config = ReplayConfig::new(vec![write_file(&dir, "many.ndjson", &lines)]);
    let (tx, mut rx) = mpsc::channel(1);
    let task = tokio::spawn(SourceConfig::Replay(config).run(
        "test_replay_backpressure".into(),
        crate::sources::SourceContext::new(tx, CancellationToken::new()),
    ));
    let mut ids = Vec::new();
    while let Some(batch) = rx.recv().await {
        tokio::time::sleep(Duration::from_millis(10)).await;
        ids.extend(batch.into_iter().map(|e| e.id));
    }
    assert_eq!(task.await.unwrap().unwrap().events, 200);
    assert_eq!(ids.len(), 200);
    assert_eq!(ids[199], "binance:BTCUSDT:a:199");
}

#[tokio::test]
async fn an_unreadable_file_fails_the_source_naming_it() {
    let config = ReplayConfig::new(vec!["/nonexistent/frames.ndjson".into()]);
    let (result, events) = replay("test_replay_missing", config, 1).await;
    let err = result.unwrap_err();
    assert!(matches!(err, SourceError::Replay { error: ReplayError::Read { .. }, .. }));
    assert!(
        err.to_string()
            .starts_with("source `test_replay_missing`: /nonexistent/frames.ndjson: cannot read"),
        "{err}"
    );
    assert!(events.is_empty());
}

#[tokio::test]
async fn replays_several_real_fixture_files_in_order() {
    let (Some(spot), Some(hl)) = (
        fixture("binance/spot_2021-10-11.combined.ndjson"),
        fixture("hyperliquid/tardis_ws_messages.ndjson"),
    ) else {
        return;
    };
    let (summary, events) =
        replay("test_replay_fixtures", ReplayConfig::new(vec![spot, hl]), 8).await;
    let summary = summary.unwrap();
    // The spot recording has depth snapshots beside it, so its book tops (22)
    // come from the synced books, not its 84 bookTickers: 2 trades + 22 + 8
    // Hyperliquid events.
    assert_eq!((summary.frames, summary.events, summary.malformed), (275, 32, 0));
    assert_eq!(events.len(), 32);
    assert_eq!(&*events.last().unwrap().venue.name(), "hyperliquid");
}

#[test]
fn config_parses_from_toml_with_defaults_and_rejects_unknown_fields() {
    let config: SourceConfig = toml::from_str(
        r#"
        type = "replay"
        files = ["a.ndjson"]
        speed = 10
        pools = [{ address = "0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1", base = "TKN", quote = "WETH" }]
        "#,
    )
    .unwrap();
    let SourceConfig::Replay(replay) = &config else { panic!("{config:?}") };
    assert_eq!(
        (replay.speed, replay.chain.as_str(), replay.pools[0].decimals1),
        (10.0, "ethereum", 18)
    );
    assert!(replay.pools[0].base_is_token0);

    let err =
        toml::from_str::<SourceConfig>("type = \"replay\"\nfiles = []\nsped = 1").unwrap_err();
    assert!(err.to_string().contains("unknown field `sped`"), "{err}");
    let err = toml::from_str::<SourceConfig>("type = \"replay\"\nfiles = []\npools = [{ address = \"0x1\", base = \"A\", quote = \"B\", decimal0 = 6 }]").unwrap_err();
    assert!(err.to_string().contains("unknown field `decimal0`"), "{err}");
    assert!(toml::from_str::<SourceConfig>("type = \"websocket\"").is_err());
}

#[test]
fn validation_reports_every_problem_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let real = write_file(&dir, "ok.ndjson", &[b"{}"]);
    let mut config =
        ReplayConfig::new(vec![real, dir.path().join("missing.ndjson"), dir.path().to_owned()]);
    config.speed = -1.0;
    config.venue = Some(String::new());
    let pool = toml::from_str::<crate::sources::evm::PoolConfig>(
        "address = \"0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1\"\nbase = \"A\"\nquote = \"B\"",
    )
    .unwrap();
    config.pools = vec![
        pool.clone(),
        crate::sources::evm::PoolConfig {
            address: pool.address.to_uppercase().replace("0X", "0x"),
            ..pool
        },
    ];
    let issues: Vec<String> = SourceConfig::Replay(config)
        .validate("sources.tape")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        issues,
        [
            format!(
                "sources.tape.files.1: file `{}` does not exist",
                Path::new(dir.path()).join("missing.ndjson").display()
            ),
            format!("sources.tape.files.2: `{}` is a directory", dir.path().display()),
            "sources.tape.speed: must be a finite number, 0 or greater".to_owned(),
            "sources.tape.venue: must not be empty".to_owned(),
            "sources.tape.pools.1.address: duplicates `pools.0`".to_owned(),
        ]
    );
    let empty = ReplayConfig::new(vec![]);
    assert_eq!(empty.validate("s")[0].to_string(), "s.files: must list at least one file");
}
