//! The live EVM source's pure parts: config defaults and validation, frame
//! classification, metadata decoding and pool description, dedup keys, and
//! "never panics" properties for the notification path.

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolValue};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::config::{EvmConfig, PoolEntry, http_from_ws};
use super::metadata::{IERC20, Metadata, Rules, Token, symbol_from_abi};
use super::notice::{Notice, notification};
use super::parse::{PoolInfo, decode_log, price_swap};
use crate::event::{Side, Sym};
use crate::sources::frame::Parsed;
use crate::sources::live::Rest;

const USDT_BSC: &str = "0x55d398326f99059ff775485246999027b3197955";
const WBNB: &str = "0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c";
const CAKE: &str = "0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82";

fn addr(a: &str) -> Address {
    a.parse().unwrap()
}

fn config(toml_text: &str) -> EvmConfig {
    toml::from_str(toml_text).unwrap()
}

#[test]
fn known_chain_defaults_fill_urls_stables_and_wrapped_coin() {
    let c = config("chain = \"bsc\"\npools = [\"0x0ed7e52944161450477ee417de9cd3a859b14fd0\"]");
    assert_eq!(c.ws_url().as_deref(), Some("wss://bsc-rpc.publicnode.com"));
    assert_eq!(c.http_url().as_deref(), Some("https://bsc-rpc.publicnode.com"));
    assert!(c.stables().contains(&addr(USDT_BSC)));
    assert_eq!(c.wrapped_native(), Some(addr(WBNB)));
    assert_eq!(c.native_reference().as_deref(), Some("BNBUSDT"));
    assert!(c.validate("sources.bsc").is_empty(), "{:?}", c.validate("sources.bsc"));
    assert_eq!(http_from_ws("ws://127.0.0.1:9/x").as_deref(), Some("http://127.0.0.1:9/x"));
}

#[test]
fn pools_take_addresses_and_manual_tables() {
    let c = config(
        "chain = \"ethereum\"\npools = [\"0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1\", { address = \"0xa43fe16908251ee70ef74718545e4fe6c5ccec9f\", base = \"PEPE\", quote = \"WETH\" }]",
    );
    assert!(matches!(&c.pools[0], PoolEntry::Address(a) if a.ends_with("4db1")));
    assert!(matches!(&c.pools[1], PoolEntry::Manual(p) if p.base == "PEPE"));
    let typo = toml::from_str::<EvmConfig>(
        "pools = [{ address = \"0xa43fe16908251ee70ef74718545e4fe6c5ccec9f\", base = \"PEPE\", quot = \"WETH\" }]",
    );
    assert!(typo.unwrap_err().to_string().contains("unknown field `quot`"));
}

#[test]
fn validation_names_every_bad_field() {
    let c = config(
        "chain = \"mychain\"\nhttp_url = \"ftp://x\"\npools = [\"0x12\"]\ntokens = [\"nope\"]\nstables = [\"0x55d398326f99059ff775485246999027b3197955\", \"x\"]\nwrapped_native = \"0x1\"\nnative_reference = \" \"",
    );
    let paths: Vec<String> = c.validate("sources.c").into_iter().map(|i| i.path).collect();
    assert_eq!(
        paths,
        [
            "sources.c.ws_url",
            "sources.c.http_url",
            "sources.c.pools.0",
            "sources.c.tokens.0",
            "sources.c.stables.1",
            "sources.c.wrapped_native",
            "sources.c.native_reference"
        ]
    );
    let empty = config("chain = \"bsc\"");
    assert_eq!(empty.validate("s").into_iter().map(|i| i.path).collect::<Vec<_>>(), ["s.pools"]);
    assert!(toml::from_str::<EvmConfig>("chain = \"bsc\"\npoolz = []").is_err());
}

