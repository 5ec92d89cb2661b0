//! From config or file to a checked [`Watchlist`], or an error that names
//! the list, the file and the line (or the config key) and the rule broken.
//!
//! Each entry is held to `watchlist_entry_bytes` (with its value) and each
//! list to `watchlist_entries`; the file itself may not exceed
//! `watchlist_bytes`, so a runaway export is refused before it is read. An
//! entry may appear once: a duplicate is more likely a mistake than intent.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use super::{Entries, FileFormat, ListLimits, Watchlist, WatchlistConfig, normalize};

/// Why a list did not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchlistError {
    pub list: String,
    /// `path:line`, a config key, or `all watchlists`.
    pub at: String,
    pub message: String,
}

impl fmt::Display for WatchlistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "watchlist `{}`: {}: {}", self.list, self.at, self.message)
    }
}

impl std::error::Error for WatchlistError {}

/// Load one list from its config (inline entries or its file).
pub fn load(
    name: &str,
    config: &WatchlistConfig,
    limits: ListLimits,
) -> Result<Watchlist, WatchlistError> {
    let mut entries = Collector::new(name, limits);
    match (&config.entries, &config.file) {
        (Some(Entries::List(list)), _) => {
            for (i, entry) in list.iter().enumerate() {
                entries.add(&format!("watchlists.{name}.entries[{i}]"), entry, None)?;
            }
        }
        (Some(Entries::Values(map)), _) => {
            for (entry, value) in map {
                entries.add(&format!("watchlists.{name}.entries.{entry}"), entry, Some(value))?;
            }
        }
        (None, Some(path)) => {
            let text = read_bounded(path, limits.total_bytes)
                .map_err(|m| entries.error(&path.display().to_string(), m))?;
            let file = path.display().to_string();
            match config.file_format() {
                FileFormat::Txt => text_lines(&text, &file, &mut entries)?,
                FileFormat::Csv => csv_lines(&text, &file, &mut entries)?,
                FileFormat::Json => json(&text, &file, &mut entries)?,
            }
        }
        (None, None) => {
            return Err(
                entries.error(&format!("watchlists.{name}"), "needs `entries` or `file`".into())
            );
        }
    }
    Ok(Watchlist::from_entries(entries.done))
}

/// The file's text, refused past `max` bytes or when not UTF-8.
fn read_bounded(path: &Path, max: usize) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() > max {
        return Err(format!("file is over `watchlist_bytes` ({max}) in [limits]"));
    }
    String::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()))
}

/// Lines worth reading: 1-based number and text, blanks and `#` comments out.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// `entry [value…]`: the value is the rest of the line.
fn text_lines(text: &str, file: &str, out: &mut Collector) -> Result<(), WatchlistError> {
    for (n, line) in lines(text) {
        let (entry, value) = match line.split_once(char::is_whitespace) {
            Some((entry, value)) => (entry, Some(value.trim())),
            None => (line, None),
        };
        out.add(&format!("{file}:{n}"), entry, value)?;
    }
    Ok(())
}

/// `entry[,value]`; a value may be `"quoted"` (with `""` for a quote).
fn csv_lines(text: &str, file: &str, out: &mut Collector) -> Result<(), WatchlistError> {
    for (i, (n, line)) in lines(text).enumerate() {
        let (entry, value) = match line.split_once(',') {
            Some((entry, value)) => (entry.trim(), Some(unquote(value.trim()))),
            None => (line, None),
        };
        let header = i == 0 && entry.eq_ignore_ascii_case("entry");
        if !header {
            out.add(&format!("{file}:{n}"), unquote(entry).as_ref(), value.as_deref())?;
        }
    }
    Ok(())
}

fn unquote(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\"").into(),
        None => cell.into(),
    }
}

/// `["a", "b"]` or `{"a": "value", "b": null}`.
fn json(text: &str, file: &str, out: &mut Collector) -> Result<(), WatchlistError> {
    use serde_json::Value;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| out.error(&format!("{file}:{}", e.line()), format!("not JSON: {e}")))?;
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("{file}: [{i}]");
                let Value::String(entry) = item else {
                    return Err(out.error(&at, "entries must be strings".into()));
                };
                out.add(&at, entry, None)?;
            }
        }
        Value::Object(map) => {
            for (entry, v) in &map {
                let at = format!("{file}: .{entry}");
                let value = match v {
                    Value::String(s) => Some(s.as_str()),
                    Value::Null => None,
                    _ => return Err(out.error(&at, "a value must be a string or null".into())),
                };
                out.add(&at, entry, value)?;
            }
        }
        _ => {
            return Err(
                out.error(file, "must be an array of entries or an object of entry → value".into())
            );
        }
    }
    Ok(())
}

/// Entries as they are read, checked one by one.
struct Collector<'a> {
    list: &'a str,
    limits: ListLimits,
    done: Vec<(String, Option<String>)>,
    /// Normalized entry → where it was first seen.
    seen: HashMap<String, String>,
}

impl<'a> Collector<'a> {
    fn new(list: &'a str, limits: ListLimits) -> Collector<'a> {
        Collector { list, limits, done: Vec::new(), seen: HashMap::new() }
    }

    fn error(&self, at: &str, message: String) -> WatchlistError {
        WatchlistError { list: self.list.to_owned(), at: at.to_owned(), message }
    }

    fn add(&mut self, at: &str, entry: &str, value: Option<&str>) -> Result<(), WatchlistError> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err(self.error(at, "empty entry".into()));
        }
        let value = value.filter(|v| !v.is_empty());
        let bytes = entry.len() + value.map_or(0, str::len);
        if bytes > self.limits.entry_bytes {
            let max = self.limits.entry_bytes;
            return Err(self.error(at, format!("entry is {bytes} bytes with its value, over `watchlist_entry_bytes` ({max}) in [limits]")));
        }
        if self.done.len() >= self.limits.entries {
            let max = self.limits.entries;
            return Err(self
                .error(at, format!("more than `watchlist_entries` ({max}) entries in [limits]")));
        }
        let entry = normalize(entry).into_owned();
        if let Some(first) = self.seen.get(&entry) {
            return Err(self.error(at, format!("duplicate entry `{entry}` (first at {first})")));
        }
        self.seen.insert(entry.clone(), at.to_owned());
        self.done.push((entry, value.map(str::to_owned)));
        Ok(())
    }
}
