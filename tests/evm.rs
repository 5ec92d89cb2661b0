//! The live EVM source end to end: the `klaxon` binary against a mock BSC
//! node (WebSocket `eth_subscribe` + JSON-RPC over HTTP on one port) that
//! replays the recorded swap logs, answers `eth_call` for token metadata with
//! ABI-encoded results, and then misbehaves: a reorg (`removed: true`) and a
//! dropped socket with `eth_getLogs` backfill.
//!
//! USD values: the stable legs (USDT, BUSD) directly; the WBNB legs from the
//! `BNBUSDT` price, which a replay source feeds first (the mock waits for it).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::Address;
use alloy_sol_types::SolCall;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use support::mock_venue::{MockConn, MockVenue};
use support::{Running, base_config, fixtures, klaxon, wait_file_alerts};

const HANG_GUARD: Duration = Duration::from_secs(60);
const SUBSCRIPTION: &str = "0x9cef478923ff08bf67fde6c64013158d";
const RECORDED_SUBSCRIPTION: &str = "0x62736300000000000000000000000000";
const WBNB: &str = "0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c";
/// A contract that answers no pool call.
const NOT_A_POOL: &str = "0x00000000000000000000000000000000deadbeef";

alloy_sol_types::sol! {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function decimals() external view returns (uint8);
    function symbol() external view returns (string);
}

/// Pool → (token0, token1), as read from the recorded Transfer logs.
const POOLS: [(&str, &str, &str); 14] = [
    (
        "0x51123dd7bf791929bbfa75e913f7632a0ef1b82c",
        "0x617724974218a18769020a70162165a539c07e8a",
        WBNB,
    ),
    (
        "0x02fe6dbeefc6aa4b3ec86e7ef2574b060ea64127",
        "0xa244ef3f07699b4b929c17e99ddb39bec238465b",
        WBNB,
    ),
    (
        "0x0ed7e52944161450477ee417de9cd3a859b14fd0",
        "0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82",
        WBNB,
    ),
    (
        "0x93d94fcb0dcc8a88257b2d2eec7a2615ebedb542",
        WBNB,
        "0xc7d43f2b51f44f09fbb8a691a0451e8ffcf36c0a",
    ),
    (
        "0x77885c3effe70e31a975e73046438d0badb8ccb5",
        WBNB,
        "0xed0294dbd2a0e52a09c3f38a09f6e03de2c44fcf",
    ),
    (
        "0x52560ebc7920617c9b7328186d1f4a136eaf07f4",
        "0x084bb94e93891d74579b54ab63ed24c4ef9cd5ef",
        "0xe9e7cea3dedca5984780bafc599bd69add087d56",
    ),
    (
        "0xbf7cd39d07adaa953e1e0be47f97315955c9381b",
        "0x55d398326f99059ff775485246999027b3197955",
        "0xc748673057861a797275cd8a068abb95a902e8de",
    ),
    (
        "0xc736ca3d9b1e90af4230bd8f9626528b3d4e0ee0",
        WBNB,
        "0xc748673057861a797275cd8a068abb95a902e8de",
    ),
    (
        "0xc3ed1ebf16c11e28c6477c78577ae455d21577ca",
        "0x85c128ee1feeb39a59490c720a9c563554b51d33",
        WBNB,
    ),
    (
        "0x9303613fefaf05a573d046cfedd2519b776bc29f",
        "0x85c128ee1feeb39a59490c720a9c563554b51d33",
        WBNB,
    ),
    (
        "0x713129d96b66f72831ed1c5df079f82b76c849c6",
        "0x98bc4773bd1e9a53631fd6028e06cd6cd17b7401",
        WBNB,
    ),
    (
        "0x003ad226fd01261ccdc120a43284bc9bff494ac2",
        "0x57282282a6cbd3658576883eb6674e339609c714",
        WBNB,
    ),
    (
        "0xe545eabdd3b07c68b0d0df130a24b2dc4a10be61",
        "0xaee234825dc4687fae606485c1ebd06336052bcc",
        WBNB,
    ),
    (
        "0xc78125d158e343b47b98ee6837e62760ebccb6ae",
        WBNB,
        "0xd2618bc9c9cdc40ff19e200a7d14a09799c0a152",
    ),
];

