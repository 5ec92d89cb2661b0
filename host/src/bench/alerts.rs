//! Alert-heavy: 10 templates whose threshold is the notional of the
//! 6,000th largest trade in the input, so the run decides about 60,000
//! alerts, each one fired (a `0s` cooldown), formatted, handed off and
//! written to the SQLite alert log: events/s and alerts/s. Where the plain
//! pipeline figures show the cost of evaluating, this one shows the cost of
//! alerting.

use crate::event::Event;
use crate::market::Snapshot;

use super::{BenchArgs, pipeline, setup};

const TEMPLATES: usize = 10;
const ALERTS: usize = 60_000;

pub async fn run(args: &BenchArgs, data: &[(Event, Snapshot)]) -> Result<(), String> {
    let data = &data[..data.len().min(100_000)];
    let min = setup::notional_rank(data, ALERTS / TEMPLATES - 1);
    let dir = setup::scratch()?;
    let templates = setup::Templates {
        threshold: Box::new(move |_: usize| min),
        window: "0s",
        ..setup::Templates::new(TEMPLATES)
    };
    let config = setup::config_of(&templates, &dir.join("alerts.db"))?;
    let (ns, stats) = pipeline::sustained(args, data, &config).await?;
    let decided = stats.fired + stats.suppressed_total();
    let seconds = ns * data.len() as f64 / 1e9;
    println!(
        "\nalert-heavy: {TEMPLATES} templates at {min:.0} USD, {} events, every pass fires:",
        data.len()
    );
    println!(
        "  {decided} alerts decided ({} fired)  {:>10.0} events/s  {:>10.0} alerts/s",
        stats.fired,
        1e9 / ns,
        decided as f64 / seconds.max(1e-9)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
