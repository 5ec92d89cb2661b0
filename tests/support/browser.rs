//! A small Chrome DevTools Protocol driver for tests that need a real
//! browser: headless Chromium, one page, JavaScript evaluated in it,
//! conditions polled against a deadline, screenshots. Blocking on purpose:
//! the tests that use it are plain `#[test]`s driving a child process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::stream::MaybeTlsStream;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// Where Chromium may be installed, Debian's package first.
const CANDIDATES: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
];

/// A hang guard for one protocol reply, not a timing assertion.
const REPLY_LIMIT: Duration = Duration::from_secs(60);

/// The Chromium binary (`KLAXON_CHROMIUM` overrides), or `None` with the
/// reason printed; with `KLAXON_REQUIRE_TOOLCHAINS` set a missing browser
/// fails the test instead.
pub fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("KLAXON_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(CANDIDATES.iter().map(PathBuf::from))
        .find(|p| p.is_file());
    if found.is_none() {
        let msg =
            "skipping: no Chromium found (apt-get install -y chromium, or set KLAXON_CHROMIUM)";
        assert!(std::env::var_os("KLAXON_REQUIRE_TOOLCHAINS").is_none(), "{msg}");
        eprintln!("{msg}");
    }
    found
}

// Fields drop in order: the socket, then the browser, then its profile.
pub struct Browser {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    child: Killed,
    profile: tempfile::TempDir,
}

/// Chromium, killed when dropped: also when launching panics half-way, so a
/// failed test leaves no browser behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Browser {
    /// Start headless Chromium with a throwaway profile and attach to its page.
    pub fn launch(binary: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(profile.path().join("chromium.log")).unwrap();
        let mut child = Killed(
            Command::new(binary)
                .args([
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--disable-sync",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--mute-audio",
                    "--remote-debugging-port=0",
                    "--window-size=1280,900",
                ])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg("about:blank")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn chromium"),
        );
        // Port 0 lets Chromium pick a free port; it writes the one it took here.
        let active = profile.path().join("DevToolsActivePort");
        let start = Instant::now();
        let port: u16 = loop {
            let text = std::fs::read_to_string(&active).unwrap_or_default();
            if let Some(port) = text.lines().next().and_then(|l| l.trim().parse().ok()) {
                break port;
            }
            if let Some(status) = child.0.try_wait().unwrap() {
                panic!("chromium exited ({status}) before listening: {}", chromium_log(&profile));
            }
            assert!(start.elapsed() < REPLY_LIMIT, "chromium never wrote {}", active.display());
            std::thread::sleep(Duration::from_millis(50));
        };
        let url = page_target(port)
            .unwrap_or_else(|| panic!("no page target: {}", chromium_log(&profile)));
        let (ws, _) = tungstenite::connect(url.as_str()).expect("connect to the page's DevTools");
        if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
            stream.set_read_timeout(Some(REPLY_LIMIT)).unwrap();
        }
        let mut browser = Browser { child, ws, next_id: 0, profile };
        browser.call("Page.enable", json!({}));
        browser
    }

    /// One protocol command; its `result`, or a panic naming the error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let text = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(Message::text(text)).expect("send to DevTools");
        loop {
            let msg = self.ws.read().unwrap_or_else(|e| panic!("{method}: no reply: {e}"));
            let Message::Text(text) = msg else { continue };
            let reply: Value = serde_json::from_str(&text).expect("DevTools sent JSON");
            // Events (no id) and other replies are not ours.
            if reply["id"].as_u64() != Some(id) {
                continue;
            }
            if let Some(error) = reply.get("error") {
                panic!("{method} failed: {error}");
            }
            return reply["result"].clone();
        }
    }

    pub fn navigate(&mut self, url: &str) {
        let result = self.call("Page.navigate", json!({"url": url}));
        assert!(result.get("errorText").is_none(), "navigate {url}: {result}");
        self.wait_for("the page to load", "document.readyState === 'complete'", REPLY_LIMIT);
    }

    /// Evaluate `js` in the page (promises awaited); its value as JSON.
    pub fn eval(&mut self, js: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "awaitPromise": true, "returnByValue": true}),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{js} threw: {}", exception["exception"]["description"]);
        }
        result["result"]["value"].clone()
    }

    /// Poll `js` until it returns something truthy, and return that; panic
    /// after `limit` with `what` and the last value seen.
    pub fn wait_for(&mut self, what: &str, js: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let value = self.eval(js);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(_) | Value::Object(_) => true,
            };
            if truthy {
                return value;
            }
            assert!(start.elapsed() < limit, "waited {limit:?} for {what}; last {value}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Type `text` into the input matching `selector` as a user would
    /// (value set, `input` event fired).
    pub fn fill(&mut self, selector: &str, text: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return false; e.focus(); \
             e.value = {text}; e.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()",
            sel = json!(selector),
            text = json!(text)
        );
        assert_eq!(self.eval(&js), json!(true), "no element {selector}");
    }

    pub fn click(&mut self, selector: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.click(); return true; }})()",
            json!(selector)
        );
        assert_eq!(self.eval(&js), json!(true), "no element {selector}");
    }

    /// Emulate a viewport (`mobile` for a phone's), e.g. 390×844.
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// A PNG of the viewport, or of the element matching `selector`.
    pub fn screenshot(&mut self, path: &Path, selector: Option<&str>) {
        let mut params = json!({"format": "png"});
        if let Some(selector) = selector {
            let js = format!(
                "(() => {{ const r = document.querySelector({}).getBoundingClientRect(); \
                 return {{x: r.x, y: r.y, width: r.width, height: r.height, scale: 1}}; }})()",
                json!(selector)
            );
            params["clip"] = self.eval(&js);
        }
        let shot = self.call("Page.captureScreenshot", params);
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// What Chromium wrote to stderr, for failure messages.
    pub fn log(&self) -> String {
        chromium_log(&self.profile)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.ws.close(None);
    }
}

fn chromium_log(profile: &tempfile::TempDir) -> String {
    std::fs::read_to_string(profile.path().join("chromium.log")).unwrap_or_default()
}

/// The websocket URL of the browser's first page, opening one if it has none.
fn page_target(port: u16) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < REPLY_LIMIT {
        let targets: Value =
            serde_json::from_str(&devtools_http(port, "GET", "/json/list")).unwrap_or_default();
        let page = targets.as_array().into_iter().flatten().find(|t| t["type"] == "page");
        if let Some(url) = page.and_then(|t| t["webSocketDebuggerUrl"].as_str()) {
            return Some(url.to_owned());
        }
        let created: Value =
            serde_json::from_str(&devtools_http(port, "PUT", "/json/new?about:blank"))
                .unwrap_or_default();
        if let Some(url) = created["webSocketDebuggerUrl"].as_str() {
            return Some(url.to_owned());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// The body of one request to DevTools' HTTP endpoint ("" on any failure).
/// It speaks HTTP/1.1 only, and may keep the connection open: the body is
/// read by its length.
fn devtools_http(port: u16, method: &str, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    let _ = stream.set_read_timeout(Some(REPLY_LIMIT));
    let _ = write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|n| body.len() >= n) {
                return body.to_owned();
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => {
                return text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
            }
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
}
