//! In-process Klaxon runs for the sandbox and hostile-plugin tests: a temp
//! dir with copies of built plugins, a config around a seeded synthetic
//! market in event time, and what a run leaves behind (sink records, the
//! metrics it moved, the logs it wrote, how much the process grew).
//!
//! Nothing here depends on wall-clock time: the market runs in event time,
//! and budgets only decide which error a failing call ends with.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use klaxon::app::{self, AppError, RunOptions};
use klaxon::config;
use klaxon::pipeline::StatsSnapshot;
use klaxon::plugins::builtin;
use klaxon::plugins::load::content_version;
use klaxon::sinks::FileRecord;

/// Events per run. Every one is priced far above 10 (no DOGEUSDT), so every
/// call of a plugin that misbehaves above price 10 misbehaves.
pub const EVENTS: u64 = 2000;
pub const WORKERS: u64 = 2;
pub const DISABLE_AFTER: u64 = 3;
/// The synthetic market's symbols, and its venue.
pub const SYMBOLS: [&str; 4] = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"];
pub const VENUE: &str = "synthetic";

/// A built test or stock plugin component.
pub fn built(name: &str) -> PathBuf {
    super::plugin(name)
}

/// The version the host gives plugin `name`: 12 hex digits of the hash of
/// the bytes it loads, a stock plugin's embedded in the binary. (Not the file
/// in `KLAXON_PLUGINS_DIR`, which a concurrent build may have rewritten.)
pub fn stock_version(name: &str) -> String {
    let (_, bytes) = builtin::stock(name).unwrap_or_else(|| panic!("no stock plugin `{name}`"));
    checked(content_version(bytes).0)
}

fn checked(version: String) -> String {
    assert!(version.len() == 12 && version.chars().all(|c| c.is_ascii_hexdigit()), "{version}");
    version
}

/// One compile cache for every run of the test binary: each run builds a
/// new engine, but a plugin is compiled once.
fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE.get_or_init(|| tempfile::tempdir().expect("cache dir")).path()
}

/// A temp dir with a plugins directory holding copies of built components,
/// and the config around them: the synthetic market in event time, sinks
/// `out` and `bad` (NDJSON files), a SQLite alert log.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new(plugins: &[&str]) -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("plugins")).expect("plugins dir");
        for name in plugins {
            std::fs::copy(built(name), dir.path().join("plugins").join(format!("{name}.wasm")))
                .expect("copy plugin");
        }
        Sandbox { dir }
    }

    /// A sandbox whose plugins directory holds `files`, by plugin name.
    pub fn with_files(files: &[(&str, &Path)]) -> Sandbox {
        let sandbox = Sandbox::new(&[]);
        for (name, file) in files {
            let to = sandbox.path(&format!("plugins/{name}.wasm"));
            std::fs::copy(file, to).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
        sandbox
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The version of this sandbox's copy of plugin `name`.
    pub fn version(&self, name: &str) -> String {
        let bytes = std::fs::read(self.path(&format!("plugins/{name}.wasm")))
            .expect("plugin copied into the sandbox");
        checked(content_version(&bytes).0)
    }

    /// The config: the head above, then `templates` (which may add tables
    /// of their own, such as `[limits]`).
    pub fn config(&self, templates: &str) -> config::ValidConfig {
        let d = self.dir.path().display();
        let cache = shared_cache().display();
        let symbols: Vec<String> = SYMBOLS
            .iter()
            .zip(["65000", "3400", "150", "580"])
            .map(|(s, p)| format!("{{ symbol = \"{s}\", price = \"{p}\" }}"))
            .collect();
        let text = format!(
            r#"
[pipeline]
workers = {WORKERS}
batch_max = 16
time = "event"
disable_after_traps = {DISABLE_AFTER}

[plugins]
dir = "{d}/plugins"
cache_dir = "{cache}"
watch = false

[alert_log]
url = "sqlite://{d}/alerts.db"
flush_interval = "50ms"

[sources.market]
type = "synthetic"
venue = "{VENUE}"
rate = 0
limit = {EVENTS}
seed = 7
whale_probability = 0.01
symbols = [{symbols}]

[sinks.out]
type = "file"
path = "{d}/out.ndjson"

[sinks.bad]
type = "file"
path = "{d}/bad.ndjson"
{templates}"#,
            symbols = symbols.join(", "),
        );
        config::load_str(&text, "sandbox.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn run(&self, templates: &str) -> Result<StatsSnapshot, AppError> {
        app::run(self.config(templates), RunOptions::default()).await
    }

    /// What sink `name` (`out` or `bad`) wrote, in order.
    pub fn records(&self, sink: &str) -> Vec<FileRecord> {
        let text =
            std::fs::read_to_string(self.path(&format!("{sink}.ndjson"))).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).expect("file sink line")).collect()
    }
}

