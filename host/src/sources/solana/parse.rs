//! Pure parsing for the Solana source: `logsNotification` frames, Raydium
//! AMM v4 `ray_log` lines, and the AMM account (`AmmInfo`) that names a
//! pool's mints and decimals. No I/O, no clock; never panics on any input
//! (property-tested).
//!
//! Wire facts (`reference/protocols.md` §5): a notification carries the tx
//! signature, `err` (non-null = failed, skipped) and the log lines. A swap is
//! the line `Program log: ray_log: <base64>` printed while the Raydium
//! program is the innermost running program (`Program <id> invoke [n]` …
//! `Program <id> success`). The base64 is a little-endian struct whose byte 0
//! is the log type: 3 = SwapBaseIn, 4 = SwapBaseOut. `direction` 1 = PC→coin
//! (the trader bought coin), 2 = coin→PC (sold coin).
//!
//! Logs do not say which pool a swap ran in; the subscription does (one
//! `mentions` subscription per pool). A tx with several Raydium swaps (a
//! multi-hop route) cannot be attributed from logs alone: [`pool_swap`]
//! reports it as ambiguous, and `rpc::attribute` settles it with the tx itself
//! (`getTransaction`): the k-th `ray_log` belongs to the k-th Raydium
//! instruction in execution order, whose second account is the pool.

use std::borrow::Cow;

use base64::Engine;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::event::{Event, EventKind, Listing, Side, Sym};
use crate::sources::frame::{self, ParseError};
use crate::sources::shape::{self, Shape};

const VENUE: &str = "solana";
const KIND: &str = "logsNotification";

/// Raydium AMM v4 program id (mainnet).
pub const RAYDIUM_AMM_V4: &str = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8";

/// One decoded `ray_log` of a swap, amounts in raw token units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RayLog {
    /// Exact input: `amount_in` paid, `out_amount` received.
    SwapBaseIn {
        amount_in: u64,
        minimum_out: u64,
        direction: u64,
        user_source: u64,
        pool_coin: u64,
        pool_pc: u64,
        out_amount: u64,
    },
    /// Exact output: `amount_out` received, `deduct_in` paid.
    SwapBaseOut {
        max_in: u64,
        amount_out: u64,
        direction: u64,
        user_source: u64,
        pool_coin: u64,
        pool_pc: u64,
        deduct_in: u64,
    },
    /// Init, deposit, withdraw: not a swap.
    Other(u8),
}

/// Why a `ray_log` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RayLogError {
    #[error("ray_log is not base64: {0}")]
    Base64(String),
    #[error("ray_log type {log_type} needs {need} bytes, got {got}")]
    Short { log_type: u8, need: usize, got: usize },
    #[error("ray_log is empty")]
    Empty,
}

/// Decode the base64 text after `ray_log: `.
pub fn decode_ray_log(text: &str) -> Result<RayLog, RayLogError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| RayLogError::Base64(e.to_string()))?;
    decode_ray_log_bytes(&bytes)
}

/// Decode a `ray_log` struct: `u8 log_type` then seven little-endian `u64`s
/// for the two swap types.
pub fn decode_ray_log_bytes(bytes: &[u8]) -> Result<RayLog, RayLogError> {
    let (&log_type, rest) = bytes.split_first().ok_or(RayLogError::Empty)?;
    if log_type != 3 && log_type != 4 {
        return Ok(RayLog::Other(log_type));
    }
    if rest.len() < 56 {
        return Err(RayLogError::Short { log_type, need: 57, got: bytes.len() });
    }
    let w = |i: usize| u64::from_le_bytes(rest[i * 8..i * 8 + 8].try_into().expect("8-byte slice"));
    Ok(if log_type == 3 {
        RayLog::SwapBaseIn {
            amount_in: w(0),
            minimum_out: w(1),
            direction: w(2),
            user_source: w(3),
            pool_coin: w(4),
            pool_pc: w(5),
            out_amount: w(6),
        }
    } else {
        RayLog::SwapBaseOut {
            max_in: w(0),
            amount_out: w(1),
            direction: w(2),
            user_source: w(3),
            pool_coin: w(4),
            pool_pc: w(5),
            deduct_in: w(6),
        }
    })
}

/// A swap as the trader saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swap {
    /// Coin amount bought or sold (raw units).
    pub coin: u64,
    /// PC (quote) amount paid or received (raw units).
    pub pc: u64,
    pub side: Side,
}

