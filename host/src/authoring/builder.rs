//! `klaxon plugin build DIR`: the language's toolchain, with no WASI, then
//! the host's own load checks (API version, imports, the world's exports)
//! before anything is written, so a plugin that would not load is never
//! produced. The errors name the missing export or the extra import.
//!
//! * Rust: `cargo build --target wasm32-unknown-unknown --profile plugin`
//!   and `wit-component`, in a target directory shared with `cargo test`
//!   (and across plugins): `KLAXON_PLUGIN_TARGET_DIR`, else
//!   `CARGO_TARGET_DIR`, else `DIR/target`. Proc macros and build scripts
//!   (wit-bindgen, serde) then compile once for both.
//! * Python: `componentize-py --stub-wasi` over a generated entry module
//!   that names the SDK's export classes.
//! * JS: `componentize-js` with every StarlingMonkey feature disabled, over
//!   a generated entry that plugs the host import into the SDK.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Lang, Manifest};
use crate::plugins::componentize::{self, CORE_TARGET};
use crate::plugins::{PluginEngine, PluginKind, load};

/// A component that passed the host's load checks.
#[derive(Debug)]
pub struct Built {
    pub path: PathBuf,
    pub size: usize,
    pub kind: PluginKind,
    pub version: String,
}

/// Where `build` writes a project's component by default.
pub fn default_output(dir: &Path, manifest: &Manifest) -> PathBuf {
    dir.join("target").join("klaxon").join(format!("{}.wasm", manifest.name))
}

/// Builds the project in `dir` (with a `klaxon-plugin.toml`) and writes the
/// checked component to `out` (default [`default_output`]).
pub fn build(dir: &Path, out: Option<PathBuf>) -> Result<Built, String> {
    let manifest = Manifest::read(dir)?;
    let kind = manifest.kind.plugin_kind();
    let bytes = match manifest.lang {
        Lang::Rust => build_rust(dir, &manifest)?,
        Lang::Python => build_python(dir, kind)?,
        Lang::Js => build_js(dir, kind)?,
    };
    let engine = PluginEngine::new(&super::author_runtime())?;
    load::load(&engine, &manifest.name, &dir.display().to_string(), &bytes, kind)
        .map_err(|e| hint(e.to_string(), manifest.lang, kind))?;
    let path = out.unwrap_or_else(|| default_output(dir, &manifest));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Built { path, size: bytes.len(), kind, version: load::content_version(&bytes).0 })
}

/// Checks the component of a bare Rust crate (no `klaxon-plugin.toml`)
/// the way [`build`] checks a project's, before it is written: against the
/// world its `klaxon-sdk` features name, else against each world. The
/// error names the missing export with the world and version it expected,
/// and the macro that registers it.
pub fn check_crate(
    manifest: &str,
    name: &str,
    origin: &str,
    bytes: &[u8],
) -> Result<PluginKind, String> {
    let engine = PluginEngine::new(&super::author_runtime())?;
    let kinds = match sdk_world(manifest) {
        Some(kind) => vec![kind],
        None => vec![PluginKind::Filter, PluginKind::Cooldown, PluginKind::Formatter],
    };
    let mut reasons = Vec::new();
    for &kind in &kinds {
        match load::load(&engine, name, origin, bytes, kind) {
            Ok(_) => return Ok(kind),
            Err(e) => reasons.push(hint(e.to_string(), Lang::Rust, kind)),
        }
    }
    Err(reasons.join("\n"))
}

/// The world a crate's `klaxon-sdk` dependency selects with its feature.
fn sdk_world(manifest: &str) -> Option<PluginKind> {
    let doc: toml::Table = toml::from_str(manifest).ok()?;
    let features = doc.get("dependencies")?.get("klaxon-sdk")?.get("features")?.as_array()?;
    features.iter().find_map(|f| match f.as_str()? {
        "filter" => Some(PluginKind::Filter),
        "cooldown" => Some(PluginKind::Cooldown),
        "formatter" => Some(PluginKind::Formatter),
        _ => None,
    })
}

/// The registration each language needs for `kind`'s exports.
fn registration(lang: Lang, kind: PluginKind) -> String {
    let k = kind.as_str();
    match lang {
        Lang::Rust => format!("export_{k}!(YourType)"),
        Lang::Python => format!("export_{k}(YourClass)"),
        Lang::Js => {
            format!("export{}{}(YourClass)", k[..1].to_uppercase(), &k[1..])
        }
    }
}

fn hint(message: String, lang: Lang, kind: PluginKind) -> String {
    if message.contains("export") {
        format!("{message}\n  hint: does the plugin call `{}`?", registration(lang, kind))
    } else {
        message
    }
}

