//! The monitoring pack (`config/monitoring/`) against promtool and against
//! a running host: the rules and their unit tests pass `promtool`, every
//! dashboard query parses, and every `klaxon_*`/`process_*` name the rules
//! or the dashboard use is exported by a healthy `klaxon run`.
//!
//! Without `promtool` on PATH the promtool checks are skipped with the
//! reason printed, unless `KLAXON_REQUIRE_TOOLCHAINS` is set (CI): then
//! they fail.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Running, base_config, klaxon};

const HANG_GUARD: Duration = Duration::from_secs(60);

fn pack() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/monitoring")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(pack().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `promtool` from PATH, or `None` with the reason printed.
fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("promtool"))
        .find(|p| p.is_file());
    if found.is_none() {
        let why = "promtool is not installed (Debian: `apt-get install prometheus`)";
        assert!(std::env::var_os("KLAXON_REQUIRE_TOOLCHAINS").is_none(), "{why}");
        eprintln!("skipping: {why}");
    }
    found
}

fn run_promtool(promtool: &Path, args: &[&str], dir: &Path) {
    let out = Command::new(promtool).args(args).current_dir(dir).output().expect("run promtool");
    assert!(
        out.status.success(),
        "promtool {}:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_pass_promtool_check_and_unit_tests() {
    let Some(promtool) = promtool() else { return };
    run_promtool(&promtool, &["check", "rules", "klaxon.rules.yml"], &pack());
    run_promtool(&promtool, &["test", "rules", "klaxon.rules.test.yml"], &pack());
}

/// Every `expr` of the dashboard (panels and rows nested in them).
fn dashboard_exprs() -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("grafana-dashboard.json")).expect("dashboard is JSON");
    assert_eq!(dashboard["schemaVersion"], 39);
    let mut exprs = Vec::new();
    walk(&dashboard["panels"], &mut exprs);
    assert!(exprs.len() > 30, "only {} queries", exprs.len());
    exprs
}

#[test]
fn dashboard_queries_parse() {
    let Some(promtool) = promtool() else { return };
    // Grafana's variables replaced by what they expand to, each query as
    // a recording rule: `promtool check rules` parses the PromQL.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in dashboard_exprs().iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$instance", ".*")
            .replace("$template", ".*")
            .replace("$source", ".*");
        let quoted = serde_json::to_string(&expr).unwrap();
        rules.push_str(&format!("      - record: dashboard:query_{i}\n        expr: {quoted}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dashboard.rules.yml"), rules).unwrap();
    run_promtool(&promtool, &["check", "rules", "dashboard.rules.yml"], dir.path());
}

/// Every `klaxon_*` or `process_*` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices(['k', 'p']) {
        let rest = &text[at..];
        let starts_word = text[..at].chars().next_back().is_none_or(|c| !word(c));
        if starts_word && (rest.starts_with("klaxon_") || rest.starts_with("process_")) {
            let end = rest.find(|c: char| !word(c)).unwrap_or(rest.len());
            names.insert(rest[..end].to_owned());
        }
    }
    names
}

/// Family name → type, from `# TYPE` lines (which the host writes for
/// families without series too).
fn exported_families(exposition: &str) -> std::collections::BTreeMap<String, String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), kind.trim().to_owned()))
        .collect()
}

/// Whether `name` is a family, or a histogram's `_bucket`, `_sum` or `_count`.
fn is_exported(name: &str, families: &std::collections::BTreeMap<String, String>) -> bool {
    families.contains_key(name)
        || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
            name.strip_suffix(suffix).is_some_and(|family| {
                families.get(family).is_some_and(|k| k == "histogram" || k == "summary")
            })
        })
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the first sample line starting with `prefix`.
fn sample(exposition: &str, prefix: &str) -> Option<f64> {
    exposition.lines().find(|l| l.starts_with(prefix))?.rsplit(' ').next()?.parse().ok()
}

#[test]
fn every_metric_the_pack_names_is_exported_by_a_running_host() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}[server]\nlisten = \"127.0.0.1:0\"\n\
         [sources.market]\ntype = \"synthetic\"\nrate = 200\nseed = 7\n\
         [sinks.console]\ntype = \"stdout\"\n\
         [templates.whales]\nselect = {{ kinds = [\"trade\"] }}\n\
         filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n\
         cooldown = {{ plugin = \"fixed\", params = {{ window = \"30s\" }} }}\n\
         formatter = {{ plugin = \"plain\" }}\nchannels = [\"console\"]\n",
        base_config(dir.path())
    );
    let path = dir.path().join("klaxon.toml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(&path);
    let running = Running::spawn(cmd);
    running.wait_stderr("Serving /health", 1, HANG_GUARD);
    let log = running.stderr.lock().unwrap().clone();
    let addr = log.split("addr=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();

    // Every trade passes the filter: once the alert log has written a
    // batch, every stage has run at least once.
    let start = Instant::now();
    let exposition = loop {
        let body = http_get(&addr, "/metrics");
        let positive = |name: &str| sample(&body, name).is_some_and(|n| n > 0.0);
        if positive("klaxon_plugin_call_seconds_count{")
            && positive("klaxon_alert_log_flush_rows_count ")
        {
            break body;
        }
        if start.elapsed() > HANG_GUARD {
            break body;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Stopped before any assertion, so that a failure leaves no host behind.
    running.stop();
    let timed = sample(&exposition, "klaxon_plugin_call_seconds_count{");
    assert!(timed.is_some_and(|n| n > 0.0), "no plugin call timed:\n{exposition}");
    let flushed = sample(&exposition, "klaxon_alert_log_flush_rows_count ");
    assert!(flushed.is_some_and(|n| n > 0.0), "no alert-log flush:\n{exposition}");
    assert!(sample(&exposition, "process_resident_memory_bytes ").is_some_and(|b| b > 0.0));
    assert!(sample(&exposition, "klaxon_queue_capacity{stage=\"route\"}").is_some_and(|c| c > 0.0));
    assert!(exposition.contains("klaxon_queue_depth{stage=\"evaluate\"}"));
    assert!(exposition.contains("klaxon_sink_queue_depth{sink=\"console\"}"));

    let families = exported_families(&exposition);
    let mut referenced = metric_names(&read("klaxon.rules.yml"));
    for expr in dashboard_exprs() {
        referenced.extend(metric_names(&expr));
    }
    assert!(referenced.len() > 30, "{referenced:?}");
    let missing: Vec<&String> = referenced.iter().filter(|n| !is_exported(n, &families)).collect();
    assert!(
        missing.is_empty(),
        "named by config/monitoring but not exported by the host: {missing:?}"
    );
}

#[test]
fn names_are_read_like_prometheus_reads_them() {
    let names = metric_names("rate(klaxon_a_total[5m]) / x_klaxon_b + process_c{l=\"klaxon\"}");
    assert_eq!(names, BTreeSet::from(["klaxon_a_total".to_owned(), "process_c".to_owned()]));
    let families = exported_families("# TYPE klaxon_h histogram\n# TYPE klaxon_c counter\n");
    assert!(is_exported("klaxon_h_bucket", &families));
    assert!(is_exported("klaxon_c", &families));
    assert!(!is_exported("klaxon_c_sum", &families));
    assert!(!is_exported("klaxon_missing", &families));
}
