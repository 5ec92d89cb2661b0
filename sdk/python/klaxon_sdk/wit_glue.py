"""The componentize-py side: the classes `klaxon plugin build` names as the
exports (`FilterRules` + `filter_rules.Rule`, `CooldownPolicies` +
`cooldown_policies.Policy`, `Formatters` + `formatters.Formatter`), turning
WIT values into the SDK's model and back. Imported only inside the
component; everything it calls is in `rules`, which tests run offline."""

import math
from types import SimpleNamespace

from componentize_py_types import Err
from wit_world.imports import types as t

from . import model, rules
from .params import ParamsError


def _create(kind: str, params_json: str):
    try:
        return rules.build(kind, params_json)
    except ParamsError as e:
        raise Err(str(e))
    except BaseException as e:  # noqa: B036 — reported, then re-raised (trap)
        rules.report_and_reraise(e)


def _guard(call):
    try:
        return call()
    except BaseException as e:  # noqa: B036
        rules.report_and_reraise(e)


def _wit_pass(p: model.Pass) -> t.Pass:
    return t.Pass(p.alert_key, t.Severity(p.severity.value), float(p.value), p.title,
                  [t.Field(f.name, f.value) for f in p.fields])


def _one_row(e: t.Event, m: t.Market):
    """The single-event record as a one-row batch, so both paths share the
    views (and the projection)."""
    nan = math.nan
    w = (m.window_1m, m.window_5m, m.window_1h)
    return SimpleNamespace(
        len=1, kinds=[e.kind.value], venue_ids=[e.venue_id], symbol_ids=[e.symbol_id],
        account_ids=[e.account_id], prices=[e.price], sizes=[e.size],
        notional_usd=[nan if e.notional_usd is None else e.notional_usd],
        sides=[e.side.value], directions=[e.direction.value],
        closed_pnl=[nan if e.closed_pnl is None else e.closed_pnl],
        exchange_time_ms=[e.exchange_time_ms], event_ids=[e.id], tx_hashes=[e.tx_hash or ""],
        last_price=[m.last_price], change_1m=[w[0].change_pct], change_5m=[w[1].change_pct],
        change_1h=[w[2].change_pct], volume_1m=[w[0].volume_usd], volume_5m=[w[1].volume_usd],
        volume_1h=[w[2].volume_usd], trades_1m=[w[0].trades], trades_5m=[w[1].trades],
        trades_1h=[w[2].trades], best_bid=[m.best_bid], best_ask=[m.best_ask],
        missing=[m.missing.value],
    )


class Rule:
    """`filter-rules.rule`: one template's filter."""

    @classmethod
    def create(cls, params_json: str):
        self = cls.__new__(cls)
        self.inner = _create("filter", params_json)
        self.cols = _guard(lambda: rules.declared(self.inner))
        return self

    def columns(self):
        return t.Columns(int(self.cols))

    def evaluate(self, event, market):
        def run():
            verdict = rules.evaluate_one(self.inner, rules.Cols(_one_row(event, market), self.cols))
            if isinstance(verdict, model.Pass):
                return t.Verdict_Pass(_wit_pass(verdict))
            return t.Verdict_Reject(verdict.reason)
        return _guard(run)


class FilterRules:
    def evaluate_batch(self, batch, rule_rows):
        def run():
            specs = [(rr.rule.inner, rr.rule.cols, rr.rows) for rr in rule_rows]
            return [t.RulePass(i, row, _wit_pass(p)) for i, row, p in rules.evaluate_batch(batch, specs)]
        return _guard(run)


def _alert(a: t.Alert) -> model.Alert:
    e = a.event
    event = model.AlertEvent(
        e.id, model.EventKind(e.kind.value), e.venue, e.symbol, e.price, e.size, e.notional_usd,
        model.Side(e.side.value), e.account, e.tx_hash, e.exchange_time_ms,
        model.Direction(e.direction.value), e.closed_pnl)
    return model.Alert(a.template, a.alert_key, model.Severity(a.severity.value), a.value,
                       a.title, [model.Field(f.name, f.value) for f in a.fields], event)


def _history(h: t.History) -> model.History:
    sev = None if h.last_severity is None else model.Severity(h.last_severity.value)
    return model.History(h.last_fired_ms, h.last_value, sev, h.fires, h.suppressed_since_fire)


class Policy:
    @classmethod
    def create(cls, params_json: str):
        self = cls.__new__(cls)
        self.inner = _create("cooldown", params_json)
        return self


class CooldownPolicies:
    def decide_batch(self, items):
        def run():
            out = []
            for i, item in enumerate(items):
                rules.host.backend.scope(i)
                d = item.policy.inner.decide(_alert(item.alert), _history(item.history))
                if isinstance(d, model.Fire):
                    out.append(t.Decision_Fire(t.Severity(d.severity.value)))
                elif isinstance(d, model.Suppress):
                    out.append(t.Decision_Suppress(d.reason))
                else:
                    raise TypeError(f"decide returned {d!r}, expected Decision.fire/suppress")
            return out
        return _guard(run)


def _message(m: model.Message) -> t.Message:
    return t.Message(m.title, m.body, t.Markup(m.markup.value))


class Formatter:
    @classmethod
    def create(cls, params_json: str):
        self = cls.__new__(cls)
        self.inner = _create("formatter", params_json)
        return self

    def format(self, alert):
        return _guard(lambda: _message(self.inner.format(_alert(alert))))

    def format_digest(self, alerts):
        return _guard(lambda: _message(self.inner.format_digest([_alert(a) for a in alerts])))


class Formatters:
    pass
