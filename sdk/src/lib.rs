//! Write Klaxon plugins in Rust: filters, cooldown policies and formatters
//! that the host runs as sandboxed WebAssembly components.
//!
//! Implement one of the traits and register it with its macro:
//!
//! | kind | trait | macro | WIT world |
//! | --- | --- | --- | --- |
//! | filter | [`Filter`] | [`export_filter!`] | `klaxon:plugin/filter` |
//! | cooldown policy | [`CooldownPolicy`] | [`export_cooldown!`] | `klaxon:plugin/cooldown-policy` |
//! | formatter | [`Formatter`] | [`export_formatter!`] | `klaxon:plugin/formatter` |
//!
//! ```
//! use klaxon_sdk::{Event, Filter, Market, Pass, Verdict, export_filter};
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
//!     fn evaluate(&mut self, event: &Event, _market: &Market) -> Verdict {
//!         match event.notional_usd {
//!             Some(usd) if usd >= self.min => {
//!                 let symbol = event.symbol.name();
//!                 Pass::new(symbol, format!("Big trade on {symbol}")).with_value(usd).into()
//!             }
//!             _ => Verdict::reject("below threshold"),
//!         }
//!     }
//! }
//!
//! export_filter!(BigTrade);
//! ```
//!
//! What the SDK does for you:
//!
//! * `configure(params-json)` parses your `Params`; errors name the field
//!   (``min_notinal: unknown field `min_notinal`, expected …``), then calls `new`;
//! * the filter's batch export (`evaluate-batch`, the hot path) walks the
//!   host's columns row by row into your `evaluate` and returns the passing
//!   rows; symbol and account names resolve only when you ask
//!   ([`Symbol::name`]), once per id per instance;
//! * [`host`] wraps the host imports (log, clock, KV, prices), and on
//!   non-wasm targets they run against the in-memory double in [`testing`],
//!   so plugin tests are plain `cargo test`;
//! * every plugin carries a `klaxon:api-version` custom section with
//!   [`API_VERSION`], which the host checks before compiling.
//!
//! Build with `cargo build --target wasm32-unknown-unknown --profile plugin
//! -p <crate>` and componentize (or `klaxon plugin build <dir>`); see
//! `docs/plugin-guide.md`.
//!
//! Modules: [`event`](Event) (what a filter reads), [`Verdict`]/[`Pass`]
//! (what it answers), [`Alert`]/[`History`]/[`Decision`]/[`Message`] (the
//! later stages), [`host`], [`fmt`] (money, percent, time, MarkdownV2),
//! [`Duration`] (`"10m"` in params), [`testing`].

mod alert;
mod duration;
mod event;
pub mod fmt;
pub mod host;
mod market;
mod names;
mod params;
mod verdict;

#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

#[doc(hidden)]
#[path = "export.rs"]
pub mod __private;

include!(concat!(env!("OUT_DIR"), "/api_version.rs"));

// What authors need, and nothing generated: the bindings stay in `__private`.
pub use alert::{Alert, Decision, History, Markup, Message};
pub use duration::Duration;
pub use event::{Account, Direction, Event, EventKind, EventKinds, EventRecord, Side, Symbol};
pub use market::{Market, MissingFields, Window, WindowStats};
pub use params::parse_params;
pub use verdict::{Field, Pass, Severity, Verdict};

/// Re-exported so plugins need not pin their own copy.
pub use serde;

use serde::de::DeserializeOwned;

/// Decides whether an event is worth an alert. One value per instance: the
/// host calls `new` once (via `configure`) and then `evaluate` for every
/// event routed to the template, on one thread, in order per alert key.
///
/// State kept in `self` lives as long as the instance, which the host may
/// recycle at any time (after a trap, a hot swap, or N calls) and which
/// other workers do not share; keep anything that must survive in the KV
/// store ([`host::kv_get`]).
pub trait Filter: Sized + 'static {
    /// The template's params, parsed from JSON. Use
    /// `#[serde(deny_unknown_fields)]` and document each field.
    type Params: DeserializeOwned;

    /// Builds the filter, or explains which param is wrong
    /// (`window: must be greater than 0`).
    fn new(params: Self::Params) -> Result<Self, String>;

    /// Judges one event. Called for single events and for every row of a
    /// batch: keep the reject path allocation-free
    /// ([`Verdict::reject`] with a `&'static str`), and ask for
    /// `event.symbol.name()` only when you need it.
    fn evaluate(&mut self, event: &Event<'_>, market: &Market) -> Verdict;
}

