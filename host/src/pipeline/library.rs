//! The plugin library: every plugin version the plans use, loaded once
//! (compiled or from the artifact cache, checked against its world) and
//! reused across plans, so a reload that does not touch a plugin neither
//! recompiles it nor rebuilds its instances. A version checked against
//! `limits.fuel_per_call` is also compiled once for a metered engine.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::plugins::host_api::HostServices;
use crate::plugins::{
    Domain, LoadedPlugin, PluginEngine, PluginError, PluginKind, PluginSlot, RuleRef, builtin,
    load, smoke,
};
use crate::telemetry::metrics;

/// Why [`PluginLibrary::resolve`] failed, and the file and version that
/// failed, if a file did.
pub type Unresolved = (String, Option<(PathBuf, String)>);

/// Loaded plugin versions, reused across plans so that a reload which does
/// not touch a plugin neither recompiles it nor rebuilds its instances.
pub struct PluginLibrary {
    engine: PluginEngine,
    dir: Option<PathBuf>,
    trusted: Vec<String>,
    loaded: Mutex<HashMap<(String, PluginKind, String), Arc<LoadedPlugin>>>,
    /// Built on the first `limits.fuel_per_call`: the engine that counts
    /// fuel, and the versions compiled for it.
    metered: OnceLock<Result<PluginEngine, String>>,
    metered_loaded: Mutex<HashMap<(String, PluginKind, String), Arc<LoadedPlugin>>>,
}

impl PluginLibrary {
    pub fn new(engine: PluginEngine, dir: Option<PathBuf>, trusted: Vec<String>) -> PluginLibrary {
        PluginLibrary {
            engine,
            dir,
            trusted,
            loaded: Mutex::default(),
            metered: OnceLock::new(),
            metered_loaded: Mutex::default(),
        }
    }

    /// Who may share an instance of `plugin` used by `template`: stock and
    /// `trusted` plugins serve everyone from one instance; any other is
    /// confined to its owner (or to the template, if it names no owner).
    pub fn domain(&self, plugin: &LoadedPlugin, template: &str, owner: Option<&str>) -> Domain {
        let name = &*plugin.reference.name;
        if plugin.origin == "builtin" || self.trusted.iter().any(|t| t == name) {
            return Domain::Trusted;
        }
        match owner {
            Some(owner) => Domain::Owner(Arc::from(format!("owner:{owner}"))),
            None => Domain::Owner(Arc::from(format!("template:{template}"))),
        }
    }

    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// `<dir>/<name>.wasm` if present, else the stock plugin `name`. A
    /// failure says which file and version failed, if a file did.
    pub fn resolve(&self, name: &str, kind: PluginKind) -> Result<Arc<LoadedPlugin>, Unresolved> {
        let (bytes, origin, version) = match self
            .dir
            .as_ref()
            .map(|d| d.join(format!("{name}.wasm")))
            .filter(|p| p.exists())
        {
            Some(path) => {
                let bytes = std::fs::read(&path)
                    .map_err(|e| (format!("cannot read `{}`: {e}", path.display()), None))?;
                let version = load::content_version(&bytes).0;
                (Cow::Owned(bytes), path.display().to_string(), version)
            }
            None => match builtin::stock(name) {
                Some((_, bytes)) => {
                    (Cow::Borrowed(bytes), "builtin".to_owned(), stock_version(bytes))
                }
                None => return Err((self.not_found(name), None)),
            },
        };
        let file = (origin != "builtin").then(|| (PathBuf::from(&origin), version.clone()));
        let key = (name.to_owned(), kind, version);
        if let Some(p) = self.loaded.lock().expect("library poisoned").get(&key) {
            return Ok(p.clone());
        }
        let plugin = load::load(&self.engine, name, &origin, &bytes, kind).map_err(|e| {
            metrics().plugin_rejected.with_label_values(&[name, e.reason_label()]).inc();
            (e.to_string(), file)
        })?;
        self.loaded.lock().expect("library poisoned").insert(key, plugin.clone());
        Ok(plugin)
    }

    /// `limits.fuel_per_call`: the smoke run again on the metered engine
    /// (the version compiled there once), refused if an event costs more.
    pub fn check_fuel(
        &self,
        rule: RuleRef<'_>,
        services: &HostServices,
        limit: u64,
    ) -> Result<(), PluginError> {
        let plugin = &rule.slot.plugin;
        let smoke =
            |reason: String| PluginError::Smoke { plugin: plugin.reference.clone(), reason };
        let engine = self
            .metered
            .get_or_init(|| PluginEngine::metered(&self.engine.runtime_config()))
            .as_ref()
            .map_err(|e| smoke(format!("cannot measure fuel: {e}")))?;
        let r = &plugin.reference;
        let key = (r.name.to_string(), plugin.kind, r.version.to_string());
        let cached = self.metered_loaded.lock().expect("library poisoned").get(&key).cloned();
        let metered = match cached {
            Some(p) => p,
            None => {
                let bytes = match plugin.origin.as_str() {
                    "builtin" => builtin::stock(&r.name).map(|(_, b)| b.to_vec()),
                    path => std::fs::read(path).ok(),
                };
                let bytes =
                    bytes.filter(|b| *load::content_version(b).0 == *r.version).ok_or_else(
                        || smoke(format!("{} changed while it was validated", plugin.origin)),
                    )?;
                let p = load::load(engine, &r.name, &plugin.origin, &bytes, plugin.kind)?;
                self.metered_loaded.lock().expect("library poisoned").insert(key, p.clone());
                p
            }
        };
        let slot = PluginSlot { plugin: metered, ..rule.slot.clone() };
        let used = smoke::smoke_fuel(engine, RuleRef { slot: &slot, ..rule }, services)?;
        if used > limit {
            return Err(PluginError::Fuel {
                plugin: r.clone(),
                template: rule.template.to_string(),
                used,
                limit,
            });
        }
        Ok(())
    }

    fn not_found(&self, name: &str) -> String {
        let stock: Vec<&str> = builtin::STOCK.iter().map(|(n, _, _)| *n).collect();
        match &self.dir {
            Some(dir) => format!(
                "no plugin `{name}`: `{}` does not exist and no stock plugin has that name (stock: {})",
                dir.join(format!("{name}.wasm")).display(),
                stock.join(", ")
            ),
            None => format!(
                "no plugin `{name}`: not a stock plugin (stock: {}) and no `plugins.dir` is set",
                stock.join(", ")
            ),
        }
    }
}

/// The version of a stock plugin's bytes, which never change in a
/// process: hashed once, not once per template that uses it (1,000
/// templates on stock plugins would hash them 3,000 times per plan).
fn stock_version(bytes: &'static [u8]) -> String {
    static SEEN: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let at = bytes.as_ptr() as usize;
    let mut seen = SEEN.lock().expect("stock versions poisoned");
    if let Some((_, version)) = seen.iter().find(|(p, _)| *p == at) {
        return version.clone();
    }
    let version = load::content_version(bytes).0;
    seen.push((at, version.clone()));
    version
}
