//! End to end through the `klaxon` binary: the demo, graceful shutdown,
//! `check`'s error messages, and `replay` on the real Binance recording.

mod support;

use std::fs;
use std::time::Duration;

use support::{Running, alert_log_counts, base_config, fixtures, klaxon};

const HANG_GUARD: Duration = Duration::from_secs(120);

#[test]
fn demo_prints_alerts_then_drains_and_exits_zero_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = klaxon();
    cmd.arg("run")
        .current_dir(dir.path())
        .env("KLAXON_SERVER__LISTEN", "127.0.0.1:0")
        .env("KLAXON_ALERT_LOG__URL", format!("sqlite://{}/demo.db", dir.path().display()));
    let running = Running::spawn(cmd);
    let first = running.next_line(HANG_GUARD).expect("the demo printed no alert");
    assert!(
        first.contains(" [whale-trades] ")
            || first.contains(" [heavy-flow] ")
            || first.contains(" [fast-moves] "),
        "{first}"
    );
    running.signal("INT");
    let (code, stderr, rest) = running.wait(HANG_GUARD);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("Shutdown requested; draining."), "{stderr}");
    // Every printed alert was fired and logged: the log was flushed on exit.
    let printed = 1 + rest.len() as u64;
    let (fired, _) = alert_log_counts(&dir.path().join("demo.db"));
    assert!(fired >= printed, "fired {fired} < printed {printed}");
}

#[test]
fn sigterm_drains_in_flight_events_and_flushes_sinks_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.ndjson");
    let config = format!(
        "{}[sources.market]\ntype = \"synthetic\"\nrate = 2000\nseed = 3\n[sinks.file]\ntype = \"file\"\npath = \"{}\"\n\
         [templates.all-trades]\nselect = {{ kinds = [\"trade\"] }}\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\ndefault_cooldown = \"0s\"\nchannels = [\"file\"]\n",
        base_config(dir.path()),
        out.display()
    );
    fs::write(dir.path().join("k.toml"), config).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(dir.path().join("k.toml"));
    let running = Running::spawn(cmd);
    // Wait until alerts are flowing, then stop.
    let start = std::time::Instant::now();
    while fs::read_to_string(&out).map(|s| s.lines().count()).unwrap_or(0) < 50 {
        assert!(start.elapsed() < HANG_GUARD, "no alerts reached the file sink");
        std::thread::sleep(Duration::from_millis(50));
    }
    running.signal("TERM");
    let (code, stderr, _) = running.wait(HANG_GUARD);
    assert_eq!(code, Some(0), "{stderr}");
    let delivered = fs::read_to_string(&out).unwrap().lines().count() as u64;
    let (fired, suppressed) = alert_log_counts(&dir.path().join("alerts.db"));
    assert_eq!(suppressed, 0);
    assert_eq!(fired, delivered, "every fired alert was both delivered and logged");
}

fn check(config: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    fs::write(&path, config).unwrap();
    let out = klaxon().args(["check", "--config"]).arg(&path).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_rejects_a_misspelled_plugin_param_naming_the_field() {
    let (ok, _, stderr) = check(
        "[templates.whales]\nfilter = { plugin = \"amount-threshold\", params = { min_notinal_usd = 100000 } }\n",
    );
    assert!(!ok);
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("templates.whales.filter.params"), "{stderr}");
    assert!(stderr.contains("unknown field `min_notinal_usd`"), "{stderr}");
    assert!(stderr.contains("`amount-threshold`"), "{stderr}");
}

#[test]
fn check_reports_every_config_problem_at_once() {
    let (ok, _, stderr) = check(
        "[pipeline]\nworkers = 0\n[templates.t]\nfilter = { plugin = \"amount-threshold\", params = { min_notional_usd = 1 } }\nchannels = [\"telegram\"]\nlimits = { memory_mib = 0 }\n",
    );
    assert!(!ok);
    for expected in [
        "3 problem(s)",
        "pipeline.workers: must be at least 1",
        "templates.t.channels.0: no sink named `telegram`",
        "templates.t.limits.memory_mib",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in {stderr}");
    }
}

