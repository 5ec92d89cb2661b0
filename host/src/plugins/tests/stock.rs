//! Stock plugins through the host: params errors name the field, the
//! `fixed` policy keeps its window on the host clock, and the `plain`
//! formatter and the built-in plain format render alerts and digests.

use std::sync::Arc;

use super::{NOW, engine, fired, generous, loaded, pool, services, slot, template, trade, wasm};
use crate::alert::{Alert, AlertId, Decision, History, Markup, Message, Pass, Severity};
use crate::plugins::cooldown::DecideItem;
use crate::plugins::fallback::plain;
use crate::plugins::{DecideJob, Instance, PluginError, PluginKind, RuleRef, load};

fn configure(name: &str, kind: PluginKind, params: &str) -> Result<Instance, PluginError> {
    let mut i = Instance::new(
        engine(),
        loaded(name, kind),
        &services(),
        16 << 20,
        generous().call_timeout,
    )?;
    i.add_rule(&template("stock"), &Arc::from(params), generous())?;
    Ok(i)
}

#[test]
fn a_misspelled_param_is_a_configure_error_naming_the_field() {
    let err = configure("amount-threshold", PluginKind::Filter, r#"{"min_notinal_usd": 250000}"#)
        .err()
        .expect("configure must fail");
    let version = load::content_version(&wasm("amount-threshold")).0;
    let PluginError::Configure { plugin, reason } = &err else {
        panic!("not a configure error: {err:?}")
    };
    assert_eq!((&*plugin.name, &*plugin.version), ("amount-threshold", version.as_str()));
    assert!(
        reason.starts_with("min_notinal_usd: unknown field `min_notinal_usd`, expected one of"),
        "{reason}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "plugin `amount-threshold` {version}: configure rejected params: min_notinal_usd"
        )),
        "{err}"
    );

    let err = configure("fixed", PluginKind::Cooldown, r#"{"window": "1m", "windw": "1m"}"#)
        .err()
        .expect("configure must fail");
    let version = load::content_version(&wasm("fixed")).0;
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `fixed` {version}: configure rejected params: windw: unknown field `windw`, expected `window`"
        )
    );
}

#[test]
fn params_that_are_not_json_are_a_configure_error() {
    let err = configure("amount-threshold", PluginKind::Filter, "min_notional_usd = 1")
        .err()
        .expect("configure must fail");
    assert!(matches!(err, PluginError::Configure { .. }), "{err:?}");
}

#[test]
fn the_fixed_policy_suppresses_inside_its_window_on_the_host_clock() {
    let mut pool = pool(0);
    let (t, s) =
        (template("fixed-window"), slot("fixed", PluginKind::Cooldown, r#"{"window": "10m"}"#));
    let pass = Pass {
        alert_key: "BTCUSDT".into(),
        severity: Severity::Warning,
        value: 1.0,
        title: "t".into(),
        fields: vec![],
    };
    let event = trade("BTCUSDT", 65_000, 1);
    let histories = [History::default(), fired(9 * 60_000), fired(10 * 60_000)];
    let jobs: Vec<DecideJob<'_>> = histories
        .iter()
        .map(|h| DecideJob {
            rule: Some(RuleRef { template: &t, slot: &s, limits: generous() }),
            item: DecideItem { template: &t, pass: &pass, event: &event, history: h, now_ms: NOW },
            default_cooldown_ms: 0,
        })
        .collect();
    let decisions = pool.decide(&jobs);
    assert_eq!(
        decisions,
        [
            Decision::Fire(Severity::Warning),
            Decision::Suppress("cooldown: 10m window".into()),
            Decision::Fire(Severity::Warning)
        ]
    );
}

fn alert(title: &str) -> Arc<Alert> {
    let event = trade("BTCUSDT", 65_000, 40);
    Arc::new(Alert {
        id: AlertId::derive(&template("stock"), "BTCUSDT", &event.id),
        template: template("stock"),
        key: "BTCUSDT".into(),
        severity: Severity::Warning,
        value: 2_600_000.0,
        title: title.into(),
        fields: vec![("notional".into(), "$2.60M".into()), ("side".into(), "buy".into())],
        event: Arc::new(event),
        decision: Decision::Fire(Severity::Warning),
        decided_at_ms: 1,
        versions: Default::default(),
        trace: Default::default(),
    })
}

#[test]
fn the_stock_plain_formatter_formats_alerts_and_digests() {
    let mut f = configure("plain", PluginKind::Formatter, r#"{"include_event": false}"#)
        .expect("configure");
    let t = template("stock");
    let one = f.format(&t, &[alert("first")], 1).expect("format");
    assert_eq!(
        one,
        Message {
            title: "first".into(),
            body: "[WARNING] first\nnotional: $2.60M\nside: buy".into(),
            markup: Markup::Plain
        }
    );
    let digest = f.format(&t, &[alert("first"), alert("second")], 1).expect("format-digest");
    assert_eq!(
        digest,
        Message {
            title: "2 alerts".into(),
            body: "2 alerts\n[WARNING] first\n[WARNING] second".into(),
            markup: Markup::Plain
        }
    );
}

/// The fallback needs no plugin and loses nothing: the title and every
/// field reach the message.
#[test]
fn the_built_in_plain_format_keeps_the_title_and_every_field() {
    let m = plain(&alert("$2.60M buy on BTCUSDT"));
    assert_eq!((m.title.as_str(), m.markup), ("$2.60M buy on BTCUSDT", Markup::Plain));
    for part in ["$2.60M buy on BTCUSDT", "notional", "$2.60M", "side", "buy"] {
        assert!(m.body.contains(part), "{part:?} missing from {:?}", m.body);
    }
}
