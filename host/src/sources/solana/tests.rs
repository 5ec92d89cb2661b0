//! Solana parsing: the `ray_log` worked example of protocols.md §5, both
//! swap types and directions, the invoke stack, failed and multi-hop txs,
//! the AMM account layout, the real recorded notifications, config checks,
//! and "never panics" properties.

use std::borrow::Cow;

use base64::Engine;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::config::SolanaConfig;
use super::parse::*;
use super::rpc::*;
use crate::event::{Side, Sym};
use crate::sources::tests::fixture;

const WORKED: &str = "AwDh9QUAAAAALQPB6wYAAAACAAAAAAAAAADh9QUAAAAAs1bYHTcAAAB+RokV3EIAAKS4kzUHAAAA";

fn ray_log_b64(log_type: u8, words: [u64; 7]) -> String {
    let mut bytes = vec![log_type];
    for w in words {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn worked_example_from_the_reference_decodes_exactly() {
    let log = decode_ray_log(WORKED).unwrap();
    assert_eq!(
        log,
        RayLog::SwapBaseIn {
            amount_in: 100_000_000,
            minimum_out: 29_725_098_797,
            direction: 2,
            user_source: 100_000_000,
            pool_coin: 236_723_918_515,
            pool_pc: 73_513_021_556_350,
            out_amount: 30_963_644_580,
        }
    );
    // Direction 2 = coin → PC: the trader sold 1e8 coin units for the output.
    assert_eq!(log.swap(), Some(Swap { coin: 100_000_000, pc: 30_963_644_580, side: Side::Sell }));
}

#[test]
fn swap_base_out_and_directions_map_to_coin_and_pc() {
    let out_buy = decode_ray_log(&ray_log_b64(4, [900, 500, 1, 900, 1, 1, 850])).unwrap();
    assert_eq!(out_buy.swap(), Some(Swap { coin: 500, pc: 850, side: Side::Buy }));
    let out_sell = decode_ray_log(&ray_log_b64(4, [900, 500, 2, 900, 1, 1, 850])).unwrap();
    assert_eq!(out_sell.swap(), Some(Swap { coin: 850, pc: 500, side: Side::Sell }));
    let in_buy = decode_ray_log(&ray_log_b64(3, [70, 0, 1, 70, 1, 1, 9])).unwrap();
    assert_eq!(in_buy.swap(), Some(Swap { coin: 9, pc: 70, side: Side::Buy }));
    assert_eq!(
        decode_ray_log(&ray_log_b64(3, [1, 0, 7, 1, 1, 1, 1])).unwrap().swap(),
        None,
        "unknown direction"
    );
    assert_eq!(decode_ray_log("AA==").unwrap(), RayLog::Other(0));
    assert!(matches!(decode_ray_log("AwA="), Err(RayLogError::Short { .. })));
    assert!(matches!(decode_ray_log("!!"), Err(RayLogError::Base64(_))));
    assert_eq!(decode_ray_log_bytes(&[]), Err(RayLogError::Empty));
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn only_ray_logs_printed_by_the_program_itself_count() {
    let log = format!("Program log: ray_log: {WORKED}");
    let logs = lines(&[
        "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 invoke [1]",
        &log, // printed by Jupiter, not Raydium
        "Program 675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8 invoke [2]",
        &log,
        "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [3]",
        &log, // inside the token program's frame
        "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA success",
        "Program 675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8 success",
        "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 success",
    ]);
    assert_eq!(ray_logs(&logs, RAYDIUM_AMM_V4).len(), 1);
}

fn tx(failed: bool, logs: Vec<String>) -> TxLogs<'static> {
    let logs = logs.into_iter().map(Cow::Owned).collect();
    TxLogs { subscription: 7, slot: 1, signature: "sig".into(), failed, logs }
}

#[test]
fn failed_and_multi_hop_txs_give_no_swap() {
    let swap_lines = |n: usize| {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(format!("Program {RAYDIUM_AMM_V4} invoke [1]"));
            v.push(format!("Program log: ray_log: {WORKED}"));
            v.push(format!("Program {RAYDIUM_AMM_V4} success"));
        }
        v
    };
    assert!(pool_swap(&tx(false, swap_lines(1)), RAYDIUM_AMM_V4).is_ok());
    assert_eq!(pool_swap(&tx(true, swap_lines(1)), RAYDIUM_AMM_V4), Err(NoSwap::Failed));
    assert_eq!(pool_swap(&tx(false, swap_lines(2)), RAYDIUM_AMM_V4), Err(NoSwap::Ambiguous(2)));
    assert_eq!(pool_swap(&tx(false, Vec::new()), RAYDIUM_AMM_V4), Err(NoSwap::None));
}

#[test]
fn swap_event_prices_pc_per_coin_with_usd_or_sol_reference() {
    let swap = decode_ray_log(WORKED).unwrap().swap().unwrap();
    let usdc = PoolInfo {
        symbol: Sym::new("RAY/USDC"),
        listing: None,
        coin_decimals: 6,
        pc_decimals: 6,
        pc_is_usd: true,
        pc_ref: None,
    };
    let e = swap_event(Sym::new("solana"), &usdc, &tx(false, Vec::new()), swap, None).unwrap();
    assert_eq!(
        (e.size, e.price, e.side),
        (Decimal::new(100, 0), Decimal::new(3_096_364_458, 7), Side::Sell)
    );
    assert_eq!(e.notional_usd, Some(Decimal::new(30_963_644_580, 6)));
    assert_eq!((e.id.as_str(), e.tx_hash.as_deref()), ("solana:sig", Some("sig")));
    let sol = PoolInfo {
        symbol: Sym::new("X/SOL"),
        listing: None,
        coin_decimals: 6,
        pc_decimals: 9,
        pc_is_usd: false,
        pc_ref: Some(Sym::new("SOLUSDT")),
    };
    let e = swap_event(Sym::new("solana"), &sol, &tx(false, Vec::new()), swap, None).unwrap();
    assert_eq!(e.notional_usd, None);
    assert_eq!(e.notional_ref, Some((Sym::new("SOLUSDT"), Decimal::new(30_963_644_580, 9))));
}

/// An `AmmInfo` account with the given decimals and mints, as the program lays it out.
pub(crate) fn amm_info(
    coin_decimals: u64,
    pc_decimals: u64,
    coin_mint: &str,
    pc_mint: &str,
) -> Vec<u8> {
    let mut data = vec![0u8; AMM_INFO_LEN];
    data[32..40].copy_from_slice(&coin_decimals.to_le_bytes());
    data[40..48].copy_from_slice(&pc_decimals.to_le_bytes());
    data[400..432].copy_from_slice(&bs58::decode(coin_mint).into_vec().unwrap());
    data[432..464].copy_from_slice(&bs58::decode(pc_mint).into_vec().unwrap());
    data
}

#[test]
fn amm_account_reads_decimals_and_mints_at_the_documented_offsets() {
    let sol = "So11111111111111111111111111111111111111112";
    let ray = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R";
    let data = amm_info(6, 9, ray, sol);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let result = serde_json::json!({"context": {"slot": 1}, "value": {"data": [b64, "base64"], "owner": RAYDIUM_AMM_V4}});
    assert_eq!(
        amm_account(&result).unwrap(),
        AmmAccount { coin_decimals: 6, pc_decimals: 9, coin_mint: ray.into(), pc_mint: sol.into() }
    );
    assert_eq!(amm_account(&serde_json::json!({"value": null})), Err(AccountError::Missing));
    assert_eq!(amm_account_bytes(&data[..100]), Err(AccountError::Size(100)));
    assert_eq!(amm_account_bytes(&amm_info(99, 9, ray, sol)), Err(AccountError::Decimals(99)));
}

#[test]
fn recorded_notifications_parse_and_yield_the_worked_swap() {
    let Some(path) = fixture("solana/DERIVED_logsNotification_from_helius.ndjson") else { return };
    let text = std::fs::read_to_string(path).unwrap();
    let mut swaps = 0;
    for line in text.lines() {
        let Frame::Logs(tx) = parse_frame(line).unwrap() else {
            panic!("not a notification: {line}")
        };
        assert!(!tx.failed);
        if pool_swap(&tx, RAYDIUM_AMM_V4).is_ok() {
            swaps += 1;
        }
    }
    // 10 single-swap txs minus one two-hop route; the rest are pool inits.
    assert_eq!(swaps, 9);
    let first = parse_frame(text.lines().next().unwrap()).unwrap();
    let Frame::Logs(first) = first else { unreachable!() };
    assert_eq!(
        pool_swap(&first, RAYDIUM_AMM_V4).unwrap(),
        decode_ray_log(WORKED).unwrap().swap().unwrap()
    );
}

#[test]
fn a_multi_hop_swap_is_attributed_with_the_transaction() {
    let (Some(logs), Some(txs)) = (
        fixture("solana/DERIVED_logsNotification_from_helius.ndjson"),
        fixture("solana/helius_transactionNotification_raydium_swaps.ndjson"),
    ) else {
        return;
    };
    let find = |path: &std::path::Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let line = text.lines().find(|l| l.contains("VYDwTuhxqaiL")).unwrap().to_owned();
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    };
    let text = find(&logs).to_string();
    let Frame::Logs(notification) = parse_frame(&text).unwrap() else { panic!() };
    assert_eq!(pool_swap(&notification, RAYDIUM_AMM_V4), Err(NoSwap::Ambiguous(2)));
    // The recorded tx in `getTransaction`'s jsonParsed shape.
    let tx = find(&txs)["params"]["result"]["transaction"].clone();
    let ids = amm_ids_in_order(&tx, RAYDIUM_AMM_V4).unwrap();
    assert_eq!(
        ids,
        [
            "8GKQGnqLQhm8ffJx979hMeXZMQA3FDf4BRaw67peUQTq",
            "BZTm64W7gzkGwmke3CsHy6ftFZHSuATAY8pqf6Fz9UmQ"
        ]
    );
    let second = attribute(&notification, RAYDIUM_AMM_V4, &ids, &ids[1]).unwrap();
    assert_eq!(second, (1, Swap { coin: 74_924_914, pc: 1_115_250_260_749, side: Side::Sell }));
    let first = attribute(&notification, RAYDIUM_AMM_V4, &ids, &ids[0]).unwrap();
    assert_eq!(first, (0, Swap { coin: 74_924_914, pc: 252_006_264_295, side: Side::Buy }));
    assert_eq!(
        attribute(
            &notification,
            RAYDIUM_AMM_V4,
            &ids,
            "8LVh6ATXdUn4oA6BYwbDNTzxijvdnLsZesS3intatefT"
        ),
        Err(NoSwap::None)
    );
    assert_eq!(
        attribute(&notification, RAYDIUM_AMM_V4, &ids[..1], &ids[0]),
        Err(NoSwap::Ambiguous(2))
    );
    assert_eq!(amm_ids_in_order(&serde_json::json!({"transaction": {}}), RAYDIUM_AMM_V4), None);
}

