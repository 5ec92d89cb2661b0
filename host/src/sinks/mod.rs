//! Sinks: where fired alerts go.
