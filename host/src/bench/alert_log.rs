//! Alert-log write speed: rows/s into SQLite through [`AlertLog::write`], in
//! batches of the writer's default size, the way the writer task writes
//! them; beside it, the same rows with hashed ids (as real alert ids are,
//! so the primary-key index takes them in random order) and in the old
//! default batches of 256.

use std::time::{Duration, Instant};

use crate::alert::{AlertId, Severity, TemplateId};
use crate::store::{AlertLog, AlertLogConfig, AlertRecord, AlertStatus};

use super::{BenchArgs, setup};

pub async fn run(args: &BenchArgs) -> Result<(), String> {
    const ROWS: usize = 100_000;
    let batch = AlertLogConfig::default().batch_size;
    let dir = setup::scratch()?;
    println!("\nalert log (SQLite, {ROWS} rows per round):");
    for (label, batch, hashed) in [
        (format!("batches of {batch} (default)"), batch, false),
        ("  with hashed ids".to_owned(), batch, true),
        ("batches of 256".to_owned(), 256, false),
    ] {
        let rows_per_s = sqlite_rows_per_second(&dir, ROWS, batch, args.rounds, hashed).await?;
        println!("  {label:<30} {rows_per_s:>10.0} rows/s");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Median rows/s over `rounds` fresh databases of `rows` rows each.
pub async fn sqlite_rows_per_second(
    dir: &std::path::Path,
    rows: usize,
    batch: usize,
    rounds: usize,
    hashed: bool,
) -> Result<f64, String> {
    let mut samples = Vec::new();
    for round in 0..rounds.max(1) {
        let path = dir.join(format!("alert-log-{round}.db"));
        let log = AlertLog::open(&format!("sqlite://{}", path.display()))
            .await
            .map_err(|e| e.to_string())?;
        let records: Vec<AlertRecord> = (0..rows).map(|i| record(round, i, hashed)).collect();
        let start = Instant::now();
        for chunk in records.chunks(batch.max(1)) {
            log.write(chunk).await.map_err(|e| e.to_string())?;
        }
        samples.push(start.elapsed());
        log.close().await;
        let _ = std::fs::remove_file(&path);
    }
    samples.sort();
    let mid: Duration = samples[samples.len() / 2];
    Ok(rows as f64 / mid.as_secs_f64().max(1e-9))
}

/// A suppressed-alert row like the ones that dominate a busy log; its id
/// counts up, or (`hashed`) is derived as a real alert's is.
fn record(round: usize, i: usize, hashed: bool) -> AlertRecord {
    let template = TemplateId::new("bench");
    let event_id = format!("synthetic:SYM{}:{round}:{i}", i % 64);
    let id = match hashed {
        true => AlertId::derive(&template, &format!("SYM{}", i % 64), &event_id),
        false => AlertId(format!("{round:04x}{i:028x}")),
    };
    AlertRecord {
        id,
        template,
        alert_key: format!("SYM{}", i % 64),
        status: if i.is_multiple_of(100) { AlertStatus::Fired } else { AlertStatus::Suppressed },
        reason: (!i.is_multiple_of(100)).then(|| "cooldown: 42s left".to_owned()),
        severity: Severity::Warning,
        value: Some(250_000.0 + i as f64),
        title: "Whale buy".into(),
        fields: r#"{"notional":"$1.20M","price":"61234.5"}"#.into(),
        event_id,
        venue: "synthetic".into(),
        symbol: format!("SYM{}", i % 64),
        kind: "trade".into(),
        exchange_time_ms: 1_700_000_000_000 + i as u64,
        decided_at_ms: 1_700_000_000_000 + i as u64,
        retracted: false,
        created_at_ms: None,
        versions: crate::alert::PluginVersions {
            filter: Some("amount-threshold@0123456789ab".into()),
            cooldown: None,
            formatter: None,
        },
        reason_code: (!i.is_multiple_of(100)).then(|| "cooldown".to_owned()),
        trace: crate::alert::DecisionTrace {
            history: crate::alert::History {
                fires: 3,
                last_fired_ms: Some(1_700_000_000_000),
                ..Default::default()
            },
            by: crate::alert::DecidedBy::Policy,
        },
    }
}
