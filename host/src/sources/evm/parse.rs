//! EVM `eth_subscription` log notifications → `Swap` [`Event`]s.
//!
//! Pure parsing; the live `eth_subscribe` source reuses [`decode_log`] and
//! [`price_swap`] with pool metadata it reads from the chain.
//! Decodes three swap events with `alloy-sol-types` (topic0s in
//! `reference/protocols.md` §4.2): Uniswap/Pancake V2 `Swap`, Uniswap V3
//! `Swap`, and PancakeSwap V3's 9-field `Swap`. Other logs (Sync, Transfer,
//! Approval…) are `Ignored::OtherLog`; JSON-RPC acks are `Ignored::Control`.
//!
//! Logs carry no token metadata, so prices need a [`PoolRegistry`] from config
//! (address → ticker and identity, decimals, which token is the base, whether
//! the quote is a USD stable). Amounts become signed deltas from the pool's point of view
//! (V2: `in − out`; V3 is signed already: positive = pool received); the base
//! leg gives size and side (pool sent base out = trader bought = `Buy`), the
//! quote leg over the base leg gives the execution price.
//!
//! Choices, documented because later stages rely on them:
//! * an **unknown pool** still yields a `Swap`: symbol = the pool address
//!   (lowercase), both tokens assumed 18 decimals, token0 as base, and
//!   `notional_usd = None`, so a filter can still see the swap but no USD
//!   threshold can fire on a guess;
//! * `removed: true` logs (reorgs) are `Ignored::RemovedLog` and counted by
//!   the caller; the live source retracts their events instead;
//! * logs have **no timestamp**: exchange time is 0 (= unknown) and the owner
//!   of the clock fills it in (receive time live, last known time in replay);
//! * no account is set: recipients are unbounded, and interning every wallet
//!   would grow the symbol table forever;
//! * id `evm:<chain>:<txhash>:<logIndex>` (log index in decimal), venue = chain.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;

use alloy_primitives::{Address, B256, I256, U256};
use alloy_sol_types::SolEvent;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::event::{Event, EventKind, Side, Sym};
use crate::sources::frame::{self, Ignored, ParseError, Parsed, VenueParser};
use crate::sources::shape::{self, Raw, Shape, is_object, is_str, present};

const VENUE: &str = "evm";
const KIND: &str = "log";

// The generated constructors take one argument per event field.
#[allow(clippy::too_many_arguments)]
mod abi {
    alloy_sol_types::sol! {
        interface UniswapV2Pair {
            event Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to);
        }
        interface UniswapV3Pool {
            event Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick);
        }
        interface PancakeV3Pool {
            event Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick, uint128 protocolFeesToken0, uint128 protocolFeesToken1);
        }
    }
}

pub use super::pools::{PoolConfig, PoolError, PoolRegistry};
pub(crate) use super::pools::{PoolInfo, parse_address};
pub use abi::{PancakeV3Pool, UniswapV2Pair, UniswapV3Pool};

/// Parses EVM log notifications for one chain.
#[derive(Debug, Clone)]
pub struct EvmParser {
    chain: Sym,
    pools: Arc<PoolRegistry>,
}

impl Default for EvmParser {
    fn default() -> Self {
        EvmParser::new("ethereum", PoolRegistry::default())
    }
}

/// A token amount from the pool's point of view: `negative` = the pool sent it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delta {
    pub negative: bool,
    pub magnitude: U256,
}

impl Delta {
    fn net(received: U256, sent: U256) -> Delta {
        if received >= sent {
            Delta { negative: false, magnitude: received - sent }
        } else {
            Delta { negative: true, magnitude: sent - received }
        }
    }

    fn signed(v: I256) -> Delta {
        Delta { negative: v.is_negative(), magnitude: v.unsigned_abs() }
    }
}

impl EvmParser {
    /// `chain` names the venue (`ethereum`, `bsc`) and goes into every id.
    pub fn new(chain: &str, pools: PoolRegistry) -> EvmParser {
        EvmParser { chain: Sym::new(chain), pools: Arc::new(pools) }
    }

