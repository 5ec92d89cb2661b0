//! Host bindings for `klaxon:plugin@0.1.0`, generated once per world.
//!
//! The three worlds share the `types` and `host` interfaces; `with:` makes the
//! cooldown and formatter bindings reuse the filter module's generated types so
//! one `Host` implementation serves every plugin kind. When a new WIT version
//! ships, the old folder is frozen as `wit/since_vX.Y.Z/` and gets a module of
//! its own here that converts to the latest types (Zed's scheme).

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
        },
    });
}

pub use filter::klaxon::plugin::host::{Host, LogLevel};
pub use filter::klaxon::plugin::types as wit;

/// The WIT package version these bindings implement.
pub const API_VERSION: &str = "0.1.0";
