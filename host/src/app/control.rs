//! The control plane behind the admin API: every change goes through the
//! same [`Reloader`] as a file edit (one lock, so API and watcher changes
//! never interleave), is validated and planned before anything is written,
//! and only then is written atomically (temp file, rename) and published.
//! A refused change leaves the file, the plugins directory and the running
//! plan as they were.
//!
//! Reads (templates, plugins, rollouts) are views over the live plan and
//! config; they take the lock only to read the config.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::Serialize;

use super::Reloader;
use super::config_edit::EditError;
use crate::alert::PluginVersions;
use crate::config::{ConfigError, load_str};
use crate::issue::ConfigIssue;
use crate::pipeline::plan::TemplatePlan;
use crate::pipeline::{DisabledTemplates, Plan, PluginLibrary};
use crate::plugins::{PluginKind, TrapLedger, builtin, load};

/// Why a change was refused; the server maps each to its status.
#[derive(Debug)]
pub enum Refusal {
    /// The input does not parse or validate (400).
    Malformed {
        error: String,
        issues: Vec<ConfigIssue>,
    },
    NotFound(String),
    /// The change cannot apply to this host as it runs (409).
    Conflict(String),
    /// Valid, but a plugin failed to load, configure or smoke-run (422).
    Failed {
        error: String,
        issues: Vec<ConfigIssue>,
    },
    Internal(String),
}

impl From<EditError> for Refusal {
    fn from(e: EditError) -> Refusal {
        match e {
            EditError::Malformed { field, message } => Refusal::Malformed {
                error: format!("{field}: {message}"),
                issues: vec![ConfigIssue::new(field, message)],
            },
            EditError::NotFound(what) => Refusal::NotFound(what),
        }
    }
}

/// A refused config, as `klaxon check` would print it.
fn config_refusal(e: ConfigError, failed: bool) -> Refusal {
    let error = e.to_string().lines().next().unwrap_or_default().to_owned();
    let issues = match e {
        ConfigError::Invalid { issues, .. } => issues,
        ConfigError::Parse { message, .. } => {
            let (field, message) = message.split_once(": ").unwrap_or(("config", &message));
            vec![ConfigIssue::new(field, message)]
        }
    };
    match failed {
        true => Refusal::Failed { error, issues },
        false => Refusal::Malformed { error, issues },
    }
}

/// Handles the admin API needs; cheap to clone.
#[derive(Clone)]
pub struct Control {
    pub(crate) reloader: Arc<Mutex<Reloader>>,
    pub(crate) plan: Arc<ArcSwap<Plan>>,
    pub(crate) disabled: Arc<DisabledTemplates>,
    pub(crate) ledger: Arc<TrapLedger>,
    pub(crate) library: Arc<PluginLibrary>,
}

