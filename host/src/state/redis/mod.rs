//! The Redis backend: cooldown history read and claimed in Redis
//! (`history.rs`), plugin KV written behind to it and restored from it
//! (`kv.rs`), with the atomic scripts in `scripts.rs`.
//!
//! Connections are synchronous (`redis::Connection`), pooled here, each
//! with connect, read and write deadlines (`[state] timeout`). The callers
//! are the evaluate workers, plain threads that block on the stores anyway,
//! so a sync client needs no runtime hop, and each worker holds its own
//! connection while it waits (no head-of-line blocking between workers).
//!
//! When Redis fails, the call fails fast: the error is returned (callers
//! fall back to their local copy and report it to `health`), the
//! connection is dropped, and for [`RETRY_AFTER`] every call is answered
//! "unreachable" at once instead of waiting out a timeout per decision.
//! The next call after that tries again.

mod history;
mod kv;
mod scripts;

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use history::RedisHistory;
pub use kv::{RedisSink, fetch_kv};

/// How long a failure short-circuits calls before the next attempt.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

pub struct Redis {
    client: redis::Client,
    idle: Mutex<Vec<redis::Connection>>,
    timeout: Duration,
    prefix: String,
    /// Until when calls fail at once, and why.
    down: Mutex<Option<(Instant, String)>>,
}

impl Redis {
    /// A client for `url`; nothing connects until the first call.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Redis, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        Ok(Redis {
            client,
            idle: Mutex::default(),
            timeout,
            prefix: prefix.to_owned(),
            down: Mutex::default(),
        })
    }

    /// `{prefix}{kind}:{template}`.
    pub fn key(&self, kind: &str, template: &str) -> String {
        format!("{}{kind}:{template}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Run `f` on a pooled connection (connecting if none is idle).
    pub fn run<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        if let Some((until, why)) = &*self.down.lock().expect("redis lock")
            && Instant::now() < *until
        {
            return Err(format!("unreachable, retrying shortly: {why}"));
        }
        let pooled = self.idle.lock().expect("redis lock").pop();
        let result = match pooled {
            Some(con) => Ok(con),
            None => self.connect(),
        }
        .and_then(|mut con| f(&mut con).map(|v| (v, con)));
        match result {
            Ok((value, con)) => {
                self.idle.lock().expect("redis lock").push(con);
                *self.down.lock().expect("redis lock") = None;
                Ok(value)
            }
            Err(error) => {
                // The connection may hold a late reply: it is not reused.
                let why = error.to_string();
                *self.down.lock().expect("redis lock") =
                    Some((Instant::now() + RETRY_AFTER, why.clone()));
                Err(why)
            }
        }
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let mut con = self.client.get_connection_with_timeout(self.timeout)?;
        con.set_read_timeout(Some(self.timeout))?;
        con.set_write_timeout(Some(self.timeout))?;
        // Pipelines send EVALSHA, which fails on a server that has not
        // seen the script: load them on every new connection.
        scripts::COMMIT.prepare_invoke().load(&mut con)?;
        scripts::KV_WRITE.prepare_invoke().load(&mut con)?;
        Ok(con)
    }
}
