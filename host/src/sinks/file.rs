//! The file sink: one JSON object per alert, one per line (NDJSON), appended
//! to a file, for archives, golden replay outputs and `jq`.
//!
//! Each line is a [`FileRecord`], which also deserializes, so readers (tests,
//! replay checks) parse the same type the sink writes. The file is opened in
//! append mode and created if missing; its directory must exist. Each batch
//! is flushed as it is written and the file once more when the channel
//! closes, so a closed sink has handed every line to the OS.

use std::path::PathBuf;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio::fs::OpenOptions;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::alert::{Delivery, Markup, Severity};
use crate::event::{EventKind, Side};
use crate::issue::ConfigIssue;
use crate::sinks::{MAX_BATCH, SinkError, SinkSummary, count, next_batch};

/// Append each alert as a JSON line to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// File to append to, e.g. `"alerts.ndjson"`. Created if missing; its
    /// directory must exist.
    pub path: PathBuf,
}

impl FileConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if self.path.as_os_str().is_empty() {
            issues.push(ConfigIssue::new(format!("{path}.path"), "must not be empty"));
        } else if self.path.is_dir() {
            issues.push(ConfigIssue::new(
                format!("{path}.path"),
                format!("`{}` is a directory, expected a file", self.path.display()),
            ));
        }
        issues
    }
}

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// `AlertId`: stable across replays.
    pub id: String,
    pub template: String,
    /// The alert key.
    pub key: String,
    pub severity: Severity,
    /// `null` when not finite (JSON has no NaN).
    pub value: Option<f64>,
    pub title: String,
    /// The alert's fields as a JSON object, in the filter's order.
    #[serde(with = "fields_object")]
    pub fields: Vec<(String, String)>,
    pub decided_at_ms: u64,
    pub channels: Vec<String>,
    pub message: MessageRecord,
    pub event: EventSummary,
}

/// The rendered message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub title: String,
    pub body: String,
    pub markup: Markup,
}

/// What raised the alert. Decimals are strings, so they stay exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: String,
    pub kind: EventKind,
    pub venue: String,
    /// The instrument's identity (a DEX swap's holds its address).
    pub symbol: String,
    /// A DEX swap's ticker (`PEPE/WETH`) and token address or mint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub exchange_time_ms: u64,
    pub price: Decimal,
    pub size: Decimal,
    pub notional_usd: Option<Decimal>,
    pub side: Side,
    pub account: Option<String>,
    pub tx_hash: Option<String>,
}

impl FileRecord {
    pub fn from_delivery(delivery: &Delivery) -> FileRecord {
        let alert = &delivery.alert;
        let event = &alert.event;
        FileRecord {
            id: alert.id.0.clone(),
            template: alert.template.to_string(),
            key: alert.key.clone(),
            severity: alert.severity,
            value: alert.value.is_finite().then_some(alert.value),
            title: alert.title.clone(),
            fields: alert.fields.clone(),
            decided_at_ms: alert.decided_at_ms,
            channels: delivery.channels.to_vec(),
            message: MessageRecord {
                title: delivery.message.title.clone(),
                body: delivery.message.body.clone(),
                markup: delivery.message.markup,
            },
            event: EventSummary {
                id: event.id.clone(),
                kind: event.kind,
                venue: event.venue.name().to_string(),
                symbol: event.symbol.name().to_string(),
                ticker: event.listing.map(|l| l.ticker.name().to_string()),
                address: event.listing.map(|l| l.address.name().to_string()),
                exchange_time_ms: event.exchange_time_ms,
                price: event.price,
                size: event.size,
                notional_usd: event.notional_usd,
                side: event.side,
                account: event.account.map(|a| a.name().to_string()),
                tx_hash: event.tx_hash.clone(),
            },
        }
    }
}

