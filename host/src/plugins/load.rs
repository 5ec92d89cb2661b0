//! From bytes to a checked, ready-to-instantiate plugin.
//!
//! Every step that can reject a plugin runs here, off the hot path, before
//! the plugin can go live: API version (custom section), size and function
//! count, compile (or cache hit) under a timeout and a memory bound
//! ([`super::compile`]), import check (`Linker::instantiate_pre`) and export check
//! (`<World>Pre::new`). Configure and smoke tests follow per template in
//! [`super::instance`]. Each error names the plugin, its version (content
//! hash) and where it came from.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::bindings::{
    API_VERSION, cooldown::CooldownPolicyPre, filter::FilterPre, formatter::FormatterPre,
};
use super::compile::{self, CompileBounds};
use super::host_api::HostState;
use super::version::{api_version_of, api_version_of_imports, compatible};
use super::{Breach, PluginEngine, PluginError, PluginKind, PluginRef, error_chain};

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
pub fn load(
    engine: &PluginEngine,
    name: &str,
    origin: &str,
    bytes: &[u8],
    kind: PluginKind,
) -> Result<Arc<LoadedPlugin>, PluginError> {
    let (version, digest) = content_version(bytes);
    let plugin = PluginRef { name: Arc::from(name), version: Arc::from(version) };
    let origin = origin.to_owned();

    if let Some(found) = api_version_of(bytes)
        && !compatible(&found, API_VERSION)
    {
        return Err(PluginError::ApiVersion { plugin, origin, found, expected: API_VERSION });
    }
    let component = compile(engine, bytes, &digest).map_err(|reason| PluginError::Compile {
        plugin: plugin.clone(),
        origin: origin.clone(),
        reason,
    })?;
    // Without the SDK's stamp (Python, JS), the import names tell.
    let imports: Vec<String> =
        component.component_type().imports(&engine.engine).map(|(n, _)| n.to_owned()).collect();
    if let Some(found) = api_version_of_imports(imports.iter().map(String::as_str))
        && !compatible(&found, API_VERSION)
    {
        return Err(PluginError::ApiVersion { plugin, origin, found, expected: API_VERSION });
    }
    let instance_pre =
        engine.linker.instantiate_pre(&component).map_err(|e| PluginError::Imports {
            plugin: plugin.clone(),
            origin: origin.clone(),
            reason: imports_reason(engine, &component, &e),
        })?;
    let wrong_world = |e: wasmtime::Error| PluginError::WrongWorld {
        plugin: plugin.clone(),
        origin: origin.clone(),
        world: kind.world(),
        reason: error_chain(&e),
    };
    let pre = match kind {
        PluginKind::Filter => KindPre::Filter(FilterPre::new(instance_pre).map_err(wrong_world)?),
        PluginKind::Cooldown => {
            KindPre::Cooldown(CooldownPolicyPre::new(instance_pre).map_err(wrong_world)?)
        }
        PluginKind::Formatter => {
            KindPre::Formatter(FormatterPre::new(instance_pre).map_err(wrong_world)?)
        }
    };
    Ok(Arc::new(LoadedPlugin { reference: plugin, kind, origin, pre }))
}

fn compile(engine: &PluginEngine, bytes: &[u8], digest: &str) -> Result<Component, String> {
    let limits = &engine.limits;
    Breach::check("component_bytes", bytes.len(), limits.component_bytes)
        .map_err(|b| b.to_string())?;
    if let Some(cache) = &engine.cache
        && let Some(component) = cache.get(&engine.engine, digest)
    {
        return Ok(component);
    }
    // Compile cost grows with the function count: refuse a bomb before
    // Cranelift sees it.
    Breach::check("component_functions", function_count(bytes), limits.component_functions)
        .map_err(|b| b.to_string())?;
    let bounds =
        CompileBounds { timeout: limits.compile_timeout, memory_mib: limits.compile_memory_mib };
    let component = compile::compile(&engine.engine, &engine.settings, bytes, bounds)?;
    if let Some(cache) = &engine.cache {
        cache.put(digest, &component);
    }
    Ok(component)
}

/// Functions defined by every core module of a component, nested ones too.
/// A malformed binary counts what was read; the compile reports the rest.
fn function_count(bytes: &[u8]) -> usize {
    wasmparser::Parser::new(0)
        .parse_all(bytes)
        .map_while(Result::ok)
        .map(|payload| match payload {
            wasmparser::Payload::FunctionSection(functions) => functions.count() as usize,
            _ => 0,
        })
        .sum()
}

/// Why the linker refused the component. The linker names only the first
/// import it cannot satisfy, which for a WASI guest is whatever std happened
/// to import first (`wasi:io/poll`), not what the plugin asks for (files,
/// sockets, env). So name every import outside `klaxon:plugin` first.
fn imports_reason(engine: &PluginEngine, component: &Component, err: &wasmtime::Error) -> String {
    let foreign: Vec<String> = component
        .component_type()
        .imports(&engine.engine)
        .map(|(name, _)| name)
        .filter(|name| !name.starts_with("klaxon:plugin/"))
        .map(|name| format!("`{name}`"))
        .collect();
    match foreign.is_empty() {
        true => error_chain(err),
        false => format!(
            "imports {}, which this host does not provide (it links only `klaxon:plugin`, no WASI): {}",
            foreign.join(", "),
            error_chain(err)
        ),
    }
}

