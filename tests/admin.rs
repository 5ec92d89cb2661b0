//! The admin API against a running host: deploys through `/v1` go live
//! without a restart and bad ones are refused with the old version still
//! serving; bad requests change nothing; a canary rollout splits keys by
//! stable hash and a rollback returns every key, with no event lost or
//! evaluated twice.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Running, base_config, klaxon, plugin};

const HANG_GUARD: Duration = Duration::from_secs(120);
const ADMIN: &str = "admin-token-for-tests";
const READER: &str = "read-token-for-tests";

/// A free port on localhost.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Host {
    running: Running,
    base: String,
    http: reqwest::blocking::Client,
}

impl Host {
    fn start(dir: &Path, config: &str) -> Host {
        let path = dir.join("klaxon.toml");
        fs::write(&path, config).unwrap();
        let mut cmd = klaxon();
        cmd.args(["run", "--config"]).arg(&path);
        cmd.env("KLAXON_TEST_ADMIN", ADMIN).env("KLAXON_TEST_READ", READER);
        let running = Running::spawn(cmd);
        let after = config.split("listen = \"127.0.0.1:").nth(1).unwrap();
        let port: String = after.chars().take_while(char::is_ascii_digit).collect();
        let host = Host {
            running,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::blocking::Client::new(),
        };
        host.wait(|h| h.get("/v1/status", ADMIN).0 == 200, "the API to answer");
        host
    }

    fn wait(&self, done: impl Fn(&Host) -> bool, what: &str) {
        let start = Instant::now();
        while !done(self) {
            let stderr = self.running.stderr.lock().unwrap().clone();
            assert!(start.elapsed() < HANG_GUARD, "waited for {what}:\n{stderr}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        match req.send() {
            Ok(res) => {
                let status = res.status().as_u16();
                (status, res.json().unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)).bearer_auth(token))
    }

    fn put(&self, path: &str, token: &str, body: Vec<u8>, ct: &str) -> (u16, Value) {
        let req = self.http.put(format!("{}{path}", self.base)).bearer_auth(token);
        self.send(req.header("content-type", ct).body(body))
    }

    fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body))
    }

    fn metrics(&self) -> String {
        self.http.get(format!("{}/metrics", self.base)).send().unwrap().text().unwrap()
    }
}

/// The config every test starts from: a synthetic market, a file sink,
/// the admin API on a free port with both tokens.
fn config(dir: &Path, source: &str, templates: &str) -> String {
    let head = base_config(dir)
        .replace("watch = false", &format!("watch = false\ndir = \"{}/plugins\"", dir.display()));
    format!(
        "{head}[server]\nlisten = \"127.0.0.1:{port}\"\n[server.admin]\ntoken_env = \"KLAXON_TEST_ADMIN\"\n\
         read_token_env = \"KLAXON_TEST_READ\"\nmax_plugin_bytes = 4194304\nmax_body_bytes = 8192\n\
         [sources.market]\ntype = \"synthetic\"\n{source}\n[sinks.file]\ntype = \"file\"\npath = \"{out}\"\n{templates}",
        port = free_port(),
        out = dir.join("alerts.ndjson").display(),
    )
}

const WHALES: &str = "[templates.whales]\nfilter = { plugin = \"amount-threshold\", params = { min_notional_usd = 250000 } }\nchannels = [\"file\"]\n";

fn file_titles(dir: &Path) -> Vec<String> {
    let text = fs::read_to_string(dir.join("alerts.ndjson")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["title"].as_str().map(str::to_owned))
        .collect()
}

fn count_title(dir: &Path, title: &str) -> usize {
    file_titles(dir).iter().filter(|t| *t == title).count()
}

