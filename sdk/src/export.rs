//! The generated WIT bindings and the glue between them and the author's
//! traits. Everything here is `#[doc(hidden)]` (`klaxon_sdk::__private`):
//! the export macros and [`testing`](crate::testing) call it; authors never
//! name it.
//!
//! Each plugin kind's exported resource (`rule`, `policy`, `formatter`) is
//! one of the `*Rule` cells below, holding one template's configured value.
//! wit-bindgen hands resource methods `&self`, so the value sits in a
//! `RefCell` (calls never nest: the host does not call back into a guest).

use std::cell::RefCell;
use std::slice::from_ref;

use crate::batch::{Batch, Output, Rows};
use crate::cols::Cols;
use crate::columns::Columns;
use crate::event::{Direction, EventKind, Side};
use crate::market::Market;
use crate::verdict::{Field, Pass, Severity, Verdict};
use crate::{
    Alert, CooldownPolicy, Decision, Event, EventRecord, Filter, Formatter, History, Markup,
    Message,
};

/// The host interface and the shared types, generated once: the per-world
/// modules below reuse them through `with`, so every world sees the same
/// Rust types and the host wrappers work whichever world is compiled in.
pub mod base {
    wit_bindgen::generate!({
        inline: "package klaxon:sdk; world base { import klaxon:plugin/host@0.2.0; import klaxon:plugin/watchlists@0.2.0; import klaxon:plugin/types@0.2.0; }",
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
            "klaxon:plugin/types@0.2.0": super::base::klaxon::plugin::types,
            "klaxon:plugin/host@0.2.0": super::base::klaxon::plugin::host,
            "klaxon:plugin/watchlists@0.2.0": super::base::klaxon::plugin::watchlists,
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
            "klaxon:plugin/types@0.2.0": super::base::klaxon::plugin::types,
            "klaxon:plugin/host@0.2.0": super::base::klaxon::plugin::host,
            "klaxon:plugin/watchlists@0.2.0": super::base::klaxon::plugin::watchlists,
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
            "klaxon:plugin/types@0.2.0": super::base::klaxon::plugin::types,
            "klaxon:plugin/host@0.2.0": super::base::klaxon::plugin::host,
            "klaxon:plugin/watchlists@0.2.0": super::base::klaxon::plugin::watchlists,
        },
    });
}

pub use crate::API_VERSION_BYTES;
pub const API_VERSION_LEN: usize = API_VERSION_BYTES.len();

/// The WIT types, shared by the three worlds.
pub use base::klaxon::plugin::types as wit;

fn create<T, P: serde::de::DeserializeOwned>(
    params_json: &str,
    new: impl FnOnce(P) -> Result<T, String>,
) -> Result<T, String> {
    crate::panic::install_hook();
    let params = crate::params::parse_params::<P>(params_json)?;
    new(params)
}

// ---------------------------------------------------------------- filter

/// One template's filter rule: the `rule` resource.
pub struct FilterRule<F> {
    filter: RefCell<F>,
    /// What `columns()` declared, with `missing` implied; fixed at create.
    columns: Columns,
}

impl<F: Filter> FilterRule<F> {
    /// The declared columns, as the host is told.
    pub fn columns(&self) -> Columns {
        self.columns
    }

    /// The configured filter.
    pub fn filter(&self) -> &RefCell<F> {
        &self.filter
    }
}

pub fn filter_create<F: Filter>(params_json: &str) -> Result<FilterRule<F>, String> {
    let filter = create(params_json, F::new)?;
    let columns = filter.columns().with_implied();
    Ok(FilterRule { filter: RefCell::new(filter), columns })
}

pub fn filter_columns<F: Filter>(rule: &FilterRule<F>) -> wit::Columns {
    wit::Columns::from_bits_retain(rule.columns.bits())
}

