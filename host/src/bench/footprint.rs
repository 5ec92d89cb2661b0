//! What templates cost to hold: `n` templates of `n` owners on the stock
//! plugins, every rule built on each of `workers` workers the way a worker
//! builds them (one shared instance per stock plugin), with the process RSS
//! before and after and the time per template.

use std::time::Instant;

use crate::plugins::{InstancePool, RuleRef, TrapLedger};

use super::setup;

pub async fn run(n: usize, workers: usize) -> Result<(), String> {
    let dir = setup::scratch()?;
    let config = setup::config(n, &dir.join("footprint.db"))?;
    let (rt, plan) = setup::runtime(&config).await?;
    let before = rss_bytes();
    let start = Instant::now();
    let mut pools = Vec::new();
    for _ in 0..workers {
        let mut pool = InstancePool::new(
            rt.engine.clone(),
            rt.services.clone(),
            std::sync::Arc::new(TrapLedger::new(0)),
        );
        for pick in [0, 1, 2] {
            let rules: Vec<RuleRef<'_>> = plan
                .templates
                .iter()
                .filter_map(|t| {
                    let slot = [Some(&t.filter), t.cooldown.as_ref(), t.formatter.as_ref()][pick]?;
                    Some(RuleRef { template: &t.id, slot, limits: &t.limits })
                })
                .collect();
            let (_, built) = pool.prepare(&rules).ok_or("cannot build the stock instances")?;
            if built.len() != rules.len() {
                return Err(format!("only {} of {} rules built", built.len(), rules.len()));
            }
        }
        pools.push(pool);
    }
    let elapsed = start.elapsed();
    let after = rss_bytes();
    let instances: usize = pools.iter().map(InstancePool::instances).sum();
    println!(
        "\n{n} templates of {n} owners on stock plugins, {workers} workers ({instances} instances):"
    );
    println!("  RSS before  {:>8.1} MiB", before as f64 / (1 << 20) as f64);
    println!(
        "  RSS after   {:>8.1} MiB  (+{:.1} MiB)",
        after as f64 / (1 << 20) as f64,
        after.saturating_sub(before) as f64 / (1 << 20) as f64
    );
    println!(
        "  build       {:>8.1} µs per template per worker (3 rules each)",
        elapsed.as_secs_f64() * 1e6 / (n * workers) as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Resident set size of this process, from `/proc/self/status`.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}
