//! Copycat DEX tokens through the whole pipeline: two pools configured with
//! one ticker, replayed through the stock `amount-threshold` filter (default
//! key: the symbol), the default cooldown and the stock `plain` formatter.
//! Each keeps its own alert key and cooldown, and the address reaches the
//! alert's key, title, message and event.

use std::path::Path;

use crate::app::{self, RunOptions};
use crate::config;
use crate::sinks::FileRecord;

const REAL: &str = "0xa43fe16908251ee70ef74718545e4fe6c5ccec9f";
const COPYCAT: &str = "0xa43fe16908251ee70ef74718545e4fe6c5ccec90";

/// A V2 swap log of `pool`: 0.75 USDT in, 5477527264.7 PEPE out.
fn swap(pool: &str, tx: u8) -> String {
    let word = |v: u128| format!("{v:064x}");
    let data =
        [0, 750_000_000_000_000_000, 5_477_527_264_701_082_519_211_446_407, 0].map(word).concat();
    serde_json::json!({
        "address": pool,
        "topics": [
            "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822",
            format!("0x{}", word(1)),
            format!("0x{}", word(2)),
        ],
        "data": format!("0x{data}"),
        "blockNumber": "0x1",
        "blockHash": format!("0x{tx:064x}"),
        "transactionHash": format!("0x{tx:064x}"),
        "logIndex": "0x0",
        "removed": false
    })
    .to_string()
}

fn config_text(dir: &Path) -> String {
    let t = dir.display();
    format!(
        r#"
[pipeline]
workers = 1
time = "event"
[plugins]
dir = "{t}/plugins"
cache_dir = ""
watch = false
[alert_log]
url = "sqlite://{t}/alerts.db"
[sources.bsc]
type = "replay"
files = ["{t}/swaps.ndjson"]
format = "evm"
chain = "bsc"
pools = [
  {{ address = "{REAL}", base = "PEPE", quote = "USDT" }},
  {{ address = "{COPYCAT}", base = "PEPE", quote = "USDT" }},
]
[sinks.out]
type = "file"
path = "{t}/alerts.ndjson"
[templates.swaps]
filter = {{ plugin = "amount-threshold", params = {{ min_notional_usd = 0.5, kinds = ["swap"] }} }}
formatter = {{ plugin = "plain" }}
default_cooldown = "1h"
channels = ["out"]
"#
    )
}

#[tokio::test]
async fn copycat_tokens_keep_their_own_alert_keys_and_the_alert_names_the_address() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    // The real pool twice (the second inside its cooldown), the copycat once.
    let frames = [swap(REAL, 1), swap(COPYCAT, 2), swap(REAL, 3)].join("\n");
    std::fs::write(dir.path().join("swaps.ndjson"), frames + "\n").unwrap();
    let config = config::load_str(&config_text(dir.path()), "dex test").unwrap();
    let config = config.amend(|raw| raw.server.listen = None).unwrap();
    app::run(config, RunOptions::default()).await.unwrap();

    let out = std::fs::read_to_string(dir.path().join("alerts.ndjson")).unwrap();
    let mut records: Vec<FileRecord> =
        out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    records.sort_by(|a, b| a.key.cmp(&b.key));
    let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        [format!("PEPE/USDT@{COPYCAT}"), format!("PEPE/USDT@{REAL}")],
        "one fire per token: the copycat's swap neither shared nor reset the real one's cooldown"
    );
    for (r, address) in records.iter().zip([COPYCAT, REAL]) {
        assert_eq!(r.event.ticker.as_deref(), Some("PEPE/USDT"));
        assert_eq!(r.event.address.as_deref(), Some(address));
        assert!(r.title.contains(address), "title: {}", r.title);
        assert!(r.message.body.contains(address), "message: {}", r.message.body);
    }
}
