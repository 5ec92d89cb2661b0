//! `AlertRecord`: one row of the alert log, as written and as read back.
//!
//! Built from an [`Alert`] by the writer as soon as the alert arrives, so the
//! writer holds plain rows rather than `Arc`s into the pipeline. Keys and
//! texts are bounded here, once (`bound.rs`), so what a plugin chose cannot
//! exceed what the database stores.

use serde::Serialize;
use serde::ser::SerializeMap;

use super::bound;
use crate::alert::{Alert, AlertId, Severity, TemplateId};

/// Whether the cooldown policy let the alert through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertStatus {
    Fired,
    Suppressed,
}

impl AlertStatus {
    /// The `status` column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Fired => "fired",
            AlertStatus::Suppressed => "suppressed",
        }
    }

    pub fn parse(s: &str) -> Option<AlertStatus> {
        match s {
            "fired" => Some(AlertStatus::Fired),
            "suppressed" => Some(AlertStatus::Suppressed),
            _ => None,
        }
    }
}

/// One row of the `alert_log` table.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: AlertId,
    pub template: TemplateId,
    pub alert_key: String,
    pub status: AlertStatus,
    /// The suppression reason; `None` when fired.
    pub reason: Option<String>,
    pub severity: Severity,
    /// `None` when the filter reported NaN.
    pub value: Option<f64>,
    pub title: String,
    /// The alert's fields as a JSON object, in the filter's order.
    pub fields: String,
    pub event_id: String,
    pub venue: String,
    pub symbol: String,
    /// `EventKind::as_str`, e.g. `trade`, `perp-fill`.
    pub kind: String,
    pub exchange_time_ms: u64,
    pub decided_at_ms: u64,
    /// Marked later for alerts whose event was reorged away.
    pub retracted: bool,
    /// When the row was written (host wall clock); `None` until it is.
    pub created_at_ms: Option<u64>,
    /// The filter, cooldown and formatter versions that made the alert.
    pub versions: crate::alert::PluginVersions,
    /// The suppression reason's bounded code (`alert::reason_code`).
    pub reason_code: Option<String>,
    /// The history the decision saw, and who made it.
    pub trace: crate::alert::DecisionTrace,
}

impl AlertRecord {
    pub fn from_alert(alert: &Alert) -> AlertRecord {
        let event = &alert.event;
        AlertRecord {
            id: AlertId(bound::clean(&alert.id.0).into_owned()),
            template: TemplateId::new(&bound::clean(alert.template.as_str())),
            alert_key: bound::key(&alert.key).into_owned(),
            status: if alert.fired() { AlertStatus::Fired } else { AlertStatus::Suppressed },
            reason: alert
                .suppress_reason()
                .map(|r| bound::text(r, bound::MAX_REASON_BYTES).into_owned()),
            severity: alert.severity,
            value: (!alert.value.is_nan()).then_some(alert.value),
            title: bound::text(&alert.title, bound::MAX_TITLE_BYTES).into_owned(),
            fields: fields_json(&bound::fields(&alert.fields)),
            event_id: bound::key(&event.id).into_owned(),
            venue: bound::clean(&event.venue.name()).into_owned(),
            symbol: bound::clean(&event.symbol.name()).into_owned(),
            kind: event.kind.as_str().to_owned(),
            exchange_time_ms: event.exchange_time_ms,
            decided_at_ms: alert.decided_at_ms,
            retracted: false,
            created_at_ms: None,
            versions: (*alert.versions).clone(),
            reason_code: alert.suppress_reason().map(|r| crate::alert::reason_code(r).to_owned()),
            trace: alert.trace.clone(),
        }
    }
}

impl AlertRecord {
    /// The row as the admin API, its live feed and `klaxon alerts --json`
    /// show it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id.0, "template": self.template.as_str(), "key": self.alert_key,
            "status": self.status.as_str(), "reason": self.reason, "reason_code": self.reason_code,
            "severity": self.severity, "value": self.value, "title": self.title,
            "fields": serde_json::from_str::<serde_json::Value>(&self.fields).unwrap_or_default(),
            "event_id": self.event_id, "venue": self.venue, "symbol": self.symbol,
            "kind": self.kind, "exchange_time_ms": self.exchange_time_ms,
            "decided_at_ms": self.decided_at_ms, "retracted": self.retracted,
            "versions": self.versions, "decided_by": self.trace.by.as_str(),
        })
    }
}

/// `[("notional", "$1.2M"), ("price", "61234.5")]` as
/// `{"notional":"$1.2M","price":"61234.5"}`, keeping order (a JSON object is
/// what `fields::jsonb ->> 'notional'` queries want).
fn fields_json(fields: &[(String, String)]) -> String {
    struct Fields<'a>(&'a [(String, String)]);
    impl Serialize for Fields<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }
    serde_json::to_string(&Fields(fields)).expect("string pairs always serialize")
}

/// Parse a `severity` column value.
pub(crate) fn parse_severity(s: &str) -> Option<Severity> {
    [Severity::Info, Severity::Warning, Severity::Critical].into_iter().find(|v| v.as_str() == s)
}

/// Rows per status, from [`AlertLog::count_by_status`](crate::store::AlertLog::count_by_status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub fired: u64,
    pub suppressed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_order_and_escape() {
        let fields = vec![("z".to_owned(), "1".to_owned()), ("a\"".to_owned(), "x\ny".to_owned())];
        assert_eq!(fields_json(&fields), r#"{"z":"1","a\"":"x\ny"}"#);
        assert_eq!(fields_json(&[]), "{}");
    }

    #[test]
    fn severity_round_trips() {
        for s in [Severity::Info, Severity::Warning, Severity::Critical] {
            assert_eq!(parse_severity(s.as_str()), Some(s));
        }
        assert_eq!(parse_severity("loud"), None);
    }
}
