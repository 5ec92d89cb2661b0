//! Klaxon: a real-time alerting engine for crypto markets and chains.
//!
//! Data moves one way through these modules, each a stage or the vocabulary
//! the stages share:
//!
//! * vocabulary: [`event`] (normalized events), [`alert`] (verdicts, alerts,
//!   decisions, messages), [`clock`] (the wall clock, behind a trait), [`issue`]
//!   (config problems), [`telemetry`] (metrics and logs);
//! * [`sources`]: venue feeds, replay and the synthetic market, emitting `Event`s;
//! * [`market`]: host-owned market state (last prices, rolling windows, tops of book);
//! * [`state`]: cooldown history and the plugins' key-value store;
//! * [`watchlists`]: named lists ops edit live, which plugins query;
//! * [`plugins`]: the wasmtime runtime that loads, checks, hot-swaps and calls plugins;
//! * [`pipeline`]: route → evaluate → decide → format, wired in `pipeline::build`;
//! * [`sinks`]: where messages go (stdout, NDJSON file, Telegram, Discord,
//!   Slack, WeCom, DingTalk, PagerDuty, signed webhooks);
//! * [`deliver`]: the outbox-backed queue, pacing and retries of network sinks;
//! * [`store`]: the alert log (SQLite or Postgres);
//! * [`config`]: the config file, validated into a `ValidConfig`;
//! * [`server`]: `/health`, `/ready`, `/metrics`;
//! * [`app`]: `run()`, which wires it all and owns shutdown;
//! * [`authoring`]: `klaxon plugin new | build | test` for plugin authors.

pub mod alert;
pub mod budget;
pub mod clock;
pub mod event;
pub mod issue;
pub mod telemetry;

pub mod deliver;
pub mod market;
pub mod sinks;
pub mod sources;
pub mod store;

pub mod app;
pub mod authoring;
pub mod bench;
pub mod config;
pub mod pipeline;
pub mod plugins;
pub mod server;
pub mod state;
pub mod watchlists;
