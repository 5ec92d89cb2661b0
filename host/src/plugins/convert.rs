//! Conversions between Klaxon's types and the generated WIT types.
//!
//! Decimals become `f64` here and only here: past this point values are
//! compared against thresholds and displayed, never summed into balances.

use rust_decimal::Decimal;

use crate::alert::{Decision, History, Markup, Message, Pass, Severity, TemplateId};
use crate::event::{Direction, Event, EventKind, Side};
use crate::market::Snapshot;

use super::bindings::wit;
use super::bindings::wit::Columns as ColumnSet;

pub(crate) fn f(d: Decimal) -> f64 {
    crate::event::dec_to_f64(d)
}

fn opt_f(d: Option<Decimal>) -> Option<f64> {
    d.map(f)
}

pub(crate) fn kind(k: EventKind) -> wit::EventKind {
    match k {
        EventKind::Trade => wit::EventKind::Trade,
        EventKind::Swap => wit::EventKind::Swap,
        EventKind::PerpFill => wit::EventKind::PerpFill,
        EventKind::Liquidation => wit::EventKind::Liquidation,
        EventKind::BookTop => wit::EventKind::BookTop,
    }
}

pub(crate) fn side(s: Side) -> wit::Side {
    match s {
        Side::Buy => wit::Side::Buy,
        Side::Sell => wit::Side::Sell,
        Side::Unknown => wit::Side::Unknown,
    }
}

pub(crate) fn direction(d: Direction) -> wit::Direction {
    match d {
        Direction::None => wit::Direction::None,
        Direction::OpenLong => wit::Direction::OpenLong,
        Direction::CloseLong => wit::Direction::CloseLong,
        Direction::OpenShort => wit::Direction::OpenShort,
        Direction::CloseShort => wit::Direction::CloseShort,
    }
}

/// The single-event record; the two per-event strings cross only when
/// the rule declared their columns, exactly as in a batch.
pub(crate) fn event(e: &Event, columns: ColumnSet) -> wit::Event {
    wit::Event {
        id: if columns.contains(ColumnSet::EVENT_ID) { e.id.clone() } else { String::new() },
        kind: kind(e.kind),
        venue_id: e.venue.id(),
        symbol_id: e.symbol.id(),
        account_id: e.account.map_or(0, |a| a.id()),
        price: f(e.price),
        size: f(e.size),
        notional_usd: opt_f(e.notional_usd),
        side: side(e.side),
        direction: direction(e.direction),
        closed_pnl: opt_f(e.closed_pnl),
        exchange_time_ms: e.exchange_time_ms,
        tx_hash: if columns.contains(ColumnSet::TX_HASH) { e.tx_hash.clone() } else { None },
    }
}

/// The interned ids of `e` (venue, symbol, account): what `host.name` may
/// resolve during a call about it.
pub(crate) fn event_ids(e: &Event) -> impl Iterator<Item = u32> {
    [Some(e.venue.id()), Some(e.symbol.id()), e.account.map(|a| a.id())].into_iter().flatten()
}

/// The event behind an alert, with names, for cooldowns and formatters.
pub(crate) fn alert_event(e: &Event) -> wit::AlertEvent {
    wit::AlertEvent {
        id: e.id.clone(),
        kind: kind(e.kind),
        venue: e.venue.name().to_string(),
        symbol: e.symbol.name().to_string(),
        price: f(e.price),
        size: f(e.size),
        notional_usd: opt_f(e.notional_usd),
        side: side(e.side),
        account: e.account.map(|a| a.name().to_string()),
        tx_hash: e.tx_hash.clone(),
        exchange_time_ms: e.exchange_time_ms,
        direction: direction(e.direction),
        closed_pnl: opt_f(e.closed_pnl),
    }
}

