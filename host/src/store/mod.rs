//! The alert log.
