//! Evaluate: run the filter rules of every template an event was routed
//! to, a run of events at a time.
//!
//! Templates whose rules live in the same instance (one plugin version, one
//! trust domain) are judged together in one guest call, each on the rows
//! routed to it; the columns are filled once per run, only those some rule
//! declared. An owner's instance (not stock, not `trusted`) sees only the
//! rows routed to that owner's templates: its columns are gathered from
//! those rows alone, so no tenant's plugin reads another tenant's events.
//! Failures are the pool's business (`plugins::pool`): a failing
//! rule fails closed, and what comes back here is plain passes.

use std::sync::Arc;

use crate::alert::Pass;
use crate::event::Event;
use crate::market::Snapshot;
use crate::plugins::filter::RulePass;
use crate::plugins::pool::group_by_key;
use crate::plugins::{Columns, Domain, FilterJob, InstancePool, RuleRef, Run};

use super::plan::Plan;
use super::stats::RunStats;
use super::work::WorkItem;

/// A filter's yes for one row of the run: (row, template index, pass).
pub type Passed = (usize, u32, Pass);

/// Reusable buffers of the evaluate stage.
#[derive(Default)]
pub struct Evaluate {
    columns: Columns,
    /// Columns of an owner's sub-run.
    scoped: Columns,
    /// Per template index, scratch of [`route_rows`]; all zero between runs.
    slots: Vec<u32>,
    counts: Counts,
}

/// Evaluations per template of the plan they were counted on, not yet
/// added to `klaxon_evaluations_total`. Every worker evaluates every
/// template of a busy plan, so adding per run meant one contended atomic
/// per template per run; the worker adds them up before it sleeps
/// ([`Evaluate::flush_counts`]), and a scrape sees them by then.
#[derive(Default)]
struct Counts {
    plan: Option<Arc<Plan>>,
    per_template: Vec<u64>,
}

impl Counts {
    fn add(&mut self, plan: &Arc<Plan>, template: u32, n: u64) {
        if !self.plan.as_ref().is_some_and(|p| Arc::ptr_eq(p, plan)) {
            self.flush();
            self.plan = Some(plan.clone());
            self.per_template.resize(plan.templates.len(), 0);
        }
        self.per_template[template as usize] += n;
    }

    fn flush(&mut self) {
        let Some(plan) = self.plan.take() else { return };
        for (tp, n) in plan.templates.iter().zip(&mut self.per_template) {
            if *n > 0 {
                tp.counters.evaluations.inc_by(std::mem::take(n));
            }
        }
        self.per_template.clear();
    }
}

impl Evaluate {
    /// Every pass of `run`, in (row, template) order.
    pub fn run(
        &mut self,
        pool: &mut InstancePool,
        plan: &Arc<Plan>,
        run: &[WorkItem],
        now_ms: u64,
        stats: &RunStats,
    ) -> Vec<Passed> {
        let (targets, rows) = route_rows(run, &mut self.slots);
        let jobs: Vec<FilterJob<'_>> = targets
            .iter()
            .zip(&rows)
            .map(|(&t, rows)| {
                let tp = &plan.templates[t as usize];
                let rule = RuleRef { template: &tp.id, slot: &tp.filter, limits: &tp.limits };
                FilterJob { rule, rows: rows.as_deref() }
            })
            .collect();
        let events: Vec<_> = run.iter().map(|i| (&*i.event, &i.market)).collect();
        self.columns.reset(run.len());
        let mut whole = Run { rows: &events, columns: &mut self.columns, now_ms };

        let (mut passed, mut out, mut failed) = (Vec::new(), Vec::<RulePass>::new(), 0);
        for group in group_by_key(jobs.iter().map(|j| Some(&j.rule))) {
            let group_jobs: Vec<FilterJob<'_>> = group.iter().map(|&j| jobs[j]).collect();
            out.clear();
            failed += match owner_rows(&group_jobs, run.len()) {
                None => pool.filter(&group_jobs, &mut whole, &mut out),
                Some(rows) => {
                    let scoped = Scoped::new(&group_jobs, rows);
                    scoped.filter(pool, &events, &mut self.scoped, now_ms, &mut out)
                }
            };
            passed.extend(out.drain(..).map(|(j, row, pass)| (row, targets[group[j]], pass)));
        }
        self.count(plan, &targets, &rows, run.len(), failed, stats);
        passed.sort_by_key(|(row, t, _)| (*row, *t));
        passed
    }

    /// Add what was counted to the per-template metric.
    pub fn flush_counts(&mut self) {
        self.counts.flush();
    }

    fn count(
        &mut self,
        plan: &Arc<Plan>,
        targets: &[u32],
        rows: &[Option<Vec<u32>>],
        len: usize,
        failed: u64,
        stats: &RunStats,
    ) {
        let mut total = 0;
        for (&t, rows) in targets.iter().zip(rows) {
            let n = rows.as_ref().map_or(len, Vec::len) as u64;
            self.counts.add(plan, t, n);
            total += n;
        }
        RunStats::add(&stats.evaluations, total);
        RunStats::add(&stats.evaluations_failed, failed);
    }
}

