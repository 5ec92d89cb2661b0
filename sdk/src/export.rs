//! Glue between the generated bindings and the author's traits. Not API:
//! the `export_*!` macros expand to code that calls into this module, and
//! [`testing`](crate::testing) drives the same functions natively.
//!
//! The worlds are generated with `pub_export_macro`: the SDK's own
//! `component-type` sections then describe imports only, and the full world
//! (exports included) is emitted by the export macro inside the plugin
//! crate. So a component claims exactly its own world's exports even if
//! the SDK was built with several world features (as happens when cargo
//! unifies features across plugins built in one invocation); the features
//! only keep the other worlds' type imports out of the component.

use std::borrow::Cow;
use std::cell::RefCell;

use serde::de::DeserializeOwned;

use crate::event::{Account, Direction, Event, EventKind, Side, Symbol};
use crate::market::{Market, MissingFields, WindowStats};
use crate::verdict::{Field, Pass, Severity, Verdict};
use crate::{
    Alert, CooldownPolicy, Decision, EventRecord, Filter, Formatter, History, Markup, Message,
};

/// The host interface and the shared types, generated once: the per-world
/// modules below reuse them through `with`, so every world sees the same
/// Rust types and the host wrappers work whichever world is compiled in.
pub mod base {
    wit_bindgen::generate!({
        inline: "package klaxon:sdk; world base { import klaxon:plugin/host@0.1.0; import klaxon:plugin/types@0.1.0; }",
        path: "../wit",
        world: "klaxon:sdk/base",
        generate_all,
    });
}

// In wasm, only the world the plugin's feature asks for is compiled in, so
// its component imports no types of the other worlds. Natively all three
// are (they cost nothing there), so `cargo test` needs no features.

#[cfg(any(feature = "filter", not(target_arch = "wasm32")))]
pub mod filter {
    wit_bindgen::generate!({
        world: "klaxon:plugin/filter",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_filter",
        default_bindings_module: "klaxon_sdk::__private::filter",
        with: {
            "klaxon:plugin/types@0.1.0": super::base::klaxon::plugin::types,
            "klaxon:plugin/host@0.1.0": super::base::klaxon::plugin::host,
        },
    });
}

#[cfg(any(feature = "cooldown", not(target_arch = "wasm32")))]
pub mod cooldown {
    wit_bindgen::generate!({
        world: "klaxon:plugin/cooldown-policy",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_cooldown",
        default_bindings_module: "klaxon_sdk::__private::cooldown",
        with: {
            "klaxon:plugin/types@0.1.0": super::base::klaxon::plugin::types,
            "klaxon:plugin/host@0.1.0": super::base::klaxon::plugin::host,
        },
    });
}

#[cfg(any(feature = "formatter", not(target_arch = "wasm32")))]
pub mod formatter {
    wit_bindgen::generate!({
        world: "klaxon:plugin/formatter",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_formatter",
        default_bindings_module: "klaxon_sdk::__private::formatter",
        with: {
            "klaxon:plugin/types@0.1.0": super::base::klaxon::plugin::types,
            "klaxon:plugin/host@0.1.0": super::base::klaxon::plugin::host,
        },
    });
}

pub use crate::API_VERSION_BYTES;
pub const API_VERSION_LEN: usize = API_VERSION_BYTES.len();

/// The WIT types, shared by the three worlds.
pub use base::klaxon::plugin::types as wit;

/// Where the export macro keeps the configured plugin: one per instance.
pub type Slot<T> = RefCell<Option<T>>;

const NOT_CONFIGURED: &str = "klaxon-sdk: plugin called before a successful `configure`";

fn configure<T, P: DeserializeOwned>(
    slot: &Slot<T>,
    params_json: &str,
    new: impl FnOnce(P) -> Result<T, String>,
) -> Result<(), String> {
    let params = crate::params::parse_params::<P>(params_json)?;
    let plugin = new(params)?;
    *slot.borrow_mut() = Some(plugin);
    Ok(())
}

// ---------------------------------------------------------------- filter

pub fn filter_configure<F: Filter>(slot: &Slot<F>, params_json: &str) -> Result<(), String> {
    configure(slot, params_json, F::new)
}

