//! For host tests: on every event, reads the host KV key `count`,
//! increments it, writes it back, and passes with alert key = symbol,
//! title = `tag`, and fields `count` and `tag`. Several templates on one
//! shared instance must each count only their own events: host calls are
//! scoped to the rule being served.

use klaxon_sdk::{Columns, Event, Filter, Market, Pass, Verdict, export_filter, host};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Echoed as the title and the `tag` field, to tell rules apart.
    pub tag: String,
}

pub struct KvProbe {
    tag: String,
}

impl Filter for KvProbe {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(KvProbe { tag: p.tag })
    }

    fn columns(&self) -> Columns {
        Columns::SYMBOL
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        let count = host::kv_get("count").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + 1;
        host::kv_set("count", &count.to_string(), None);
        Pass::new(event.symbol().name(), self.tag.clone())
            .with_value(count as f64)
            .with_field("count", count.to_string())
            .with_field("tag", self.tag.clone())
            .into()
    }
}

export_filter!(KvProbe);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::{self, FilterHarness, evaluate_batch, json};
    use klaxon_sdk::{EventRecord, MarketRecord};

    use super::*;

    #[test]
    fn each_template_counts_its_own_events() {
        testing::reset();
        let a = FilterHarness::<KvProbe>::configure_json_for("a", &json!({"tag": "A"})).unwrap();
        let b = FilterHarness::<KvProbe>::configure_json_for("b", &json!({"tag": "B"})).unwrap();
        let rows: Vec<_> = (0..3)
            .map(|_| (EventRecord::trade("ETH", 1.0, 1.0), MarketRecord::default()))
            .collect();
        let passes = evaluate_batch(&[(&a, None), (&b, Some(&[1]))], &rows);
        let got: Vec<(String, Option<&str>)> =
            passes.iter().map(|(_, _, p)| (p.title.clone(), p.field("count"))).collect();
        assert_eq!(
            got,
            [
                ("A".into(), Some("1")),
                ("A".into(), Some("2")),
                ("A".into(), Some("3")),
                ("B".into(), Some("1"))
            ]
        );
        let pass = b.evaluate(&rows[0].0, &rows[0].1).into_pass().unwrap();
        assert_eq!(pass.field("count"), Some("2"));
        assert_eq!(pass.field("tag"), Some("B"));
        assert_eq!(pass.alert_key, "ETH");
        assert_eq!(testing::kv_entries_for("a"), [("count".to_owned(), "3".to_owned())]);
    }
}
