//! Shared fixtures for the plugin runtime's unit tests: one engine for the
//! whole test binary (compiling is the slow part, so tests share it), the
//! built components from `KLAXON_PLUGINS_DIR`, pools and rules, and quick
//! event builders. Also checks the small vocabulary of `plugins/mod.rs`.

mod equivalence;
mod fuel;
mod limits;
mod sandbox;
mod shared;
mod stock;
mod watchlists;

use std::sync::{Arc, OnceLock};

use rust_decimal::Decimal;

use super::host_api::HostServices;
use super::{
    Domain, InstancePool, Limits, LoadedPlugin, PluginEngine, PluginKind, PluginRef, PluginSlot,
    RuntimeConfig, TrapLedger, load,
};
use crate::alert::TemplateId;
use crate::event::{Event, EventKind, Side, Sym};
use crate::market::Prices;
use crate::state::MemoryKv;

/// The default memory cap with a time budget no healthy call comes near:
/// epoch deadlines count wall time, and a stall of a loaded test machine
/// must not turn a healthy call into a timeout.
pub(crate) fn generous() -> &'static Limits {
    static GENEROUS: OnceLock<Limits> = OnceLock::new();
    GENEROUS.get_or_init(|| Limits {
        call_timeout: std::time::Duration::from_secs(10),
        ..Limits::default()
    })
}

/// One engine, no artifact cache, shared by every test in the binary.
pub(crate) fn engine() -> &'static PluginEngine {
    static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
    ENGINE.get_or_init(|| PluginEngine::new(&RuntimeConfig::default()).expect("engine"))
}

/// The built component `<name>.wasm` (stock or test plugin), read once
/// per test binary so that every test sees the same bytes (and version)
/// even if a concurrent build rewrites the file.
pub(crate) fn wasm(name: &str) -> Vec<u8> {
    static READ: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>> =
        OnceLock::new();
    let mut read = READ.get_or_init(Default::default).lock().expect("wasm cache");
    read.entry(name.to_owned())
        .or_insert_with(|| {
            let path =
                std::path::Path::new(env!("KLAXON_PLUGINS_DIR")).join(format!("{name}.wasm"));
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .clone()
}

/// Load the built component `name` as a `kind` plugin.
pub(crate) fn loaded(name: &str, kind: PluginKind) -> Arc<LoadedPlugin> {
    load::load(engine(), name, "test", &wasm(name), kind).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn services() -> HostServices {
    HostServices {
        kv: Arc::new(MemoryKv::new()),
        prices: Prices::default(),
        samples: Default::default(),
        watchlists: Default::default(),
    }
}

/// A pool on the shared engine with its own KV and a ledger that
/// quarantines after `disable_after` failures (0: never).
pub(crate) fn pool(disable_after: u32) -> InstancePool {
    InstancePool::new(engine().clone(), services(), Arc::new(TrapLedger::new(disable_after)))
}

/// `name` used with `params` in the trusted domain.
pub(crate) fn slot(name: &str, kind: PluginKind, params: &str) -> PluginSlot {
    PluginSlot {
        plugin: loaded(name, kind),
        params: Arc::from(params),
        domain: Domain::Trusted,
        watchlists: Arc::from([]),
    }
}

pub(crate) fn template(name: &str) -> TemplateId {
    TemplateId::new(name)
}

/// The host clock of the history tests.
pub(crate) const NOW: u64 = 1_700_000_000_000;

/// A key that fired `ms_ago` before [`NOW`].
pub(crate) fn fired(ms_ago: u64) -> crate::alert::History {
    crate::alert::History {
        last_fired_ms: Some(NOW - ms_ago),
        last_value: Some(1.0),
        last_severity: Some(crate::alert::Severity::Warning),
        fires: 1,
        suppressed_since_fire: 0,
    }
}

/// A USDT trade of `size` at `price`, notional `price * size`.
pub(crate) fn trade(symbol: &str, price: i64, size: i64) -> Event {
    let mut e = Event::new(
        EventKind::Trade,
        Sym::new("unit"),
        Sym::new(symbol),
        format!("unit:{symbol}:{price}:{size}"),
        1_700_000_000_000,
    );
    e.price = Decimal::from(price);
    e.size = Decimal::from(size);
    e.notional_usd = Some(Decimal::from(price * size));
    e.side = Side::Buy;
    e
}

#[test]
fn plugin_ref_displays_name_in_backticks_then_version() {
    let p = PluginRef { name: Arc::from("trap"), version: Arc::from("0123456789ab") };
    assert_eq!(p.to_string(), "`trap` 0123456789ab");
}

#[test]
fn each_kind_names_its_wit_world() {
    assert_eq!(PluginKind::Filter.world(), "filter");
    assert_eq!(PluginKind::Cooldown.world(), "cooldown-policy");
    assert_eq!(PluginKind::Formatter.world(), "formatter");
}