pub fn filter_evaluate<F: Filter>(
    slot: &Slot<F>,
    event: wit::Event,
    market: wit::Market,
) -> wit::Verdict {
    let mut guard = slot.borrow_mut();
    let filter = guard.as_mut().expect(NOT_CONFIGURED);
    let view = Event {
        kind: kind_from_wit(event.kind),
        symbol: Symbol::new(&event.symbol),
        account: Account::from_option(event.account.as_deref()),
        price: event.price,
        size: event.size,
        notional_usd: event.notional_usd,
        side: side_from_wit(event.side),
        direction: direction_from_wit(event.direction),
        closed_pnl: event.closed_pnl,
        exchange_time_ms: event.exchange_time_ms,
        id: non_empty(&event.id),
        venue: non_empty(&event.venue),
        tx_hash: event.tx_hash.as_deref(),
    };
    let stats = |w: wit::WindowStats| WindowStats {
        change_pct: w.change_pct,
        volume_usd: w.volume_usd,
        trades: Some(w.trades),
    };
    let market = Market {
        last_price: market.last_price,
        window_1m: stats(market.window_1m),
        window_5m: stats(market.window_5m),
        window_1h: stats(market.window_1h),
        best_bid: market.best_bid,
        best_ask: market.best_ask,
        missing: MissingFields::from_bits(market.missing.bits()),
    };
    match filter.evaluate(&view, &market) {
        Verdict::Reject(reason) => wit::Verdict::Reject(reason.into_owned()),
        Verdict::Pass(pass) => wit::Verdict::Pass(pass_to_wit(pass)),
    }
}

/// The hot path: walks the columns row by row into `Filter::evaluate`.
/// A rejected row costs no allocation; names resolve only if asked.
pub fn filter_evaluate_batch<F: Filter>(
    slot: &Slot<F>,
    batch: wit::EventBatch,
) -> Vec<wit::Passed> {
    let mut guard = slot.borrow_mut();
    let filter = guard.as_mut().expect(NOT_CONFIGURED);
    let n = batch.kinds.len();
    let b = &batch;
    let lengths = [
        b.symbol_ids.len(),
        b.account_ids.len(),
        b.prices.len(),
        b.sizes.len(),
        b.notional_usd.len(),
        b.sides.len(),
        b.directions.len(),
        b.closed_pnl.len(),
        b.exchange_time_ms.len(),
        b.last_price.len(),
        b.change_1m.len(),
        b.change_5m.len(),
        b.change_1h.len(),
        b.volume_1m.len(),
        b.volume_5m.len(),
        b.volume_1h.len(),
        b.best_bid.len(),
        b.best_ask.len(),
        b.missing.len(),
    ];
    // A host bug, not an author's: trap rather than judge misaligned rows.
    assert!(
        lengths.iter().all(|&len| len == n),
        "klaxon-sdk: event-batch columns differ in length"
    );

    // Re-slicing every column to `n` lets the compiler drop the per-row
    // bounds checks below.
    let (kinds, symbol_ids, account_ids) = (&b.kinds[..n], &b.symbol_ids[..n], &b.account_ids[..n]);
    let (prices, sizes, notional) = (&b.prices[..n], &b.sizes[..n], &b.notional_usd[..n]);
    let (sides, directions, closed_pnl, times) =
        (&b.sides[..n], &b.directions[..n], &b.closed_pnl[..n], &b.exchange_time_ms[..n]);
    let (last_price, change_1m, change_5m, change_1h) =
        (&b.last_price[..n], &b.change_1m[..n], &b.change_5m[..n], &b.change_1h[..n]);
    let (volume_1m, volume_5m, volume_1h) =
        (&b.volume_1m[..n], &b.volume_5m[..n], &b.volume_1h[..n]);
    let (best_bid, best_ask, missing) = (&b.best_bid[..n], &b.best_ask[..n], &b.missing[..n]);

    let mut passed = Vec::new();
    for i in 0..n {
        let event = Event {
            kind: kind_from_code(kinds[i]),
            symbol: Symbol::from_id(symbol_ids[i]),
            account: Account::from_id(account_ids[i]),
            price: prices[i],
            size: sizes[i],
            notional_usd: not_nan(notional[i]),
            side: side_from_code(sides[i]),
            direction: direction_from_code(directions[i]),
            closed_pnl: not_nan(closed_pnl[i]),
            exchange_time_ms: times[i],
            id: None,
            venue: None,
            tx_hash: None,
        };
        let market = Market {
            last_price: last_price[i],
            window_1m: WindowStats {
                change_pct: change_1m[i],
                volume_usd: volume_1m[i],
                trades: None,
            },
            window_5m: WindowStats {
                change_pct: change_5m[i],
                volume_usd: volume_5m[i],
                trades: None,
            },
            window_1h: WindowStats {
                change_pct: change_1h[i],
                volume_usd: volume_1h[i],
                trades: None,
            },
            best_bid: best_bid[i],
            best_ask: best_ask[i],
            missing: MissingFields::from_bits(missing[i] as _),
        };
        match filter.evaluate(&event, &market) {
            // The common case; matching it apart keeps the drop glue (an
            // out-of-line call) off the hot path.
            Verdict::Reject(Cow::Borrowed(_)) => {}
            Verdict::Reject(Cow::Owned(reason)) => drop(reason),
            Verdict::Pass(pass) => {
                passed.push(wit::Passed { row: i as u32, pass: pass_to_wit(pass) })
            }
        }
    }
    passed
}

