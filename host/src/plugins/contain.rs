//! Filters through the pool, with trap containment.
//!
//! One call judges a run of events for every rule of one instance. When it
//! fails, nobody knows yet whose fault it was, so the pool retries each rule
//! alone (the others keep their results), and a rule that fails alone is
//! retried event by event to find the event it fails on. That rule is
//! charged and fails closed for that event, which is quarantined: logged
//! with its id and counted, and not retried again. After `MAX_STRIKES`
//! failing events in one run the rule's remaining rows fail closed without
//! more calls, so a rule that fails on everything costs a bounded amount.
//! KV writes of a failed call are discarded (`host_api`), so a retry does
//! not count an event twice.

use crate::event::Event;
use crate::market::Snapshot;

use super::call::CallError;
use super::columns::Columns;
use super::filter::{RulePass, RuleRows, Verdict};
use super::pool::{InstancePool, RuleRef, count_failed_closed};
use crate::telemetry::metrics;

/// Events one rule may fail on alone in one run before the rest of its
/// rows fail closed untried.
const MAX_STRIKES: usize = 2;

/// One rule of a filter call and the rows it judges.
#[derive(Debug, Clone, Copy)]
pub struct FilterJob<'a> {
    pub rule: RuleRef<'a>,
    /// Ascending rows of the run; `None` means every row.
    pub rows: Option<&'a [u32]>,
}

impl FilterJob<'_> {
    fn row_count(&self, run_len: usize) -> usize {
        self.rows.map_or(run_len, <[u32]>::len)
    }
}

/// A run of events with the context they were routed with.
pub struct Run<'a, 'b> {
    pub rows: &'a [(&'b Event, &'b Snapshot)],
    pub columns: &'a mut Columns,
    pub now_ms: u64,
}

impl InstancePool {
    /// Judge `run` with `jobs` (rules of one instance key). Passes are
    /// appended as (job index, row, pass); returns how many evaluations
    /// failed closed.
    pub fn filter(
        &mut self,
        jobs: &[FilterJob<'_>],
        run: &mut Run<'_, '_>,
        out: &mut Vec<RulePass>,
    ) -> u64 {
        let all: Vec<usize> = (0..jobs.len()).collect();
        match self.try_filter(jobs, &all, run, out) {
            Ok(failed) => failed,
            Err((live, error)) if live.len() == 1 => self.blame(jobs, live[0], run, out, &error),
            Err((live, _)) => live
                .iter()
                .map(|&j| match self.try_filter(jobs, &[j], run, out) {
                    Ok(failed) => failed,
                    Err((_, error)) => self.blame(jobs, j, run, out, &error),
                })
                .sum(),
        }
    }

    /// One call for the jobs in `which`. Quarantined or unbuildable rules
    /// fail closed (counted in the `Ok`); a failed call returns the jobs
    /// it was made for, and the instance is dropped if poisoned.
    fn try_filter(
        &mut self,
        jobs: &[FilterJob<'_>],
        which: &[usize],
        run: &mut Run<'_, '_>,
        out: &mut Vec<RulePass>,
    ) -> Result<u64, (Vec<usize>, CallError)> {
        let rules: Vec<RuleRef<'_>> = which.iter().map(|&j| jobs[j].rule).collect();
        let key = rules[0].key();
        let len = run.rows.len();
        let (ready, failed) = match self.prepare(&rules) {
            Some((instance, live)) => {
                let live: Vec<usize> = live.iter().map(|&i| which[i]).collect();
                let result = call(instance, jobs, &live, run, out);
                match result {
                    Ok(()) => (live, 0),
                    Err(error) => {
                        if error.poisons() {
                            self.poison(&key);
                        }
                        return Err((live, error));
                    }
                }
            }
            None => (Vec::new(), 0),
        };
        let mut failed_rows = failed;
        if ready.len() == which.len() {
            return Ok(failed_rows);
        }
        // A set, not `ready.contains`: 1,000 rules made that a million
        // comparisons per call.
        let ready: std::collections::HashSet<usize> = ready.into_iter().collect();
        for &j in which.iter().filter(|j| !ready.contains(j)) {
            let n = jobs[j].row_count(len);
            count_failed_closed(&jobs[j].rule, n);
            failed_rows += n as u64;
        }
        Ok(failed_rows)
    }

    /// Job `j` failed alone with `error`: charge its template, then judge
    /// its rows one by one to find (and quarantine) the events it fails on.
    fn blame(
        &mut self,
        jobs: &[FilterJob<'_>],
        j: usize,
        run: &mut Run<'_, '_>,
        out: &mut Vec<RulePass>,
        error: &CallError,
    ) -> u64 {
        let job = jobs[j];
        self.fail(&job.rule, error);
        let rows: Vec<u32> = match job.rows {
            Some(rows) => rows.to_vec(),
            None => (0..run.rows.len() as u32).collect(),
        };
        if rows.len() == 1 {
            self.quarantine_event(&job, run.rows[rows[0] as usize].0, error);
            count_failed_closed(&job.rule, 1);
            return 1;
        }
        let (mut strikes, mut failed) = (0, 0);
        for row in rows {
            if strikes < MAX_STRIKES {
                let one = [FilterJob { rows: Some(std::slice::from_ref(&row)), ..job }];
                let mut passes = Vec::new();
                match self.try_filter(&one, &[0], run, &mut passes) {
                    Ok(n) => {
                        failed += n;
                        out.extend(passes.into_iter().map(|(_, r, p)| (j, r, p)));
                        continue;
                    }
                    Err((_, error)) => {
                        strikes += 1;
                        self.quarantine_event(&job, run.rows[row as usize].0, &error);
                    }
                }
            }
            count_failed_closed(&job.rule, 1);
            failed += 1;
        }
        failed
    }

    fn quarantine_event(&self, job: &FilterJob<'_>, event: &Event, error: &CallError) {
        let plugin = &job.rule.slot.plugin.reference;
        metrics()
            .poison_events
            .with_label_values(&[job.rule.template.as_str(), &plugin.name])
            .inc();
        tracing::error!(template = %job.rule.template, %plugin, event = %event.id, %error,
            "Filter rule fails on this event; the event is quarantined for the rule (not retried).");
    }
}

/// The call itself: one rule on one event takes the single-event export,
/// anything else one batch call.
fn call(
    instance: &mut super::Instance,
    jobs: &[FilterJob<'_>],
    live: &[usize],
    run: &mut Run<'_, '_>,
    out: &mut Vec<RulePass>,
) -> Result<(), CallError> {
    if let [j] = live
        && run.rows.len() == 1
        && jobs[*j].rows.is_none_or(|r| r == [0])
    {
        let (event, market) = run.rows[0];
        if let Verdict::Pass(pass) =
            instance.evaluate(jobs[*j].rule.template, event, market, run.now_ms)?
        {
            out.push((*j, 0, pass));
        }
        return Ok(());
    }
    let rules: Vec<RuleRows<'_>> = live
        .iter()
        .map(|&j| RuleRows { template: jobs[j].rule.template, rows: jobs[j].rows })
        .collect();
    let start = out.len();
    instance.evaluate_batch(run.columns, run.rows, &rules, run.now_ms, out)?;
    // Batch passes name their index in `rules`; map back to job indices.
    for pass in &mut out[start..] {
        pass.0 = live[pass.0];
    }
    Ok(())
}
