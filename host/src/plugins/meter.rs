//! What an instance costs, measured: the linear memory it has grown to
//! (every store, metered or not, through its resource limiter) and the
//! wasm fuel its calls burn (only on a metered engine, see
//! `PluginEngine::metered`). Fuel is counted on a separate engine because
//! instrumenting every guest on the production engine would tax every
//! call; `klaxon plugin bench` and the `limits.fuel_per_call` check are
//! the only users.

use wasmtime::{ResourceLimiter, StoreLimits};

/// A store's `StoreLimits`, plus the bytes of linear memory its instance
/// holds (all core memories together; wasm memories never shrink).
pub struct StoreMeter {
    limits: StoreLimits,
    memory_bytes: usize,
}

impl StoreMeter {
    pub fn new(limits: StoreLimits) -> StoreMeter {
        StoreMeter { limits, memory_bytes: 0 }
    }

    /// Linear memory of the instance now, bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }
}

impl ResourceLimiter for StoreMeter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.memory_bytes += desired.saturating_sub(current);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// Fuel a metered store starts with: more than any call can burn, so fuel
/// never stops a call (budgets and memory limits do that); only the
/// difference before and after a call is read.
pub const FUEL_TANK: u64 = u64::MAX / 2;