/// Decides whether a passing alert is sent or held back, given what the
/// host remembers about its key. The host records the decision; the policy
/// itself need not store anything.
pub trait CooldownPolicy: Sized + 'static {
    type Params: DeserializeOwned;

    fn new(params: Self::Params) -> Result<Self, String>;

    /// Fire (at a severity, possibly raised) or suppress with a short,
    /// stable reason such as `cooldown 10m`. The host clock is
    /// [`host::now_ms`].
    fn decide(&mut self, alert: &Alert, history: &History) -> Decision;
}

/// Renders alerts as messages. `title` is plain text (subject lines,
/// previews, logs); `body` is the complete message in `markup`, headline
/// included, so chat sinks can send the body alone.
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

/// Exports a [`Filter`] as the plugin's `klaxon:plugin/filter` world.
/// Use exactly one `export_*!` macro per crate.
#[cfg(any(feature = "filter", not(target_arch = "wasm32")))]
#[macro_export]
macro_rules! export_filter {
    ($plugin:ty) => {
        $crate::__export_common!($plugin, $crate::Filter);
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::filter as __bindings;
            ::std::thread_local! {
                static __KLAXON_PLUGIN: $crate::__private::Slot<$plugin> = const { ::core::cell::RefCell::new(None) };
            }
            struct __KlaxonExports;
            impl __bindings::Guest for __KlaxonExports {
                fn configure(params_json: ::std::string::String) -> ::core::result::Result<(), ::std::string::String> {
                    __KLAXON_PLUGIN.with(|slot| $crate::__private::filter_configure::<$plugin>(slot, &params_json))
                }
                fn evaluate(event: __bindings::Event, market: __bindings::Market) -> __bindings::Verdict {
                    __KLAXON_PLUGIN.with(|slot| $crate::__private::filter_evaluate::<$plugin>(slot, event, market))
                }
                fn evaluate_batch(batch: __bindings::EventBatch) -> ::std::vec::Vec<__bindings::Passed> {
                    __KLAXON_PLUGIN.with(|slot| $crate::__private::filter_evaluate_batch::<$plugin>(slot, batch))
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
/// `klaxon:plugin/cooldown-policy` world. Use exactly one `export_*!` macro
/// per crate.
#[cfg(any(feature = "cooldown", not(target_arch = "wasm32")))]
#[macro_export]
macro_rules! export_cooldown {
    ($plugin:ty) => {
        $crate::__export_common!($plugin, $crate::CooldownPolicy);
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::cooldown as __bindings;
            ::std::thread_local! {
                static __KLAXON_PLUGIN: $crate::__private::Slot<$plugin> = const { ::core::cell::RefCell::new(None) };
            }
            struct __KlaxonExports;
            impl __bindings::Guest for __KlaxonExports {
                fn configure(params_json: ::std::string::String) -> ::core::result::Result<(), ::std::string::String> {
                    __KLAXON_PLUGIN.with(|slot| $crate::__private::cooldown_configure::<$plugin>(slot, &params_json))
                }
                fn decide(alert: __bindings::Alert, history: __bindings::History) -> __bindings::Decision {
                    __KLAXON_PLUGIN.with(|slot| $crate::__private::cooldown_decide::<$plugin>(slot, alert, history))
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

/// Exports a [`Formatter`] as the plugin's `klaxon:plugin/formatter` world.
/// Use exactly one `export_*!` macro per crate.
#[cfg(any(feature = "formatter", not(target_arch = "wasm32")))]
#[macro_export]
macro_rules! export_formatter {
    ($plugin:ty) => {
        $crate::__export_common!($plugin, $crate::Formatter);
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::formatter as __bindings;
            ::std::thread_local! {
                static __KLAXON_PLUGIN: $crate::__private::Slot<$plugin> = const { ::core::cell::RefCell::new(None) };
            }
            struct __KlaxonExports;
            impl __bindings::Guest for __KlaxonExports {
                fn configure(params_json: ::std::string::String) -> ::core::result::Result<(), ::std::string::String> {
                    __KLAXON_PLUGIN.with(|slot| $crate::__private::formatter_configure::<$plugin>(slot, &params_json))
                }
                fn format(alert: __bindings::Alert) -> __bindings::Message {
                    __KLAXON_PLUGIN.with(|slot| $crate::__private::formatter_format::<$plugin>(slot, alert))
                }
                fn format_digest(alerts: ::std::vec::Vec<__bindings::Alert>) -> __bindings::Message {
                    __KLAXON_PLUGIN.with(|slot| $crate::__private::formatter_format_digest::<$plugin>(slot, alerts))
                }
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
