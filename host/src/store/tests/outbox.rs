//! The outbox on both backends: queue order, idempotent enqueue, state
//! changes, dead letters and resends, resolves queued behind triggers.

use super::TestDb;
use crate::sinks::remote::Action;
use crate::sinks::tests::delivery;
use crate::store::{
    AlertLog, AlertQuery, AlertRecord, AlertStatus, DeliveryQuery, DeliveryRecord, DeliveryStatus,
};

on_both_backends!(
    queue_is_ordered_and_enqueue_is_idempotent,
    sent_rows_are_never_due_again,
    dead_rows_are_listed_and_resent,
    resolves_queue_behind_resolvable_triggers,
    held_rows_are_released_by_their_time,
    alerts_are_queried_with_versions_and_pruned,
);

fn rows(n: u32, channel: &str, resolvable: bool) -> Vec<DeliveryRecord> {
    (0..n)
        .map(|i| DeliveryRecord::pending(&delivery(i, &format!("t{i}"), "b"), channel, resolvable))
        .collect()
}

async fn queue_is_ordered_and_enqueue_is_idempotent(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let rows = rows(5, "tg", false);
    assert_eq!(log.enqueue(&rows).await.unwrap(), 5);
    assert_eq!(log.enqueue(&rows).await.unwrap(), 0, "same ids: nothing new");
    let due = log.due("tg", 10).await.unwrap();
    let titles: Vec<&str> = due.iter().map(|r| r.out.title.as_str()).collect();
    assert_eq!(titles, ["t0", "t1", "t2", "t3", "t4"]);
    assert_eq!(due[0], rows[0], "a row reads back as written");
    assert!(log.due("other", 10).await.unwrap().is_empty());
    assert_eq!(log.due("tg", 2).await.unwrap().len(), 2);
}

async fn sent_rows_are_never_due_again(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let rows = rows(3, "tg", false);
    log.enqueue(&rows).await.unwrap();
    let ids = [rows[0].out.delivery_id.clone(), rows[1].out.delivery_id.clone()];
    log.mark(&ids, DeliveryStatus::Sent, 0, None, Some("42")).await.unwrap();
    // A late failure report cannot undo `sent`.
    log.mark(&ids[..1], DeliveryStatus::Failed, 1, Some("x"), None).await.unwrap();
    let due = log.due("tg", 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].out.delivery_id, rows[2].out.delivery_id);
    let sent = log
        .deliveries(&DeliveryQuery { status: Some(DeliveryStatus::Sent), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| r.message_id.as_deref() == Some("42")));
    // The second row went out in the first one's message.
    let folded: Vec<_> = sent.iter().filter_map(|r| r.folded_into.clone()).collect();
    assert_eq!(folded, [ids[0].clone()]);
}

async fn dead_rows_are_listed_and_resent(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let mut all = rows(2, "hook", false);
    all.extend(rows(1, "tg", false));
    log.enqueue(&all).await.unwrap();
    let ids: Vec<String> = all.iter().map(|r| r.out.delivery_id.clone()).collect();
    log.mark(&ids, DeliveryStatus::Dead, 3, Some("HTTP 500: boom"), None).await.unwrap();
    let dead = log
        .deliveries(&DeliveryQuery { status: Some(DeliveryStatus::Dead), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(dead.len(), 3);
    assert!(
        dead.iter().all(|r| r.last_error.as_deref() == Some("HTTP 500: boom") && r.attempts == 3)
    );
    assert!(log.due("hook", 10).await.unwrap().is_empty());
    // By alert id, on one channel only.
    assert_eq!(log.resend(&[all[0].out.alert_id.clone()], Some("hook")).await.unwrap(), 1);
    assert_eq!(log.due("hook", 10).await.unwrap().len(), 1);
    assert_eq!(log.resend(&[], Some("hook")).await.unwrap(), 1);
    assert_eq!(log.due("hook", 10).await.unwrap().len(), 2);
    assert_eq!(log.due("hook", 10).await.unwrap()[0].attempts, 0, "a resend gets a fresh budget");
    assert_eq!(log.resend(&[], None).await.unwrap(), 1);
    assert_eq!(log.due("tg", 10).await.unwrap().len(), 1);
}

async fn resolves_queue_behind_resolvable_triggers(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let mut all = rows(2, "pd", true);
    all.extend(rows(2, "tg", false));
    log.enqueue(&all).await.unwrap();
    let event = all[0].event_id.clone();
    assert_eq!(log.enqueue_resolves(&event).await.unwrap(), 1);
    assert_eq!(log.enqueue_resolves(&event).await.unwrap(), 0, "one resolve per trigger");
    let due = log.due("pd", 10).await.unwrap();
    assert_eq!(due.len(), 3);
    assert_eq!(due[2].out.action, Action::Resolve, "after every earlier trigger");
    assert_eq!(due[2].out.alert_id, all[0].out.alert_id);
    assert_ne!(due[2].out.delivery_id, all[0].out.delivery_id);
    assert_eq!(log.due("tg", 10).await.unwrap().len(), 2, "no resolve for Telegram");
}

async fn held_rows_are_released_by_their_time(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let mut all = rows(3, "tg", false);
    for (i, r) in all.iter_mut().enumerate() {
        r.status = DeliveryStatus::Held;
        r.hold_until = Some(1_000 * (i as u64 + 1));
        r.last_error = Some("held: over owner `alice`'s cap".into());
    }
    log.enqueue(&all).await.unwrap();
    assert!(log.due("tg", 10).await.unwrap().is_empty(), "held rows are not due");
    let released = log.released("tg", 2_000, 10).await.unwrap();
    assert_eq!(released.len(), 2);
    assert_eq!(released[0].hold_until, Some(1_000));
    assert_eq!(released[0].status, DeliveryStatus::Held);
    assert_eq!(log.released("tg", u64::MAX >> 2, 10).await.unwrap().len(), 3);
}

async fn alerts_are_queried_with_versions_and_pruned(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let mut records: Vec<AlertRecord> =
        (0..4).map(|i| AlertRecord::from_alert(&delivery(i, "t", "b").alert)).collect();
    records[0].versions.filter = Some("amount-threshold@0123456789ab".into());
    records[3].status = AlertStatus::Suppressed;
    records[3].reason = Some("cooldown".into());
    log.write(&records).await.unwrap();
    let all = log.query(&AlertQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 4);
    let first = all.iter().find(|r| r.id == records[0].id).unwrap();
    assert_eq!(first.versions.filter.as_deref(), Some("amount-threshold@0123456789ab"));
    let q = AlertQuery {
        template: Some("whale-trades".into()),
        status: Some(AlertStatus::Suppressed),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(log.query(&q).await.unwrap().len(), 1);
    let q = AlertQuery { retracted: true, limit: 10, ..Default::default() };
    assert!(log.query(&q).await.unwrap().is_empty());
    let q = AlertQuery { since_ms: Some(u64::MAX >> 2), limit: 10, ..Default::default() };
    assert!(log.query(&q).await.unwrap().is_empty());
    // Suppressed rows go first (shorter retention); fired ones stay.
    let pruned = log.prune(None, Some(u64::MAX >> 2)).await.unwrap();
    assert_eq!(pruned.alerts, 1);
    let counts = log.count_by_status().await.unwrap();
    assert_eq!((counts.fired, counts.suppressed), (3, 0));
    let pruned = log.prune(Some(u64::MAX >> 2), None).await.unwrap();
    assert_eq!(pruned.alerts, 3);
}
