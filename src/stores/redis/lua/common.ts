/**
 * Lua shared by the scripts. Every number that arrives in ARGV is validated here again (TypeScript
 * already did): Lua's tonumber() accepts "nan", "inf", "0x10", " 12" and "-5", and a NaN slips
 * through `used + n > limit` guards. Validated strings, not Lua numbers, are passed to HINCRBY.
 *
 * Per-rule window state lives in the user hash as `w:<ruleId>:<field>`:
 *   f fingerprint of the window definition, s start (ms), e end (ms), u used, h held by live
 *   reservations, a bitmask of alert thresholds fired, l limit (as of the latest reserve).
 * A hold is `ruleId,fingerprint,start,metric,amount` per rule, joined with `;`.
 */
export const COMMON = `
local MAX_SAFE = '9007199254740991'

local function fail(message)
  error({ err = 'ERR token-limits: ' .. message })
end

-- A non-negative integer no larger than 2^53 - 1, without sign, spaces, exponent or leading zeros.
local function int(s, name)
  if type(s) ~= 'string' or #s == 0 or #s > 16 or not (s == '0' or string.match(s, '^[1-9]%d*$')) or (#s == 16 and s > MAX_SAFE) then
    fail('invalid ' .. name)
  end
  return tonumber(s)
end

-- Identifiers: reservation ids, rule ids, fingerprints.
local function ident(s, name, maxlen)
  if type(s) ~= 'string' or #s == 0 or #s > maxlen or string.find(s, '[^%w_%.%-]') then
    fail('invalid ' .. name)
  end
  return s
end

local function str(n)
  return string.format('%d', n)
end

-- The caller's clock when given (tests, the clock option), else the server's.
local function clock(arg)
  if arg ~= '' then
    return int(arg, 'now')
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local METRICS = { tokens = true, requests = true, cost = true }

-- n rules of 8 values from ARGV[first]: id, metric, limit, fingerprint, four boundaries.
local function parseRules(first)
  local n = int(ARGV[first], 'rule count')
  if n > 16 then fail('too many rules') end
  local rules = {}
  for i = 1, n do
    local base = first + (i - 1) * 8
    local r = {
      id = ident(ARGV[base + 1], 'rule id', 64),
      metric = ARGV[base + 2],
      limit = int(ARGV[base + 3], 'limit'),
      fp = ident(ARGV[base + 4], 'fingerprint', 80),
      b = {}, bs = {},
    }
    if not METRICS[r.metric] then fail('invalid metric') end
    for j = 1, 4 do
      r.bs[j] = ARGV[base + 4 + j]
      r.b[j] = int(r.bs[j], 'boundary')
      if j > 1 and r.b[j] <= r.b[j - 1] then fail('boundaries must increase') end
    end
    rules[i] = r
  end
  return rules
end

local function field(rid, f)
  return 'w:' .. rid .. ':' .. f
end

local function load(key, rid)
  local v = redis.call('HMGET', key, field(rid, 'f'), field(rid, 's'), field(rid, 'e'), field(rid, 'u'), field(rid, 'h'), field(rid, 'a'), field(rid, 'l'))
  return { f = v[1], s = v[2], e = v[3], u = tonumber(v[4]) or 0, h = tonumber(v[5]) or 0, a = tonumber(v[6]) or 0, l = tonumber(v[7]) or 0 }
end

-- The window of rule r that holds 'now', or the stored one if it is newer (never backwards).
-- Returns the window, or nil and the time to recompute candidates around.
local function pick(r, now, st)
  local idx = nil
  for i = 1, 3 do
    if r.b[i] <= now and now < r.b[i + 1] then idx = i end
  end
  if not idx then return nil, now end
  local stored = st.s and tonumber(st.s) or nil
  if st.f == r.fp and stored and stored > r.b[idx] then
    idx = nil
    for i = 1, 3 do
      if r.bs[i] == st.s then idx = i end
    end
    if not idx then return nil, stored end
  end
  return { s = r.bs[idx], e = r.bs[idx + 1], roll = not (st.f == r.fp and st.s == r.bs[idx]) }
end

-- Drops a hold: its amounts stop counting in the windows it was made in (if still current).
local function dropHold(userKey, holdsKey, expiriesKey, id)
  local payload = redis.call('HGET', holdsKey, id)
  if payload then
    for rid, fp, s, metric, amount in string.gmatch(payload, '([^,;]+),([^,;]+),([^,;]+),([^,;]+),([^,;]+)') do
      local cur = redis.call('HMGET', userKey, field(rid, 'f'), field(rid, 's'))
      if cur[1] == fp and cur[2] == s and amount ~= '0' then
        if redis.call('HINCRBY', userKey, field(rid, 'h'), '-' .. amount) < 0 then
          redis.call('HSET', userKey, field(rid, 'h'), '0')
        end
      end
    end
    redis.call('HDEL', holdsKey, id)
  end
  redis.call('ZREM', expiriesKey, id)
end

-- Bounded work per call: at most 'limit' expired holds are dropped; the rest still count (which
-- can only refuse more, never admit more) until a later call drops them. Returns how many.
local function purgeHolds(userKey, holdsKey, expiriesKey, now, limit)
  local ids = redis.call('ZRANGEBYSCORE', expiriesKey, '-inf', str(now), 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    dropHold(userKey, holdsKey, expiriesKey, id)
  end
  return #ids
end

local function purgeDone(doneKey, doneExpiriesKey, now)
  local ids = redis.call('ZRANGEBYSCORE', doneExpiriesKey, '-inf', str(now), 'LIMIT', 0, 100)
  for _, id in ipairs(ids) do
    redis.call('HDEL', doneKey, id)
    redis.call('ZREM', doneExpiriesKey, id)
  end
end
`;