/// Token symbol and decimals; unnamed tokens are `T` + 4 hex digits, 18 decimals.
fn token_meta(address: &str) -> (String, u8) {
    match address {
        WBNB => ("WBNB".into(), 18),
        "0x55d398326f99059ff775485246999027b3197955" => ("USDT".into(), 18),
        "0xe9e7cea3dedca5984780bafc599bd69add087d56" => ("BUSD".into(), 18),
        "0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82" => ("Cake".into(), 18),
        // A 9-decimal token, so a wrong decimals guess would show.
        "0x85c128ee1feeb39a59490c720a9c563554b51d33" => ("NINE".into(), 9),
        other => (format!("T{}", other[2..6].to_uppercase()), 18),
    }
}

/// The mock node's state: the recorded logs and what the client asked.
struct Node {
    /// BSC swap logs (the `result` of each recorded notification), in order.
    logs: Vec<Value>,
    /// `(to, selector)` → number of `eth_call`s.
    eth_calls: Mutex<HashMap<(String, String), usize>>,
    /// Params of every `eth_getLogs`.
    get_logs: Mutex<Vec<Value>>,
    /// Set by the test once the reference price is in: the script may stream.
    go: AtomicBool,
    /// The client watches tokens, not pools.
    token_mode: bool,
}

impl Node {
    fn load(fixtures: &Path) -> Arc<Node> {
        Node::load_with(fixtures, false)
    }

    fn load_with(fixtures: &Path, token_mode: bool) -> Arc<Node> {
        let text =
            fs::read_to_string(fixtures.join("evm/DERIVED_eth_subscription_logs.ndjson")).unwrap();
        let swap_topic = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822";
        let logs = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|n| n["params"]["subscription"] == RECORDED_SUBSCRIPTION)
            .map(|n| n["params"]["result"].clone())
            .filter(|log| log["topics"][0] == swap_topic)
            .collect::<Vec<_>>();
        assert_eq!(logs.len(), 14);
        Arc::new(Node {
            logs,
            eth_calls: Mutex::default(),
            get_logs: Mutex::default(),
            go: AtomicBool::new(false),
            token_mode,
        })
    }

    fn block(log: &Value) -> u64 {
        u64::from_str_radix(log["blockNumber"].as_str().unwrap().trim_start_matches("0x"), 16)
            .unwrap()
    }

    fn notification(log: &Value) -> String {
        json!({"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": SUBSCRIPTION, "result": log}}).to_string()
    }

    fn head(&self) -> u64 {
        self.logs.iter().map(Node::block).max().unwrap()
    }

    fn eth_call(&self, params: &Value) -> Value {
        let to = params[0]["to"].as_str().unwrap().to_lowercase();
        let data = params[0]["data"].as_str().unwrap().to_lowercase();
        let selector = data[..10].to_owned();
        *self.eth_calls.lock().unwrap().entry((to.clone(), selector.clone())).or_default() += 1;
        let hex = |bytes: Vec<u8>| json!(format!("0x{}", alloy_primitives::hex::encode(bytes)));
        let sel = |s: [u8; 4]| format!("0x{}", alloy_primitives::hex::encode(s));
        let pool = POOLS.iter().find(|(p, _, _)| *p == to);
        if selector == sel(token0Call::SELECTOR) || selector == sel(token1Call::SELECTOR) {
            let Some((_, t0, t1)) = pool else {
                return json!({"error": {"code": -32000, "message": "execution reverted"}});
            };
            let token = if selector == sel(token0Call::SELECTOR) { t0 } else { t1 };
            return json!({"result": hex(token0Call::abi_encode_returns(&Address::from_str(token).unwrap()))});
        }
        let (name, decimals) = token_meta(&to);
        if selector == sel(decimalsCall::SELECTOR) {
            return json!({"result": hex(decimalsCall::abi_encode_returns(&decimals))});
        }
        if selector == sel(symbolCall::SELECTOR) {
            return json!({"result": hex(symbolCall::abi_encode_returns(&name))});
        }
        json!({"error": {"code": -32000, "message": "execution reverted"}})
    }

    /// Every recorded swap log in the requested block range.
    fn get_logs(&self, params: &Value) -> Value {
        self.get_logs.lock().unwrap().push(params.clone());
        let block = |key: &str| {
            u64::from_str_radix(params[0][key].as_str().unwrap().trim_start_matches("0x"), 16)
                .unwrap()
        };
        let (from, to) = (block("fromBlock"), block("toBlock"));
        json!(
            self.logs.iter().filter(|l| (from..=to).contains(&Node::block(l))).collect::<Vec<_>>()
        )
    }
}

