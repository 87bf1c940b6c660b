/**
 * Lua shared by the scripts: the validators named by the argument schema (schema.ts), and the window
 * steps of stores/protocol (window.ts, charge.ts) in Lua. Everything here is defined once per call
 * as locals of the script; keep it small, it runs on every call.
 *
 * A user's window hash (KEYS 'w') holds, per rule id `r`:
 *   s:r  "<fingerprint> <start> <end>" of the current window
 *   u:r  used;  h:r  held by live reservations;  a:r  bitmask of alert thresholds fired
 * and per reservation id `x`:
 *   H:x  the hold: "<rule> <fingerprint> <start> <amount>" per rule, joined with ';'
 *   D:x  the outcome: "c <time> <attempt> <alerts>" (committed) or "r <time>" (released)
 * The expiry zset (KEYS 'e') has each H: and D: field, scored by when it stops counting.
 */
export const PRELUDE = `
local MAXN = 9007199254740991
local function fail(message) error({ err = 'ERR token-limits: ' .. message }) end
local function fmt(n) return string.format('%d', n) end

local check = {}
function check.count(x, name)
  if type(x) ~= 'number' or not (x >= 0 and x <= MAXN) or x % 1 ~= 0 then fail('invalid ' .. name) end
  return x
end
function check.id(x, name)
  if type(x) ~= 'string' or #x == 0 or #x > 64 or string.find(x, '[^%w_%.%-]') then fail('invalid ' .. name) end
  return x
end
-- A boundary may precede 1970 (the window before one anchored then).
function check.time_(x, name)
  if type(x) ~= 'number' or not (x >= -MAXN and x <= MAXN) or x % 1 ~= 0 then fail('invalid ' .. name) end
  return x
end
function check.time(x, name)
  if x == nil then
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return check.count(x, name)
end
function check.flag(x, name)
  if type(x) ~= 'boolean' then fail('invalid ' .. name) end
  return x
end
local function list(x, name, max)
  if type(x) ~= 'table' or #x > max then fail('invalid ' .. name) end
  for k in pairs(x) do if type(k) ~= 'number' then fail('invalid ' .. name) end end
  return x
end
function check.amounts(x, name)
  list(x, name, 3)
  return { t = check.count(x[1], name), r = check.count(x[2], name), c = check.count(x[3], name) }
end
local METRICS = { t = true, r = true, c = true }
function check.rules(x, name)
  list(x, name, 16)
  local out = {}
  for i = 1, #x do
    local r = list(x[i], name, 8)
    local b = { check.time_(r[5], name), check.time_(r[6], name), check.time_(r[7], name), check.time_(r[8], name) }
    if not (b[1] < b[2] and b[2] < b[3] and b[3] < b[4]) then fail('invalid ' .. name .. ' (boundaries)') end
    if not METRICS[r[2]] then fail('invalid ' .. name .. ' (metric)') end
    local fp = r[4]
    if type(fp) ~= 'string' or #fp == 0 or #fp > 80 or string.find(fp, '[^%w_%.%-]') then fail('invalid ' .. name .. ' (fingerprint)') end
    out[i] = { id = check.id(r[1], name), m = r[2], limit = check.count(r[3], name), fp = fp, b = b }
  end
  return out
end
function check.thresholds(x, name)
  list(x, name, 10)
  for i = 1, #x do
    check.count(x[i], name)
    if i > 1 and x[i] <= x[i - 1] then fail('invalid ' .. name) end
  end
  return x
end
function check.model(x, name)
  if type(x) ~= 'string' or #x == 0 or #x > 1024 or string.find(x, '|', 1, true) then fail('invalid ' .. name) end
  return x
end
function check.buckets(x, name)
  list(x, name, 4096)
  for i = 1, #x do
    local b = list(x[i], name, 6)
    check.count(b[1], name)
    check.model(b[2], name)
    for j = 3, 6 do check.count(b[j], name) end
  end
  return x
end
function check.texts(x, name)
  list(x, name, 4096)
  for i = 1, #x do if type(x[i]) ~= 'string' or #x[i] == 0 or #x[i] > 262144 then fail('invalid ' .. name) end end
  return x
end
function check.ids(x, name)
  list(x, name, 4096)
  for i = 1, #x do check.id(x[i], name) end
  return x
end
function check.counts(x, name)
  list(x, name, 4096)
  for i = 1, #x do check.count(x[i], name) end
  return x
end

-- The current window of rule r: the stored one while 'now' is before its end (never backwards),
-- else the candidate that holds 'now'. Returns start, end, rolled over; or nil when none holds it.
local function pick(r, now, stored)
  if stored then
    local fp, s, e = string.match(stored, '^(%S+) (%-?%d+) (%-?%d+)$')
    if fp == r.fp and now < tonumber(e) then return tonumber(s), tonumber(e), false end
  end
  local b = r.b
  for j = 1, 3 do
    if b[j] <= now and now < b[j + 1] then return b[j], b[j + 1], true end
  end
  return nil
end

-- Drops a hold: its amounts stop counting in the windows it was made in (if still current).
local function dropHold(w, field)
  local payload = redis.call('HGET', w, field)
  if not payload then return end
  for rid, fp, s, amount in string.gmatch(payload, '([^%s;]+) ([^%s;]+) (%-?%d+) (%d+)') do
    local cur = redis.call('HMGET', w, 's:' .. rid, 'h:' .. rid)
    local cfp, cs = string.match(cur[1] or '', '^(%S+) (%-?%d+)')
    if cfp == fp and cs == s then
      local held = (tonumber(cur[2]) or 0) - tonumber(amount)
      if held < 0 then held = 0 end
      redis.call('HSET', w, 'h:' .. rid, fmt(held))
    end
  end
  redis.call('HDEL', w, field)
end

-- Bounded work per call: at most 'limit' expired holds and outcomes go; the rest still count (which
-- can only refuse more, never admit more) until a later call drops them.
local function purge(w, e, now, limit)
  local due = redis.call('ZRANGEBYSCORE', e, '-inf', now, 'LIMIT', 0, limit)
  if #due == 0 then return end
  for _, field in ipairs(due) do
    if string.sub(field, 1, 1) == 'H' then dropHold(w, field) else redis.call('HDEL', w, field) end
  end
  redis.call('ZREM', e, unpack(due))
end

-- Keeps a key at least 'ms' more (plus an hour of slack, so that most calls need no PEXPIRE).
local function keep(key, ms)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 or (ttl >= 0 and ttl < ms) then redis.call('PEXPIRE', key, fmt(ms + 3600000)) end
end
`;
