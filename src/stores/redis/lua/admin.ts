import { luaBindings, READ_ARGS } from '../schema.js';
import { PRELUDE } from './prelude.js';

/** Scripts on one user's keys that are never on a wrapped call's path: reads and admin writes. */

/**
 * read: the user's windows without writing; expired holds do not count.
 * KEYS[1] config hash, KEYS[2] window hash, KEYS[3] expiry zset. ARGV[1] READ_ARGS.
 * Replies: {'ok', now, active 0|1, (start, end, used, held) per rule} | {'stale', now, version,
 * rules, anchor} | {'clock', now, at}
 */
export const READ = `#!lua flags=no-writes
${PRELUDE}
${luaBindings(READ_ARGS)}
local cfg = redis.call('HMGET', KEYS[1], 'v', 'x', 'r', 'a')
if (tonumber(cfg[1]) or 0) ~= version then return { 'stale', now, tonumber(cfg[1]) or 0, cfg[3] or '', cfg[4] or '' } end
local fields = {}
for _, r in ipairs(rules) do
  fields[#fields + 1] = 's:' .. r.id
  fields[#fields + 1] = 'u:' .. r.id
  fields[#fields + 1] = 'h:' .. r.id
end
local st = #fields > 0 and redis.call('HMGET', KEYS[2], unpack(fields)) or {}
local wins = {}
for i, r in ipairs(rules) do
  local s, e, rolled = pick(r, now, st[i * 3 - 2])
  if not s then return { 'clock', now, now } end
  local used, held = tonumber(st[i * 3 - 1]) or 0, tonumber(st[i * 3]) or 0
  if rolled then used, held = 0, 0 end
  wins[i] = { s = s, e = e, used = used, held = held, fp = r.fp, id = r.id }
end
-- Holds past their lease still sit in the counters until a write purges them: do not count them.
for _, field in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)) do
  if string.sub(field, 1, 1) == 'H' then
    local payload = redis.call('HGET', KEYS[2], field)
    for rid, fp, s, amount in string.gmatch(payload or '', '([^%s;]+) ([^%s;]+) (%-?%d+) (%d+)') do
      for _, w in ipairs(wins) do
        if w.id == rid and w.fp == fp and w.s == tonumber(s) then w.held = math.max(0, w.held - tonumber(amount)) end
      end
    end
  end
end
local out = { 'ok', now, cfg[2] == '0' and 0 or 1 }
for _, w in ipairs(wins) do
  out[#out + 1] = w.s; out[#out + 1] = w.e; out[#out + 1] = w.used; out[#out + 1] = w.held
end
return out
`;

/** get-config: KEYS[1] config hash, KEYS[2] window hash. Reply: {version, rules, anchor, active 0|1, exists 0|1}. */
export const GET_CONFIG = `#!lua flags=no-writes
local cfg = redis.call('HMGET', KEYS[1], 'v', 'r', 'a', 'x')
local exists = redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 and 1 or 0
return { cfg[1] or '0', cfg[2] or '', cfg[3] or '', cfg[4] == '0' and 0 or 1, exists }
`;

/**
 * update-user: KEYS[1] config hash, KEYS[2] window hash. ARGV[1] JSON {rules?: JSON string | null
 * (the defaults), removed: rule ids, anchor?: ms (set only if none), active?: boolean}.
 * The version goes up when rules or the anchor change. Reply: the version.
 */
export const UPDATE_USER = `#!lua
${PRELUDE}
local a = cjson.decode(ARGV[1])
if type(a) ~= 'table' then fail('invalid change') end
local rules = a.rules
if rules ~= nil and rules ~= cjson.null and (type(rules) ~= 'string' or #rules == 0 or #rules > 65536) then fail('invalid rules') end
local removed = check.ids(a.removed or {}, 'removed')
if a.anchor ~= nil then check.count(a.anchor, 'anchor') end
if a.active ~= nil then check.flag(a.active, 'active') end
local bump = false
if rules == cjson.null then
  redis.call('HDEL', KEYS[1], 'r')
  bump = true
elseif rules ~= nil then
  redis.call('HSET', KEYS[1], 'r', rules)
  bump = true
end
if a.anchor ~= nil and redis.call('HEXISTS', KEYS[1], 'a') == 0 then
  redis.call('HSET', KEYS[1], 'a', fmt(a.anchor))
  bump = true
end
if a.active == false then redis.call('HSET', KEYS[1], 'x', '0') elseif a.active == true then redis.call('HDEL', KEYS[1], 'x') end
for _, rid in ipairs(removed) do redis.call('HDEL', KEYS[2], 's:' .. rid, 'u:' .. rid, 'h:' .. rid, 'a:' .. rid) end
if bump then return redis.call('HINCRBY', KEYS[1], 'v', 1) end
return tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
`;

/** reset-usage: zero used and fired alerts of existing windows. KEYS[1] window hash, ARGV rule ids. */
export const RESET_USAGE = `#!lua
${PRELUDE}
for i = 1, #ARGV do check.id(ARGV[i], 'rule id') end
for i = 1, #ARGV do
  if redis.call('HEXISTS', KEYS[1], 's:' .. ARGV[i]) == 1 then
    redis.call('HSET', KEYS[1], 'u:' .. ARGV[i], '0', 'a:' .. ARGV[i], '0')
  end
end
return 1
`;

/** delete-keys: delete every given key of one user (all in the user's slot). */
export const DELETE_KEYS = `#!lua
return redis.call('DEL', unpack(KEYS))
`;

/** read-hashes: HGETALL of every key (history months). Reply: one flat array per key. */
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
