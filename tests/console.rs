//! The web console at `/`, in a real browser (headless Chromium driven over
//! the DevTools protocol) against a running host: sign-in, the templates and
//! sources, an alert the host decides after the page loaded arriving on the
//! live feed, its why, suppressed reasons, a phone-sized layout, and the
//! feed reconnecting by itself when the host restarts.
//!
//! Without Chromium these skip with a message, unless
//! `KLAXON_REQUIRE_TOOLCHAINS` is set. Screenshots land in `target/`.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::browser::{self, Browser};
use support::mock_service::{MockService, Resp};
use support::{Running, base_config, klaxon};

const TOKEN: &str = "console-test-token-5e1f0a";
/// Hang guard for any one condition, not a timing assertion.
const HANG_GUARD: Duration = Duration::from_secs(90);

#[test]
fn console_lists_templates_streams_a_live_alert_and_explains_it() {
    let Some(chromium) = browser::chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), true);
    let mut b = Browser::launch(&chromium);
    b.navigate(&host.url("/"));

    // A wrong token is refused with a message saying so, and nothing opens.
    b.fill("#login-token", "not-the-token");
    b.click("#login-submit");
    b.wait_for("the 401 message", &text_has("#login-message", "401"), HANG_GUARD);
    assert_eq!(b.eval("document.querySelector('#app').hidden"), json!(true));

    b.fill("#login-token", TOKEN);
    b.click("#login-submit");
    let rows = b.wait_for(
        "both templates listed",
        "(() => { const r = [...document.querySelectorAll('[data-testid=template-row]')]\
           .map(e => e.dataset.name + ':' + e.dataset.state); return r.length >= 2 ? r : null; })()",
        HANG_GUARD,
    );
    let rows: Vec<&str> = rows.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(rows.contains(&"every-trade:live"), "{rows:?}");
    assert!(rows.contains(&"resting:off"), "{rows:?}");
    let versions = b.eval(&text_of("[data-testid=template-row][data-name=every-trade]"));
    assert!(versions.as_str().unwrap().contains("amount-threshold@"), "{versions}");
    b.wait_for(
        "the synthetic source, running",
        // A source without connections (synthetic, replay) is `running`.
        "['up', 'running'].includes(document.querySelector('[data-testid=source-row][data-name=market]')?.dataset.state)",
        HANG_GUARD,
    );
    assert_eq!(b.eval("sessionStorage.getItem('klaxon.token')"), json!(TOKEN));

    // Only an alert decided after navigation proves the live feed: the
    // page's backfill from the log is marked `history`.
    let id = b.wait_for(
        "a fired alert on the live feed, decided after the page loaded",
        "(() => { const e = [...document.querySelectorAll('[data-testid=feed-item][data-origin=live][data-status=fired]')]\
           .find(e => +e.dataset.decided >= performance.timeOrigin); return e ? e.dataset.id : null; })()",
        HANG_GUARD,
    );
    let id = id.as_str().unwrap().to_owned();
    b.screenshot(&target().join("console-screenshot.png"), None);

    b.eval(&format!(
        "[...document.querySelectorAll('[data-testid=feed-item]')].find(e => e.dataset.id === {}).click()",
        json!(id)
    ));
    b.wait_for(
        "the why panel",
        "document.querySelector('#why-panel').dataset.state === 'ready'",
        HANG_GUARD,
    );
    assert!(b.eval(&text_of("#why-body")).as_str().unwrap().contains(&id));
    let decision = b.eval(
        "(() => { const d = document.querySelector('[data-testid=why-decision]'); \
           return [d.dataset.status, d.dataset.by, d.textContent]; })()",
    );
    assert_eq!(decision[0], "fired", "{decision}");
    assert_eq!(decision[1], "policy", "the template's cooldown plugin decided: {decision}");
    assert!(decision[2].as_str().unwrap().contains("fixed@"), "{decision}");
    let filter = b.eval(&text_of("[data-testid=why-filter]"));
    assert!(filter.as_str().unwrap().contains("amount-threshold@"), "{filter}");
    assert!(b.eval(&text_of("[data-testid=why-history]")).as_str().unwrap().contains("fires"));
    // The panel re-reads the why until every delivery is final.
    b.wait_for(
        "the webhook's delivery sent, the broken one's failing, the file written locally",
        "(() => { const s = c => document.querySelector(`[data-testid=delivery-row][data-channel=${c}]`)?.dataset.status; \
           return s('hook') === 'sent' && ['pending', 'failed', 'dead'].includes(s('broken')) \
             && s('file') === 'local'; })()",
        HANG_GUARD,
    );
    // The panel scrolls inside a fixed frame: a tall viewport shows it whole.
    let tall = b.eval("document.querySelector('#why-panel').scrollHeight").as_u64().unwrap();
    b.viewport(1280, (tall as u32).max(900), false);
    b.screenshot(&target().join("console-why.png"), Some("#why-panel"));
    b.viewport(1280, 900, false);
    b.click("#why-close");

    // The broken webhook's alerts become dead letters, with the service's answer.
    let dead = b.wait_for(
        "a dead letter",
        "document.querySelector('[data-testid=dead-row]')?.textContent",
        HANG_GUARD,
    );
    assert!(dead.as_str().unwrap().contains("500"), "{dead}");

    // Suppressed alerts, each with the reason it was held back.
    b.click("#feed-filter-suppressed");
    let reasons = b.wait_for(
        "suppressed alerts with their reasons",
        "(() => { const items = [...document.querySelectorAll('[data-testid=feed-item]')]; \
           if (!items.length || items.some(e => e.dataset.status !== 'suppressed')) return null; \
           return items.map(e => e.querySelector('[data-testid=suppressed-reason]').textContent); })()",
        HANG_GUARD,
    );
    let reasons = reasons.as_array().unwrap();
    assert!(
        reasons.iter().all(|r| !r.as_str().unwrap().contains("no reason given")),
        "{reasons:?}"
    );

    // A phone: the same page, nothing wider than the screen.
    b.click("#feed-filter-all");
    b.viewport(390, 844, true);
    b.wait_for(
        "the phone layout",
        "document.documentElement.scrollWidth <= window.innerWidth",
        HANG_GUARD,
    );
    b.screenshot(&target().join("console-phone.png"), None);

    // The host restarts: the feed says it is down, then reconnects by itself.
    b.viewport(1280, 900, false);
    let port = host.port;
    host.stop();
    b.wait_for("the feed marked down", &text_has("#feed-state", "down"), HANG_GUARD);
    let host = Host::start_on(dir.path(), true, port);
    let restarted = b.eval("Date.now()").as_f64().unwrap();
    b.wait_for(
        "a live alert from the restarted host",
        &format!(
            "[...document.querySelectorAll('[data-testid=feed-item][data-origin=live]')]\
               .some(e => +e.dataset.decided >= {restarted})"
        ),
        HANG_GUARD,
    );
    assert_eq!(b.eval("document.querySelector('#login').hidden"), json!(true));

    b.click("#logout");
    b.wait_for("the login again", "!document.querySelector('#login').hidden", HANG_GUARD);
    assert_eq!(b.eval("sessionStorage.getItem('klaxon.token')"), Value::Null);
    drop(b);
    host.stop();
}