    /// A frame whose top-level keys were read → events.
    pub(crate) fn parse_shape(&self, frame: &str, s: &Shape<'_>) -> Result<Parsed, ParseError> {
        if is_str(s.method, "eth_subscription") {
            let params = object(s.params).map(|p| {
                // An object's keys always read: it was validated with the frame.
                serde_json::from_str::<ParamsMsg>(p.get()).unwrap_or_default()
            });
            return match params.and_then(|p| p.result) {
                Some(result) if is_object(result.get()) => self.result(result.get()),
                // pending transaction hashes
                Some(result) if result.get().starts_with('"') => {
                    Ok(Parsed::Ignored(Ignored::Unhandled))
                }
                _ => Err(unrecognized("`params.result` is not a log")),
            };
        }
        if s.topics.is_some() && s.address.is_some() {
            return self.log(frame::typed(frame, VENUE, KIND)?);
        }
        if s.jsonrpc.is_some() && (s.result.is_some() || s.error.is_some()) {
            return Ok(Parsed::Ignored(Ignored::Control));
        }
        if let Some(method) = s.method.and_then(shape::string)
            && matches!(method.as_ref(), "logsNotification" | "slotNotification")
        {
            // Solana swaps need pool metadata from a live node to be priced.
            return Err(unrecognized(&format!(
                "Solana `{method}` cannot be replayed; use a `type = \"solana\"` source"
            )));
        }
        Err(unrecognized("neither an `eth_subscription` notification nor a log"))
    }

    /// A notification's `result` object: a log (read optimistically, it is
    /// what the subscription delivers), else a block header, else garbage.
    fn result(&self, text: &str) -> Result<Parsed, ParseError> {
        let error = match frame::typed::<LogMsg>(text, VENUE, KIND) {
            Ok(log) => return self.log(log),
            Err(error) => error,
        };
        let keys: ResultKeys = serde_json::from_str(text).unwrap_or_default();
        if keys.topics.is_some() {
            Err(error)
        } else if keys.parent_hash.is_some() {
            Ok(Parsed::Ignored(Ignored::Unhandled)) // a newHeads header
        } else {
            Err(unrecognized("`params.result` is not a log"))
        }
    }

    fn log(&self, log: LogMsg<'_>) -> Result<Parsed, ParseError> {
        // Any reorged log counts as removed, swap or not.
        if log.removed == Some(true) {
            return Ok(Parsed::Ignored(Ignored::RemovedLog));
        }
        let Some(raw) = decode_log_msg(&log)? else {
            return Ok(Parsed::Ignored(Ignored::OtherLog));
        };
        let unknown;
        let pool = match self.pools.get(&raw.address) {
            Some(pool) => pool,
            None => {
                unknown = PoolInfo::unknown(raw.address);
                &unknown
            }
        };
        price_swap(self.chain, pool, &raw)
    }
}

impl VenueParser for EvmParser {
    fn parse_frame(&self, frame: &str) -> Result<Parsed, ParseError> {
        let shape = Shape::of(frame)?.ok_or_else(|| unrecognized("not a JSON object"))?;
        self.parse_shape(frame, &shape)
    }
}

/// A raw value that is a JSON object.
fn object(raw: Raw<'_>) -> Option<&RawValue> {
    raw.filter(|r| is_object(r.get()))
}

/// A swap log decoded but not yet priced (pricing needs the pool's tokens).
#[derive(Debug, Clone)]
pub(crate) struct RawSwap {
    pub address: Address,
    pub d0: Delta,
    pub d1: Delta,
    pub tx_hash: String,
    pub log_index: u64,
    /// Absent on pending logs; live sources skip those.
    pub block_number: Option<u64>,
    pub block_hash: Option<String>,
    /// Re-sent by the node because a reorg dropped its block.
    pub removed: bool,
}

impl RawSwap {
    /// The id of the event this log yields (also what a retraction names).
    pub fn event_id(&self, chain: Sym) -> String {
        event_id(chain, &self.tx_hash, self.log_index)
    }
}

/// `evm:<chain>:<txhash>:<logIndex>`, the log index in decimal.
pub(crate) fn event_id(chain: Sym, tx_hash: &str, log_index: u64) -> String {
    format!("evm:{chain}:{tx_hash}:{log_index}")
}

/// The swap topic0s every live subscription filters on.
pub(crate) fn swap_topics() -> [B256; 3] {
    [
        UniswapV2Pair::Swap::SIGNATURE_HASH,
        UniswapV3Pool::Swap::SIGNATURE_HASH,
        PancakeV3Pool::Swap::SIGNATURE_HASH,
    ]
}

/// One log object's text → its swap, `None` for any other (or anonymous)
/// log. Removed logs are decoded too: a retraction needs their id.
pub(crate) fn decode_log(text: &str) -> Result<Option<RawSwap>, ParseError> {
    decode_log_msg(&frame::typed(text, VENUE, KIND)?)
}