#[test]
fn plugins_and_templates_deployed_through_the_api_go_live_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let host = Host::start(d, &config(d, "rate = 400\nseed = 5", WHALES));
    let pid = host.running.child.id();
    let v1 = fs::read(plugin("swap-probe-v1")).unwrap();
    let (status, body) = host.put("/v1/plugins/probe", ADMIN, v1.clone(), "application/wasm");
    assert_eq!(status, 200, "{body}");
    // A template through the API, as JSON; `above_price` is for the trap below.
    let template = json!({
        "filter": { "plugin": "probe", "params": { "above_price": 0 } },
        "default_cooldown": "0s", "channels": ["file"],
    });
    let body = serde_json::to_vec(&template).unwrap();
    let (status, answer) = host.put("/v1/templates/probe", ADMIN, body, "application/json");
    assert_eq!(status, 200, "{answer}");
    host.wait(|_| count_title(d, "swap-probe v1") > 0, "a v1 alert");
    assert!(fs::read_to_string(d.join("klaxon.toml")).unwrap().contains("[templates.probe]"));

    let v2 = fs::read(plugin("swap-probe-v2")).unwrap();
    let (status, answer) = host.put("/v1/plugins/probe", ADMIN, v2.clone(), "application/wasm");
    assert_eq!(status, 200, "{answer}");
    let v2_version = answer["version"].as_str().unwrap().to_owned();
    host.wait(|_| count_title(d, "swap-probe v2") > 0, "a v2 alert");

    // A trap in the smoke run, and a component of the wrong world: refused
    // with the reason, the file keeps v2, and v2 keeps serving.
    let trap = fs::read(plugin("trap")).unwrap();
    let (status, answer) = host.put("/v1/plugins/probe", ADMIN, trap, "application/wasm");
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("probe"), "{answer}");
    let fixed = fs::read(plugin("fixed")).unwrap();
    let (status, answer) = host.put("/v1/plugins/probe", ADMIN, fixed, "application/wasm");
    assert_eq!(status, 422, "{answer}");
    assert!(answer["issues"].to_string().contains("filter"), "{answer}");
    assert_eq!(fs::read(d.join("plugins/probe.wasm")).unwrap(), v2);
    let before = count_title(d, "swap-probe v2");
    host.wait(|_| count_title(d, "swap-probe v2") > before + 5, "v2 to keep serving");

    let (_, templates) = host.get("/v1/templates", READER);
    let probe = templates.as_array().unwrap().iter().find(|t| t["name"] == "probe").unwrap();
    assert_eq!(probe["state"], "live", "{probe}");
    assert_eq!(probe["versions"]["filter"], format!("probe@{v2_version}"), "{probe}");
    let (_, plugins) = host.get("/v1/plugins", READER);
    let listed = plugins.as_array().unwrap().iter().find(|p| p["name"] == "probe").unwrap();
    assert_eq!(listed["used_by"], json!(["probe"]), "{listed}");

    why_explains_an_alert(&host);
    let (status, answer) =
        host.send(host.http.delete(format!("{}/v1/templates/probe", host.base)).bearer_auth(ADMIN));
    assert_eq!(status, 200, "{answer}");
    assert!(!fs::read_to_string(d.join("klaxon.toml")).unwrap().contains("[templates.probe]"));
    assert_eq!(host.running.child.id(), pid, "no restart");
    let stderr = host.running.stop();
    assert!(
        stderr.contains("Admin change applied.") && stderr.contains("who=\"admin\""),
        "{stderr}"
    );
    assert!(!stderr.contains(ADMIN), "a token reached the log");
}

fn why_explains_an_alert(host: &Host) {
    let wait_logged = |h: &Host| {
        h.get("/v1/alerts?template=probe&status=fired&limit=1", READER)
            .1
            .as_array()
            .is_some_and(|a| !a.is_empty())
    };
    host.wait(wait_logged, "a logged alert");
    let (_, alerts) = host.get("/v1/alerts?template=probe&status=fired&limit=1", READER);
    let id = alerts[0]["id"].as_str().unwrap().to_owned();
    let (status, why) = host.get(&format!("/v1/alerts/{id}/why"), READER);
    assert_eq!(status, 200, "{why}");
    assert_eq!(why["decision"]["status"], "fired", "{why}");
    assert_eq!(why["decision"]["by"], "default", "{why}");
    assert!(why["filter"]["plugin"].as_str().unwrap().starts_with("probe@"), "{why}");
    assert!(why["history"]["fires"].is_u64(), "{why}");
    let has_file = |h: &Host| {
        let (_, why) = h.get(&format!("/v1/alerts/{id}/why"), READER);
        why["deliveries"].as_array().is_some_and(|d| d.iter().any(|d| d["channel"] == "file"))
    };
    host.wait(has_file, "the alert's file delivery in its why");
    assert_eq!(host.get("/v1/alerts/nope/why", READER).0, 404);
}

