//! Write Klaxon plugins in Rust: filters, cooldown policies and formatters
//! that the host runs as sandboxed WebAssembly components
//! (WIT package `klaxon:plugin@0.2.0`).
//!
//! Implement one of the traits and register it with its macro:
//!
//! | kind | trait | macro | WIT world (export) |
//! | --- | --- | --- | --- |
//! | filter | [`Filter`] | [`export_filter!`] | `klaxon:plugin/filter` (`filter-rules`) |
//! | cooldown policy | [`CooldownPolicy`] | [`export_cooldown!`] | `klaxon:plugin/cooldown-policy` (`cooldown-policies`) |
//! | formatter | [`Formatter`] | [`export_formatter!`] | `klaxon:plugin/formatter` (`formatters`) |
//!
//! ```
//! use klaxon_sdk::{Columns, Event, Filter, Market, Pass, Verdict, export_filter};
//! use serde::Deserialize;
//!
//! /// Params, as written in the template (`deny_unknown_fields` makes a typo an error
//! /// that names the field).
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Params {
//!     /// Smallest trade worth an alert, in USD.
//!     min_notional_usd: f64,
//! }
//!
//! struct BigTrade { min: f64 }
//!
//! impl Filter for BigTrade {
//!     type Params = Params;
//!     fn new(params: Params) -> Result<Self, String> {
//!         Ok(BigTrade { min: params.min_notional_usd })
//!     }
//!     /// Exactly what `evaluate` reads; the host sends nothing else.
//!     fn columns(&self) -> Columns {
//!         Columns::NOTIONAL_USD | Columns::SYMBOL
//!     }
//!     fn evaluate(&mut self, event: &Event, _market: &Market) -> Verdict {
//!         match event.notional_usd() {
//!             Some(usd) if usd >= self.min => {
//!                 let symbol = event.symbol().name();
//!                 Pass::new(symbol, format!("Big trade on {symbol}")).with_value(usd).into()
//!             }
//!             _ => Verdict::reject("below threshold"),
//!         }
//!     }
//! }
//!
//! export_filter!(BigTrade);
//!
//! // Offline, through the same glue as the wasm exports:
//! use klaxon_sdk::{EventRecord, MarketRecord, testing::{FilterHarness, json}};
//! let rule = FilterHarness::<BigTrade>::configure_json(&json!({"min_notional_usd": 1000})).unwrap();
//! let big = EventRecord::trade("BTCUSDT", 50_000.0, 1.0);
//! assert_eq!(rule.evaluate(&big, &MarketRecord::default()).into_pass().unwrap().title,
//!            "Big trade on BTCUSDT");
//! assert_eq!(rule.evaluate_batch(&[(big, MarketRecord::default())]).len(), 1);
//! ```
//!
//! What the SDK does for you:
//!
//! * one instance serves many templates: each template's rule is a WIT
//!   resource that `create(params-json)` builds with your `new`, after
//!   parsing your `Params` with errors that name the field
//!   (``min_notinal: unknown field `min_notinal`, expected …``);
//! * column projection: your [`Filter::columns`] is what the host fills,
//!   and the views ([`Event`], [`Market`], [`Batch`]) panic on a read of
//!   any other column, on both paths, naming it;
//! * the batch export (`evaluate-batch`, the hot path) serves several rules
//!   per call, scoping host calls to each, and walks the columns in place
//!   into your `evaluate` (or hands them to your
//!   [`Filter::evaluate_batch`]); names resolve only when you ask
//!   ([`Symbol::name`]), once per id per instance;
//! * a panic's message reaches the host's log before the instance traps;
//! * [`watchlist`] asks the host about the lists ops keep live
//!   (membership, a value per entry), by name or by interned id;
//! * [`host`] wraps the host imports (log, clock, KV, prices, names), and on
//!   non-wasm targets they run against the in-memory double in [`testing`],
//!   so plugin tests are plain `cargo test`;
//! * every plugin carries a `klaxon:api-version` custom section with
//!   [`API_VERSION`], which the host checks before compiling.
//!
//! Build with `cargo build --target wasm32-unknown-unknown --profile plugin
//! -p <crate>` and componentize (or `klaxon plugin build <dir>`); see
//! `docs/plugin-guide.md`.

mod alert;
mod batch;
mod cols;
mod columns;
mod duration;
mod event;
pub mod fmt;
pub mod host;
mod market;
mod names;
mod panic;
mod params;
mod verdict;
pub mod watchlist;
mod window;

#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

#[doc(hidden)]
#[path = "export.rs"]
pub mod __private;

include!(concat!(env!("OUT_DIR"), "/api_version.rs"));

// What authors need, and nothing generated: the bindings stay in `__private`.
pub use alert::{Alert, Decision, History, Markup, Message};
pub use batch::{Batch, Output, Rows, RowsIter};
pub use columns::Columns;
pub use duration::Duration;
pub use event::{
    Account, Direction, Event, EventKind, EventKinds, EventRecord, Side, Symbol, Venue,
};
pub use market::{Market, MarketRecord, MissingFields, Window, WindowStats};
pub use params::parse_params;
pub use verdict::{Field, Pass, Severity, Verdict};

/// Re-exported so plugins need not pin their own copy.
pub use serde;

use serde::de::DeserializeOwned;

/// Decides whether an event is worth an alert. One value per template (a
/// "rule"): the host builds it with `new` from the template's params, and
/// one instance holds the rules of many templates. Calls for one rule come
/// on one thread, in order per alert key.
///
/// State kept in `self` lives as long as the instance, which the host may
/// recycle at any time (after a trap, a hot swap, or N calls) and which
/// other workers do not share; keep anything that must survive in the KV
/// store ([`host::kv_get`]), which is the template's own.
pub trait Filter: Sized + 'static {
    /// The template's params, parsed from JSON. Use
    /// `#[serde(deny_unknown_fields)]` and document each field.
    type Params: DeserializeOwned;

    /// Builds the rule, or explains which param is wrong
    /// (`window: must be greater than 0`).
    fn new(params: Self::Params) -> Result<Self, String>;

    /// The columns this rule reads, asked once after `new`. The host fills
    /// only these (and [`Columns::MISSING`], which the SDK adds when any
    /// market column is declared); reading any other panics with a message
    /// naming the column, on the single-event and the batch path alike.
    /// Each column costs ~1–2 ns per row in a batch; `EVENT_ID` and
    /// `TX_HASH` ~55 ns (strings).
    fn columns(&self) -> Columns;

    /// Judges one event. Called for single events and, by the default
    /// [`evaluate_batch`](Filter::evaluate_batch), for every row of a
    /// batch: keep the reject path allocation-free ([`Verdict::reject`]
    /// with a `&'static str`), and ask for `event.symbol().name()` only
    /// when you need it. The market already includes this event.
    fn evaluate(&mut self, event: &Event<'_>, market: &Market<'_>) -> Verdict;

    /// Judges `rows` of `batch`, recording passes in `out` (ascending
    /// rows). The default walks the rows into [`evaluate`](Filter::evaluate);
    /// override it to work on whole columns ([`Batch::notional_usd`], …).
    /// It must give the same passes as `evaluate` would, row by row.
    #[inline]
    fn evaluate_batch(&mut self, batch: &Batch<'_>, rows: Rows<'_>, out: &mut Output<'_>) {
        // One loop per kind of `Rows`, so the hot loop has no variant
        // match; rows were checked against the batch length, so the views
        // are built without another check.
        let cols = batch.cols;
        match rows {
            Rows::All(n) => {
                for row in 0..n {
                    let event = Event { cols, row };
                    let market = Market { cols, row };
                    out.verdict(row, self.evaluate(&event, &market));
                }
            }
            Rows::Only(list) => {
                for &row in list {
                    let row = row as usize;
                    let event = Event { cols, row };
                    let market = Market { cols, row };
                    out.verdict(row, self.evaluate(&event, &market));
                }
            }
        }
    }
}

