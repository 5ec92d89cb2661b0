//! Delivery end to end through the `klaxon` binary and local mock services:
//! kill -9 mid-delivery and restart, dead letters and `alerts resend`, a
//! blackholed channel, no secret in logs, metrics or the alert log, owner
//! caps, and a time-window digest kept across kill -9 and formatted by the
//! template's formatter.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use support::mock_service::{MockService, Resp};
use support::{Running, base_config, fixtures, klaxon};

use klaxon::store::{AlertLog, DeliveryQuery, DeliveryRecord, DeliveryStatus};

const HANG_GUARD: Duration = Duration::from_secs(120);

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn outbox(db: &Path) -> Vec<DeliveryRecord> {
    block_on(async {
        let log = AlertLog::open(&format!("sqlite://{}", db.display())).await.unwrap();
        let rows = log.deliveries(&DeliveryQuery::default()).await.unwrap();
        log.close().await;
        rows
    })
}

const FAST: &str = "delivery = { attempts = 3, min_backoff = \"10ms\", max_backoff = \"50ms\", \
    poll_interval = \"50ms\", shutdown_grace = \"30s\", per_minute = 600000, burst = 1000, fold = false }";

fn synthetic(rate: u32) -> String {
    format!("[sources.market]\ntype = \"synthetic\"\nrate = {rate}\nseed = 3\n")
}

fn every_trade(channels: &str) -> String {
    format!(
        "[templates.all-trades]\nselect = {{ kinds = [\"trade\"] }}\n\
         filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n\
         default_cooldown = \"0s\"\nchannels = [{channels}]\n"
    )
}

fn hook(name: &str, mock: &MockService, extra: &str) -> String {
    format!("[sinks.{name}]\ntype = \"webhook\"\nurl = \"{}\"\n{extra}\n", mock.url("/hook"))
}

#[test]
fn kill_9_mid_delivery_then_restart_delivers_all_and_resends_nothing_sent() {
    let mock = MockService::start(|_, _| Resp::ok(200, "ok").after(Duration::from_millis(40)));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alerts.db");
    let body = format!("{}{}", hook("hook", &mock, FAST), every_trade("\"hook\""));
    let config = dir.path().join("k.toml");
    fs::write(&config, format!("{}{}{body}", base_config(dir.path()), synthetic(500))).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(&config);
    let running = Running::spawn(cmd);
    // Kill while some deliveries are sent and many still wait.
    let start = Instant::now();
    loop {
        let rows = outbox(&db);
        let sent = rows.iter().filter(|r| r.status == DeliveryStatus::Sent).count();
        if sent >= 10 && rows.len() - sent >= 20 {
            break;
        }
        assert!(start.elapsed() < HANG_GUARD, "no backlog formed");
        std::thread::sleep(Duration::from_millis(20));
    }
    running.signal("KILL");
    let (code, _, _) = running.wait(HANG_GUARD);
    assert_eq!(code, None, "killed by a signal");
    let killed_at = Instant::now();
    let before = outbox(&db);
    let sent_before: BTreeSet<String> = before
        .iter()
        .filter(|r| r.status == DeliveryStatus::Sent)
        .map(|r| r.out.delivery_id.clone())
        .collect();

    // Restart with no source: the host only finishes the outbox, then exits.
    mock.set(|_, _| Resp::ok(200, "ok"));
    fs::write(&config, format!("{}{body}", base_config(dir.path()))).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(&config);
    let (code, stderr, _) = Running::spawn(cmd).wait(HANG_GUARD);
    assert_eq!(code, Some(0), "{stderr}");

    let after = outbox(&db);
    assert_eq!(after.len(), before.len(), "no delivery appeared or vanished");
    assert!(after.iter().all(|r| r.status == DeliveryStatus::Sent), "every queued alert delivered");
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    for req in mock.accepted() {
        *accepted.entry(req.header("webhook-id").unwrap().to_owned()).or_default() += 1;
        if req.at > killed_at {
            let id = req.header("webhook-id").unwrap();
            assert!(!sent_before.contains(id), "{id} was marked sent, then sent again");
        }
    }
    for r in &after {
        assert!(
            accepted.contains_key(&r.out.delivery_id),
            "{} never reached the service",
            r.out.delivery_id
        );
    }
    // Only a send in flight at the kill may arrive twice.
    let twice = accepted.values().filter(|n| **n > 1).count();
    assert!(twice <= 1, "{twice} deliveries arrived twice");
    // Every queued delivery's alert is in the log as fired (written in the
    // same transaction).
    let fired: BTreeSet<String> = block_on(async {
        let log = AlertLog::open(&format!("sqlite://{}", db.display())).await.unwrap();
        let q = klaxon::store::AlertQuery { limit: u32::MAX >> 1, ..Default::default() };
        log.query(&q).await.unwrap().into_iter().map(|r| r.id.0).collect()
    });
    assert!(after.iter().all(|r| fired.contains(&r.out.alert_id)));
}

