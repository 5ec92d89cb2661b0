//! No parser panics, whatever arrives on the wire: arbitrary bytes, random
//! JSON built from each protocol's vocabulary, mutations of real frames, and
//! swap logs with random 256-bit amounts. Results are not checked beyond
//! "returns"; the golden tests check values.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};

use crate::sources::VenueParser;
use crate::sources::binance::BinanceParser;
use crate::sources::evm::{
    EvmParser, PancakeV3Pool, PoolConfig, PoolRegistry, UniswapV2Pair, UniswapV3Pool,
};
use crate::sources::hyperliquid::HyperliquidParser;
use crate::sources::replay::parse_ndjson;
use crate::sources::replay::{Format, FrameParser};
use alloy_sol_types::SolEvent;

const KEYS: &[&str] = &[
    "stream",
    "data",
    "e",
    "E",
    "T",
    "s",
    "t",
    "a",
    "p",
    "q",
    "m",
    "X",
    "u",
    "b",
    "B",
    "A",
    "o",
    "S",
    "ap",
    "z",
    "l",
    "f",
    "result",
    "id",
    "code",
    "msg",
    "lastUpdateId",
    "channel",
    "coin",
    "side",
    "px",
    "sz",
    "time",
    "hash",
    "tid",
    "users",
    "isSnapshot",
    "user",
    "fills",
    "dir",
    "closedPnl",
    "liquidation",
    "liquidationMarkPx",
    "bbo",
    "levels",
    "n",
    "jsonrpc",
    "method",
    "params",
    "subscription",
    "address",
    "topics",
    "removed",
    "transactionHash",
    "logIndex",
    "parentHash",
];

const WORDS: &[&str] = &[
    "trade",
    "aggTrade",
    "bookTicker",
    "forceOrder",
    "depthUpdate",
    "serverShutdown",
    "MARKET",
    "INSURANCE_FUND",
    "BUY",
    "SELL",
    "btcusdt@trade",
    "x@bookTicker",
    "!forceOrder@arr",
    "x@depth@100ms",
    "trades",
    "userFills",
    "user",
    "bbo",
    "l2Book",
    "pong",
    "eth_subscription",
    "B",
    "A",
    "Open Long",
    "Close Short",
    "0.1",
    "-1",
    "0",
    "1e400",
    "NaN",
    "",
    "99999999999999999999999999999999",
    "0x",
    "0x30",
    "0xzz",
    "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822",
    "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67",
    "0x19b47279256b2a23a1665c810c8d55a1758940ee09377d4f8d26497a3577dc83",
    "0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1",
    "Websocket connection established.",
];

/// Real frames (one per protocol and kind) to mutate.
const SAMPLES: &[&str] = &[
    r#"{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}}"#,
    r#"{"stream":"nknusdt@bookTicker","data":{"u":499869768,"s":"NKNUSDT","b":"0.35210000","B":"672.00000000","a":"0.35260000","A":"3199.00000000"}}"#,
    r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1596240000596,"T":1596240000519,"s":"BTCUSDT","t":173525189,"p":"11343.67","q":"0.467","X":"MARKET","m":true}}"#,
    r#"{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1584059031426,"o":{"s":"BTCUSDT","S":"BUY","o":"LIMIT","f":"IOC","q":"0.014","p":"4793.91","ap":"4706.04","X":"FILLED","l":"0.015","z":"0.014","T":1584059031421}}}"#,
    r#"{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"69997.0","sz":"0.38111","time":1730160006192,"hash":"0x40d1","tid":1016375172059570}]}"#,
    r#"{"channel":"userFills","data":{"user":"0x2ad7","fills":[{"coin":"SUSHI","px":"1.18","sz":"10.0","side":"A","time":1702786334099,"startPosition":"10.0","dir":"Close Long","closedPnl":"-0.003","hash":"0xf0b2","oid":3139193727,"crossed":true,"fee":"0.00295","liquidationMarkPx":null,"tid":925391004589683}]}}"#,
    r#"{"channel":"user","data":{"fills":[{"coin":"BTC","px":"66653.0","sz":"0.001","side":"A","time":1781528065899,"dir":"Open Short","closedPnl":"0.0","hash":"0xe29f","tid":745210434703679,"liquidation":{"liquidatedUser":"0x3608","markPx":"66607.0","method":"market"}}]}}"#,
    r#"{"channel":"l2Book","data":{"coin":"BANANA","time":1730160007687,"levels":[[{"px":"59.8","sz":"3.4","n":1}],[{"px":"59.811","sz":"2.9","n":1}]]}}"#,
    r#"{"channel":"bbo","data":{"coin":"@162","time":1750948919838,"bbo":[{"px":"0.97925","sz":"4144.6","n":1},{"px":"0.97934","sz":"50.0","n":1}]}}"#,
    r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x65746800000000000000000000000000","result":{"address":"0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1","topics":["0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67","0x000000000000000000000000ef1c6e67703c7bd7107eed8303fbe6ec2554bf6b","0x000000000000000000000000165eeecc32dcb623f51fc6c1ddd9e2aea1575c63"],"data":"0xfffffffffffffffffffffffffffffffffffffffffffdb3387c03de92e18806f300000000000000000000000000000000000000000000000001f161421c8e00000000000000000000000000000000000000000000000ea9ed3658a1ccb7e6d1cc000000000000000000000000000000000000000000001e5ab304463cab4cd155fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd6f54","blockNumber":"0x1047cc4","transactionHash":"0x5c5bca1291d1f09c07a9b66e56e78cc23da41b3e69e330dcd46a71ef6176df8b","transactionIndex":"0x4a","blockHash":"0x95c685d5165471e878aea2aaaa719bf4357cdbcd22722df4338e3e54f4e6c5d5","logIndex":"0xdc","removed":false}}}"#,
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // NaN/inf become null
        "[ -~]{0,16}".prop_map(Value::String),
        "0x[0-9a-f]{0,70}".prop_map(Value::String),
        prop::sample::select(WORDS).prop_map(|w| Value::String(w.to_owned())),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())
            }),
        ]
    })
}

