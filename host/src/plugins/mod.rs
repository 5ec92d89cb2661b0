//! The plugin runtime: wasmtime components that filter, cool down and format.
//!
//! * [`engine`]: the one `Engine`, its epoch ticker thread, the shared `Linker`;
//! * [`artifact`]: the on-disk compile cache (only artifacts this host made);
//! * [`load`]: bytes → checked plugin (`LoadedPlugin`), or an error naming
//!   the plugin, its version and the reason;
//! * [`host_api`]: what plugins may call (log, clock, KV, prices, names);
//! * [`instance`]: one Store + instance with limits; trap → poisoned;
//! * [`filter`], [`cooldown`], [`formatter`]: typed calls per world;
//! * [`inspect`]: imports/exports of a component against the expected world;
//! * [`builtin`]: the stock plugins embedded in the binary.
//!
//! Nothing outside this module touches wasmtime types; callers get
//! `PluginError` and plain Klaxon types.

pub mod artifact;
pub mod bindings;
pub mod builtin;
pub mod columns;
pub mod componentize;
mod convert;
pub mod cooldown;
pub mod engine;
pub mod filter;
pub mod formatter;
pub mod host_api;
pub mod inspect;
pub mod instance;
pub mod load;
pub mod traps;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use columns::Columns;
pub use engine::{PluginEngine, RuntimeConfig};
pub use instance::{CallError, Limits};
pub use load::LoadedPlugin;
pub use traps::TrapLedger;

/// The three plugin kinds, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    Filter,
    Cooldown,
    Formatter,
}

impl PluginKind {
    /// The WIT world a plugin of this kind must implement.
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::Filter => "filter",
            PluginKind::Cooldown => "cooldown-policy",
            PluginKind::Formatter => "formatter",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Filter => "filter",
            PluginKind::Cooldown => "cooldown",
            PluginKind::Formatter => "formatter",
        }
    }
}

/// A plugin version: its name and the hash of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PluginRef {
    pub name: Arc<str>,
    /// First 12 hex digits of the SHA-256 of the `.wasm` file.
    pub version: Arc<str>,
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.name, self.version)
    }
}

/// Why a plugin could not be loaded, configured or called.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin `{name}` ({}): cannot read: {source}", path.display())]
    Read {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("plugin {plugin} ({origin}): not a valid component: {reason}")]
    Compile { plugin: PluginRef, origin: String, reason: String },
    #[error(
        "plugin {plugin} ({origin}): built for klaxon:plugin@{found}, this host speaks @{expected}"
    )]
    ApiVersion { plugin: PluginRef, origin: String, found: String, expected: &'static str },
    #[error("plugin {plugin} ({origin}): wrong imports: {reason}")]
    Imports { plugin: PluginRef, origin: String, reason: String },
    #[error("plugin {plugin} ({origin}): not a `{world}` component: {reason}")]
    WrongWorld { plugin: PluginRef, origin: String, world: &'static str, reason: String },
    #[error("plugin {plugin}: cannot instantiate: {reason}")]
    Instantiate { plugin: PluginRef, reason: String },
    #[error("plugin {plugin}: configure rejected params: {reason}")]
    Configure { plugin: PluginRef, reason: String },
    #[error("plugin {plugin}: smoke test failed: {reason}")]
    Smoke { plugin: PluginRef, reason: String },
}

impl PluginError {
    /// Bounded label for `klaxon_plugin_rejected_total`.
    pub fn reason_label(&self) -> &'static str {
        match self {
            PluginError::Read { .. } => "read",
            PluginError::Compile { .. } => "compile",
            PluginError::ApiVersion { .. } => "api_version",
            PluginError::Imports { .. } => "imports",
            PluginError::WrongWorld { .. } => "wrong_world",
            PluginError::Instantiate { .. } => "instantiate",
            PluginError::Configure { .. } => "configure",
            PluginError::Smoke { .. } => "smoke",
        }
    }
}

/// Flatten a wasmtime error chain into one line, wasmtime's own style.
pub(crate) fn error_chain(err: &wasmtime::Error) -> String {
    format!("{err:#}")
}

/// Shared fixtures for the plugin runtime's unit tests: one engine for the
/// whole test binary (compiling is the slow part, so tests share it), the
/// built components from `KLAXON_PLUGINS_DIR`, and quick event builders.
/// Also checks the small vocabulary defined in this file.
#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, OnceLock};

    use rust_decimal::Decimal;

    use super::filter::FilterInstance;
    use super::host_api::HostServices;
    use super::{
        Limits, LoadedPlugin, PluginEngine, PluginError, PluginKind, PluginRef, RuntimeConfig, load,
    };
    use crate::alert::TemplateId;
    use crate::event::{Event, EventKind, Side, Sym};
    use crate::market::Prices;
    use crate::state::MemoryKv;

    /// The default memory cap with a time budget no healthy call comes near:
    /// epoch deadlines count wall time, and a stall of a loaded test machine
    /// must not turn a healthy call into a timeout.
    pub(crate) const GENEROUS: Limits =
        Limits { memory_bytes: 16 << 20, call_budget: std::time::Duration::from_secs(10) };

    /// One engine, no artifact cache, shared by every test in the binary.
    pub(crate) fn engine() -> &'static PluginEngine {
        static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
        ENGINE
            .get_or_init(|| PluginEngine::new(&RuntimeConfig { cache_dir: None }).expect("engine"))
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

    /// Load the built component `name` as a `kind` plugin on `engine`.
    pub(crate) fn loaded_on(
        engine: &PluginEngine,
        name: &str,
        kind: PluginKind,
    ) -> Arc<LoadedPlugin> {
        load::load(engine, name, "test", &wasm(name), kind).unwrap_or_else(|e| panic!("{e}"))
    }

    pub(crate) fn loaded(name: &str, kind: PluginKind) -> Arc<LoadedPlugin> {
        loaded_on(engine(), name, kind)
    }

    pub(crate) fn services() -> HostServices {
        HostServices { kv: Arc::new(MemoryKv::default()), prices: Prices::default() }
    }

    pub(crate) fn template() -> TemplateId {
        TemplateId::new("unit")
    }

    /// A configured filter instance of the built component `name`.
    pub(crate) fn filter(
        name: &str,
        params: &str,
        limits: Limits,
    ) -> Result<FilterInstance, PluginError> {
        FilterInstance::new(
            engine(),
            &template(),
            loaded(name, PluginKind::Filter),
            params,
            &services(),
            limits,
        )
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
}
