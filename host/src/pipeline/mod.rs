//! The pipeline after the sources: [`router`] (market state, route, shard
//! by routing key), then on each [`worker`] thread [`evaluate`], then on
//! the [`decider`] thread that owns each candidate's alert key
//! ([`partition`], merged in event order by [`merge`]) [`decide`] →
//! [`format`] → [`deliver`] (the hand-off to sinks and the alert log);
//! [`digest`] formats time-window digests when the deliver stage closes a
//! window. [`build`] wires the stages with
//! bounded channels; nothing is dropped: a full channel makes the stage
//! before it wait, and the wait shows in `klaxon_stage_wait_seconds` (and the
//! queues' fill in `klaxon_queue_depth`, see `depth.rs`).

pub mod build;
pub mod counters;
pub mod decide;
pub mod decider;
pub mod deliver;
mod depth;
pub mod digest;
pub mod disabled;
pub mod evaluate;
pub mod format;
pub mod library;
pub mod merge;
pub mod partition;
pub mod plan;
pub mod progress;
pub mod route;
pub mod router;
pub mod stats;
mod wait;
pub mod work;
pub mod worker;

pub use build::{Pipeline, PipelineParts};
pub use digest::WindowDigests;
pub use disabled::DisabledTemplates;
pub use plan::{Plan, PluginLibrary, TemplateFailure, build_plan, plan_enabled};
pub use stats::{RunStats, StatsSnapshot};