#[test]
fn check_names_unknown_fields_bad_values_and_unknown_plugins() {
    let (ok, _, stderr) = check("[pipeline]\nworkerz = 2\n");
    assert!(
        !ok && stderr.contains("pipeline") && stderr.contains("unknown field: found `workerz`"),
        "{stderr}"
    );
    let (ok, _, stderr) = check(
        "[templates.t]\nfilter = { plugin = \"amount-threshold\" }\ndefault_cooldown = \"ten minutes\"\n",
    );
    assert!(!ok && stderr.contains("templates.t.default_cooldown"), "{stderr}");
    let (ok, _, stderr) = check("[templates.t]\nfilter = { plugin = \"no-such-plugin\" }\n");
    assert!(
        !ok && stderr.contains("templates.t.filter.plugin: no plugin `no-such-plugin`"),
        "{stderr}"
    );
}

#[test]
fn check_accepts_the_demo_config_and_lists_plugin_versions() {
    let (ok, stdout, stderr) = check(klaxon::config::DEMO_CONFIG);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("ok (3 templates, 1 sources, 1 sinks)"), "{stdout}");
    assert!(stdout.contains("whale-trades: filter `amount-threshold` "), "{stdout}");
}

/// Templates for the golden replay: every NKNUSDT trade over $10, and a
/// book-top template with a 1m cooldown so suppressions show up. The
/// recording spans a second, so its windows are measured from what they
/// hold (`flag_cold_windows = false`); see the cold-window test below.
fn golden_config(dir: &std::path::Path) -> String {
    format!(
        "{}[market]\nflag_cold_windows = false\n[templates.nkn-trades]\nselect = {{ kinds = [\"trade\"] }}\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 10 }} }}\n\
         [templates.quiet-books]\nselect = {{ kinds = [\"book-top\"] }}\nfilter = {{ plugin = \"price-move\", params = {{ min_change_1h_pct = 0, kinds = [\"book-top\"] }} }}\n\
         cooldown = {{ plugin = \"fixed\", params = {{ window = \"1m\" }} }}\nformatter = {{ plugin = \"plain\", params = {{ include_event = false }} }}\n",
        base_config(dir)
    )
}

