//! Templates the host runs without, each with its reason: their plugin
//! failed validation at startup (does not compile, wrong world, WASI
//! imports, refused its params, failed the smoke run), so they were left
//! out while every other template started.
//!
//! A narrow, shared handle: `app` sets it at startup and after each reload
//! (a template comes back once a reload plans it), `/ready` reads it. Each
//! disabled template is also `klaxon_templates_disabled{template} = 1`,
//! back to 0 when it comes back.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::plan::TemplateFailure;
use crate::alert::TemplateId;
use crate::telemetry::metrics;

#[derive(Debug, Default)]
pub struct DisabledTemplates {
    /// Template → its issues, joined.
    by_template: Mutex<BTreeMap<TemplateId, String>>,
}

impl DisabledTemplates {
    /// Exactly the templates of `failures` are disabled now.
    pub fn set(&self, failures: &[TemplateFailure]) {
        let next: BTreeMap<TemplateId, String> =
            failures.iter().map(|f| (f.template.clone(), reason(f))).collect();
        let mut current = self.by_template.lock().expect("disabled templates poisoned");
        for gone in current.keys().filter(|t| !next.contains_key(*t)) {
            metrics().templates_disabled.with_label_values(&[gone.as_str()]).set(0);
        }
        for template in next.keys() {
            metrics().templates_disabled.with_label_values(&[template.as_str()]).set(1);
        }
        *current = next;
    }

    pub fn contains(&self, template: &TemplateId) -> bool {
        self.by_template.lock().expect("disabled templates poisoned").contains_key(template)
    }

    /// (template, reason), in template order.
    pub fn list(&self) -> Vec<(TemplateId, String)> {
        let current = self.by_template.lock().expect("disabled templates poisoned");
        current.iter().map(|(t, r)| (t.clone(), r.clone())).collect()
    }
}

/// Every issue of `failure`, `path: message; path: message`.
fn reason(failure: &TemplateFailure) -> String {
    failure.issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issue::ConfigIssue;

    fn failure(template: &str, message: &str) -> TemplateFailure {
        TemplateFailure {
            template: TemplateId::new(template),
            issues: vec![ConfigIssue::new(format!("templates.{template}.filter.plugin"), message)],
            files: Vec::new(),
        }
    }

    #[test]
    fn set_replaces_the_list_and_the_gauges_follow() {
        let disabled = DisabledTemplates::default();
        let gauge = |t: &str| metrics().templates_disabled.with_label_values(&[t]).get();
        disabled.set(&[failure("dt-a", "no plugin `x`"), failure("dt-b", "not a component")]);
        assert!(disabled.contains(&TemplateId::new("dt-a")));
        assert_eq!(
            disabled.list(),
            [
                (TemplateId::new("dt-a"), "templates.dt-a.filter.plugin: no plugin `x`".to_owned()),
                (
                    TemplateId::new("dt-b"),
                    "templates.dt-b.filter.plugin: not a component".to_owned()
                ),
            ]
        );
        assert_eq!((gauge("dt-a"), gauge("dt-b")), (1, 1));
        // dt-a planned again: it is back.
        disabled.set(&[failure("dt-b", "not a component")]);
        assert!(!disabled.contains(&TemplateId::new("dt-a")));
        assert_eq!((gauge("dt-a"), gauge("dt-b")), (0, 1));
    }
}
