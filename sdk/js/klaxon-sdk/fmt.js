// Number formatting identical to the Rust SDK's `klaxon_sdk::fmt`, so that
// equivalent plugins in the three languages render the same alerts.

// Rust's f64::round rounds half away from zero.
const roundAway = (x) => (x >= 0 ? Math.floor(x + 0.5) : -Math.floor(-x + 0.5));

function fixed(value, decimals) {
  const factor = 10 ** decimals;
  const scaled = roundAway(value * factor);
  if (Number.isNaN(scaled) || scaled >= 1e18) return value.toFixed(decimals);
  const big = BigInt(scaled);
  const f = BigInt(factor);
  const whole = (big / f).toString();
  return decimals ? `${whole}.${(big % f).toString().padStart(decimals, '0')}` : whole;
}

/** `$1.23M`, `$950K`, `$12`. */
export function usd(value) {
  if (!Number.isFinite(value)) return '$?';
  const out = (value < 0 ? '-' : '') + '$';
  const v = Math.abs(value);
  const units = [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']];
  for (let i = 0; i < units.length; i++) {
    const [size, unit] = units[i];
    const scaled = v / size;
    if (scaled >= 0.9995 || (i === units.length - 1 && v >= 999.5)) {
      const decimals = scaled >= 99.95 ? 0 : scaled >= 9.995 ? 1 : 2;
      return out + fixed(scaled, decimals) + unit;
    }
  }
  return out + fixed(v, v >= 1 || v === 0 ? 0 : 2);
}

export function pct(value) {
  return (value < 0 ? '-' : '+') + fixed(Math.abs(value), 2) + '%';
}

export function price(value) {
  const v = Math.abs(value);
  let decimals;
  if (v >= 1000) decimals = 2;
  else if (v >= 1) decimals = 4;
  else if (v === 0) decimals = 0;
  else decimals = Math.min(Math.max(4 - Math.floor(Math.log10(v)) - 1, 4), 12);
  let out = (value < 0 ? '-' : '') + fixed(v, decimals);
  if (out.includes('.')) out = out.replace(/0+$/, '').replace(/\.$/, '');
  return out;
}

/** Rust's `{}` for an f64: shortest round-trip digits, never an exponent. */
export function number(value) {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const text = String(value);
  if (!text.includes('e')) return text;
  const [mant, exp] = text.split('e');
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const point = (mant.replace('-', '').indexOf('.') + 1 || mant.replace('-', '').length + 1) - 1 + Number(exp);
  const body = point <= 0 ? `0.${'0'.repeat(-point)}${digits}`
    : point >= digits.length ? digits + '0'.repeat(point - digits.length)
      : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (neg ? '-' : '') + body;
}
