import { COMMIT_ARGS, luaBindings, RELEASE_ARGS, RESERVE_ARGS } from '../schema.js';
import { PRELUDE } from './prelude.js';

/**
 * The scripts on a wrapped call's path. Each touches one user's keys (one hash tag: one Redis
 * Cluster slot), declares every key in KEYS, validates all of its arguments before its first write
 * (Lua has no rollback), and starts with `#!lua`, so that Redis refuses it before it runs when
 * memory is full. The window hash's fields are described in prelude.ts.
 */

/** Reply of a config mismatch: the stored version, rules ('' = defaults) and anchor ('' = none). */
const STALE = `
local function stale(now)
  local cfg = redis.call('HMGET', KEYS[1], 'v', 'r', 'a')
  return { 'stale', now, tonumber(cfg[1]) or 0, cfg[2] or '', cfg[3] or '' }
end
`;

/** Reads the rules' windows (fields 'w:<rule>' at positions first.. of st). */
const WINDOWS = `
local function windowsAt(st, first, now)
  local wins, changed, maxEnd = {}, {}, now
  for i, r in ipairs(rules) do
    local w, rolled = current(r, now, state(st[first + i - 1]))
    if not w then return nil end
    wins[i], changed[i] = w, rolled
    if w.e > maxEnd then maxEnd = w.e end
  end
  return wins, changed, maxEnd
end
`;

/**
 * reserve: hold the amounts on every rule of the user in one step, or refuse and hold nothing.
 * KEYS[1] config hash, KEYS[2] window hash, KEYS[3] outcome hash of the reservation's 10 minutes.
 * ARGV: RESERVE_ARGS.
 * Replies: {'ok', now, replayed 0|1, new user 0|1, (start, end, used, held) per rule} |
 * {'rejected', now, rule index, (start, end, used, held) per rule} | {'disabled', now} |
 * {'closed', now} | {'stale', now, version, rules, anchor} | {'clock', now, at}
 */
export const RESERVE = `#!lua
${PRELUDE}
${luaBindings(RESERVE_ARGS)}
${STALE}
${WINDOWS}
local cfg = redis.call('HMGET', KEYS[1], 'v', 'x', 'a')
if cfg[2] == '0' then return { 'disabled', now } end
if (tonumber(cfg[1]) or 0) ~= version then return stale(now) end
if initAnchor and not cfg[3] then
  redis.call('HSET', KEYS[1], 'a', fmt(now))
  redis.call('HINCRBY', KEYS[1], 'v', 1)
  return stale(now)
end
local field = 'x:' .. id
local fields = { field, 'm', 'k' }
for i, r in ipairs(rules) do fields[3 + i] = 'w:' .. r.id end
local st = redis.call('HMGET', KEYS[2], unpack(fields))
local replayed = st[1] ~= false
if not replayed and redis.call('HEXISTS', KEYS[3], id) == 1 then return { 'closed', now } end
local isNew = not (cfg[1] or cfg[2] or cfg[3])
for i = 4, #fields do if st[i] then isNew = false end end

local wins, changed, maxEnd = windowsAt(st, 4, now)
if not wins then return { 'clock', now, now } end

local function refusing()
  for i, r in ipairs(rules) do
    local w = wins[i]
    if w.u + w.h + amounts[r.m] > r.limit then return i end
  end
  return nil
end

local function reply(head)
  for _, w in ipairs(wins) do
    head[#head + 1] = w.s; head[#head + 1] = w.e; head[#head + 1] = w.u; head[#head + 1] = w.h
  end
  return head
end

local set = {}
if not replayed then
  local refused = refusing()
  local earliest = tonumber(st[2]) or 0
  -- Holds whose lease ended still count until purged: purge only when they could be why.
  if refused and earliest > 0 and earliest <= now and purge(KEYS[2], now) then
    st = redis.call('HMGET', KEYS[2], unpack(fields))
    wins, changed, maxEnd = windowsAt(st, 4, now)
    refused = refusing()
    earliest = tonumber(st[2]) or 0
  end
  if refused then return reply({ 'rejected', now, refused - 1 }) end
  local expiry = now + lease
  local parts = { fmt(expiry) }
  for i, r in ipairs(rules) do
    local w, amount = wins[i], amounts[r.m]
    parts[i + 1] = r.id .. ' ' .. r.fp .. ' ' .. fmt(w.s) .. ' ' .. fmt(amount)
    if amount > 0 then
      w.h = w.h + amount
      changed[i] = true
    end
  end
  set[1] = field; set[2] = table.concat(parts, ' ', 1, 1) .. ' ' .. table.concat(parts, ';', 2)
  if earliest == 0 or expiry < earliest then set[3] = 'm'; set[4] = fmt(expiry) end
end
for i, r in ipairs(rules) do
  if changed[i] then set[#set + 1] = 'w:' .. r.id; set[#set + 1] = packed(wins[i]) end
end
if set[1] then
  redis.call('HSET', KEYS[2], unpack(set))
  keep(KEYS[2], KEYS[2], 'k', st[3], '', now, math.max(maxEnd - now, lease))
end
return reply({ 'ok', now, replayed and 1 or 0, isNew and 1 or 0 })
`;