/// The target directory Rust plugin builds share with `cargo test`.
pub fn rust_target_dir(dir: &Path) -> PathBuf {
    std::env::var_os("KLAXON_PLUGIN_TARGET_DIR")
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR"))
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"))
}

fn build_rust(dir: &Path, manifest: &Manifest) -> Result<Vec<u8>, String> {
    let target_dir = rust_target_dir(dir);
    let cargo_toml = dir.join("Cargo.toml");
    let core =
        componentize::build_plugin(&cargo_toml, &manifest.name, &[], CORE_TARGET, &target_dir)
            .map_err(|e| e.to_string())?;
    componentize::component_from_file(&manifest.name, &core)
        .map_err(|e| hint(e.to_string(), Lang::Rust, manifest.kind.plugin_kind()))
}

/// `(interface module, resource class, app class)` that componentize-py
/// looks up for each world's export.
fn python_exports(kind: PluginKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        PluginKind::Filter => ("filter_rules", "Rule", "FilterRules"),
        PluginKind::Cooldown => ("cooldown_policies", "Policy", "CooldownPolicies"),
        PluginKind::Formatter => ("formatters", "Formatter", "Formatters"),
    }
}

fn tool(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default))
}

fn run(mut cmd: Command, what: &str, install: &str) -> Result<(), String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let status = cmd.status().map_err(|e| format!("cannot run `{program}` ({e}); {install}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status}); see above")) }
}

fn build_python(dir: &Path, kind: PluginKind) -> Result<Vec<u8>, String> {
    let glue = dir.join("target").join("klaxon").join("py");
    std::fs::create_dir_all(&glue).map_err(|e| format!("{}: {e}", glue.display()))?;
    let (module, resource, app) = python_exports(kind);
    let write = |name: &str, text: String| {
        std::fs::write(glue.join(name), text).map_err(|e| format!("{}: {e}", glue.display()))
    };
    // The author's module registers its class; the entry re-exports the
    // SDK's glue under the names componentize-py expects.
    write(
        "klaxon_main.py",
        format!("import plugin  # noqa: F401\nfrom klaxon_sdk.wit_glue import {app}\n"),
    )?;
    write(&format!("{module}.py"), format!("from klaxon_sdk.wit_glue import {resource}\n"))?;
    let out = glue.join("plugin.wasm");
    let mut cmd = Command::new(tool("KLAXON_COMPONENTIZE_PY", "componentize-py"));
    cmd.current_dir(dir).args(["-d", "wit", "-w", kind.world(), "componentize", "--stub-wasi"]);
    cmd.args(["klaxon_main", "-p"]).arg(&glue).args(["-p", ".", "-o"]).arg(&out);
    run(cmd, "componentize-py", "install it with `pip install componentize-py==0.25.1`")?;
    std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))
}

/// The entry module `componentize-js` is given: the host import plugged
/// into the SDK, the author's module, and the SDK's export for `kind`.
pub fn js_entry(kind: PluginKind) -> String {
    let export = match kind {
        PluginKind::Filter => "filterRules",
        PluginKind::Cooldown => "cooldownPolicies",
        PluginKind::Formatter => "formatters",
    };
    format!(
        "import * as witHost from 'klaxon:plugin/host@{api}';\n\
         import * as witWatchlists from 'klaxon:plugin/watchlists@{api}';\n\
         import {{ setBackend }} from './klaxon-sdk/host.js';\n\
         import {{ setBackend as setWatchlists }} from './klaxon-sdk/watchlist.js';\n\
         import './plugin.js';\n\
         export {{ {export} }} from './klaxon-sdk/wit.js';\n\
         setBackend(witHost);\n\
         setWatchlists(witWatchlists);\n",
        api = crate::plugins::bindings::API_VERSION
    )
}

/// Where `build_js` writes the entry: in the project, since componentize-js
/// resolves imports relative to it (there for the build only).
pub const JS_ENTRY: &str = ".klaxon-entry.js";

fn build_js(dir: &Path, kind: PluginKind) -> Result<Vec<u8>, String> {
    let entry = dir.join(JS_ENTRY);
    std::fs::write(&entry, js_entry(kind)).map_err(|e| format!("{}: {e}", entry.display()))?;
    let out_dir = dir.join("target").join("klaxon").join("js");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out = out_dir.join("plugin.wasm");
    let mut cmd = Command::new(tool("KLAXON_COMPONENTIZE_JS", "componentize-js"));
    cmd.current_dir(dir).args([JS_ENTRY, "-w", "wit", "-n", kind.world()]);
    cmd.args(["-d", "stdio", "random", "clocks", "http", "fetch-event", "-o"]).arg(&out);
    let result = run(
        cmd,
        "componentize-js",
        "install it with `npm i @bytecodealliance/componentize-js@0.23.0`",
    );
    let _ = std::fs::remove_file(&entry);
    result?;
    std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))
}
