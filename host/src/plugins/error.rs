//! How a guest call can fail: the one error type of the call point
//! (`call`), kept apart so the host API can raise it without depending on
//! the call point that reads it.

use std::time::Duration;

use super::Breach;

/// How a guest call failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CallError {
    /// The guest answered, but wrongly: an error result, a misuse of the
    /// host API, or an answer that breaks the contract.
    #[error("guest error: {0}")]
    Guest(String),
    #[error("exceeded its {0:?} time budget")]
    Timeout(Duration),
    #[error("exceeded its memory limit of {0} bytes")]
    OutOfMemory(usize),
    #[error("trapped: {0}")]
    Trap(String),
    /// The guest handed the host more than its limits allow.
    #[error("{0}")]
    Limit(Breach),
}

impl CallError {
    /// Whether the instance is unusable after this (wasmtime refuses to
    /// enter an instance that trapped).
    pub fn poisons(&self) -> bool {
        !matches!(self, CallError::Guest(_) | CallError::Limit(_))
    }

    /// Bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            CallError::Guest(_) => "guest_error",
            CallError::Timeout(_) => "timeout",
            CallError::OutOfMemory(_) => "out_of_memory",
            CallError::Trap(_) => "trap",
            CallError::Limit(_) => "limit",
        }
    }
}
