//! Calling filter rules: one rule on one event, or many rules of one
//! instance on a column batch in one call.

use crate::alert::{Pass, TemplateId};
use crate::event::Event;
use crate::market::Snapshot;

use super::Breach;
use super::bindings::{rules, wit};
use super::call::{self, CallError};
use super::columns::{self, ColumnSet, Columns};
use super::convert;
use super::instance::{Exports, Instance};

/// A filter's answer for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Reject(String),
    Pass(Pass),
}

/// One rule of a batch call: its template and the rows it judges.
#[derive(Debug, Clone, Copy)]
pub struct RuleRows<'a> {
    pub template: &'a TemplateId,
    /// Ascending rows of the run; `None` means every row.
    pub rows: Option<&'a [u32]>,
}

/// A pass out of a batch call: (index into the call's rules, row, pass).
pub type RulePass = (usize, usize, Pass);

/// Rows one rule budget covers before a batch call's budget grows by one
/// more: a healthy rule judges a row in nanoseconds, so this only bounds
/// how long a runaway call may hold a worker.
const ROWS_PER_BUDGET: usize = 4096;

/// The filter world's exports (a borrow of one field, so the store stays
/// free to borrow mutably beside it).
fn filter_rules(exports: &Exports) -> &rules::Guest {
    match exports {
        Exports::Filter(f) => f.klaxon_plugin_filter_rules(),
        _ => panic!("filter call on an instance of another world"),
    }
}

impl Instance {
    /// The columns `template`'s rule declared.
    pub fn columns_of(&self, template: &TemplateId) -> Option<ColumnSet> {
        self.rules.get(template).map(|r| r.columns)
    }

    /// Judge one event with one rule.
    pub fn evaluate(
        &mut self,
        template: &TemplateId,
        event: &Event,
        market: &Snapshot,
        now_ms: u64,
    ) -> Result<Verdict, CallError> {
        let rule = self.rule(template)?;
        let (handle, budget, limits) = (rule.handle, rule.limits.call_timeout, rule.limits.clone());
        let record = convert::event(event, rule.columns);
        let scopes = rule.scope.clone();
        let spec = self.spec(budget, now_ms, &scopes);
        let exports = filter_rules(&self.exports).rule();
        self.store.data_mut().allow_names(convert::event_ids(event));
        let verdict = call::guest(&mut self.store, &spec, |s| {
            exports.call_evaluate(s, handle, &record, convert::market(market))
        })?;
        Ok(match verdict {
            // Reasons stay in the guest's answer only; nothing keeps them.
            wit::Verdict::Reject(reason) => Verdict::Reject(reason),
            wit::Verdict::Pass(p) => {
                let pass = convert::pass(p);
                limits.check_pass(&pass).map_err(CallError::Limit)?;
                Verdict::Pass(pass)
            }
        })
    }

    /// Judge `run` with several rules in one call. The columns the rules
    /// declared are filled (once per run) and lent to the call; passes are
    /// appended to `out` after the answer is checked against the contract.
    pub fn evaluate_batch(
        &mut self,
        columns: &mut Columns,
        run: &[(&Event, &Snapshot)],
        rules: &[RuleRows<'_>],
        now_ms: u64,
        out: &mut Vec<RulePass>,
    ) -> Result<(), CallError> {
        let set = self.call_set(rules.iter().map(|r| r.template))?;
        let (need, scopes) = (set.columns, set.scopes.clone());
        let handles: Vec<rules::RuleRows> = (set.handles.iter().zip(rules))
            .map(|(&rule, r)| rules::RuleRows { rule, rows: r.rows.map(<[u32]>::to_vec) })
            .collect();
        let work: usize = rules.iter().map(|r| r.rows.map_or(run.len(), <[u32]>::len)).sum();
        let budget = set.budget * (1 + work / ROWS_PER_BUDGET) as u32;
        columns.fill(need, run);
        self.store
            .data_mut()
            .allow_names(given_rows(rules, run.len()).flat_map(|r| convert::event_ids(run[r].0)));
        let spec = self.spec(budget, now_ms, &scopes);
        let exports = filter_rules(&self.exports);
        let passed = columns.with_batch(need, |batch| {
            call::guest(&mut self.store, &spec, |s| exports.call_evaluate_batch(s, batch, &handles))
        })?;
        check_answer(&passed, rules, run.len())?;
        let limits = &self.call_set.as_ref().expect("built for this call").limits;
        let start = out.len();
        for p in passed {
            let pass = convert::pass(p.pass);
            if let Err(breach) = limits[p.rule as usize].check_pass(&pass) {
                // Nothing of this call goes on: containment finds the rule.
                out.truncate(start);
                return Err(CallError::Limit(breach));
            }
            out.push((p.rule as usize, p.row as usize, pass));
        }
        Ok(())
    }
}

/// The contract of `evaluate-batch`'s answer: strictly ascending by (rule,
/// row), so at most one pass per pair (and never more passes than input
/// rows), and only rows the rule was given. Checked before any pass is
/// converted, so a flood of copies costs the host one comparison each.
fn check_answer(
    passed: &[wit::RulePass],
    rules: &[RuleRows<'_>],
    len: usize,
) -> Result<(), CallError> {
    let given: usize = rules.iter().map(|r| r.rows.map_or(len, <[u32]>::len)).sum();
    Breach::check("batch_rows", passed.len(), given).map_err(CallError::Limit)?;
    let mut last: Option<(u32, u32)> = None;
    for p in passed {
        let at = (p.rule, p.row);
        let given = rules.get(p.rule as usize).is_some_and(|r| match r.rows {
            Some(rows) => rows.binary_search(&p.row).is_ok(),
            None => (p.row as usize) < len,
        });
        if !given || last.is_some_and(|l| l >= at) {
            return Err(CallError::Guest(format!(
                "evaluate-batch answered rule {} row {}, which is out of range, repeated or out of order \
                 (rules {}, rows {len})",
                p.rule,
                p.row,
                rules.len()
            )));
        }
        last = Some(at);
    }
    Ok(())
}

/// The rows some rule of the call was given (a row may repeat): only
/// their ids resolve with `host.name`, though the columns of the whole run
/// are lent, so one owner's plugin cannot name another's accounts.
fn given_rows<'a>(rules: &'a [RuleRows<'_>], len: usize) -> Box<dyn Iterator<Item = usize> + 'a> {
    if rules.iter().any(|r| r.rows.is_none()) {
        return Box::new(0..len);
    }
    Box::new(rules.iter().flat_map(|r| r.rows.unwrap_or_default().iter().map(|&r| r as usize)))
}

/// Every column a set of rules of one instance reads.
pub fn columns_for(instance: &Instance, templates: &[&TemplateId]) -> ColumnSet {
    columns::union(templates.iter().filter_map(|t| instance.rules.get(*t)).map(|r| &r.columns))
}