impl Control {
    /// Apply `edit` to the config file's text: validate, plan, write, publish.
    pub fn edit_config(
        &self,
        edit: impl FnOnce(&str) -> Result<String, EditError>,
    ) -> Result<u64, Refusal> {
        let mut reloader = self.reloader.lock().expect("reloader poisoned");
        let path = reloader.path().map(Path::to_path_buf).ok_or_else(|| {
            Refusal::Conflict(
                "this host runs the embedded demo, which has no config file to change; \
                 run it with --config"
                    .into(),
            )
        })?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Refusal::Internal(format!("reading {}: {e}", path.display())))?;
        let changed = edit(&text)?;
        let next = load_str(&changed, &path.display().to_string())
            .map_err(|e| config_refusal(e, false))?;
        let staged = reloader.stage(next).map_err(|e| config_refusal(e, true))?;
        write_atomic(&path, changed.as_bytes())?;
        Ok(reloader.publish(staged))
    }

    /// Re-read the config file and plugins, as the watcher does.
    pub fn reload(&self) -> Result<u64, Refusal> {
        let mut reloader = self.reloader.lock().expect("reloader poisoned");
        reloader.reload().map_err(|e| config_refusal(e, true))
    }

    /// Install `bytes` as `<plugins.dir>/<name>.wasm` if it is a component
    /// of some plugin world and every template using `name` still plans
    /// with it; otherwise put back what was there.
    pub fn put_plugin(&self, name: &str, bytes: &[u8]) -> Result<(String, u64), Refusal> {
        let dir = self.library.dir().map(Path::to_path_buf).ok_or_else(|| {
            Refusal::Conflict("no `plugins.dir` is configured to upload into".into())
        })?;
        let version = load::content_version(bytes).0;
        self.check_world(name, bytes)?;
        let mut reloader = self.reloader.lock().expect("reloader poisoned");
        let path = dir.join(format!("{name}.wasm"));
        let previous = std::fs::read(&path).ok();
        write_atomic(&path, bytes)?;
        match reloader.reload() {
            Ok(generation) => Ok((version, generation)),
            Err(e) => {
                // The reloader moved a bad upload aside and put the live
                // version back; anything else it left is undone here.
                let now = std::fs::read(&path).ok();
                if now.as_deref() == Some(bytes) {
                    match &previous {
                        Some(old) => write_atomic(&path, old)?,
                        None => drop(std::fs::remove_file(&path)),
                    }
                }
                Err(config_refusal(e, true))
            }
        }
    }

    /// Refuse bytes that implement no plugin world, before they touch the
    /// directory. Loading compiles through the same path (and artifact
    /// cache) as a reload, so the reload after is a cache hit.
    fn check_world(&self, name: &str, bytes: &[u8]) -> Result<PluginKind, Refusal> {
        let engine = self.library.engine();
        let mut why = Vec::new();
        for kind in [PluginKind::Filter, PluginKind::Cooldown, PluginKind::Formatter] {
            match load::load(engine, name, "upload", bytes, kind) {
                Ok(_) => return Ok(kind),
                Err(e) => why.push(ConfigIssue::new(format!("plugins.{name}"), e.to_string())),
            }
        }
        let error = format!("plugin `{name}` implements no Klaxon plugin world");
        Err(Refusal::Failed { error, issues: why })
    }

    /// Every configured template, with what runs it.
    pub fn templates(&self) -> Vec<TemplateView> {
        let config = self.reloader.lock().expect("reloader poisoned").current().clone();
        let plan = self.plan.load_full();
        let disabled = self.disabled.list();
        let quarantined = self.ledger.disabled();
        let mut views = Vec::new();
        for (name, t) in &config.raw().templates {
            let entries: Vec<&Arc<TemplatePlan>> =
                plan.templates.iter().filter(|p| &*p.id.0 == name.as_str()).collect();
            let (state, reason) = if !t.enabled {
                ("off", None)
            } else if let Some((_, r)) = disabled.iter().find(|(id, _)| id.as_str() == name) {
                ("disabled", Some(r.clone()))
            } else if let Some((_, p, n)) =
                quarantined.iter().find(|(id, _, _)| id.as_str() == name)
            {
                ("quarantined", Some(format!("{}@{} after {n} failures", p.name, p.version)))
            } else {
                ("live", None)
            };
            let stable = entries.iter().find(|e| !e.arm.is_canary());
            let canary = entries.iter().find(|e| e.arm.is_canary());
            let sum = |f: fn(&TemplatePlan) -> u64| entries.iter().map(|e| f(e)).sum::<u64>();
            views.push(TemplateView {
                name: name.clone(),
                owner: t.owner.clone(),
                enabled: t.enabled,
                state,
                reason,
                channels: t.channels.clone(),
                versions: stable.map(|e| (*e.versions).clone()).unwrap_or_default(),
                rollout: t.rollout.as_ref().map(|r| RolloutView {
                    kind: r.kind.as_str(),
                    plugin: r.plugin.clone(),
                    share: r.share,
                    stable: stable.and_then(|e| version_of_kind(e, r.kind)),
                    canary: canary.and_then(|e| version_of_kind(e, r.kind)),
                }),
                fired: sum(|e| e.counters.fired.get()),
                suppressed: sum(|e| e.counters.suppressed.get()),
                evaluations: sum(|e| e.counters.evaluations.get()),
                arms: entries.iter().map(|e| ArmView::of(e)).collect(),
            });
        }
        views
    }

    /// The plugin files in `plugins.dir` and the stock plugins, with the
    /// templates each serves in the live plan.
    pub fn plugins(&self) -> Vec<PluginView> {
        let plan = self.plan.load_full();
        let used_by = |name: &str| -> (Vec<String>, Option<&'static str>) {
            let mut users = Vec::new();
            let mut kind = None;
            for t in &plan.templates {
                for s in [Some(&t.filter), t.cooldown.as_ref(), t.formatter.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    if &*s.plugin.reference.name == name && !users.contains(&t.id.to_string()) {
                        users.push(t.id.to_string());
                        kind = Some(s.plugin.kind.as_str());
                    }
                }
            }
            (users, kind)
        };
        let mut views = Vec::new();
        for (name, origin, bytes) in self.plugin_files() {
            let (used_by, kind) = used_by(&name);
            let stock_kind = builtin::stock(&name).map(|(k, _)| k.as_str());
            views.push(PluginView {
                version: load::content_version(&bytes).0,
                kind: kind.or(stock_kind),
                origin,
                used_by,
                name,
            });
        }
        views
    }

    /// (name, origin, bytes): files in `plugins.dir` first (they override
    /// stock plugins of the same name), then the stock plugins.
    fn plugin_files(&self) -> Vec<(String, String, Vec<u8>)> {
        let mut files = Vec::new();
        if let Some(dir) = self.library.dir()
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for path in entries.flatten().map(|e| e.path()) {
                let name = path.file_stem().and_then(|n| n.to_str()).map(str::to_owned);
                let is_wasm = path.extension().is_some_and(|e| e == "wasm");
                if let (Some(name), true) = (name, is_wasm)
                    && let Ok(bytes) = std::fs::read(&path)
                {
                    files.push((name, path.display().to_string(), bytes));
                }
            }
        }
        files.sort();
        for (name, _, bytes) in builtin::STOCK {
            if !files.iter().any(|(n, _, _)| n == name) {
                files.push(((*name).to_owned(), "builtin".to_owned(), bytes.to_vec()));
            }
        }
        files
    }
}

