//! Metrics and logging setup.
//!
//! Every metric lives in [`metrics()`], registered once in a process-wide
//! Prometheus registry and served by `/metrics`. Names follow
//! `klaxon_<area>_<name>_<unit>[_total]`; labels only come from bounded sets
//! (source, venue, template, plugin, version, stage, reason, sink). Never put
//! a symbol, account, alert key or error text in a label.

mod logging;
mod metrics;
mod register;
mod render;

pub use logging::{LogFormat, init_logging};
pub use metrics::{Metrics, metrics};
pub(crate) use register::{counter, gauge};
pub use render::{on_render, render};
