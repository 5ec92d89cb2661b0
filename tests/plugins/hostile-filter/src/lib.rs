//! Hostile on purpose: a filter that passes the host's smoke run and then,
//! on live events, hands the host everything it must refuse or bound. One
//! crate, one `mode` per misbehaviour (`tests/hostile.rs` picks them).
//!
//! Like `loop-forever`, it behaves (rejects) for events priced at most
//! `above_price` (default 10), so the smoke run's price-1 event goes live,
//! and misbehaves above it; every synthetic market in the tests is priced far
//! above 10.
//!
//! | mode | live behaviour |
//! | --- | --- |
//! | `pass` | an ordinary small alert per event, keyed by symbol (the healthy neighbour on the same version) |
//! | `huge-alert` | a title of `size` bytes and `fields` fields with values of `field_size` bytes (default `size`) |
//! | `long-key` | an alert key of `size` bytes; unique per event with `unique = true` |
//! | `names` | `host.name(id)` for every id in `0..=size`, all answers in field `names` |
//! | `kv-size` | one KV entry per event: key padded to `key_size` bytes, value of `size` bytes |
//! | `kv-count` | one new small KV key per event (value of `size` bytes) |
//! | `dup-rows` | `evaluate-batch` answers its first live row `size` times |
//! | `excess-rows` | `evaluate-batch` answers every row of the batch and `size` rows past its end |
//! | `batch-symbols` | `evaluate-batch` answers its first live row with every symbol id of the whole batch, field `symbols` |
//! | `log-flood` | `lines` log lines of `size` bytes per call, each tagged with the call |
//! | `log-inject` | a log line with a newline, a carriage return and an ANSI escape, then a forged host line |
//! | `configure-loop-later` | `create` loops forever once the host knows a price for any of `symbols` |
//!
//! `configure-loop-later` needs a signal that tells the smoke run from a
//! live worker's `create`. A guest static cannot: every instance, the smoke
//! run's throwaway one and each live worker's, starts from zero. The KV
//! could, but a host may well give the smoke run a scratch store. The host
//! price is what works: the smoke run happens while the plan is built,
//! before any source has run, so `host.price` knows nothing; a worker builds
//! its rules when the first event reaches it, and the router has folded that
//! event into market state before routing it, so the price of the event's
//! symbol is known by then (so `symbols` lists every symbol of the market: a
//! worker may see any of them first).
//!
//! The batch answers of `dup-rows` and `excess-rows` are exactly what the
//! SDK's `Output` refuses to record, so this crate exports `evaluate-batch`
//! itself (through the SDK's generated bindings, `klaxon_sdk::__private`):
//! the honest answer first, then [`corrupt`] makes it hostile.

use klaxon_sdk::__private::wit::{
    Field as WitField, Pass as WitPass, RulePass, Severity as WitSeverity,
};
use klaxon_sdk::{Batch, Columns, Event, Filter, Market, Output, Pass, Rows, Verdict, host};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Pass,
    HugeAlert,
    LongKey,
    Names,
    KvSize,
    KvCount,
    DupRows,
    ExcessRows,
    BatchSymbols,
    LogFlood,
    LogInject,
    ConfigureLoopLater,
}

/// Params: `mode` and the sizes it uses; see the table above.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub mode: Mode,
    /// Bytes (or ids, for `names`; copies or extra rows for the batch modes).
    #[serde(default = "default_size")]
    pub size: usize,
    /// `huge-alert`: how many fields.
    #[serde(default = "one")]
    pub fields: usize,
    /// `huge-alert`: bytes per field value (default: `size`).
    #[serde(default)]
    pub field_size: Option<usize>,
    /// `long-key`: make every event's key distinct.
    #[serde(default)]
    pub unique: bool,
    /// `kv-size`: pad each key to this many bytes.
    #[serde(default)]
    pub key_size: usize,
    /// `log-flood`: lines per call.
    #[serde(default = "default_lines")]
    pub lines: usize,
    /// Behave for events priced at most this.
    #[serde(default = "default_above_price")]
    pub above_price: f64,
    /// `configure-loop-later`: whose prices tell a live worker.
    #[serde(default = "default_symbols")]
    pub symbols: Vec<String>,
}