impl RayLog {
    /// The executed amounts; `None` for non-swaps and unknown directions.
    pub fn swap(&self) -> Option<Swap> {
        // (coin, pc) per direction: 1 = PC→coin (buy), 2 = coin→PC (sell).
        let (coin, pc, side) = match *self {
            RayLog::SwapBaseIn { amount_in, direction: 1, out_amount, .. } => {
                (out_amount, amount_in, Side::Buy)
            }
            RayLog::SwapBaseIn { amount_in, direction: 2, out_amount, .. } => {
                (amount_in, out_amount, Side::Sell)
            }
            RayLog::SwapBaseOut { amount_out, direction: 1, deduct_in, .. } => {
                (amount_out, deduct_in, Side::Buy)
            }
            RayLog::SwapBaseOut { amount_out, direction: 2, deduct_in, .. } => {
                (deduct_in, amount_out, Side::Sell)
            }
            _ => return None,
        };
        Some(Swap { coin, pc, side })
    }
}

/// One `logsNotification`'s payload, borrowing the frame's text (log lines
/// are `Cow`: they may hold escaped quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxLogs<'a> {
    pub subscription: u64,
    pub slot: u64,
    pub signature: Cow<'a, str>,
    /// `err` was not null: the tx failed and changed nothing.
    pub failed: bool,
    pub logs: Vec<Cow<'a, str>>,
}

/// What one socket frame is.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    Logs(TxLogs<'a>),
    /// A reply to our request `id`: a subscription id, or an error text.
    Reply {
        id: u64,
        result: Result<u64, String>,
    },
    /// A `slotNotification` (the heartbeat): the node's current slot.
    Slot(u64),
    /// Anything else well-formed (other notifications, unsubscribe replies).
    Other,
}

// The messages, read straight from the frame's text.

#[derive(Deserialize)]
struct ParamsMsg<'a> {
    subscription: u64,
    #[serde(borrow)]
    result: ResultMsg<'a>,
}

#[derive(Deserialize)]
struct ResultMsg<'a> {
    context: ContextMsg,
    #[serde(borrow)]
    value: ValueMsg<'a>,
}

#[derive(Deserialize)]
struct ContextMsg {
    slot: u64,
}

#[derive(Deserialize)]
struct ValueMsg<'a> {
    #[serde(borrow)]
    signature: Cow<'a, str>,
    /// Only whether it is there and not `null`.
    err: Option<IgnoredAny>,
    #[serde(borrow)]
    logs: Option<Vec<Cow<'a, str>>>,
}

#[derive(Deserialize)]
struct SlotParamsMsg {
    result: SlotMsg,
}

#[derive(Deserialize)]
struct SlotMsg {
    slot: u64,
}

/// Classify and read one frame: its top-level keys first ([`Shape`]), then
/// `params` once into the notification's typed struct.
pub fn parse_frame(text: &str) -> Result<Frame<'_>, ParseError> {
    let shape = Shape::of(text)?.ok_or_else(|| unrecognized("not a JSON object"))?;
    let params = shape.params.map_or("null", RawValue::get);
    match shape.method.and_then(shape::string).as_deref() {
        Some("logsNotification") => {
            let msg: ParamsMsg = frame::typed(params, VENUE, KIND)?;
            let v = msg.result.value;
            Ok(Frame::Logs(TxLogs {
                subscription: msg.subscription,
                slot: msg.result.context.slot,
                signature: v.signature,
                failed: v.err.is_some(),
                logs: v.logs.unwrap_or_default(),
            }))
        }
        Some("slotNotification") => match serde_json::from_str::<SlotParamsMsg>(params) {
            Ok(msg) if shape::is_object(params) => Ok(Frame::Slot(msg.result.slot)),
            _ => Err(unrecognized("a slotNotification without `params.result.slot`")),
        },
        Some(_) => Ok(Frame::Other),
        // A non-string `method` is as good as none.
        None => reply(&shape),
    }
}

