//! Results of the node's HTTP JSON-RPC methods the Solana source calls:
//! `getAccountInfo` (a pool's mints and decimals, once per pool),
//! `getSignaturesForAddress` and `getTransaction` (backfill after a
//! reconnect, and telling which swap of a multi-hop tx ran in our pool).
//! Rare next to the stream, so they read the REST client's `Value`.

use std::borrow::Cow;

use base64::Engine;
use serde_json::Value;

use super::parse::{NoSwap, Swap, TxLogs, ray_logs};

/// From a `getSignaturesForAddress` result (newest first), the signatures
/// of successful txs at or after `from_slot`, oldest first.
pub fn signatures_since(result: &Value, from_slot: u64) -> Vec<String> {
    let Some(entries) = result.as_array() else { return Vec::new() };
    let mut out: Vec<String> = entries
        .iter()
        .filter(|e| e.get("slot").and_then(Value::as_u64).is_some_and(|s| s >= from_slot))
        .filter(|e| e.get("err").is_none_or(Value::is_null))
        .filter_map(|e| e.get("signature").and_then(Value::as_str).map(str::to_owned))
        .collect();
    out.reverse();
    out
}

/// A `getTransaction` result as the logs a notification would have carried.
pub fn tx_logs<'a>(signature: &'a str, result: &'a Value) -> Option<TxLogs<'a>> {
    let meta = result.get("meta")?;
    let logs = meta
        .get("logMessages")?
        .as_array()?
        .iter()
        .map(|l| l.as_str().map(Cow::Borrowed))
        .collect::<Option<Vec<_>>>()?;
    Some(TxLogs {
        subscription: 0,
        slot: result.get("slot").and_then(Value::as_u64).unwrap_or(0),
        signature: Cow::Borrowed(signature),
        failed: meta.get("err").is_some_and(|e| !e.is_null()),
        logs,
    })
}

/// From a `getTransaction` result (`jsonParsed` encoding), the pool (second
/// account) of every `program` instruction in execution order: each
/// top-level instruction, then the inner instructions it invoked. `None` when
/// the result does not have that shape.
pub fn amm_ids_in_order(tx: &Value, program: &str) -> Option<Vec<String>> {
    let top = tx.pointer("/transaction/message/instructions")?.as_array()?;
    let inner = tx.pointer("/meta/innerInstructions").and_then(Value::as_array);
    let mut out = Vec::new();
    let mut take = |ix: &Value| -> Option<()> {
        if ix.get("programId").and_then(Value::as_str) == Some(program) {
            out.push(ix.get("accounts")?.get(1)?.as_str()?.to_owned());
        }
        Some(())
    };
    for (i, ix) in top.iter().enumerate() {
        take(ix)?;
        for group in inner
            .into_iter()
            .flatten()
            .filter(|g| g.get("index").and_then(Value::as_u64) == Some(i as u64))
        {
            for ix in group.get("instructions")?.as_array()? {
                take(ix)?;
            }
        }
    }
    Some(out)
}

/// `pool`'s swap in a multi-swap tx, with its position among the tx's
/// `ray_log`s: pairs the k-th `ray_log` with the k-th pool of `amm_ids`
/// (see [`amm_ids_in_order`]). Counts that differ mean the pairing is unsafe.
pub fn attribute(
    tx: &TxLogs<'_>,
    program: &str,
    amm_ids: &[String],
    pool: &str,
) -> Result<(usize, Swap), NoSwap> {
    let logs = ray_logs(&tx.logs, program)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(NoSwap::Bad)?;
    if logs.len() != amm_ids.len() {
        return Err(NoSwap::Ambiguous(logs.len()));
    }
    logs.iter()
        .zip(amm_ids)
        .enumerate()
        .find_map(|(k, (log, id))| if id == pool { log.swap().map(|s| (k, s)) } else { None })
        .ok_or(NoSwap::None)
}

/// The AMM account fields we need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmmAccount {
    pub coin_decimals: u8,
    pub pc_decimals: u8,
    /// Base58 mint addresses.
    pub coin_mint: String,
    pub pc_mint: String,
}

/// Offsets in Raydium AMM v4's `AmmInfo` (`#[repr(C, packed)]`, 752 bytes),
/// from raydium-io/raydium-amm `program/src/state.rs` @ 02f35133: sixteen
/// `u64`s (`status, nonce, order_num, depth, coin_decimals, pc_decimals, …`),
/// `Fees` (8 × u64 = 64), `StateData` (144), then `coin_vault, pc_vault,
/// coin_vault_mint, pc_vault_mint, …` (32-byte keys).
pub const AMM_INFO_LEN: usize = 752;
const COIN_DECIMALS: usize = 4 * 8;
const PC_DECIMALS: usize = 5 * 8;
const COIN_MINT: usize = 16 * 8 + 64 + 144 + 2 * 32;
const PC_MINT: usize = COIN_MINT + 32;

/// Why an account is not a Raydium AMM v4 pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("no such account")]
    Missing,
    #[error("account data is not base64: {0}")]
    Encoding(String),
    #[error("account is {0} bytes, an AMM v4 pool has {AMM_INFO_LEN}")]
    Size(usize),
    #[error("decimals {0} out of range")]
    Decimals(u64),
}

/// Read `getAccountInfo`'s `result` (`{context, value: {data: [b64, "base64"], …}}`).
pub fn amm_account(result: &Value) -> Result<AmmAccount, AccountError> {
    let value = result.get("value").filter(|v| !v.is_null()).ok_or(AccountError::Missing)?;
    let b64 = value
        .pointer("/data/0")
        .and_then(Value::as_str)
        .ok_or_else(|| AccountError::Encoding("`data` is not [base64, \"base64\"]".into()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| AccountError::Encoding(e.to_string()))?;
    amm_account_bytes(&bytes)
}

pub fn amm_account_bytes(bytes: &[u8]) -> Result<AmmAccount, AccountError> {
    if bytes.len() != AMM_INFO_LEN {
        return Err(AccountError::Size(bytes.len()));
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8-byte slice"));
    let decimals = |at: usize| {
        let d = word(at);
        u8::try_from(d).ok().filter(|d| *d <= 28).ok_or(AccountError::Decimals(d))
    };
    let key = |at: usize| bs58::encode(&bytes[at..at + 32]).into_string();
    Ok(AmmAccount {
        coin_decimals: decimals(COIN_DECIMALS)?,
        pc_decimals: decimals(PC_DECIMALS)?,
        coin_mint: key(COIN_MINT),
        pc_mint: key(PC_MINT),
    })
}

/// Whether `text` is a base58 32-byte public key.
pub fn is_pubkey(text: &str) -> bool {
    bs58::decode(text).into_vec().is_ok_and(|b| b.len() == 32)
}