/// Tests that measure the process (its RSS, its metrics and logs) run one
/// at a time: hold this for the whole test.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `future` on a runtime of its own, shaped like `#[tokio::test]`'s.
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

// ---------------------------------------------------------------------------
// Memory: the growth of the process's peak RSS while `f` runs.

fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/self/status"))
}

/// Runs `f` and returns how far the peak RSS rose above the RSS before it,
/// in MiB. The peak is reset first (`clear_refs` 5); where that is refused
/// the growth of the current RSS is measured instead, which can only be
/// smaller, never a false alarm.
pub fn rss_growth_mib<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let peak = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kib("VmRSS:");
    let out = f();
    let after = status_kib(if peak { "VmHWM:" } else { "VmRSS:" });
    (out, after.saturating_sub(before) / 1024)
}

// ---------------------------------------------------------------------------
// Metrics, read from the Prometheus text the host serves, so that a test
// names a metric as ops see it and does not depend on the host's fields.

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Every sample of the process's metrics now.
#[derive(Debug, Clone)]
pub struct Scrape(pub Vec<Sample>);

impl Scrape {
    pub fn now() -> Scrape {
        Scrape(klaxon::telemetry::render().lines().filter_map(Sample::parse).collect())
    }

    /// The sum of `name` over the series whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let total: f64 = self
            .0
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
            .map(|s| s.value)
            .sum();
        total as u64
    }
}

impl Sample {
    /// One line of the text exposition, `name{k="v",…} value`, with
    /// Prometheus' escapes (`\\`, `\"`, `\n`); `None` for comments.
    pub fn parse(line: &str) -> Option<Sample> {
        if line.starts_with('#') || line.trim().is_empty() {
            return None;
        }
        let (head, value) = line.rsplit_once(' ')?;
        let value = value.parse().ok()?;
        let Some((name, rest)) = head.split_once('{') else {
            return Some(Sample { name: head.to_owned(), labels: Vec::new(), value });
        };
        let mut labels = Vec::new();
        let mut chars = rest.chars();
        loop {
            let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
            let key = key.trim_start_matches(',').to_owned();
            if key.is_empty() || key == "}" {
                break;
            }
            chars.next(); // the opening quote
            let mut val = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some('n') => val.push('\n'),
                        Some(other) => val.push(other),
                        None => break,
                    },
                    '"' => break,
                    c => val.push(c),
                }
            }
            labels.push((key, val));
        }
        Some(Sample { name: name.to_owned(), labels, value })
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

// ---------------------------------------------------------------------------
// Log capture: what plugins and the host log only reaches the logs, so the
// test binary installs one global subscriber writing JSON (for fields) and
// plain text (what an operator's terminal shows) to two buffers.

#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn since(&self, at: usize) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()[at..]).into_owned()
    }
}

pub struct Logs {
    json: Buffer,
    text: Buffer,
}

/// Where the logs have got to, to read only what came after.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMark {
    json: usize,
    text: usize,
}

pub type Fields = serde_json::Map<String, serde_json::Value>;

/// The capture, installed on first use (WARN and above).
pub fn logs() -> &'static Logs {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let (json, text) = (Buffer::default(), Buffer::default());
        let (j, t) = (json.clone(), text.clone());
        tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::WARN)
            .with(tracing_subscriber::fmt::layer().json().with_writer(move || j.clone()))
            .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(move || t.clone()))
            .init();
        Logs { json, text }
    })
}

impl Logs {
    pub fn mark(&self) -> LogMark {
        LogMark { json: self.json.len(), text: self.text.len() }
    }

    /// The `fields` of every JSON line since `mark`.
    pub fn fields_since(&self, mark: LogMark) -> Vec<Fields> {
        self.json
            .since(mark.json)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v.get("fields").and_then(|f| f.as_object()).cloned())
            .collect()
    }

    /// The plain-text log since `mark`.
    pub fn text_since(&self, mark: LogMark) -> String {
        self.text.since(mark.text)
    }

    /// The `fields` of every line with this message, ever.
    pub fn logged(&self, message: &str) -> Vec<Fields> {
        self.fields_since(LogMark::default())
            .into_iter()
            .filter(|f| f.get("message").and_then(|m| m.as_str()) == Some(message))
            .collect()
    }
}

pub fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no string field `{name}` in {f:?}"))
}
