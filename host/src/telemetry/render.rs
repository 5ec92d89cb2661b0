//! `/metrics`: the Prometheus text exposition of the registry.
//!
//! Two things happen before and after encoding that `TextEncoder` alone
//! does not do: values that are cheaper to read at scrape time than to keep
//! up to date on the hot path (queue depths) are refreshed by hooks, and
//! families with no series yet still get their `# HELP`/`# TYPE` lines, so
//! that every name the monitoring pack uses is present on a healthy host.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Mutex;

use prometheus::{Encoder, TextEncoder};

use super::metrics;
use super::register::{Family, declared};

type Hook = Box<dyn Fn() -> bool + Send + Sync>;

static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// Run `hook` before every render, until it returns `false` (what it
/// samples is gone).
pub fn on_render(hook: impl Fn() -> bool + Send + Sync + 'static) {
    HOOKS.lock().expect("render hooks lock").push(Box::new(hook));
}

/// Prometheus text exposition of every metric.
pub fn render() -> String {
    HOOKS.lock().expect("render hooks lock").retain(|hook| hook());
    // Registered on first use elsewhere; registering here means its
    // families are declared even on a host that never touched them.
    crate::state::register_metrics();
    let families = metrics().registry.gather();
    let mut buf = Vec::new();
    TextEncoder::new().encode(&families, &mut buf).expect("text encoding cannot fail");
    let mut text = String::from_utf8(buf).expect("prometheus text is utf-8");
    let present: HashSet<&str> = families.iter().map(|f| f.name()).collect();
    append_empty(&mut text, &declared(), &present);
    text
}

/// The metadata lines of every declared family not in `present`.
fn append_empty(text: &mut String, declared: &[Family], present: &HashSet<&str>) {
    for family in declared.iter().filter(|f| !present.contains(f.name.as_str())) {
        let help = family.help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(text, "# HELP {} {help}", family.name);
        let _ = writeln!(text, "# TYPE {} {}", family.name, family.kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_vector_family_still_has_help_and_type() {
        let m = metrics();
        let family = super::super::register::counter(
            &m.registry,
            "klaxon_render_test_total",
            "A family no code reports to",
            &["x"],
        );
        let text = render();
        assert!(!text.contains("klaxon_render_test_total{"), "{text}");
        assert!(text.contains("# HELP klaxon_render_test_total A family no code reports to\n"));
        assert!(text.contains("# TYPE klaxon_render_test_total counter\n"), "{text}");
        // Once it has a series the encoder writes it, and only once.
        family.with_label_values(&["y"]).inc();
        let text = render();
        assert_eq!(text.matches("# TYPE klaxon_render_test_total counter").count(), 1);
        assert!(text.contains("klaxon_render_test_total{x=\"y\"} 1\n"), "{text}");
        // Every catalogue family is there, with or without series.
        for f in declared() {
            let line = format!("# TYPE {} {}\n", f.name, f.kind);
            assert_eq!(text.matches(&line).count(), 1, "{line}");
        }
        assert!(text.contains("# TYPE klaxon_state_up gauge\n"), "registered by render");
    }

    #[test]
    fn help_text_is_escaped() {
        let family = Family { name: "x_total".into(), help: "a\\b\nc".into(), kind: "counter" };
        let mut text = String::new();
        append_empty(&mut text, &[family], &HashSet::new());
        assert_eq!(text, "# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\n");
    }

    #[test]
    fn process_metrics_are_exported() {
        let text = render();
        for name in ["process_resident_memory_bytes", "process_cpu_seconds_total"] {
            assert!(text.contains(&format!("\n{name} ")), "{name} missing:\n{text}");
        }
    }
}