#[test]
fn frames_are_classified_by_subscription() {
    let log = r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xab","result":{"address":"0x1"}}}"#;
    assert!(
        matches!(notification(log, "0xab", Some("0xee")), Notice::Log(v) if v == r#"{"address":"0x1"}"#)
    );
    assert_eq!(notification(log, "0xcd", None), Notice::Other);
    assert_eq!(
        notification(r#"{"jsonrpc":"2.0","id":1,"result":"0xab"}"#, "0xab", None),
        Notice::Other
    );
    assert!(matches!(notification("[1]", "0xab", None), Notice::Malformed(_)));
    assert!(matches!(notification("{", "0xab", None), Notice::Malformed(_)));
    let not_log = r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xab","result":"0x1"}}"#;
    assert!(matches!(notification(not_log, "0xab", None), Notice::Malformed(_)));
    let head = r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xee","result":{"number":"0x1b4","parentHash":"0x0"}}}"#;
    assert_eq!(
        notification(head, "0xab", Some("0xee")),
        Notice::Head { number: 436, timestamp: None }
    );
    let timed = r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xee","result":{"number":"0x1b4","timestamp":"0x6553f100"}}}"#;
    assert_eq!(
        notification(timed, "0xab", Some("0xee")),
        Notice::Head { number: 436, timestamp: Some(0x6553_f100) }
    );
    assert_eq!(notification(head, "0xab", None), Notice::Other);
    let bad_head = r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xee","result":{"number":7}}}"#;
    assert!(matches!(notification(bad_head, "0xab", Some("0xee")), Notice::Malformed(_)));
}

/// The V2 swap of the fixture's PEPE/WETH pair, as a log object.
fn v2_log(removed: bool) -> serde_json::Value {
    serde_json::json!({
        "address": "0xa43fe16908251ee70ef74718545e4fe6c5ccec9f",
        "topics": [
            "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822",
            "0x0000000000000000000000007a250d5630b4cf539739df2c5dacb4c659f2488d",
            "0x000000000000000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ],
        "data": format!("0x{}", alloy_primitives::hex::encode((U256::ZERO, U256::from(750_000_000_000_000_000u64), U256::from_str_radix("5477527264701082519211446407", 10).unwrap(), U256::ZERO).abi_encode_params())),
        "blockNumber": "0x104ae90",
        "blockHash": "0xBB00000000000000000000000000000000000000000000000000000000000001",
        "transactionHash": "0xaa00000000000000000000000000000000000000000000000000000000000001",
        "logIndex": "0x30",
        "removed": removed
    })
}

#[test]
fn removed_logs_decode_with_the_id_their_swap_had() {
    let live = decode_log(&v2_log(false).to_string()).unwrap().unwrap();
    let gone = decode_log(&v2_log(true).to_string()).unwrap().unwrap();
    assert!(gone.removed && !live.removed);
    let chain = Sym::new("ethereum");
    assert_eq!(gone.event_id(chain), live.event_id(chain));
    assert_eq!(
        live.event_id(chain),
        "evm:ethereum:0xaa00000000000000000000000000000000000000000000000000000000000001:48"
    );
    assert_eq!(live.block_number, Some(0x104ae90));
}

#[test]
fn native_quoted_swap_carries_the_reference_amount() {
    let raw = decode_log(&v2_log(false).to_string()).unwrap().unwrap();
    let pool = PoolInfo {
        symbol: Sym::new("PEPE/WETH"),
        listing: None,
        decimals0: 18,
        decimals1: 18,
        base_is_token0: true,
        quote_is_usd: false,
        quote_ref: Some(Sym::new("ETHUSDT")),
    };
    let Parsed::Events(events) = price_swap(Sym::new("ethereum"), &pool, &raw).unwrap() else {
        panic!("no event")
    };
    let e = &events[0];
    assert_eq!(e.side, Side::Buy, "the pool sent PEPE out");
    assert_eq!(e.notional_usd, None);
    assert_eq!(e.notional_ref, Some((Sym::new("ETHUSDT"), Decimal::new(75, 2))));
    assert_eq!(e.size.trunc().to_string(), "5477527264");
}

fn rules() -> Rules {
    Rules {
        pools: Default::default(),
        tokens: [addr(CAKE)].into_iter().collect(),
        stables: [addr(USDT_BSC)].into_iter().collect(),
        wrapped_native: Some(addr(WBNB)),
        native_reference: Some(Sym::new("BNBUSDT")),
    }
}

/// Metadata with no node behind it: `describe` only.
fn metadata() -> Metadata {
    Metadata::new(
        "t",
        Rest::new("t", std::time::Duration::from_secs(1), None),
        String::new(),
        rules(),
        Vec::new(),
    )
}

fn token(symbol: &str, decimals: u8) -> Token {
    Token { symbol: symbol.into(), decimals }
}

#[test]
fn stable_leg_then_wrapped_coin_becomes_the_quote() {
    let meta = metadata();
    // CAKE (0x0e..) < WBNB (0xbb..): token0 CAKE, quote WBNB.
    let cake_wbnb =
        meta.describe((addr(CAKE), &token("CAKE", 18)), (addr(WBNB), &token("WBNB", 18)));
    assert_eq!(
        (cake_wbnb.symbol, cake_wbnb.base_is_token0, cake_wbnb.quote_is_usd),
        (Sym::new(&format!("CAKE/WBNB@{CAKE}")), true, false)
    );
    let listing = cake_wbnb.listing.unwrap();
    assert_eq!((listing.ticker, listing.address), (Sym::new("CAKE/WBNB"), Sym::new(CAKE)));
    assert_eq!(cake_wbnb.quote_ref, Some(Sym::new("BNBUSDT")));
    // USDT (0x55..) < WBNB: the stable wins over the wrapped coin.
    let wbnb_usdt =
        meta.describe((addr(USDT_BSC), &token("USDT", 18)), (addr(WBNB), &token("WBNB", 18)));
    assert_eq!(
        (wbnb_usdt.symbol, wbnb_usdt.base_is_token0, wbnb_usdt.quote_is_usd),
        (Sym::new(&format!("WBNB/USDT@{WBNB}")), false, true)
    );
    assert_eq!(wbnb_usdt.quote_ref, None);
    // Neither: token1 quotes, no USD, and its address is part of the identity.
    let baby = "0xc748673057861a797275cd8a068abb95a902e8de";
    let other = meta.describe((addr(CAKE), &token("CAKE", 18)), (addr(baby), &token("BABY", 9)));
    assert_eq!(
        (other.symbol, other.decimals1, other.quote_is_usd, other.quote_ref),
        (Sym::new(&format!("CAKE/BABY@{CAKE}/{baby}")), 9, false, None)
    );
}

#[test]
fn symbols_decode_from_strings_and_bytes32_and_are_cleaned() {
    let string = IERC20::symbolCall::abi_encode_returns(&"Cake".to_string());
    assert_eq!(symbol_from_abi(&string).as_deref(), Some("Cake"));
    let mut word = [0u8; 32];
    word[..3].copy_from_slice(b"MKR");
    assert_eq!(symbol_from_abi(&word).as_deref(), Some("MKR"));
    let nasty = IERC20::symbolCall::abi_encode_returns(&"A/B \n C@0x1".to_string());
    assert_eq!(symbol_from_abi(&nasty).as_deref(), Some("ABC0x1"));
    assert_eq!(symbol_from_abi(&[1, 2, 3]), None);
}

/// A real and a copycat `PEPE` on one chain (different addresses and
/// decimals), each in a WBNB pool: one ticker, two instruments.
fn copycats() -> [PoolInfo; 2] {
    let meta = metadata();
    [(PEPE, 18), (FAKE_PEPE, 9)].map(|(a, decimals)| {
        meta.describe((addr(a), &token("PEPE", decimals)), (addr(WBNB), &token("WBNB", 18)))
    })
}

const PEPE: &str = "0x25d887ce7a35172c62febfd67a1856f20faebb00";
const FAKE_PEPE: &str = "0x25d887ce7a35172c62febfd67a1856f20faebb01";

#[test]
fn copycat_tokens_keep_their_own_market_state_and_route_by_ticker_or_address() {
    use crate::config::Selectors;
    use crate::market::{MarketConfig, MarketState};
    use crate::pipeline::route::RouteIndex;

    let raw = decode_log(&v2_log(false).to_string()).unwrap().unwrap();
    let [real, fake] = copycats().map(|pool| {
        let Parsed::Events(mut events) = price_swap(Sym::new("bsc"), &pool, &raw).unwrap() else {
            panic!("no event")
        };
        events.remove(0)
    });
    assert_eq!(real.symbol, Sym::new(&format!("PEPE/WBNB@{PEPE}")));
    assert_eq!(fake.symbol, Sym::new(&format!("PEPE/WBNB@{FAKE_PEPE}")));
    assert_eq!(real.listing.unwrap().ticker, fake.listing.unwrap().ticker);
    assert_ne!(real.price, fake.price, "9 decimals against 18: another price");

    let cfg = MarketConfig { flag_cold_windows: false, ..MarketConfig::default() };
    let (mut market, prices) = MarketState::new(&cfg);
    let (mut a, mut b) = (real.clone(), fake.clone());
    (a.exchange_time_ms, b.exchange_time_ms) = (1_000, 2_000);
    market.apply(&mut a);
    let copycat = market.apply(&mut b);
    a.exchange_time_ms = 3_000;
    let again = market.apply(&mut a);
    assert_eq!((copycat.w1m.trades, again.w1m.trades), (1, 2), "no shared window");
    assert_eq!(copycat.last_price, crate::event::dec_to_f64(fake.price));
    assert_eq!(again.last_price, crate::event::dec_to_f64(real.price));
    assert_eq!(again.w1m.change_pct, 0.0, "the copycat's price never moved the real one's");
    assert_eq!(prices.get(&real.symbol.name()), Some(crate::event::dec_to_f64(real.price)));
    assert_eq!(prices.get("PEPE/WBNB"), None, "no price answers to a ticker");

    let select = |name: &str| Selectors { symbols: vec![name.into()], ..Default::default() };
    let (ticker, address, identity) = (
        select("PEPE/WBNB"),
        select(&PEPE.to_ascii_uppercase().replace("0X", "0x")),
        select(&format!("PEPE/WBNB@{FAKE_PEPE}")),
    );
    let index = RouteIndex::build(&[(&ticker, None), (&address, None), (&identity, None)]);
    let routed = |e: &crate::event::Event| {
        let mut out = Vec::new();
        index.route(e, &mut out);
        out
    };
    assert_eq!((routed(&real), routed(&fake)), (vec![0, 1], vec![0, 2]));
}

proptest! {
    #[test]
    fn notification_handling_never_panics(text in ".{0,400}") {
        if let Notice::Log(log) = notification(&text, "0x1", Some("0x2")) {
            let _ = decode_log(log);
        }
    }

    #[test]
    fn mutated_notifications_never_panic(field in 0usize..8, junk in ".{0,80}", removed in any::<bool>()) {
        let mut log = v2_log(removed);
        let keys = ["address", "topics", "data", "blockNumber", "blockHash", "transactionHash", "logIndex", "removed"];
        log[keys[field]] = serde_json::Value::String(junk);
        let frame = serde_json::json!({"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":log}}).to_string();
        if let Notice::Log(log) = notification(&frame, "0x1", Some("0x2")) {
            let _ = decode_log(log);
        }
    }

    #[test]
    fn symbol_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = symbol_from_abi(&bytes);
    }
}