#[test]
fn backfill_reads_signatures_since_a_slot_and_transactions_as_logs() {
    let sigs = serde_json::json!([
        {"signature": "new", "slot": 12, "err": null},
        {"signature": "failed", "slot": 11, "err": {"InstructionError": [0, "x"]}},
        {"signature": "edge", "slot": 10, "err": null},
        {"signature": "old", "slot": 9, "err": null}
    ]);
    assert_eq!(signatures_since(&sigs, 10), ["edge", "new"]);
    assert!(signatures_since(&serde_json::json!(null), 0).is_empty());
    let tx = serde_json::json!({"slot": 12, "meta": {"err": null, "logMessages": ["a", "b"]}, "transaction": {}});
    assert_eq!(
        tx_logs("new", &tx),
        Some(TxLogs {
            subscription: 0,
            slot: 12,
            signature: "new".into(),
            failed: false,
            logs: vec!["a".into(), "b".into()]
        })
    );
    assert_eq!(tx_logs("x", &serde_json::json!({"meta": {"logMessages": [1]}})), None);
    assert_eq!(parse_frame(r#"{"jsonrpc":"2.0","method":"slotNotification","params":{"result":{"parent":1,"root":0,"slot":2},"subscription":0}}"#).unwrap(), Frame::Slot(2));
}

#[test]
fn replies_are_read_as_subscription_ids_or_errors() {
    assert_eq!(
        parse_frame(r#"{"jsonrpc":"2.0","result":24040,"id":1}"#).unwrap(),
        Frame::Reply { id: 1, result: Ok(24040) }
    );
    assert!(matches!(
        parse_frame(r#"{"jsonrpc":"2.0","error":{"code":-32602},"id":2}"#).unwrap(),
        Frame::Reply { id: 2, result: Err(_) }
    ));
    assert_eq!(parse_frame(r#"{"jsonrpc":"2.0","result":true,"id":3}"#).unwrap(), Frame::Other);
    assert!(parse_frame("[]").is_err());
    assert!(parse_frame(r#"{"jsonrpc":"2.0","method":"logsNotification","params":{}}"#).is_err());
}

#[test]
fn config_defaults_and_validation_paths() {
    let c: SolanaConfig =
        toml::from_str("pools = [\"58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2\"]").unwrap();
    assert_eq!(c.http_url().as_deref(), Some("https://api.mainnet-beta.solana.com"));
    assert_eq!(
        (c.program.as_str(), c.sol_reference.as_str(), c.commitment.as_str()),
        (RAYDIUM_AMM_V4, "SOLUSDT", "confirmed")
    );
    assert_eq!(c.symbol("So11111111111111111111111111111111111111112"), "SOL");
    assert_eq!(c.symbol("4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R"), "4k3D…kX6R");
    assert!(c.validate("s").is_empty());
    let bad: SolanaConfig = toml::from_str(
        "ws_url = \"http://x\"\npools = [\"nope\"]\nprogram = \"0x1\"\nsol_reference = \"\"\n[symbols]\n\"4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R\" = \"A/B\"",
    )
    .unwrap();
    let paths: Vec<String> = bad.validate("s").into_iter().map(|i| i.path).collect();
    assert_eq!(
        paths,
        [
            "s.ws_url",
            "s.pools.0",
            "s.program",
            "s.symbols.4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R",
            "s.sol_reference"
        ]
    );
    assert!(toml::from_str::<SolanaConfig>("pools = []\ncommitment = \"final\"").is_err());
}

#[test]
fn copycat_mints_sharing_a_ticker_are_told_apart_by_mint() {
    let c: SolanaConfig =
        toml::from_str("pools = [\"58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2\"]").unwrap();
    let sol = "So11111111111111111111111111111111111111112";
    let real = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R";
    // Ground to the same first and last four characters: the same short name.
    let fake = "4k3DzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzkX6R";
    let account = |coin: &str, pc: &str| AmmAccount {
        coin_decimals: 6,
        pc_decimals: 9,
        coin_mint: coin.into(),
        pc_mint: pc.into(),
    };
    let (a, b) = (c.describe(&account(real, sol)), c.describe(&account(fake, sol)));
    let ticker = Sym::new("4k3D…kX6R/SOL");
    assert_eq!((a.listing.unwrap().ticker, b.listing.unwrap().ticker), (ticker, ticker));
    assert_eq!(a.symbol, Sym::new(&format!("4k3D…kX6R/SOL@{real}")));
    assert_eq!(b.listing.unwrap().address, Sym::new(fake));
    assert_ne!(a.symbol, b.symbol);
    assert_eq!(a.pc_ref, Some(Sym::new("SOLUSDT")));
    // An unnamed PC mint joins the identity: a copycat quote prices in other units.
    let odd = c.describe(&account(real, fake));
    assert_eq!(odd.symbol, Sym::new(&format!("4k3D…kX6R/4k3D…kX6R@{real}/{fake}")));

    let swap = decode_ray_log(WORKED).unwrap().swap().unwrap();
    let e = swap_event(Sym::new("solana"), &b, &tx(false, Vec::new()), swap, None).unwrap();
    assert_eq!((e.symbol, e.listing), (b.symbol, b.listing));
}

proptest! {
    #[test]
    fn ray_log_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Ok(log) = decode_ray_log_bytes(&bytes) {
            let _ = log.swap();
        }
        let _ = amm_account_bytes(&bytes);
    }

    #[test]
    fn transaction_walk_never_panics(text in ".{0,300}") {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
            let _ = amm_ids_in_order(&value, RAYDIUM_AMM_V4);
            let _ = tx_logs("s", &value);
            let _ = signatures_since(&value, 0);
        }
    }

    #[test]
    fn frame_parser_never_panics(text in ".{0,400}") {
        if let Ok(Frame::Logs(tx)) = parse_frame(&text) {
            let _ = pool_swap(&tx, RAYDIUM_AMM_V4);
        }
    }

    #[test]
    fn arbitrary_log_lines_never_panic(lines in proptest::collection::vec(
        prop_oneof![
            ".{0,60}",
            Just(format!("Program {RAYDIUM_AMM_V4} invoke [1]")),
            Just(format!("Program {RAYDIUM_AMM_V4} success")),
            "Program log: ray_log: [A-Za-z0-9+/=]{0,90}",
        ], 0..12), failed in any::<bool>()) {
        let _ = pool_swap(&tx(failed, lines), RAYDIUM_AMM_V4);
    }
}
