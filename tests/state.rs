//! State that survives a restart, and Redis, through the `klaxon` binary:
//! a restart inside a cooldown does not re-fire (embedded store, Redis),
//! two hosts sharing Redis fire each key once, and plugin KV survives a
//! restart on Redis within its quota.
//!
//! Each run replays a generated file of Binance trades in wall time and
//! exits when it ends. Redis tests use a prefix of their own, and skip
//! (saying why) when the local Redis is down, unless
//! `KLAXON_REQUIRE_SERVICES` is set.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{Running, base_config, klaxon, plugin};

/// `symbols` × `per_symbol` trades of $100k, symbol after symbol in turn.
fn trades(dir: &Path, symbols: usize, per_symbol: usize) -> PathBuf {
    let mut out = String::new();
    for n in 0..symbols * per_symbol {
        let s = format!("S{:03}USDT", n % symbols);
        let t = 1_700_000_000_000u64 + n as u64;
        out.push_str(&format!(
            "{{\"stream\":\"{}@trade\",\"data\":{{\"e\":\"trade\",\"E\":{t},\"T\":{t},\"s\":\"{s}\",\"t\":{n},\"p\":\"100.0\",\"q\":\"1000\",\"m\":false}}}}\n",
            s.to_lowercase()
        ));
    }
    let path = dir.join("trades.ndjson");
    fs::write(&path, out).unwrap();
    path
}

/// A host replaying `frames` into a file sink, with `state` as its
/// `[state]` table and `template` as its one template's plugin lines.
fn config(dir: &Path, frames: &Path, state: &str, template: &str) -> PathBuf {
    let text = format!(
        "{}[state]\n{state}\n[sources.rec]\ntype = \"replay\"\nfiles = [\"{}\"]\n\
         [sinks.file]\ntype = \"file\"\npath = \"{}/alerts.ndjson\"\n\
         [templates.big]\nchannels = [\"file\"]\n{template}\n",
        base_config(dir),
        frames.display(),
        dir.display()
    );
    let path = dir.join("klaxon.toml");
    fs::write(&path, text).unwrap();
    path
}

const BIG_TRADES: &str = "filter = { plugin = \"amount-threshold\", params = { min_notional_usd = 1000 } }\ndefault_cooldown = \"1h\"";

/// Run to the end of the replay; the alert records the file sink holds.
fn run_to_end(config: &Path) -> Vec<klaxon::sinks::FileRecord> {
    let mut cmd = klaxon();
    cmd.arg("run").arg("--config").arg(config);
    let (code, stderr, _) = Running::spawn(cmd).wait(Duration::from_secs(120));
    assert_eq!(code, Some(0), "{stderr}");
    records(&config.with_file_name("alerts.ndjson"))
}

fn records(path: &Path) -> Vec<klaxon::sinks::FileRecord> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A fresh prefix on the local Redis, or `None` (reason printed).
fn redis_prefix(test: &str) -> Option<String> {
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let ping = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
    match ping {
        Ok(_) => {
            Some(format!("klaxon-it:{}:{test}:{}:", std::process::id(), rand::random::<u32>()))
        }
        Err(e) if std::env::var_os("KLAXON_REQUIRE_SERVICES").is_some() => {
            panic!("Redis at 127.0.0.1:6379 is required (KLAXON_REQUIRE_SERVICES): {e}")
        }
        Err(e) => {
            eprintln!("skipping: Redis at 127.0.0.1:6379 unreachable: {e}");
            None
        }
    }
}

fn redis_query<T: redis::FromRedisValue>(cmd: &mut redis::Cmd) -> T {
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    cmd.query(&mut client.get_connection().unwrap()).unwrap()
}

/// Two runs on one config: the second replays the same trades inside the
/// 1h cooldown the first started, and must not fire.
fn restart_inside_cooldown_does_not_refire(state: &str) {
    let dir = tempfile::tempdir().unwrap();
    let frames = trades(dir.path(), 5, 4);
    let config = config(dir.path(), &frames, state, BIG_TRADES);
    let first = run_to_end(&config);
    assert_eq!(first.len(), 5, "one alert per symbol: {first:?}");
    let second = run_to_end(&config);
    assert_eq!(second.len(), 5, "the restart fired again: {:?}", &second[5..]);
}

