//! Registering a metric family, and remembering that it exists.
//!
//! The prometheus crate's `Registry::gather()` leaves out a vector family
//! with no series yet, so on a healthy host `klaxon_plugin_traps_total`
//! would not appear at all and a rule or dashboard naming it could not
//! tell "no traps" from "no such metric". Every family registered through
//! these helpers is also declared here, and `render` writes the `# HELP` and
//! `# TYPE` lines of the ones `gather()` left out.

use std::sync::Mutex;

use prometheus::core::Collector;
use prometheus::{
    GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};

/// A family's metadata: what its `# HELP` and `# TYPE` lines say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Family {
    pub name: String,
    pub help: String,
    /// `counter`, `gauge` or `histogram`.
    pub kind: &'static str,
}

static DECLARED: Mutex<Vec<Family>> = Mutex::new(Vec::new());

/// Every family registered through this module so far.
pub(crate) fn declared() -> Vec<Family> {
    DECLARED.lock().expect("declared families lock").clone()
}

fn register<C: Collector + Clone + 'static>(r: &Registry, c: C, kind: &'static str) -> C {
    r.register(Box::new(c.clone())).expect("metric registered once");
    let mut declared = DECLARED.lock().expect("declared families lock");
    for desc in c.desc() {
        declared.push(Family { name: desc.fq_name.clone(), help: desc.help.clone(), kind });
    }
    c
}

pub(crate) fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    register(r, c, "counter")
}

pub(crate) fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    register(r, g, "gauge")
}

/// A gauge with a float value (a share, a ratio).
pub(crate) fn float_gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    register(r, g, "gauge")
}

pub(crate) fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("valid metric");
    register(r, h, "histogram")
}

/// A histogram without labels (always exported, zero until observed).
pub(crate) fn plain_histogram(
    r: &Registry,
    name: &str,
    help: &str,
    buckets: Vec<f64>,
) -> Histogram {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .expect("valid metric");
    register(r, h, "histogram")
}
