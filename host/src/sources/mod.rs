//! Sources: everything that produces [`Event`]s.
//!
//! One module per protocol. A source owns its input (files, generator, later
//! sockets) and emits normalized events into a bounded channel; when the
//! channel is full it waits (backpressure), it never drops. Malformed frames
//! are counted (`klaxon_source_frames_malformed_total`), logged with where they
//! came from, and skipped.
