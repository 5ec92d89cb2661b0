//! The stock plugins, compiled to components by `host/build.rs` and embedded
//! in the binary so the demo and `klaxon run` need nothing else on disk.
//! A `.wasm` file of the same name in the plugins directory overrides one.

use super::PluginKind;

macro_rules! stock {
    ($name:literal, $kind:expr) => {
        (
            $name,
            $kind,
            include_bytes!(concat!(env!("KLAXON_PLUGINS_DIR"), "/", $name, ".wasm"))
                as &'static [u8],
        )
    };
}

/// (name, kind, component bytes) of every stock plugin.
pub const STOCK: &[(&str, PluginKind, &[u8])] = &[
    stock!("amount-threshold", PluginKind::Filter),
    stock!("price-move", PluginKind::Filter),
    stock!("whale-fill", PluginKind::Filter),
    stock!("fixed", PluginKind::Cooldown),
    stock!("tiered", PluginKind::Cooldown),
    stock!("escalate", PluginKind::Cooldown),
    stock!("plain", PluginKind::Formatter),
    stock!("telegram-markdown", PluginKind::Formatter),
];

pub fn stock(name: &str) -> Option<(PluginKind, &'static [u8])> {
    STOCK.iter().find(|(n, _, _)| *n == name).map(|(_, k, b)| (*k, *b))
}
