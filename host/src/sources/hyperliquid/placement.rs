//! Which connection carries which subscription, and what to send when the
//! wanted set changes: a pure diff, so splitting and runtime changes are
//! tested without sockets.
//!
//! Invariants after every [`Placement::apply`]:
//! * each subscription is held by exactly one slot (connection), and an
//!   unsubscribe goes to the slot that held it;
//! * no slot holds more than `per_connection` subscriptions, and there are
//!   never more than `max_connections` slots;
//! * no slot holds two `userEvents`: their frames (channel `user`) do not
//!   name the user, so the connection's single `userEvents` account is how
//!   the source attributes them. A slot that just dropped one is the last
//!   choice for a new one, so frames still in flight for the old account
//!   are not credited to the new one;
//! * slots are never removed: an emptied connection stays open (kept alive by
//!   pings) and is the first to take new subscriptions.

use std::collections::{BTreeSet, HashSet};

use super::subscription::Subscription;

/// What one connection must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Subscribe(Subscription),
    Unsubscribe(Subscription),
}

/// The outcome of one [`Placement::apply`].
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// `(slot, change)`, unsubscribes first.
    pub changes: Vec<(usize, Change)>,
    /// Slots that did not exist before (their connections must be started).
    pub opened: std::ops::Range<usize>,
    /// Subscriptions no slot could take (`max_connections` reached).
    pub refused: Vec<Subscription>,
}

#[derive(Debug)]
pub struct Placement {
    per_connection: usize,
    max_connections: usize,
    slots: Vec<BTreeSet<Subscription>>,
}

impl Placement {
    pub fn new(per_connection: usize, max_connections: usize) -> Placement {
        Placement { per_connection: per_connection.max(1), max_connections, slots: Vec::new() }
    }

    /// Connections (slots) in use.
    pub fn connections(&self) -> usize {
        self.slots.len()
    }

    /// Subscriptions held over all slots.
    pub fn total(&self) -> usize {
        self.slots.iter().map(BTreeSet::len).sum()
    }

    /// The subscriptions slot `slot` holds.
    #[cfg(test)]
    pub fn slot(&self, slot: usize) -> &BTreeSet<Subscription> {
        &self.slots[slot]
    }

