//! Build a Rust plugin crate to a WebAssembly component: a nested
//! `cargo build --target <wasm target> --profile plugin`, then, for core
//! modules (`wasm32-unknown-unknown`), `wit-component`'s `ComponentEncoder`.
//! `wasm32-wasip2` output is already a component and is used as is.
//!
//! Used by `host/build.rs` (through `#[path]`, to build the stock and test
//! plugins) and by `klaxon plugin build <dir>`, so it depends on nothing
//! but `std` and `wit-component`.
//!
//! The child cargo gets a clean environment: anything the outer cargo set
//! for its own build (rustflags, target, target dir, `CARGO_CFG_*`,
//! `CARGO_FEATURE_*`, wrappers) would otherwise leak into the plugin build.
//! It must use its own `--target-dir`, or it would wait forever on the lock
//! the outer build holds.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The cargo profile plugins are built with (defined in the workspace
/// root `Cargo.toml`: `opt-level = "s"`, `panic = "abort"`; plain release
/// for a crate whose manifest does not define it).
pub const PROFILE: &str = "plugin";

/// Target for plugins without WASI imports: a core module to componentize.
pub const CORE_TARGET: &str = "wasm32-unknown-unknown";

/// Target whose output is already a component (with WASI imports).
pub const WASIP2_TARGET: &str = "wasm32-wasip2";

/// Why a plugin could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// The toolchain lacks the wasm target.
    TargetMissing { target: String },
    /// `cargo` could not be started.
    Spawn { program: PathBuf, source: std::io::Error },
    /// `cargo build` failed; its errors went to stderr.
    Cargo { packages: Vec<String>, target: String, status: std::process::ExitStatus },
    /// The build succeeded but the expected `.wasm` is not there.
    ArtifactMissing { package: String, path: PathBuf },
    /// Reading or writing a `.wasm` file failed.
    Io { path: PathBuf, source: std::io::Error },
    /// `wit-component` rejected the core module.
    Componentize { package: String, source: ComponentizeError },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::TargetMissing { target } => write!(
                f,
                "the Rust target `{target}` is not installed; run `rustup target add {target}` \
                 (rust-toolchain.toml lists it for this workspace)"
            ),
            BuildError::Spawn { program, source } => {
                write!(f, "cannot run `{}`: {source}", program.display())
            }
            BuildError::Cargo { packages, target, status } => write!(
                f,
                "`cargo build --target {target} --profile {PROFILE}` for `{}` failed ({status}); see the errors above",
                packages.join("`, `")
            ),
            BuildError::ArtifactMissing { package, path } => {
                write!(
                    f,
                    "plugin `{package}`: cargo produced no `{}`; is its crate-type `cdylib`?",
                    path.display()
                )
            }
            BuildError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            BuildError::Componentize { package, source } => {
                write!(f, "plugin `{package}`: {source}")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Spawn { source, .. } | BuildError::Io { source, .. } => Some(source),
            BuildError::Componentize { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `wit-component` could not turn a core module into a component (most
/// often: the module was not built with the SDK, or exports a function its
/// world does not declare).
#[derive(Debug)]
pub struct ComponentizeError(String);

impl fmt::Display for ComponentizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot make a component from the core module: {}", self.0)
    }
}

impl std::error::Error for ComponentizeError {}

/// Builds `package` (a `cdylib` in the workspace or crate of `manifest`) for
/// `target` and returns the path of the `.wasm` cargo wrote: a core module
/// for [`CORE_TARGET`], a component for [`WASIP2_TARGET`].
pub fn build_plugin(
    manifest: &Path,
    package: &str,
    features: &[&str],
    target: &str,
    target_dir: &Path,
) -> Result<PathBuf, BuildError> {
    let mut paths = build_plugins(manifest, &[package], features, target, target_dir)?;
    Ok(paths.remove(0))
}

/// Like [`build_plugin`] for several packages in one cargo run (their
/// features unify, as in any cargo build). Paths come back in order.
pub fn build_plugins(
    manifest: &Path,
    packages: &[&str],
    features: &[&str],
    target: &str,
    target_dir: &Path,
) -> Result<Vec<PathBuf>, BuildError> {
    check_target_installed(target)?;
    let program = cargo_program();
    let mut cmd = Command::new(&program);
    cmd.arg("build").arg("--manifest-path").arg(manifest);
    cmd.args(["--target", target, "--profile", PROFILE]).arg("--target-dir").arg(target_dir);
    // Plugin crates outside this workspace have no `[profile.plugin]`; this
    // defines it for them (and changes nothing where it exists).
    cmd.args(["--config", "profile.plugin.inherits=\"release\""]);
    for package in packages {
        cmd.args(["-p", package]);
    }
    if !features.is_empty() {
        cmd.arg("--features").arg(features.join(","));
    }
    scrub_env(&mut cmd);
    // stdout would be parsed as build-script directives by an outer cargo;
    // cargo's progress and errors go to stderr.
    cmd.stdout(Stdio::null()).stderr(Stdio::inherit());
    let status =
        cmd.status().map_err(|source| BuildError::Spawn { program: program.clone(), source })?;
    if !status.success() {
        return Err(BuildError::Cargo {
            packages: packages.iter().map(|p| p.to_string()).collect(),
            target: target.to_owned(),
            status,
        });
    }
    let out_dir = target_dir.join(target).join(PROFILE);
    packages
        .iter()
        .map(|package| {
            let path = out_dir.join(format!("{}.wasm", package.replace('-', "_")));
            if path.is_file() {
                Ok(path)
            } else {
                Err(BuildError::ArtifactMissing { package: package.to_string(), path })
            }
        })
        .collect()
}

/// Reads a built `.wasm` and returns component bytes: componentized if it
/// is a core module, unchanged if it already is a component.
pub fn component_from_file(package: &str, path: &Path) -> Result<Vec<u8>, BuildError> {
    let bytes =
        std::fs::read(path).map_err(|source| BuildError::Io { path: path.to_owned(), source })?;
    if is_component(&bytes) {
        return Ok(bytes);
    }
    componentize(&bytes)
        .map_err(|source| BuildError::Componentize { package: package.to_owned(), source })
}

/// Turns a core module built with the SDK (whose `component-type` custom
/// sections describe its world) into a component. Custom sections such as
/// `klaxon:api-version` stay in the embedded core module.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>, ComponentizeError> {
    wit_component::ComponentEncoder::default()
        .module(core)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| ComponentizeError(format!("{e:#}")))
}

