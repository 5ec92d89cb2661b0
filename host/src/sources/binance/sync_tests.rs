//! The sync state machine against hand-written diffs: spot `U`/`u` chains,
//! USD-M `pu` chains, stale drops, forced gaps and old snapshots.

use rust_decimal::Decimal;

use super::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn diff(first: u64, last: u64, pu: Option<u64>, bid: (&str, &str)) -> DepthDiff {
    DepthDiff {
        symbol: "BTCUSDT".into(),
        first_id: first,
        last_id: last,
        prev_last_id: pu,
        time_ms: last,
        bids: vec![(d(bid.0), d(bid.1))],
        asks: vec![],
    }
}

fn snapshot(last: u64) -> DepthSnapshot {
    DepthSnapshot {
        last_update_id: last,
        bids: vec![(d("100"), d("1"))],
        asks: vec![(d("101"), d("1"))],
    }
}

fn applied_ids(step: &SnapshotStep) -> Vec<u64> {
    match step {
        SnapshotStep::Synced { applied } | SnapshotStep::Resync { applied, .. } => {
            applied.iter().map(|d| d.last_id).collect()
        }
        _ => vec![],
    }
}

#[test]
fn spot_drops_covered_diffs_then_chains_on_u_plus_one() {
    let mut sync = BookSync::new(Rules::Spot);
    assert_eq!(sync.on_diff(diff(95, 98, None, ("99", "1"))), Step::Buffered { fetch: true });
    assert_eq!(sync.on_diff(diff(99, 101, None, ("99", "2"))), Step::Buffered { fetch: false });
    assert_eq!(sync.on_diff(diff(102, 103, None, ("99", "3"))), Step::Buffered { fetch: false });
    // Snapshot at 100: 95..98 dropped; 99..101 covers 101 = last + 1; then 102.
    let step = sync.on_snapshot(&snapshot(100));
    assert_eq!(applied_ids(&step), [101, 103]);
    let book = sync.book().unwrap();
    assert_eq!(
        (book.last_update_id(), book.bids(5)),
        (103, vec![(d("100"), d("1")), (d("99"), d("3"))])
    );
    assert_eq!(sync.on_diff(diff(104, 104, None, ("98", "1"))), Step::Applied);
    assert_eq!(
        sync.on_diff(diff(100, 104, None, ("98", "9"))),
        Step::Stale,
        "u <= book id is dropped"
    );
    assert_eq!(sync.book().unwrap().bids(5)[2], (d("98"), d("1")));
}

#[test]
fn spot_forced_gap_resyncs_and_the_gap_diff_starts_the_new_buffer() {
    let mut sync = BookSync::new(Rules::Spot);
    sync.on_diff(diff(10, 11, None, ("99", "1")));
    assert!(matches!(sync.on_snapshot(&snapshot(10)), SnapshotStep::Synced { .. }));
    assert_eq!(sync.on_diff(diff(12, 12, None, ("99", "2"))), Step::Applied);
    // U = 14 > last u (12) + 1: a diff was lost.
    assert_eq!(sync.on_diff(diff(14, 15, None, ("99", "3"))), Step::Resync(ResyncReason::Gap));
    assert!(sync.book().is_none() && sync.is_buffering());
    assert_eq!(sync.on_diff(diff(16, 16, None, ("98", "1"))), Step::Buffered { fetch: false });
    // A fresh snapshot at 15 syncs again: 14..15 is covered, 16 continues.
    let step = sync.on_snapshot(&snapshot(15));
    assert_eq!(applied_ids(&step), [16]);
    assert_eq!(sync.book().unwrap().last_update_id(), 16);
}

#[test]
fn spot_first_diff_after_the_snapshot_must_cover_last_plus_one() {
    let mut sync = BookSync::new(Rules::Spot);
    sync.on_diff(diff(50, 52, None, ("99", "1")));
    // lastUpdateId 40: the first buffered diff starts at 50 > 41, too old.
    assert_eq!(sync.on_snapshot(&snapshot(40)), SnapshotStep::TooOld);
    assert!(sync.is_buffering(), "buffer kept for the next snapshot");
    assert_eq!(applied_ids(&sync.on_snapshot(&snapshot(49))), [52]);
    // A snapshot nobody asked for is ignored.
    assert_eq!(sync.on_snapshot(&snapshot(60)), SnapshotStep::Unexpected);
}

#[test]
fn spot_snapshot_newer_than_every_buffered_diff_waits_for_the_covering_one() {
    let mut sync = BookSync::new(Rules::Spot);
    sync.on_diff(diff(1, 5, None, ("99", "1")));
    assert_eq!(sync.on_snapshot(&snapshot(7)), SnapshotStep::Synced { applied: vec![] });
    assert_eq!(sync.on_diff(diff(6, 7, None, ("99", "1"))), Step::Stale);
    assert_eq!(
        sync.on_diff(diff(9, 9, None, ("99", "1"))),
        Step::Resync(ResyncReason::Gap),
        "8 is missing"
    );
}

