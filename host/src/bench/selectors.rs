//! Selectors: 100 templates over a market of 10 symbols, template `i`
//! selecting symbol `i % 10`, so the router hands each event to the 10
//! templates that want it (through its index, not a scan) and the workers
//! evaluate 10 rules per event, not 100: events/s through the pipeline,
//! and the evaluations per event the run counted, which shows the routing.

use super::{BenchArgs, pipeline, setup};

const TEMPLATES: usize = 100;
const SYMBOLS: usize = 10;

pub async fn run(args: &BenchArgs) -> Result<(), String> {
    let dir = setup::scratch()?;
    let market = setup::wide_market(args.seed, SYMBOLS);
    let data = setup::market_data_of(&market, args.events.min(100_000));
    let templates = setup::Templates { symbols: SYMBOLS, ..setup::Templates::new(TEMPLATES) };
    let config = setup::config_of(&templates, &dir.join("selectors.db"))?;
    println!(
        "\nselectors: {TEMPLATES} templates, each selecting 1 of {SYMBOLS} symbols, unthrottled:"
    );
    let (ns, stats) = pipeline::sustained(args, &data, &config).await?;
    let per_event = stats.evaluations as f64 / stats.events_in.max(1) as f64;
    println!(
        "  {TEMPLATES} templates  {:>10.0} events/s  {ns:>8.1} ns/event  {per_event:.1} templates evaluated per event",
        1e9 / ns
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
