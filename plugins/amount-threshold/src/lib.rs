//! `amount-threshold`: alert on big money. An event passes when its own USD
//! notional reaches `min_notional_usd`, or when the notional summed per key
//! (symbol or account) within `window` reaches `window_total_usd`. With both
//! set, either one passes.
//!
//! The running sums live in the host KV store (one entry per key, expiring
//! after `window`), so they survive instance recycling and are shared by
//! every worker serving the template. The sum is kept in ten buckets per
//! window, so it may count up to a tenth of a window of older flow. After a
//! window total passes, the key's sum starts again from zero.
//!
//! Alert key: the symbol (`BTCUSDT`), or the account with `key_by = "account"`.

use klaxon_sdk::fmt::{price, usd};
use klaxon_sdk::{
    Columns, Duration, Event, EventKind, EventKinds, Filter, Market, Pass, Severity, Verdict,
    export_filter, host,
};
use serde::Deserialize;

/// Params of `amount-threshold`. Set `min_notional_usd`, `window_total_usd`, or both.
///
/// ```toml
/// filter = { plugin = "amount-threshold", params = { min_notional_usd = 250000, kinds = ["trade", "swap"] } }
/// filter = { plugin = "amount-threshold", params = { window_total_usd = 5000000, window = "5m", key_by = "symbol" } }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Pass one event whose USD notional is at least this.
    #[serde(default)]
    pub min_notional_usd: Option<f64>,
    /// Pass when the USD notional summed per key within `window` reaches this.
    #[serde(default)]
    pub window_total_usd: Option<f64>,
    /// The span `window_total_usd` sums over, e.g. `"5m"`. Required with it.
    #[serde(default)]
    pub window: Option<Duration>,
    /// Event kinds considered. Default: `["trade", "swap", "perp-fill", "liquidation"]`.
    #[serde(default = "default_kinds")]
    pub kinds: EventKinds,
    /// Alert key and sum key: `"symbol"` (default) or `"account"` (events
    /// without an account are rejected).
    #[serde(default)]
    pub key_by: KeyBy,
    /// Severity of the alerts: `"info"`, `"warning"` (default) or `"critical"`.
    #[serde(default = "default_severity")]
    pub severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyBy {
    #[default]
    Symbol,
    Account,
}

fn default_kinds() -> EventKinds {
    EventKinds::of(&[
        EventKind::Trade,
        EventKind::Swap,
        EventKind::PerpFill,
        EventKind::Liquidation,
    ])
}

fn default_severity() -> Severity {
    Severity::Warning
}

/// Buckets per window: the sum's resolution.
const BUCKETS: u64 = 10;

pub struct AmountThreshold {
    kinds: EventKinds,
    min_notional_usd: f64,
    /// `(threshold, window)` when summing is on.
    total: Option<(f64, Duration)>,
    key_by: KeyBy,
    severity: Severity,
}

impl Filter for AmountThreshold {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if p.min_notional_usd.is_none() && p.window_total_usd.is_none() {
            return Err("set `min_notional_usd`, `window_total_usd`, or both".into());
        }
        if let Some(min) = p.min_notional_usd
            && (min.is_nan() || min < 0.0)
        {
            return Err(format!("min_notional_usd: must be 0 or more, got {min}"));
        }
        let total = match (p.window_total_usd, p.window) {
            (None, None) => None,
            (None, Some(_)) => return Err("window: only used with `window_total_usd`".into()),
            (Some(_), None) => return Err("window: required with `window_total_usd`".into()),
            (Some(total), Some(window)) => {
                if total.is_nan() || total <= 0.0 {
                    return Err(format!("window_total_usd: must be greater than 0, got {total}"));
                }
                if window.is_zero() {
                    return Err("window: must be greater than 0".into());
                }
                Some((total, window))
            }
        };
        if p.kinds.is_empty() {
            return Err("kinds: must list at least one event kind".into());
        }
        Ok(AmountThreshold {
            kinds: p.kinds,
            // No single-event threshold: nothing is ever ≥ +∞.
            min_notional_usd: p.min_notional_usd.unwrap_or(f64::INFINITY),
            total,
            key_by: p.key_by,
            severity: p.severity,
        })
    }

    /// What `evaluate` and the pass builders read.
    fn columns(&self) -> Columns {
        Columns::KIND
            | Columns::NOTIONAL_USD
            | Columns::SYMBOL
            | Columns::ACCOUNT
            | Columns::SIDE
            | Columns::PRICE
            | Columns::SIZE
    }

    // The reject checks stay small so this inlines into the SDK's batch
    // loop; building a pass and the KV window live out of line.
    #[inline]
    fn evaluate(&mut self, event: &Event, _market: &Market) -> Verdict {
        if !self.kinds.contains(event.kind()) {
            return Verdict::reject("kind not selected");
        }
        let Some(notional) = event.notional_usd() else { return Verdict::reject("no notional") };
        if notional >= self.min_notional_usd {
            return self.single_pass(event, notional);
        }
        match self.total {
            Some((threshold, window)) if notional > 0.0 => {
                self.window_path(event, notional, threshold, window)
            }
            _ => Verdict::reject("below threshold"),
        }
    }
}