/**
 * commit: charge the actual usage, once per reservation id (see CommitReply in stores/protocol).
 * KEYS[1] config hash, KEYS[2] window hash, KEYS[3] outcome hash of the reservation's 10 minutes,
 * KEYS[4] user log zset, KEYS[5] the user's history hash of the month.
 * ARGV: COMMIT_ARGS, then the record's JSON.
 * Replies: {'applied', now, alert count, (rule, threshold index, used, limit, start, end) per alert}
 * | {'duplicate', now, first commit time, 1 if that commit was this attempt, its alerts as
 * 'rule,threshold,used,limit,start,end' joined with '|' (this attempt only)} | {'released', now} |
 * {'stale', ...} | {'clock', now, at}
 */
export const COMMIT = `#!lua
${PRELUDE}
${luaBindings(COMMIT_ARGS)}
${STALE}
${WINDOWS}
local record = ARGV[p]
if not record or #record == 0 or #record > 1048576 then fail('invalid record') end
if (tonumber(redis.call('HGET', KEYS[1], 'v')) or 0) ~= version then return stale(now) end
local done = redis.call('HGET', KEYS[3], id)
if done then
  if string.sub(done, 1, 1) == 'r' then return { 'released', now } end
  local ts, first, alerts = string.match(done, '^c (%d+) (%S+) ?(.*)$')
  if first == attempt then return { 'duplicate', now, tonumber(ts), 1, alerts } end
  return { 'duplicate', now, tonumber(ts) or 0, 0, '' }
end
local field = 'x:' .. id
local fields = { field, 'm', 'k', 'kd', 'kl', 'kh' }
for i, r in ipairs(rules) do fields[6 + i] = 'w:' .. r.id end
local st = redis.call('HMGET', KEYS[2], unpack(fields))
local _, held = hold(st[1] or '')

local wins, _, maxEnd = windowsAt(st, 7, now)
if not wins then return { 'clock', now, now } end
local set, fired, out = {}, {}, { 'applied', now, 0 }
for i, r in ipairs(rules) do
  local w = wins[i]
  local amount, share = amounts[r.m], held[r.id]
  if costUnknown and r.m == 'c' then amount = share and share.amount or 0 end
  if share and share.fp == r.fp and share.s == w.s then
    w.h = math.max(0, w.h - share.amount)
    w.u = w.u + amount
  elseif share and share.fp == r.fp and share.s < w.s then
    w.u = w.u + math.max(0, amount - share.amount)
  else
    w.u = w.u + amount
  end
  for k, perMille in ipairs(thresholds) do
    local bit = 2 ^ (k - 1)
    if w.u > 0 and math.floor(w.a / bit) % 2 == 0 and w.u * 1000 >= r.limit * perMille then
      w.a = w.a + bit
      out[3] = out[3] + 1
      local a = { r.id, k - 1, w.u, r.limit, w.s, w.e }
      for _, v in ipairs(a) do out[#out + 1] = v end
      fired[#fired + 1] = r.id .. ',' .. (k - 1) .. ',' .. fmt(w.u) .. ',' .. fmt(r.limit) .. ',' .. fmt(w.s) .. ',' .. fmt(w.e)
    end
  end
  set[#set + 1] = 'w:' .. r.id; set[#set + 1] = packed(w)
end
if set[1] then redis.call('HSET', KEYS[2], unpack(set)) end
if st[1] then redis.call('HDEL', KEYS[2], field) end
redis.call('HSET', KEYS[3], id, 'c ' .. fmt(now) .. ' ' .. attempt .. ' ' .. table.concat(fired, '|'))
keep(KEYS[2], KEYS[3], 'kd', st[4], bucket, now, doneTtl)
keep(KEYS[2], KEYS[2], 'k', st[3], '', now, math.max(maxEnd - now, doneTtl))

redis.call('ZADD', KEYS[4], fmt(now), record)
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(logMax + 1))
keep(KEYS[2], KEYS[4], 'kl', st[5], '', now, logTtl)
local prefix = fmt(now - now % 3600000) .. '|' .. model .. '|'
redis.call('HINCRBY', KEYS[5], prefix .. 'r', fmt(amounts.r))
redis.call('HINCRBY', KEYS[5], prefix .. 'i', fmt(inputTokens))
redis.call('HINCRBY', KEYS[5], prefix .. 'o', fmt(outputTokens))
redis.call('HINCRBY', KEYS[5], prefix .. 'c', fmt(amounts.c))
keep(KEYS[2], KEYS[5], 'kh', st[6], month, now, historyTtl)
-- Holds of crashed callers are dropped once their lease has ended (rarely: see 'm').
local earliest = tonumber(st[2]) or 0
if earliest > 0 and earliest <= now then purge(KEYS[2], now) end
return out
`;

