//! Time-window digests through the formatter: when a template's digest
//! window closes, the channel's sender (`crate::deliver`) holds the group's
//! alerts and asks this for the messages. It is the format stage's work done
//! at a later time, not a step back: the alerts come forward from the
//! outbox, and the messages go on to the same sender.
//!
//! The template's formatter is looked up in the plan running now (a hot
//! swap in the meantime formats with the new version) and called through an
//! instance pool of its own, with the failure policy of every formatter
//! call: a trap, timeout or limit breach is charged to the template and the
//! built-in plain digest goes out instead. A group whose input would exceed
//! the template's `digest_bytes` goes as several digests, each within it.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::alert::{Alert, Message};
use crate::clock::SharedClock;
use crate::config::TimeMode;
use crate::deliver::DigestFormat;
use crate::event::Event;
use crate::plugins::host_api::HostServices;
use crate::plugins::{InstancePool, PluginEngine, RuleRef, TrapLedger};

use super::format::split_digest;
use super::plan::Plan;

/// The formatter of window digests for a running pipeline.
pub struct WindowDigests {
    plan: Arc<ArcSwap<Plan>>,
    clock: SharedClock,
    time: TimeMode,
    /// One call at a time: digests close seldom (once per window per
    /// template and channel), and the pool's instances are not shared.
    pool: Mutex<(InstancePool, u64)>,
}

impl WindowDigests {
    pub fn new(
        plan: Arc<ArcSwap<Plan>>,
        engine: PluginEngine,
        services: HostServices,
        ledger: Arc<TrapLedger>,
        clock: SharedClock,
        time: TimeMode,
    ) -> WindowDigests {
        let pool = InstancePool::new(engine, services, ledger);
        WindowDigests { plan, clock, time, pool: Mutex::new((pool, 0)) }
    }

    fn now_ms(&self, event: &Event) -> u64 {
        match self.time {
            TimeMode::Event => event.exchange_time_ms,
            TimeMode::Wall => self.clock.now_ms(),
        }
    }
}

