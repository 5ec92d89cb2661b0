//! Replay: `--frames` Binance spot `@trade` frames the bench generates
//! ([`frames`]), written as a replay NDJSON file and run through the real
//! replay source (read, detect, the live parser, backpressured sends), the
//! pipeline with 10 `amount-threshold` templates and the SQLite alert log:
//! events/s, end to end. Beside it, in the same run: the replay source
//! alone into a channel a thread drains (what the source itself costs),
//! and the floor without the pipeline: the same parser and the same 10
//! thresholds as native closures on one thread.
//!
//! The thresholds (37,500 to 39,750 USD) sit at the top of the generated
//! trades' notional (price 20k–40k × qty < 1), so about 1% of events alert
//! and decide, format and the alert log do real work.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rust_decimal::prelude::ToPrimitive;
use tokio_util::sync::CancellationToken;

use crate::event::EventKind;
use crate::sources::{Parsed, ReplayConfig, SourceConfig, SourceContext};

use super::frames::{self, Digits};
use super::{BenchArgs, drive, setup};

const TEMPLATES: usize = 10;

fn threshold(i: usize) -> f64 {
    37_500.0 + 250.0 * i as f64
}

pub async fn run(args: &BenchArgs) -> Result<f64, String> {
    let dir = setup::scratch()?;
    let file = write_frames(&dir, args.frames, args.seed)?;
    let templates =
        setup::Templates { threshold: Box::new(threshold), ..setup::Templates::new(TEMPLATES) };
    println!(
        "\nreplay, {} generated Binance @trade frames, {TEMPLATES} amount-threshold templates:",
        args.frames
    );
    let (mut samples, mut decided) = (Vec::new(), 0);
    for round in 0..args.rounds.clamp(1, 3) {
        let config = setup::config_of(&templates, &dir.join(format!("replay-{round}.db")))?;
        let (elapsed, run_decided) = replay_once(&config, &file).await?;
        samples.push(elapsed);
        decided = run_decided;
    }
    samples.sort();
    let per_s = args.frames as f64 / samples[samples.len() / 2].as_secs_f64().max(1e-9);
    let source = source_only(&file).await?;
    let native = native_floor(&file)?;
    println!(
        "  replay source -> pipeline -> alert log  {per_s:>10.0} events/s  ({decided} alerts decided)"
    );
    println!("  replay source alone -> drained channel  {source:>10.0} events/s");
    println!(
        "  floor: parse + {TEMPLATES} native rules     {:>10.0} events/s  ({} passes)",
        native.0, native.1
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(per_s)
}

/// `n` frames, one per line, as `klaxon replay` reads them.
fn write_frames(dir: &Path, n: usize, seed: u64) -> Result<PathBuf, String> {
    let path = dir.join("binance-trades.ndjson");
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
    let mut digits = Digits::new(seed);
    for i in 0..n as u64 {
        writeln!(out, "{}", frames::binance_spot_trade(&mut digits, i)).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(path)
}

/// One replay of `file` through a fresh pipeline: time from the first
/// frame read to every stage drained, and the alerts decided.
async fn replay_once(
    config: &crate::config::ValidConfig,
    file: &Path,
) -> Result<(Duration, u64), String> {
    let (rt, plan) = setup::runtime(config).await?;
    let p = drive::start(config, &rt, &plan).await?;
    let stats = p.stats.clone();
    let source = SourceConfig::Replay(ReplayConfig::new(vec![file.to_owned()]));
    let ctx = SourceContext::new(p.events.clone(), CancellationToken::new());
    let t = Instant::now();
    let summary = source.run("bench-replay".into(), ctx).await.map_err(|e| e.to_string())?;
    p.finish().await.map_err(|e| e.to_string())?;
    let elapsed = t.elapsed();
    if summary.malformed > 0 || summary.events != summary.frames {
        return Err(format!("replay: {summary:?}: every generated frame should be one event"));
    }
    let s = stats.snapshot();
    Ok((elapsed, s.fired + s.suppressed_total()))
}

/// The replay source into a channel a thread empties: events/s.
async fn source_only(file: &Path) -> Result<f64, String> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<crate::event::Event>>(128);
    let drain = std::thread::spawn(move || {
        std::iter::from_fn(|| rx.blocking_recv()).map(|b| b.len()).sum::<usize>()
    });
    let source = SourceConfig::Replay(ReplayConfig::new(vec![file.to_owned()]));
    let t = Instant::now();
    let ctx = SourceContext::new(tx, CancellationToken::new());
    source.run("bench-replay".into(), ctx).await.map_err(|e| e.to_string())?;
    let events = tokio::task::spawn_blocking(move || drain.join())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "drain thread panicked".to_owned())?;
    Ok(events as f64 / t.elapsed().as_secs_f64().max(1e-9))
}

/// The same frames through the replay's parser and the 10 thresholds as
/// native closures, one thread, no pipeline: events/s and passes.
fn native_floor(file: &Path) -> Result<(f64, u64), String> {
    let parser = ReplayConfig::new(vec![file.to_owned()]).parser().map_err(|e| e.to_string())?;
    let rules: Vec<_> = (0..TEMPLATES).map(|i| move |n: f64| n >= threshold(i)).collect();
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?,
    );
    let (t, mut events, mut passes) = (Instant::now(), 0u64, 0u64);
    for line in reader.lines() {
        let line = line.map_err(|e| e.to_string())?;
        let Ok((_, Parsed::Events(parsed))) = parser.parse(&line) else { continue };
        for e in parsed {
            events += 1;
            let n = e.notional_usd.and_then(|n| n.to_f64()).unwrap_or(0.0);
            if e.kind != EventKind::BookTop {
                passes += rules.iter().filter(|rule| rule(n)).count() as u64;
            }
        }
    }
    Ok((events as f64 / t.elapsed().as_secs_f64().max(1e-9), passes))
}
