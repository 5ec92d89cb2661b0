// Typed params: a schema of field types, parsed from the template's JSON
// with errors that name the field, as the Rust SDK's `parse_params`
// (``min_notinal: unknown field `min_notinal`, expected one of …``).
//
//   static params = { min_notional_usd: p.number(), severity: p.severity('warning') };

export class ParamsError extends Error {}

const at = (path, message) => new ParamsError(path ? `${path}: ${message}` : message);
const kindOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'sequence'
  : typeof v === 'string' ? `string "${v}"` : typeof v === 'number' ? 'number' : typeof v);

function type(check, fallback) {
  return { parse: check, fallback };
}

export const p = {
  number: (def) => type((v, path) => {
    if (typeof v !== 'number') throw at(path, `invalid type: ${kindOf(v)}, expected f64`);
    return v;
  }, def),
  integer: (def) => type((v, path) => {
    if (!Number.isInteger(v)) throw at(path, `invalid type: ${kindOf(v)}, expected an integer`);
    return v;
  }, def),
  string: (def) => type((v, path) => {
    if (typeof v !== 'string') throw at(path, `invalid type: ${kindOf(v)}, expected a string`);
    return v;
  }, def),
  bool: (def) => type((v, path) => {
    if (typeof v !== 'boolean') throw at(path, `invalid type: ${kindOf(v)}, expected a boolean`);
    return v;
  }, def),
  oneOf: (names, def) => type((v, path) => {
    if (!names.includes(v)) {
      throw at(path, `unknown variant \`${v}\`, expected one of ${names.map((n) => `\`${n}\``).join(', ')}`);
    }
    return v;
  }, def),
  severity: (def) => p.oneOf(['info', 'warning', 'critical'], def),
  /** Absent or null reads as undefined. */
  optional: (inner) => ({ parse: (v, path) => (v == null ? undefined : inner.parse(v, path)), fallback: null }),
  list: (inner, def) => type((v, path) => {
    if (!Array.isArray(v)) throw at(path, `invalid type: ${kindOf(v)}, expected a list`);
    return v.map((x, i) => inner.parse(x, `${path}[${i}]`));
  }, def),
  object: (fields, def) => type((v, path) => parseObject(fields, v, path), def),
};

function parseObject(fields, value, path) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw at(path, `invalid type: ${kindOf(value)}, expected an object`);
  }
  const names = Object.keys(fields);
  for (const key of Object.keys(value)) {
    if (!names.includes(key)) {
      throw at(path ? `${path}.${key}` : key,
        `unknown field \`${key}\`, expected one of ${names.map((n) => `\`${n}\``).join(', ')}`);
    }
  }
  const out = {};
  for (const [name, t] of Object.entries(fields)) {
    const sub = path ? `${path}.${name}` : name;
    if (name in value) out[name] = t.parse(value[name], sub);
    else if (t.fallback === null) out[name] = undefined;
    else if (t.fallback !== undefined) out[name] = t.fallback;
    else throw at(path, `missing field \`${name}\``);
  }
  return out;
}

/** `json` (empty reads as `{}`) parsed against `schema`. */
export function parseParams(schema, json) {
  let value;
  try {
    value = json.trim() ? JSON.parse(json) : {};
  } catch (e) {
    throw new ParamsError(`params are not JSON: ${e.message}`);
  }
  return parseObject(schema, value, '');
}
