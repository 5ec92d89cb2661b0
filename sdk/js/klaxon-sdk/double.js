// The in-memory host that `host.js` calls outside the component
// (`node --test`): clock, KV with TTL, prices, interned names, logs,
// reported panics and scopes. Mirrors the Python and Rust doubles.

export class Double {
  constructor() {
    this.reset();
  }

  reset() {
    this.clockMs = 1_700_000_000_000;
    this.kv = new Map();
    this.prices = new Map();
    this.names = [];
    this.logs = [];
    this.panics = [];
    this.scopes = [];
  }

  intern(name) {
    if (!name) return 0;
    let i = this.names.indexOf(name);
    if (i < 0) i = this.names.push(name) - 1;
    return i + 1;
  }

  scope(index) { this.scopes.push(index); }
  log(level, message) { this.logs.push([level, message]); }
  reportPanic(message) { this.panics.push(message); }
  nowMs() { return BigInt(this.clockMs); }

  kvGet(key) {
    const entry = this.kv.get(key);
    if (!entry || (entry.expires !== undefined && entry.expires <= this.clockMs)) return undefined;
    return entry.value;
  }

  kvSet(key, value, ttlMs) {
    const expires = ttlMs === undefined ? undefined : this.clockMs + Number(ttlMs);
    this.kv.set(key, { value, expires });
  }

  kvDelete(key) { this.kv.delete(key); }
  price(symbol) { return this.prices.get(symbol); }
  name(id) { return id > 0 && id <= this.names.length ? this.names[id - 1] : undefined; }
}

export const double = new Double();