#[test]
fn dead_letters_are_listed_and_resent_by_the_cli_once_the_service_recovers() {
    let mock = MockService::start(|_, _| Resp::new(500, "down"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("k.toml");
    let opts = FAST.replace("shutdown_grace = \"30s\"", "shutdown_grace = \"5s\"");
    let text = format!(
        "{}{}{}{}",
        base_config(dir.path()),
        synthetic(50),
        hook("hook", &mock, &opts),
        every_trade("\"hook\"")
    );
    fs::write(&config, text).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(&config);
    let running = Running::spawn(cmd);
    running.wait_stderr("Delivery dead", 3, HANG_GUARD);
    let stderr = running.stop();
    assert!(stderr.contains("HTTP 500: down"), "{stderr}");

    let dead = klaxon().args(["alerts", "dead", "--config"]).arg(&config).output().unwrap();
    let listed = String::from_utf8_lossy(&dead.stdout).into_owned();
    let n_dead = listed.lines().count();
    assert!(n_dead >= 3, "{listed}");
    assert!(listed.lines().all(|l| l.contains("attempts=3 error: HTTP 500: down")), "{listed}");

    mock.set(|_, _| Resp::ok(200, "ok"));
    let before = mock.accepted().len();
    let out =
        klaxon().args(["alerts", "resend", "--all", "--config"]).arg(&config).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("hook: sent {n_dead}, dead 0")), "{text}");
    assert_eq!(mock.accepted().len() - before, n_dead);
    // Message metadata names the plugin versions that made the alert.
    let data = mock.accepted()[before].json()["data"].clone();
    let filter = data["versions"]["filter"].as_str().unwrap_or("");
    assert!(filter.starts_with("amount-threshold@"), "{data}");
    let dead = klaxon().args(["alerts", "dead", "--config"]).arg(&config).output().unwrap();
    assert!(dead.stdout.is_empty(), "{}", String::from_utf8_lossy(&dead.stdout));
    let all = klaxon()
        .args(["alerts", "--json", "--status", "fired", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&all.stdout).into_owned();
    assert!(listed.lines().count() >= n_dead);
    // Each row carries the versions of the plugins that made it.
    let first: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    let filter = first["versions"]["filter"].as_str().unwrap_or("");
    assert!(filter.starts_with("amount-threshold@") && filter.len() > 20, "{first}");
    assert_eq!(first["versions"]["cooldown"], serde_json::Value::Null, "default cooldown");
    assert_eq!(first["decided_by"], "default", "{first}");
}

/// `Klaxon stopped.` counters from a run's log.
fn counters(stderr: &str) -> String {
    let line = stderr.lines().find(|l| l.contains("Klaxon stopped.")).expect("no stop line");
    ["events=", "evaluated=", "fired=", "suppressed="]
        .iter()
        .map(|k| {
            line.split(k).nth(1).unwrap_or("").split_whitespace().next().unwrap_or("").to_owned()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_blackholed_channel_changes_neither_other_deliveries_nor_evaluation() {
    let Some(fixtures) = fixtures() else { return };
    let file = fixtures.join("binance/spot_2021-10-11.combined.ndjson");
    let run = |hole: bool| {
        let good = MockService::start(|_, _| Resp::ok(200, "ok"));
        let other =
            MockService::start(move |_, _| if hole { Resp::hang() } else { Resp::ok(200, "ok") });
        let dir = tempfile::tempdir().unwrap();
        let opts = FAST
            .replace("shutdown_grace = \"30s\"", "shutdown_grace = \"1s\", timeout = \"300ms\"");
        let text = format!(
            "{}[pipeline]\ntime = \"event\"\nchannel_capacity = 2\n[sources.rec]\ntype = \"replay\"\nfiles = [\"{}\"]\n{}{}{}",
            base_config(dir.path()),
            file.display(),
            hook("good", &good, &opts),
            hook("other", &other, &opts),
            every_trade("\"good\", \"other\"")
        );
        fs::write(dir.path().join("k.toml"), text).unwrap();
        let mut cmd = klaxon();
        cmd.args(["run", "--config"]).arg(dir.path().join("k.toml"));
        let (code, stderr, _) = Running::spawn(cmd).wait(HANG_GUARD);
        assert_eq!(code, Some(0), "{stderr}");
        (counters(&stderr), good.accepted().len(), other.accepted().len())
    };
    let (normal, good_normal, other_normal) = run(false);
    let (holed, good_holed, other_holed) = run(true);
    assert_eq!(normal, holed, "evaluation is the same");
    assert!(good_normal > 0 && other_normal == good_normal);
    assert_eq!(good_holed, good_normal, "the good channel delivered everything");
    assert_eq!(other_holed, 0);
}

#[test]
fn no_secret_reaches_logs_metrics_or_the_alert_log() {
    const TOKEN: &str = "987654:SECRET-telegram-bot-token";
    const HOOK_SECRET: &str = "SECRET-discord-webhook-path";
    const SIGNING: &str = "SECRET-webhook-signing-key";
    // Telegram answers 400 with a description, Discord is unreachable (the
    // error names the url), the webhook answers 500.
    let tg = MockService::start(|_, _| {
        Resp::new(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        )
    });
    let hook_mock = MockService::start(|_, _| Resp::new(500, "down"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let opts = FAST.replace("shutdown_grace = \"30s\"", "shutdown_grace = \"1s\"");
    let text = format!(
        "{}[server]\nlisten = \"127.0.0.1:{port}\"\n{}\
         [sinks.tg]\ntype = \"telegram\"\ntoken_env = \"TG_TOKEN\"\nchat_id = \"42\"\nbase_url = \"{}\"\n{opts}\n\
         [sinks.dc]\ntype = \"discord\"\nurl_env = \"DC_URL\"\n{opts}\n\
         [sinks.wh]\ntype = \"webhook\"\nurl = \"{}\"\nsecret_env = \"WH_SECRET\"\n{opts}\n{}",
        base_config(dir.path()),
        synthetic(50),
        tg.url(""),
        hook_mock.url("/hook"),
        every_trade("\"tg\", \"dc\", \"wh\"")
    );
    fs::write(dir.path().join("k.toml"), text).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"])
        .arg(dir.path().join("k.toml"))
        .env("RUST_LOG", "debug")
        .env("TG_TOKEN", TOKEN)
        .env("DC_URL", format!("http://{closed}/api/webhooks/1/{HOOK_SECRET}"))
        .env("WH_SECRET", SIGNING);
    let running = Running::spawn(cmd);
    running.wait_stderr("Delivery dead", 6, HANG_GUARD);
    let metrics = block_on(async {
        let body = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
        body.text().await.unwrap()
    });
    let ready = block_on(async {
        reqwest::get(format!("http://127.0.0.1:{port}/ready")).await.unwrap().text().await.unwrap()
    });
    let stderr = running.stop();
    assert!(
        ready.contains("sink tg cannot deliver: HTTP 400: Bad Request: chat not found"),
        "{ready}"
    );
    assert!(stderr.contains("chat not found"), "{stderr}");
    assert!(metrics.contains("klaxon_sink_deliveries_total"), "{metrics}");
    let db = fs::read(dir.path().join("alerts.db")).unwrap();
    let wal = fs::read(dir.path().join("alerts.db-wal")).unwrap_or_default();
    let db = String::from_utf8_lossy(&[db, wal].concat()).into_owned();
    let rows = outbox(&dir.path().join("alerts.db"));
    for channel in ["tg", "dc", "wh"] {
        assert!(
            rows.iter().any(|r| r.channel == channel && r.status == DeliveryStatus::Dead),
            "{channel}"
        );
    }
    for secret in [TOKEN, HOOK_SECRET, SIGNING] {
        for (what, text) in
            [("logs", &stderr), ("metrics", &metrics), ("/ready", &ready), ("alert log", &db)]
        {
            assert!(!text.contains(secret), "{secret} found in {what}");
        }
    }
}

#[test]
fn check_validates_sinks_and_sink_test_prints_the_answer() {
    let mock =
        MockService::start(support::mock_service::telegram("555:TOKEN-for-check", 1, |_| false));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.toml");
    let write = |base_url: &str| {
        let text = format!(
            "{}[sinks.tg]\ntype = \"telegram\"\ntoken_env = \"TG_CHECK_TOKEN\"\nchat_id = \"42\"\nbase_url = \"{base_url}\"\n\
             [templates.quiet]\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n",
            base_config(dir.path())
        );
        fs::write(&path, text).unwrap();
    };
    let check = |env: Option<&str>| {
        let mut cmd = klaxon();
        cmd.args(["check", "--config"]).arg(&path).env_remove("TG_CHECK_TOKEN");
        if let Some(v) = env {
            cmd.env("TG_CHECK_TOKEN", v);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    write("ftp://nowhere");
    let (ok, text) = check(Some("555:TOKEN-for-check"));
    assert!(
        !ok && text.contains("sinks.tg.base_url: base_url: must be an http:// or https:// url"),
        "{text}"
    );
    write(&mock.url(""));
    let (ok, text) = check(None);
    assert!(
        !ok && text
            .contains("sinks.tg.token_env: environment variable `TG_CHECK_TOKEN` is not set"),
        "{text}"
    );
    let (ok, text) = check(Some("555:TOKEN-for-check"));
    assert!(ok, "{text}");
    assert!(text.contains("warning: template `quiet` has no channels"), "{text}");

    let out = klaxon()
        .args(["sink", "test", "tg", "--config"])
        .arg(&path)
        .env("TG_CHECK_TOKEN", "555:TOKEN-for-check")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.trim(), "tg: sent (message id 1000)");
    assert_eq!(mock.accepted()[0].json()["text"], "Klaxon test message for sink tg");
}

#[test]
fn an_owner_over_the_cap_gets_one_digest_of_the_overflow() {
    let mock = MockService::start(|_, _| Resp::ok(200, "ok"));
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}[sources.market]\ntype = \"synthetic\"\nrate = 0\nlimit = 300\nseed = 3\n\
         [owners.alice]\nalerts_per_hour = 5\n{}\
         [templates.all-trades]\nowner = \"alice\"\nselect = {{ kinds = [\"trade\"] }}\n\
         filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n\
         default_cooldown = \"0s\"\nchannels = [\"hook\"]\n",
        base_config(dir.path()),
        hook("hook", &mock, FAST),
    );
    fs::write(dir.path().join("k.toml"), text).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(dir.path().join("k.toml"));
    let (code, stderr, _) = Running::spawn(cmd).wait(HANG_GUARD);
    assert_eq!(code, Some(0), "{stderr}");
    let rows = outbox(&dir.path().join("alerts.db"));
    assert!(rows.len() > 5, "{} alerts", rows.len());
    assert!(rows.iter().all(|r| r.status == DeliveryStatus::Sent), "every alert accounted for");
    let sent: Vec<(u64, String)> = mock
        .accepted()
        .iter()
        .map(|r| {
            let d = &r.json()["data"];
            (d["alerts"].as_u64().unwrap(), d["body"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(sent.len(), 6, "five alerts, then one digest");
    assert!(sent[..5].iter().all(|(n, _)| *n == 1));
    let (n, body) = &sent[5];
    assert_eq!(*n as usize, rows.len() - 5, "the digest lists the whole overflow");
    assert!(body.contains("held by the owner's cap: owner alice"), "{body}");
    let folded = rows.iter().filter(|r| r.folded_into.is_some()).count();
    assert_eq!(folded, rows.len() - 6);
    let fired = support::alert_log_counts(&dir.path().join("alerts.db")).0;
    assert_eq!(fired, rows.len() as u64, "the alert log has every alert");
}

#[test]
fn a_digest_window_survives_kill_9_and_goes_out_through_the_formatters_format_digest() {
    let mock = MockService::start(|_, _| Resp::ok(200, "ok"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alerts.db");
    let template = "[templates.all-trades]\nselect = { kinds = [\"trade\"] }\n\
        filter = { plugin = \"amount-threshold\", params = { min_notional_usd = 1 } }\n\
        formatter = { plugin = \"plain\", params = { max_digest_items = 3 } }\n\
        default_cooldown = \"0s\"\nchannels = [\"hook\"]\n\
        digest = { wait = \"1h\", interval = \"1h\" }\n";
    let body = format!("{}{template}", hook("hook", &mock, FAST));
    let config = dir.path().join("k.toml");
    fs::write(&config, format!("{}{}{body}", base_config(dir.path()), synthetic(500))).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(&config);
    let running = Running::spawn(cmd);
    let start = Instant::now();
    while outbox(&db).len() < 20 {
        assert!(start.elapsed() < HANG_GUARD, "no alerts held");
        std::thread::sleep(Duration::from_millis(20));
    }
    running.signal("KILL");
    let (code, _, _) = running.wait(HANG_GUARD);
    assert_eq!(code, None, "killed by a signal");
    let held = outbox(&db);
    assert!(
        held.iter().all(|r| r.status == DeliveryStatus::Held && r.alert.is_some()),
        "every alert waits in the outbox for its window, with the alert itself"
    );
    assert!(mock.accepted().is_empty(), "nothing sent before the window closes");

    // Restart with no source: the window's alerts survived, and at shutdown
    // they go out at once, through `plain`'s `format-digest`.
    fs::write(&config, format!("{}{body}", base_config(dir.path()))).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(&config);
    let (code, stderr, _) = Running::spawn(cmd).wait(HANG_GUARD);
    assert_eq!(code, Some(0), "{stderr}");
    let after = outbox(&db);
    assert_eq!(after.len(), held.len(), "no delivery appeared or vanished");
    assert!(after.iter().all(|r| r.status == DeliveryStatus::Sent), "every held alert delivered");
    let sent = mock.accepted();
    assert_eq!(sent.len(), 1, "one digest for the window");
    let data = &sent[0].json()["data"];
    let n = held.len();
    assert_eq!(data["alerts"].as_u64(), Some(n as u64), "the digest counts every alert");
    // `plain`'s digest shape: "N alerts", one line per listed alert, the
    // rest counted (not the host's "N alerts (digest of ...)").
    assert_eq!(data["title"], format!("{n} alerts"));
    let text = data["body"].as_str().unwrap();
    assert!(text.starts_with(&format!("{n} alerts\n[")), "{text}");
    assert_eq!(text.lines().count(), 1 + 3 + 1, "{text}");
    assert!(text.ends_with(&format!("… and {} more", n - 3)), "{text}");
}