#[test]
fn bad_requests_are_refused_with_their_status_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let host = Host::start(d, &config(d, "rate = 50\nseed = 5", WHALES));
    let config_before = fs::read(d.join("klaxon.toml")).unwrap();
    let generation = host.get("/v1/status", READER).1["generation"].clone();
    let url = |p: &str| format!("{}{p}", host.base);
    let wasm = fs::read(plugin("swap-probe-v1")).unwrap();

    let unauthenticated = host.send(host.http.get(url("/v1/templates")));
    assert_eq!(unauthenticated.0, 401, "{:?}", unauthenticated.1);
    assert_eq!(host.get("/v1/templates", "wrong-token").0, 401);
    let (status, body) = host.put("/v1/plugins/probe", READER, wasm.clone(), "application/wasm");
    assert_eq!(status, 403, "{body}");
    assert_eq!(host.post("/v1/reload", READER, json!({})).0, 403);

    let (status, body) =
        host.put("/v1/templates/t", ADMIN, b"filter = ".to_vec(), "application/toml");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["issues"][0]["field"], "templates.t", "{body}");
    let unknown = b"filter = { plugin = \"amount-threshold\" }\nchanels = [\"file\"]\n".to_vec();
    let (status, body) = host.put("/v1/templates/t", ADMIN, unknown, "application/toml");
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("chanels"), "{body}");
    let (status, body) =
        host.post("/v1/templates/whales/rollout", ADMIN, json!({ "kind": "filter" }));
    assert_eq!(status, 400, "{body}");

    let huge = vec![0u8; 4194304 + 1];
    assert_eq!(host.put("/v1/plugins/probe", ADMIN, huge, "application/wasm").0, 413);
    let big_template = vec![b'#'; 8193];
    assert_eq!(host.put("/v1/templates/t", ADMIN, big_template, "application/toml").0, 413);

    for name in ["..%2Fescape", "..%5Cescape", "Probe", "a.b", "x%00y", &"a".repeat(65)] {
        let (status, body) =
            host.put(&format!("/v1/plugins/{name}"), ADMIN, wasm.clone(), "application/wasm");
        assert_eq!(status, 400, "{name}: {body}");
    }
    // Dot segments the client or the router resolves away never reach a handler.
    for path in
        ["/v1/plugins/../../escape", "/v1/plugins/%2E%2E", "/v1/plugins/%2E%2E%2F%2E%2E%2Fescape"]
    {
        let (status, body) = host.put(path, ADMIN, wasm.clone(), "application/wasm");
        assert!(matches!(status, 400 | 404), "{path}: {status} {body}");
    }

    assert_eq!(fs::read(d.join("klaxon.toml")).unwrap(), config_before, "config changed");
    let plugins: Vec<_> = fs::read_dir(d.join("plugins")).unwrap().flatten().collect();
    assert!(plugins.is_empty(), "plugins dir changed: {plugins:?}");
    assert!(!d.join("escape.wasm").exists() && !d.parent().unwrap().join("escape.wasm").exists());
    assert_eq!(host.get("/v1/status", READER).1["generation"], generation);
    let metrics = host.metrics();
    assert!(metrics.contains("klaxon_admin_requests_total{action=\"auth\",outcome=\"denied\"}"));
    host.running.stop();
}

