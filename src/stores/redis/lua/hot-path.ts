import { COMMIT_ARGS, luaBindings, RELEASE_ARGS, RESERVE_ARGS } from '../schema.js';
import { PRELUDE } from './prelude.js';

/**
 * The scripts on a wrapped call's path. Each touches one user's keys (one hash tag: one Redis
 * Cluster slot), declares every key in KEYS, validates all of its arguments before its first write
 * (Lua has no rollback), and starts with `#!lua`, so that Redis refuses it before it runs when
 * memory is full. Window fields are described in prelude.ts.
 */

/** Reply of a config mismatch: the stored version, rules ('' = defaults) and anchor ('' = none). */
const STALE = `
local function stale(now)
  local cfg = redis.call('HMGET', KEYS[1], 'v', 'r', 'a')
  return { 'stale', now, tonumber(cfg[1]) or 0, cfg[2] or '', cfg[3] or '' }
end
`;

/**
 * reserve: hold the amounts on every rule of the user in one step, or refuse and hold nothing.
 * KEYS[1] config hash, KEYS[2] window hash, KEYS[3] expiry zset. ARGV[1] RESERVE_ARGS.
 * Replies: {'ok', now, replayed 0|1, new user 0|1, (start, end, used, held) per rule} |
 * {'rejected', now, rule index, (start, end, used, held) per rule} | {'disabled', now} |
 * {'closed', now} | {'stale', now, version, rules, anchor} | {'clock', now, at}
 */
export const RESERVE = `#!lua
${PRELUDE}
${luaBindings(RESERVE_ARGS)}
${STALE}
local cfg = redis.call('HMGET', KEYS[1], 'v', 'x', 'a')
if cfg[2] == '0' then return { 'disabled', now } end
if (tonumber(cfg[1]) or 0) ~= version then return stale(now) end
if initAnchor and not cfg[3] then
  redis.call('HSET', KEYS[1], 'a', fmt(now))
  redis.call('HINCRBY', KEYS[1], 'v', 1)
  return stale(now)
end
purge(KEYS[2], KEYS[3], now, 100)
local hold = 'H:' .. id
local fields = { hold, 'D:' .. id }
for i, r in ipairs(rules) do
  fields[#fields + 1] = 's:' .. r.id
  fields[#fields + 1] = 'u:' .. r.id
  fields[#fields + 1] = 'h:' .. r.id
end
local st = redis.call('HMGET', KEYS[2], unpack(fields))
local replayed = st[1] ~= false
if not replayed and st[2] then return { 'closed', now } end

-- Each rule's window is read once; writes are collected and made at the end.
local isNew = not (cfg[1] or cfg[2] or cfg[3])
local set, wins, maxEnd = {}, {}, now
for i, r in ipairs(rules) do
  local base = i * 3
  if st[base] then isNew = false end
  local s, e, rolled = pick(r, now, st[base])
  if not s then return { 'clock', now, now } end
  local used, held = tonumber(st[base + 1]) or 0, tonumber(st[base + 2]) or 0
  if rolled then
    used, held = 0, 0
    set[#set + 1] = 's:' .. r.id; set[#set + 1] = r.fp .. ' ' .. fmt(s) .. ' ' .. fmt(e)
    set[#set + 1] = 'u:' .. r.id; set[#set + 1] = '0'
    set[#set + 1] = 'h:' .. r.id; set[#set + 1] = '0'
    set[#set + 1] = 'a:' .. r.id; set[#set + 1] = '0'
  end
  wins[i] = { s, e, used, held }
  if e > maxEnd then maxEnd = e end
end

local function reply(head)
  for _, w in ipairs(wins) do
    head[#head + 1] = w[1]; head[#head + 1] = w[2]; head[#head + 1] = w[3]; head[#head + 1] = w[4]
  end
  return head
end

if not replayed then
  for i, r in ipairs(rules) do
    local w = wins[i]
    if w[3] + w[4] + amounts[r.m] > r.limit then return reply({ 'rejected', now, i - 1 }) end
  end
  local shares = {}
  for i, r in ipairs(rules) do
    local w = wins[i]
    local amount = amounts[r.m]
    shares[i] = r.id .. ' ' .. r.fp .. ' ' .. fmt(w[1]) .. ' ' .. fmt(amount)
    if amount > 0 then
      w[4] = w[4] + amount
      set[#set + 1] = 'h:' .. r.id; set[#set + 1] = fmt(w[4])
    end
  end
  set[#set + 1] = hold; set[#set + 1] = table.concat(shares, ';')
  redis.call('ZADD', KEYS[3], fmt(now + lease), hold)
  keep(KEYS[3], lease)
end
if set[1] then
  redis.call('HSET', KEYS[2], unpack(set))
  keep(KEYS[2], math.max(maxEnd - now, lease))
end
return reply({ 'ok', now, replayed and 1 or 0, isNew and 1 or 0 })
`;

/**
 * commit: charge the actual usage, once per reservation id (see CommitReply in stores/protocol).
 * KEYS[1] config hash, KEYS[2] window hash, KEYS[3] expiry zset, KEYS[4] user log zset, KEYS[5]
 * the user's history hash of the month. ARGV[1] COMMIT_ARGS, ARGV[2] the record's JSON.
 * Replies: {'applied', now, alert count, (rule, threshold index, used, limit, start, end) per alert}
 * | {'duplicate', now, first commit time, 1 if that commit was this attempt, its alerts as
 * 'rule,threshold,used,limit,start,end' joined with '|' (this attempt only)} | {'released', now} |
 * {'stale', ...} | {'clock', now, at}
 */