fn decode_log_msg(log: &LogMsg<'_>) -> Result<Option<RawSwap>, ParseError> {
    let Some(topic0) = log.topics.first() else {
        return Ok(None); // anonymous event
    };
    let topic0 = word(topic0, "topics")?;
    if !swap_topics().contains(&topic0) {
        return Ok(None);
    }
    let topics = log.topics.iter().map(|t| word(t, "topics")).collect::<Result<Vec<B256>, _>>()?;
    let data = alloy_primitives::hex::decode(log.data.as_ref())
        .map_err(|e| field("data", &format!("not hex: {e}")))?;
    let decode_err = |e: alloy_sol_types::Error| field("data", &format!("cannot decode swap: {e}"));
    let (d0, d1) = if topic0 == UniswapV2Pair::Swap::SIGNATURE_HASH {
        let s = UniswapV2Pair::Swap::decode_raw_log(topics, &data).map_err(decode_err)?;
        (Delta::net(s.amount0In, s.amount0Out), Delta::net(s.amount1In, s.amount1Out))
    } else if topic0 == UniswapV3Pool::Swap::SIGNATURE_HASH {
        let s = UniswapV3Pool::Swap::decode_raw_log(topics, &data).map_err(decode_err)?;
        (Delta::signed(s.amount0), Delta::signed(s.amount1))
    } else {
        let s = PancakeV3Pool::Swap::decode_raw_log(topics, &data).map_err(decode_err)?;
        (Delta::signed(s.amount0), Delta::signed(s.amount1))
    };
    let address =
        parse_address(&log.address).ok_or_else(|| field("address", "not a 20-byte hex address"))?;
    let tx_hash = log.tx_hash.as_deref().ok_or_else(|| field("transactionHash", "missing"))?;
    let log_index = log.log_index.as_deref().ok_or_else(|| field("logIndex", "missing"))?;
    let log_index = quantity(log_index).ok_or_else(|| field("logIndex", "not a hex quantity"))?;
    let block_number = match log.block_number.as_deref() {
        Some(n) => Some(quantity(n).ok_or_else(|| field("blockNumber", "not a hex quantity"))?),
        None => None,
    };
    Ok(Some(RawSwap {
        address,
        d0,
        d1,
        tx_hash: tx_hash.to_owned(),
        log_index,
        block_number,
        block_hash: log.block_hash.as_deref().map(str::to_owned),
        removed: log.removed == Some(true),
    }))
}

/// Price a decoded swap with what is known about its pool: the base leg
/// gives size and side, the quote leg over it the price; the quote leg is the
/// USD notional when it is a stable, or the `notional_ref` amount when it is
/// the chain's wrapped native coin.
pub(crate) fn price_swap(chain: Sym, pool: &PoolInfo, raw: &RawSwap) -> Result<Parsed, ParseError> {
    let ((base, base_dec), (quote, quote_dec)) = if pool.base_is_token0 {
        ((raw.d0, pool.decimals0), (raw.d1, pool.decimals1))
    } else {
        ((raw.d1, pool.decimals1), (raw.d0, pool.decimals0))
    };
    if base.magnitude.is_zero() {
        return Ok(Parsed::Ignored(Ignored::EmptySwap));
    }
    let size = to_decimal(base.magnitude, base_dec)
        .ok_or_else(|| field("data", "base amount out of decimal range"))?;
    let quote_amount = to_decimal(quote.magnitude, quote_dec)
        .ok_or_else(|| field("data", "quote amount out of decimal range"))?;
    let price = quote_amount
        .checked_div(size)
        .ok_or_else(|| field("data", "price out of decimal range"))?;

    let mut e = Event::new(EventKind::Swap, chain, pool.symbol, raw.event_id(chain), 0);
    e.price = price;
    e.size = size;
    e.side = if base.negative { Side::Buy } else { Side::Sell };
    e.notional_usd = pool.quote_is_usd.then_some(quote_amount);
    e.notional_ref = pool.quote_ref.map(|reference| (reference, quote_amount));
    (e.listing, e.tx_hash) = (pool.listing, Some(raw.tx_hash.clone()));
    Ok(Parsed::Events(vec![e]))
}

/// `raw / 10^decimals` as a `Decimal`, dropping digits beyond the 28 that a
/// `Decimal` holds (far below any alerting threshold). `None` only when the
/// integer part itself exceeds `Decimal::MAX` (~7.9e28).
pub(crate) fn to_decimal(raw: U256, decimals: u8) -> Option<Decimal> {
    const MAX_MANTISSA: u128 = (1u128 << 96) - 1;
    let ten = U256::from(10u8);
    let mut v = raw;
    let mut scale = i32::from(decimals);
    while scale > 28 {
        v /= ten;
        scale -= 1;
    }
    while v > U256::from(MAX_MANTISSA) {
        v /= ten;
        scale -= 1;
    }
    let mantissa = i128::try_from(u128::try_from(v).ok()?).ok()?;
    if scale >= 0 {
        return Decimal::try_from_i128_with_scale(mantissa, scale as u32).ok();
    }
    let mut d = Decimal::from_i128_with_scale(mantissa, 0);
    for _ in 0..(-scale) {
        d = d.checked_mul(Decimal::TEN)?;
    }
    Some(d)
}

