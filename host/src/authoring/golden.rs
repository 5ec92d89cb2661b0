//! `klaxon plugin test DIR|FILE --frames F… [--golden FILE] [--update]`:
//! recorded frames through one template that uses the plugin, on the real
//! pipeline (market state, routing, stock cooldown and formatter unless
//! the plugin is one of those) in simulated time, exactly as `klaxon
//! replay` runs, then the alerts against a golden NDJSON file.
//!
//! Alerts are compared by id (stable across replays): the diff lists the
//! alerts only expected, only produced, and, for the others, the fields
//! that differ.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Kind, Manifest, builder};
use crate::app::{self, RunOptions};
use crate::config::{self, TimeMode};
use crate::sinks::FileRecord;

/// Name of the one template a test runs.
pub const TEMPLATE: &str = "test";

/// What to run; unset fields come from the project's `klaxon-plugin.toml`.
#[derive(Debug, Default, Clone)]
pub struct TestArgs {
    pub target: PathBuf,
    pub frames: Vec<PathBuf>,
    pub golden: Option<PathBuf>,
    pub update: bool,
    /// The plugin's params (JSON).
    pub params: Option<String>,
    /// The kind of a bare `.wasm` file (a project's manifest says it).
    pub kind: Option<Kind>,
}

#[derive(Debug)]
pub enum Outcome {
    /// Every alert matches the golden file.
    Same {
        alerts: usize,
    },
    /// `--update` (re)wrote the golden file.
    Updated {
        alerts: usize,
        path: PathBuf,
    },
    /// No golden file to compare with: the alerts are printed.
    NoGolden {
        lines: Vec<String>,
    },
    Differs {
        diff: String,
    },
}

/// What the test resolved to run.
struct Plan {
    name: String,
    wasm: PathBuf,
    kind: Kind,
    params: Value,
    feed: Option<Value>,
    frames: Vec<PathBuf>,
    golden: Option<PathBuf>,
}

fn plan(args: &TestArgs) -> Result<Plan, String> {
    let params = match &args.params {
        Some(json) => Some(serde_json::from_str(json).map_err(|e| format!("--params: {e}"))?),
        None => None,
    };
    if args.target.is_dir() {
        let dir = &args.target;
        let m = Manifest::read(dir)?;
        let wasm = builder::default_output(dir, &m);
        if stale(dir, &wasm) {
            let built = builder::build(dir, None)?;
            eprintln!("built {} ({} bytes)", built.path.display(), built.size);
        }
        let json = |v: &Option<toml::Value>| v.as_ref().map(serde_json::to_value).transpose();
        let at = |p: &PathBuf| dir.join(p);
        return Ok(Plan {
            name: m.name.clone(),
            wasm,
            kind: m.kind,
            params: params.or(json(&m.test.params).map_err(|e| e.to_string())?).unwrap_or_default(),
            feed: json(&m.test.filter).map_err(|e| e.to_string())?,
            frames: if args.frames.is_empty() {
                m.test.frames.iter().map(at).collect()
            } else {
                args.frames.clone()
            },
            golden: args.golden.clone().or(m.test.golden.as_ref().map(at)),
        });
    }
    let name = args.target.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin").to_owned();
    Ok(Plan {
        name,
        wasm: args.target.clone(),
        kind: args.kind.ok_or("--kind is needed to test a bare .wasm file")?,
        params: params.unwrap_or_else(|| Value::Object(Default::default())),
        feed: None,
        frames: args.frames.clone(),
        golden: args.golden.clone(),
    })
}

/// Whether `wasm` is missing or older than any source file of the project.
fn stale(dir: &Path, wasm: &Path) -> bool {
    let Ok(built) = std::fs::metadata(wasm).and_then(|m| m.modified()) else { return true };
    fn newest(dir: &Path, than: std::time::SystemTime) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else { return false };
        entries.flatten().any(|e| {
            let path = e.path();
            let name = e.file_name();
            let skip = ["target", "node_modules", "golden", ".git", "__pycache__"];
            if skip.iter().any(|s| name == *s) {
                return false;
            }
            if path.is_dir() {
                newest(&path, than)
            } else {
                e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t > than)
            }
        })
    }
    newest(dir, built)
}

/// The config of the test: replay source, file sink, one template.
fn config_text(p: &Plan, tmp: &Path) -> Result<String, String> {
    let plugin = serde_json::json!({ "plugin": p.name, "params": p.params });
    let feed = p.feed.clone().unwrap_or_else(|| {
        serde_json::json!({ "plugin": "amount-threshold", "params": { "min_notional_usd": 50000 } })
    });
    let mut template = serde_json::json!({ "channels": ["out"] });
    match p.kind {
        Kind::Filter => template["filter"] = plugin,
        Kind::Cooldown => {
            template["filter"] = feed;
            template["cooldown"] = plugin;
        }
        Kind::Formatter => {
            template["filter"] = feed;
            template["formatter"] = plugin;
        }
    }
    let frames: Vec<String> = p
        .frames
        .iter()
        .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()).display().to_string())
        .collect();
    let t = tmp.display();
    let config = serde_json::json!({
        "pipeline": { "workers": 1, "time": "event" },
        "plugins": { "dir": format!("{t}/plugins"), "cache_dir": "", "watch": false },
        "alert_log": { "url": format!("sqlite://{t}/alerts.db") },
        "sources": { "replay": { "type": "replay", "files": frames } },
        "sinks": { "out": { "type": "file", "path": format!("{t}/alerts.ndjson") } },
        "templates": { TEMPLATE: template },
    });
    let value = toml::Value::try_from(config).map_err(|e| e.to_string())?;
    toml::to_string(&value).map_err(|e| e.to_string())
}