    /// Move to `wanted`: unsubscribe what is no longer wanted where it is
    /// held, then place what is new, in `wanted` order.
    pub fn apply(&mut self, wanted: &[Subscription]) -> Plan {
        let wanted_set: HashSet<&Subscription> = wanted.iter().collect();
        let mut plan = Plan { opened: self.slots.len()..self.slots.len(), ..Plan::default() };
        let mut freed_user_events = HashSet::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let gone: Vec<Subscription> =
                slot.iter().filter(|s| !wanted_set.contains(s)).cloned().collect();
            for sub in gone {
                slot.remove(&sub);
                if matches!(sub, Subscription::UserEvents(_)) {
                    freed_user_events.insert(i);
                }
                plan.changes.push((i, Change::Unsubscribe(sub)));
            }
        }
        let held: HashSet<Subscription> = self.slots.iter().flatten().cloned().collect();
        for sub in wanted.iter().filter(|s| !held.contains(*s)) {
            match self.place(sub, &freed_user_events) {
                Some(i) => {
                    self.slots[i].insert(sub.clone());
                    plan.changes.push((i, Change::Subscribe(sub.clone())));
                }
                None => plan.refused.push(sub.clone()),
            }
        }
        plan.opened.end = self.slots.len();
        plan
    }

    /// The slot for `sub`: the first existing one with room (a slot that just
    /// dropped a `userEvents` last for a new one), else a new slot.
    fn place(&mut self, sub: &Subscription, freed_user_events: &HashSet<usize>) -> Option<usize> {
        let user_events = matches!(sub, Subscription::UserEvents(_));
        let fits = |slot: &BTreeSet<Subscription>| {
            slot.len() < self.per_connection
                && !(user_events && slot.iter().any(|s| matches!(s, Subscription::UserEvents(_))))
        };
        let candidates =
            self.slots.iter().enumerate().filter(|(_, slot)| fits(slot)).map(|(i, _)| i);
        let (fresh, reused): (Vec<usize>, Vec<usize>) =
            candidates.partition(|i| !(user_events && freed_user_events.contains(i)));
        if let Some(&i) = fresh.first() {
            return Some(i);
        }
        if self.slots.len() < self.max_connections {
            self.slots.push(BTreeSet::new());
            return Some(self.slots.len() - 1);
        }
        reused.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::hyperliquid::MarketChannel;

    fn trades(coin: &str) -> Subscription {
        Subscription::Market(MarketChannel::Trades, coin.into())
    }

    fn count_per_slot(plan: &Plan) -> Vec<usize> {
        let mut counts = vec![0; plan.opened.end];
        plan.changes.iter().for_each(|(i, _)| counts[*i] += 1);
        counts
    }

    #[test]
    fn splits_into_full_connections_in_order() {
        let mut p = Placement::new(2, 10);
        let wanted = [
            trades("A"),
            trades("B"),
            trades("C"),
            Subscription::UserFills("0xa".into()),
            Subscription::UserEvents("0xa".into()),
        ];
        let plan = p.apply(&wanted);
        assert_eq!(plan.opened, 0..3);
        assert_eq!(count_per_slot(&plan), [2, 2, 1]);
        assert!(plan.changes.iter().all(|(_, c)| matches!(c, Change::Subscribe(_))));
        assert_eq!(p.total(), 5);
        // Applying the same set again changes nothing.
        assert_eq!(p.apply(&wanted), Plan { opened: 3..3, ..Plan::default() });
    }

    #[test]
    fn removals_go_to_the_owner_and_new_ones_fill_the_gap() {
        let mut p = Placement::new(2, 10);
        p.apply(&[trades("A"), trades("B"), trades("C")]);
        let plan = p.apply(&[trades("A"), trades("C"), trades("D")]);
        assert_eq!(
            plan.changes,
            [(0, Change::Unsubscribe(trades("B"))), (0, Change::Subscribe(trades("D")))]
        );
        assert_eq!(plan.opened, 2..2);
        let plan = p.apply(&[trades("A"), trades("C"), trades("D"), trades("E"), trades("F")]);
        assert_eq!(
            plan.changes,
            [(1, Change::Subscribe(trades("E"))), (2, Change::Subscribe(trades("F")))]
        );
        assert_eq!(plan.opened, 2..3);
    }

    #[test]
    fn one_user_events_per_connection() {
        let mut p = Placement::new(10, 10);
        let ue = |u: &str| Subscription::UserEvents(u.into());
        let plan = p.apply(&[ue("0xa"), ue("0xb"), trades("A")]);
        assert_eq!(
            plan.changes,
            [
                (0, Change::Subscribe(ue("0xa"))),
                (1, Change::Subscribe(ue("0xb"))),
                (0, Change::Subscribe(trades("A")))
            ]
        );
        // 0xa leaves, 0xc comes: it goes to a new connection, not onto 0xa's.
        let plan = p.apply(&[ue("0xb"), trades("A"), ue("0xc")]);
        assert_eq!(
            plan.changes,
            [(0, Change::Unsubscribe(ue("0xa"))), (2, Change::Subscribe(ue("0xc")))]
        );
    }

    #[test]
    fn refuses_what_no_connection_can_take() {
        let mut p = Placement::new(1, 2);
        let plan = p.apply(&[trades("A"), trades("B"), trades("C")]);
        assert_eq!(plan.refused, [trades("C")]);
        assert_eq!((p.connections(), p.total()), (2, 2));
        // With a freed user-events slot as the only room, it is reused.
        let mut p = Placement::new(2, 1);
        p.apply(&[Subscription::UserEvents("0xa".into())]);
        let plan = p.apply(&[Subscription::UserEvents("0xb".into())]);
        assert!(plan.refused.is_empty());
        assert_eq!(p.slot(0).len(), 1);
    }
}
