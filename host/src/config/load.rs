//! Reading config: a TOML file (or the embedded demo), layered under
//! `KLAXON_*` environment variables with figment, e.g.
//! `KLAXON_PIPELINE__WORKERS=4` overrides `pipeline.workers`.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};

use super::{ConfigError, RawConfig, ValidConfig, validate};

/// The embedded demo: synthetic market, stock plugins, stdout and SQLite.
pub const DEMO_CONFIG: &str = include_str!("../../../config/klaxon.toml");

fn extract(figment: Figment, origin: &str) -> Result<ValidConfig, ConfigError> {
    let raw: RawConfig = figment
        // Only `SECTION__KEY` names: other `KLAXON_*` variables (build and
        // test settings) are not config.
        .merge(Env::prefixed("KLAXON_").filter(|k| k.as_str().contains("__")).split("__"))
        .extract()
        .map_err(|e| ConfigError::Parse { origin: origin.to_owned(), message: describe(e) })?;
    validate(raw, origin)
}

/// Figment errors can chain several; say all of them, each with its key.
fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let path = e.path.join(".");
            let mut msg = e.kind.to_string();
            if !path.is_empty() {
                msg = format!("{path}: {msg}");
            }
            msg
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Load and validate a config file.
pub fn load_file(path: &Path) -> Result<ValidConfig, ConfigError> {
    let origin = path.display().to_string();
    if !path.exists() {
        return Err(ConfigError::Parse { origin, message: "file not found".into() });
    }
    extract(Figment::from(Toml::file_exact(path)), &origin)
}

/// Load and validate config text; `origin` names it in errors.
pub fn load_str(text: &str, origin: &str) -> Result<ValidConfig, ConfigError> {
    extract(Figment::from(Toml::string(text)), origin)
}
