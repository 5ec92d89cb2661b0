//! Pacing: one or more governor rate limiters a send must pass, e.g. a
//! Telegram chat's budget and the bot's global one, plus a hold set when
//! the service itself says "wait" (a 429's `retry_after`, Discord's
//! `X-RateLimit-Reset-After`, DingTalk's 10-minute block). Limiters shared
//! by several sinks (one bot token, many chats) come from [`shared`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::{Duration, Instant};

/// Every limiter a message to one destination must pass.
#[derive(Clone, Default)]
pub struct Pacer {
    limiters: Vec<Arc<DefaultDirectRateLimiter>>,
    /// No send before this instant: the service's own word.
    hold: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pacer({} limiters)", self.limiters.len())
    }
}

impl Pacer {
    pub fn new(quota: Quota) -> Pacer {
        Pacer { limiters: vec![Arc::new(RateLimiter::direct(quota))], hold: Arc::default() }
    }

    /// No limit at all (a sink that paces on the service's own headers).
    pub fn unlimited() -> Pacer {
        Pacer::default()
    }

    /// Also pass `limiter` (shared with other sinks).
    pub fn and(mut self, limiter: Arc<DefaultDirectRateLimiter>) -> Pacer {
        self.limiters.push(limiter);
        self
    }

    /// Take a slot now if every limiter has one; `false` if any would wait.
    /// (A slot taken from an earlier limiter when a later one refuses is
    /// lost; that only makes pacing slightly stricter.)
    pub fn try_acquire(&self) -> bool {
        self.held_until().is_none() && self.limiters.iter().all(|l| l.check().is_ok())
    }

    /// Send nothing for `wait` (extends, never shortens, a current hold).
    pub fn hold(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut hold = self.hold.lock().expect("hold lock");
        if hold.is_none_or(|h| h < until) {
            *hold = Some(until);
        }
    }

    /// The end of the current hold, if one is in force.
    pub fn held_until(&self) -> Option<Instant> {
        let hold = *self.hold.lock().expect("hold lock");
        hold.filter(|h| *h > Instant::now())
    }

    /// Wait until every limiter lets one message through.
    pub async fn acquire(&self) {
        while let Some(until) = self.held_until() {
            tokio::time::sleep_until(until).await;
        }
        for limiter in &self.limiters {
            limiter.until_ready().await;
        }
    }
}

/// The limiter registered under `key` (e.g. a hash of a bot token), made
/// with `quota` on first use, so every sink of that key shares one budget.
pub fn shared(key: &str, quota: Quota) -> Arc<DefaultDirectRateLimiter> {
    static SHARED: OnceLock<Mutex<HashMap<String, Arc<DefaultDirectRateLimiter>>>> =
        OnceLock::new();
    let map = SHARED.get_or_init(Default::default);
    let mut map = map.lock().expect("pacer registry poisoned");
    map.entry(key.to_owned()).or_insert_with(|| Arc::new(RateLimiter::direct(quota))).clone()
}

/// A registry key for a secret that does not reveal it.
pub fn key_of(kind: &str, secret: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{kind}:{}", hex::encode(&Sha256::digest(secret.as_bytes())[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    #[test]
    fn a_spent_budget_refuses_until_replenished() {
        let pacer = Pacer::new(Quota::per_minute(NonZeroU32::new(1).unwrap()));
        assert!(pacer.try_acquire());
        assert!(!pacer.try_acquire());
        assert!(Pacer::unlimited().try_acquire());
    }

    #[test]
    fn shared_limiters_are_shared_by_key() {
        let q = Quota::per_minute(NonZeroU32::new(1).unwrap());
        let a = shared("test:shared-key", q);
        let b = shared("test:shared-key", q);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!key_of("telegram", "123:secret").contains("secret"));
    }
}