#[test]
fn usdm_first_diff_may_end_at_the_snapshot_and_then_chains_on_pu() {
    let mut sync = BookSync::new(Rules::UsdM);
    sync.on_diff(diff(90, 99, Some(89), ("99", "1")));
    sync.on_diff(diff(100, 110, Some(99), ("99", "2")));
    sync.on_diff(diff(111, 120, Some(110), ("99", "3")));
    // Snapshot 110: u < 110 dropped; 100..110 has U <= 110 <= u and is applied
    // (the USD-M rule keeps u == lastUpdateId); then pu 110 == u 110.
    assert_eq!(applied_ids(&sync.on_snapshot(&snapshot(110))), [110, 120]);
    assert_eq!(sync.on_diff(diff(121, 130, Some(120), ("98", "1"))), Step::Applied);
    // Update ids need not be contiguous on futures; only pu matters.
    assert_eq!(sync.on_diff(diff(140, 150, Some(130), ("98", "2"))), Step::Applied);
    assert_eq!(sync.book().unwrap().last_update_id(), 150);
}

#[test]
fn usdm_pu_break_resyncs() {
    let mut sync = BookSync::new(Rules::UsdM);
    sync.on_diff(diff(100, 110, Some(99), ("99", "1")));
    assert_eq!(applied_ids(&sync.on_snapshot(&snapshot(105))), [110]);
    // pu 115 but the previous u was 110: an event went missing.
    assert_eq!(
        sync.on_diff(diff(116, 120, Some(115), ("99", "2"))),
        Step::Resync(ResyncReason::PuMismatch)
    );
    assert!(sync.book().is_none());
    // A replayed old event while synced is stale, not a break.
    let mut sync = BookSync::new(Rules::UsdM);
    sync.on_diff(diff(100, 110, Some(99), ("99", "1")));
    sync.on_snapshot(&snapshot(105));
    assert_eq!(sync.on_diff(diff(100, 110, Some(99), ("99", "1"))), Step::Stale);
}

#[test]
fn usdm_pu_break_inside_the_buffer_resyncs_after_applying_what_chained() {
    let mut sync = BookSync::new(Rules::UsdM);
    sync.on_diff(diff(100, 110, Some(99), ("99", "1")));
    sync.on_diff(diff(111, 120, Some(110), ("99", "2")));
    sync.on_diff(diff(131, 140, Some(130), ("99", "3")));
    sync.on_diff(diff(141, 150, Some(140), ("99", "4")));
    let step = sync.on_snapshot(&snapshot(105));
    assert_eq!(
        step,
        SnapshotStep::Resync {
            reason: ResyncReason::PuMismatch,
            applied: applied_of(&[(100, 110, 99, "1"), (111, 120, 110, "2")])
        }
    );
    // The breaking diff and what followed it form the new buffer.
    assert!(sync.is_buffering());
    assert_eq!(applied_ids(&sync.on_snapshot(&snapshot(135))), [140, 150]);
}

fn applied_of(rows: &[(u64, u64, u64, &str)]) -> Vec<DepthDiff> {
    rows.iter().map(|&(f, l, pu, q)| diff(f, l, Some(pu), ("99", q))).collect()
}

#[test]
fn usdm_first_diff_must_cover_the_snapshot_id() {
    let mut sync = BookSync::new(Rules::UsdM);
    sync.on_diff(diff(100, 110, Some(99), ("99", "1")));
    assert_eq!(sync.on_snapshot(&snapshot(99)), SnapshotStep::TooOld);
    let mut sync = BookSync::new(Rules::UsdM);
    sync.on_diff(diff(100, 110, Some(99), ("99", "1")));
    assert_eq!(sync.on_snapshot(&snapshot(111)), SnapshotStep::Synced { applied: vec![] });
    assert_eq!(
        sync.on_diff(diff(113, 120, Some(112), ("99", "1"))),
        Step::Resync(ResyncReason::Gap),
        "U 113 > 111"
    );
}

#[test]
fn buffer_is_bounded_and_reset_counts_only_when_something_was_lost() {
    let mut sync = BookSync::new(Rules::Spot);
    assert!(!sync.reset());
    for i in 0..MAX_BUFFERED as u64 {
        sync.on_diff(diff(i + 1, i + 1, None, ("1", "1")));
    }
    assert_eq!(
        sync.on_diff(diff(0, 0, None, ("1", "1"))),
        Step::Resync(ResyncReason::BufferOverflow)
    );
    assert!(sync.reset());
    assert!(!sync.is_buffering());
}
