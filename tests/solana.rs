//! The live Solana source end to end: the `klaxon` binary against a mock
//! node (WebSocket `logsSubscribe` + JSON-RPC `getAccountInfo` on one port)
//! that serves hand-built Raydium AMM v4 accounts and replays the recorded
//! `logsNotification` frames plus hand-made edge cases: a failed tx, a
//! SwapBaseOut, a multi-hop route (settled with `getTransaction`), an
//! unreadable pool, a reconnect that re-delivers a tx.
//!
//! USD: the USDC-quoted pool directly; SOL-quoted pools from `SOLUSDT`, which
//! a replay source feeds first (the mock waits for it).

mod support;

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use base64::Engine;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use support::mock_venue::{MockConn, MockVenue};
use support::{Running, base_config, fixtures, klaxon, wait_file_alerts};

const HANG_GUARD: Duration = Duration::from_secs(60);
const RAYDIUM: &str = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8";
const SOL: &str = "So11111111111111111111111111111111111111112";
const USDC: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const RAY: &str = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R";

/// Pool (AMM id, from the recorded txs) → coin mint, coin decimals, PC mint, PC decimals.
const POOLS: [(&str, &str, u64, &str, u64); 4] = [
    (
        "8LVh6ATXdUn4oA6BYwbDNTzxijvdnLsZesS3intatefT",
        "74CtmoaT6qC3zFsMVzgNxo1zBC4YPRasTHhbsxTmLSen",
        6,
        SOL,
        9,
    ),
    ("6nnTjw6C37vDMsExuSX8y7wJrbybFb5SLXBzaDqfhaUd", RAY, 6, USDC, 6),
    (
        "Dj3cjxPqLh2DKRZLC5NorkmgyJUXe4v55LDtxU1sLcUS",
        "goA9G6QvK9HL6Bskk9ondWEmYrWAh4Y8YVcnqAgFLME",
        6,
        SOL,
        9,
    ),
    // The second hop of the recorded two-hop route `VYDwTuhxqaiL…`.
    (
        "BZTm64W7gzkGwmke3CsHy6ftFZHSuATAY8pqf6Fz9UmQ",
        "C1w3HRKRFR4a393FTu3Aq8V7C6UqA21D3jL8EgPATgJz",
        6,
        SOL,
        9,
    ),
];
/// Configured, but its account is not a pool: never subscribed.
const NOT_A_POOL: &str = "86HWfQMVguBTC4bqvm5T3KWFTzGNDKDi9MuGFJAV47uM";
const FAILED: &str =
    "FaiLed1111111111111111111111111111111111111111111111111111111111111111111111111111111";