/**
 * release: drop a hold, once per reservation id (an unknown id is marked too, so that a late replay
 * of its reserve holds nothing).
 * KEYS[1] window hash, KEYS[2] outcome hash of the reservation's 10 minutes. ARGV: RELEASE_ARGS.
 * Replies: {'released' | 'duplicate' | 'committed', now}
 */
export const RELEASE = `#!lua
${PRELUDE}
${luaBindings(RELEASE_ARGS)}
local done = redis.call('HGET', KEYS[2], id)
if done and string.sub(done, 1, 1) == 'c' then return { 'committed', now } end
if done then return { 'duplicate', now } end
local field = 'x:' .. id
local st = redis.call('HMGET', KEYS[1], field, 'kd', 'k')
if st[1] then
  local _, shares = hold(st[1])
  local set = {}
  for rid, share in pairs(shares) do
    local cur = state(redis.call('HGET', KEYS[1], 'w:' .. rid))
    if cur and cur.fp == share.fp and cur.s == share.s then
      cur.h = math.max(0, cur.h - share.amount)
      set[#set + 1] = 'w:' .. rid; set[#set + 1] = packed(cur)
    end
  end
  if set[1] then redis.call('HSET', KEYS[1], unpack(set)) end
  redis.call('HDEL', KEYS[1], field)
end
redis.call('HSET', KEYS[2], id, 'r ' .. fmt(now))
keep(KEYS[1], KEYS[2], 'kd', st[2], bucket, now, doneTtl)
-- The horizon just written may have created the window hash: make sure it expires too.
keep(KEYS[1], KEYS[1], 'k', st[3], '', now, doneTtl)
return { 'released', now }
`;