/// A real frame with one node (chosen by `at`) replaced by random JSON.
fn mutated() -> impl Strategy<Value = String> {
    (prop::sample::select(SAMPLES), any::<Index>(), json()).prop_map(|(sample, at, replacement)| {
        let mut value: Value = serde_json::from_str(sample).unwrap();
        let mut pointers = Vec::new();
        collect_pointers(&value, String::new(), &mut pointers);
        let target = pointers[at.index(pointers.len())].clone();
        if let Some(node) = value.pointer_mut(&target) {
            *node = replacement;
        }
        value.to_string()
    })
}

fn collect_pointers(value: &Value, here: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            collect_pointers(v, format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")), out)
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| collect_pointers(v, format!("{here}/{i}"), out)),
        _ => {}
    }
    out.push(here);
}

/// A swap log of any of the three kinds with random 256-bit words.
fn swap_log() -> impl Strategy<Value = String> {
    let topic0 = prop::sample::select(vec![
        UniswapV2Pair::Swap::SIGNATURE_HASH,
        UniswapV3Pool::Swap::SIGNATURE_HASH,
        PancakeV3Pool::Swap::SIGNATURE_HASH,
    ]);
    let word = prop_oneof![
        Just("0".repeat(64)),
        Just("f".repeat(64)),
        "[0-9a-f]{64}",
        "[0-9a-f]{1,20}".prop_map(|s| format!("{s:0>64}")),
    ];
    let pool = prop::sample::select(vec![
        "0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1",
        "0x00000000000000000000000000000000000000aa",
        "0x1",
    ]);
    (topic0, prop::collection::vec(word, 0..10), pool, any::<bool>()).prop_map(|(t0, words, pool, removed)| {
        let addr = format!("0x{}", "0".repeat(64));
        format!(
            r#"{{"jsonrpc":"2.0","method":"eth_subscription","params":{{"result":{{"address":"{pool}","topics":["{t0:#x}","{addr}","{addr}"],"data":"0x{}","transactionHash":"0x1","logIndex":"0x1","removed":{removed}}}}}}}"#,
            words.concat()
        )
    })
}

fn parsers() -> (BinanceParser, HyperliquidParser, EvmParser, FrameParser) {
    let pool = |address: &str, decimals0, decimals1| PoolConfig {
        address: address.into(),
        base: "B".into(),
        quote: "USDT".into(),
        decimals0,
        decimals1,
        base_is_token0: decimals0 > decimals1,
        quote_is_usd: None,
    };
    // Extreme decimals on purpose: 0 and 77 push every conversion to its limits.
    let pools = [
        pool("0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1", 0, 77),
        pool("0x00000000000000000000000000000000000000aa", 77, 0),
    ];
    let evm = EvmParser::new("test", PoolRegistry::new(&pools).unwrap());
    let frame = FrameParser::new(
        Format::Auto,
        BinanceParser::default(),
        HyperliquidParser::default(),
        evm.clone(),
    );
    (BinanceParser::default(), HyperliquidParser::default(), evm, frame)
}

fn feed_all(text: &str) {
    let (b, h, e, f) = parsers();
    let _ = b.parse(text);
    let _ = h.parse(text);
    let _ = e.parse(text);
    let _ = f.parse(text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        feed_all(&String::from_utf8_lossy(&bytes));
        let _ = parse_ndjson(&bytes, "fuzz.ndjson".as_ref(), &parsers().3);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json()) {
        feed_all(&value.to_string());
    }

    #[test]
    fn combined_wrappers_never_panic(stream in prop::sample::select(WORDS), data in json()) {
        feed_all(&serde_json::json!({"stream": stream, "data": data}).to_string());
        feed_all(&serde_json::json!({"channel": stream, "data": data}).to_string());
    }

    #[test]
    fn mutated_real_frames_never_panic(frame in mutated()) {
        feed_all(&frame);
    }

    #[test]
    fn swap_logs_with_random_amounts_never_panic(frame in swap_log()) {
        feed_all(&frame);
    }
}
