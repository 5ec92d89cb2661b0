//! `ConfigIssue`: one problem found while validating configuration.
//!
//! Components validate their own config (`XxxConfig::validate`) and return
//! every issue at once; `config::validate` adds the cross-reference checks.
//! Messages follow wasmtime's style: lowercase, no final period, names in
//! backticks, and the TOML path in front, e.g.
//! ``templates.whales.filter.params.min_notional: unknown field `min_notinal` ``.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted TOML path, e.g. `sources.0.files`.
    pub path: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ConfigIssue {
        ConfigIssue { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
