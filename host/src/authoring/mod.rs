//! Plugin authoring: what `klaxon plugin new | build | test | bench` do for a
//! strategy author, in Rust, Python or JavaScript.
//!
//! * [`scaffold`]: `plugin new` writes a self-contained project (WIT, SDK
//!   sources, sample plugin, test, frames, golden file) from [`embedded`];
//! * [`builder`]: `plugin build` detects the language, runs its toolchain
//!   with no WASI, and checks the component against its world;
//! * [`golden`]: `plugin test` replays frames through the real pipeline in
//!   simulated time and diffs the alerts with a golden NDJSON file;
//! * [`bench`]: `plugin bench` measures wall time and wasm fuel per event
//!   and memory per instance.
//!
//! A project is described by `klaxon-plugin.toml` ([`Manifest`]).

pub mod bench;
pub mod builder;
pub mod embedded;
pub mod golden;
pub mod scaffold;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::plugins::PluginKind;

/// File name of a project's manifest.
pub const MANIFEST: &str = "klaxon-plugin.toml";

/// A plugin's source language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Rust,
    Python,
    Js,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }

    /// Guesses the language of a directory without a manifest.
    pub fn detect(dir: &Path) -> Option<Lang> {
        if dir.join("Cargo.toml").is_file() {
            Some(Lang::Rust)
        } else if dir.join("plugin.py").is_file() {
            Some(Lang::Python)
        } else if dir.join("plugin.js").is_file() {
            Some(Lang::Js)
        } else {
            None
        }
    }
}

/// `--kind` of `plugin new` (the CLI spelling of [`PluginKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Filter,
    Cooldown,
    Formatter,
}

impl Kind {
    pub fn plugin_kind(self) -> PluginKind {
        match self {
            Kind::Filter => PluginKind::Filter,
            Kind::Cooldown => PluginKind::Cooldown,
            Kind::Formatter => PluginKind::Formatter,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Filter => "filter",
            Kind::Cooldown => "cooldown",
            Kind::Formatter => "formatter",
        }
    }
}

/// `klaxon-plugin.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub kind: Kind,
    pub lang: Lang,
    /// The `klaxon:plugin` version the project was written against.
    pub api: String,
    #[serde(default)]
    pub test: TestSpec,
}

/// `[test]`: what `klaxon plugin test DIR` runs without flags.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    #[serde(default)]
    pub frames: Vec<PathBuf>,
    pub golden: Option<PathBuf>,
    /// The plugin's params in the test template.
    #[serde(default)]
    pub params: Option<toml::Value>,
    /// For a cooldown or formatter: the filter that feeds it (a stock
    /// plugin name and its params).
    #[serde(default)]
    pub filter: Option<toml::Value>,
}

/// The runtime `plugin build | bench` check and measure with: the host's
/// defaults, except that a compile may take ten minutes. The 60 s default
/// guards a server from hostile uploads; here the author compiles what
/// they just built, and an 18 MiB Python component on a busy laptop can
/// take longer than that.
pub fn author_runtime() -> crate::plugins::RuntimeConfig {
    let limits = crate::plugins::RuntimeLimits {
        compile_timeout: std::time::Duration::from_secs(600),
        ..Default::default()
    };
    crate::plugins::RuntimeConfig { cache_dir: None, limits }
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join(MANIFEST);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}
