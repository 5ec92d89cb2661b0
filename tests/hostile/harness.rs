//! The one harness every hostile test runs through: a healthy template
//! alone (once per process, the reference), then the same market with the
//! hostile templates beside it, and the checks every hostile run must pass.

use std::collections::HashMap;
use std::sync::Mutex;

use klaxon::pipeline::StatsSnapshot;
use klaxon::sinks::FileRecord;

pub use crate::support::sandbox::*;

/// Every hostile test plugin; each sandbox holds all of them, so a
/// neighbour may use one too.
pub const PLUGINS: [&str; 3] = ["hostile-filter", "hostile-cooldown", "hostile-formatter"];

/// The healthy template, beside every hostile one. It uses the stock
/// `fixed` cooldown and `plain` formatter, whose instance (trusted, shared
/// by every owner) hostile templates may feed too. Its `default_cooldown`
/// is far longer than the policy's window, so a `fixed` disabled for it
/// would show as fewer alerts, and a `plain` disabled for it as other
/// message bodies (the built-in fallback). Generous budget: a stall of this
/// shared machine must never make a healthy call time out.
pub const HEALTHY: &str = r#"
[templates.healthy]
owner = "carol"
filter = { plugin = "amount-threshold", params = { min_notional_usd = 100000 } }
cooldown = { plugin = "fixed", params = { window = "50ms" } }
default_cooldown = "10s"
formatter = { plugin = "plain", params = { title_prefix = "[healthy] " } }
channels = ["out"]
limits = { call_timeout = "10s" }
"#;

/// The contract's per-template defaults that bound what reaches a sink.
pub const ALERT_KEY_BYTES: usize = 256;
pub const TITLE_BYTES: usize = 512;
pub const FIELD_COUNT: usize = 32;
pub const FIELD_BYTES: usize = 1024;
pub const ALERT_BYTES: usize = 8192;
pub const MESSAGE_BYTES: usize = 16384;

/// Metric series one template may have; a unique label value per alert
/// (the suppress-reason bug) breaks it within a few alerts.
const SERIES_PER_TEMPLATE: usize = 64;
/// Log lines the host may write about one failing template in a run, and
/// the longest: what a plugin chose (a KV key, a reason) never fills the log.
const LOG_LINES_PER_TEMPLATE: usize = 64;
const LOG_LINE_MAX: usize = 4096;

/// One hostile run.
pub struct Case<'a> {
    /// Hostile templates (TOML, may add tables such as `[limits]`). Their
    /// names start with `hostile-`; they deliver to sink `bad`.
    pub hostile: &'a str,
    /// Healthy templates besides [`HEALTHY`] (say, a neighbour on the
    /// hostile plugin's version); they deliver to sink `out`, and must fire
    /// what they fire alone, too.
    pub neighbours: &'static str,
    /// Most the process's peak RSS may rise during the run, MiB.
    pub rss_bound_mib: u64,
}

/// What a healthy template delivered, as compared between runs.
type Delivered = Vec<(String, String, String, String)>;

/// Sorted: two workers write to one sink in no fixed order.
fn delivered(records: &[FileRecord]) -> Delivered {
    let mut out: Delivered = records
        .iter()
        .map(|r| {
            (r.template.clone(), r.id.clone(), r.message.title.clone(), r.message.body.clone())
        })
        .collect();
    out.sort();
    out
}

/// Equal, or a failure that says how they differ without printing both.
fn assert_same(got: &Delivered, reference: &Delivered) {
    if got == reference {
        return;
    }
    let first = got.iter().zip(reference).position(|(a, b)| a != b);
    panic!(
        "the healthy templates deliver other alerts than alone: {} against {}; first difference \
         at {first:?}: {:?} against {:?}",
        got.len(),
        reference.len(),
        first.and_then(|i| got.get(i)),
        first.and_then(|i| reference.get(i)),
    );
}

/// The healthy templates alone on the same market, once per neighbour set.
fn reference(neighbours: &'static str) -> Delivered {
    static REFS: Mutex<Option<HashMap<&'static str, Delivered>>> = Mutex::new(None);
    let mut refs = REFS.lock().unwrap_or_else(|p| p.into_inner());
    let refs = refs.get_or_insert_with(HashMap::new);
    refs.entry(neighbours)
        .or_insert_with(|| {
            let alone = Sandbox::new(&PLUGINS);
            let (stats, growth) =
                rss_growth_mib(|| block_on(alone.run(&format!("{HEALTHY}{neighbours}"))));
            let stats = stats.expect("healthy templates alone");
            eprintln!("peak RSS +{growth} MiB for the healthy templates alone");
            assert_eq!((stats.events_in, stats.evaluations_failed), (EVENTS, 0));
            let reference = delivered(&alone.records("out"));
            let healthy = reference.iter().filter(|r| r.0 == "healthy").count() as u64;
            assert!(
                healthy > 10 && healthy < EVENTS / 2,
                "the threshold passes some events, not most: {healthy}"
            );
            reference
        })
        .clone()
}