export const COMMIT = `#!lua
${PRELUDE}
${luaBindings(COMMIT_ARGS)}
${STALE}
local record = ARGV[2]
if type(record) ~= 'string' or #record == 0 or #record > 1048576 then fail('invalid record') end
if (tonumber(redis.call('HGET', KEYS[1], 'v')) or 0) ~= version then return stale(now) end
local hold, doneField = 'H:' .. id, 'D:' .. id
local done = redis.call('HGET', KEYS[2], doneField)
if done then
  if string.sub(done, 1, 1) == 'r' then return { 'released', now } end
  local ts, first, alerts = string.match(done, '^c (%d+) (%S+) ?(.*)$')
  if first == attempt then return { 'duplicate', now, tonumber(ts), 1, alerts } end
  return { 'duplicate', now, tonumber(ts) or 0, 0, '' }
end
purge(KEYS[2], KEYS[3], now, 100)
local fields = { hold }
for i, r in ipairs(rules) do
  fields[#fields + 1] = 's:' .. r.id
  fields[#fields + 1] = 'u:' .. r.id
  fields[#fields + 1] = 'h:' .. r.id
  fields[#fields + 1] = 'a:' .. r.id
end
local st = redis.call('HMGET', KEYS[2], unpack(fields))
local shares = {}
if st[1] then
  for rid, fp, s, amount in string.gmatch(st[1], '([^%s;]+) ([^%s;]+) (%-?%d+) (%d+)') do
    shares[rid] = { fp = fp, s = tonumber(s), amount = tonumber(amount) }
  end
end

local set, fired, out, maxEnd = {}, {}, { 'applied', now, 0 }, now
for i, r in ipairs(rules) do
  local base = i * 4 - 2
  local s, e, rolled = pick(r, now, st[base])
  if not s then return { 'clock', now, now } end
  local used, held, alerts = tonumber(st[base + 1]) or 0, tonumber(st[base + 2]) or 0, tonumber(st[base + 3]) or 0
  if rolled then
    used, held, alerts = 0, 0, 0
    set[#set + 1] = 's:' .. r.id; set[#set + 1] = r.fp .. ' ' .. fmt(s) .. ' ' .. fmt(e)
  end
  local amount, share = amounts[r.m], shares[r.id]
  if costUnknown and r.m == 'c' then amount = share and share.amount or 0 end
  if share and share.fp == r.fp and share.s == s then
    held = math.max(0, held - share.amount)
    used = used + amount
  elseif share and share.fp == r.fp and share.s < s then
    used = used + math.max(0, amount - share.amount)
  else
    used = used + amount
  end
  for k, perMille in ipairs(thresholds) do
    local bit = 2 ^ (k - 1)
    if used > 0 and math.floor(alerts / bit) % 2 == 0 and used * 1000 >= r.limit * perMille then
      alerts = alerts + bit
      out[3] = out[3] + 1
      local a = { r.id, k - 1, used, r.limit, s, e }
      for _, v in ipairs(a) do out[#out + 1] = v end
      fired[#fired + 1] = r.id .. ',' .. (k - 1) .. ',' .. fmt(used) .. ',' .. fmt(r.limit) .. ',' .. fmt(s) .. ',' .. fmt(e)
    end
  end
  set[#set + 1] = 'u:' .. r.id; set[#set + 1] = fmt(used)
  set[#set + 1] = 'h:' .. r.id; set[#set + 1] = fmt(held)
  set[#set + 1] = 'a:' .. r.id; set[#set + 1] = fmt(alerts)
  if e > maxEnd then maxEnd = e end
end
set[#set + 1] = doneField
set[#set + 1] = 'c ' .. fmt(now) .. ' ' .. attempt .. ' ' .. table.concat(fired, '|')
redis.call('HSET', KEYS[2], unpack(set))
if st[1] then redis.call('HDEL', KEYS[2], hold) end
redis.call('ZADD', KEYS[3], fmt(now + doneTtl), doneField)
if st[1] then redis.call('ZREM', KEYS[3], hold) end
keep(KEYS[2], math.max(maxEnd - now, doneTtl))
keep(KEYS[3], doneTtl)

redis.call('ZADD', KEYS[4], fmt(now), record)
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(logMax + 1))
keep(KEYS[4], logTtl)
local prefix = fmt(now - now % 3600000) .. '|' .. model .. '|'
redis.call('HINCRBY', KEYS[5], prefix .. 'r', fmt(amounts.r))
redis.call('HINCRBY', KEYS[5], prefix .. 'i', fmt(inputTokens))
redis.call('HINCRBY', KEYS[5], prefix .. 'o', fmt(outputTokens))
redis.call('HINCRBY', KEYS[5], prefix .. 'c', fmt(amounts.c))
keep(KEYS[5], historyTtl)
return out
`;

/**
 * release: drop a hold, once per reservation id (an unknown id is marked too, so that a late replay
 * of its reserve holds nothing).
 * KEYS[1] window hash, KEYS[2] expiry zset. ARGV[1] RELEASE_ARGS.
 * Replies: {'released' | 'duplicate' | 'committed', now}
 */
export const RELEASE = `#!lua
${PRELUDE}
${luaBindings(RELEASE_ARGS)}
local doneField = 'D:' .. id
local done = redis.call('HGET', KEYS[1], doneField)
if done then
  if string.sub(done, 1, 1) == 'c' then return { 'committed', now } end
  return { 'duplicate', now }
end
purge(KEYS[1], KEYS[2], now, 100)
dropHold(KEYS[1], 'H:' .. id)
redis.call('ZREM', KEYS[2], 'H:' .. id)
redis.call('HSET', KEYS[1], doneField, 'r ' .. fmt(now))
redis.call('ZADD', KEYS[2], fmt(now + doneTtl), doneField)
keep(KEYS[1], doneTtl)
keep(KEYS[2], doneTtl)
return { 'released', now }
`;