#[test]
fn golden_replay_of_the_binance_spot_recording() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("golden.toml"), golden_config(dir.path())).unwrap();
    let out = klaxon()
        .args(["replay", "--config"])
        .arg(dir.path().join("golden.toml"))
        .arg(fixtures.join("binance/spot_2021-10-11.combined.ndjson"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Workers print concurrently, so compare the alerts as a sorted set.
    let (alerts, summary) = stdout.split_once("---\n").expect("summary separator");
    let mut alerts: Vec<&str> = alerts.lines().collect();
    alerts.sort();
    // The recording's depth snapshots (`spot_2021-10-11.snapshots/`) are
    // picked up, so book tops come from the synced books (22, each a real
    // move of best bid/ask) instead of the 84 raw bookTickers.
    let expected = [
        "2021-10-12T00:28:43.963Z WARNING [nkn-trades] $20 buy on NKNUSDT · notional: $20 · price: 0.3528 · size: 58 · side: buy",
        "2021-10-12T00:28:44.173Z WARNING [quiet-books] NKNUSDT up 0.00% in 1h · price: 0.3528 · 1m change: +0.00% on $20 · 5m change: +0.00% on $20 · 1h change: +0.00% on $20",
    ];
    assert_eq!(alerts, expected, "\n{stdout}");
    assert!(
        summary.contains("events: 24  evaluated: 24  unrouted: 0  failed closed: 0"),
        "{summary}"
    );
    assert!(summary.contains("fired: 2  suppressed: 7"), "{summary}");
    assert!(summary.contains("suppressed (cooldown): 7"), "{summary}");
    assert_eq!(alert_log_counts(&dir.path().join("alerts.db")), (2, 7));

    // Replaying again is idempotent in the alert log (ids are stable).
    let again = klaxon()
        .args(["replay", "--config"])
        .arg(dir.path().join("golden.toml"))
        .arg(fixtures.join("binance/spot_2021-10-11.combined.ndjson"))
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(alert_log_counts(&dir.path().join("alerts.db")), (2, 7));
}

/// The same replay on a fresh host that flags cold windows (the default):
/// a second of market is not an hour of it, so `price-move` sees its
/// windows missing and the "up 0.00% in 1h" alerts of the golden replay
/// are never raised.
#[test]
fn a_fresh_host_flags_its_windows_missing_until_they_are_warm() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = golden_config(dir.path()).replace("flag_cold_windows = false", "");
    fs::write(dir.path().join("cold.toml"), config).unwrap();
    let out = klaxon()
        .args(["replay", "--config"])
        .arg(dir.path().join("cold.toml"))
        .arg(fixtures.join("binance/spot_2021-10-11.combined.ndjson"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("[nkn-trades] $20 buy on NKNUSDT"), "{stdout}");
    assert!(!stdout.contains("[quiet-books]"), "a cold window passed for a full one:\n{stdout}");
    assert!(stdout.contains("fired: 1  suppressed: 0"), "{stdout}");
}

#[test]
fn replay_reads_every_venue_format_and_skips_malformed_lines() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.ndjson");
    fs::write(
        &broken,
        "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\"\nnot json at all\n",
    )
    .unwrap();
    let config = format!(
        "{}[templates.big]\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1000 }} }}\ndefault_cooldown = \"0s\"\n",
        base_config(dir.path())
    );
    fs::write(dir.path().join("k.toml"), config).unwrap();
    let out = klaxon()
        .args(["replay", "--config"])
        .arg(dir.path().join("k.toml"))
        .arg(fixtures.join("binance/tardis_usdm_misc_messages.ndjson"))
        .arg(fixtures.join("hyperliquid/tardis_ws_messages.ndjson"))
        .arg(fixtures.join("hyperliquid/testnet_userFills_2023-12.ndjson"))
        .arg(fixtures.join("evm/DERIVED_eth_subscription_logs.ndjson"))
        .arg(&broken)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("Skipping malformed frame.").count(), 2, "{stderr}");
    assert!(
        stderr.contains("broken.ndjson") && stderr.contains("line=1") && stderr.contains("line=2"),
        "{stderr}"
    );
    assert!(stdout.contains("[big] "), "{stdout}");
    assert!(stdout.contains("BTC"), "{stdout}");
}

/// The live example configs the docs point to stay valid: `check` loads,
/// validates and smoke-runs every template's plugins without connecting.
#[test]
fn live_example_configs_pass_check() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples");
    let mut checked = Vec::new();
    for entry in fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        let dir = tempfile::tempdir().unwrap();
        let out = klaxon()
            .args(["check", "--config"])
            .arg(&path)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {stdout}{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(": ok ("), "{stdout}");
        checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    checked.sort();
    assert_eq!(checked, ["binance.toml", "evm.toml", "hyperliquid.toml", "solana.toml"]);
}

/// `klaxon replay` prints alerts in (exchange time, event id, template)
/// order: its output is byte-identical across 1, 2 and 8 workers, though
/// the workers decide concurrently and each template shards differently.
#[test]
fn replay_output_is_byte_identical_across_worker_counts() {
    let Some(fixtures) = fixtures() else { return };
    let frames = [
        fixtures.join("binance/spot_2021-10-11.combined.ndjson"),
        fixtures.join("hyperliquid/tardis_ws_messages.ndjson"),
        fixtures.join("hyperliquid/testnet_userFills_2023-12.ndjson"),
    ];
    let run = |workers: usize| {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "{}[pipeline]\nworkers = {workers}\n\
             [templates.every-trade]\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 0 }} }}\ndefault_cooldown = \"0s\"\n\
             [templates.by-account]\nshard_by = \"account\"\nselect = {{ kinds = [\"perp-fill\"] }}\n\
             filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 0, key_by = \"account\" }} }}\ndefault_cooldown = \"1m\"\n",
            base_config(dir.path())
        );
        fs::write(dir.path().join("k.toml"), config).unwrap();
        support::replay_stdout(&dir.path().join("k.toml"), &frames)
    };
    let one = run(1);
    assert!(one.lines().filter(|l| l.contains("[every-trade]")).count() >= 8, "{one}");
    assert!(one.contains("[by-account]"), "{one}");
    assert_eq!(run(2), one, "2 workers");
    assert_eq!(run(8), one, "8 workers");
}