/// An `AmmInfo` account: decimals at 32 and 40, mints at 400 and 432 (752 bytes).
fn amm_info(coin_mint: &str, coin_decimals: u64, pc_mint: &str, pc_decimals: u64) -> String {
    let mut data = vec![0u8; 752];
    data[0..8].copy_from_slice(&6u64.to_le_bytes()); // status: swap only
    data[32..40].copy_from_slice(&coin_decimals.to_le_bytes());
    data[40..48].copy_from_slice(&pc_decimals.to_le_bytes());
    data[400..432].copy_from_slice(&bs58::decode(coin_mint).into_vec().unwrap());
    data[432..464].copy_from_slice(&bs58::decode(pc_mint).into_vec().unwrap());
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A SwapBaseOut `ray_log`: bought `coin` for `pc` (direction 1).
fn swap_base_out(coin: u64, pc: u64) -> String {
    let mut bytes = vec![4u8];
    for w in [pc + 10, coin, 1, pc + 10, 1_000_000, 2_000_000, pc] {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

struct Node {
    /// Recorded notifications by signature prefix.
    recorded: Vec<Value>,
    /// Recorded full transactions (Helius), in `getTransaction`'s jsonParsed shape.
    transactions: Vec<Value>,
    get_transaction: Mutex<Vec<String>>,
    signatures_asked: Mutex<Vec<String>>,
    account_reads: Mutex<HashMap<String, usize>>,
    go: AtomicBool,
}

impl Node {
    fn load(fixtures: &Path) -> Arc<Node> {
        let text =
            fs::read_to_string(fixtures.join("solana/DERIVED_logsNotification_from_helius.ndjson"))
                .unwrap();
        let recorded = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let text = fs::read_to_string(
            fixtures.join("solana/helius_transactionNotification_raydium_swaps.ndjson"),
        )
        .unwrap();
        let transactions = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["params"]["result"].clone())
            .collect();
        Arc::new(Node {
            recorded,
            transactions,
            get_transaction: Mutex::default(),
            signatures_asked: Mutex::default(),
            account_reads: Mutex::default(),
            go: AtomicBool::new(false),
        })
    }

    fn tx(&self, signature_prefix: &str) -> Value {
        self.recorded
            .iter()
            .find(|n| {
                n["params"]["result"]["value"]["signature"]
                    .as_str()
                    .unwrap()
                    .starts_with(signature_prefix)
            })
            .unwrap()
            .clone()
    }

    fn signature(&self, prefix: &str) -> String {
        self.tx(prefix)["params"]["result"]["value"]["signature"].as_str().unwrap().to_owned()
    }

    /// `getSignaturesForAddress`, newest first: p1 and p2 what was streamed
    /// (plus p2's failed copy), p3 the swap sent while the socket was down and
    /// an older one from before the disconnect (which must not be read).
    fn signatures(&self, pool: &str) -> Value {
        let entry = |prefix: &str, slot: u64| json!({"signature": self.signature(prefix), "slot": slot, "err": null, "memo": null, "blockTime": 1734600000});
        match pool {
            p if p == POOLS[0].0 => json!([entry("4NnciVLNoW1N", 308454032)]),
            p if p == POOLS[1].0 => json!([
                {"signature": FAILED, "slot": 308454032, "err": {"InstructionError": [4, {"Custom": 30}]}},
                entry("47VAZJXnpT2b", 308454032)
            ]),
            p if p == POOLS[2].0 => {
                json!([entry("26Yh1zLZmaHs", 308454040), entry("3xXcq3DkQMvw", 308453000)])
            }
            _ => json!([]),
        }
    }

    fn account(&self, pool: &str) -> Value {
        *self.account_reads.lock().unwrap().entry(pool.to_owned()).or_default() += 1;
        match POOLS.iter().find(|p| p.0 == pool) {
            Some((_, coin, cd, pc, pd)) => {
                json!({"context": {"slot": 1}, "value": {"data": [amm_info(coin, *cd, pc, *pd), "base64"],
                "executable": false, "lamports": 6124800, "owner": RAYDIUM, "rentEpoch": 0, "space": 752}})
            }
            // A token account, say: too short to be a pool.
            None => {
                json!({"context": {"slot": 1}, "value": {"data": [base64::engine::general_purpose::STANDARD.encode([0u8; 165]), "base64"],
                "executable": false, "lamports": 1, "owner": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "rentEpoch": 0, "space": 165}})
            }
        }
    }
}

async fn rpc(State(node): State<Arc<Node>>, Json(request): Json<Value>) -> Json<Value> {
    let reply = match request["method"].as_str().unwrap_or_default() {
        "getAccountInfo" => {
            assert_eq!(request["params"][1]["encoding"], "base64");
            json!({"result": node.account(request["params"][0].as_str().unwrap())})
        }
        "getSignaturesForAddress" => {
            let pool = request["params"][0].as_str().unwrap();
            node.signatures_asked.lock().unwrap().push(pool.to_owned());
            json!({"result": node.signatures(pool)})
        }
        "getTransaction" => {
            assert_eq!(request["params"][1]["encoding"], "jsonParsed");
            let signature = request["params"][0].as_str().unwrap();
            node.get_transaction.lock().unwrap().push(signature.to_owned());
            let tx = node.transactions.iter().find(|t| t["signature"] == signature).map(|t| {
                let mut tx = t["transaction"].clone();
                tx["slot"] = t["slot"].clone();
                tx
            });
            json!({"result": tx})
        }
        other => json!({"error": {"code": -32601, "message": format!("no method {other}")}}),
    };
    let mut reply = reply;
    reply["jsonrpc"] = json!("2.0");
    reply["id"] = request["id"].clone();
    Json(reply)
}

/// Ack every pool's subscription; returns pool → subscription id.
async fn subscribe(conn: &mut MockConn, node: &Node) -> HashMap<String, u64> {
    let mut subs = HashMap::new();
    while subs.len() < POOLS.len() {
        let request: Value =
            serde_json::from_str(&conn.recv().await.expect("subscribe request")).unwrap();
        if request["method"] == "slotSubscribe" {
            // The heartbeat; no slots are sent (the script is busy enough).
            conn.send(json!({"jsonrpc": "2.0", "result": 7, "id": request["id"]}).to_string())
                .await;
            continue;
        }
        assert_eq!(request["method"], "logsSubscribe");
        let mentions = request["params"][0]["mentions"].as_array().unwrap();
        assert_eq!(mentions.len(), 1, "one pubkey per subscription");
        assert_eq!(request["params"][1]["commitment"], "confirmed");
        let pool = mentions[0].as_str().unwrap().to_owned();
        let id = 1000 * conn.id as u64 + subs.len() as u64;
        subs.insert(pool, id);
        conn.send(json!({"jsonrpc": "2.0", "result": id, "id": request["id"]}).to_string()).await;
    }
    while !node.go.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    subs
}

fn for_pool(mut frame: Value, subs: &HashMap<String, u64>, pool: &str) -> String {
    frame["params"]["subscription"] = json!(subs[pool]);
    frame.to_string()
}

#[test]
fn raydium_swaps_are_decoded_priced_and_alerted_once_across_a_reconnect() {
    let Some(fixtures) = fixtures() else { return };
    let node = Node::load(&fixtures);
    let for_ws = node.clone();
    let http = axum::Router::new().route("/rpc", post(rpc)).with_state(node.clone());
    let mock = MockVenue::start(move |conn| script(conn, for_ws.clone()), http);

    let dir = tempfile::tempdir().unwrap();
    let price = dir.path().join("sol.ndjson");
    fs::write(&price, "{\"stream\":\"solusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1,\"T\":1,\"s\":\"SOLUSDT\",\"t\":1,\"p\":\"200\",\"q\":\"1\",\"m\":false}}\n").unwrap();
    let pools: Vec<String> =
        POOLS.iter().map(|p| format!("\"{}\"", p.0)).chain([format!("\"{NOT_A_POOL}\"")]).collect();
    let config = format!(
        "{base}[sources.prices]\ntype = \"replay\"\nfiles = [\"{price}\"]\n\
         [sources.raydium]\ntype = \"solana\"\nws_url = \"{ws}\"\nhttp_url = \"{http}\"\npools = [{pools}]\n\
         [sources.raydium.symbols]\n\"{RAY}\" = \"RAY\"\n\
         [sources.raydium.connection]\nbackoff_min = \"10ms\"\nbackoff_max = \"50ms\"\nstall_after = \"30s\"\n\
         [sinks.file]\ntype = \"file\"\npath = \"{out}\"\n\
         [templates.raydium-whales]\nselect = {{ kinds = [\"swap\"] }}\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 10 }} }}\n\
         default_cooldown = \"0s\"\nchannels = [\"file\"]\n",
        base = base_config(dir.path()),
        price = price.display(),
        ws = mock.ws_url("/ws"),
        http = mock.http_url("/rpc"),
        pools = pools.join(", "),
        out = dir.path().join("alerts.ndjson").display(),
    );
    fs::write(dir.path().join("k.toml"), config).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"])
        .arg(dir.path().join("k.toml"))
        .env("KLAXON_SERVER__LISTEN", "127.0.0.1:0");
    let running = Running::spawn(cmd);
    running.wait_stderr("Source finished.", 1, HANG_GUARD);
    node.go.store(true, Ordering::SeqCst);

    let records = wait_file_alerts(&dir.path().join("alerts.ndjson"), 5);
    mock.wait_until("a second connection", HANG_GUARD, |m| m.accepted() >= 2);
    std::thread::sleep(Duration::from_millis(500)); // room for a wrong extra alert
    let records = if records.len() == 5 {
        wait_file_alerts(&dir.path().join("alerts.ndjson"), 5)
    } else {
        records
    };
    let mut got: Vec<(String, String, String, Decimal, Decimal, Option<String>)> = records
        .iter()
        .map(|r| {
            let e = &r.event;
            (
                e.id.clone(),
                e.ticker.clone().unwrap(),
                format!("{:?}", e.side),
                e.size,
                e.notional_usd.unwrap(),
                e.tx_hash.clone(),
            )
        })
        .collect();
    got.sort();
    let d = |s: &str| Decimal::from_str(s).unwrap();
    let row = |sig: String, symbol: &str, side: &str, size: &str, usd: &str| {
        (format!("solana:{sig}"), symbol.to_owned(), side.to_owned(), d(size), d(usd), Some(sig))
    };
    let mut expected = vec![
        // The reference's worked example: 100 coin sold for 30.96364458 SOL at $200.
        row(node.signature("4NnciVLNoW1N"), "74Ct…LSen/SOL", "Sell", "100", "6192.728916"),
        row(node.signature("47VAZJXnpT2b"), "RAY/USDC", "Sell", "500", "7971.544451"),
        row(node.signature("26Yh1zLZmaHs"), "goA9…FLME/SOL", "Sell", "194.231121", "36308.5041014"),
        // The second hop of the two-hop route, attributed via the tx.
        (
            format!("solana:{}:1", node.signature("VYDwTuhxqaiL")),
            "C1w3…TgJz/SOL".to_owned(),
            "Sell".to_owned(),
            d("74.924914"),
            d("223050.0521498"),
            Some(node.signature("VYDwTuhxqaiL")),
        ),
        row(
            "BaseOut11111111111111111111111111111111111111111111111111111111111111111111111111111"
                .into(),
            "RAY/USDC",
            "Buy",
            "2",
            "31",
        ),
    ];
    expected.sort();
    assert_eq!(got, expected);
    // Each pool is identified by its coin's mint, which the alert names.
    for r in &records {
        let (ticker, mint) = (r.event.ticker.as_deref(), r.event.address.as_deref());
        let (ticker, mint) = (ticker.unwrap(), mint.unwrap());
        assert_eq!(r.event.symbol, format!("{ticker}@{mint}"));
        assert_eq!((r.key.as_str(), r.title.contains(mint)), (r.event.symbol.as_str(), true));
    }
    let ray = records.iter().find(|r| r.event.ticker.as_deref() == Some("RAY/USDC")).unwrap();
    assert_eq!(ray.event.address.as_deref(), Some(RAY));
    let base_in =
        records.iter().find(|r| r.event.ticker.as_deref() == Some("74Ct…LSen/SOL")).unwrap();
    assert_eq!(base_in.event.price, d("0.3096364458"));

    // Each pool's account was read once, the reconnect notwithstanding.
    let reads = node.account_reads.lock().unwrap().clone();
    let expected_reads: HashMap<String, usize> =
        POOLS.iter().map(|p| (p.0.to_owned(), 1)).chain([(NOT_A_POOL.to_owned(), 1)]).collect();
    assert_eq!(reads, expected_reads);
    // Transactions read: the two-hop route (once per pool that saw it) and
    // the swap missed while disconnected; nothing already emitted, nothing
    // failed, nothing older than the last slot seen.
    assert_eq!(
        *node.get_transaction.lock().unwrap(),
        [
            node.signature("VYDwTuhxqaiL"),
            node.signature("VYDwTuhxqaiL"),
            node.signature("26Yh1zLZmaHs")
        ]
    );
    let mut asked = node.signatures_asked.lock().unwrap().clone();
    asked.sort();
    let mut pools: Vec<String> = POOLS.iter().map(|p| p.0.to_owned()).collect();
    pools.sort();
    assert_eq!(asked, pools, "every readable pool, once (after the reconnect)");
    // The unreadable pool was never subscribed, on either connection.
    assert!(mock.received().iter().all(|(_, f)| !f.contains(NOT_A_POOL)));
    running.signal("TERM");
    let (code, stderr, _) = running.wait(HANG_GUARD);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("Pool account unreadable; not watching this pool."), "{stderr}");
    assert!(stderr.contains("Malformed frame skipped."), "{stderr}");
    assert!(stderr.contains("Backfilling swaps missed while disconnected."), "{stderr}");
}

/// Connection 1: two swaps, a failed tx, a two-hop route, a slot, garbage,
/// then a close. Meanwhile p3 swapped (the backfill finds it). Connection 2:
/// an already-alerted tx again, then a SwapBaseOut.
async fn script(mut conn: MockConn, node: Arc<Node>) {
    let (p1, p2, p4) = (POOLS[0].0, POOLS[1].0, POOLS[3].0);
    let subs = subscribe(&mut conn, &node).await;
    let base_in = node.tx("4NnciVLNoW1N");
    if conn.id == 1 {
        conn.send(for_pool(base_in, &subs, p1)).await;
        conn.send(for_pool(node.tx("47VAZJXnpT2b"), &subs, p2)).await;
        // The same swap, failed: skipped.
        let mut failed = node.tx("47VAZJXnpT2b");
        failed["params"]["result"]["value"]["signature"] = json!(FAILED);
        failed["params"]["result"]["value"]["err"] =
            json!({"InstructionError": [4, {"Custom": 30}]});
        conn.send(for_pool(failed, &subs, p2)).await;
        // A two-hop route: the tx (getTransaction) shows p4 ran the second
        // swap, and that p1 was not in it at all.
        conn.send(for_pool(node.tx("VYDwTuhxqaiL"), &subs, p1)).await;
        conn.send(for_pool(node.tx("VYDwTuhxqaiL"), &subs, p4)).await;
        // A heartbeat slot: no event, no error.
        conn.send(r#"{"jsonrpc":"2.0","method":"slotNotification","params":{"result":{"parent":308454031,"root":308454000,"slot":308454032},"subscription":7}}"#).await;
        conn.send("garbage").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        conn.close("bye").await;
        return;
    }
    // After the reconnect: a tx already alerted, then a SwapBaseOut.
    conn.send(for_pool(base_in, &subs, p1)).await;
    let mut base_out = node.tx("47VAZJXnpT2b");
    let value = &mut base_out["params"]["result"]["value"];
    value["signature"] = json!(
        "BaseOut11111111111111111111111111111111111111111111111111111111111111111111111111111"
    );
    for line in value["logs"].as_array_mut().unwrap() {
        if line.as_str().unwrap().starts_with("Program log: ray_log: ") {
            *line =
                json!(format!("Program log: ray_log: {}", swap_base_out(2_000_000, 31_000_000)));
        }
    }
    conn.send(for_pool(base_out, &subs, p2)).await;
    conn.drain().await;
}
