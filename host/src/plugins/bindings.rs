//! Host bindings for `klaxon:plugin@0.2.0`, generated once per world.
//!
//! The three worlds share the `types`, `host` and `watchlists` interfaces; `with:` makes the
//! cooldown and formatter bindings reuse the filter module's generated types so
//! one `Host` implementation serves every plugin kind. Older versions are not
//! bound at all: 0.1 is frozen in `wit/since_v0.1.0/` only so that a 0.1
//! component can be recognised and refused with a message that says how to
//! rebuild it (see `load`). When a version after 0.2 ships and 0.2 stays
//! supported, 0.2 is frozen the same way and gets a module of its own here
//! that converts to the latest types (Zed's scheme).

pub mod filter {
    wasmtime::component::bindgen!({
        world: "filter",
        path: "../wit",
    });
}

pub mod cooldown {
    wasmtime::component::bindgen!({
        world: "cooldown-policy",
        path: "../wit",
        with: {
            "klaxon:plugin/types": super::filter::klaxon::plugin::types,
            "klaxon:plugin/host": super::filter::klaxon::plugin::host,
            "klaxon:plugin/watchlists": super::filter::klaxon::plugin::watchlists,
        },
    });
}

pub mod formatter {
    wasmtime::component::bindgen!({
        world: "formatter",
        path: "../wit",
        with: {
            "klaxon:plugin/types": super::filter::klaxon::plugin::types,
            "klaxon:plugin/host": super::filter::klaxon::plugin::host,
            "klaxon:plugin/watchlists": super::filter::klaxon::plugin::watchlists,
        },
    });
}

pub use filter::klaxon::plugin::host::{Host, LogLevel};
pub use filter::klaxon::plugin::types as wit;
pub use filter::klaxon::plugin::watchlists::Host as WatchlistHost;

/// The cooldown world's exported interface (`policy`, `decide-batch`).
pub use cooldown::exports::klaxon::plugin::cooldown_policies as policies;
/// The filter world's exported interface (`rule`, `evaluate-batch`).
pub use filter::exports::klaxon::plugin::filter_rules as rules;
/// The formatter world's exported interface (`formatter`).
pub use formatter::exports::klaxon::plugin::formatters;

/// The WIT package version these bindings implement.
pub const API_VERSION: &str = "0.2.0";
