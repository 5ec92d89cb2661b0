//! The pipeline after the sources: [`router`] (market state, route, shard),
//! then on each [`worker`] thread [`evaluate`] → [`decide`] → [`format`] →
//! [`deliver`] (the hand-off to sinks and the alert log); [`digest`] formats
//! time-window digests when the deliver stage closes a window. [`build`] wires the stages with
//! bounded channels; nothing is dropped: a full channel makes the stage
//! before it wait, and the wait shows in `klaxon_stage_wait_seconds`.

pub mod build;
pub mod counters;
pub mod decide;
pub mod deliver;
pub mod digest;
pub mod disabled;
pub mod evaluate;
pub mod format;
pub mod library;
pub mod plan;
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
