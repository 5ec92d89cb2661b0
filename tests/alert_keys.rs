//! One alert key, one owner: an account-keyed template whose account trades
//! many symbols, sharded by symbol across workers, never fires twice inside
//! its cooldown, for any worker count; and a window sum per account, on a
//! template that shards by account, is exact.
//!
//! The frames are Hyperliquid `userFills` the test writes itself: one
//! account, a fill a second for five minutes, each on the next of 16 coins,
//! so consecutive fills of the account land on different workers.

mod support;

use std::fs;
use std::path::Path;

use support::{base_config, replay_stdout};

const ACCOUNT: &str = "0x00000000000000000000000000000000000a11ce";
const COINS: usize = 16;
const FILLS: usize = 300;
const T0: u64 = 1_702_000_000_000;

/// One frame per fill: $1,000 each (10 at 100).
fn fills(dir: &Path) -> std::path::PathBuf {
    let mut out = String::new();
    for n in 0..FILLS {
        let coin = format!("C{:02}", n % COINS);
        let t = T0 + n as u64 * 1000;
        out.push_str(&format!(
            "{{\"channel\":\"userFills\",\"data\":{{\"user\":\"{ACCOUNT}\",\"fills\":[{{\"coin\":\"{coin}\",\
             \"px\":\"100\",\"sz\":\"10\",\"side\":\"B\",\"time\":{t},\"dir\":\"Open Long\",\
             \"closedPnl\":\"0\",\"hash\":\"0x{n:064x}\",\"oid\":{n},\"tid\":{n}}}]}}}}\n"
        ));
    }
    let path = dir.join("fills.ndjson");
    fs::write(&path, out).unwrap();
    path
}

/// `klaxon replay` of the fills with `workers` evaluate workers: its stdout.
fn replay(workers: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let frames = fills(dir.path());
    let config = format!(
        "{}[pipeline]\nworkers = {workers}\n\
         [templates.cooled]\nselect = {{ kinds = [\"perp-fill\"] }}\n\
         filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 0, key_by = \"account\" }} }}\n\
         default_cooldown = \"1m\"\n\
         [templates.summed]\nshard_by = \"account\"\nselect = {{ kinds = [\"perp-fill\"] }}\n\
         filter = {{ plugin = \"amount-threshold\", params = {{ window_total_usd = 10000, window = \"1h\", key_by = \"account\" }} }}\n\
         default_cooldown = \"0s\"\n",
        base_config(dir.path())
    );
    fs::write(dir.path().join("k.toml"), config).unwrap();
    replay_stdout(&dir.path().join("k.toml"), &[frames])
}

fn count(out: &str, template: &str) -> usize {
    out.lines().filter(|l| l.contains(&format!("[{template}]"))).count()
}

#[test]
fn an_account_key_is_decided_by_one_owner_whatever_the_worker_count() {
    let one = replay(1);
    // A fill a second for 300 s with a 1 min cooldown: t = 0, 60, … 240 s.
    assert_eq!(count(&one, "cooled"), 5, "{one}");
    // $1,000 a fill, summed per account to $10,000 then restarted: every
    // tenth fill, exactly, or a sum lost an update.
    assert_eq!(count(&one, "summed"), FILLS / 10, "{one}");
    for workers in [2, 4, 8] {
        let out = replay(workers);
        assert_eq!(count(&out, "cooled"), 5, "{workers} workers fired inside the cooldown:\n{out}");
        assert_eq!(out, one, "{workers} workers decided differently");
    }
}
