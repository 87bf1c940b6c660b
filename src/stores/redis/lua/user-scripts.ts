import { COMMON } from './common.js';

/**
 * Scripts on one user's keys. Every key of a user shares that user's hash tag, so each script
 * touches one slot (Redis Cluster safe), and every key it touches is declared in KEYS.
 * `#!lua` makes Redis refuse a script before it runs when memory is full (no partial writes).
 * All validation happens before the first write: Lua scripts have no rollback.
 */

/**
 * reserve: hold amounts on every rule of the user in one step, or refuse and hold nothing.
 * KEYS[1] user hash, KEYS[2] holds hash, KEYS[3] hold expiries zset, KEYS[4] done hash
 * ARGV[1] reservation id, ARGV[2] config version the rules come from, ARGV[3] now ('' = TIME),
 * ARGV[4] lease ms, ARGV[5] '1' to set the user's anchor if missing, ARGV[6] tokens,
 * ARGV[7] requests, ARGV[8] cost (micro-USD), ARGV[9] '1' to skip the limit check,
 * ARGV[10] rule count, then 8 per rule: id, metric, limit, fingerprint, 4 boundaries.
 * Replies: {'ok', now, replayed, isNew, windows...} | {'rejected', now, ruleIndex, windows...} |
 * {'disabled', now} | {'closed', now} | {'stale', now, version, rules, anchor} | {'clock', now, at};
 * windows are start, end, used, held per rule.
 */
export const RESERVE = `#!lua
${COMMON}
local id = ident(ARGV[1], 'reservation id', 64)
local version = int(ARGV[2], 'config version')
local now = clock(ARGV[3])
local lease = int(ARGV[4], 'lease')
local amounts = { tokens = ARGV[6], requests = ARGV[7], cost = ARGV[8] }
for name, value in pairs(amounts) do int(value, name) end
local rules = parseRules(10)

local cfg = redis.call('HMGET', KEYS[1], 'active', 'v', 'rules', 'anchor')
if cfg[1] == '0' then return { 'disabled', now } end
local stored = tonumber(cfg[2]) or 0
if stored ~= version then return { 'stale', now, stored, cfg[3] or '', cfg[4] or '' } end
if ARGV[5] == '1' and not cfg[4] then
  redis.call('HSET', KEYS[1], 'anchor', str(now))
  local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
  return { 'stale', now, v, cfg[3] or '', str(now) }
end
local replayed = redis.call('HEXISTS', KEYS[2], id) == 1
if not replayed and redis.call('HEXISTS', KEYS[4], id) == 1 then return { 'closed', now } end

-- Each rule's state is read once; every later step works on these copies.
local picked, states = {}, {}
local isNew = not (cfg[1] or cfg[2] or cfg[3] or cfg[4])
for i, r in ipairs(rules) do
  local st = load(KEYS[1], r.id)
  if st.f then isNew = false end
  local w, at = pick(r, now, st)
  if not w then return { 'clock', now, at } end
  picked[i], states[i] = w, st
end

-- Writes start here.
for i, r in ipairs(rules) do
  local w, st = picked[i], states[i]
  if w.roll then
    redis.call('HSET', KEYS[1], field(r.id, 'f'), r.fp, field(r.id, 's'), w.s, field(r.id, 'e'), w.e,
      field(r.id, 'u'), '0', field(r.id, 'h'), '0', field(r.id, 'a'), '0')
    states[i] = { f = r.fp, s = w.s, e = w.e, u = 0, h = 0, a = 0, l = st.l }
  end
  if states[i].l ~= r.limit then redis.call('HSET', KEYS[1], field(r.id, 'l'), str(r.limit)) end
end
if purgeHolds(KEYS[1], KEYS[2], KEYS[3], now, 100) > 0 then
  -- Expired holds were dropped: their amounts left the held counters.
  for i, r in ipairs(rules) do states[i].h = tonumber(redis.call('HGET', KEYS[1], field(r.id, 'h'))) or 0 end
end

local function windows(reply)
  for _, st in ipairs(states) do
    table.insert(reply, st.s)
    table.insert(reply, st.e)
    table.insert(reply, str(st.u))
    table.insert(reply, str(st.h))
  end
  return reply
end

if replayed then return windows({ 'ok', now, 1, 0 }) end
if ARGV[9] ~= '1' then
  for i, r in ipairs(rules) do
    local st = states[i]
    if st.u + st.h + tonumber(amounts[r.metric]) > r.limit then
      return windows({ 'rejected', now, i - 1 })
    end
  end
end
local parts = {}
for i, r in ipairs(rules) do
  local amount = amounts[r.metric]
  table.insert(parts, r.id .. ',' .. r.fp .. ',' .. picked[i].s .. ',' .. r.metric .. ',' .. amount)
  if amount ~= '0' then states[i].h = redis.call('HINCRBY', KEYS[1], field(r.id, 'h'), amount) end
end
redis.call('HSET', KEYS[2], id, table.concat(parts, ';'))
redis.call('ZADD', KEYS[3], str(now + lease), id)
return windows({ 'ok', now, 0, isNew and 1 or 0 })
`;