fn word(text: &str, name: &'static str) -> Result<B256, ParseError> {
    B256::from_str(text)
        .map_err(|_| field(name, &format!("`{}` is not a 32-byte hex word", frame::truncate(text))))
}

/// A JSON-RPC hex quantity (`0x1f`).
pub(crate) fn quantity(text: &str) -> Option<u64> {
    let hex = text.strip_prefix("0x")?;
    u64::from_str_radix(hex, 16).ok()
}

fn unrecognized(what: &str) -> ParseError {
    ParseError::Unrecognized { venue: VENUE, what: what.to_owned() }
}

fn field(field: &'static str, reason: &str) -> ParseError {
    ParseError::Field { venue: VENUE, kind: KIND, field, reason: reason.to_owned() }
}

// The messages. Strings are `Cow`: borrowed from the frame unless escaped.

#[derive(Deserialize)]
struct LogMsg<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow)]
    topics: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(rename = "transactionHash", borrow)]
    tx_hash: Option<Cow<'a, str>>,
    #[serde(rename = "logIndex", borrow)]
    log_index: Option<Cow<'a, str>>,
    #[serde(rename = "blockNumber", borrow)]
    block_number: Option<Cow<'a, str>>,
    #[serde(rename = "blockHash", borrow)]
    block_hash: Option<Cow<'a, str>>,
    removed: Option<bool>,
}

/// `params` of a JSON-RPC notification, its parts left unparsed.
#[derive(Default, Deserialize)]
pub(crate) struct ParamsMsg<'a> {
    #[serde(borrow)]
    pub subscription: Option<&'a RawValue>,
    #[serde(borrow)]
    pub result: Option<&'a RawValue>,
}

/// What tells a `result` that is not a log apart.
#[derive(Default, Deserialize)]
struct ResultKeys<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    topics: Raw<'a>,
    #[serde(rename = "parentHash", borrow, default, deserialize_with = "present")]
    parent_hash: Raw<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic0s_match_the_reference() {
        let hex = |h: B256| format!("{h:#x}");
        assert_eq!(
            hex(UniswapV2Pair::Swap::SIGNATURE_HASH),
            "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
        );
        assert_eq!(
            hex(UniswapV3Pool::Swap::SIGNATURE_HASH),
            "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67"
        );
        assert_eq!(
            hex(PancakeV3Pool::Swap::SIGNATURE_HASH),
            "0x19b47279256b2a23a1665c810c8d55a1758940ee09377d4f8d26497a3577dc83"
        );
    }

    #[test]
    fn solana_frames_are_refused_with_a_pointer_to_the_solana_source() {
        let frame = r#"{"jsonrpc":"2.0","method":"logsNotification","params":{"result":{},"subscription":1}}"#;
        let error = EvmParser::default().parse_frame(frame).unwrap_err().to_string();
        assert_eq!(
            error,
            "evm: unrecognized frame: Solana `logsNotification` cannot be replayed; use a `type = \"solana\"` source"
        );
    }

    #[test]
    fn to_decimal_scales_and_truncates() {
        assert_eq!(
            to_decimal(U256::from(750_000_000_000_000_000u64), 18),
            Some(Decimal::new(75, 2))
        );
        assert_eq!(to_decimal(U256::from(5u8), 0), Some(Decimal::new(5, 0)));
        assert_eq!(to_decimal(U256::from(1u8), 77).map(|d| d.is_zero()), Some(true));
        // 2^200 with 18 decimals is ~1.6e42: too big for a Decimal.
        assert_eq!(to_decimal(U256::from(1u8) << 200, 18), None);
        // 2^100 with 18 decimals is ~1.27e12 and keeps 28 significant digits.
        let d = to_decimal(U256::from(1u8) << 100, 18).unwrap();
        assert_eq!(d.trunc().to_string(), "1267650600228");
    }

    #[test]
    fn jsonrpc_acks_and_other_notifications_are_ignored() {
        let p = EvmParser::default();
        assert_eq!(
            p.parse_frame(r#"{"jsonrpc":"2.0","id":1,"result":"0xcd0c"}"#).unwrap(),
            Parsed::Ignored(Ignored::Control)
        );
        let heads = r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":{"parentHash":"0x0"}}}"#;
        assert_eq!(p.parse_frame(heads).unwrap(), Parsed::Ignored(Ignored::Unhandled));
        assert!(p.parse(r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{}}"#).is_err());
    }
}