/// `name@version` of the plugin of `kind` an entry runs.
fn version_of_kind(e: &TemplatePlan, kind: crate::config::raw::RolloutKind) -> Option<String> {
    use crate::config::raw::RolloutKind as K;
    match kind {
        K::Filter => e.versions.filter.clone(),
        K::Cooldown => e.versions.cooldown.clone(),
        K::Formatter => e.versions.formatter.clone(),
    }
}

/// Write `bytes` to a temp file beside `path`, then rename it over
/// `path`: a reader (or a crash) sees the old file or the new, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Refusal> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp: PathBuf = path.with_file_name(format!(".{name}.admin-tmp"));
    let failed = |e: std::io::Error| Refusal::Internal(format!("writing {}: {e}", path.display()));
    std::fs::write(&tmp, bytes).map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(failed)
}

#[derive(Debug, Serialize)]
pub struct TemplateView {
    pub name: String,
    pub owner: Option<String>,
    pub enabled: bool,
    pub state: &'static str,
    pub reason: Option<String>,
    pub channels: Vec<String>,
    pub versions: PluginVersions,
    pub rollout: Option<RolloutView>,
    pub fired: u64,
    pub suppressed: u64,
    pub evaluations: u64,
    pub arms: Vec<ArmView>,
}

#[derive(Debug, Serialize)]
pub struct RolloutView {
    pub kind: &'static str,
    pub plugin: String,
    pub share: f64,
    pub stable: Option<String>,
    pub canary: Option<String>,
}

/// One live entry of a template: its arm, versions and counts.
#[derive(Debug, Serialize)]
pub struct ArmView {
    pub arm: &'static str,
    pub versions: PluginVersions,
    pub fired: u64,
    pub suppressed: u64,
    pub evaluations: u64,
}

impl ArmView {
    fn of(e: &TemplatePlan) -> ArmView {
        ArmView {
            arm: e.arm.label(),
            versions: (*e.versions).clone(),
            fired: e.counters.fired.get(),
            suppressed: e.counters.suppressed.get(),
            evaluations: e.counters.evaluations.get(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PluginView {
    pub name: String,
    pub kind: Option<&'static str>,
    pub version: String,
    pub origin: String,
    pub used_by: Vec<String>,
}