/// The single-event path: one-row columns over the record's fields, then
/// the same views (and the same projection) as the batch path.
pub fn filter_evaluate<F: Filter>(
    rule: &FilterRule<F>,
    event: wit::Event,
    market: wit::Market,
) -> wit::Verdict {
    let kind = event.kind as u8;
    let side = event.side as u8;
    let direction = event.direction as u8;
    let notional = event.notional_usd.unwrap_or(f64::NAN);
    let closed_pnl = event.closed_pnl.unwrap_or(f64::NAN);
    let tx = event.tx_hash.unwrap_or_default();
    let missing = market.missing.bits();
    let (m1, m5, h1) = (&market.window_1m, &market.window_5m, &market.window_1h);
    let one = Cols {
        len: 1,
        declared: Columns::ALL,
        kind: from_ref(&kind),
        venue: from_ref(&event.venue_id),
        symbol: from_ref(&event.symbol_id),
        account: from_ref(&event.account_id),
        price: from_ref(&event.price),
        size: from_ref(&event.size),
        notional: from_ref(&notional),
        side: from_ref(&side),
        direction: from_ref(&direction),
        closed_pnl: from_ref(&closed_pnl),
        time: from_ref(&event.exchange_time_ms),
        id: from_ref(&event.id),
        tx: from_ref(&tx),
        last_price: from_ref(&market.last_price),
        change: [from_ref(&m1.change_pct), from_ref(&m5.change_pct), from_ref(&h1.change_pct)],
        volume: [from_ref(&m1.volume_usd), from_ref(&m5.volume_usd), from_ref(&h1.volume_usd)],
        trades: [from_ref(&m1.trades), from_ref(&m5.trades), from_ref(&h1.trades)],
        best_bid: from_ref(&market.best_bid),
        best_ask: from_ref(&market.best_ask),
        missing: from_ref(&missing),
    };
    let cols = one.narrow(rule.columns);
    let verdict = rule
        .filter
        .borrow_mut()
        .evaluate(&Event { cols: &cols, row: 0 }, &Market { cols: &cols, row: 0 });
    match verdict {
        Verdict::Reject(reason) => wit::Verdict::Reject(reason.into_owned()),
        Verdict::Pass(pass) => wit::Verdict::Pass(pass_to_wit(pass)),
    }
}

/// The host's columns, every row, unchecked (each rule's
/// [`Cols::narrow`] checks the ones it declared).
fn batch_cols(b: &wit::EventBatch) -> Cols<'_> {
    Cols {
        len: b.len as usize,
        declared: Columns::ALL,
        kind: &b.kinds,
        venue: &b.venue_ids,
        symbol: &b.symbol_ids,
        account: &b.account_ids,
        price: &b.prices,
        size: &b.sizes,
        notional: &b.notional_usd,
        side: &b.sides,
        direction: &b.directions,
        closed_pnl: &b.closed_pnl,
        time: &b.exchange_time_ms,
        id: &b.event_ids,
        tx: &b.tx_hashes,
        last_price: &b.last_price,
        change: [&b.change_1m, &b.change_5m, &b.change_1h],
        volume: [&b.volume_1m, &b.volume_5m, &b.volume_1h],
        trades: [&b.trades_1m, &b.trades_5m, &b.trades_1h],
        best_bid: &b.best_bid,
        best_ask: &b.best_ask,
        missing: &b.missing,
    }
}

/// The hot path: for each rule entry `i`, scope host calls to it, then
/// run the rule over its rows. Passes come out ordered by rule, then row.
pub fn filter_evaluate_batch<'r, F: Filter>(
    batch: &wit::EventBatch,
    rules: impl IntoIterator<Item = (&'r FilterRule<F>, Option<&'r [u32]>)>,
) -> Vec<wit::RulePass> {
    let all = batch_cols(batch);
    let mut passes = Vec::new();
    // Rules of one plugin mostly declare the same columns: narrowed once.
    let mut cols = all.narrow(Columns::NONE);
    for (i, (rule, rows)) in rules.into_iter().enumerate() {
        let index = i as u32;
        crate::host::raw::scope(index);
        if cols.declared != rule.columns {
            cols = all.narrow(rule.columns);
        }
        let rows = Rows::checked(rows, all.len);
        let mut out = Output { rule: index, rows, cursor: 0, next_row: 0, passes: &mut passes };
        rule.filter.borrow_mut().evaluate_batch(&Batch { cols: &cols }, rows, &mut out);
    }
    crate::host::raw::end_entries();
    passes
}

#[cfg(any(feature = "filter", not(target_arch = "wasm32")))]
mod filter_exports {
    use super::filter::exports::klaxon::plugin::filter_rules as api;
    use super::*;

    impl<F: Filter> api::GuestRule for FilterRule<F> {
        fn create(params_json: String) -> Result<api::Rule, String> {
            filter_create::<F>(&params_json).map(api::Rule::new)
        }
        fn columns(&self) -> wit::Columns {
            filter_columns(self)
        }
        fn evaluate(&self, event: wit::Event, market: wit::Market) -> wit::Verdict {
            filter_evaluate(self, event, market)
        }
    }

