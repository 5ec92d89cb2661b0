//! `price-move`: alert when a symbol moves. Conditions read the host's
//! rolling windows (the event's [`Market`]): the absolute price change over
//! 1m, 5m or 1h, and the traded USD volume over the same windows. Each
//! condition you set is checked; `combine` says whether any one or all of
//! them must hold. A window the host could not fill (flagged missing) never
//! satisfies a condition.
//!
//! Alert key: the symbol. Value: the change in percent of the shortest
//! window whose change condition held (signed), else the volume of the
//! shortest window whose volume condition held.

use klaxon_sdk::fmt::{pct, price, usd};
use klaxon_sdk::{
    Columns, Event, EventKinds, Filter, Market, Pass, Severity, Verdict, Window, export_filter,
};
use serde::Deserialize;

/// Params of `price-move`. Set at least one `min_change_*` or `min_volume_*`.
///
/// ```toml
/// # ±5% in 1m, or ±10% in 5m
/// filter = { plugin = "price-move", params = { min_change_1m_pct = 5, min_change_5m_pct = 10 } }
/// # up at least 3% in 5m on at least $2M of volume
/// filter = { plugin = "price-move", params = { min_change_5m_pct = 3, min_volume_5m_usd = 2000000, combine = "all", direction = "up" } }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Price change over 1m, in percent, at least this far from 0 (in `direction`).
    #[serde(default)]
    pub min_change_1m_pct: Option<f64>,
    /// Price change over 5m, in percent.
    #[serde(default)]
    pub min_change_5m_pct: Option<f64>,
    /// Price change over 1h, in percent.
    #[serde(default)]
    pub min_change_1h_pct: Option<f64>,
    /// Traded USD volume over 1m at least this.
    #[serde(default)]
    pub min_volume_1m_usd: Option<f64>,
    /// Traded USD volume over 5m.
    #[serde(default)]
    pub min_volume_5m_usd: Option<f64>,
    /// Traded USD volume over 1h.
    #[serde(default)]
    pub min_volume_1h_usd: Option<f64>,
    /// `"any"` (default): one condition is enough; `"all"`: every set condition must hold.
    #[serde(default)]
    pub combine: Combine,
    /// Which way the price must move: `"up"`, `"down"` or `"both"` (default).
    #[serde(default)]
    pub direction: MoveDirection,
    /// Event kinds that trigger a check. Default: every kind.
    #[serde(default = "all_kinds")]
    pub kinds: EventKinds,
    /// Severity of the alerts: `"info"`, `"warning"` (default) or `"critical"`.
    #[serde(default = "default_severity")]
    pub severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    #[default]
    Any,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MoveDirection {
    Up,
    Down,
    #[default]
    Both,
}

impl MoveDirection {
    fn holds(self, change_pct: f64, threshold: f64) -> bool {
        match self {
            MoveDirection::Up => change_pct >= threshold,
            MoveDirection::Down => change_pct <= -threshold,
            MoveDirection::Both => change_pct.abs() >= threshold,
        }
    }
}

fn all_kinds() -> EventKinds {
    EventKinds::ALL
}

fn default_severity() -> Severity {
    Severity::Warning
}

pub struct PriceMove {
    /// Per window (1m, 5m, 1h): the change threshold, if set.
    change: [Option<f64>; 3],
    /// Per window: the volume threshold, if set.
    volume: [Option<f64>; 3],
    combine: Combine,
    direction: MoveDirection,
    kinds: EventKinds,
    severity: Severity,
}

/// What held, shortest window first.
#[derive(Default)]
struct Hits {
    change: Option<(Window, f64)>,
    volume: Option<(Window, f64)>,
}

