// The in-memory host that `host.js` calls outside the component
// (`node --test`): clock, KV with TTL, prices, interned names, logs,
// reported panics and scopes, and the watchlists `watchlist.js` reads.
// Mirrors the Python and Rust doubles.

// The host's rule: `0x…` entries in lowercase, others as written.
const normalize = (e) => (e.length > 2 && e.slice(0, 2).toLowerCase() === '0x' ? e.toLowerCase() : e);

// Lists set with `testing.setWatchlist`. A list never set is one the
// template did not declare: asking for it throws, as the host fails the call.
class Watchlists {
  constructor(double) {
    this.double = double;
    this.lists = new Map();
  }

  set(name, entries) {
    const pairs = Array.isArray(entries)
      ? entries.map((e) => (typeof e === 'string' ? [e, undefined] : e))
      : Object.entries(entries);
    this.lists.set(name, new Map(pairs.map(([e, v]) => [normalize(e.trim()), v || undefined])));
  }

  list(name) {
    const list = this.lists.get(name);
    if (!list) {
      throw new Error(`testing: watchlist \`${name}\` is not declared (the host fails the call); set it with testing.setWatchlist`);
    }
    return list;
  }

  contains(name, entry) { return this.list(name).has(normalize(entry)); }
  value(name, entry) { return this.list(name).get(normalize(entry)); }
  // By id the name must equal the stored entry, as in the host.
  containsId(name, id) {
    const list = this.list(name);
    const entry = this.double.name(id);
    return entry !== undefined && list.has(entry);
  }

  containsIds(name, ids) { return Uint8Array.from(ids, (id) => (this.containsId(name, id) ? 1 : 0)); }
  valueId(name, id) {
    const list = this.list(name);
    const entry = this.double.name(id);
    return entry === undefined ? undefined : list.get(entry);
  }
}

export class Double {
  constructor() {
    this.watchlists = new Watchlists(this);
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
    this.watchlists.lists.clear();
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