/// The record's strings are never absent; an empty one means "unknown".
fn non_empty(text: &str) -> Option<&str> {
    if text.is_empty() { None } else { Some(text) }
}

#[inline(always)]
fn not_nan(value: f64) -> Option<f64> {
    if value.is_nan() { None } else { Some(value) }
}

// -------------------------------------------------------------- cooldown

pub fn cooldown_configure<C: CooldownPolicy>(
    slot: &Slot<C>,
    params_json: &str,
) -> Result<(), String> {
    configure(slot, params_json, C::new)
}

pub fn cooldown_decide<C: CooldownPolicy>(
    slot: &Slot<C>,
    alert: wit::Alert,
    history: wit::History,
) -> wit::Decision {
    let mut guard = slot.borrow_mut();
    let policy = guard.as_mut().expect(NOT_CONFIGURED);
    let history = History {
        last_fired_ms: history.last_fired_ms,
        last_value: history.last_value,
        last_severity: history.last_severity.map(severity_from_wit),
        fires: history.fires,
        suppressed_since_fire: history.suppressed_since_fire,
    };
    match policy.decide(&alert_from_wit(alert), &history) {
        Decision::Fire(severity) => wit::Decision::Fire(severity_to_wit(severity)),
        Decision::Suppress(reason) => wit::Decision::Suppress(reason.into_owned()),
    }
}

// ------------------------------------------------------------- formatter

pub fn formatter_configure<T: Formatter>(slot: &Slot<T>, params_json: &str) -> Result<(), String> {
    configure(slot, params_json, T::new)
}

pub fn formatter_format<T: Formatter>(slot: &Slot<T>, alert: wit::Alert) -> wit::Message {
    let mut guard = slot.borrow_mut();
    let formatter = guard.as_mut().expect(NOT_CONFIGURED);
    message_to_wit(formatter.format(&alert_from_wit(alert)))
}

pub fn formatter_format_digest<T: Formatter>(
    slot: &Slot<T>,
    alerts: Vec<wit::Alert>,
) -> wit::Message {
    let mut guard = slot.borrow_mut();
    let formatter = guard.as_mut().expect(NOT_CONFIGURED);
    let alerts: Vec<Alert> = alerts.into_iter().map(alert_from_wit).collect();
    message_to_wit(formatter.format_digest(&alerts))
}

// ----------------------------------------------------------- conversions

/// Enum codes in `event-batch` are the WIT declaration order (see
/// `wit/types.wit`). An unknown code is a host bug: trap rather than guess.
#[inline(always)]
pub(crate) fn kind_from_code(code: u8) -> EventKind {
    match code {
        0 => EventKind::Trade,
        1 => EventKind::Swap,
        2 => EventKind::PerpFill,
        3 => EventKind::Liquidation,
        4 => EventKind::BookTop,
        _ => panic!("klaxon-sdk: unknown event-kind code {code}"),
    }
}

