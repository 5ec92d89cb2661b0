//! Builds every stock plugin (`plugins/*`) and every host test plugin
//! (`tests/plugins/*`) to a WebAssembly component in
//! `$OUT_DIR/plugins/<dir name>.wasm`, and tells the host where with
//! `KLAXON_PLUGINS_DIR` (`builtin.rs` embeds the stock ones; tests load
//! the rest).
//!
//! Each build is a nested `cargo build --target <wasm> --profile plugin`
//! into `<workspace>/target/wasm`: a directory of its own, since the outer
//! cargo holds the lock on the normal one. Plugins are built in one cargo
//! run per plugin world, because cargo unifies the SDK's world features
//! across the packages of one run, and a filter built with the formatter
//! feature on would also import the formatter's types. Two plugins are
//! special (see `variants`): `swap-probe` is built twice (v1, and v2 with
//! its `v2` feature) and `wasi-fs` is built for `wasm32-wasip2`, whose output
//! is already a component with WASI imports. `abi-v0-1` uses no SDK (it is
//! generated from the frozen `wit/since_v0.1.0`), so it has no SDK world and
//! gets a cargo run of its own.

#[path = "src/plugins/componentize.rs"]
#[allow(dead_code)] // `klaxon plugin build` uses the single-plugin entry points
mod componentize;

use std::collections::BTreeMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use componentize::{CORE_TARGET, WASIP2_TARGET};

/// One output file: which package, built how.
struct Variant {
    /// Output file stem: `amount-threshold`, `swap-probe-v2`.
    name: String,
    package: String,
    features: Vec<String>,
    target: &'static str,
}

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("host/ sits in the workspace root").to_path_buf();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("plugins");
    fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));

    for path in ["sdk", "plugins", "tests/plugins", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(path).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("src/plugins/componentize.rs").display()
    );
    println!("cargo:rustc-env=KLAXON_PLUGINS_DIR={}", out.display());

    let mut variants = Vec::new();
    for dir in ["plugins", "tests/plugins"] {
        for (name, package, world) in discover(&workspace.join(dir)) {
            variants.extend(variants_of(&name, &package).into_iter().map(|v| (world.clone(), v)));
        }
    }

    // One cargo run per (target, features, world): features must not unify
    // across worlds, and swap-probe v1/v2 write the same artifact path.
    let mut runs: BTreeMap<(&str, Vec<String>, String), Vec<&Variant>> = BTreeMap::new();
    for (world, variant) in &variants {
        runs.entry((variant.target, variant.features.clone(), world.clone()))
            .or_default()
            .push(variant);
    }

    let manifest = workspace.join("Cargo.toml");
    let target_dir = workspace.join("target").join("wasm");
    let mut written = Vec::new();
    for ((target, features, _world), group) in runs {
        let packages: Vec<&str> = group.iter().map(|v| v.package.as_str()).collect();
        let features: Vec<&str> = features.iter().map(String::as_str).collect();
        let paths =
            componentize::build_plugins(&manifest, &packages, &features, target, &target_dir)
                .unwrap_or_else(|e| fail(&e));
        for (variant, path) in group.iter().zip(paths) {
            let component = componentize::component_from_file(&variant.package, &path)
                .unwrap_or_else(|e| fail(&e));
            let dest = out.join(format!("{}.wasm", variant.name));
            write_if_changed(&dest, &component);
            written.push(dest);
        }
    }

    // Drop components of plugins that no longer exist.
    for entry in fs::read_dir(&out).into_iter().flatten().flatten() {
        if !written.contains(&entry.path()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// How a plugin directory is built. Most give one component named after
/// the directory, from a core module.
fn variants_of(name: &str, package: &str) -> Vec<Variant> {
    let variant = |name: &str, features: &[&str], target| Variant {
        name: name.to_owned(),
        package: package.to_owned(),
        features: features.iter().map(|f| format!("{package}/{f}")).collect(),
        target,
    };
    match name {
        // Hot-swap tests load two versions of one plugin.
        "swap-probe" => vec![
            variant("swap-probe-v1", &[], CORE_TARGET),
            variant("swap-probe-v2", &["v2"], CORE_TARGET),
        ],
        // Sandbox tests need a component that really imports WASI.
        "wasi-fs" => vec![variant(name, &[], WASIP2_TARGET)],
        _ => vec![variant(name, &[], CORE_TARGET)],
    }
}

/// `(dir name, package name, sdk world feature)` of every crate under `dir`.
fn discover(dir: &Path) -> Vec<(String, String, String)> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<(String, String, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let toml = fs::read_to_string(entry.path().join("Cargo.toml")).ok()?;
            let name = entry.file_name().to_str()?.to_owned();
            let package = package_name(&toml).unwrap_or_else(|| {
                panic!(
                    "{}: no `name = \"…\"` in [package]",
                    entry.path().join("Cargo.toml").display()
                )
            });
            Some((name, package, sdk_world(&toml)))
        })
        .collect();
    found.sort();
    found
}

/// The `name` in a manifest's `[package]` table (a line-level read; plugin
/// manifests are simple and this keeps the build script dependency-free).
fn package_name(toml: &str) -> Option<String> {
    let mut in_package = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            return Some(value.trim_start().strip_prefix('=')?.trim().trim_matches('"').to_owned());
        }
    }
    None
}

/// The SDK world feature a plugin enables (`filter`, `cooldown`,
/// `formatter`), or "" if the manifest does not say on a `klaxon-sdk` line.
fn sdk_world(toml: &str) -> String {
    let line = toml.lines().find(|l| l.trim_start().starts_with("klaxon-sdk")).unwrap_or("");
    ["filter", "cooldown", "formatter"]
        .into_iter()
        .find(|world| line.contains(&format!("\"{world}\"")))
        .unwrap_or("")
        .to_owned()
}

fn write_if_changed(path: &Path, bytes: &[u8]) {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn fail(error: &componentize::BuildError) -> ! {
    panic!("building plugins for the host: {error}")
}