/// Decides whether a passing alert is sent or held back, given what the
/// host remembers about its key. One value per template; the host records
/// the decision, so the policy itself need not store anything.
pub trait CooldownPolicy: Sized + 'static {
    type Params: DeserializeOwned;

    fn new(params: Self::Params) -> Result<Self, String>;

    /// Fire (at a severity, possibly raised) or suppress with a short,
    /// stable reason such as `cooldown 10m`. The host clock is
    /// [`host::now_ms`].
    fn decide(&mut self, alert: &Alert, history: &History) -> Decision;
}

/// Renders alerts as messages. One value per template. `title` is plain
/// text (subject lines, previews, logs); `body` is the complete message in
/// `markup`, headline included, so chat sinks can send the body alone.
pub trait Formatter: Sized + 'static {
    type Params: DeserializeOwned;

    fn new(params: Self::Params) -> Result<Self, String>;

    fn format(&mut self, alert: &Alert) -> Message;

    /// Renders several alerts as one message. The default joins each
    /// alert's `format` body with blank lines under `N alerts`.
    fn format_digest(&mut self, alerts: &[Alert]) -> Message {
        let mut body = String::new();
        let mut markup = Markup::Plain;
        for alert in alerts {
            let message = self.format(alert);
            markup = message.markup;
            if !body.is_empty() {
                body.push_str("\n\n");
            }
            body.push_str(&message.body);
        }
        Message { title: format!("{} alerts", alerts.len()), body, markup }
    }
}