pub(crate) async fn run(
    config: FileConfig,
    name: String,
    mut rx: mpsc::Receiver<Arc<Delivery>>,
) -> Result<SinkSummary, SinkError> {
    let path = config.path;
    // Opened up front so a bad path fails at start, loudly; later failures
    // (disk full, file removed) cost one batch each, and the file is
    // reopened for the next.
    let mut out = Some(BufWriter::new(open(&path).await.map_err(|source| SinkError::Open {
        name: name.clone(),
        path: path.clone(),
        source,
    })?));
    let mut summary = SinkSummary::default();
    let mut line = Vec::new();
    while let Some(batch) = next_batch(&mut rx, MAX_BATCH).await {
        let written = async {
            let file = match out.as_mut() {
                Some(file) => file,
                None => out.insert(BufWriter::new(open(&path).await?)),
            };
            for delivery in &batch {
                line.clear();
                serde_json::to_writer(&mut line, &FileRecord::from_delivery(delivery))
                    .expect("a FileRecord is strings, numbers and string-keyed maps");
                line.push(b'\n');
                file.write_all(&line).await?;
            }
            // tokio's `File` completes writes in the background; flushing
            // waits for them, so a reader (or a crash) sees whole batches.
            file.flush().await
        }
        .await;
        if let Err(source) = written {
            count(&name, "failed", batch.len());
            out = None;
            tracing::error!(sink = %name, path = %path.display(), lost = batch.len(), error = %source, "File sink cannot write; batch not delivered, reopening for the next.");
            continue;
        }
        count(&name, "delivered", batch.len());
        summary.delivered += batch.len() as u64;
    }
    if let Some(mut file) = out {
        file.shutdown().await.map_err(|source| SinkError::Write { name, path, lost: 0, source })?;
    }
    Ok(summary)
}

async fn open(path: &std::path::Path) -> std::io::Result<tokio::fs::File> {
    OpenOptions::new().create(true).append(true).open(path).await
}

/// `Vec<(String, String)>` as a JSON object, keeping order on both ways.
mod fields_object {
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(fields: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(fields.len()))?;
        for (k, v) in fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(pairs)
            }
        }
        d.deserialize_map(Pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Markup;
    use crate::sinks::tests::delivery;

    async fn run_file_sink(path: &std::path::Path, deliveries: Vec<Delivery>) -> SinkSummary {
        let (tx, rx) = mpsc::channel(16);
        let task = tokio::spawn(run(FileConfig { path: path.to_owned() }, "archive".into(), rx));
        for d in deliveries {
            tx.send(Arc::new(d)).await.unwrap();
        }
        drop(tx);
        task.await.unwrap().unwrap()
    }

    fn read_records(path: &std::path::Path) -> Vec<FileRecord> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    #[tokio::test]
    async fn lines_parse_back_into_what_was_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let mut html = delivery(2, "Whale <b>buy</b>", "line one\nline two");
        html.message.markup = Markup::Html;
        let deliveries = vec![delivery(1, "Whale buy", "notional=$1.20M"), html];
        let summary = run_file_sink(&path, deliveries.clone()).await;
        assert_eq!(summary.delivered, 2);

        let records = read_records(&path);
        let expected: Vec<FileRecord> = deliveries.iter().map(FileRecord::from_delivery).collect();
        assert_eq!(records, expected);
        let second = &records[1];
        assert_eq!(second.message.body, "line one\nline two");
        assert_eq!(second.message.markup, Markup::Html);
        assert_eq!(second.fields[0], ("notional".to_owned(), "$1.20M".to_owned()));
        assert_eq!(second.event.price.to_string(), "61234.5");
        assert_eq!(second.event.exchange_time_ms, 1_633_912_112_125);
    }

    #[tokio::test]
    async fn json_keeps_field_order_and_decimals_as_strings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let mut d = delivery(1, "t", "b");
        Arc::make_mut(&mut d.alert).value = f64::NAN;
        run_file_sink(&path, vec![d]).await;
        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(json["fields"].to_string(), r#"{"notional":"$1.20M","price":"61234.5"}"#);
        assert_eq!(json["event"]["price"], "61234.5");
        assert_eq!(json["severity"], "critical");
        assert_eq!(json["value"], serde_json::Value::Null);
        assert_eq!(json["event"]["kind"], "trade");
    }

    #[tokio::test]
    async fn appends_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        run_file_sink(&path, vec![delivery(1, "a", "b")]).await;
        run_file_sink(&path, vec![delivery(2, "c", "d"), delivery(3, "e", "f")]).await;
        let ids: Vec<u64> =
            read_records(&path).iter().map(|r| r.event.exchange_time_ms % 1000).collect();
        assert_eq!(ids, [124, 125, 126]);
    }

    #[tokio::test]
    async fn a_missing_directory_is_an_error_naming_sink_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/alerts.ndjson");
        let (_tx, rx) = mpsc::channel(1);
        let err = run(FileConfig { path: path.clone() }, "archive".into(), rx).await.unwrap_err();
        assert_eq!(err.to_string(), format!("sink `archive`: cannot open `{}`", path.display()));
    }

    #[test]
    fn validate_rejects_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let issues = FileConfig { path: dir.path().to_owned() }.validate("sinks.archive");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "sinks.archive.path");
    }
}