fn default_size() -> usize {
    64 * 1024
}
fn one() -> usize {
    1
}
fn default_lines() -> usize {
    1000
}
fn default_above_price() -> f64 {
    10.0
}
fn default_symbols() -> Vec<String> {
    ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"].map(String::from).to_vec()
}

/// What `log-inject` forges after its newline: a line shaped like the
/// host's own text log, which a test looks for at the start of a line.
pub const FORGED: &str =
    "1999-12-31T23:59:59.999999Z ERROR klaxon::store::writer: FORGED alert log writer closed";

pub struct HostileFilter {
    p: Params,
}

impl HostileFilter {
    fn live(&self, price: f64) -> bool {
        price > self.p.above_price
    }

    /// `log-flood` / `log-inject`: one call's worth of lines, tagged with
    /// `tag` (the first event id of the call) so a test can group the
    /// lines the host wrote by call.
    fn flood(&self, tag: &str) {
        match self.p.mode {
            Mode::LogFlood => {
                let filler = "x".repeat(self.p.size);
                for i in 0..self.p.lines {
                    host::warn(&format!("flood {tag} {i} {filler}"));
                }
            }
            Mode::LogInject => {
                host::warn(&format!("benign {tag}\n{FORGED}"));
                host::warn(&format!("benign {tag}\r{FORGED}"));
                host::warn(&format!("benign {tag}\u{1b}[2K\r{FORGED}"));
            }
            _ => {}
        }
    }
}

/// `s` padded with `fill` to `len` bytes (never cut).
fn padded(mut s: String, fill: char, len: usize) -> String {
    while s.len() < len {
        s.push(fill);
    }
    s
}

impl Filter for HostileFilter {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if p.mode == Mode::ConfigureLoopLater && p.symbols.iter().any(|s| host::price(s).is_some())
        {
            let mut spins: u64 = 0;
            loop {
                // black_box keeps the loop from being optimized into `unreachable`.
                spins = std::hint::black_box(spins.wrapping_add(1));
            }
        }
        Ok(HostileFilter { p })
    }

    fn columns(&self) -> Columns {
        // Every id column, so that `names` may legitimately resolve each id
        // its events carry, and the event id to make keys and tags unique.
        Columns::VENUE | Columns::SYMBOL | Columns::ACCOUNT | Columns::PRICE | Columns::EVENT_ID
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        if !self.live(event.price()) {
            return Verdict::reject("below trigger price");
        }
        let symbol = event.symbol().name();
        let id = event.id().unwrap_or_default();
        let p = &self.p;
        match p.mode {
            Mode::Pass => Pass::new(symbol, format!("hostile pass on {symbol}"))
                .with_value(event.price())
                .into(),
            Mode::HugeAlert => {
                let mut pass = Pass::new(symbol, padded(format!("huge {symbol} "), 'T', p.size));
                let value = "F".repeat(p.field_size.unwrap_or(p.size));
                for i in 0..p.fields {
                    pass = pass.with_field(format!("f{i}"), value.clone());
                }
                pass.into()
            }
            Mode::LongKey => {
                let key = if p.unique { format!("{symbol}:{id}:") } else { format!("{symbol}:") };
                Pass::new(padded(key, 'k', p.size), format!("long key on {symbol}")).into()
            }
            Mode::Names => {
                let names: Vec<&str> = (0..=p.size as u32).filter_map(host::name).collect();
                Pass::new(symbol, format!("names on {symbol}"))
                    .with_field("names", names.join(","))
                    .into()
            }
            Mode::KvSize | Mode::KvCount => {
                let key_size = if p.mode == Mode::KvSize { p.key_size } else { 0 };
                host::kv_set(&padded(format!("{id}:"), 'k', key_size), &"v".repeat(p.size), None);
                Verdict::reject("stored")
            }
            Mode::LogFlood | Mode::LogInject => {
                self.flood(id);
                Verdict::reject("logged")
            }
            // These misbehave only in their batch answer (see `corrupt`).
            Mode::DupRows | Mode::ExcessRows | Mode::BatchSymbols | Mode::ConfigureLoopLater => {
                Verdict::reject("batch only")
            }
        }
    }

    fn evaluate_batch(&mut self, batch: &Batch<'_>, rows: Rows<'_>, out: &mut Output<'_>) {
        let prices = batch.prices();
        if matches!(self.p.mode, Mode::LogFlood | Mode::LogInject) {
            // Once per call, not per row: the host's budget is per call.
            if let Some(first) = rows.iter().find(|&r| self.live(prices[r])) {
                self.flood(&batch.event_ids()[first]);
            }
            return;
        }
        for row in rows {
            out.verdict(row, self.evaluate(&batch.event(row), &batch.market(row)));
        }
    }
}

