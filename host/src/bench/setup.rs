//! What every bench shares: the seeded market, configs of N templates, and
//! a runtime built from them.

use std::sync::Arc;

use crate::config::{self, ValidConfig};
use crate::event::Event;
use crate::market::{MarketState, Snapshot};
use crate::pipeline::Plan;
use crate::sources::synthetic::{SyntheticConfig, SyntheticMarket};

/// The synthetic market's events with the snapshot each one produced.
pub fn market_data(events: usize, seed: u64) -> Vec<(Event, Snapshot)> {
    let cfg = SyntheticConfig { seed, ..SyntheticConfig::default() };
    let mut generator = SyntheticMarket::new(&cfg);
    let (mut market, _) = MarketState::new(&Default::default());
    (0..events)
        .map(|_| {
            let e = generator.next_event();
            let s = market.fold(&e);
            (e, s)
        })
        .collect()
}

/// Threshold of template `i`: the first is the one per-evaluation figures use.
pub fn threshold(i: usize) -> f64 {
    250_000.0 * (i as f64 % 16.0 + 1.0)
}

/// `n` templates, template `i` owned by `o{i}`, on the stock
/// `amount-threshold`, `fixed` and `plain` plugins.
pub fn config(n: usize, db: &std::path::Path) -> Result<ValidConfig, String> {
    let mut toml = format!(
        "[pipeline]\nworkers = 2\ntime = \"event\"\n[plugins]\nwatch = false\ncache_dir = \"\"\n\
         [alert_log]\nurl = \"sqlite://{}\"\n",
        db.display()
    );
    for i in 0..n {
        toml.push_str(&format!(
            "[templates.t{i}]\nowner = \"o{i}\"\n\
             filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = {} }} }}\n\
             cooldown = {{ plugin = \"fixed\", params = {{ window = \"1m\" }} }}\n\
             formatter = {{ plugin = \"plain\", params = {{}} }}\n",
            threshold(i)
        ));
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

/// A scratch directory for the bench's alert logs.
pub fn scratch() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("klaxon-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}
