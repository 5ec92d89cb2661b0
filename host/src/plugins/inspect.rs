//! Look inside a component: its API version, imports, exports, and which
//! world it satisfies. Backs `klaxon plugin inspect` and the load checks.

use wasmparser::{Parser, Payload};
use wasmtime::component::Component;

use super::{PluginEngine, PluginKind, error_chain, load};

/// Name of the custom section the SDK stamps with the WIT version it targets.
pub const API_VERSION_SECTION: &str = "klaxon:api-version";

/// The API version stamped by the SDK, searched in nested modules too.
/// `None` for components built without the SDK (Python, JS), which are then
/// judged by type-checking alone.
pub fn api_version_of(bytes: &[u8]) -> Option<String> {
    for payload in Parser::new(0).parse_all(bytes) {
        // A malformed binary is reported by the compile step with a better
        // message; here we just stop looking.
        let Ok(payload) = payload else { return None };
        if let Payload::CustomSection(section) = payload
            && section.name() == API_VERSION_SECTION
        {
            return std::str::from_utf8(section.data()).ok().map(|s| s.trim_end_matches('\0').to_owned());
        }
    }
    None
}

/// What `klaxon plugin inspect` prints.
#[derive(Debug)]
pub struct Inspection {
    pub version: String,
    pub api_version: Option<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// For each world: `Ok` if the component satisfies it, else why not.
    pub worlds: Vec<(PluginKind, Result<(), String>)>,
}

pub fn inspect(engine: &PluginEngine, name: &str, bytes: &[u8]) -> Result<Inspection, String> {
    let component = Component::new(&engine.engine, bytes).map_err(|e| error_chain(&e))?;
    let ty = component.component_type();
    let imports = ty.imports(&engine.engine).map(|(n, _)| n.to_owned()).collect();
    let exports = ty.exports(&engine.engine).map(|(n, _)| n.to_owned()).collect();
    let worlds = [PluginKind::Filter, PluginKind::Cooldown, PluginKind::Formatter]
        .into_iter()
        .map(|kind| (kind, load::load(engine, name, "inspect", bytes, kind).map(|_| ()).map_err(|e| e.to_string())))
        .collect();
    Ok(Inspection { version: load::content_version(bytes).0, api_version: api_version_of(bytes), imports, exports, worlds })
}
