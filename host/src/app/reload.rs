//! Hot reload: a changed config file or plugin becomes a new plan, or is
//! rejected whole while the old plan keeps serving.
//!
//! The same path serves both triggers: re-read the config (if it came from a
//! file), validate it, refuse changes that need a restart (sources, sinks,
//! pipeline, storage), build a plan (which re-resolves every plugin, loading
//! new versions and type-checking, configuring and smoke-running them), and
//! only then publish it with one atomic store. Workers pick it up with the
//! next event routed; items already queued finish on the old plan.
//!
//! Watchlists reload with the config (a bad list rejects the reload); edits
//! of their files alone take the lighter path of `watchlists::live`.
//!
//! A plugin file that fails in a reload is moved aside (`reject.rs`), so a
//! restart does not meet it again. Templates disabled at startup may stay
//! disabled (they come back once a reload plans them); any other failing
//! template rejects the reload whole.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use super::Runtime;
use super::reject::{LiveFiles, move_aside_uploads};
use crate::config::{ConfigError, RawConfig, ValidConfig, load_file, watch};
use crate::issue::ConfigIssue;
use crate::pipeline::{DisabledTemplates, Plan, PluginLibrary, plan_enabled};
use crate::plugins::TrapLedger;
use crate::plugins::host_api::HostServices;
use crate::sources::Interest;
use crate::telemetry::metrics;
use crate::watchlists::ListLimits;

pub struct Reloader {
    current: ValidConfig,
    path: Option<PathBuf>,
    library: Arc<PluginLibrary>,
    services: HostServices,
    plan: Arc<ArcSwap<Plan>>,
    /// Read by sources that subscribe per symbol or account; updated after
    /// each applied reload so they follow template changes.
    interest: tokio::sync::watch::Sender<Interest>,
    /// Forgets quarantines of versions a new plan no longer runs, so
    /// `/ready` stops naming a version once it is replaced.
    ledger: Arc<TrapLedger>,
    /// Templates left out because their plugin failed; shown on `/ready`.
    disabled: Arc<DisabledTemplates>,
    /// What to put back when an upload over a live file is moved aside.
    live_files: LiveFiles,
}

impl Reloader {
    pub fn new(
        current: ValidConfig,
        path: Option<PathBuf>,
        rt: &Runtime,
        plan: Arc<ArcSwap<Plan>>,
        interest: tokio::sync::watch::Sender<Interest>,
        ledger: Arc<TrapLedger>,
        disabled: Arc<DisabledTemplates>,
    ) -> Reloader {
        let mut live_files = LiveFiles::default();
        live_files.refresh(&plan.load());
        let (library, services) = (rt.library.clone(), rt.services.clone());
        Reloader { current, path, library, services, plan, interest, ledger, disabled, live_files }
    }