/// A reply to one of our requests (rare: once per subscription).
fn reply(shape: &Shape<'_>) -> Result<Frame<'static>, ParseError> {
    let Some(id) = shape.id.and_then(|id| serde_json::from_str::<u64>(id.get()).ok()) else {
        return Ok(Frame::Other);
    };
    let result = match (shape.result, shape.error) {
        (Some(r), _) if serde_json::from_str::<u64>(r.get()).is_ok() => {
            Ok(serde_json::from_str::<u64>(r.get()).unwrap_or_default())
        }
        (_, Some(e)) => Err(e.get().to_owned()),
        (Some(_), None) => return Ok(Frame::Other), // e.g. `true` for an unsubscribe
        (None, None) => return Err(unrecognized("a reply without `result` or `error`")),
    };
    Ok(Frame::Reply { id, result })
}

/// Every `ray_log` printed by `program` itself (not by programs it called),
/// in order, decoded. Tracks the invoke stack from the `invoke`/`success`/
/// `failed` lines.
pub fn ray_logs<S: AsRef<str>>(logs: &[S], program: &str) -> Vec<Result<RayLog, RayLogError>> {
    let mut stack: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for line in logs {
        let line = line.as_ref();
        if let Some(text) = line.strip_prefix("Program log: ray_log: ") {
            if stack.last() == Some(&program) {
                out.push(decode_ray_log(text));
            }
        } else if let Some(rest) = line.strip_prefix("Program ") {
            let mut words = rest.split_whitespace();
            let (id, verb) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
            match verb {
                "invoke" => stack.push(id),
                "success" | "failed" | "failed:" => {
                    stack.pop();
                }
                _ => {}
            }
        }
    }
    out
}

/// Why a notification gave no swap for its pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoSwap {
    /// The tx failed (`err` set): it changed nothing.
    Failed,
    /// No Raydium swap in the logs (deposits, other programs).
    None,
    /// Several Raydium swaps: the logs do not say which ran in this pool.
    Ambiguous(usize),
    /// A `ray_log` that could not be decoded.
    Bad(RayLogError),
}

/// The one Raydium swap of `tx`, which ran in the pool the subscription names.
pub fn pool_swap(tx: &TxLogs<'_>, program: &str) -> Result<Swap, NoSwap> {
    if tx.failed {
        return Err(NoSwap::Failed);
    }
    let mut swaps = Vec::new();
    for log in ray_logs(&tx.logs, program) {
        match log {
            Ok(log) => swaps.extend(log.swap()),
            Err(e) => return Err(NoSwap::Bad(e)),
        }
    }
    match swaps.as_slice() {
        [] => Err(NoSwap::None),
        [one] => Ok(*one),
        many => Err(NoSwap::Ambiguous(many.len())),
    }
}

/// What pricing needs to know about one pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolInfo {
    /// The identity, `COIN/PC@<coin mint>` (see [`Listing::new`]).
    pub symbol: Sym,
    pub listing: Option<Listing>,
    pub coin_decimals: u8,
    pub pc_decimals: u8,
    /// The PC leg is a USD stable: its amount is the notional.
    pub pc_is_usd: bool,
    /// The PC leg is SOL: `notional_ref` with this reference symbol.
    pub pc_ref: Option<Sym>,
}

/// The swap as an event: price in PC per coin, size in coin, id
/// `solana:<signature>` (`solana:<signature>:<k>` for the k-th swap of a
/// multi-swap tx), tx hash = signature. Exchange time is left 0.
pub fn swap_event(
    venue: Sym,
    pool: &PoolInfo,
    tx: &TxLogs<'_>,
    swap: Swap,
    leg: Option<usize>,
) -> Option<Event> {
    let coin = scaled(swap.coin, pool.coin_decimals)?;
    let pc = scaled(swap.pc, pool.pc_decimals)?;
    if coin.is_zero() {
        return None;
    }
    let id = match leg {
        None => format!("solana:{}", tx.signature),
        Some(k) => format!("solana:{}:{k}", tx.signature),
    };
    let mut e = Event::new(EventKind::Swap, venue, pool.symbol, id, 0);
    e.price = pc.checked_div(coin)?;
    e.size = coin;
    e.side = swap.side;
    e.notional_usd = pool.pc_is_usd.then_some(pc);
    e.notional_ref = pool.pc_ref.map(|r| (r, pc));
    e.listing = pool.listing;
    e.tx_hash = Some(tx.signature.to_string());
    Some(e)
}

/// `raw / 10^decimals`; `None` past `Decimal`'s 28-digit scale.
fn scaled(raw: u64, decimals: u8) -> Option<Decimal> {
    Decimal::try_from_i128_with_scale(i128::from(raw), u32::from(decimals)).ok()
}

fn unrecognized(what: &str) -> ParseError {
    ParseError::Unrecognized { venue: VENUE, what: what.to_owned() }
}
