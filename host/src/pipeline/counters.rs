//! A template's metric series, looked up once per plan instead of hashing
//! the template label on every event.
//!
//! Suppression codes come from plugins (`code: text` reasons), so each
//! template labels at most [`MAX_CODES`] of them and counts the rest as
//! `other`: a policy inventing codes cannot grow the series without bound.

use std::sync::{Arc, Mutex};

use crate::telemetry::metrics;

/// Distinct suppression codes one template may label.
pub const MAX_CODES: usize = 8;

#[derive(Debug)]
pub struct TemplateCounters {
    pub evaluations: prometheus::IntCounter,
    pub fired: prometheus::IntCounter,
    pub suppressed: prometheus::IntCounter,
    /// `klaxon_alert_latency_seconds` of the template, resolved once: a
    /// labelled lookup per message hashed the name and took a shared lock.
    pub latency: prometheus::Histogram,
    template: Arc<str>,
    codes: Mutex<Vec<(Arc<str>, prometheus::IntCounter)>>,
}

impl TemplateCounters {
    /// The series of `template` on `arm` (`stable`, or `canary` during a rollout).
    pub fn new(template: &str, arm: &str) -> TemplateCounters {
        let m = metrics();
        TemplateCounters {
            evaluations: m.evaluations.with_label_values(&[template, arm]),
            fired: m.alerts.with_label_values(&[template, "fired", arm]),
            suppressed: m.alerts.with_label_values(&[template, "suppressed", arm]),
            latency: m.alert_latency.with_label_values(&[template]),
            template: Arc::from(template),
            codes: Mutex::default(),
        }
    }

    /// Count one suppression under `code` (or `other`, past the cap) in
    /// `klaxon_alerts_suppressed_total`; returns the label used.
    pub fn suppressed_by(&self, code: &str) -> Arc<str> {
        let mut codes = self.codes.lock().expect("codes poisoned");
        let found = codes.iter().position(|(c, _)| &**c == code);
        let at = match found {
            Some(at) => at,
            None if codes.len() < MAX_CODES => {
                let series = metrics().alerts_suppressed.with_label_values(&[&self.template, code]);
                codes.push((Arc::from(code), series));
                codes.len() - 1
            }
            None => return self.other(&mut codes),
        };
        codes[at].1.inc();
        codes[at].0.clone()
    }

    /// The overflow series, kept past the cap's last slot.
    fn other(&self, codes: &mut Vec<(Arc<str>, prometheus::IntCounter)>) -> Arc<str> {
        if codes.len() == MAX_CODES {
            let series = metrics().alerts_suppressed.with_label_values(&[&self.template, "other"]);
            codes.push((Arc::from("other"), series));
        }
        let (label, series) = codes.last().expect("just pushed");
        series.inc();
        label.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_past_the_cap_count_as_other() {
        let c = TemplateCounters::new("codes-cap-test", "stable");
        assert_eq!(&*c.suppressed_by("not_worse"), "not_worse");
        for i in 0..20 {
            c.suppressed_by(&format!("code_{i}"));
        }
        assert_eq!(&*c.suppressed_by("code_19"), "other");
        assert_eq!(&*c.suppressed_by("not_worse"), "not_worse");
        let m = &metrics().alerts_suppressed;
        assert_eq!(m.with_label_values(&["codes-cap-test", "other"]).get(), 14);
    }
}
