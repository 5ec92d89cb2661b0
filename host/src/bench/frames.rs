//! Wire frames the ingest bench makes itself, one generator per venue
//! format, shaped like what each venue sends (field order, extra fields the
//! parsers skip, realistic string lengths). Seeded, so runs compare.

use alloy_primitives::{I256, U256};
use alloy_sol_types::{SolEvent, SolValue};
use base64::Engine;

use crate::sources::evm::UniswapV3Pool;

/// The pool every generated EVM swap log comes from (`bench_pool`).
pub const EVM_POOL: &str = "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640";
/// Raydium AMM v4, the program the generated Solana logs run in.
const RAYDIUM: &str = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8";

const SYMBOLS: [(&str, &str); 4] =
    [("btcusdt", "BTCUSDT"), ("ethusdt", "ETHUSDT"), ("solusdt", "SOLUSDT"), ("bnbbtc", "BNBBTC")];

/// A tiny xorshift: the bench needs varied digits, not statistical quality.
pub struct Digits(u64);

impl Digits {
    pub fn new(seed: u64) -> Digits {
        Digits(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A price like `37012.45000000` (8 decimals, as spot sends).
    fn price(&mut self) -> String {
        format!("{}.{:02}000000", 20_000 + self.below(20_000), self.below(100))
    }

    fn qty(&mut self) -> String {
        format!("0.{:08}", 1 + self.below(99_999_999))
    }

    fn symbol(&mut self) -> (&'static str, &'static str) {
        SYMBOLS[self.below(SYMBOLS.len() as u64) as usize]
    }
}

const T0: u64 = 1_700_000_000_000;

pub fn binance_spot_trade(d: &mut Digits, i: u64) -> String {
    let ((stream, sym), (p, q), m) = (d.symbol(), (d.price(), d.qty()), d.below(2) == 0);
    format!(
        r#"{{"stream":"{stream}@trade","data":{{"e":"trade","E":{},"s":"{sym}","t":{},"p":"{p}","q":"{q}","T":{},"m":{m},"M":true}}}}"#,
        T0 + i + 1,
        3_000_000_000 + i,
        T0 + i
    )
}

pub fn binance_agg_trade(d: &mut Digits, i: u64) -> String {
    let ((stream, sym), (p, q), m) = (d.symbol(), (d.price(), d.qty()), d.below(2) == 0);
    format!(
        r#"{{"stream":"{stream}@aggTrade","data":{{"e":"aggTrade","E":{},"s":"{sym}","a":{},"p":"{p}","q":"{q}","f":{},"l":{},"T":{},"m":{m},"M":true}}}}"#,
        T0 + i + 1,
        1_500_000_000 + i,
        3_000_000_000 + 2 * i,
        3_000_000_001 + 2 * i,
        T0 + i
    )
}

pub fn binance_book_ticker(d: &mut Digits, i: u64) -> String {
    let (stream, sym) = d.symbol();
    let (bid, ask, bq, aq) = (d.price(), d.price(), d.qty(), d.qty());
    format!(
        r#"{{"stream":"{stream}@bookTicker","data":{{"u":{},"s":"{sym}","b":"{bid}","B":"{bq}","a":"{ask}","A":"{aq}"}}}}"#,
        40_000_000_000 + i
    )
}

pub fn binance_futures_trade(d: &mut Digits, i: u64) -> String {
    let ((stream, sym), m) = (d.symbol(), d.below(2) == 0);
    let (p, q) = (format!("{}.{}", 20_000 + d.below(20_000), d.below(10)), d.below(1000));
    format!(
        r#"{{"stream":"{stream}@trade","data":{{"e":"trade","E":{},"T":{},"s":"{sym}","t":{},"p":"{p}","q":"0.{q:03}","X":"MARKET","m":{m}}}}}"#,
        T0 + i + 1,
        T0 + i,
        5_000_000_000 + i
    )
}

pub fn binance_force_order(d: &mut Digits, i: u64) -> String {
    let (stream, sym) = d.symbol();
    let side = if d.below(2) == 0 { "BUY" } else { "SELL" };
    let (p, ap, q) = (d.price(), d.price(), d.below(1000));
    format!(
        r#"{{"stream":"{stream}@forceOrder","data":{{"e":"forceOrder","E":{},"o":{{"s":"{sym}","S":"{side}","o":"LIMIT","f":"IOC","q":"0.{q:03}","p":"{p}","ap":"{ap}","X":"FILLED","l":"0.{q:03}","z":"0.{q:03}","T":{}}}}}}}"#,
        T0 + i + 1,
        T0 + i
    )
}

pub fn hyperliquid_trade(d: &mut Digits, i: u64) -> String {
    let coin = ["BTC", "ETH", "SOL", "HYPE"][d.below(4) as usize];
    let side = if d.below(2) == 0 { "B" } else { "A" };
    let (px, sz) = (format!("{}.{}", 20_000 + d.below(50_000), d.below(10)), d.qty());
    let hash = format!("0x{:016x}{:016x}{:016x}{:016x}", d.next(), d.next(), d.next(), d.next());
    format!(
        r#"{{"channel":"trades","data":[{{"coin":"{coin}","side":"{side}","px":"{px}","sz":"{sz}","time":{},"hash":"{hash}","tid":{},"users":["0x{:040x}","0x{:040x}"]}}]}}"#,
        T0 + i,
        1_000_000_000_000_000 + i,
        d.next(),
        d.next()
    )
}

/// A Uniswap V3 `Swap` notification from [`EVM_POOL`] (token0 USDC, 6
/// decimals; token1 WETH, 18), as `eth_subscribe` delivers it.
pub fn evm_swap_log(d: &mut Digits, i: u64) -> String {
    let usdc = I256::try_from(1_000_000 + d.below(100_000_000_000)).unwrap_or_default();
    let weth =
        I256::try_from(u128::from(d.below(1_000_000)) * 1_000_000_000_000_000).unwrap_or_default();
    let (amount0, amount1) = if d.below(2) == 0 { (usdc, -weth) } else { (-usdc, weth) };
    let words = (
        amount0,
        amount1,
        U256::from(d.next()) << 64,
        U256::from(d.next()),
        I256::try_from(-1).unwrap_or_default(),
    )
        .abi_encode_params();
    let word = |d: &mut Digits| {
        format!("{:016x}{:016x}{:016x}{:016x}", d.next(), d.next(), d.next(), d.next())
    };
    format!(
        r#"{{"jsonrpc":"2.0","method":"eth_subscription","params":{{"subscription":"0x9cef478923ff08bf67fde6c64013158d","result":{{"address":"{EVM_POOL}","topics":["{:#x}","0x000000000000000000000000{:040x}","0x000000000000000000000000{:040x}"],"data":"0x{}","blockNumber":"{:#x}","transactionHash":"0x{}","transactionIndex":"{:#x}","blockHash":"0x{}","logIndex":"{:#x}","removed":false}}}}}}"#,
        UniswapV3Pool::Swap::SIGNATURE_HASH,
        d.next(),
        d.next(),
        alloy_primitives::hex::encode(words),
        18_000_000 + i / 200,
        word(d),
        d.below(300),
        word(d),
        d.below(500)
    )
}

/// A `logsNotification` for one Raydium AMM v4 `SwapBaseIn`, with the
/// compute-budget and token-program lines a real swap prints around it.
pub fn solana_swap_log(d: &mut Digits, i: u64) -> String {
    let mut ray = vec![3u8];
    let (amount_in, out) = (1_000_000 + d.below(1_000_000_000), 1 + d.below(1_000_000_000));
    for word in [amount_in, 0, 1 + d.below(2), 0, 1 << 40, 1 << 42, out] {
        ray.extend_from_slice(&word.to_le_bytes());
    }
    let ray = base64::engine::general_purpose::STANDARD.encode(ray);
    let signature: String = (0..88)
        .map(|_| {
            b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"[d.below(58) as usize]
                as char
        })
        .collect();
    let token = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
    format!(
        r#"{{"jsonrpc":"2.0","method":"logsNotification","params":{{"result":{{"context":{{"slot":{}}},"value":{{"signature":"{signature}","err":null,"logs":["Program ComputeBudget111111111111111111111111111111 invoke [1]","Program ComputeBudget111111111111111111111111111111 success","Program {RAYDIUM} invoke [1]","Program log: ray_log: {ray}","Program {token} invoke [2]","Program log: Instruction: Transfer","Program {token} consumed 4645 of 180000 compute units","Program {token} success","Program {token} invoke [2]","Program log: Instruction: Transfer","Program {token} success","Program {RAYDIUM} consumed 31000 of 200000 compute units","Program {RAYDIUM} success"]}}}},"subscription":{}}}}}"#,
        250_000_000 + i,
        1 + i % 4
    )
}
