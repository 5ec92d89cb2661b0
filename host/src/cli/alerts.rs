//! `klaxon alerts …` (the alert log as a tool) and `klaxon sink test`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use klaxon::clock::{Clock, SystemClock};
use klaxon::config::{self, ValidConfig};
use klaxon::sinks::remote::{Action, Attempt, Outgoing, process_env};
use klaxon::store::{AlertLog, AlertQuery, DeliveryQuery, DeliveryRecord, DeliveryStatus};

/// Where the alert log is: a config's `alert_log.url`, or `--url`.
#[derive(Args, Clone)]
pub struct LogArgs {
    /// Config file (its `alert_log.url`, and its sinks for resends).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Alert log url, overriding the config's.
    #[arg(long, global = true)]
    pub url: Option<String>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub action: Option<AlertsAction>,
    #[arg(long)]
    pub template: Option<String>,
    /// fired, suppressed, retracted or dead.
    #[arg(long)]
    pub status: Option<String>,
    /// Only alerts decided within this long, e.g. `1h`, `30m`.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum AlertsAction {
    /// Dead deliveries with their last error.
    Dead {
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Send dead deliveries again (by delivery or alert id, or all).
    Resend {
        ids: Vec<String>,
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        #[arg(long)]
        channel: Option<String>,
        /// Only requeue: a running host sends them within its poll interval.
        #[arg(long)]
        queue_only: bool,
        /// Longest time spent sending before giving up (the rest stay queued).
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        wait: Duration,
    },
}

fn load(path: Option<&Path>) -> Result<Option<ValidConfig>> {
    path.map(|p| config::load_file(p).map_err(anyhow::Error::from)).transpose()
}

async fn open(args: &LogArgs, config: Option<&ValidConfig>) -> Result<AlertLog> {
    let url = match (&args.url, config) {
        (Some(url), _) => url.clone(),
        (None, Some(c)) => c.raw().alert_log.url.clone(),
        (None, None) => klaxon::store::AlertLogConfig::default().url,
    };
    Ok(AlertLog::open(&url).await?)
}

pub async fn alerts(args: AlertsArgs) -> Result<ExitCode> {
    let config = load(args.log.config.as_deref())?;
    let log = open(&args.log, config.as_ref()).await?;
    match args.action {
        Some(AlertsAction::Dead { channel, json }) => dead(&log, channel, json).await,
        Some(AlertsAction::Resend { ids, all, channel, queue_only, wait }) => {
            if ids.is_empty() && !all {
                bail!("name delivery or alert ids, or pass --all");
            }
            resend(&log, config.as_ref(), &ids, channel, queue_only, wait).await
        }
        None if args.status.as_deref() == Some("dead") => dead(&log, None, args.json).await,
        None => list(&log, &args).await,
    }
}

async fn list(log: &AlertLog, args: &AlertsArgs) -> Result<ExitCode> {
    let (status, retracted) = match args.status.as_deref() {
        None => (None, false),
        Some(s) => AlertQuery::status_filter(s).with_context(|| {
            format!("--status {s}: expected fired, suppressed, retracted or dead")
        })?,
    };
    let since_ms = args.since.map(|d| SystemClock.now_ms().saturating_sub(d.as_millis() as u64));
    let q = AlertQuery {
        template: args.template.clone(),
        status,
        retracted,
        since_ms,
        limit: args.limit,
    };
    for r in log.query(&q).await? {
        if args.json {
            let json = r.to_json();
            println!("{json}");
        } else {
            let time = humantime::format_rfc3339_millis(
                std::time::UNIX_EPOCH + Duration::from_millis(r.decided_at_ms),
            );
            let status = if r.retracted { "retracted" } else { r.status.as_str() };
            let reason = r.reason.map(|r| format!(" ({r})")).unwrap_or_default();
            println!(
                "{time} {status:<10} [{}] {} {} {}{reason}  {}",
                r.template,
                r.alert_key,
                r.severity.as_str(),
                r.title,
                r.id.0
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn dead(log: &AlertLog, channel: Option<String>, json: bool) -> Result<ExitCode> {
    let q = DeliveryQuery { status: Some(DeliveryStatus::Dead), channel, ..Default::default() };
    for d in log.deliveries(&q).await? {
        print_delivery(&d, json);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_delivery(d: &DeliveryRecord, json: bool) {
    if json {
        let value = serde_json::json!({
            "delivery_id": d.out.delivery_id, "alert_id": d.out.alert_id, "channel": d.channel,
            "action": d.out.action, "template": d.out.template, "key": d.out.alert_key,
            "status": d.status.as_str(), "attempts": d.attempts, "last_error": d.last_error,
            "title": d.out.title,
        });
        println!("{value}");
    } else {
        println!(
            "{} {:<10} {} [{}] {} attempts={} error: {}",
            d.out.delivery_id,
            d.channel,
            d.out.action.as_str(),
            d.out.template,
            d.out.alert_key,
            d.attempts,
            d.last_error.as_deref().unwrap_or("-")
        );
    }
}

async fn resend(
    log: &AlertLog,
    config: Option<&ValidConfig>,
    ids: &[String],
    channel: Option<String>,
    queue_only: bool,
    wait: Duration,
) -> Result<ExitCode> {
    let q = DeliveryQuery {
        status: Some(DeliveryStatus::Dead),
        channel: channel.clone(),
        ..Default::default()
    };
    let mut channels: Vec<String> = log
        .deliveries(&q)
        .await?
        .into_iter()
        .filter(|d| {
            ids.is_empty() || ids.contains(&d.out.delivery_id) || ids.contains(&d.out.alert_id)
        })
        .map(|d| d.channel)
        .collect();
    channels.sort();
    channels.dedup();
    let requeued = log.resend(ids, channel.as_deref()).await?;
    println!("requeued {requeued} dead deliveries");
    if queue_only || requeued == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let config = config.context("sending needs --config (for the sinks); or pass --queue-only")?;
    let mut ok = true;
    for name in channels {
        let Some(sink) = config.raw().sinks.get(&name) else {
            println!("{name}: no such sink in the config; left queued");
            ok = false;
            continue;
        };
        let remote = match sink.build_remote(&process_env) {
            Some(Ok(remote)) => Arc::new(remote),
            Some(Err(e)) => bail!("sink `{name}`: {e}"),
            None => continue,
        };
        let options = sink.delivery().cloned().unwrap_or_default();
        let s = klaxon::deliver::drain_channel(&name, remote, log.clone(), options, wait).await;
        println!("{name}: sent {}, dead {}", s.sent, s.dead);
        ok &= s.dead == 0;
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `klaxon sink test NAME`: one test message, and the service's answer.
pub async fn sink_test(config_path: &Path, name: &str) -> Result<ExitCode> {
    let config = config::load_file(config_path)?;
    let sink = config.raw().sinks.get(name).with_context(|| format!("no sink named `{name}`"))?;
    let remote = match sink.build_remote(&process_env) {
        Some(r) => r.map_err(|e| anyhow::anyhow!("sink `{name}`: {e}"))?,
        None => bail!("sink `{name}` is a local {} sink; nothing to test", sink.kind()),
    };
    let now = SystemClock.now_ms();
    let out = Outgoing {
        delivery_id: format!("test-{now}"),
        alert_id: format!("test-{now}"),
        template: "klaxon-sink-test".into(),
        alert_key: name.to_owned(),
        severity: klaxon::alert::Severity::Info,
        action: Action::Trigger,
        title: "Klaxon test message".into(),
        body: format!("Klaxon test message for sink {name}"),
        markup: klaxon::alert::Markup::Plain,
        fields: Vec::new(),
        event_time_ms: now,
        alerts: 1,
        versions: Default::default(),
    };
    match remote.send(&out).await {
        Attempt::Sent { message_id } => {
            println!("{name}: sent (message id {})", message_id.as_deref().unwrap_or("-"));
            Ok(ExitCode::SUCCESS)
        }
        Attempt::Throttled { error, after } => {
            println!("{name}: throttled: {error} (retry after {after:?})");
            Ok(ExitCode::FAILURE)
        }
        Attempt::Failed { error, .. } => {
            println!("{name}: failed: {error}");
            Ok(ExitCode::FAILURE)
        }
        Attempt::Rejected { error } => {
            println!("{name}: rejected: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