#[cfg(all(target_arch = "wasm32", not(feature = "filter")))]
#[macro_export]
macro_rules! export_filter {
    ($plugin:ty) => {
        ::core::compile_error!(
            "klaxon-sdk: `export_filter!` needs the `filter` feature: klaxon-sdk = { version = \"…\", features = [\"filter\"] }"
        );
    };
}

/// Exports a [`Filter`] as the plugin's `klaxon:plugin/filter` world: the
/// `filter-rules` interface, whose `rule` resource holds one `$plugin`
/// per template. Use exactly one `export_*!` macro per crate.
#[cfg(any(feature = "filter", not(target_arch = "wasm32")))]
#[macro_export]
macro_rules! export_filter {
    ($plugin:ty) => {
        $crate::__export_common!($plugin, $crate::Filter);
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::filter::exports::klaxon::plugin::filter_rules as __api;
            struct __KlaxonExports;
            impl __api::Guest for __KlaxonExports {
                type Rule = $crate::__private::FilterRule<$plugin>;
                fn evaluate_batch(
                    batch: __api::EventBatch,
                    rules: ::std::vec::Vec<__api::RuleRows<'_>>,
                ) -> ::std::vec::Vec<__api::RulePass> {
                    $crate::__private::filter_evaluate_rules::<$plugin>(batch, rules)
                }
            }
            $crate::__private::filter::__export_filter!(__KlaxonExports with_types_in $crate::__private::filter);
        };
    };
}

#[cfg(all(target_arch = "wasm32", not(feature = "cooldown")))]
#[macro_export]
macro_rules! export_cooldown {
    ($plugin:ty) => {
        ::core::compile_error!(
            "klaxon-sdk: `export_cooldown!` needs the `cooldown` feature: klaxon-sdk = { version = \"…\", features = [\"cooldown\"] }"
        );
    };
}

/// Exports a [`CooldownPolicy`] as the plugin's
/// `klaxon:plugin/cooldown-policy` world: the `cooldown-policies`
/// interface, whose `policy` resource holds one `$plugin` per template.
/// Use exactly one `export_*!` macro per crate.
#[cfg(any(feature = "cooldown", not(target_arch = "wasm32")))]
#[macro_export]
macro_rules! export_cooldown {
    ($plugin:ty) => {
        $crate::__export_common!($plugin, $crate::CooldownPolicy);
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::cooldown::exports::klaxon::plugin::cooldown_policies as __api;
            struct __KlaxonExports;
            impl __api::Guest for __KlaxonExports {
                type Policy = $crate::__private::CooldownRule<$plugin>;
                fn decide_batch(
                    items: ::std::vec::Vec<__api::DecideItem<'_>>,
                ) -> ::std::vec::Vec<__api::Decision> {
                    $crate::__private::cooldown_decide_items::<$plugin>(items)
                }
            }
            $crate::__private::cooldown::__export_cooldown!(__KlaxonExports with_types_in $crate::__private::cooldown);
        };
    };
}

#[cfg(all(target_arch = "wasm32", not(feature = "formatter")))]
#[macro_export]
macro_rules! export_formatter {
    ($plugin:ty) => {
        ::core::compile_error!(
            "klaxon-sdk: `export_formatter!` needs the `formatter` feature: klaxon-sdk = { version = \"…\", features = [\"formatter\"] }"
        );
    };
}

/// Exports a [`Formatter`] as the plugin's `klaxon:plugin/formatter` world:
/// the `formatters` interface, whose `formatter` resource holds one
/// `$plugin` per template. Use exactly one `export_*!` macro per crate.
#[cfg(any(feature = "formatter", not(target_arch = "wasm32")))]
#[macro_export]
macro_rules! export_formatter {
    ($plugin:ty) => {
        $crate::__export_common!($plugin, $crate::Formatter);
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::formatter::exports::klaxon::plugin::formatters as __api;
            struct __KlaxonExports;
            impl __api::Guest for __KlaxonExports {
                type Formatter = $crate::__private::FormatterRule<$plugin>;
            }
            $crate::__private::formatter::__export_formatter!(__KlaxonExports with_types_in $crate::__private::formatter);
        };
    };
}

/// What every export macro emits: a trait check that also runs on native
/// targets (so `cargo test` catches a wrong registration), a guard against
/// two export macros in one module, and the API version stamp.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_common {
    ($plugin:ty, $trait:path) => {
        /// Only one `export_*!` macro may be used per plugin crate.
        #[allow(non_camel_case_types, dead_code)]
        enum __klaxon_only_one_export_macro_per_crate {}

        const _: () = {
            fn __klaxon_implements<T: $trait>() {}
            let _ = __klaxon_implements::<$plugin>;
        };

        /// Read by the host (with wasmparser) before it compiles the plugin.
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "klaxon:api-version")]
        #[used]
        static __KLAXON_API_VERSION: [u8; $crate::__private::API_VERSION_LEN] =
            $crate::__private::API_VERSION_BYTES;
    };
}
