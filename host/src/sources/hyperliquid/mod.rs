//! Hyperliquid: trades, book tops and account fills from the WebSocket API.
//!
//! * [`parse`]: pure frame parser (trades, bbo, l2Book, userFills, user
//!   events), shared with replay;
//! * `config`: [`HyperliquidConfig`], defaults and validation;
//! * `subscription`: the wanted set from config and templates, within the
//!   per-IP limits;
//! * `placement`: which connection carries which subscription, and the
//!   subscribe/unsubscribe diff when the wanted set changes;
//! * `connection`: one socket: subscribe, ping, reconnect, forward frames;
//! * `dedup`: trades and fills already emitted (replays after reconnects);
//! * `source`: the running source tying them together.
//!
//! User docs: `docs/sources/hyperliquid.md`.

mod config;
mod connection;
mod dedup;
mod parse;
mod placement;
mod source;
mod subscription;

pub use config::{HyperliquidConfig, MarketChannel};
pub use parse::*;
pub(crate) use source::run;
