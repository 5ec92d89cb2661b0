//! The pipeline after the sources: route → evaluate → decide → format, and
//! the hand-off to sinks and the alert log. [`build`] wires the stages with
//! bounded channels; nothing is dropped: a full channel makes the stage
//! before it wait, and the wait shows in `klaxon_stage_wait_seconds`.

pub mod build;
pub mod decide;
pub mod evaluate;
pub mod format;
pub mod instances;
pub mod plan;
pub mod route;
pub mod stats;
mod wait;

pub use build::{Pipeline, PipelineParts};
pub use plan::{Plan, PluginLibrary, build_plan};
pub use stats::{RunStats, StatsSnapshot};