#[test]
fn console_says_when_the_admin_api_is_off() {
    let Some(chromium) = browser::chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), false);
    let mut b = Browser::launch(&chromium);
    // A link's `#token=` signs in at once, and leaves the address bar.
    b.navigate(&host.url("/#token=whatever"));
    b.wait_for("the API-off message", &text_has("#login-message", "admin API is off"), HANG_GUARD);
    assert_eq!(b.eval("location.hash"), json!(""));
    drop(b);
    host.stop();
}

struct Host {
    /// `None` once stopped; a failed test kills it on drop.
    running: Option<Running>,
    port: u16,
    _mock: MockService,
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(running) = &mut self.running {
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
    }
}

impl Host {
    /// A host with a fast synthetic market, one template that fires every
    /// few seconds per symbol (and suppresses in between), one that is off;
    /// with `admin`, the API on behind `TOKEN`.
    fn start(dir: &Path, admin: bool) -> Host {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Host::start_on(dir, admin, port)
    }

    fn start_on(dir: &Path, admin: bool, port: u16) -> Host {
        // Webhooks, because only network sinks keep per-channel delivery
        // rows: one that takes every alert, one that never does (dead letters).
        let mock = MockService::start(|req, _| {
            if req.path == "/ok" {
                Resp::ok(200, "ok")
            } else {
                Resp::new(500, "down for the test")
            }
        });
        let fast = "attempts = 2, min_backoff = \"10ms\", max_backoff = \"50ms\", \
                    poll_interval = \"50ms\", shutdown_grace = \"2s\"";
        let admin_table =
            if admin { "[server.admin]\ntoken_env = \"KLAXON_TEST_ADMIN_TOKEN\"\n" } else { "" };
        let config = format!(
            "{base}[server]\nlisten = \"127.0.0.1:{port}\"\n{admin_table}\
             [sources.market]\ntype = \"synthetic\"\nrate = 20\nseed = 11\n\
             [sinks.hook]\ntype = \"webhook\"\nurl = \"{ok}\"\ndelivery = {{ {fast} }}\n\
             [sinks.file]\ntype = \"file\"\npath = \"{out}\"\n\
             [sinks.broken]\ntype = \"webhook\"\nurl = \"{down}\"\ndelivery = {{ {fast} }}\n\
             [templates.every-trade]\nowner = \"console-test\"\nselect = {{ kinds = [\"trade\"] }}\n\
             filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n\
             cooldown = {{ plugin = \"fixed\", params = {{ window = \"3s\" }} }}\nchannels = [\"hook\", \"broken\", \"file\"]\n\
             [templates.resting]\nowner = \"console-test\"\nenabled = false\n\
             filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\nchannels = [\"hook\"]\n",
            base = base_config(dir),
            ok = mock.url("/ok"),
            down = mock.url("/down"),
            out = dir.join("out.ndjson").display(),
        );
        let path = dir.join("klaxon.toml");
        std::fs::write(&path, config).unwrap();
        let mut cmd = klaxon();
        cmd.args(["run", "--config"]).arg(&path).env_remove("KLAXON_TEST_ADMIN_TOKEN");
        if admin {
            cmd.env("KLAXON_TEST_ADMIN_TOKEN", TOKEN);
        }
        let mut running = Running::spawn(cmd);
        let start = Instant::now();
        while !http_get(port, "/health").ends_with("ok") {
            if let Some(status) = running.child.try_wait().unwrap() {
                panic!("klaxon exited ({status}): {}", running.stderr.lock().unwrap());
            }
            assert!(start.elapsed() < HANG_GUARD, "klaxon never served /health");
            std::thread::sleep(Duration::from_millis(100));
        }
        Host { running: Some(running), port, _mock: mock }
    }

    /// SIGTERM and a clean exit.
    fn stop(mut self) {
        self.running.take().unwrap().stop();
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// The whole response ("" while nothing listens).
fn http_get(port: u16, path: &str) -> String {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// The cargo target directory (the binary lives in `target/<profile>/`).
fn target() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_klaxon"));
    bin.parent().and_then(Path::parent).unwrap().to_owned()
}

fn text_of(selector: &str) -> String {
    format!("document.querySelector({})?.textContent ?? ''", json!(selector))
}

fn text_has(selector: &str, needle: &str) -> String {
    format!("({}).includes({})", text_of(selector), json!(needle))
}