pub(crate) fn missing(m: &Snapshot) -> wit::MissingFields {
    use crate::market::Missing;
    let flags = [
        (Missing::LAST_PRICE, wit::MissingFields::LAST_PRICE),
        (Missing::WINDOW_1M, wit::MissingFields::WINDOW_1M),
        (Missing::WINDOW_5M, wit::MissingFields::WINDOW_5M),
        (Missing::WINDOW_1H, wit::MissingFields::WINDOW_1H),
        (Missing::BEST_BID, wit::MissingFields::BEST_BID),
        (Missing::BEST_ASK, wit::MissingFields::BEST_ASK),
    ];
    flags
        .into_iter()
        .filter(|(host, _)| m.missing.contains(*host))
        .fold(wit::MissingFields::empty(), |acc, (_, flag)| acc | flag)
}

pub(crate) fn market(m: &Snapshot) -> wit::Market {
    let w = |s: &crate::market::WindowStats| wit::WindowStats {
        change_pct: s.change_pct,
        volume_usd: s.volume_usd,
        trades: s.trades,
    };
    wit::Market {
        last_price: m.last_price,
        window_1m: w(&m.w1m),
        window_5m: w(&m.w5m),
        window_1h: w(&m.w1h),
        best_bid: m.best_bid,
        best_ask: m.best_ask,
        missing: missing(m),
    }
}

pub(crate) fn severity_to_wit(s: Severity) -> wit::Severity {
    match s {
        Severity::Info => wit::Severity::Info,
        Severity::Warning => wit::Severity::Warning,
        Severity::Critical => wit::Severity::Critical,
    }
}

pub(crate) fn severity(s: wit::Severity) -> Severity {
    match s {
        wit::Severity::Info => Severity::Info,
        wit::Severity::Warning => Severity::Warning,
        wit::Severity::Critical => Severity::Critical,
    }
}

pub(crate) fn pass(p: wit::Pass) -> Pass {
    Pass {
        alert_key: p.alert_key,
        severity: severity(p.severity),
        value: p.value,
        title: p.title,
        fields: p.fields.into_iter().map(|f| (f.name, f.value)).collect(),
    }
}

/// The alert as cooldowns and formatters see it.
pub(crate) fn alert(template: &TemplateId, p: &Pass, severity: Severity, ev: &Event) -> wit::Alert {
    wit_alert(template, &p.alert_key, severity, p.value, &p.title, &p.fields, ev)
}

/// A decided alert as formatters see it, copied once from its own fields.
pub(crate) fn alert_of(a: &crate::alert::Alert) -> wit::Alert {
    wit_alert(&a.template, &a.key, a.severity, a.value, &a.title, &a.fields, &a.event)
}

fn wit_alert(
    template: &TemplateId,
    key: &str,
    severity: Severity,
    value: f64,
    title: &str,
    fields: &[(String, String)],
    ev: &Event,
) -> wit::Alert {
    wit::Alert {
        template: template.to_string(),
        alert_key: key.to_owned(),
        severity: severity_to_wit(severity),
        value,
        title: title.to_owned(),
        fields: fields
            .iter()
            .map(|(n, v)| wit::Field { name: n.clone(), value: v.clone() })
            .collect(),
        event: alert_event(ev),
    }
}

pub(crate) fn history(h: &History) -> wit::History {
    wit::History {
        last_fired_ms: h.last_fired_ms,
        last_value: h.last_value,
        last_severity: h.last_severity.map(severity_to_wit),
        fires: h.fires,
        suppressed_since_fire: h.suppressed_since_fire,
    }
}

pub(crate) fn decision(d: wit::Decision) -> Decision {
    match d {
        wit::Decision::Fire(s) => Decision::Fire(severity(s)),
        wit::Decision::Suppress(reason) => Decision::Suppress(reason),
    }
}

pub(crate) fn message(m: wit::Message) -> Message {
    let markup = match m.markup {
        wit::Markup::Plain => Markup::Plain,
        wit::Markup::MarkdownV2 => Markup::MarkdownV2,
        wit::Markup::Markdown => Markup::Markdown,
        wit::Markup::Html => Markup::Html,
    };
    Message { title: m.title, body: m.body, markup }
}
