"""`{{name}}`: a cooldown policy. After a key fires, it stays quiet for
`window_secs`; an alert worth `escalate_above_usd` or more fires one
severity higher."""

from dataclasses import dataclass
from typing import Optional

from klaxon_sdk import CooldownPolicy, Decision, export_cooldown, host


@dataclass
class Params:
    window_secs: int  # quiet period after a fire, in seconds
    escalate_above_usd: Optional[float] = None


class Plugin(CooldownPolicy):
    Params = Params

    def __init__(self, p: Params):
        if p.window_secs <= 0:
            raise ValueError("window_secs: must be greater than 0")
        self.window_ms = p.window_secs * 1000
        self.escalate_above = float("inf") if p.escalate_above_usd is None else p.escalate_above_usd
        self.reason = f"quiet {p.window_secs}s"

    def decide(self, alert, history):
        since = history.since_last_fire_ms(host.now_ms())
        if since is not None and since < self.window_ms:
            return Decision.suppress(self.reason)
        if alert.value >= self.escalate_above:
            return Decision.fire(alert.severity.raised())
        return Decision.fire(alert.severity)


export_cooldown(Plugin)
