//! HTTP next to the sockets: Binance depth snapshots, EVM and Solana
//! JSON-RPC calls. One `reqwest` client per source (connection reuse).
//!
//! Venues say when to slow down and we obey them exactly: a 429 or 418
//! carries `Retry-After` (seconds), and the next request to that venue waits
//! at least that long (`klaxon_source_rest_throttled_total{status}`). Binance
//! also reports the weight used in the current minute
//! (`X-MBX-USED-WEIGHT-1M`); when it passes `weight_budget` the client pauses
//! until the minute turns instead of running into a 429 and then a 418 ban.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::telemetry::metrics;

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("GET/POST {url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: HTTP {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("{url}: HTTP {status}, retry after {retry_after:?}")]
    Throttled { url: String, status: u16, retry_after: Duration },
    #[error("{url}: response is not the expected JSON: {reason}")]
    Body { url: String, reason: String },
    #[error("{url}: JSON-RPC error {code}: {message}")]
    Rpc { url: String, code: i64, message: String },
}

/// A rate-aware HTTP client for one source.
#[derive(Clone)]
pub struct Rest {
    source: String,
    http: reqwest::Client,
    /// Earliest time the next request may go out (set by `Retry-After` or
    /// by the weight budget). Shared by clones so all of a source's tasks obey it.
    not_before: Arc<Mutex<Instant>>,
    weight_budget: Option<u32>,
}

impl Rest {
    pub fn new(source: &str, timeout: Duration, weight_budget: Option<u32>) -> Rest {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("klaxon/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("static reqwest config");
        Rest {
            source: source.to_owned(),
            http,
            not_before: Arc::new(Mutex::new(Instant::now())),
            weight_budget,
        }
    }

    /// GET a JSON document.
    pub async fn get_json(&self, url: &str) -> Result<Value, RestError> {
        self.send(url, self.http.get(url)).await
    }

    /// One JSON-RPC 2.0 call; returns `result` or the RPC error.
    pub async fn rpc(&self, url: &str, method: &str, params: Value) -> Result<Value, RestError> {
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut reply = self.send(url, self.http.post(url).json(&body)).await?;
        if let Some(error) = reply.get("error") {
            let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
            let message = error.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
            return Err(RestError::Rpc { url: url.to_owned(), code, message });
        }
        Ok(reply.get_mut("result").map(Value::take).unwrap_or(Value::Null))
    }

    async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Result<Value, RestError> {
        tokio::time::sleep_until(*self.not_before.lock().await).await;
        let transport =
            |e: reqwest::Error| RestError::Transport { url: url.to_owned(), reason: e.to_string() };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        self.obey_weight(response.headers()).await;
        if status == 429 || status == 418 {
            let retry_after = retry_after(response.headers()).unwrap_or(Duration::from_secs(60));
            self.pause(retry_after).await;
            metrics()
                .source_rest_throttled
                .with_label_values(&[self.source.as_str(), &status.to_string()])
                .inc();
            return Err(RestError::Throttled { url: url.to_owned(), status, retry_after });
        }
        let text = response.text().await.map_err(transport)?;
        if status >= 400 {
            let body = crate::sources::frame::truncate(&text).to_owned();
            return Err(RestError::Status { url: url.to_owned(), status, body });
        }
        serde_json::from_str(&text)
            .map_err(|e| RestError::Body { url: url.to_owned(), reason: e.to_string() })
    }

    async fn pause(&self, for_: Duration) {
        let mut not_before = self.not_before.lock().await;
        *not_before = (*not_before).max(Instant::now() + for_);
    }

    /// Over budget: wait for the next minute, when Binance resets the weight.
    async fn obey_weight(&self, headers: &reqwest::header::HeaderMap) {
        let (Some(budget), Some(used)) =
            (self.weight_budget, header_u64(headers, "x-mbx-used-weight-1m"))
        else {
            return;
        };
        if used >= u64::from(budget) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            let to_next_minute = Duration::from_secs(60 - now.as_secs() % 60);
            tracing::warn!(source = %self.source, used, budget, wait = ?to_next_minute, "REST weight budget reached; pausing.");
            self.pause(to_next_minute).await;
        }
    }
}

fn header_u64(headers: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `Retry-After` in seconds (the form Binance, Slack and Discord send).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}
