//! The one wasmtime `Engine`, its epoch ticker, and the shared `Linker`.
//!
//! Settings follow `reference/wasmtime-48.md`:
//! * `concurrency_support(false)`: halves the per-call cost; we use no
//!   component-model async;
//! * epoch interruption for per-call time budgets, ticked by a dedicated
//!   `std::thread` (a tokio ticker gets starved by busy guests and then
//!   burst-fires, killing healthy calls);
//! * the default on-demand allocator: instances are reused, so pooling's
//!   faster instantiation buys little and would reserve gigabytes of address
//!   space per slot; memory is capped per store by `StoreLimits` instead.
//!
//! * `max_wasm_stack`, hostcall fuel and `StoreLimits` come from
//!   `[limits]` (see `limits::RuntimeLimits`), with wasmtime's defaults
//!   where those are already safe.
//!
//! The linker provides only `klaxon:plugin/host` and `klaxon:plugin/watchlists`: no WASI at all, so a plugin
//! that imports files, sockets, env or clocks fails type-checking up front.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

use super::RuntimeLimits;
use super::artifact::ArtifactCache;
use super::bindings;
use super::host_api::HostState;

/// Epoch tick. Per-call budgets are rounded up to whole ticks (plus one,
/// because a deadline armed mid-tick may fire up to a tick early).
pub const TICK: Duration = Duration::from_millis(5);

/// Runtime-wide settings (from `[plugins]` in the config).
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Where compiled artifacts are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Engine-, component- and store-wide bounds (`[limits]`).
    pub limits: RuntimeLimits,
}

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct PluginEngine {
    pub(crate) engine: Engine,
    pub(crate) linker: Arc<Linker<HostState>>,
    pub(crate) cache: Option<Arc<ArtifactCache>>,
    pub(crate) limits: Arc<RuntimeLimits>,
    pub(crate) settings: EngineSettings,
}

impl PluginEngine {
    pub fn new(cfg: &RuntimeConfig) -> Result<PluginEngine, String> {
        PluginEngine::build(cfg, false)
    }

    /// An engine that counts wasm fuel (instructions) per call, for
    /// measuring plugins: the same settings and limits otherwise, no
    /// compile cache (its artifacts differ), and its own compiles.
    pub fn metered(cfg: &RuntimeConfig) -> Result<PluginEngine, String> {
        PluginEngine::build(&RuntimeConfig { cache_dir: None, ..cfg.clone() }, true)
    }

    /// The settings this engine was built with (a metered twin takes them).
    pub fn runtime_config(&self) -> RuntimeConfig {
        RuntimeConfig { cache_dir: None, limits: (*self.limits).clone() }
    }

    fn build(cfg: &RuntimeConfig, metered: bool) -> Result<PluginEngine, String> {
        let settings = EngineSettings { metered, ..EngineSettings::of(&cfg.limits) };
        let engine = Engine::new(&settings.config())
            .map_err(|e| format!("cannot create wasmtime engine: {e:#}"))?;
        spawn_epoch_ticker(&engine);

        let mut linker = Linker::new(&engine);
        bindings::filter::klaxon::plugin::host::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| format!("cannot link host api: {e:#}"))?;
        // Linked for every plugin; one that never queries a watchlist does
        // not import it, and the linker checks only what a component imports.
        bindings::filter::klaxon::plugin::watchlists::add_to_linker::<_, HasSelf<_>>(
            &mut linker,
            |s| s,
        )
        .map_err(|e| format!("cannot link watchlists api: {e:#}"))?;
        let cache = match &cfg.cache_dir {
            Some(dir) => Some(Arc::new(ArtifactCache::open(dir, &engine)?)),
            None => None,
        };
        let limits = Arc::new(cfg.limits.clone());
        Ok(PluginEngine { engine, linker: Arc::new(linker), cache, limits, settings })
    }
}

/// Everything the engine's `Config` is made from, so that a compile worker
/// (another process, see `compile`) builds exactly the same one: wasmtime
/// refuses an artifact compiled with other settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    pub wasm_stack_bytes: usize,
    /// Guests burn fuel: only the engine `PluginEngine::metered` builds.
    pub metered: bool,
}

impl EngineSettings {
    pub fn of(limits: &RuntimeLimits) -> EngineSettings {
        EngineSettings { wasm_stack_bytes: limits.wasm_stack_bytes, metered: false }
    }

    pub fn config(&self) -> Config {
        let mut c = Config::new();
        c.consume_fuel(self.metered);
        c.epoch_interruption(true).concurrency_support(false).max_wasm_stack(self.wasm_stack_bytes);
        // `KLAXON_WASM_PROFILE=perfmap` names guest functions in `perf`
        // (wasmtime writes /tmp/perf-<pid>.map), for profiling plugins.
        if std::env::var("KLAXON_WASM_PROFILE").is_ok_and(|v| v == "perfmap") {
            c.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        c
    }

    pub fn to_args(&self) -> Vec<String> {
        vec![self.wasm_stack_bytes.to_string(), self.metered.to_string()]
    }

    pub fn from_args(args: &[String]) -> Result<EngineSettings, String> {
        let [stack, metered] = args else {
            return Err(format!("expected 2 engine settings, got {}", args.len()));
        };
        Ok(EngineSettings {
            wasm_stack_bytes: stack.parse().map_err(|_| format!("bad stack size `{stack}`"))?,
            metered: metered.parse().map_err(|_| format!("bad metered flag `{metered}`"))?,
        })
    }
}

/// Tick the engine's epoch until the engine is dropped (weak reference).
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("klaxon-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .expect("cannot spawn epoch ticker thread");
}

/// Epoch ticks for a per-call budget.
pub fn budget_ticks(budget: Duration) -> u64 {
    (budget.as_micros() as u64).div_ceil(TICK.as_micros() as u64) + 1
}