async fn rpc(State(node): State<Arc<Node>>, Json(request): Json<Value>) -> Json<Value> {
    let params = &request["params"];
    let mut reply = match request["method"].as_str().unwrap_or_default() {
        "eth_call" => node.eth_call(params),
        "eth_blockNumber" => json!({"result": format!("{:#x}", node.head())}),
        "eth_getLogs" => json!({"result": node.get_logs(params)}),
        other => json!({"error": {"code": -32601, "message": format!("no method {other}")}}),
    };
    reply["jsonrpc"] = json!("2.0");
    reply["id"] = request["id"].clone();
    Json(reply)
}

/// Read the subscribe request, check it, and acknowledge it; then wait
/// until the test lets the stream start.
async fn subscribe(conn: &mut MockConn, node: &Node) {
    let heads: Value =
        serde_json::from_str(&conn.recv_within(HANG_GUARD).await.expect("heads request")).unwrap();
    let (request, heads) = if heads["params"][0] == "logs" {
        let other =
            serde_json::from_str(&conn.recv_within(HANG_GUARD).await.expect("heads request"))
                .unwrap();
        (heads, other)
    } else {
        let logs = serde_json::from_str(&conn.recv_within(HANG_GUARD).await.expect("logs request"))
            .unwrap();
        (logs, heads)
    };
    assert_eq!(
        (heads["method"].as_str(), heads["params"][0].as_str()),
        (Some("eth_subscribe"), Some("newHeads"))
    );
    // No headers are sent: the pools are busy enough in these tests.
    conn.send(json!({"jsonrpc": "2.0", "id": heads["id"], "result": "0x4ead5"}).to_string()).await;
    assert_eq!(request["method"], "eth_subscribe");
    assert_eq!(request["params"][0], "logs");
    // Token mode subscribes to every pool's swaps; else to the listed pools.
    match request["params"][1]["address"].as_array() {
        Some(addresses) => assert_eq!(addresses.len(), POOLS.len()),
        None => assert!(node.token_mode),
    }
    assert_eq!(
        request["params"][1]["topics"][0].as_array().unwrap().len(),
        3,
        "V2, V3 and PancakeSwap V3 swaps"
    );
    conn.send(json!({"jsonrpc": "2.0", "id": request["id"], "result": SUBSCRIPTION}).to_string())
        .await;
    while !node.go.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn start_mock(
    node: &Arc<Node>,
    script: impl Fn(
        MockConn,
        Arc<Node>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    + Send
    + Sync
    + 'static,
) -> MockVenue {
    let for_ws = node.clone();
    let http = axum::Router::new().route("/rpc", post(rpc)).with_state(node.clone());
    MockVenue::start(move |conn| script(conn, for_ws.clone()), http)
}

/// Config: the EVM source on the mock, `BNBUSDT` at 600 from a replay file,
/// swaps of at least `min_usd` alerted to a file.
fn config(dir: &Path, mock: &MockVenue, min_usd: u32) -> String {
    let pools: Vec<String> = POOLS.iter().map(|(p, _, _)| format!("\"{p}\"")).collect();
    config_watching(dir, mock, min_usd, &format!("pools = [{}]", pools.join(", ")))
}

fn config_watching(dir: &Path, mock: &MockVenue, min_usd: u32, watch: &str) -> String {
    let price = dir.join("bnb.ndjson");
    fs::write(&price, "{\"stream\":\"bnbusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1,\"T\":1,\"s\":\"BNBUSDT\",\"t\":1,\"p\":\"600\",\"q\":\"1\",\"m\":false}}\n").unwrap();
    format!(
        "{base}[sources.prices]\ntype = \"replay\"\nfiles = [\"{price}\"]\n\
         [sources.bsc]\ntype = \"evm\"\nchain = \"bsc\"\nws_url = \"{ws}\"\nhttp_url = \"{http}\"\n{watch}\n\
         [sources.bsc.connection]\nbackoff_min = \"10ms\"\nbackoff_max = \"50ms\"\nstall_after = \"30s\"\n\
         [sinks.file]\ntype = \"file\"\npath = \"{out}\"\n\
         [templates.dex-whales]\nselect = {{ kinds = [\"swap\"] }}\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = {min_usd} }} }}\n\
         default_cooldown = \"0s\"\nchannels = [\"file\"]\n",
        base = base_config(dir),
        price = price.display(),
        ws = mock.ws_url("/ws"),
        http = mock.http_url("/rpc"),
        out = dir.join("alerts.ndjson").display(),
    )
}

fn start_klaxon(dir: &Path, config: String, node: &Node) -> Running {
    fs::write(dir.join("k.toml"), config).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"])
        .arg(dir.join("k.toml"))
        .env("KLAXON_SERVER__LISTEN", "127.0.0.1:0");
    let running = Running::spawn(cmd);
    // The reference price is in market state before any swap arrives.
    running.wait_stderr("Source finished.", 1, HANG_GUARD);
    node.go.store(true, Ordering::SeqCst);
    running
}

/// `event id → retracted` for every fired row of the alert log.
fn alert_log(dir: &Path) -> BTreeMap<String, bool> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let log =
            klaxon::store::AlertLog::open(&format!("sqlite://{}", dir.join("alerts.db").display()))
                .await
                .unwrap();
        log.fetch_recent(1000)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.event_id, r.retracted))
            .collect()
    })
}