/// Whether `bytes` is a component (layer 1) rather than a core module.
pub fn is_component(bytes: &[u8]) -> bool {
    // Preamble: magic, then a u16 version and a u16 layer (0 core, 1 component).
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}

/// Fails early, with the fix, when the wasm target is missing (cargo's own
/// error, "can't find crate for `core`", does not say what to do).
fn check_target_installed(target: &str) -> Result<(), BuildError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .output();
    // If rustc cannot even be asked, let cargo report the real problem.
    let Ok(output) = output else { return Ok(()) };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if output.status.success() && !sysroot.join("lib/rustlib").join(target).is_dir() {
        return Err(BuildError::TargetMissing { target: target.to_owned() });
    }
    Ok(())
}

fn cargo_program() -> PathBuf {
    std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("cargo"))
}

/// Removes what an outer cargo (or a tool wrapping it) set for its own
/// build. Keeps `CARGO_MAKEFLAGS`, so the child shares the jobserver.
fn scrub_env(cmd: &mut Command) {
    const EXACT: &[&str] = &[
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "RUSTC_WORKSPACE_WRAPPER",
        "TARGET",
        "HOST",
        "OUT_DIR",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "NUM_JOBS",
        "RUSTC_LINKER",
    ];
    const PREFIXES: &[&str] = &["CARGO_CFG_", "CARGO_FEATURE_", "CARGO_PKG_", "DEP_", "__CARGO"];
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if EXACT.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p)) {
            cmd.env_remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_a_component_from_a_core_module() {
        assert!(is_component(b"\0asm\x0d\x00\x01\x00"));
        assert!(!is_component(b"\0asm\x01\x00\x00\x00"));
        assert!(!is_component(b"\0as"));
    }

    #[test]
    fn a_missing_target_says_which_rustup_command_to_run() {
        let err = check_target_installed("wasm32-no-such-target").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the Rust target `wasm32-no-such-target` is not installed; run `rustup target add wasm32-no-such-target` \
             (rust-toolchain.toml lists it for this workspace)"
        );
        assert!(check_target_installed(CORE_TARGET).is_ok());
    }

    #[test]
    fn a_module_importing_what_no_world_provides_is_refused() {
        // `(module (import "env" "f" (func)))`: no component-type section,
        // so no world provides the import.
        let module = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x02\x09\x01\x03env\x01f\0\0";
        let err = componentize(module).unwrap_err();
        assert!(
            err.to_string().starts_with("cannot make a component from the core module: "),
            "{err}"
        );
    }
}