impl AmountThreshold {
    fn key(&self, event: &Event) -> Option<&'static str> {
        match self.key_by {
            KeyBy::Symbol => Some(event.symbol().name()),
            KeyBy::Account => event.account().name(),
        }
    }

    #[inline(never)]
    fn single_pass(&self, event: &Event, notional: f64) -> Verdict {
        let Some(key) = self.key(event) else { return Verdict::reject("no account") };
        let symbol = event.symbol().name();
        let noun = match event.kind() {
            EventKind::Trade => match event.side() {
                klaxon_sdk::Side::Buy => "buy",
                klaxon_sdk::Side::Sell => "sell",
                klaxon_sdk::Side::Unknown => "trade",
            },
            EventKind::Swap => "swap",
            EventKind::PerpFill => "fill",
            EventKind::Liquidation => "liquidation",
            EventKind::BookTop => "book update",
        };
        let pass = Pass::new(key, format!("{} {noun} on {symbol}", usd(notional)))
            .with_severity(self.severity)
            .with_value(notional)
            .with_field("notional", usd(notional))
            .with_field("price", price(event.price()))
            .with_field("size", format!("{}", event.size()));
        details(pass, event).into()
    }

    #[inline(never)]
    fn window_path(
        &self,
        event: &Event,
        notional: f64,
        threshold: f64,
        window: Duration,
    ) -> Verdict {
        let Some(key) = self.key(event) else { return Verdict::reject("no account") };
        match add_to_window(key, notional, window, threshold) {
            Some(total) => self.window_pass(event, key, total, window),
            None => Verdict::reject("below window total"),
        }
    }

    fn window_pass(&self, event: &Event, key: &str, total: f64, window: Duration) -> Verdict {
        let pass = Pass::new(key, format!("{} on {key} in {window}", usd(total)))
            .with_severity(self.severity)
            .with_value(total)
            .with_field("window total", usd(total))
            .with_field("window", window.to_string())
            .with_field(
                "last",
                format!("{} at {}", usd(event.notional_usd().unwrap_or(0.0)), price(event.price())),
            );
        details(pass, event).into()
    }
}

/// The fields every pass carries when the event has them.
fn details(mut pass: Pass, event: &Event) -> Pass {
    if event.side() != klaxon_sdk::Side::Unknown {
        pass = pass.with_field("side", event.side().as_str());
    }
    if let Some(account) = event.account().name() {
        pass = pass.with_field("account", account);
    }
    pass
}

/// Adds `notional` to `key`'s sum in the KV store. Returns the total (and
/// clears the sum) if it reached `threshold`, else stores it and returns `None`.
fn add_to_window(key: &str, notional: f64, window: Duration, threshold: f64) -> Option<f64> {
    let kv_key = format!("sum:{key}");
    let bucket_ms = (window.as_ms() / BUCKETS).max(1);
    let now_bucket = host::now_ms() / bucket_ms;
    let oldest = now_bucket.saturating_sub(BUCKETS - 1);
    let mut buckets: Vec<(u64, f64)> =
        host::kv_get(&kv_key).map(|v| decode(&v)).unwrap_or_default();
    buckets.retain(|(b, _)| *b >= oldest && *b <= now_bucket);
    match buckets.iter_mut().find(|(b, _)| *b == now_bucket) {
        Some((_, sum)) => *sum += notional,
        None => buckets.push((now_bucket, notional)),
    }
    let total: f64 = buckets.iter().map(|(_, s)| s).sum();
    if total >= threshold {
        host::kv_delete(&kv_key);
        Some(total)
    } else {
        host::kv_set(&kv_key, &encode(&buckets), Some(window));
        None
    }
}

/// `bucket:sum;bucket:sum`. Unparseable entries (say, from another plugin
/// version) are dropped rather than trusted.
fn decode(value: &str) -> Vec<(u64, f64)> {
    value
        .split(';')
        .filter_map(|entry| {
            let (bucket, sum) = entry.split_once(':')?;
            Some((bucket.parse().ok()?, sum.parse().ok()?))
        })
        .collect()
}

fn encode(buckets: &[(u64, f64)]) -> String {
    buckets.iter().map(|(b, s)| format!("{b}:{s}")).collect::<Vec<_>>().join(";")
}

export_filter!(AmountThreshold);

#[cfg(test)]
mod tests;