    /// `evaluate-batch` as the export macro calls it.
    pub fn filter_evaluate_rules<F: Filter>(
        batch: api::EventBatch,
        rules: Vec<api::RuleRows<'_>>,
    ) -> Vec<wit::RulePass> {
        filter_evaluate_batch::<F>(
            &batch,
            rules.iter().map(|r| (r.rule.get::<FilterRule<F>>(), r.rows.as_deref())),
        )
    }
}
#[cfg(any(feature = "filter", not(target_arch = "wasm32")))]
pub use filter_exports::filter_evaluate_rules;

// -------------------------------------------------------------- cooldown

/// One template's cooldown policy: the `policy` resource.
pub struct CooldownRule<C> {
    policy: RefCell<C>,
}

pub fn cooldown_create<C: CooldownPolicy>(params_json: &str) -> Result<CooldownRule<C>, String> {
    Ok(CooldownRule { policy: RefCell::new(create(params_json, C::new)?) })
}

/// One decision; the caller has scoped host calls to the item.
pub fn cooldown_decide<C: CooldownPolicy>(
    rule: &CooldownRule<C>,
    alert: wit::Alert,
    history: wit::History,
) -> wit::Decision {
    let history = History {
        last_fired_ms: history.last_fired_ms,
        last_value: history.last_value,
        last_severity: history.last_severity.map(severity_from_wit),
        fires: history.fires,
        suppressed_since_fire: history.suppressed_since_fire,
    };
    match rule.policy.borrow_mut().decide(&alert_from_wit(alert), &history) {
        Decision::Fire(severity) => wit::Decision::Fire(severity_to_wit(severity)),
        Decision::Suppress(reason) => wit::Decision::Suppress(reason.into_owned()),
    }
}

#[cfg(any(feature = "cooldown", not(target_arch = "wasm32")))]
mod cooldown_exports {
    use super::cooldown::exports::klaxon::plugin::cooldown_policies as api;
    use super::*;

    impl<C: CooldownPolicy> api::GuestPolicy for CooldownRule<C> {
        fn create(params_json: String) -> Result<api::Policy, String> {
            cooldown_create::<C>(&params_json).map(api::Policy::new)
        }
    }

    /// `decide-batch`: scope to item `i`, decide it; one decision per item.
    pub fn cooldown_decide_items<C: CooldownPolicy>(
        items: Vec<api::DecideItem<'_>>,
    ) -> Vec<wit::Decision> {
        let mut decisions = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            crate::host::raw::scope(i as u32);
            let rule = item.policy.get::<CooldownRule<C>>();
            decisions.push(cooldown_decide(rule, item.alert, item.history));
        }
        crate::host::raw::end_entries();
        decisions
    }
}
#[cfg(any(feature = "cooldown", not(target_arch = "wasm32")))]
pub use cooldown_exports::cooldown_decide_items;

// ------------------------------------------------------------- formatter

/// One template's formatter: the `formatter` resource.
pub struct FormatterRule<T> {
    formatter: RefCell<T>,
}

pub fn formatter_create<T: Formatter>(params_json: &str) -> Result<FormatterRule<T>, String> {
    Ok(FormatterRule { formatter: RefCell::new(create(params_json, T::new)?) })
}

pub fn formatter_format<T: Formatter>(rule: &FormatterRule<T>, alert: wit::Alert) -> wit::Message {
    message_to_wit(rule.formatter.borrow_mut().format(&alert_from_wit(alert)))
}

pub fn formatter_format_digest<T: Formatter>(
    rule: &FormatterRule<T>,
    alerts: Vec<wit::Alert>,
) -> wit::Message {
    let alerts: Vec<Alert> = alerts.into_iter().map(alert_from_wit).collect();
    message_to_wit(rule.formatter.borrow_mut().format_digest(&alerts))
}

#[cfg(any(feature = "formatter", not(target_arch = "wasm32")))]
mod formatter_exports {
    use super::formatter::exports::klaxon::plugin::formatters as api;
    use super::*;

    impl<T: Formatter> api::GuestFormatter for FormatterRule<T> {
        fn create(params_json: String) -> Result<api::Formatter, String> {
            formatter_create::<T>(&params_json).map(api::Formatter::new)
        }
        fn format(&self, alert: wit::Alert) -> wit::Message {
            formatter_format(self, alert)
        }
        fn format_digest(&self, alerts: Vec<wit::Alert>) -> wit::Message {
            formatter_format_digest(self, alerts)
        }
    }
}

// ----------------------------------------------------------- conversions

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