#[test]
fn embedded_restart_inside_a_cooldown_does_not_refire() {
    restart_inside_cooldown_does_not_refire("backend = \"embedded\"");
    // The control: without persistence the same restart fires again.
    let dir = tempfile::tempdir().unwrap();
    let frames = trades(dir.path(), 5, 4);
    let config = config(dir.path(), &frames, "backend = \"memory\"", BIG_TRADES);
    run_to_end(&config);
    assert_eq!(run_to_end(&config).len(), 10);
}

#[test]
fn redis_restart_inside_a_cooldown_does_not_refire() {
    let Some(prefix) = redis_prefix("restart") else { return };
    restart_inside_cooldown_does_not_refire(&format!(
        "backend = \"redis\"\nkey_prefix = \"{prefix}\"\ntimeout = \"2s\""
    ));
}

#[test]
fn two_hosts_sharing_redis_fire_exactly_one_alert_per_key() {
    let Some(prefix) = redis_prefix("two-hosts") else { return };
    let state = format!("backend = \"redis\"\nkey_prefix = \"{prefix}\"\ntimeout = \"2s\"");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Both hosts replay the same 200 keys × 5 trades at the same time.
    let configs: Vec<PathBuf> = [a.path(), b.path()]
        .iter()
        .map(|d| config(d, &trades(d, 200, 5), &state, BIG_TRADES))
        .collect();
    let hosts: Vec<Running> = configs
        .iter()
        .map(|c| {
            let mut cmd = klaxon();
            cmd.arg("run").arg("--config").arg(c);
            Running::spawn(cmd)
        })
        .collect();
    for host in hosts {
        let (code, stderr, _) = host.wait(Duration::from_secs(120));
        assert_eq!(code, Some(0), "{stderr}");
    }
    let mut keys: Vec<String> = configs
        .iter()
        .flat_map(|c| records(&c.with_file_name("alerts.ndjson")))
        .map(|r| r.key)
        .collect();
    let fired = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!((fired, keys.len()), (200, 200), "every key fired once, on one host");
    // How often the claim decided (shown with `--nocapture`): 0 means the
    // two runs did not overlap, and the cooldown alone held the second.
    let claimed: u64 =
        configs.iter().map(|c| claimed_elsewhere(&c.with_file_name("alerts.db"))).sum();
    eprintln!("suppressed as claimed by the other host: {claimed}");
}

fn claimed_elsewhere(db: &Path) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let log =
            klaxon::store::AlertLog::open(&format!("sqlite://{}", db.display())).await.unwrap();
        let reasons = log.suppressed_by_reason().await.unwrap();
        reasons.iter().filter(|(r, _)| r == "claimed by another host").map(|(_, n)| n).sum()
    })
}

#[test]
fn plugin_kv_survives_a_restart_on_redis_within_its_quota() {
    let Some(prefix) = redis_prefix("kv") else { return };
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    fs::create_dir_all(&plugins).unwrap();
    fs::copy(plugin("kv-probe"), plugins.join("kv-probe.wasm")).unwrap();
    let frames = trades(dir.path(), 1, 10);
    let state = format!("backend = \"redis\"\nkey_prefix = \"{prefix}\"\ntimeout = \"2s\"");
    let config = config(
        dir.path(),
        &frames,
        &state,
        "filter = { plugin = \"kv-probe\", params = { tag = \"k\" } }\ndefault_cooldown = \"0s\"",
    );
    let dir_line = format!("[plugins]\ndir = \"{}\"\n", plugins.display());
    let text = fs::read_to_string(&config).unwrap().replacen("[plugins]\n", &dir_line, 1);
    fs::write(&config, text).unwrap();
    let count = |records: &[klaxon::sinks::FileRecord]| {
        let last = records.last().expect("alerts");
        last.fields.iter().find(|(n, _)| n == "count").map(|(_, v)| v.clone())
    };
    let first = run_to_end(&config);
    assert_eq!(count(&first).as_deref(), Some("10"));
    // The count is in Redis, as the quota counts it: key `count`, 2 bytes.
    let hash = format!("{prefix}kv:big");
    let value: Option<String> = redis_query(redis::cmd("HGET").arg(&hash).arg("count"));
    assert_eq!(value.as_deref(), Some("10"));
    let bytes: i64 = redis_query(redis::cmd("GET").arg(format!("{prefix}kvb:big")));
    assert_eq!(bytes, ("count".len() + "10".len()) as i64);
    // Restarted, the plugin counts on from what Redis held.
    let second = run_to_end(&config);
    assert_eq!(count(&second).as_deref(), Some("20"));
}
