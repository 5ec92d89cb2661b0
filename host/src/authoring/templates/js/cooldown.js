// `{{name}}`: a cooldown policy. After a key fires, it stays quiet for
// `window_secs`; an alert worth `escalate_above_usd` or more fires one
// severity higher.

import { CooldownPolicy, Decision, Severity, exportCooldown, host, p, sinceLastFireMs } from './klaxon-sdk/index.js';

export class Plugin extends CooldownPolicy {
  static params = { window_secs: p.integer(), escalate_above_usd: p.optional(p.number()) };

  constructor(params) {
    super();
    if (params.window_secs <= 0) throw new RangeError('window_secs: must be greater than 0');
    this.windowMs = params.window_secs * 1000;
    this.escalateAbove = params.escalate_above_usd ?? Infinity;
    this.reason = `quiet ${params.window_secs}s`;
  }

  decide(alert, history) {
    const since = sinceLastFireMs(history, host.nowMs());
    if (since !== undefined && since < this.windowMs) return Decision.suppress(this.reason);
    if (alert.value >= this.escalateAbove) {
      return Decision.fire(Severity[Math.min(Severity.indexOf(alert.severity) + 1, 2)]);
    }
    return Decision.fire(alert.severity);
  }
}

exportCooldown(Plugin);
