//! The plugin runtime: wasmtime components that filter, cool down and format.
//!
//! * [`engine`]: the one `Engine`, its epoch ticker thread, the shared `Linker`;
//! * [`artifact`]: the on-disk compile cache (only artifacts this host made);
//! * [`compile`]: compiling in a child process under a timeout and a
//!   memory bound;
//! * [`load`]: bytes → checked plugin (`LoadedPlugin`), or an error naming
//!   the plugin, its version and the reason;
//! * [`host_api`]: what plugins may call (scope, log, clock, KV, prices, names),
//!   and `host_watchlists`: the watchlists a template declares;
//! * [`call`]: the one call point every guest call goes through, and its
//!   typed outcome ([`CallError`]); `call_set`: what a batch call lends the
//!   guest, kept while the same rules keep coming;
//! * [`instance`]: one Store + instance with limits, holding one rule
//!   (resource) per template it serves;
//! * [`limits`]: bounds on everything a guest hands the host;
//! * [`meter`]: what an instance costs (linear memory, and wasm fuel on a
//!   metered engine);
//! * [`columns`]: column batches with projection;
//! * [`filter`], [`cooldown`], [`formatter`]: typed calls per world;
//! * [`pool`]: a worker's instances (one per version and trust domain) and
//!   the failure sequence, written once; [`contain`]: finding the rule and
//!   event a failed filter batch is to blame on; [`fallback`]: each kind's
//!   failure policy; [`traps`]: failures charged per template and version;
//! * [`inspect`]: imports/exports of a component against the expected world;
//! * [`builtin`]: the stock plugins embedded in the binary.
//!
//! Nothing outside this module touches wasmtime types; callers get
//! `PluginError` and plain Klaxon types.

pub mod artifact;
pub mod bindings;
pub mod builtin;
pub mod call;
mod call_set;
pub mod columns;
pub mod compile;
pub mod componentize;
pub mod contain;
mod convert;
pub mod cooldown;
pub mod engine;
mod error;
pub mod fallback;
pub mod filter;
pub mod formatter;
pub mod host_api;
mod host_watchlists;
pub mod inspect;
pub mod instance;
pub mod limits;
pub mod load;
pub mod meter;
pub mod pool;
pub mod smoke;
pub mod traps;
pub mod version;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use call::CallError;
pub use columns::{ColumnSet, Columns};
pub use contain::{FilterJob, Run};
pub use engine::{PluginEngine, RuntimeConfig};
pub use instance::Instance;
pub use limits::{Breach, Limits, RuntimeLimits};
pub use load::LoadedPlugin;
pub use pool::{DecideJob, Domain, InstancePool, PluginSlot, RuleRef};
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
        "plugin {plugin} ({origin}): built for klaxon:plugin@{found}, this host speaks @{expected}; \
         rebuild it against klaxon-sdk {expected} (or the WIT in `wit/` of this release)"
    )]
    ApiVersion { plugin: PluginRef, origin: String, found: String, expected: &'static str },
    #[error("plugin {plugin} ({origin}): wrong imports: {reason}")]
    Imports { plugin: PluginRef, origin: String, reason: String },
    #[error(
        "plugin {plugin} ({origin}): not a `klaxon:plugin/{world}@{}` component: {reason}",
        bindings::API_VERSION
    )]
    WrongWorld { plugin: PluginRef, origin: String, world: &'static str, reason: String },
    #[error("plugin {plugin}: cannot instantiate: {reason}")]
    Instantiate { plugin: PluginRef, reason: String },
    #[error("plugin {plugin}: configure rejected params: {reason}")]
    Configure { plugin: PluginRef, reason: String },
    #[error("plugin {plugin}: smoke test failed: {reason}")]
    Smoke { plugin: PluginRef, reason: String },
    #[error(
        "plugin {plugin}: its smoke calls cost up to {used} fuel per event, over template \
         `{template}`'s limits.fuel_per_call = {limit}"
    )]
    Fuel { plugin: PluginRef, template: String, used: u64, limit: u64 },
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
            PluginError::Fuel { .. } => "fuel",
        }
    }
}

/// Flatten a wasmtime error chain into one line, wasmtime's own style.
pub(crate) fn error_chain(err: &wasmtime::Error) -> String {
    format!("{err:#}")
}

/// The plugin runtime's unit tests, with their shared fixtures.
#[cfg(test)]
pub(crate) mod tests;