pub struct Outcome {
    /// Held until the test's last assertion: logs, metrics and RSS are
    /// the process's, so hostile runs never overlap.
    _serial: std::sync::MutexGuard<'static, ()>,
    pub stats: StatsSnapshot,
    pub sandbox: Sandbox,
    pub rss_growth_mib: u64,
    pub logs: LogMark,
    before: Scrape,
    after: Scrape,
}

/// Runs `case` beside the healthy templates and checks what every hostile
/// run must show: the host stays up and evaluates every event; the healthy
/// templates deliver exactly what they deliver alone, and none of their
/// plugin versions (stock ones included) failed or was disabled for them;
/// nothing over the default limits reached a sink; no hostile template
/// grew the metric series without bound; peak RSS rose less than the
/// case's bound.
pub fn run(case: &Case<'_>) -> Outcome {
    let serial = serial();
    logs();
    let reference = reference(case.neighbours);
    let sandbox = Sandbox::new(&PLUGINS);
    let (before, mark) = (Scrape::now(), logs().mark());
    let templates = format!("{HEALTHY}{}{}", case.neighbours, case.hostile);
    let (result, rss_growth_mib) = rss_growth_mib(|| block_on(sandbox.run(&templates)));
    // Shown with `--nocapture`: what the bounds below are measured against.
    let params: Vec<&str> = case.hostile.lines().filter(|l| l.contains("params")).collect();
    eprintln!("peak RSS +{rss_growth_mib} MiB beside {params:?}");
    let stats = result.expect("a hostile template must not stop the host");
    let after = Scrape::now();
    let outcome =
        Outcome { _serial: serial, stats, sandbox, rss_growth_mib, logs: mark, before, after };

    let s = &outcome.stats;
    assert_eq!((s.events_in, s.events_evaluated, s.events_unrouted), (EVENTS, EVENTS, 0));
    assert_same(&delivered(&outcome.sandbox.records("out")), &reference);
    for template in
        reference.iter().map(|r| r.0.as_str()).collect::<std::collections::BTreeSet<_>>()
    {
        let healthy = [("template", template)];
        assert_eq!(outcome.delta("klaxon_plugin_traps_total", &healthy), 0, "{template}");
        assert_eq!(outcome.delta("klaxon_plugin_disabled_total", &healthy), 0, "{template}");
        assert_eq!(outcome.delta("klaxon_evaluations_failed_total", &healthy), 0, "{template}");
    }
    for r in outcome.sandbox.records("bad") {
        assert_within_limits(&r);
    }
    let mut series: HashMap<&str, usize> = HashMap::new();
    for sample in &outcome.after.0 {
        if let Some(t) = sample.label("template").filter(|t| t.starts_with("hostile-")) {
            *series.entry(t).or_default() += 1;
        }
    }
    for (template, n) in series {
        assert!(n <= SERIES_PER_TEMPLATE, "{template} has {n} metric series");
    }
    assert!(
        outcome.rss_growth_mib < case.rss_bound_mib,
        "peak RSS rose {} MiB, bound {} MiB",
        outcome.rss_growth_mib,
        case.rss_bound_mib
    );
    outcome
}

/// Nothing a plugin produced reaches a sink over the default limits.
fn assert_within_limits(r: &FileRecord) {
    let what = format!("{} alert {}", r.template, r.id);
    assert!(r.key.len() <= ALERT_KEY_BYTES, "{what}: key of {} bytes", r.key.len());
    assert!(r.title.len() <= TITLE_BYTES, "{what}: title of {} bytes", r.title.len());
    assert!(r.fields.len() <= FIELD_COUNT, "{what}: {} fields", r.fields.len());
    let fields: Vec<usize> = r.fields.iter().map(|(n, v)| n.len() + v.len()).collect();
    assert!(fields.iter().all(|&n| n <= FIELD_BYTES), "{what}: fields of {fields:?} bytes");
    let alert = r.key.len() + r.title.len() + fields.iter().sum::<usize>();
    assert!(alert <= ALERT_BYTES, "{what}: {alert} bytes");
    let message = r.message.title.len() + r.message.body.len();
    assert!(message <= MESSAGE_BYTES, "{what}: message of {message} bytes");
}

