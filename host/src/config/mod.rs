//! Configuration: the file's shape ([`raw`]), layered loading ([`load`]),
//! validation into a [`ValidConfig`] ([`validate`]) and the file watcher
//! ([`watch`]).
//!
//! Only validation can build a `ValidConfig`, and the pipeline builder takes
//! nothing else, so a config that reached the pipeline has passed every
//! check. Running components never see this module: each receives its own
//! `XxxConfig`.

pub mod limits;
pub mod load;
pub mod raw;
pub mod validate;
pub mod watch;

pub use load::{DEMO_CONFIG, load_file, load_str};
pub use raw::{
    KeyScope, PipelineConfig, PluginUse, RawConfig, Selectors, ShardKey, TemplateConfig, TimeMode,
};
pub use validate::{ValidConfig, validate};

use crate::issue::ConfigIssue;

/// A config that could not be used, with every problem found.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}: {} problem(s):\n{}", issues.len(), issues.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid { origin: String, issues: Vec<ConfigIssue> },
}
