//! What every bench shares: the seeded market, configs of N templates, and
//! a runtime built from them.

use std::sync::Arc;

use crate::config::{self, ValidConfig};
use crate::event::Event;
use crate::market::{MarketState, Snapshot};
use crate::pipeline::Plan;
use crate::sources::synthetic::{SyntheticConfig, SyntheticMarket, SyntheticSymbol};

/// The synthetic market's events with the snapshot each one produced.
pub fn market_data(events: usize, seed: u64) -> Vec<(Event, Snapshot)> {
    market_data_of(&SyntheticConfig { seed, ..SyntheticConfig::default() }, events)
}

/// `events` events of the market `cfg` describes, with their snapshots.
pub fn market_data_of(cfg: &SyntheticConfig, events: usize) -> Vec<(Event, Snapshot)> {
    let mut generator = SyntheticMarket::new(cfg);
    let (mut market, _) = MarketState::new(&Default::default());
    (0..events)
        .map(|_| {
            let e = generator.next_event();
            let s = market.fold(&e);
            (e, s)
        })
        .collect()
}

/// A synthetic market of `symbols` USDT pairs (`S0USDT`, `S1USDT`, …), for
/// templates that each select one of them.
pub fn wide_market(seed: u64, symbols: usize) -> SyntheticConfig {
    let symbols = (0..symbols)
        .map(|i| SyntheticSymbol {
            symbol: symbol(i),
            price: rust_decimal::Decimal::from(100 + 50 * i as u64),
        })
        .collect();
    SyntheticConfig { seed, rate: 0.0, symbols, ..SyntheticConfig::default() }
}

/// Symbol `i` of [`wide_market`].
pub fn symbol(i: usize) -> String {
    format!("S{i}USDT")
}

/// Threshold of template `i`: the first is the one per-evaluation figures use.
pub fn threshold(i: usize) -> f64 {
    250_000.0 * (i as f64 % 16.0 + 1.0)
}

/// The templates of a bench config. Template `i` is owned by `o{i}`, on the
/// stock `amount-threshold`, `fixed` and `plain` plugins.
pub struct Templates {
    pub count: usize,
    /// `min_notional_usd` of template `i`.
    pub threshold: Box<dyn Fn(usize) -> f64>,
    /// Template `i` selects symbol `i % symbols` of [`wide_market`]; 0: no
    /// selector, every template sees every event.
    pub symbols: usize,
    /// The `fixed` cooldown's window (`"0s"`: every pass fires).
    pub window: &'static str,
}

impl Templates {
    /// `count` templates on [`threshold`], no selectors, a 1-minute cooldown.
    pub fn new(count: usize) -> Templates {
        Templates { count, threshold: Box::new(threshold), symbols: 0, window: "1m" }
    }

    fn toml(&self, i: usize) -> String {
        let select = match self.symbols {
            0 => String::new(),
            n => format!("select = {{ symbols = [\"{}\"] }}\n", symbol(i % n)),
        };
        format!(
            "[templates.t{i}]\nowner = \"o{i}\"\n{select}\
             filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = {} }} }}\n\
             cooldown = {{ plugin = \"fixed\", params = {{ window = \"{}\" }} }}\n\
             formatter = {{ plugin = \"plain\", params = {{}} }}\n",
            (self.threshold)(i),
            self.window
        )
    }
}

/// `n` templates of [`Templates::new`].
pub fn config(n: usize, db: &std::path::Path) -> Result<ValidConfig, String> {
    config_of(&Templates::new(n), db)
}

/// A config of `templates` on 2 workers in event time, its alert log at `db`.
pub fn config_of(templates: &Templates, db: &std::path::Path) -> Result<ValidConfig, String> {
    let mut toml = format!(
        "[pipeline]\nworkers = 2\ntime = \"event\"\n[plugins]\nwatch = false\ncache_dir = \"\"\n\
         [alert_log]\nurl = \"sqlite://{}\"\n",
        db.display()
    );
    for i in 0..templates.count {
        toml.push_str(&templates.toml(i));
    }
    config::load_str(&toml, "bench config").map_err(|e| e.to_string())
}

/// A runtime and the plan of `config`.
pub async fn runtime(config: &ValidConfig) -> Result<(crate::app::Runtime, Arc<Plan>), String> {
    let (market, _) = MarketState::new(&config.raw().market);
    let rt = crate::app::Runtime::new(config, &market).map_err(|e| e.to_string())?;
    let plan = Arc::new(crate::app::first_plan(config, &rt).await.map_err(|e| e.to_string())?);
    Ok((rt, plan))
}

/// A fresh scratch directory for one part's alert logs and files; each
/// call gets its own, so a part may remove it whole when done.
pub fn scratch() -> Result<std::path::PathBuf, String> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("klaxon-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// The `k`-th largest USD notional in `data` (0 if there are fewer), so a
/// bench can pick thresholds that pass a chosen number of events.
pub fn notional_rank(data: &[(Event, Snapshot)], k: usize) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    let mut n: Vec<f64> = data
        .iter()
        .filter(|(e, _)| e.kind != crate::event::EventKind::BookTop)
        .filter_map(|(e, _)| e.notional_usd?.to_f64())
        .collect();
    n.sort_by(|a, b| b.total_cmp(a));
    n.get(k).copied().unwrap_or(0.0)
}
