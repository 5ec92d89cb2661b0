//! Running the real pipeline for a bench: start it from a config, feed it
//! from a thread of its own (as fast as it takes events, or at a fixed
//! rate), wait until every stage has drained, and hear each message's
//! latency at the delivery hand-off.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::app::Runtime;
use crate::config::ValidConfig;
use crate::event::{Event, ReceivedAt};
use crate::market::MarketState;
use crate::pipeline::{Pipeline, PipelineParts, Plan, StatsSnapshot};
use crate::plugins::TrapLedger;
use crate::state::MemoryHistory;

use super::footprint::rss_bytes;

/// Start the pipeline of `config` on `plan`, with no sinks: what is timed
/// is the pipeline up to the hand-off and the alert log.
pub async fn start(
    config: &ValidConfig,
    rt: &Runtime,
    plan: &Arc<Plan>,
) -> Result<Pipeline, String> {
    let (market, _) = MarketState::new(&config.raw().market);
    let parts = PipelineParts {
        pipeline: config.raw().pipeline.clone(),
        market,
        engine: rt.engine.clone(),
        services: rt.services.clone(),
        ledger: Arc::new(TrapLedger::new(0)),
        history: Arc::new(MemoryHistory::default()),
        clock: Arc::new(crate::clock::SystemClock),
        plan: Arc::new(ArcSwap::new(plan.clone())),
        sinks: Vec::new(),
        alert_log: config.raw().alert_log.clone(),
        owners: Arc::default(),
    };
    Pipeline::start(parts).await.map_err(|e| e.to_string())
}

/// What the feeding thread saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fed {
    pub events: u64,
    /// Events that found the pipeline's input queue full at their turn: a
    /// source that could not wait (a venue that drops slow consumers) would
    /// have lost them. The driver waits instead, so the pipeline still gets
    /// every event.
    pub found_full: u64,
    /// How far the driver fell behind its schedule at worst (paced runs).
    pub max_behind: Duration,
}

/// One run through the pipeline.
pub struct Run {
    pub fed: Fed,
    /// First event handed over → every stage drained and flushed.
    pub elapsed: Duration,
    pub stats: StatsSnapshot,
    /// Highest process RSS seen while the pipeline ran, in bytes.
    pub peak_rss: u64,
}

impl Run {
    pub fn events_per_s(&self) -> f64 {
        self.fed.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Alerts decided (fired and suppressed), all of them logged.
    pub fn decided(&self) -> u64 {
        self.stats.fired + self.stats.suppressed_total()
    }
}

/// Feed `events` through a fresh pipeline of `config`, at `rate` events/s
/// or (`None`) as fast as it takes them, and wait for it to finish.
pub async fn run(
    config: &ValidConfig,
    rt: &Runtime,
    plan: &Arc<Plan>,
    events: impl Iterator<Item = Event> + Send + 'static,
    rate: Option<f64>,
) -> Result<Run, String> {
    let p = start(config, rt, plan).await?;
    let stats = p.stats.clone();
    let rss = RssWatch::start();
    let t = Instant::now();
    let tx = p.events.clone();
    let driver = std::thread::spawn(move || feed(tx, events, rate));
    let fed = tokio::task::spawn_blocking(move || driver.join())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "bench driver panicked".to_owned())??;
    p.finish().await.map_err(|e| e.to_string())?;
    let elapsed = t.elapsed();
    Ok(Run { fed, elapsed, stats: stats.snapshot(), peak_rss: rss.stop() })
}

/// Hand `events` to the pipeline, stamped as a source stamps them. Paced
/// runs sleep only when the next event is more than [`EARLY`] away: a
/// sleep costs about that much, so shorter ones would make the driver
/// itself fall behind; events then go in small bursts, as a feed's do.
/// Paced, each event goes on its own, as a live frame of one trade does;
/// unpaced, in batches of 256, as a replay hands them on.
fn feed(
    tx: mpsc::Sender<Vec<Event>>,
    events: impl Iterator<Item = Event>,
    rate: Option<f64>,
) -> Result<Fed, String> {
    const EARLY: Duration = Duration::from_micros(200);
    let per_send = if rate.is_some() { 1 } else { 256 };
    let mut fed = Fed::default();
    let mut batch = Vec::with_capacity(per_send);
    let start = Instant::now();
    for (i, mut event) in events.enumerate() {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            match due.checked_duration_since(now) {
                Some(wait) if wait > EARLY => std::thread::sleep(wait),
                Some(_) => {}
                None => fed.max_behind = fed.max_behind.max(now - due),
            }
        }
        event.received = ReceivedAt::now();
        batch.push(event);
        if batch.len() >= per_send {
            send(&tx, std::mem::replace(&mut batch, Vec::with_capacity(per_send)), &mut fed)?;
        }
    }
    send(&tx, batch, &mut fed)?;
    Ok(fed)
}

/// One hand-off; a full queue is counted (what a source that cannot wait
/// would have lost), then waited for.
fn send(tx: &mpsc::Sender<Vec<Event>>, batch: Vec<Event>, fed: &mut Fed) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let n = batch.len() as u64;
    match tx.try_send(batch) {
        Ok(()) => {}
        Err(TrySendError::Full(batch)) => {
            fed.found_full += n;
            tx.blocking_send(batch).map_err(|_| "pipeline closed early".to_owned())?;
        }
        Err(TrySendError::Closed(_)) => return Err("pipeline closed early".to_owned()),
    }
    fed.events += n;
    Ok(())
}

/// Samples the process RSS every 20 ms on a thread of its own.
struct RssWatch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl RssWatch {
    fn start() -> RssWatch {
        let (stop, peak) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssWatch { stop, peak, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed).max(rss_bytes())
    }
}

/// Listens to every message's receive → hand-off latency
/// ([`crate::pipeline::deliver::LATENCY_TAP`]) until taken.
pub struct Tap(std::sync::mpsc::Receiver<Duration>);

impl Tap {
    pub fn install() -> Tap {
        let (tx, rx) = std::sync::mpsc::channel();
        crate::pipeline::deliver::LATENCY_TAP.store(Some(Arc::new(tx)));
        Tap(rx)
    }

    /// Stop listening; every latency heard, sorted.
    pub fn take(self) -> Vec<Duration> {
        crate::pipeline::deliver::LATENCY_TAP.store(None);
        let mut all: Vec<Duration> = self.0.try_iter().collect();
        all.sort();
        all
    }
}

/// The `q` quantile of sorted `samples` (nearest rank); zero if empty.
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}
