//! Local stand-ins for the services alerts go to, on `127.0.0.1:0`, each
//! answering the way the real one does (protocols.md §6): Telegram's JSON
//! with `parameters.retry_after`, Discord's float `retry_after` and
//! `X-RateLimit-*` headers, Slack's `Retry-After`, WeCom's and DingTalk's
//! HTTP-200 `errcode`s, PagerDuty's 202. A behaviour closure decides each
//! answer from the request and its number; every request is recorded.
//!
//! Used by the host's unit tests (`#[path]`) and by the e2e tests, so it
//! owns its runtime and works from sync and async code alike.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The answer to one request.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Whether the service took the message (what "delivered" means).
    pub accepted: bool,
    /// Never answer (a blackholed endpoint).
    pub hang: bool,
    /// Answer only after this long (a slow service).
    pub delay: Option<Duration>,
}

impl Resp {
    pub fn new(status: u16, body: impl Into<String>) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: body.into(),
            accepted: false,
            hang: false,
            delay: None,
        }
    }
    pub fn ok(status: u16, body: impl Into<String>) -> Resp {
        Resp { accepted: true, ..Resp::new(status, body) }
    }
    pub fn header(mut self, k: &str, v: &str) -> Resp {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }
    pub fn after(mut self, delay: Duration) -> Resp {
        self.delay = Some(delay);
        self
    }
    pub fn hang() -> Resp {
        Resp { hang: true, ..Resp::new(200, "") }
    }
}

type Behaviour = Arc<dyn Fn(&Req, usize) -> Resp + Send + Sync>;

#[derive(Clone)]
struct Shared {
    behaviour: Arc<Mutex<Behaviour>>,
    log: Arc<Mutex<Vec<(Req, Resp)>>>,
}

pub struct MockService {
    pub addr: std::net::SocketAddr,
    shared: Shared,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for MockService {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl MockService {
    /// Serve every path with `behaviour(request, number)` (numbers from 0).
    pub fn start(behaviour: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> MockService {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let shared =
            Shared { behaviour: Arc::new(Mutex::new(Arc::new(behaviour))), log: Arc::default() };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap()
        });
        MockService { addr, shared, runtime: Some(runtime) }
    }

    /// Change how later requests are answered (a recovered service).
    pub fn set(&self, behaviour: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) {
        *self.shared.behaviour.lock().unwrap() = Arc::new(behaviour);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request with the answer it got.
    pub fn log(&self) -> Vec<(Req, Resp)> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Requests the service accepted.
    pub fn accepted(&self) -> Vec<Req> {
        self.log().into_iter().filter(|(_, r)| r.accepted).map(|(q, _)| q).collect()
    }

    /// Wait (polling) until `cond` holds, or panic after `limit`.
    pub fn wait_until(&self, what: &str, limit: Duration, cond: impl Fn(&MockService) -> bool) {
        let start = Instant::now();
        while !cond(self) {
            assert!(start.elapsed() < limit, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    let resp = {
        let n = shared.log.lock().unwrap().len();
        let behaviour = shared.behaviour.lock().unwrap().clone();
        let resp = behaviour(&req, n);
        shared.log.lock().unwrap().push((req, resp.clone()));
        resp
    };
    if resp.hang {
        std::future::pending::<()>().await;
    }
    if let Some(delay) = resp.delay {
        tokio::time::sleep(delay).await;
    }
    let mut out = (StatusCode::from_u16(resp.status).unwrap(), resp.body).into_response();
    for (k, v) in resp.headers {
        out.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(&v).unwrap(),
        );
    }
    out
}

/// Telegram's `sendMessage`: checks the token in the path, the 4096 limit and
/// MarkdownV2 validity like the real API; `throttle(n)` decides which
/// request numbers get a 429 with `retry_after` seconds.
pub fn telegram(
    token: &'static str,
    retry_after: u64,
    throttle: impl Fn(usize) -> bool + Send + Sync + 'static,
) -> impl Fn(&Req, usize) -> Resp + Send + Sync + 'static {
    move |req, n| {
        if req.path != format!("/bot{token}/sendMessage") {
            return Resp::new(404, r#"{"ok":false,"error_code":404,"description":"Not Found"}"#);
        }
        if throttle(n) {
            return Resp::new(
                429,
                format!(
                    r#"{{"ok":false,"error_code":429,"description":"Too Many Requests: retry after {retry_after}","parameters":{{"retry_after":{retry_after}}}}}"#
                ),
            );
        }
        let json = req.json();
        let text = json["text"].as_str().unwrap_or("");
        if text.is_empty() {
            return Resp::new(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: message text is empty"}"#,
            );
        }
        if text.encode_utf16().count() > 4096 {
            return Resp::new(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}"#,
            );
        }
        if json["parse_mode"] == "MarkdownV2"
            && let Err(e) = markdown_v2_valid(text)
        {
            return Resp::new(
                400,
                format!(
                    r#"{{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: {e}"}}"#
                ),
            );
        }
        Resp::ok(200, format!(r#"{{"ok":true,"result":{{"message_id":{},"text":"…"}}}}"#, 1000 + n))
    }
}

/// Telegram's MarkdownV2 rules as the Bot API enforces them: reserved
/// characters escaped outside entities, entities closed, code spans taking
/// only `` ` `` and `\` escapes.
pub fn markdown_v2_valid(text: &str) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    let mut open: Vec<&str> = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < chars.len() {
        let c = chars[i];
        let in_code = open.last().is_some_and(|e| *e == "`" || *e == "```");
        if c == '\\' {
            let next = chars.get(i + 1).ok_or("text ends with an escape")?;
            if (*next as u32) == 0 || (*next as u32) > 126 {
                return Err(format!("character {next:?} can't be escaped"));
            }
            i += 2;
            line_start = false;
            continue;
        }
        if in_code {
            if c == '`' {
                let tok = if chars[i..].starts_with(&['`', '`', '`']) { "```" } else { "`" };
                if open.last() == Some(&tok) {
                    open.pop();
                    i += tok.len();
                    continue;
                }
            }
            i += 1;
            continue;
        }
        let tok: Option<&str> = match c {
            '*' => Some("*"),
            '~' => Some("~"),
            '_' if chars.get(i + 1) == Some(&'_') => Some("__"),
            '_' => Some("_"),
            '|' if chars.get(i + 1) == Some(&'|') => Some("||"),
            '`' if chars[i..].starts_with(&['`', '`', '`']) => Some("```"),
            '`' => Some("`"),
            _ => None,
        };
        if let Some(tok) = tok {
            if open.last() == Some(&tok) {
                open.pop();
            } else {
                open.push(tok);
            }
            i += tok.chars().count();
            line_start = false;
            continue;
        }
        match c {
            '>' if line_start => {}
            '\n' => {
                line_start = true;
                i += 1;
                continue;
            }
            '_' | '[' | ']' | '(' | ')' | '>' | '#' | '+' | '-' | '=' | '|' | '{' | '}' | '.'
            | '!' => {
                return Err(format!("character '{c}' is reserved and must be escaped"));
            }
            _ => {}
        }
        line_start = false;
        i += 1;
    }
    match open.last() {
        Some(tok) => Err(format!("can't find end of {tok} entity")),
        None => Ok(()),
    }
}