/// The alert-log rows of the `split` template: (key, filter version, decided at).
fn split_rows(db: &Path) -> Vec<(String, String, u64)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let log =
            klaxon::store::AlertLog::open(&format!("sqlite://{}", db.display())).await.unwrap();
        let q = klaxon::store::AlertQuery {
            template: Some("split".into()),
            limit: u32::MAX >> 1,
            ..Default::default()
        };
        let rows = log.query(&q).await.unwrap();
        rows.into_iter()
            .map(|r| (r.alert_key, r.versions.filter.unwrap_or_default(), r.decided_at_ms))
            .collect()
    })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn a_canary_splits_keys_by_stable_hash_and_a_rollback_returns_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("plugins")).unwrap();
    fs::copy(plugin("swap-probe-v1"), d.join("plugins/probe.wasm")).unwrap();
    fs::copy(plugin("swap-probe-v2"), d.join("plugins/probe-next.wasm")).unwrap();
    let symbols: Vec<String> =
        (0..1000).map(|i| format!("{{ symbol = \"S{i:04}\", price = 100 }}")).collect();
    let source =
        format!("rate = 3000\nseed = 9\nbook_top_share = 0\nsymbols = [{}]", symbols.join(", "));
    let template = "[templates.split]\nfilter = { plugin = \"probe\" }\ndefault_cooldown = \"0s\"\n\
                    rollout = { kind = \"filter\", plugin = \"probe-next\", share = 0.1 }\n";
    let host = Host::start(d, &config(d, &source, template));
    let evaluated = |h: &Host, arm: &str| -> u64 {
        let m = h.metrics();
        let series = format!("klaxon_evaluations_total{{arm=\"{arm}\",template=\"split\"}} ");
        m.lines().find_map(|l| l.strip_prefix(&series)).map_or(0, |v| v.trim().parse().unwrap())
    };
    host.wait(|h| evaluated(h, "stable") + evaluated(h, "canary") > 15_000, "15,000 evaluations");
    assert!(evaluated(&host, "canary") > 0, "the canary arm is counted apart");
    let metrics = host.metrics();
    let info = metrics
        .lines()
        .find(|l| l.starts_with("klaxon_template_plugins{") && l.contains("arm=\"canary\""))
        .unwrap();
    assert!(info.contains("filter=\"probe-next@") && info.ends_with(" 0.1"), "{info}");
    let (_, status) = host.get("/v1/templates/split/rollout", READER);
    assert_eq!(status["rollout"]["share"], 0.1, "{status}");
    assert_eq!(status["arms"].as_array().unwrap().len(), 2, "{status}");

    // The rollback goes through the CLI, a client of the same API.
    let rolled_at = now_ms();
    let out = klaxon()
        .args(["rollout", "rollback", "split", "--url", &host.base])
        .env("KLAXON_ADMIN_TOKEN", ADMIN)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let acked = now_ms();
    let after = |h: &Host| {
        evaluated(h, "stable") > 0
            && split_rows(&d.join("alerts.db")).iter().filter(|r| r.2 > acked + 500).count() > 5_000
    };
    host.wait(after, "5,000 decisions after the rollback");
    let stderr = host.running.stop();

    let rows = split_rows(&d.join("alerts.db"));
    let summary = stderr.lines().find(|l| l.contains("Klaxon stopped.")).unwrap();
    let field = |name: &str| -> u64 {
        let at = summary.find(&format!("{name}=")).unwrap() + name.len() + 1;
        summary[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    // Every event decided exactly once: one row per event, none doubled.
    assert_eq!(field("fired") + field("suppressed"), field("events"), "{summary}");
    assert_eq!(rows.len() as u64, field("events"), "{summary}");

    let mut arm_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (key, version, at) in &rows {
        if *at < rolled_at {
            arm_of.entry(key).or_default().insert(version.split('@').next().unwrap());
        }
    }
    assert!(arm_of.len() > 900, "{} keys seen during the rollout", arm_of.len());
    let split = klaxon::pipeline::route::KeySplit {
        share: 0.1,
        canary: true,
        by: klaxon::config::ShardKey::Symbol,
        scope: klaxon::config::KeyScope::PerVenue,
    };
    for (key, versions) in &arm_of {
        assert_eq!(versions.len(), 1, "{key} ran on both arms: {versions:?}");
        let expected =
            if split.on_canary(&format!("synthetic/{key}")) { "probe-next" } else { "probe" };
        assert!(versions.contains(expected), "{key} on {versions:?}, its hash says {expected}");
    }
    let canary = arm_of.values().filter(|v| v.contains("probe-next")).count() as f64;
    let share = canary / arm_of.len() as f64;
    // 10% of ~1,000 keys: σ ≈ 0.95 points; 6..14% is over 4σ either way.
    assert!((0.06..0.14).contains(&share), "{share} of keys on the canary");
    let late: Vec<_> = rows.iter().filter(|r| r.2 > acked + 500).collect();
    assert!(
        late.iter().all(|r| r.1.starts_with("probe@")),
        "a key stayed on the canary after rollback"
    );
}

#[test]
fn a_missing_plugins_dir_is_created_at_start_and_hot_swap_works_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = config(d, "rate = 200\nseed = 3", WHALES).replace("watch = false", "watch = true");
    let path = d.join("klaxon.toml");
    fs::write(&path, &text).unwrap();
    let check = klaxon().args(["check", "--config"]).arg(&path).output().unwrap();
    let said = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(check.status.success(), "{said}{}", String::from_utf8_lossy(&check.stderr));
    assert!(said.contains("does not exist; `klaxon run` creates it, then it is watched"), "{said}");
    assert!(!d.join("plugins").exists());

    let host = Host::start(d, &text);
    assert!(d.join("plugins").is_dir(), "plugins.dir was not created");
    fs::copy(plugin("swap-probe-v1"), d.join("plugins/probe.wasm")).unwrap();
    let probe = "[templates.probe]\nfilter = { plugin = \"probe\" }\ndefault_cooldown = \"0s\"\nchannels = [\"file\"]\n";
    fs::write(&path, format!("{text}{probe}")).unwrap();
    host.wait(|_| count_title(d, "swap-probe v1") > 0, "the watched drop to go live");
    let stderr = host.running.stop();
    assert!(stderr.contains("Created plugins.dir"), "{stderr}");
    assert!(stderr.contains("probe[probe@"), "the reload log lists versions:\n{stderr}");
}
