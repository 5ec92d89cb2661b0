//! Folding: when a destination's budget is spent and several alerts wait,
//! they go out as one message ("5 alerts") instead of queueing behind each
//! other for minutes. Nothing is dropped: every folded row is marked sent
//! with the message that carried it (`folded_into`), and the message says
//! how many alerts it holds.

use crate::alert::{Markup, Message, Severity};
use crate::sinks::remote::{Action, Outgoing, text_of};
use crate::store::{DeliveryRecord, bound};

/// The leading rows of `due` that can share one message: same markup, same
/// action (a resolve is never folded with triggers).
pub(super) fn foldable(due: Vec<DeliveryRecord>) -> Vec<DeliveryRecord> {
    let Some(first) = due.first() else { return due };
    let (markup, action) = (first.out.markup, first.out.action);
    due.into_iter().take_while(|r| r.out.markup == markup && r.out.action == action).collect()
}

/// The message for `group`: the row's own for one, a digest for several.
pub(super) fn message(group: &[DeliveryRecord]) -> Outgoing {
    if group.len() == 1 {
        return group[0].out.clone();
    }
    digest(group, None, None)
}

/// One message for every row of `group`, headed "N alerts" and `note`;
/// past `max_items` rows the rest are counted, not listed.
pub(super) fn digest(
    group: &[DeliveryRecord],
    note: Option<&str>,
    max_items: Option<usize>,
) -> Outgoing {
    let first = &group[0].out;
    let n = group.len();
    let severity = group.iter().map(|r| r.out.severity).max().unwrap_or(Severity::Info);
    let heading = match (first.markup, first.action) {
        (Markup::Html, Action::Trigger) => format!("<b>{n} alerts</b>"),
        (Markup::MarkdownV2, Action::Trigger) => format!("*{n} alerts*"),
        (Markup::Markdown, Action::Trigger) => format!("**{n} alerts**"),
        (_, Action::Trigger) => format!("{n} alerts"),
        (_, Action::Resolve) => format!("{n} alerts resolved"),
    };
    let mut body = match note {
        Some(note) => format!("{heading} ({note})"),
        None => heading,
    };
    let listed = max_items.unwrap_or(usize::MAX).max(1);
    for r in group.iter().take(listed) {
        body.push_str("\n\n");
        body.push_str(&text_of(&r.out));
    }
    if n > listed {
        // MarkdownV2 needs its `.`s escaped; the others take it as is.
        let dots = if first.markup == Markup::MarkdownV2 { "\\.\\.\\." } else { "..." };
        body.push_str(&format!("\n\n{dots}and {} more", n - listed));
    }
    Outgoing {
        title: format!("{n} alerts"),
        body,
        severity,
        fields: Vec::new(),
        alerts: n as u32,
        ..first.clone()
    }
}

/// One message for every row of `group`, as a formatter wrote it (a
/// window's `format-digest`): its text, the group's highest severity and
/// count, and the first row's ids.
pub(super) fn formatted(group: &[DeliveryRecord], message: Message) -> Outgoing {
    let first = &group[0].out;
    let severity = group.iter().map(|r| r.out.severity).max().unwrap_or(Severity::Info);
    Outgoing {
        title: bound::text(&message.title, bound::MAX_TITLE_BYTES).into_owned(),
        body: bound::text(&message.body, bound::MAX_BODY_BYTES).into_owned(),
        markup: message.markup,
        severity,
        fields: Vec::new(),
        alerts: group.len() as u32,
        ..first.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::tests::delivery;

    fn row(n: u32, markup: Markup) -> DeliveryRecord {
        let mut d = delivery(n, &format!("t{n}"), &format!("body {n}"));
        d.message.markup = markup;
        DeliveryRecord::pending(&d, "chat", false)
    }

    #[test]
    fn several_rows_become_one_counted_message() {
        let rows = vec![row(1, Markup::MarkdownV2), row(2, Markup::MarkdownV2)];
        let m = message(&rows);
        assert_eq!(m.alerts, 2);
        assert_eq!(m.body, "*2 alerts*\n\nbody 1\n\nbody 2");
        assert_eq!(m.delivery_id, rows[0].out.delivery_id);
    }

    #[test]
    fn only_a_run_of_one_markup_folds() {
        let rows = vec![row(1, Markup::Html), row(2, Markup::Html), row(3, Markup::Plain)];
        assert_eq!(foldable(rows).len(), 2);
    }
}
