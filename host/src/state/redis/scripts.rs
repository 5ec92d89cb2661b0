//! The Lua scripts that make check-and-record atomic in Redis. Redis runs a
//! script alone, so two hosts claiming one key are serialized and the
//! second sees the first one's fire.
//!
//! Layout per template `t`, under the configured prefix `p`:
//! * `{p}h:{t}`: hash, alert key → `last_fired|last_value|severity|fires|suppressed`
//!   (`last_fired` as the host wrote it, so a claim compares strings);
//! * `{p}hs:{t}`: zset, alert key → host time last seen (the LRU and TTL
//!   bound, `history_keys` and `history_ttl`); both expire (`PEXPIRE`)
//!   `history_ttl` after their last write;
//! * `{p}kv:{t}`: hash, KV key → value; `{p}kvx:{t}`: zset, KV key → expiry
//!   (host time) of keys with a TTL; `{p}kvb:{t}`: bytes held (keys plus
//!   values), the `kv_bytes` quota's counter. `kv_keys` is `HLEN`.

use std::sync::LazyLock;

use redis::Script;

/// KEYS: history hash, seen zset. ARGV: now, forget-at-or-before (now -
/// ttl), max keys, PEXPIRE ms (`0`: none), then per record: alert key,
/// claim (`*`: a suppression; `!`: a fire, unconditional; else a fire if
/// `last_fired` is still the one the decision saw, `''` for never), value,
/// severity. Returns per record 1 (recorded as
/// given) or 0 (the claim was lost: recorded as a suppression).
pub static COMMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local h, z = KEYS[1], KEYS[2]
local now, cutoff, max = ARGV[1], ARGV[2], tonumber(ARGV[3])
local function forget(keys)
  for _, k in ipairs(keys) do
    redis.call('HDEL', h, k)
    redis.call('ZREM', z, k)
  end
end
local function make_room(key)
  if redis.call('ZSCORE', z, key) then return end
  if redis.call('ZCARD', z) < max then return end
  forget(redis.call('ZRANGEBYSCORE', z, '-inf', cutoff))
  local n = redis.call('ZCARD', z)
  if n < max then return end
  forget(redis.call('ZRANGE', z, 0, math.max(1, math.floor(n / 10)) - 1))
end
local out = {}
for i = 5, #ARGV, 4 do
  local key, claim, value, sev = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  make_room(key)
  local lf, lv, ls, n, x
  local cur = redis.call('HGET', h, key)
  if cur then
    lf, lv, ls, n, x = string.match(cur, '^([^|]*)|([^|]*)|([^|]*)|(%d+)|(%d+)$')
  end
  if lf == nil then lf, lv, ls, n, x = '', '', '', 0, 0 end
  n, x = tonumber(n), tonumber(x)
  local fire, won = claim ~= '*', 1
  if fire and claim ~= '!' and claim ~= lf then won = 0 end
  if fire and won == 1 then
    lf, lv, ls, n, x = now, value, sev, math.min(n + 1, 4294967295), 0
  else
    x = math.min(x + 1, 4294967295)
  end
  redis.call('HSET', h, key, table.concat({lf, lv, ls, string.format('%d', n), string.format('%d', x)}, '|'))
  redis.call('ZADD', z, now, key)
  out[#out + 1] = won
end
if ARGV[4] ~= '0' then
  redis.call('PEXPIRE', h, ARGV[4])
  redis.call('PEXPIRE', z, ARGV[4])
end
return out
"#,
    )
});

/// KEYS: KV hash, expiry zset, bytes counter. ARGV: now, max keys, max
/// bytes, then per write: op (`s` set, `d` delete), key, value, expiry
/// (`''`: none). Expired keys go first. Returns per write 0 (done), 1
/// (refused: `kv_keys`) or 2 (refused: `kv_bytes`).
pub static KV_WRITE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local h, z, b = KEYS[1], KEYS[2], KEYS[3]
local function size(key, value) if value then return #key + #value end return 0 end
local function remove(key)
  local old = redis.call('HGET', h, key)
  if old then
    redis.call('HDEL', h, key)
    redis.call('ZREM', z, key)
    redis.call('DECRBY', b, size(key, old))
  end
end
for _, k in ipairs(redis.call('ZRANGEBYSCORE', z, '-inf', ARGV[1])) do remove(k) end
local max_keys, max_bytes = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV, 4 do
  local op, key, value, exp = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local r = 0
  if op == 'd' then
    remove(key)
  else
    local old = redis.call('HGET', h, key)
    local keys = redis.call('HLEN', h)
    if not old then keys = keys + 1 end
    local delta = size(key, value) - size(key, old)
    local bytes = tonumber(redis.call('GET', b) or '0') + delta
    if keys > max_keys then r = 1
    elseif bytes > max_bytes then r = 2
    else
      redis.call('HSET', h, key, value)
      redis.call('INCRBY', b, delta)
      if exp == '' then redis.call('ZREM', z, key) else redis.call('ZADD', z, exp, key) end
    end
  end
  out[#out + 1] = r
end
return out
"#,
    )
});