/// Turns the honest answer of `evaluate-batch` into the hostile one, for
/// the rule at index `rule` (mode `mode`, extra rows `size`) that judged
/// a batch of which `live` rows are its own and priced above its trigger. Passes stay ordered by rule, so the
/// only contract breaches are the ones the mode is about: a repeated row
/// (`dup-rows`), or rows the rule was not given and rows past the end of
/// the batch (`excess-rows`).
pub fn corrupt(
    mode: Mode,
    size: usize,
    rule: u32,
    batch: BatchView<'_>,
    passes: &mut Vec<RulePass>,
) {
    let Some(&first) = batch.live.first() else { return };
    let bad = |row: u32| RulePass {
        rule,
        row,
        pass: WitPass {
            alert_key: format!("row-{row}"),
            severity: WitSeverity::Info,
            value: 0.0,
            title: "hostile batch answer".to_owned(),
            fields: Vec::new(),
        },
    };
    let extra: Vec<RulePass> = match mode {
        Mode::DupRows => (0..size).map(|_| bad(first)).collect(),
        Mode::ExcessRows => (0..batch.len + size as u32).map(bad).collect(),
        Mode::BatchSymbols => {
            let mut symbols = batch.symbols.to_vec();
            symbols.sort_unstable();
            symbols.dedup();
            let list: Vec<String> = symbols.iter().map(u32::to_string).collect();
            let mut pass = bad(first);
            pass.pass.fields.push(WitField { name: "symbols".to_owned(), value: list.join(",") });
            vec![pass]
        }
        _ => return,
    };
    // This rule answered nothing honestly (its single-event path rejects),
    // so its passes go where rule `rule`'s section begins.
    let at = passes.iter().position(|p| p.rule > rule).unwrap_or(passes.len());
    passes.splice(at..at, extra);
}

/// What [`corrupt`] reads of a batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchView<'a> {
    pub len: u32,
    /// The whole batch's symbol column.
    pub symbols: &'a [u32],
    /// The rule's own rows priced above its trigger.
    pub live: &'a [u32],
}

#[cfg(not(target_arch = "wasm32"))]
klaxon_sdk::export_filter!(HostileFilter);

// In wasm: what `export_filter!` expands to, with our own `evaluate-batch`.
#[cfg(target_arch = "wasm32")]
klaxon_sdk::__export_common!(HostileFilter, klaxon_sdk::Filter);

#[cfg(target_arch = "wasm32")]
const _: () = {
    use klaxon_sdk::__private::FilterRule;
    use klaxon_sdk::__private::filter::exports::klaxon::plugin::filter_rules as api;

    struct Exports;
    impl api::Guest for Exports {
        type Rule = FilterRule<HostileFilter>;
        fn evaluate_batch(batch: api::EventBatch, rules: Vec<api::RuleRows<'_>>) -> Vec<RulePass> {
            let rules: Vec<(&FilterRule<HostileFilter>, Option<&[u32]>)> =
                rules.iter().map(|r| (r.rule.get(), r.rows.as_deref())).collect();
            let mut passes =
                klaxon_sdk::__private::filter_evaluate_batch(&batch, rules.iter().copied());
            for (i, (rule, rows)) in rules.iter().enumerate() {
                let f = rule.filter().borrow();
                let given: Vec<u32> = match rows {
                    Some(rows) => rows.to_vec(),
                    None => (0..batch.len).collect(),
                };
                let live: Vec<u32> = given
                    .into_iter()
                    .filter(|&r| batch.prices.get(r as usize).is_some_and(|&p| f.live(p)))
                    .collect();
                let view = BatchView { len: batch.len, symbols: &batch.symbol_ids, live: &live };
                corrupt(f.p.mode, f.p.size, i as u32, view, &mut passes);
            }
            passes
        }
    }
    klaxon_sdk::__private::filter::__export_filter!(Exports with_types_in klaxon_sdk::__private::filter);
};

#[cfg(test)]
mod tests;