/// The rows an owner's instance may see, when that is not the whole run:
/// the union of its rules' rows. `None` for a trusted instance, or when
/// the rules together judge every row anyway.
fn owner_rows(jobs: &[FilterJob<'_>], len: usize) -> Option<Vec<u32>> {
    if matches!(jobs[0].rule.slot.domain, Domain::Trusted) {
        return None;
    }
    let mut rows: Vec<u32> = Vec::new();
    for job in jobs {
        rows.extend_from_slice(job.rows?);
    }
    rows.sort_unstable();
    rows.dedup();
    (rows.len() < len).then_some(rows)
}

/// An owner's jobs on the sub-run of its own rows, with every job's rows
/// renumbered into it.
struct Scoped<'a, 'j> {
    jobs: &'j [FilterJob<'a>],
    /// Run row of each sub-run row, ascending.
    rows: Vec<u32>,
    /// Each job's rows in sub-run numbering; `None` when it judges all.
    renumbered: Vec<Option<Vec<u32>>>,
}

impl<'a, 'j> Scoped<'a, 'j> {
    fn new(jobs: &'j [FilterJob<'a>], rows: Vec<u32>) -> Self {
        let renumbered = jobs
            .iter()
            .map(|job| {
                let own = job.rows.expect("an owner's sub-run is only made of row lists");
                let at = |r: &u32| rows.binary_search(r).expect("a job's rows are in the union");
                (own.len() < rows.len()).then(|| own.iter().map(|r| at(r) as u32).collect())
            })
            .collect();
        Scoped { jobs, rows, renumbered }
    }

    /// Judge the sub-run; passes come back in run numbering.
    fn filter(
        &self,
        pool: &mut InstancePool,
        events: &[(&Event, &Snapshot)],
        columns: &mut Columns,
        now_ms: u64,
        out: &mut Vec<RulePass>,
    ) -> u64 {
        let jobs: Vec<FilterJob<'_>> = self
            .jobs
            .iter()
            .zip(&self.renumbered)
            .map(|(job, rows)| FilterJob { rule: job.rule, rows: rows.as_deref() })
            .collect();
        let sub: Vec<_> = self.rows.iter().map(|&r| events[r as usize]).collect();
        columns.reset(sub.len());
        let start = out.len();
        let failed = pool.filter(&jobs, &mut Run { rows: &sub, columns, now_ms }, out);
        for (_, row, _) in &mut out[start..] {
            *row = self.rows[*row] as usize;
        }
        failed
    }
}

/// Every template the run was routed to, ascending, and for each the rows
/// routed to it (`None` when that is every row).
///
/// Most runs have one target list for every event (templates that select
/// no symbol, or one symbol's events), which a comparison of the lists
/// finds. Otherwise one pass over the items' lists counts each template's
/// rows into `slots` (indexed by template, so no search or sort per row)
/// and only partial templates get a row list: 1,000 templates cost what
/// their routing did.
fn route_rows(run: &[WorkItem], slots: &mut Vec<u32>) -> (Vec<u32>, Vec<Option<Vec<u32>>>) {
    let first = &run[0].targets;
    if run.iter().all(|i| i.targets == *first) {
        return (first.to_vec(), vec![None; first.len()]);
    }
    let mut targets = Vec::new();
    for t in run.iter().flat_map(|i| i.targets.iter()) {
        let t = *t as usize;
        if t >= slots.len() {
            slots.resize(t + 1, 0);
        }
        if slots[t] == 0 {
            targets.push(t as u32);
        }
        slots[t] += 1;
    }
    targets.sort_unstable();
    let mut rows: Vec<Option<Vec<u32>>> =
        (targets.iter()).map(|&t| (slots[t as usize] < run.len() as u32).then(Vec::new)).collect();
    // Now the slot of a template is its place in `targets`.
    for (i, &t) in targets.iter().enumerate() {
        slots[t as usize] = i as u32;
    }
    for (r, item) in run.iter().enumerate() {
        for &t in item.targets.iter() {
            if let Some(list) = &mut rows[slots[t as usize] as usize] {
                list.push(r as u32);
            }
        }
    }
    for &t in &targets {
        slots[t as usize] = 0;
    }
    (targets, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Sym};

    fn item(targets: &[u32]) -> WorkItem {
        let event = Event::new(EventKind::Trade, Sym::new("ev-v"), Sym::new("ev-s"), "e".into(), 0);
        WorkItem {
            seq: 0,
            event: Arc::new(event),
            market: Snapshot::UNKNOWN,
            plan: Arc::new(Plan::empty()),
            targets: targets.into(),
            first_share: true,
        }
    }

    #[test]
    fn one_target_list_for_every_row_judges_whole_rows() {
        let run = [item(&[1, 4]), item(&[1, 4])];
        let (targets, rows) = route_rows(&run, &mut Vec::new());
        assert_eq!(targets, [1, 4]);
        assert_eq!(rows, [None, None]);
    }

    #[test]
    fn mixed_target_lists_give_partial_templates_their_rows() {
        let run = [item(&[0, 7]), item(&[3, 7]), item(&[7, 9]), item(&[0])];
        let mut slots = Vec::new();
        let (targets, rows) = route_rows(&run, &mut slots);
        assert_eq!(targets, [0, 3, 7, 9]);
        assert_eq!(rows, [Some(vec![0, 3]), Some(vec![1]), Some(vec![0, 1, 2]), Some(vec![2])]);
        assert!(slots.iter().all(|&s| s == 0), "scratch is left clean for the next run");
        let (targets, rows) = route_rows(&run[..3], &mut slots);
        assert_eq!(targets, [0, 3, 7, 9]);
        assert_eq!(rows[2], None, "template 7 judges all three rows");
    }
}