/// Every load-time rejection, each with its exact message: API version
/// (stamped into a stock component by hand), not a component, wrong world,
/// WASI imports; and what a version string is.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::tests::{engine, wasm};
    use crate::plugins::version::API_VERSION_SECTION;

    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// `bytes` with a `klaxon:api-version` custom section of `version` right
    /// after the 8-byte preamble, so it is found before the SDK's own stamp
    /// in the nested core module.
    fn stamped(bytes: &[u8], version: &str) -> Vec<u8> {
        let mut payload = Vec::new();
        leb128(API_VERSION_SECTION.len(), &mut payload);
        payload.extend_from_slice(API_VERSION_SECTION.as_bytes());
        payload.extend_from_slice(version.as_bytes());
        let mut out = bytes[..8].to_vec();
        out.push(0); // custom section id
        leb128(payload.len(), &mut out);
        out.extend_from_slice(&payload);
        out.extend_from_slice(&bytes[8..]);
        out
    }

    #[test]
    fn an_incompatible_api_version_is_rejected_before_compiling() {
        let bytes = stamped(&wasm("amount-threshold"), "9.9.9");
        assert_eq!(api_version_of(&bytes).as_deref(), Some("9.9.9"));
        let err = load(
            engine(),
            "amount-threshold",
            "plugins/amount-threshold.wasm",
            &bytes,
            PluginKind::Filter,
        )
        .unwrap_err();
        let version = content_version(&bytes).0;
        assert!(
            matches!(&err, PluginError::ApiVersion { found, expected: "0.2.0", .. } if found == "9.9.9"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "plugin `amount-threshold` {version} (plugins/amount-threshold.wasm): built for klaxon:plugin@9.9.9, this host speaks @0.2.0; rebuild it against klaxon-sdk 0.2.0 (or the WIT in `wit/` of this release)"
            )
        );
        assert_eq!(err.reason_label(), "api_version");
    }

    /// A component built against 0.1 (no SDK stamp needed: its import
    /// names carry the version) is refused naming 0.1.0 and the fix.
    #[test]
    fn a_component_built_for_0_1_is_refused_naming_its_version() {
        let bytes = wasm("abi-v0-1");
        let err = load(engine(), "abi-v0-1", "plugins/abi-v0-1.wasm", &bytes, PluginKind::Filter)
            .unwrap_err();
        assert!(
            matches!(&err, PluginError::ApiVersion { found, .. } if found == "0.1.0"),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("built for klaxon:plugin@0.1.0, this host speaks @0.2.0; rebuild it"),
            "{err}"
        );
    }

    #[test]
    fn a_compatible_api_version_stamp_loads() {
        let bytes = stamped(&wasm("amount-threshold"), "0.2.9");
        assert_eq!(api_version_of(&bytes).as_deref(), Some("0.2.9"));
        let plugin = load(engine(), "amount-threshold", "test", &bytes, PluginKind::Filter)
            .expect("0.2.9 speaks 0.2");
        assert_eq!(&*plugin.reference.version, content_version(&bytes).0);
    }

    #[test]
    fn the_sdk_stamps_every_built_plugin() {
        for name in ["amount-threshold", "fixed", "plain", "trap"] {
            assert_eq!(api_version_of(&wasm(name)).as_deref(), Some(API_VERSION), "{name}");
        }
    }

    #[test]
    fn a_component_of_another_world_is_rejected_naming_the_missing_export() {
        let bytes = wasm("plain");
        let err = load(engine(), "plain", "builtin", &bytes, PluginKind::Filter).unwrap_err();
        let version = content_version(&bytes).0;
        assert_eq!(
            err.to_string(),
            format!(
                "plugin `plain` {version} (builtin): not a `klaxon:plugin/filter@0.2.0` component: no exported instance named `klaxon:plugin/filter-rules@0.2.0`"
            )
        );
        assert_eq!(err.reason_label(), "wrong_world");
    }

    #[test]
    fn wasi_imports_are_rejected_naming_every_one() {
        let bytes = wasm("wasi-fs");
        let err = load(engine(), "wasi-fs", "plugins/wasi-fs.wasm", &bytes, PluginKind::Filter)
            .unwrap_err();
        let PluginError::Imports { plugin, origin, reason } = &err else {
            panic!("not an imports error: {err:?}")
        };
        assert_eq!(
            (&*plugin.name, &*plugin.version, origin.as_str()),
            ("wasi-fs", content_version(&bytes).0.as_str(), "plugins/wasi-fs.wasm")
        );
        assert!(reason.starts_with("imports `wasi:"), "{reason}");
        assert!(reason.contains("`wasi:filesystem/types@0.2."), "{reason}");
        assert!(reason.contains("`wasi:filesystem/preopens@0.2."), "{reason}");
        assert!(
            !reason.contains("`klaxon:plugin/"),
            "the host's own imports are not blamed: {reason}"
        );
        // The linker's own account of the first failure follows.
        assert!(
            reason.contains(
                "(it links only `klaxon:plugin`, no WASI): component imports instance `wasi:"
            ),
            "{reason}"
        );
        assert_eq!(err.reason_label(), "imports");
    }

    #[test]
    fn a_core_module_is_not_a_component() {
        let core_module = b"\0asm\x01\0\0\0";
        let err = load(engine(), "core", "test", core_module, PluginKind::Filter).unwrap_err();
        let version = content_version(core_module).0;
        assert_eq!(
            err.to_string(),
            format!(
                "plugin `core` {version} (test): not a valid component: failed to parse WebAssembly module: attempted to parse a wasm module with a component parser"
            )
        );
        assert_eq!(err.reason_label(), "compile");
    }

    #[test]
    fn versions_are_the_first_twelve_hex_digits_of_the_sha256() {
        let (short, full) = content_version(b"abc");
        assert_eq!(full, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(short, "ba7816bf8f01");
    }
}