/**
 * commit: replace a hold with the actual usage, once per reservation id.
 * KEYS[1] user hash, KEYS[2] holds hash, KEYS[3] hold expiries, KEYS[4] done hash,
 * KEYS[5] done expiries zset, KEYS[6] user log zset, KEYS[7] user history hash of the day
 * ARGV[1] reservation id, ARGV[2] now ('' = TIME), ARGV[3] tokens, ARGV[4] requests,
 * ARGV[5] cost (micro-USD), ARGV[6] input tokens, ARGV[7] output tokens, ARGV[8] record JSON,
 * ARGV[9] model (encoded), ARGV[10] log max length, ARGV[11] log retention ms,
 * ARGV[12] history retention ms, ARGV[13] done ttl ms, ARGV[14] threshold count k,
 * ARGV[15..14+k] thresholds (per mille), then the window count m and 5 per window:
 * rule id, fingerprint, start, metric, amount held; then (optional, '' = none) the attempt id of
 * this commit call and the m window ends.
 * Replies: {'applied', now, alertCount, (ruleId, threshold index, used, limit, start, end)...} |
 * {'duplicate', now, first commit time, 1 if the first commit was this attempt else 0, its alerts
 * as 'ruleId,threshold,used,limit,start,end' joined with ';' (own attempt only)} | {'released', now}
 * The done entry of a commit is 'c:<time>:<attempt>:<alerts>' (older entries: 'c:<time>').
 * A window whose state is gone entirely (the store lost its data, or the user was deleted while
 * the call was in flight) is recreated from the hold when its end is known, so the usage is not
 * dropped; no alert fires for it (its limit is unknown until the next reserve).
 */