/// Runs the test and, unless updating, compares with the golden file.
pub async fn run(args: &TestArgs) -> Result<Outcome, String> {
    let p = plan(args)?;
    if p.frames.is_empty() {
        return Err("no frames: pass --frames or list them in klaxon-plugin.toml [test]".into());
    }
    for f in &p.frames {
        if !f.is_file() {
            return Err(format!("{}: frames file not found", f.display()));
        }
    }
    let lines = alerts(&p).await?;
    let Some(golden) = &p.golden else { return Ok(Outcome::NoGolden { lines }) };
    if args.update {
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(golden, text).map_err(|e| format!("{}: {e}", golden.display()))?;
        return Ok(Outcome::Updated { alerts: lines.len(), path: golden.clone() });
    }
    let expected = std::fs::read_to_string(golden)
        .map_err(|e| format!("{}: {e} (run with --update to write it)", golden.display()))?;
    let expected: Vec<String> =
        expected.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect();
    match diff(&expected, &lines) {
        None => Ok(Outcome::Same { alerts: lines.len() }),
        Some(diff) => Ok(Outcome::Differs { diff }),
    }
}

/// The alerts of one run, as golden lines, in event-time order.
async fn alerts(p: &Plan) -> Result<Vec<String>, String> {
    let tmp = TempDir::new()?;
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir(&plugins).map_err(|e| e.to_string())?;
    std::fs::copy(&p.wasm, plugins.join(format!("{}.wasm", p.name)))
        .map_err(|e| format!("{}: {e}", p.wasm.display()))?;
    let text = config_text(p, tmp.path())?;
    let config = config::load_str(&text, "plugin test").map_err(|e| e.to_string())?;
    let config = config
        .amend(|raw| {
            raw.server.listen = None;
            raw.pipeline.time = TimeMode::Event;
        })
        .map_err(|e| e.to_string())?;
    app::run(config, RunOptions::default()).await.map_err(|e| e.to_string())?;
    let out = std::fs::read_to_string(tmp.path().join("alerts.ndjson")).unwrap_or_default();
    let mut records = out
        .lines()
        .map(|l| serde_json::from_str::<FileRecord>(l).map_err(|e| format!("alert line: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    records
        .sort_by(|a, b| (a.event.exchange_time_ms, &a.id).cmp(&(b.event.exchange_time_ms, &b.id)));
    records.iter().map(|r| serde_json::to_string(r).map_err(|e| e.to_string())).collect()
}

/// A scratch directory removed on drop (the host's `tempfile` is a
/// dev-dependency only).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("klaxon-test-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A readable diff by alert id, or `None` when the runs agree.
pub fn diff(expected: &[String], actual: &[String]) -> Option<String> {
    let index = |lines: &[String]| -> BTreeMap<String, Value> {
        lines
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or(Value::String(l.clone()));
                (v["id"].as_str().unwrap_or(l).to_owned(), v)
            })
            .collect()
    };
    let (want, got) = (index(expected), index(actual));
    let mut out = String::new();
    let title = |v: &Value| format!("{} {}", v["key"].as_str().unwrap_or("?"), v["title"]);
    for (id, v) in &want {
        match got.get(id) {
            None => out.push_str(&format!("- {id}: {} (expected, not raised)\n", title(v))),
            Some(g) if g != v => {
                out.push_str(&format!("~ {id}:\n"));
                for (field, w) in v.as_object().into_iter().flatten() {
                    if g.get(field) != Some(w) {
                        let g = g.get(field).cloned().unwrap_or(Value::Null);
                        out.push_str(&format!("    {field}: expected {w}, got {g}\n"));
                    }
                }
            }
            Some(_) => {}
        }
    }
    for (id, v) in &got {
        if !want.contains_key(id) {
            out.push_str(&format!("+ {id}: {} (raised, not expected)\n", title(v)));
        }
    }
    (!out.is_empty())
        .then(|| format!("{out}{} alerts expected, {} raised\n", expected.len(), actual.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_names_missing_extra_and_changed_alerts() {
        let a = r#"{"id":"a","key":"BTCUSDT","title":"big","value":1.0}"#.to_owned();
        let b = r#"{"id":"b","key":"ETHUSDT","title":"big","value":2.0}"#.to_owned();
        let b2 = r#"{"id":"b","key":"ETHUSDT","title":"big","value":3.0}"#.to_owned();
        let c = r#"{"id":"c","key":"SOLUSDT","title":"big","value":4.0}"#.to_owned();
        assert_eq!(diff(&[a.clone(), b.clone()], &[a.clone(), b.clone()]), None);
        let text = diff(&[a.clone(), b], &[b2, c]).unwrap();
        assert_eq!(
            text,
            "- a: BTCUSDT \"big\" (expected, not raised)\n~ b:\n    value: expected 2.0, got 3.0\n\
             + c: SOLUSDT \"big\" (raised, not expected)\n2 alerts expected, 2 raised\n"
        );
    }
}
