//! `run()`: build every stage from a `ValidConfig`, start the sources, and
//! shut down cleanly.
//!
//! Shutdown follows mini-redis and Vector: a signal (or, for replays, the
//! sources running out) cancels only the sources; every later stage ends
//! when its input closes, after draining it. The alert log and sinks flush
//! last, then `run` returns and the process exits 0.
//!
//! At startup a template whose plugin fails validation is disabled with its
//! reason and every other template starts ([`start_plan`]); `klaxon check`
//! still refuses such a config ([`first_plan`]).

pub mod config_edit;
pub mod control;
mod reject;
mod reload;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::SystemClock;
use crate::config::{ConfigError, ValidConfig};
use crate::issue::ConfigIssue;
use crate::market::MarketState;
use crate::pipeline::{
    DisabledTemplates, Pipeline, PipelineParts, PluginLibrary, StatsSnapshot, TemplateFailure,
    build_plan, plan_enabled,
};
use crate::plugins::host_api::HostServices;
use crate::plugins::{PluginEngine, RuntimeConfig, TrapLedger};
use crate::server::{ReadyState, serve};
use crate::sources::{Interest, SourceContext};
use crate::state::{KvStore, MemoryKv, StateHandle};
use crate::watchlists::{ListLimits, WatchlistError, Watchlists};

pub use control::{Control, Refusal};
pub use reject::{REJECTED_DIR, reason_path};
pub use reload::{Reloader, Staged};

/// How `run` behaves around the config.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// The config file, watched for changes when `plugins.watch` is on.
    pub config_path: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("plugin runtime: {0}")]
    Runtime(String),
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::build::PipelineError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("http server on {addr}: {error}")]
    Server { addr: std::net::SocketAddr, error: std::io::Error },
}

/// The plugin runtime and the services plugins see, shared by `run`,
/// `check` and `bench`.
pub struct Runtime {
    pub engine: PluginEngine,
    pub library: Arc<PluginLibrary>,
    pub services: HostServices,
}

impl Runtime {
    /// With an in-memory KV store (`check`, `bench`).
    pub fn new(config: &ValidConfig, market: &MarketState) -> Result<Runtime, AppError> {
        Runtime::with_kv(config, market, Arc::new(MemoryKv::new()))
    }

    pub fn with_kv(
        config: &ValidConfig,
        market: &MarketState,
        kv: Arc<dyn KvStore>,
    ) -> Result<Runtime, AppError> {
        let plugins = &config.raw().plugins;
        let cache_dir = plugins.cache_dir.clone().filter(|d| !d.as_os_str().is_empty());
        let engine = PluginEngine::new(&RuntimeConfig {
            cache_dir,
            limits: config.runtime_limits().clone(),
        })
        .map_err(AppError::Runtime)?;
        let library = Arc::new(PluginLibrary::new(
            engine.clone(),
            plugins.dir.clone(),
            plugins.trusted.clone(),
        ));
        let (prices, samples) = (market.prices(), market.samples());
        let watchlists = load_watchlists(config).map_err(|issues| ConfigError::Invalid {
            origin: config.origin().to_owned(),
            issues,
        })?;
        let services = HostServices { kv, prices, samples, watchlists };
        Ok(Runtime { engine, library, services })
    }
}

/// Every list of `[watchlists]`, or every problem, each naming its file and line.
fn load_watchlists(config: &ValidConfig) -> Result<Watchlists, Vec<ConfigIssue>> {
    let limits = ListLimits::of(config.runtime_limits());
    Watchlists::load(&config.raw().watchlists, limits)
        .map_err(|errors| errors.iter().map(watchlist_issue).collect())
}

/// A list that did not load, as a config problem under `watchlists.<name>`.
pub(crate) fn watchlist_issue(e: &WatchlistError) -> ConfigIssue {
    ConfigIssue::new(format!("watchlists.{}", e.list), format!("{}: {}", e.at, e.message))
}

/// Build the first plan (plugins loaded, configured, smoke-run) or report
/// every problem, attributed to the config's origin.
pub async fn first_plan(
    config: &ValidConfig,
    rt: &Runtime,
) -> Result<crate::pipeline::Plan, AppError> {
    let (config2, library, services) = (config.clone(), rt.library.clone(), rt.services.clone());
    tokio::task::spawn_blocking(move || build_plan(&config2, &library, &services, 1))
        .await
        .expect("plan building panicked")
        .map_err(|issues| {
            AppError::Config(ConfigError::Invalid { origin: config.origin().to_owned(), issues })
        })
}

/// The plan to start with: every template that plans, and the others
/// disabled in `disabled`, each logged with its reason. One template's bad
/// plugin never keeps the rest from starting.
pub async fn start_plan(
    config: &ValidConfig,
    rt: &Runtime,
    disabled: &DisabledTemplates,
) -> crate::pipeline::Plan {
    let (config2, library, services) = (config.clone(), rt.library.clone(), rt.services.clone());
    let (plan, failures): (_, Vec<TemplateFailure>) =
        tokio::task::spawn_blocking(move || plan_enabled(&config2, &library, &services, 1))
            .await
            .expect("plan building panicked");
    for f in &failures {
        let reason = f.issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        tracing::error!(
            origin = config.origin(), template = %f.template, reason,
            "Template disabled: its plugin failed validation; every other template starts."
        );
    }
    disabled.set(&failures);
    plan
}

