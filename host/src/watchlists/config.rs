//! `[watchlists.<name>]`: a list inline or in a file.
//!
//! ```toml
//! [watchlists.majors]
//! entries = ["BTCUSDT", "ETHUSDT"]
//!
//! [watchlists.funds]                     # a value per entry
//! entries = { "0x5078…" = "fund A", "0xa1b2…" = "fund B" }
//!
//! [watchlists.whales]                    # reloaded on every edit
//! file = "watchlists/whales.csv"         # .txt, .csv or .json
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::issue::ConfigIssue;

/// Inline entries: a list, or a table of entry → value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Entries {
    List(Vec<String>),
    Values(BTreeMap<String, String>),
}

/// How a watchlist file is read; by default from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// One entry per line, optionally followed by whitespace and a value;
    /// blank lines and `#` comments are skipped.
    Txt,
    /// `entry[,value]` per line; a first line `entry,value` (or `entry`) is
    /// a header.
    Csv,
    /// An array of entries, or an object of entry → value (string or null).
    Json,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchlistConfig {
    #[serde(default)]
    pub entries: Option<Entries>,
    /// A file (relative to the working directory, like `plugins.dir`),
    /// watched and reloaded on every edit while `plugins.watch` is on.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Overrides the format the file's extension implies.
    #[serde(default)]
    pub format: Option<FileFormat>,
}

impl WatchlistConfig {
    /// The format of `file`: `format`, else its extension, else text.
    pub fn file_format(&self) -> FileFormat {
        if let Some(format) = self.format {
            return format;
        }
        let ext = self.file.as_ref().and_then(|f| f.extension()).and_then(|e| e.to_str());
        match ext.map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => FileFormat::Csv,
            Some("json") => FileFormat::Json,
            _ => FileFormat::Txt,
        }
    }

    pub fn validate(&self, at: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        match (&self.entries, &self.file) {
            (Some(_), Some(_)) => {
                issues.push(ConfigIssue::new(at, "set either `entries` or `file`, not both"))
            }
            (None, None) => issues.push(ConfigIssue::new(at, "needs `entries` or `file`")),
            _ => {}
        }
        if self.format.is_some() && self.file.is_none() {
            issues.push(ConfigIssue::new(format!("{at}.format"), "only applies to a `file`"));
        }
        issues
    }
}

/// A watchlist name: what templates and plugins call it by.
pub fn check_name(name: &str, at: &str) -> Option<ConfigIssue> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (!ok).then(|| ConfigIssue::new(at, "a watchlist name is 1-64 letters, digits, `-` or `_`"))
}