    /// Watch the config file and plugins directory; reload on change until
    /// `cancel`. `None` if there is nothing to watch or watching failed.
    /// The admin API shares `this`, so its changes and the watcher's never
    /// interleave.
    pub fn spawn(
        this: Arc<Mutex<Reloader>>,
        cancel: CancellationToken,
    ) -> Option<watch::WatchGuard> {
        let paths: Vec<PathBuf> = {
            let r = this.lock().expect("reloader poisoned");
            r.path.iter().cloned().chain(r.library.dir().map(|d| d.to_path_buf())).collect()
        };
        if paths.is_empty() {
            return None;
        }
        let (guard, mut changes) = match watch::watch(&paths) {
            Ok(w) => w,
            Err(error) => {
                tracing::error!(%error, "Cannot watch config and plugins; hot reload is off.");
                return None;
            }
        };
        tracing::info!(paths = ?paths, "Watching for config and plugin changes.");
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    change = changes.recv() => if change.is_none() { return },
                }
                let this = this.clone();
                let outcome = tokio::task::spawn_blocking(move || {
                    this.lock().expect("reloader poisoned").reload()
                })
                .await
                .expect("reload panicked");
                report(outcome);
            }
        });
        Some(guard)
    }

    /// One reload attempt; on success the new plan is live.
    pub fn reload(&mut self) -> Result<u64, ConfigError> {
        let next = match &self.path {
            Some(path) => load_file(path)?,
            None => self.current.clone(),
        };
        let staged = self.stage(next)?;
        Ok(self.publish(staged))
    }

    /// The config running now.
    pub fn current(&self) -> &ValidConfig {
        &self.current
    }

    /// The file the config came from; `None` for the embedded demo.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// Build and check the plan for `next` without publishing it: the old
    /// plan keeps serving whatever this answers.
    pub fn stage(&mut self, next: ValidConfig) -> Result<Staged, ConfigError> {
        let issues = restart_only_changes(self.current.raw(), next.raw());
        if !issues.is_empty() {
            return Err(ConfigError::Invalid { origin: next.origin().to_owned(), issues });
        }
        // Lists first: a template the new config adds may read a new list.
        let list_limits = ListLimits::of(next.runtime_limits());
        let lists = self.services.watchlists.prepare(&next.raw().watchlists, list_limits);
        let lists = lists.map_err(|errors| ConfigError::Invalid {
            origin: next.origin().to_owned(),
            issues: errors.iter().map(super::watchlist_issue).collect(),
        })?;
        let live = self.plan.load_full();
        let generation = live.generation + 1;
        let (plan, failures) = plan_enabled(&next, &self.library, &self.services, generation);
        if self.library.dir().is_some() {
            let (old, new) = (self.current.raw(), next.raw());
            move_aside_uploads(&failures, &live, old, new, &self.live_files);
        }
        let issues: Vec<ConfigIssue> = failures
            .iter()
            .filter(|f| !self.disabled.contains(&f.template))
            .flat_map(|f| f.issues.iter().cloned())
            .collect();
        if !issues.is_empty() {
            return Err(ConfigError::Invalid { origin: next.origin().to_owned(), issues });
        }
        for f in &failures {
            let reason = f.issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            tracing::warn!(template = %f.template, reason, "Template stays disabled: its plugin still fails.");
        }
        Ok(Staged { next, plan, failures, lists })
    }

    /// Make a staged plan live, with one atomic store.
    pub fn publish(&mut self, staged: Staged) -> u64 {
        let Staged { next, plan, failures, lists } = staged;
        let generation = plan.generation;
        let list_limits = ListLimits::of(next.runtime_limits());
        let plan = Arc::new(plan);
        self.services.watchlists.publish(&next.raw().watchlists, list_limits, lists);
        self.plan.store(plan.clone());
        plan.export_versions();
        self.disabled.set(&failures);
        self.live_files.refresh(&plan);
        self.ledger.retain(|template, version| plan.runs(template, version));
        self.interest.send_if_modified(|old| {
            let new = super::interest_of(&next);
            let changed = *old != new;
            *old = new;
            changed
        });
        self.current = next;
        tracing::info!(generation, templates = %plan.describe(), "New plan published.");
        generation
    }
}

/// A checked plan for a config, not yet live.
pub struct Staged {
    next: ValidConfig,
    plan: Plan,
    failures: Vec<crate::pipeline::TemplateFailure>,
    lists: crate::watchlists::Snapshot,
}

fn report(outcome: Result<u64, ConfigError>) {
    match outcome {
        Ok(_) => metrics().config_reloads.with_label_values(&["applied"]).inc(),
        Err(error) => {
            metrics().config_reloads.with_label_values(&["rejected"]).inc();
            tracing::error!("Reload rejected; the previous config keeps running: {error}");
        }
    }
}

/// Sections that the running pipeline was built from and cannot swap live.
fn restart_only_changes(old: &RawConfig, new: &RawConfig) -> Vec<ConfigIssue> {
    let same =
        |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") == format!("{b:?}");
    let sections: [(&str, bool); 8] = [
        ("plugins", same(&old.plugins, &new.plugins)),
        ("sources", same(&old.sources, &new.sources)),
        ("sinks", same(&old.sinks, &new.sinks)),
        ("pipeline", same(&old.pipeline, &new.pipeline)),
        ("alert_log", same(&old.alert_log, &new.alert_log)),
        ("state", same(&old.state, &new.state)),
        ("market", same(&old.market, &new.market)),
        ("server", same(&old.server, &new.server)),
    ];
    sections
        .iter()
        .filter(|(_, unchanged)| !unchanged)
        .map(|(name, _)| ConfigIssue::new(*name, "changed; this section only takes effect on restart (templates and plugins reload live)"))
        .collect()
}