const TX_461: &str =
    "evm:bsc:0xabf7f4a13e72cac78212ada2a1a2c340f7a17bf5612a463cffa48896814f433c:461";

#[test]
fn recorded_bsc_swaps_are_priced_from_chain_metadata_alerted_and_retracted_on_reorg() {
    let Some(fixtures) = fixtures() else { return };
    let node = Node::load(&fixtures);
    let mock = start_mock(&node, |mut conn, node| {
        Box::pin(async move {
            subscribe(&mut conn, &node).await;
            // A frame the node would never send, and an ack for nothing: skipped.
            conn.send("{not json").await;
            for log in &node.logs {
                conn.send(Node::notification(log)).await;
            }
            // The same log again (a node re-sending it): deduplicated.
            conn.send(Node::notification(&node.logs[5])).await;
            // Let the alerts land, then reorg the BUSD swap away.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let mut removed = node.logs[5].clone();
            removed["removed"] = json!(true);
            conn.send(Node::notification(&removed)).await;
            conn.drain().await;
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let running = start_klaxon(dir.path(), config(dir.path(), &mock, 100), &node);

    let records = wait_file_alerts(&dir.path().join("alerts.ndjson"), 8);
    let mut got: Vec<(String, String, String, Decimal, Decimal)> = records
        .iter()
        .map(|r| {
            let e = &r.event;
            (
                e.id.clone(),
                e.ticker.clone().unwrap(),
                format!("{:?}", e.side),
                e.size,
                e.notional_usd.unwrap(),
            )
        })
        .collect();
    got.sort();
    // Each token is identified by its address, which the alert names, and
    // shown with its ticker (the quote here is always a stable or WBNB).
    for r in &records {
        let (ticker, address) = (r.event.ticker.as_deref(), r.event.address.as_deref());
        let (ticker, address) = (ticker.unwrap(), address.unwrap());
        assert_eq!(r.event.symbol, format!("{ticker}@{address}"));
        assert_eq!(ticker.split('/').next(), Some(token_meta(address).0.as_str()), "{address}");
        assert_eq!(r.key, r.event.symbol, "the default alert key is the identity");
        assert!(r.title.contains(address), "{}", r.title);
    }
    let d = |s: &str| Decimal::from_str(s).unwrap();
    let tx = |hash: &str, index: u32| format!("evm:bsc:{hash}:{index}");
    let mut expected = vec![
        (
            tx("0x60d59b26719995a42c3afd0310bc000300cb7b457afbe1ede6fa65ce73343572", 311),
            "T6177/WBNB",
            "Sell",
            d("322.81080456053560222"),
            d("179.7146059939581534"),
        ),
        (
            tx("0x60d59b26719995a42c3afd0310bc000300cb7b457afbe1ede6fa65ce73343572", 314),
            "TA244/WBNB",
            "Buy",
            d("5999.613955027669732978"),
            d("179.7146059939581534"),
        ),
        (
            tx("0x50f0b6c83087391943a743c5a101df8f0b6917e04a82d934e76115abe5cf6e6f", 205),
            "Cake/WBNB",
            "Sell",
            d("100.000069485084616699"),
            d("2736.3549075087655938"),
        ),
        (
            tx("0x50f0b6c83087391943a743c5a101df8f0b6917e04a82d934e76115abe5cf6e6f", 208),
            "TC7D4/WBNB",
            "Buy",
            d("41.846054483289533605"),
            d("2736.3549075087655938"),
        ),
        (TX_461.to_owned(), "T084B/BUSD", "Sell", d("10000"), d("898.26506059366024007")),
        (
            tx("0x15e5b1884a0f6e914bb71db6e01338dad762fb8a37c38f95a9a558d8068c462f", 350),
            "TC748/WBNB",
            "Sell",
            d("758.627716378144892494"),
            d("3800.3823850651506012"),
        ),
        (
            tx("0xcc2f10beff1e2fccf51a733adbed67b9a2125db936709a2706c1912f4a977762", 38),
            "NINE/WBNB",
            "Buy",
            d("4858985750.395362214"),
            d("176.1291503906249856"),
        ),
        (
            tx("0xcc2f10beff1e2fccf51a733adbed67b9a2125db936709a2706c1912f4a977762", 40),
            "NINE/WBNB",
            "Sell",
            d("4858985750.395362214"),
            d("178.1939585139997782"),
        ),
    ]
    .into_iter()
    .map(|(id, sym, side, size, usd)| (id, sym.to_owned(), side.to_owned(), size, usd))
    .collect::<Vec<_>>();
    expected.sort();
    assert_eq!(got, expected);
    // Every priced event names its transaction and a positive price.
    assert!(
        records.iter().all(|r| r.event.tx_hash.as_deref().is_some_and(|h| r.event.id.contains(h))
            && r.event.price > Decimal::ZERO)
    );

    // The reorg marks exactly that alert as retracted in the alert log.
    let start = std::time::Instant::now();
    loop {
        let log = alert_log(dir.path());
        if log.get(TX_461) == Some(&true) {
            assert_eq!(log.len(), 8);
            assert_eq!(log.values().filter(|r| **r).count(), 1, "{log:?}");
            break;
        }
        assert!(start.elapsed() < HANG_GUARD, "alert of {TX_461} never retracted: {log:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Metadata was read once per pool and once per token. Checked only now:
    // the 8th alert can land before the last (non-alerting) swaps were
    // handled, while the retraction came after every log.
    let calls = node.eth_calls.lock().unwrap().clone();
    assert!(calls.values().all(|n| *n == 1), "{calls:?}");
    assert_eq!(
        calls.keys().filter(|(to, _)| POOLS.iter().any(|(p, _, _)| p == to)).count(),
        2 * POOLS.len(),
        "{calls:?}"
    );
    // Nothing was alerted twice (the re-sent log was a duplicate).
    assert_eq!(wait_file_alerts(&dir.path().join("alerts.ndjson"), 8).len(), 8);
    let stderr = running.stop();
    assert!(stderr.contains("Swap log removed by a reorg; retracting."), "{stderr}");
    assert!(stderr.contains("Malformed frame skipped."), "{stderr}");
}

#[test]
fn after_a_dropped_socket_backfill_fills_the_gap_without_duplicates() {
    let Some(fixtures) = fixtures() else { return };
    let node = Node::load(&fixtures);
    // Blocks 8971024 and 8971641 stream live (4 swaps); then the socket drops.
    let first_blocks = 4;
    let mock = start_mock(&node, move |mut conn, node| {
        Box::pin(async move {
            subscribe(&mut conn, &node).await;
            if conn.id == 1 {
                for log in &node.logs[..first_blocks] {
                    conn.send(Node::notification(log)).await;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                return; // drop without a close frame
            }
            // After the backfill, the newest block arrives live once more.
            conn.send(Node::notification(node.logs.last().unwrap())).await;
            conn.drain().await;
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let running = start_klaxon(dir.path(), config(dir.path(), &mock, 1), &node);

    let records = wait_file_alerts(&dir.path().join("alerts.ndjson"), 14);
    std::thread::sleep(Duration::from_millis(500)); // room for a wrong extra alert
    let records = if records.len() == 14 {
        wait_file_alerts(&dir.path().join("alerts.ndjson"), 14)
    } else {
        records
    };
    let mut ids: Vec<String> = records.iter().map(|r| r.event.id.clone()).collect();
    ids.sort();
    let mut expected: Vec<String> = node
        .logs
        .iter()
        .map(|l| {
            format!(
                "evm:bsc:{}:{}",
                l["transactionHash"].as_str().unwrap(),
                u64::from_str_radix(l["logIndex"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap()
            )
        })
        .collect();
    expected.sort();
    assert_eq!(ids, expected, "every block's swaps exactly once");

    // The backfill started at the last block seen, inclusive, and ran to the head.
    // (in 1000-block chunks, each starting where the last one ended).
    let get_logs = node.get_logs.lock().unwrap().clone();
    let block =
        |v: &Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let ranges: Vec<(u64, u64)> =
        get_logs.iter().map(|p| (block(&p[0]["fromBlock"]), block(&p[0]["toBlock"]))).collect();
    assert_eq!(ranges.first().unwrap().0, Node::block(&node.logs[first_blocks - 1]), "{ranges:?}");
    assert_eq!(ranges.last().unwrap().1, node.head(), "{ranges:?}");
    assert!(ranges.windows(2).all(|w| w[1].0 == w[0].1 + 1), "{ranges:?}");
    assert!(get_logs.iter().all(|p| p[0]["address"].as_array().unwrap().len() == POOLS.len()));
    assert!(mock.accepted() >= 2);
    let stderr = running.stop();
    assert!(stderr.contains("Backfilling swaps missed while disconnected."), "{stderr}");
}

#[test]
fn token_mode_keeps_only_pools_that_swap_a_watched_token_and_skips_unreadable_ones() {
    let Some(fixtures) = fixtures() else { return };
    let node = Node::load_with(&fixtures, true);
    let mock = start_mock(&node, |mut conn, node| {
        Box::pin(async move {
            subscribe(&mut conn, &node).await;
            // Two swaps of a contract that is not a pool (token0() reverts).
            for index in ["0x1", "0x2"] {
                let mut odd = node.logs[0].clone();
                odd["address"] = json!(NOT_A_POOL);
                odd["logIndex"] = json!(index);
                conn.send(Node::notification(&odd)).await;
            }
            for log in &node.logs {
                conn.send(Node::notification(log)).await;
            }
            conn.drain().await;
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let cake = "0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82";
    let running = start_klaxon(
        dir.path(),
        config_watching(dir.path(), &mock, 1, &format!("tokens = [\"{cake}\"]")),
        &node,
    );
    let records = wait_file_alerts(&dir.path().join("alerts.ndjson"), 1);
    // Every pool's tokens were read before the last swap was judged.
    let start = std::time::Instant::now();
    while node.eth_calls.lock().unwrap().len() < 2 * POOLS.len() + 4 + 1 {
        assert!(start.elapsed() < HANG_GUARD, "{:?}", node.eth_calls.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300)); // room for a wrong extra alert
    let records = if records.len() == 1 {
        wait_file_alerts(&dir.path().join("alerts.ndjson"), 1)
    } else {
        records
    };
    let got: Vec<(&str, &str)> =
        records.iter().map(|r| (r.event.id.as_str(), r.event.symbol.as_str())).collect();
    let cake_wbnb = format!("Cake/WBNB@{cake}");
    assert_eq!(
        got,
        [(
            "evm:bsc:0x50f0b6c83087391943a743c5a101df8f0b6917e04a82d934e76115abe5cf6e6f:205",
            cake_wbnb.as_str()
        )]
    );
    assert_eq!(
        records[0].event.notional_usd,
        Some(Decimal::from_str("2736.3549075087655938").unwrap())
    );
    // token0/token1 of every pool, once; decimals and symbol only of Cake and WBNB.
    let calls = node.eth_calls.lock().unwrap().clone();
    assert!(calls.values().all(|n| *n == 1), "{calls:?}");
    let mut tokens_read: Vec<&str> = calls
        .keys()
        .filter(|(to, _)| !POOLS.iter().any(|(p, _, _)| p == to) && to != NOT_A_POOL)
        .map(|(to, _)| to.as_str())
        .collect();
    tokens_read.sort();
    assert_eq!(tokens_read, [cake, cake, WBNB, WBNB]);
    // The non-pool was asked once (token0) and then left alone.
    assert_eq!(calls.keys().filter(|(to, _)| to == NOT_A_POOL).count(), 1);
    let stderr = running.stop();
    assert_eq!(
        stderr.matches("Pool metadata unreadable; skipping this pool's swaps.").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn headers_move_the_backfill_start_when_the_pools_are_quiet() {
    let Some(fixtures) = fixtures() else { return };
    let node = Node::load(&fixtures);
    let quiet_until = 8_972_139u64;
    let mock = start_mock(&node, move |mut conn, node| {
        Box::pin(async move {
            subscribe(&mut conn, &node).await;
            if conn.id == 1 {
                // No swap at all, only a header; then the socket drops.
                let head = json!({"jsonrpc": "2.0", "method": "eth_subscription",
                    "params": {"subscription": "0x4ead5", "result": {"number": format!("{quiet_until:#x}"), "parentHash": "0x0", "timestamp": "0x6553f100"}}});
                conn.send(head.to_string()).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                return;
            }
            conn.drain().await;
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let running = start_klaxon(dir.path(), config(dir.path(), &mock, 1), &node);
    let missed: Vec<&Value> =
        node.logs.iter().filter(|l| Node::block(l) >= quiet_until - 1).collect();
    let records = wait_file_alerts(&dir.path().join("alerts.ndjson"), missed.len());
    assert_eq!(records.len(), missed.len());
    let get_logs = node.get_logs.lock().unwrap().clone();
    // The header's parent: its own block may not have been delivered yet.
    assert_eq!(get_logs[0][0]["fromBlock"], format!("{:#x}", quiet_until - 1));
    running.stop();
}