export const COMMIT = `#!lua
${COMMON}
local id = ident(ARGV[1], 'reservation id', 64)
local now = clock(ARGV[2])
local amounts = { tokens = ARGV[3], requests = ARGV[4], cost = ARGV[5] }
for name, value in pairs(amounts) do int(value, name) end
int(ARGV[6], 'input tokens')
int(ARGV[7], 'output tokens')
local record = ARGV[8]
if type(record) ~= 'string' or #record == 0 or #record > 65536 then fail('invalid record') end
local model = ARGV[9]
if type(model) ~= 'string' or #model == 0 or #model > 1024 or string.find(model, '|', 1, true) then fail('invalid model') end
local logMax = int(ARGV[10], 'log max length')
local logRetention = int(ARGV[11], 'log retention')
local historyRetention = int(ARGV[12], 'history retention')
local doneTtl = int(ARGV[13], 'done ttl')
local k = int(ARGV[14], 'threshold count')
if k > 10 then fail('too many thresholds') end
local thresholds = {}
for i = 1, k do thresholds[i] = int(ARGV[14 + i], 'threshold') end
local m = int(ARGV[15 + k], 'window count')
if m > 16 then fail('too many windows') end
local held = {}
for i = 1, m do
  local base = 15 + k + (i - 1) * 5
  local w = { id = ident(ARGV[base + 1], 'rule id', 64), fp = ident(ARGV[base + 2], 'fingerprint', 80), s = ARGV[base + 3], metric = ARGV[base + 4] }
  int(w.s, 'window start')
  int(ARGV[base + 5], 'held amount')
  if not METRICS[w.metric] then fail('invalid metric') end
  held[i] = w
end
local tail = 16 + k + m * 5
local attempt = ARGV[tail] or ''
if attempt ~= '' then ident(attempt, 'attempt id', 64) end
for i = 1, m do
  local e = ARGV[tail + i] or ''
  if e ~= '' then
    int(e, 'window end')
    held[i].e = e
  end
end

local done = redis.call('HGET', KEYS[4], id)
if done then
  if string.sub(done, 1, 1) ~= 'c' then return { 'released', now } end
  local ts, rest = string.match(done, '^c:(%d+)(.*)$')
  local first, alerts = string.match(rest or '', '^:([^:]*):(.*)$')
  if attempt ~= '' and first == attempt then return { 'duplicate', now, ts, 1, alerts } end
  return { 'duplicate', now, ts or '0', 0, '' }
end

-- Writes start here.
dropHold(KEYS[1], KEYS[2], KEYS[3], id)
local reply = { 'applied', now, 0 }
local fired_log = {}
for _, w in ipairs(held) do
  local st = load(KEYS[1], w.id)
  local recreated = false
  if not st.f and w.e then
    redis.call('HSET', KEYS[1], field(w.id, 'f'), w.fp, field(w.id, 's'), w.s, field(w.id, 'e'), w.e,
      field(w.id, 'u'), '0', field(w.id, 'h'), '0', field(w.id, 'a'), '0')
    st = load(KEYS[1], w.id)
    recreated = true
  end
  -- Usage lands in the window the reservation was made in, if that window is still current.
  if st.f == w.fp and st.s == w.s then
    local amount = amounts[w.metric]
    local used = st.u
    if amount ~= '0' then used = redis.call('HINCRBY', KEYS[1], field(w.id, 'u'), amount) end
    local fired = st.a
    for i, perMille in ipairs(thresholds) do
      local flag = 2 ^ (i - 1)
      if not recreated and bit.band(fired, flag) == 0 and used > 0 and used * 1000 >= st.l * perMille then
        fired = bit.bor(fired, flag)
        reply[3] = reply[3] + 1
        local entry = { w.id, i - 1, str(used), str(st.l), st.s, st.e }
        for _, v in ipairs(entry) do table.insert(reply, v) end
        table.insert(fired_log, table.concat(entry, ','))
      end
    end
    if fired ~= st.a then redis.call('HSET', KEYS[1], field(w.id, 'a'), str(fired)) end
  end
end
redis.call('HSET', KEYS[4], id, 'c:' .. str(now) .. ':' .. attempt .. ':' .. table.concat(fired_log, ';'))
redis.call('ZADD', KEYS[5], str(now + doneTtl), id)
purgeDone(KEYS[4], KEYS[5], now)

redis.call('ZADD', KEYS[6], str(now), record)
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', '(' .. str(now - logRetention))
redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -(logMax + 1))

local prefix = str(now - now % 3600000) .. '|' .. model .. '|'
redis.call('HINCRBY', KEYS[7], prefix .. 'r', amounts.requests)
redis.call('HINCRBY', KEYS[7], prefix .. 'i', ARGV[6])
redis.call('HINCRBY', KEYS[7], prefix .. 'o', ARGV[7])
redis.call('HINCRBY', KEYS[7], prefix .. 'c', amounts.cost)
-- Relative TTL: correct whether 'now' is the server's clock or a caller's (even a past) clock.
redis.call('PEXPIRE', KEYS[7], str(historyRetention + 86400000))
return reply
`;

/**
 * release: drop a hold, once per reservation id (also marks an unknown id, so that a late replay
 * of its reserve holds nothing).
 * KEYS[1] user hash, KEYS[2] holds hash, KEYS[3] hold expiries, KEYS[4] done hash, KEYS[5] done expiries
 * ARGV[1] reservation id, ARGV[2] now ('' = TIME), ARGV[3] done ttl ms
 * Replies: {'released' | 'duplicate' | 'committed', now}
 */
export const RELEASE = `#!lua
${COMMON}
local id = ident(ARGV[1], 'reservation id', 64)
local now = clock(ARGV[2])
local doneTtl = int(ARGV[3], 'done ttl')
local done = redis.call('HGET', KEYS[4], id)
if done then
  if string.sub(done, 1, 1) == 'c' then return { 'committed', now } end
  return { 'duplicate', now }
end
dropHold(KEYS[1], KEYS[2], KEYS[3], id)
redis.call('HSET', KEYS[4], id, 'r:' .. str(now))
redis.call('ZADD', KEYS[5], str(now + doneTtl), id)
purgeDone(KEYS[4], KEYS[5], now)
return { 'released', now }
`;

/**
 * read: the user's windows without writing; expired holds do not count.
 * KEYS[1] user hash, KEYS[2] holds hash, KEYS[3] hold expiries
 * ARGV[1] config version, ARGV[2] now ('' = TIME), ARGV[3] rule count, then 8 per rule.
 * Replies: {'ok', now, active, windows...} | {'stale', ...} | {'clock', now, at}
 */
