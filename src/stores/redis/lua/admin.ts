import { luaBindings, READ_ARGS } from '../schema.js';
import { PRELUDE } from './prelude.js';

/** Scripts on one user's keys that are never on a wrapped call's path: reads and admin writes. */

/**
 * read: the user's windows without writing; holds past their lease do not count.
 * KEYS[1] config hash, KEYS[2] window hash. ARGV: READ_ARGS.
 * Replies: {'ok', now, active 0|1, (start, end, used, held) per rule} | {'stale', now, version,
 * rules, anchor} | {'clock', now, at}
 */
export const READ = `#!lua flags=no-writes
${PRELUDE}
${luaBindings(READ_ARGS)}
local cfg = redis.call('HMGET', KEYS[1], 'v', 'x', 'r', 'a')
if (tonumber(cfg[1]) or 0) ~= version then return { 'stale', now, tonumber(cfg[1]) or 0, cfg[3] or '', cfg[4] or '' } end
local all = redis.call('HGETALL', KEYS[2])
local stored, expired = {}, {}
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if string.sub(f, 1, 2) == 'w:' then stored[string.sub(f, 3)] = state(v)
  elseif string.sub(f, 1, 2) == 'x:' then
    local expiry, shares = hold(v)
    if expiry <= now then expired[#expired + 1] = shares end
  end
end
local out = { 'ok', now, cfg[2] == '0' and 0 or 1 }
for _, r in ipairs(rules) do
  local w, rolled = current(r, now, stored[r.id])
  if not w then return { 'clock', now, now } end
  local held = w.h
  if not rolled then
    for _, shares in ipairs(expired) do
      local share = shares[r.id]
      if share and share.fp == w.fp and share.s == w.s then held = held - share.amount end
    end
  end
  out[#out + 1] = w.s; out[#out + 1] = w.e; out[#out + 1] = w.u; out[#out + 1] = math.max(0, held)
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
local removed = a.removed or {}
if type(removed) ~= 'table' then fail('invalid removed') end
for _, rid in ipairs(removed) do if type(rid) ~= 'string' or #rid == 0 or #rid > 64 or not string.match(rid, '^[%w_.-]+$') then fail('invalid removed') end end
if a.anchor ~= nil and (type(a.anchor) ~= 'number' or a.anchor ~= a.anchor or a.anchor < 0 or a.anchor > MAXN or a.anchor % 1 ~= 0) then fail('invalid anchor') end
if a.active ~= nil and type(a.active) ~= 'boolean' then fail('invalid active') end
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
for _, rid in ipairs(removed) do redis.call('HDEL', KEYS[2], 'w:' .. rid) end
if bump then return redis.call('HINCRBY', KEYS[1], 'v', 1) end
return tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
`;

/** reset-usage: zero used and fired alerts of existing windows. KEYS[1] window hash, ARGV rule ids. */
export const RESET_USAGE = `#!lua
${PRELUDE}
for i = 1, #ARGV do if #ARGV[i] == 0 or #ARGV[i] > 64 or not string.match(ARGV[i], '^[%w_.-]+$') then fail('invalid rule id') end end
for i = 1, #ARGV do
  local w = state(redis.call('HGET', KEYS[1], 'w:' .. ARGV[i]))
  if w then
    w.u, w.a = 0, 0
    redis.call('HSET', KEYS[1], 'w:' .. ARGV[i], packed(w))
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
