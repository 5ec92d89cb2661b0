//! The config file's shape. Every struct denies unknown fields, so a typo is
//! an error that names the field instead of a silently ignored setting.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::event::EventKind;
use crate::market::MarketConfig;
use crate::sinks::SinkConfig;
use crate::sources::SourceConfig;
use crate::store::AlertLogConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub pipeline: PipelineConfig,
    #[serde(default)]
    pub plugins: PluginsConfig,
    #[serde(default)]
    pub market: MarketConfig,
    #[serde(default)]
    pub alert_log: AlertLogConfig,
    /// Where cooldown history and plugin KV live (`state::StateConfig`).
    #[serde(default)]
    pub state: crate::state::StateConfig,
    #[serde(default)]
    pub server: ServerConfig,
    /// Event sources by name.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    /// Delivery channels by name; templates list them in `channels`.
    #[serde(default)]
    pub sinks: BTreeMap<String, SinkConfig>,
    /// Alert templates by name.
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateConfig>,
    /// Per-owner caps (`[owners.<name>] alerts_per_hour = N`), by the
    /// templates' `owner`.
    #[serde(default)]
    pub owners: BTreeMap<String, crate::deliver::OwnerConfig>,
    /// Named lists plugins query (`[watchlists.<name>]`), inline or in a
    /// file; edits apply live.
    #[serde(default)]
    pub watchlists: crate::watchlists::WatchlistConfigs,
    /// Bounds on what plugins hand the host (`plugins::Limits`, defaults
    /// for every template) and on the runtime (`plugins::RuntimeLimits`).
    #[serde(default)]
    pub limits: super::limits::RawLimits,
}

/// Whose clock the pipeline follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeMode {
    /// The wall clock (live feeds).
    #[default]
    Wall,
    /// Each event's exchange time (replays; deterministic output).
    Event,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Evaluation worker threads. Each template's events are sharded by its
    /// `shard_by` key (symbol by default), so all events of one key stay on
    /// one worker, in order.
    pub workers: usize,
    /// Most events a worker takes in one batch. It never waits to fill one.
    pub batch_max: usize,
    /// Capacity of each bounded channel between stages.
    pub channel_capacity: usize,
    /// Bytes of formatted messages the sinks may hold (queued or being
    /// sent); past it the format stage waits (see `budget`).
    pub delivery_bytes: usize,
    pub time: TimeMode,
    /// Traps after which a plugin version is disabled (0 = never).
    pub disable_after_traps: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PipelineConfig {
            workers: cores.clamp(1, 8),
            batch_max: 1024,
            channel_capacity: 8192,
            delivery_bytes: 64 << 20,
            time: TimeMode::Wall,
            disable_after_traps: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Directory of `<name>.wasm` plugins, watched for hot deploys. A file
    /// there overrides the stock plugin of the same name.
    pub dir: Option<PathBuf>,
    /// Compiled-artifact cache; `false`-y (empty string) disables it.
    pub cache_dir: Option<PathBuf>,
    /// Watch `dir` and the config file and apply changes live.
    pub watch: bool,
    /// Plugins (by name, from `dir`) that ops vouch for: like the stock
    /// plugins, one instance of each serves every owner's templates. Any
    /// other plugin gets an instance per owner, so one owner's code never
    /// holds another owner's rules.
    pub trusted: Vec<String>,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            dir: None,
            cache_dir: Some(PathBuf::from(".klaxon/cache")),
            watch: true,
            trusted: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address for `/health`, `/ready`, `/metrics`, the admin API and the
    /// console; none disables it.
    pub listen: Option<SocketAddr>,
    /// The admin API under `/v1` (`docs/admin-api.md`).
    pub admin: AdminConfig,
}

/// Who may use the admin API, and how much they may send.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Environment variable holding the read-write token; the API is off
    /// while it is unset.
    pub token_env: Option<String>,
    /// Environment variable holding the read-only token (GET only).
    pub read_token_env: Option<String>,
    /// Largest plugin upload; above it, 413.
    pub max_plugin_bytes: usize,
    /// Largest other request body; above it, 413.
    pub max_body_bytes: usize,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            token_env: None,
            read_token_env: None,
            max_plugin_bytes: 16 << 20,
            max_body_bytes: 64 << 10,
        }
    }
}

/// Which events a template looks at. An empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Selectors {
    pub venues: Vec<String>,
    pub kinds: Vec<EventKind>,
    pub symbols: Vec<String>,
    pub accounts: Vec<String>,
}

/// A plugin reference with its params.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginUse {
    /// Plugin name: `<plugins.dir>/<name>.wasm`, else a stock plugin.
    pub plugin: String,
    /// Passed to the plugin's `configure` as JSON.
    #[serde(default = "empty_params")]
    pub params: serde_json::Value,
}

fn empty_params() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// Who owns the template (shown in logs and the alert log).
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub select: Selectors,
    pub filter: PluginUse,
    /// Cooldown policy; without one the default fixed cooldown applies.
    #[serde(default)]
    pub cooldown: Option<PluginUse>,
    /// Fixed cooldown used without a policy, or when the policy fails.
    #[serde(default = "default_cooldown", with = "humantime_serde")]
    pub default_cooldown: Duration,
    /// Formatter; without one (or when it fails) the built-in plain format.
    #[serde(default)]
    pub formatter: Option<PluginUse>,
    /// `true`: alerts fired in one batch go as one digest message;
    /// `{ wait, interval, max_items }`: a time-window digest per channel.
    #[serde(default)]
    pub digest: crate::deliver::DigestConfig,
    /// Sink names to deliver to.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Overrides of `[limits]` for this template (see `config::limits`).
    #[serde(default)]
    pub limits: super::limits::RawLimits,
    /// What this template's events are sharded to workers by. Every event
    /// of one value meets one worker, in order, so keys made of it (and
    /// window sums a plugin keeps per key) have a single owner.
    #[serde(default)]
    pub shard_by: ShardKey,
    /// Whether one alert key's cooldown history is kept per venue (spot and
    /// futures `BTCUSDT` apart, the default) or across venues.
    #[serde(default)]
    pub alert_keys: KeyScope,
    /// The watchlists its plugins may read, by name; any other is refused.
    #[serde(default)]
    pub watchlists: Vec<String>,
    /// A canary: another plugin for one kind, on a share of the keys.
    #[serde(default)]
    pub rollout: Option<RolloutConfig>,
}

/// `rollout = { kind = "filter", plugin = "amount-threshold-next", share = 0.1 }`:
/// events whose key hashes into `share` run `plugin` in place of the
/// template's plugin of that kind; the rest stay on it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutConfig {
    pub kind: RolloutKind,
    pub plugin: String,
    /// Params for the canary; default: the current plugin's.
    #[serde(default)]
    pub params: Option<serde_json::Value>,
    /// Share of keys on the canary, in (0, 1].
    pub share: f64,
}

/// Which of a template's plugins a rollout replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RolloutKind {
    Filter,
    Cooldown,
    Formatter,
}

impl RolloutKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutKind::Filter => "filter",
            RolloutKind::Cooldown => "cooldown",
            RolloutKind::Formatter => "formatter",
        }
    }
}

/// What a template's events are sharded by (`shard_by`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShardKey {
    /// The instrument's symbol (the default).
    #[default]
    Symbol,
    /// The event's account (wallet, trader); events without one by symbol.
    Account,
}

/// Where one alert key's decisions are kept (`alert_keys`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyScope {
    #[default]
    PerVenue,
    CrossVenue,
}

fn yes() -> bool {
    true
}

fn default_cooldown() -> Duration {
    Duration::from_secs(300)
}
