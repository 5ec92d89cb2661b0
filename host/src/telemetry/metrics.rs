//! The metric catalogue. One field per metric, each documented once here.

use std::sync::OnceLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    pub registry: Registry,
    /// Events a source emitted, by source and venue.
    pub source_events: IntCounterVec,
    /// Frames a source could not parse and skipped, by source and venue.
    pub source_frames_malformed: IntCounterVec,
    /// 1 while a source is connected/producing, 0 otherwise.
    pub source_up: IntGaugeVec,
    /// Live connections currently open, by source.
    pub source_connections: IntGaugeVec,
    /// Reconnects of live sources, by source and reason (closed, stalled, error, planned, shutdown notice).
    pub source_reconnects: IntCounterVec,
    /// Connections dropped because no data arrived for `stall_after`.
    pub source_stalls: IntCounterVec,
    /// Exchange time → receive time, seconds, by source.
    pub source_lag: HistogramVec,
    /// Order-book resyncs (snapshot re-fetched), by source and reason.
    pub source_book_resyncs: IntCounterVec,
    /// REST responses that told us to back off (429, 418), by source and status.
    pub source_rest_throttled: IntCounterVec,
    /// Frames or fills dropped as duplicates of ones already emitted, by source.
    pub source_duplicates: IntCounterVec,
    /// Events retracted by a chain reorg, by source.
    pub source_retractions: IntCounterVec,
    /// Live subscriptions (streams, channels, filters) currently held, by source.
    pub source_subscriptions: IntGaugeVec,
    /// DEX pools whose metadata (tokens, decimals) could not be read, by source.
    pub source_metadata_failures: IntCounterVec,
    /// Requests refused, by source and reason: a per-IP venue limit we
    /// enforce (`subscription_limit`, `user_limit`, `connection_limit`) or
    /// an error reply from the venue (`venue_error`).
    pub source_refused: IntCounterVec,
    /// Events that entered the router.
    pub pipeline_events_in: IntCounterVec,
    /// (event, template) evaluations performed, by template and rollout
    /// arm (`stable`, or `canary` for the keys a rollout moved).
    pub evaluations: IntCounterVec,
    /// Events whose evaluation finished (counted once per event), by worker.
    pub events_evaluated: IntCounterVec,
    /// Evaluations that failed closed because the filter failed, by template and plugin.
    pub evaluations_failed: IntCounterVec,
    /// Traps, by plugin, version and kind.
    pub plugin_traps: IntCounterVec,
    /// Plugin versions disabled after repeated traps.
    pub plugin_disabled: IntCounterVec,
    pub poison_events: IntCounterVec,
    /// Limits a plugin's output broke, by template, version, kind and limit.
    pub plugin_limit_breaches: IntCounterVec,
    /// Plugin log lines dropped over the log budgets.
    pub plugin_log_dropped: IntCounterVec,
    /// Plugin loads rejected (compile, typecheck, configure, smoke), by reason.
    pub plugin_rejected: IntCounterVec,
    /// Plugin files moved aside to `<plugins.dir>/.rejected/` after failing a reload.
    pub plugin_uploads_rejected: IntCounterVec,
    /// 1 while a template is disabled because its plugin failed validation at startup.
    pub templates_disabled: IntGaugeVec,
    /// Config reloads, by outcome (applied, rejected).
    pub config_reloads: IntCounterVec,
    /// Watchlist loads from config or file edits, by list and outcome
    /// (applied, rejected: the previous version stays live).
    pub watchlist_reloads: IntCounterVec,
    /// Entries of each live watchlist.
    pub watchlist_entries: IntGaugeVec,
    /// Plugin queries of a watchlist the template does not declare (the
    /// call fails), by template and plugin.
    pub watchlist_refused: IntCounterVec,
    /// 1 (or, during a rollout, each arm's share of keys) per live template
    /// entry, labelled with the plugin versions it runs: join on `template`
    /// and `arm` to tell versions apart in any other series.
    pub template_plugins: prometheus::GaugeVec,
    /// Admin API requests, by action and outcome (ok, refused, denied).
    pub admin_requests: IntCounterVec,
    /// Alerts decided, by template, outcome (fired, suppressed) and arm.
    pub alerts: IntCounterVec,
    /// Alerts suppressed, by template and reason code (`default_cooldown`,
    /// `claimed_elsewhere`, a policy's `code:`, else `policy`; past 8 codes
    /// per template, `other`).
    pub alerts_suppressed: IntCounterVec,
    /// Seconds a stage waited on a full downstream channel.
    pub stage_wait: HistogramVec,
    /// Seconds from a source handing an event on to its alert's message
    /// being handed to the sinks, by template.
    pub alert_latency: HistogramVec,
    /// Size of the column batches handed to filters.
    pub batch_size: HistogramVec,
    /// Deliveries by sink and outcome.
    pub sink_deliveries: IntCounterVec,
    /// Rows written to the alert log.
    pub alert_log_rows: IntCounterVec,
    /// Alert rows the database refused, left out of their batch, by template.
    pub alert_log_rows_rejected: IntCounterVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("metric registered once");
    c
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("metric registered once");
    g
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("valid metric");
    r.register(Box::new(h.clone())).expect("metric registered once");
    h
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let r = Registry::new();
        Metrics {
            source_events: counter(
                &r,
                "klaxon_source_events_total",
                "Events emitted by a source",
                &["source", "venue"],
            ),
            source_frames_malformed: counter(
                &r,
                "klaxon_source_frames_malformed_total",
                "Frames skipped as malformed",
                &["source", "venue"],
            ),
            source_up: gauge(
                &r,
                "klaxon_source_up",
                "1 while the source is connected",
                &["source"],
            ),
            source_connections: gauge(
                &r,
                "klaxon_source_connections",
                "Live connections open",
                &["source"],
            ),
            source_reconnects: counter(
                &r,
                "klaxon_source_reconnects_total",
                "Reconnects of live sources",
                &["source", "reason"],
            ),
            source_stalls: counter(
                &r,
                "klaxon_source_stalls_total",
                "Connections dropped for silence",
                &["source"],
            ),
            source_lag: histogram(
                &r,
                "klaxon_source_lag_seconds",
                "Exchange time to receive time",
                &["source"],
                vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
            ),
            source_book_resyncs: counter(
                &r,
                "klaxon_source_book_resyncs_total",
                "Order-book resyncs",
                &["source", "reason"],
            ),
            source_rest_throttled: counter(
                &r,
                "klaxon_source_rest_throttled_total",
                "REST responses asking to back off",
                &["source", "status"],
            ),
            source_duplicates: counter(
                &r,
                "klaxon_source_duplicates_total",
                "Duplicates dropped",
                &["source"],
            ),
            source_retractions: counter(
                &r,
                "klaxon_source_retractions_total",
                "Events retracted by reorgs",
                &["source"],
            ),
            source_metadata_failures: counter(
                &r,
                "klaxon_source_metadata_failures_total",
                "DEX pools skipped because their metadata could not be read",
                &["source"],
            ),
            source_subscriptions: gauge(
                &r,
                "klaxon_source_subscriptions",
                "Live subscriptions held",
                &["source"],
            ),
            source_refused: counter(
                &r,
                "klaxon_source_refused_total",
                "Requests refused by a venue limit or the venue",
                &["source", "reason"],
            ),
            pipeline_events_in: counter(
                &r,
                "klaxon_pipeline_events_in_total",
                "Events that entered the router",
                &["source"],
            ),
            evaluations: counter(
                &r,
                "klaxon_evaluations_total",
                "Filter evaluations",
                &["template", "arm"],
            ),
            events_evaluated: counter(
                &r,
                "klaxon_events_evaluated_total",
                "Events fully evaluated",
                &["worker"],
            ),
            evaluations_failed: counter(
                &r,
                "klaxon_evaluations_failed_total",
                "Evaluations failed closed",
                &["template", "plugin"],
            ),
            plugin_traps: counter(
                &r,
                "klaxon_plugin_traps_total",
                "Failed plugin calls (traps, timeouts, out of memory, guest errors), per template and version",
                &["template", "plugin", "version", "kind", "reason"],
            ),
            plugin_disabled: counter(
                &r,
                "klaxon_plugin_disabled_total",
                "Templates quarantined on a plugin version after repeated failures",
                &["template", "plugin", "version"],
            ),
            poison_events: counter(
                &r,
                "klaxon_poison_events_total",
                "Events a filter rule failed on alone, quarantined (skipped for that rule)",
                &["template", "plugin"],
            ),
            plugin_limit_breaches: counter(
                &r,
                "klaxon_plugin_limit_breaches_total",
                "Plugin outputs refused for breaking a limit (the limit is its config key)",
                &["template", "plugin", "version", "kind", "limit"],
            ),
            plugin_log_dropped: counter(
                &r,
                "klaxon_plugin_log_dropped_total",
                "Plugin log lines dropped over the per-call or per-second budget",
                &["template", "plugin"],
            ),
            plugin_rejected: counter(
                &r,
                "klaxon_plugin_rejected_total",
                "Plugin loads rejected",
                &["plugin", "reason"],
            ),
            plugin_uploads_rejected: counter(
                &r,
                "klaxon_plugin_uploads_rejected_total",
                "Plugin files moved aside after failing validation in a reload",
                &["plugin"],
            ),
            templates_disabled: gauge(
                &r,
                "klaxon_templates_disabled",
                "1 while a template is disabled because its plugin failed validation at startup",
                &["template"],
            ),
            config_reloads: counter(
                &r,
                "klaxon_config_reloads_total",
                "Config reloads",
                &["outcome"],
            ),
            watchlist_reloads: counter(
                &r,
                "klaxon_watchlist_reloads_total",
                "Watchlist loads",
                &["watchlist", "outcome"],
            ),
            watchlist_entries: gauge(
                &r,
                "klaxon_watchlist_entries",
                "Entries of each live watchlist",
                &["watchlist"],
            ),
            watchlist_refused: counter(
                &r,
                "klaxon_watchlist_refused_total",
                "Plugin queries of a watchlist its template does not declare",
                &["template", "plugin"],
            ),
            template_plugins: {
                let g = prometheus::GaugeVec::new(
                    Opts::new(
                        "klaxon_template_plugins",
                        "Live template entries with their plugin versions; value: share of keys",
                    ),
                    &["template", "arm", "filter", "cooldown", "formatter"],
                )
                .expect("valid metric");
                r.register(Box::new(g.clone())).expect("metric registered once");
                g
            },
            admin_requests: counter(
                &r,
                "klaxon_admin_requests_total",
                "Admin API requests",
                &["action", "outcome"],
            ),
            alerts: counter(
                &r,
                "klaxon_alerts_total",
                "Alerts decided",
                &["template", "outcome", "arm"],
            ),
            alerts_suppressed: counter(
                &r,
                "klaxon_alerts_suppressed_total",
                "Alerts suppressed",
                &["template", "reason"],
            ),
            stage_wait: histogram(
                &r,
                "klaxon_stage_wait_seconds",
                "Time a stage waited on a full channel",
                &["stage"],
                vec![0.0001, 0.001, 0.01, 0.1, 1.0],
            ),
            alert_latency: histogram(
                &r,
                "klaxon_alert_latency_seconds",
                "Event received to alert message handed to delivery",
                &["template"],
                vec![
                    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                    0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            ),
            batch_size: histogram(
                &r,
                "klaxon_evaluate_batch_size",
                "Events per filter batch",
                &["worker"],
                vec![1.0, 4.0, 16.0, 64.0, 256.0, 1024.0],
            ),
            sink_deliveries: counter(
                &r,
                "klaxon_sink_deliveries_total",
                "Deliveries",
                &["sink", "outcome"],
            ),
            alert_log_rows: counter(
                &r,
                "klaxon_alert_log_rows_total",
                "Rows written to the alert log",
                &["status"],
            ),
            alert_log_rows_rejected: counter(
                &r,
                "klaxon_alert_log_rows_rejected_total",
                "Alert rows the database refused, left out of their batch",
                &["template"],
            ),
            registry: r,
        }
    })
}

/// Prometheus text exposition of every metric.
pub fn render() -> String {
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&metrics().registry.gather(), &mut buf)
        .expect("text encoding cannot fail");
    String::from_utf8(buf).expect("prometheus text is utf-8")
}