impl Filter for PriceMove {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        let change = [p.min_change_1m_pct, p.min_change_5m_pct, p.min_change_1h_pct];
        let volume = [p.min_volume_1m_usd, p.min_volume_5m_usd, p.min_volume_1h_usd];
        if change.iter().chain(&volume).all(Option::is_none) {
            return Err("set at least one of `min_change_1m_pct`, `min_change_5m_pct`, `min_change_1h_pct`, \
                        `min_volume_1m_usd`, `min_volume_5m_usd`, `min_volume_1h_usd`"
                .into());
        }
        for (i, window) in Window::ALL.iter().enumerate() {
            if let Some(t) = change[i]
                && (t.is_nan() || t < 0.0)
            {
                return Err(format!(
                    "min_change_{}_pct: must be 0 or more, got {t}",
                    window.as_str()
                ));
            }
            if let Some(t) = volume[i]
                && (t.is_nan() || t < 0.0)
            {
                return Err(format!(
                    "min_volume_{}_usd: must be 0 or more, got {t}",
                    window.as_str()
                ));
            }
        }
        if p.kinds.is_empty() {
            return Err("kinds: must list at least one event kind".into());
        }
        Ok(PriceMove {
            change,
            volume,
            combine: p.combine,
            direction: p.direction,
            kinds: p.kinds,
            severity: p.severity,
        })
    }

    /// The kind to select on; every window's change and volume (the pass
    /// shows them all), the last price and the symbol for the message.
    fn columns(&self) -> Columns {
        let mut columns = Columns::KIND | Columns::SYMBOL | Columns::LAST_PRICE;
        for window in Window::ALL {
            columns |= Columns::change(window) | Columns::volume(window);
        }
        columns
    }

    fn evaluate(&mut self, event: &Event, market: &Market) -> Verdict {
        if !self.kinds.contains(event.kind()) {
            return Verdict::reject("kind not selected");
        }
        let mut hits = Hits::default();
        let (mut any, mut all) = (false, true);
        for (i, window) in Window::ALL.into_iter().enumerate() {
            // A missing window (`None`) fails every condition on it.
            if let Some(threshold) = self.change[i] {
                match market.change_pct(window) {
                    Some(change) if self.direction.holds(change, threshold) => {
                        any = true;
                        hits.change.get_or_insert((window, change));
                    }
                    _ => all = false,
                }
            }
            if let Some(threshold) = self.volume[i] {
                match market.volume_usd(window) {
                    Some(volume) if volume >= threshold => {
                        any = true;
                        hits.volume.get_or_insert((window, volume));
                    }
                    _ => all = false,
                }
            }
        }
        let passes = match self.combine {
            Combine::Any => any,
            Combine::All => all,
        };
        if !passes {
            return Verdict::reject("no move");
        }
        self.pass(event, market, hits)
    }
}

impl PriceMove {
    fn pass(&self, event: &Event, market: &Market, hits: Hits) -> Verdict {
        let symbol = event.symbol().name();
        let (title, value) = match (hits.change, hits.volume) {
            (Some((window, change)), volume) => {
                let way = if change >= 0.0 { "up" } else { "down" };
                let mut title =
                    format!("{symbol} {way} {:.2}% in {}", change.abs(), window.as_str());
                if let Some((window, volume)) = volume {
                    title.push_str(&format!(" on {} volume in {}", usd(volume), window.as_str()));
                }
                (title, change)
            }
            (None, Some((window, volume))) => {
                (format!("{symbol} {} volume in {}", usd(volume), window.as_str()), volume)
            }
            // `combine = "all"` with every condition on a present window
            // always records a hit, so this is unreachable in practice.
            (None, None) => (format!("{symbol} moved"), 0.0),
        };
        let mut pass = Pass::new(symbol, title).with_severity(self.severity).with_value(value);
        if let Some(last) = market.last_price() {
            pass = pass.with_field("price", price(last));
        }
        for window in Window::ALL {
            if let (Some(change), Some(volume)) =
                (market.change_pct(window), market.volume_usd(window))
            {
                pass = pass.with_field(
                    format!("{} change", window.as_str()),
                    format!("{} on {}", pct(change), usd(volume)),
                );
            }
        }
        pass.into()
    }
}

export_filter!(PriceMove);

#[cfg(test)]
mod tests;