/// Run until a signal arrives or every source has ended; returns the run's
/// counters after everything has drained and flushed.
pub async fn run(config: ValidConfig, opts: RunOptions) -> Result<StatsSnapshot, AppError> {
    let raw = config.raw().clone();
    let state = open_state(&config).await?;
    let (market, _) = MarketState::new(&raw.market);
    let rt = Runtime::with_kv(&config, &market, state.kv.clone())?;
    let disabled = Arc::new(DisabledTemplates::default());
    let plan = Arc::new(ArcSwap::from_pointee(start_plan(&config, &rt, &disabled).await));
    let ledger = Arc::new(TrapLedger::new(raw.pipeline.disable_after_traps));
    let parts = PipelineParts {
        pipeline: raw.pipeline.clone(),
        market,
        engine: rt.engine.clone(),
        services: rt.services.clone(),
        ledger: ledger.clone(),
        history: state.history.clone(),
        clock: Arc::new(SystemClock),
        plan: plan.clone(),
        sinks: raw.sinks.clone().into_iter().collect(),
        alert_log: raw.alert_log.clone(),
        owners: Arc::new(crate::deliver::OwnerCaps::new(&raw.owners, &raw.templates)),
    };
    let pipeline = Pipeline::start(parts).await?;
    plan.load().export_versions();
    tracing::info!(
        origin = config.origin(),
        templates = %plan.load().describe(),
        disabled = disabled.list().len(),
        sources = raw.sources.len(),
        "Klaxon started."
    );

    let cancel = CancellationToken::new();
    let sources = TaskTracker::new();
    let (interest_tx, interest) = tokio::sync::watch::channel(interest_of(&config));
    for (name, source) in raw.sources.clone() {
        let ctx = SourceContext {
            out: pipeline.events.clone(),
            retractions: Some(pipeline.retractions.clone()),
            interest: interest.clone(),
            cancel: cancel.child_token(),
        };
        sources.spawn(async move {
            if let Err(error) = source.run(name.clone(), ctx).await {
                tracing::error!(source = name, %error, "Source stopped with an error.");
            }
        });
    }
    sources.close();

    let ready = ReadyState { started: Arc::default(), ledger, disabled: disabled.clone() };
    ready.started.store(true, Ordering::Relaxed);
    let background = CancellationToken::new();
    ensure_plugins_dir(&raw.plugins);
    let reloader = Arc::new(std::sync::Mutex::new(Reloader::new(
        config.clone(),
        opts.config_path.clone(),
        &rt,
        plan.clone(),
        interest_tx,
        ready.ledger.clone(),
        disabled.clone(),
    )));
    let control = Control {
        reloader: reloader.clone(),
        plan: plan.clone(),
        disabled,
        ledger: ready.ledger.clone(),
        library: rt.library.clone(),
    };
    if let Some(addr) = raw.server.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| AppError::Server { addr, error })?;
        let admin = crate::server::Admin::new(&raw.server.admin, control, &raw.alert_log.url);
        tokio::spawn(serve(listener, ready.clone(), admin, background.clone()));
    }
    if raw.plugins.watch {
        crate::watchlists::live::spawn(rt.services.watchlists.clone(), background.clone());
    }
    let _watch = match raw.plugins.watch {
        true => Reloader::spawn(reloader, background.clone()),
        false => None,
    };

    tokio::select! {
        _ = shutdown_signal() => tracing::info!("Shutdown requested; draining."),
        _ = sources.wait() => tracing::info!("All sources finished; draining."),
    }
    cancel.cancel();
    sources.wait().await;
    let stats = pipeline.stats.clone();
    let finished = pipeline.finish().await;
    // After the last decision: the final flush has everything.
    state.close().await;
    finished?;
    background.cancel();
    let summary = stats.snapshot();
    tracing::info!(
        events = summary.events_in,
        evaluated = summary.events_evaluated,
        unrouted = summary.events_unrouted,
        fired = summary.fired,
        suppressed = summary.suppressed_total(),
        "Klaxon stopped."
    );
    Ok(summary)
}

/// A `plugins.dir` that does not exist yet is created, so that the watch
/// (and uploads) work from the start instead of never.
fn ensure_plugins_dir(plugins: &crate::config::raw::PluginsConfig) {
    let Some(dir) = plugins.dir.as_ref().filter(|d| !d.exists()) else { return };
    match std::fs::create_dir_all(dir) {
        Ok(()) => tracing::info!(dir = %dir.display(), "Created plugins.dir, which did not exist."),
        Err(error) => tracing::error!(
            dir = %dir.display(), %error,
            "plugins.dir does not exist and cannot be created; hot swap of its plugins is off."
        ),
    }
}

/// The `[state]` stores, restored within each configured template's bounds.
async fn open_state(config: &ValidConfig) -> Result<StateHandle, AppError> {
    let raw = config.raw();
    let limits = |t: &crate::alert::TemplateId| {
        let l = raw.templates.contains_key(t.as_str()).then(|| config.limits_of(t.as_str()))?;
        Some((l.history_bound(), l.kv_quota()))
    };
    let wall_now = match raw.pipeline.time {
        crate::config::TimeMode::Wall => Some(crate::clock::Clock::now_ms(&SystemClock)),
        crate::config::TimeMode::Event => None,
    };
    Ok(crate::state::open(&raw.state, &raw.alert_log.url, &limits, wall_now).await?)
}

/// The selectors of every enabled template, for sources that subscribe per
/// symbol or account.
pub(crate) fn interest_of(config: &ValidConfig) -> Interest {
    Interest::new(config.raw().templates.values().filter(|t| t.enabled).map(|t| t.select.clone()))
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("cannot install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
