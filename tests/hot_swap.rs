//! Hot swap under load, through the binary: while events flow, the plugin
//! file is replaced. The alerts change version, the process (pid) is the
//! same throughout, every input event is evaluated exactly once, and a bad
//! plugin or a bad config edit is rejected whole while the running version
//! keeps serving.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{Running, base_config, klaxon, plugin};

const HANG_GUARD: Duration = Duration::from_secs(120);
const EVENTS: u64 = 6_000;
const PROBE: &str = "{ plugin = \"probe\" }";
/// A config edit that must be rejected: the plugin denies unknown params.
const MISSPELLED: &str = "{ plugin = \"amount-threshold\", params = { min_notinal_usd = 1 } }";

/// Replace `dest` atomically, as a deploy tool would (write, then rename).
fn deploy(src: &Path, dest: &Path) {
    let tmp = dest.with_extension("wasm.tmp");
    fs::copy(src, &tmp).unwrap();
    fs::rename(&tmp, dest).unwrap();
}

fn config(dir: &Path, out: &Path, filter: &str) -> String {
    let head = base_config(dir)
        .replace("watch = false", &format!("watch = true\ndir = \"{}/plugins\"", dir.display()));
    format!(
        "{head}[sources.market]\ntype = \"synthetic\"\nrate = 400\nlimit = {EVENTS}\nseed = 11\n[sinks.file]\ntype = \"file\"\npath = \"{}\"\n\
         [templates.probe]\nfilter = {filter}\ndefault_cooldown = \"0s\"\nchannels = [\"file\"]\n",
        out.display()
    )
}

fn wait_for_version(running: &Running, out: &Path, version: &str) {
    let start = Instant::now();
    while !fs::read_to_string(out)
        .unwrap_or_default()
        .contains(&format!("\"title\":\"swap-probe {version}\""))
    {
        assert!(
            start.elapsed() < HANG_GUARD,
            "no {version} alert appeared:\n{}",
            running.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn plugin_swap_under_load_changes_alerts_without_restart_or_loss() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("plugins")).unwrap();
    let probe = dir.path().join("plugins/probe.wasm");
    deploy(&plugin("swap-probe-v1"), &probe);
    let out = dir.path().join("alerts.ndjson");
    let config_path = dir.path().join("klaxon.toml");
    fs::write(&config_path, config(dir.path(), &out, PROBE)).unwrap();

    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(&config_path);
    let mut running = Running::spawn(cmd);
    let pid = running.child.id();

    wait_for_version(&running, &out, "v1");
    deploy(&plugin("swap-probe-v2"), &probe);
    wait_for_version(&running, &out, "v2");
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "the process must keep running through the swap"
    );

    // A formatter is not a filter: rejected, v2 keeps serving.
    deploy(&plugin("plain"), &probe);
    running.wait_stderr("Reload rejected", 1, HANG_GUARD);
    // A config edit with a param the plugin rejects: rejected whole.
    deploy(&plugin("swap-probe-v2"), &probe);
    fs::write(&config_path, config(dir.path(), &out, MISSPELLED)).unwrap();
    running.wait_stderr("Reload rejected", 2, HANG_GUARD);
    {
        let err = running.stderr.lock().unwrap();
        assert!(
            err.contains("plugin `probe`")
                && err.contains("not a `klaxon:plugin/filter@0.2.0` component"),
            "{err}"
        );
        assert!(
            err.contains("templates.probe.filter.params")
                && err.contains("unknown field `min_notinal_usd`"),
            "{err}"
        );
    }
    assert_eq!(running.child.id(), pid);

    let (code, stderr, _) = running.wait(HANG_GUARD);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(&format!("events={EVENTS} evaluated={EVENTS} unrouted=0")), "{stderr}");

    // Exactly one alert per input event: none lost, none evaluated twice.
    let text = fs::read_to_string(&out).unwrap();
    let records: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len() as u64, EVENTS);
    let ids: HashSet<&str> = records.iter().map(|r| r["event"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len() as u64, EVENTS);

    // Per symbol (one worker each), versions only move forward: v1… then v2….
    let mut by_symbol: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &records {
        by_symbol
            .entry(r["event"]["symbol"].as_str().unwrap().to_owned())
            .or_default()
            .push(r["title"].as_str().unwrap().to_owned());
    }
    let (mut v1, mut v2) = (0, 0);
    for (symbol, titles) in by_symbol {
        let first_v2 = titles.iter().position(|t| t.ends_with("v2")).unwrap_or(titles.len());
        assert!(titles[first_v2..].iter().all(|t| t.ends_with("v2")), "{symbol}: v1 after v2");
        v1 += first_v2;
        v2 += titles.len() - first_v2;
    }
    assert!(v1 > 0 && v2 > 0, "v1={v1} v2={v2}");
}
