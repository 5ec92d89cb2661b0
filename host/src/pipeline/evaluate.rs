//! Evaluate: run the filter rules of every template an event was routed
//! to, a run of events at a time.
//!
//! Templates whose rules live in the same instance (one plugin version, one
//! trust domain) are judged together in one guest call, each on the rows
//! routed to it; the columns are filled once per run, only those some rule
//! declared. Failures are the pool's business (`plugins::pool`): a failing
//! rule fails closed, and what comes back here is plain passes.

use crate::alert::Pass;
use crate::plugins::filter::RulePass;
use crate::plugins::pool::group_by_key;
use crate::plugins::{Columns, FilterJob, InstancePool, RuleRef, Run};

use super::plan::Plan;
use super::stats::RunStats;
use super::work::WorkItem;

/// A filter's yes for one row of the run: (row, template index, pass).
pub type Passed = (usize, u32, Pass);

/// Reusable buffers of the evaluate stage.
#[derive(Default)]
pub struct Evaluate {
    columns: Columns,
}

impl Evaluate {
    /// Every pass of `run`, in (row, template) order.
    pub fn run(
        &mut self,
        pool: &mut InstancePool,
        plan: &Plan,
        run: &[WorkItem],
        now_ms: u64,
        stats: &RunStats,
    ) -> Vec<Passed> {
        let targets = targets(run);
        let rows = rows_per_target(run, &targets);
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
        let mut context = Run { rows: &events, columns: &mut self.columns, now_ms };

        let (mut passed, mut out, mut failed) = (Vec::new(), Vec::<RulePass>::new(), 0);
        for group in group_by_key(jobs.iter().map(|j| Some(&j.rule))) {
            let group_jobs: Vec<FilterJob<'_>> = group.iter().map(|&j| jobs[j]).collect();
            out.clear();
            failed += pool.filter(&group_jobs, &mut context, &mut out);
            passed.extend(out.drain(..).map(|(j, row, pass)| (row, targets[group[j]], pass)));
        }
        count(plan, &targets, &rows, run.len(), failed, stats);
        passed.sort_by_key(|(row, t, _)| (*row, *t));
        passed
    }
}

/// Every template any item of the run was routed to, ascending.
fn targets(run: &[WorkItem]) -> Vec<u32> {
    let mut targets: Vec<u32> = run.iter().flat_map(|i| i.targets.iter().copied()).collect();
    targets.sort_unstable();
    targets.dedup();
    targets
}

/// For each target, the rows routed to it; `None` when that is every row.
/// One pass over the items' target lists, so 1,000 templates cost what
/// their routing did, not a scan of the run per template.
fn rows_per_target(run: &[WorkItem], targets: &[u32]) -> Vec<Option<Vec<u32>>> {
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); targets.len()];
    for (r, item) in run.iter().enumerate() {
        for t in &item.targets {
            if let Ok(i) = targets.binary_search(t) {
                rows[i].push(r as u32);
            }
        }
    }
    rows.into_iter().map(|rows| (rows.len() < run.len()).then_some(rows)).collect()
}

fn count(
    plan: &Plan,
    targets: &[u32],
    rows: &[Option<Vec<u32>>],
    len: usize,
    failed: u64,
    stats: &RunStats,
) {
    let mut total = 0;
    for (&t, rows) in targets.iter().zip(rows) {
        let n = rows.as_ref().map_or(len, Vec::len) as u64;
        plan.templates[t as usize].counters.evaluations.inc_by(n);
        total += n;
    }
    RunStats::add(&stats.evaluations, total);
    RunStats::add(&stats.evaluations_failed, failed);
}