export const READ = `#!lua flags=no-writes
${COMMON}
local version = int(ARGV[1], 'config version')
local now = clock(ARGV[2])
local rules = parseRules(3)
local cfg = redis.call('HMGET', KEYS[1], 'active', 'v', 'rules', 'anchor')
local stored = tonumber(cfg[2]) or 0
if stored ~= version then return { 'stale', now, stored, cfg[3] or '', cfg[4] or '' } end
local states = {}
for i, r in ipairs(rules) do
  local st = load(KEYS[1], r.id)
  local w, at = pick(r, now, st)
  if not w then return { 'clock', now, at } end
  states[i] = { st = st, w = w, expired = 0 }
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', str(now), 'LIMIT', 0, 1000)
for _, hid in ipairs(ids) do
  local payload = redis.call('HGET', KEYS[2], hid)
  if payload then
    for rid, fp, s, _, amount in string.gmatch(payload, '([^,;]+),([^,;]+),([^,;]+),([^,;]+),([^,;]+)') do
      for i, r in ipairs(rules) do
        local x = states[i]
        if r.id == rid and x.st.f == fp and x.st.s == s then x.expired = x.expired + tonumber(amount) end
      end
    end
  end
end
local reply = { 'ok', now, cfg[1] == '0' and 0 or 1 }
for i, _ in ipairs(rules) do
  local x = states[i]
  table.insert(reply, x.w.s)
  table.insert(reply, x.w.e)
  if x.w.roll then
    table.insert(reply, '0')
    table.insert(reply, '0')
  else
    table.insert(reply, str(x.st.u))
    table.insert(reply, str(math.max(0, x.st.h - x.expired)))
  end
end
return reply
`;

/**
 * get-config: KEYS[1] user hash. Reply: {version, rules, anchor, active, exists}.
 */
export const GET_CONFIG = `#!lua flags=no-writes
local cfg = redis.call('HMGET', KEYS[1], 'v', 'rules', 'anchor', 'active')
return { cfg[1] or '0', cfg[2] or '', cfg[3] or '', cfg[4] == '0' and 0 or 1, redis.call('EXISTS', KEYS[1]) }
`;

/**
 * set-config: replace rules (or drop them: back to the defaults), maybe set the anchor, forget the
 * window state of removed rules, and bump the version.
 * KEYS[1] user hash. ARGV[1] rules JSON ('' = defaults), ARGV[2] anchor ('' = keep),
 * ARGV[3..] removed rule ids. Reply: the new version.
 */
export const SET_CONFIG = `#!lua
${COMMON}
local rules = ARGV[1]
if #rules > 65536 then fail('rules too long') end
if ARGV[2] ~= '' then int(ARGV[2], 'anchor') end
for i = 3, #ARGV do ident(ARGV[i], 'rule id', 64) end
if rules == '' then redis.call('HDEL', KEYS[1], 'rules') else redis.call('HSET', KEYS[1], 'rules', rules) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'anchor', ARGV[2]) end
for i = 3, #ARGV do
  redis.call('HDEL', KEYS[1], field(ARGV[i], 'f'), field(ARGV[i], 's'), field(ARGV[i], 'e'), field(ARGV[i], 'u'),
    field(ARGV[i], 'h'), field(ARGV[i], 'a'), field(ARGV[i], 'l'))
end
return redis.call('HINCRBY', KEYS[1], 'v', 1)
`;

/** set-active: KEYS[1] user hash, ARGV[1] '1' or '0'. */
export const SET_ACTIVE = `#!lua
if ARGV[1] ~= '1' and ARGV[1] ~= '0' then error({ err = 'ERR token-limits: invalid active flag' }) end
redis.call('HSET', KEYS[1], 'active', ARGV[1])
return 1
`;

/** reset-usage: zero used and fired alerts of existing windows. KEYS[1] user hash, ARGV rule ids. */
export const RESET_USAGE = `#!lua
${COMMON}
for i = 1, #ARGV do ident(ARGV[i], 'rule id', 64) end
for i = 1, #ARGV do
  if redis.call('HEXISTS', KEYS[1], field(ARGV[i], 'f')) == 1 then
    redis.call('HSET', KEYS[1], field(ARGV[i], 'u'), '0', field(ARGV[i], 'a'), '0')
  end
end
return 1
`;

/** delete-keys: delete every given key of one user (all in the user's slot). */
export const DELETE_KEYS = `#!lua
return redis.call('DEL', unpack(KEYS))
`;

/** read-hashes: HGETALL of every key (history days). Reply: one flat array per key. */
export const READ_HASHES = `#!lua flags=no-writes
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
`;

/**
 * read-log: newest entries of a log zset. KEYS[1] log; ARGV[1] until (ms or '+inf'),
 * ARGV[2] since (ms or '-inf'), ARGV[3] limit. Reply: member, score pairs.
 */
export const READ_LOG = `#!lua flags=no-writes
return redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
`;