#[inline(always)]
pub(crate) fn side_from_code(code: u8) -> Side {
    match code {
        0 => Side::Buy,
        1 => Side::Sell,
        _ => Side::Unknown,
    }
}

#[inline(always)]
pub(crate) fn direction_from_code(code: u8) -> Direction {
    match code {
        1 => Direction::OpenLong,
        2 => Direction::CloseLong,
        3 => Direction::OpenShort,
        4 => Direction::CloseShort,
        _ => Direction::None,
    }
}

#[inline(always)]
pub(crate) fn kind_from_wit(kind: wit::EventKind) -> EventKind {
    match kind {
        wit::EventKind::Trade => EventKind::Trade,
        wit::EventKind::Swap => EventKind::Swap,
        wit::EventKind::PerpFill => EventKind::PerpFill,
        wit::EventKind::Liquidation => EventKind::Liquidation,
        wit::EventKind::BookTop => EventKind::BookTop,
    }
}

#[inline(always)]
pub(crate) fn side_from_wit(side: wit::Side) -> Side {
    match side {
        wit::Side::Buy => Side::Buy,
        wit::Side::Sell => Side::Sell,
        wit::Side::Unknown => Side::Unknown,
    }
}

#[inline(always)]
pub(crate) fn direction_from_wit(direction: wit::Direction) -> Direction {
    match direction {
        wit::Direction::None => Direction::None,
        wit::Direction::OpenLong => Direction::OpenLong,
        wit::Direction::CloseLong => Direction::CloseLong,
        wit::Direction::OpenShort => Direction::OpenShort,
        wit::Direction::CloseShort => Direction::CloseShort,
    }
}

pub(crate) fn severity_from_wit(severity: wit::Severity) -> Severity {
    match severity {
        wit::Severity::Info => Severity::Info,
        wit::Severity::Warning => Severity::Warning,
        wit::Severity::Critical => Severity::Critical,
    }
}

pub(crate) fn severity_to_wit(severity: Severity) -> wit::Severity {
    match severity {
        Severity::Info => wit::Severity::Info,
        Severity::Warning => wit::Severity::Warning,
        Severity::Critical => wit::Severity::Critical,
    }
}

pub(crate) fn pass_to_wit(pass: Pass) -> wit::Pass {
    wit::Pass {
        alert_key: pass.alert_key,
        severity: severity_to_wit(pass.severity),
        value: pass.value,
        title: pass.title,
        fields: pass
            .fields
            .into_iter()
            .map(|f| wit::Field { name: f.name, value: f.value })
            .collect(),
    }
}

pub(crate) fn alert_from_wit(alert: wit::Alert) -> Alert {
    let e = alert.event;
    Alert {
        template: alert.template,
        alert_key: alert.alert_key,
        severity: severity_from_wit(alert.severity),
        value: alert.value,
        title: alert.title,
        fields: alert.fields.into_iter().map(|f| Field { name: f.name, value: f.value }).collect(),
        event: EventRecord {
            id: e.id,
            kind: kind_from_wit(e.kind),
            venue: e.venue,
            symbol: e.symbol,
            price: e.price,
            size: e.size,
            notional_usd: e.notional_usd,
            side: side_from_wit(e.side),
            account: e.account,
            tx_hash: e.tx_hash,
            exchange_time_ms: e.exchange_time_ms,
            direction: direction_from_wit(e.direction),
            closed_pnl: e.closed_pnl,
        },
    }
}

pub(crate) fn message_to_wit(message: Message) -> wit::Message {
    wit::Message {
        title: message.title,
        body: message.body,
        markup: match message.markup {
            Markup::Plain => wit::Markup::Plain,
            Markup::MarkdownV2 => wit::Markup::MarkdownV2,
            Markup::Markdown => wit::Markup::Markdown,
            Markup::Html => wit::Markup::Html,
        },
    }
}