impl Outcome {
    /// How much the counter `metric` (summed over the series with these
    /// labels) moved during the run.
    pub fn delta(&self, metric: &str, labels: &[(&str, &str)]) -> u64 {
        self.after.sum(metric, labels) - self.before.sum(metric, labels)
    }

    /// Every metric sample after the run.
    pub fn after_samples(&self) -> impl Iterator<Item = &Sample> {
        self.after.0.iter()
    }

    /// How many series of `metric` name `template` after the run.
    pub fn delta_series(&self, metric: &str, template: &str) -> usize {
        let named = |s: &&Sample| s.name == metric && s.label("template") == Some(template);
        self.after.0.iter().filter(named).count()
    }

    /// `template`'s `plugin` (of `kind`) breached one of `limits`: the
    /// breach is counted with the limit as its label, the failed call as a
    /// trap with `reason`, and the template is named in the log.
    pub fn assert_breached(
        &self,
        (template, plugin, kind): (&str, &str, &str),
        limits: &[&str],
        reason: &str,
    ) {
        let labels = [("template", template), ("plugin", plugin), ("kind", kind)];
        let breaches: u64 = limits
            .iter()
            .map(|l| {
                let [t, p, k] = labels;
                self.delta("klaxon_plugin_limit_breaches_total", &[t, p, k, ("limit", l)])
            })
            .sum();
        assert!(breaches > 0, "{template}: no breach of {limits:?} counted");
        let [t, p, k] = labels;
        let traps = self.delta("klaxon_plugin_traps_total", &[t, p, k, ("reason", reason)]);
        assert!(traps > 0, "{template}: no failure with reason `{reason}` counted");
        self.assert_named(template);
        self.assert_logs_bounded(template);
    }

    /// What the host logged about `template` is bounded in lines and in
    /// the length of each.
    pub fn assert_logs_bounded(&self, template: &str) {
        let lines: Vec<String> = logs()
            .fields_since(self.logs)
            .into_iter()
            .filter(|f| f.get("template").and_then(|t| t.as_str()) == Some(template))
            .map(|f| serde_json::Value::Object(f).to_string())
            .collect();
        assert!(lines.len() <= LOG_LINES_PER_TEMPLATE, "{template}: {} log lines", lines.len());
        let longest = lines.iter().map(String::len).max().unwrap_or(0);
        assert!(longest <= LOG_LINE_MAX, "{template}: a log line of {longest} bytes");
    }

    /// `template` was quarantined on `plugin` once, after exactly the
    /// failures it takes (a call in flight on the other worker may fail
    /// once more), so it stopped costing anything after that.
    pub fn assert_quarantined(&self, template: &str, plugin: &str) {
        let labels = [("template", template), ("plugin", plugin)];
        assert_eq!(self.delta("klaxon_plugin_disabled_total", &labels), 1, "{template}");
        let failures = self.delta("klaxon_plugin_traps_total", &labels);
        assert!(
            (DISABLE_AFTER..DISABLE_AFTER + WORKERS).contains(&failures),
            "{template}: {failures} failures"
        );
        self.assert_named(template);
    }

    /// Some log line of the run carries `template` as its `template` field.
    pub fn assert_named(&self, template: &str) {
        let named = logs()
            .fields_since(self.logs)
            .iter()
            .any(|f| f.get("template").and_then(|t| t.as_str()) == Some(template));
        assert!(named, "no log line names {template}");
    }

    /// What the hostile templates delivered (sink `bad`).
    pub fn bad_records(&self) -> Vec<FileRecord> {
        self.sandbox.records("bad")
    }
}

#[test]
fn metric_samples_parse_with_their_escapes() {
    let s = Sample::parse(r#"m_total{a="x\"y",b="1\\2\n"} 7"#).unwrap();
    assert_eq!(s.name, "m_total");
    assert_eq!(s.labels, [("a".into(), "x\"y".into()), ("b".into(), "1\\2\n".into())]);
    assert_eq!(s.value, 7.0);
    assert_eq!(Sample::parse("up 1").unwrap().labels, []);
    assert!(Sample::parse("# HELP m x").is_none());
}
