//! From bytes to a checked, ready-to-instantiate plugin.
//!
//! Every step that can reject a plugin runs here, off the hot path, before
//! the plugin can go live: API version (custom section), compile (or cache
//! hit), import check (`Linker::instantiate_pre`) and export check
//! (`<World>Pre::new`). Configure and smoke tests follow per template in
//! [`super::instance`]. Each error names the plugin, its version (content
//! hash) and where it came from.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::bindings::{API_VERSION, cooldown::CooldownPolicyPre, filter::FilterPre, formatter::FormatterPre};
use super::host_api::HostState;
use super::inspect::api_version_of;
use super::{PluginEngine, PluginError, PluginKind, PluginRef, error_chain};

/// The typed, pre-linked form of a plugin for its world.
pub(crate) enum KindPre {
    Filter(FilterPre<HostState>),
    Cooldown(CooldownPolicyPre<HostState>),
    Formatter(FormatterPre<HostState>),
}

/// A plugin version that passed every load-time check.
pub struct LoadedPlugin {
    pub reference: PluginRef,
    pub kind: PluginKind,
    /// Where it came from: a path, or `builtin`.
    pub origin: String,
    pub(crate) pre: KindPre,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoadedPlugin({} {} from {})", self.reference, self.kind.as_str(), self.origin)
    }
}

/// Version string for a plugin's bytes: the first 12 hex digits of SHA-256.
pub fn content_version(bytes: &[u8]) -> (String, String) {
    let digest = hex::encode(Sha256::digest(bytes));
    (digest[..12].to_owned(), digest)
}

/// Compile (or fetch from cache) and type-check `bytes` as a `kind` plugin.
pub fn load(engine: &PluginEngine, name: &str, origin: &str, bytes: &[u8], kind: PluginKind) -> Result<Arc<LoadedPlugin>, PluginError> {
    let (version, digest) = content_version(bytes);
    let plugin = PluginRef { name: Arc::from(name), version: Arc::from(version) };
    let origin = origin.to_owned();

    if let Some(found) = api_version_of(bytes)
        && !compatible(&found, API_VERSION)
    {
        return Err(PluginError::ApiVersion { plugin, origin, found, expected: API_VERSION });
    }
    let component = compile(engine, bytes, &digest)
        .map_err(|reason| PluginError::Compile { plugin: plugin.clone(), origin: origin.clone(), reason })?;
    let instance_pre = engine
        .linker
        .instantiate_pre(&component)
        .map_err(|e| PluginError::Imports { plugin: plugin.clone(), origin: origin.clone(), reason: error_chain(&e) })?;
    let wrong_world = |e: wasmtime::Error| PluginError::WrongWorld {
        plugin: plugin.clone(),
        origin: origin.clone(),
        world: kind.world(),
        reason: error_chain(&e),
    };
    let pre = match kind {
        PluginKind::Filter => KindPre::Filter(FilterPre::new(instance_pre).map_err(wrong_world)?),
        PluginKind::Cooldown => KindPre::Cooldown(CooldownPolicyPre::new(instance_pre).map_err(wrong_world)?),
        PluginKind::Formatter => KindPre::Formatter(FormatterPre::new(instance_pre).map_err(wrong_world)?),
    };
    Ok(Arc::new(LoadedPlugin { reference: plugin, kind, origin, pre }))
}

fn compile(engine: &PluginEngine, bytes: &[u8], digest: &str) -> Result<Component, String> {
    if let Some(cache) = &engine.cache
        && let Some(component) = cache.get(&engine.engine, digest)
    {
        return Ok(component);
    }
    let component = Component::new(&engine.engine, bytes).map_err(|e| error_chain(&e))?;
    if let Some(cache) = &engine.cache {
        cache.put(digest, &component);
    }
    Ok(component)
}

/// Same major, and for 0.x the same minor (semver's rule for pre-1.0).
fn compatible(found: &str, expected: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> { v.trim().split('.').map(|p| p.parse().unwrap_or(u64::MAX)).collect() };
    let (f, e) = (parts(found), parts(expected));
    match (f.as_slice(), e.as_slice()) {
        ([0, fm, ..], [0, em, ..]) => fm == em,
        ([fm, ..], [em, ..]) => fm == em,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::compatible;

    #[test]
    fn api_versions_follow_semver() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("garbage", "0.1.0"));
    }
}