impl DigestFormat for WindowDigests {
    fn format_digest(
        &self,
        template: &str,
        alerts: &[Arc<Alert>],
    ) -> Option<Vec<(usize, Message)>> {
        let plan = self.plan.load_full();
        let tp = plan.templates.iter().find(|t| t.id.as_str() == template)?;
        let mut guard = self.pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (pool, generation) = &mut *guard;
        if *generation != plan.generation {
            *generation = plan.generation;
            pool.retain(|t, plugin, domain| plan.uses(t, plugin, domain));
        }
        let rule = tp.formatter.as_ref().map(|slot| RuleRef {
            template: &tp.id,
            slot,
            limits: &tp.limits,
        });
        let messages = split_digest(alerts.to_vec(), &tp.limits)
            .map(|part| {
                let now = self.now_ms(&part[part.len() - 1].event);
                (part.len(), pool.format(rule, &part, now))
            })
            .collect();
        Some(messages)
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::alert::{AlertId, Decision, Severity, TemplateId};
    use crate::clock::SystemClock;
    use crate::event::{EventKind, Sym};
    use crate::market::MarketState;

    /// A fired alert of `template` on an event priced 100 (the hostile
    /// formatter misbehaves above 10; its smoke run sees 1).
    fn alert(template: &str, i: u64) -> Arc<Alert> {
        let (venue, symbol) = (Sym::new("binance-spot"), Sym::new("BTCUSDT"));
        let mut event =
            Event::new(EventKind::Trade, venue, symbol, format!("e{i}"), 1_700_000_000_000 + i);
        (event.price, event.size) = (Decimal::from(100), Decimal::ONE);
        let t = TemplateId::new(template);
        Arc::new(Alert {
            id: AlertId::derive(&t, "BTCUSDT", &event.id),
            template: t,
            key: "BTCUSDT".into(),
            severity: Severity::Warning,
            value: 100.0,
            title: format!("Whale {i}"),
            fields: vec![("notional".into(), "$100".into())],
            event: Arc::new(event),
            decision: Decision::Fire(Severity::Warning),
            decided_at_ms: 1_700_000_000_000 + i,
            versions: Arc::default(),
            trace: Default::default(),
        })
    }

    fn alerts(template: &str, n: u64) -> Vec<Arc<Alert>> {
        (0..n).map(|i| alert(template, i)).collect()
    }

    /// `formatter = ...` (and `limits`) of template `w`, planned for real.
    async fn digests(formatter: &str) -> WindowDigests {
        let toml = format!(
            "[plugins]\nwatch = false\ncache_dir = \"\"\ndir = \"{}\"\n\
             [templates.w]\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n\
             {formatter}\ndigest = {{ wait = \"1s\" }}\n",
            env!("KLAXON_PLUGINS_DIR")
        );
        let config = crate::config::load_str(&toml, "digest test").unwrap();
        let (market, _) = MarketState::new(&config.raw().market);
        let rt = crate::app::Runtime::new(&config, &market).unwrap();
        let plan = crate::app::first_plan(&config, &rt).await.unwrap();
        WindowDigests::new(
            Arc::new(ArcSwap::from_pointee(plan)),
            rt.engine.clone(),
            rt.services.clone(),
            Arc::new(TrapLedger::new(0)),
            Arc::new(SystemClock),
            TimeMode::Wall,
        )
    }

    #[tokio::test]
    async fn a_window_goes_through_the_formatters_format_digest() {
        let d =
            digests("formatter = { plugin = \"plain\", params = { max_digest_items = 2 } }").await;
        let messages = d.format_digest("w", &alerts("w", 3)).unwrap();
        assert_eq!(messages.len(), 1);
        let (n, m) = &messages[0];
        assert_eq!(*n, 3);
        // `plain`'s digest: a count headline, one line per listed alert.
        assert_eq!(m.title, "3 alerts");
        assert_eq!(m.body, "3 alerts\n[WARNING] Whale 0\n[WARNING] Whale 1\n… and 1 more");
        assert!(d.format_digest("gone", &alerts("gone", 2)).is_none(), "not in the plan");
    }

    #[tokio::test]
    async fn a_window_over_digest_bytes_goes_as_several_digests_covering_every_alert() {
        // Each alert is 26 bytes (key, title, fields): two fit in 60.
        let d = digests(
            "formatter = { plugin = \"plain\" }\nlimits = { digest_bytes = 60, alert_bytes = 60 }",
        )
        .await;
        let messages = d.format_digest("w", &alerts("w", 5)).unwrap();
        let counts: Vec<usize> = messages.iter().map(|(n, _)| *n).collect();
        assert_eq!(counts, [2, 2, 1]);
        assert_eq!(messages[0].1.title, "2 alerts");
        // A lone alert is formatted as itself, as with `digest = true`.
        assert_eq!(messages[2].1.title, "Whale 4");
    }

    #[tokio::test]
    async fn a_formatter_failing_on_the_digest_falls_back_to_the_plain_digest() {
        let d = digests(
            "formatter = { plugin = \"hostile-formatter\", params = { mode = \"huge-body\" } }",
        )
        .await;
        let batch = alerts("w", 3);
        let messages = d.format_digest("w", &batch).unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].0, 3);
        // Its 1 MiB body breaks `message_bytes`: the built-in plain digest.
        assert_eq!(messages[0].1, crate::plugins::fallback::plain_digest(&batch));
        assert_eq!(messages[0].1.title, "3 alerts");
        let breaches = crate::telemetry::metrics()
            .plugin_limit_breaches
            .get_metric_with_label_values(&[
                "w",
                "hostile-formatter",
                &d.plan.load().templates[0].formatter.as_ref().unwrap().plugin.reference.version,
                "formatter",
                "message_bytes",
            ])
            .map(|c| c.get())
            .unwrap_or(0);
        assert!(breaches >= 1, "the breach is charged to the template");
    }
}
