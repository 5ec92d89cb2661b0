//! Ingest: ns per frame from wire text to `Event`s, per venue format, through
//! exactly the parsers the live sources and replay use, over frames the
//! bench generates ([`frames`]).
//!
//! Beside each figure, in the same run: the cost of only building a
//! `serde_json::Value` tree of the same frame, which is the first step the
//! parsers took before they read typed structs straight from the text. The
//! old path cost that plus the typed read from the tree plus the events, so
//! the ratio is a lower bound on the speed-up. For Binance spot `@trade`
//! the whole old path is measured too ([`legacy`]).

use std::hint::black_box;
use std::time::Instant;

use super::frames::{self, Digits};
use super::{BenchArgs, legacy, median_ns};
use crate::event::{Event, Sym};
use crate::sources::binance::BinanceParser;
use crate::sources::evm::{EvmParser, PoolConfig, PoolRegistry};
use crate::sources::hyperliquid::HyperliquidParser;
use crate::sources::solana::parse::{self as solana, PoolInfo};
use crate::sources::{ParseError, VenueParser};

/// The figure the issue sets for one Binance trade frame.
pub const TARGET_NS: f64 = 500.0;

type Generator = fn(&mut Digits, u64) -> String;
type Parse<'a> = &'a dyn Fn(&str) -> Result<Vec<Event>, ParseError>;

/// Returns ns per Binance spot `@trade` frame, for the summary.
pub fn run(args: &BenchArgs) -> Result<f64, String> {
    let n = args.events.clamp(1_000, 50_000);
    println!("\ningest, wire frame -> Event ({n} generated frames per format):");
    println!("  {:<26} {:>10} {:>14} {:>8}", "format", "ns/frame", "tree only ns", "ratio");
    let spot = BinanceParser::new("binance");
    let futures = BinanceParser::new("binance-futures");
    let hyperliquid = HyperliquidParser::default();
    let evm =
        EvmParser::new("ethereum", PoolRegistry::new(&[bench_pool()]).map_err(|e| e.to_string())?);
    let solana = Solana::new();
    let mut spot_trade = f64::NAN;
    let rows: [(&str, Generator, Parse<'_>); 8] = [
        ("binance spot @trade", frames::binance_spot_trade, &|f: &str| spot.parse(f)),
        ("binance spot @aggTrade", frames::binance_agg_trade, &|f: &str| spot.parse(f)),
        ("binance spot @bookTicker", frames::binance_book_ticker, &|f: &str| spot.parse(f)),
        ("binance usdm @trade", frames::binance_futures_trade, &|f: &str| futures.parse(f)),
        ("binance usdm forceOrder", frames::binance_force_order, &|f: &str| futures.parse(f)),
        ("hyperliquid trades", frames::hyperliquid_trade, &|f: &str| hyperliquid.parse(f)),
        ("evm v3 swap log", frames::evm_swap_log, &|f: &str| evm.parse(f)),
        ("solana raydium log", frames::solana_swap_log, &|f: &str| solana.parse(f)),
    ];
    for (name, generate, parse) in rows {
        let mut digits = Digits::new(args.seed);
        let input: Vec<String> = (0..n as u64).map(|i| generate(&mut digits, i)).collect();
        check(name, &input, parse)?;
        let typed = per_frame(args.rounds, &input, |f| drop(black_box(parse(f))));
        let tree = per_frame(args.rounds, &input, |f| {
            drop(black_box(serde_json::from_str::<serde_json::Value>(f)))
        });
        println!("  {name:<26} {typed:>10.0} {tree:>14.0} {:>7.1}x", tree / typed);
        if name == "binance spot @trade" {
            let venue = Sym::new("binance");
            same_events(&input, |f| spot.parse(f).ok(), |f| legacy::binance_trade(venue, f))?;
            let old = per_frame(args.rounds, &input, |f| {
                drop(black_box(legacy::binance_trade(venue, f)))
            });
            spot_trade = typed;
            let met = if typed <= TARGET_NS { "met" } else { "NOT met" };
            println!(
                "  {:<26} {old:>10.0} {:>14} {:>7.1}x",
                "  old Value-tree path",
                "",
                old / typed
            );
            println!("  {:<26} target <= {TARGET_NS:.0} ns/frame: {met}", "");
        }
    }
    Ok(spot_trade)
}

/// Every generated frame must give exactly one event: a bench of a parser
/// that rejects its input would measure the error path.
fn check(name: &str, input: &[String], parse: Parse<'_>) -> Result<(), String> {
    for frame in input {
        match parse(frame) {
            Ok(events) if events.len() == 1 => {}
            Ok(events) => return Err(format!("{name}: {} events from {frame}", events.len())),
            Err(e) => return Err(format!("{name}: {e}: {frame}")),
        }
    }
    Ok(())
}

/// The typed path and the old one agree on every frame.
fn same_events(
    input: &[String],
    typed: impl Fn(&str) -> Option<Vec<Event>>,
    old: impl Fn(&str) -> Option<Event>,
) -> Result<(), String> {
    match input.iter().find(|f| typed(f) != old(f).map(|e| vec![e])) {
        Some(frame) => Err(format!("typed and old Value paths differ on {frame}")),
        None => Ok(()),
    }
}

/// Median over `rounds` passes of the ns one frame takes.
fn per_frame(rounds: usize, input: &[String], mut f: impl FnMut(&str)) -> f64 {
    let samples = (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            input.iter().for_each(|frame| f(frame));
            t.elapsed()
        })
        .collect();
    median_ns(samples, input.len() as u64)
}

/// The pool of [`frames::evm_swap_log`]: USDC/WETH, token0 USDC.
fn bench_pool() -> PoolConfig {
    PoolConfig {
        address: frames::EVM_POOL.into(),
        base: "WETH".into(),
        quote: "USDC".into(),
        decimals0: 6,
        decimals1: 18,
        base_is_token0: false,
        quote_is_usd: None,
    }
}

/// The live Solana source's per-notification work: read the frame, find the
/// Raydium swap in its logs, price it with the pool's metadata.
struct Solana {
    venue: Sym,
    pool: PoolInfo,
}

impl Solana {
    fn new() -> Solana {
        let pool = PoolInfo {
            symbol: Sym::new("SOL/USDC"),
            listing: None,
            coin_decimals: 9,
            pc_decimals: 6,
            pc_is_usd: true,
            pc_ref: None,
        };
        Solana { venue: Sym::new("solana"), pool }
    }

    fn parse(&self, frame: &str) -> Result<Vec<Event>, ParseError> {
        let solana::Frame::Logs(tx) = solana::parse_frame(frame)? else { return Ok(Vec::new()) };
        let Ok(swap) = solana::pool_swap(&tx, solana::RAYDIUM_AMM_V4) else {
            return Ok(Vec::new());
        };
        Ok(solana::swap_event(self.venue, &self.pool, &tx, swap, None).into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bench refuses to report on frames that do not parse to exactly
    /// one event, or where the typed path and the old `Value` path differ.
    #[test]
    fn every_generated_format_parses_and_trades_match_the_old_path() {
        let args = BenchArgs { events: 1_000, ..BenchArgs::tiny() };
        run(&args).unwrap();
    }
}
