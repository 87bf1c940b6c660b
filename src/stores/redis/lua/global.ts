import { AGGREGATE_ARGS, luaBindings } from '../schema.js';
import { PRELUDE } from './prelude.js';

/**
 * Scripts on the keys shared by all users (one hash tag, `{g}`): the user index, everyone's log and
 * history, totals, the epoch marker. Never inside a user's script: the aggregates are written in
 * batches, off the calls' path.
 */

/**
 * aggregate: add a batch of committed calls to the aggregates, once per batch. Each aggregator
 * (source) numbers its batches and sends them one at a time, in order, a failed one again until it
 * is applied: so a batch whose number is not above the last one applied from its source was
 * applied before (its reply was lost), and is a no-op. The guard is one small key per source,
 * where a set of batch ids grew with every batch (120 bytes each, kept an hour: 86 MB per process
 * sending a batch every 5 ms).
 * The batch's records share one UTC month.
 * KEYS[1] the source's last applied number (string), KEYS[2] log zset, KEYS[3] history hash of the
 * month, KEYS[4] totals hash, KEYS[5] user index zset, KEYS[6] active users set of the month.
 * ARGV: AGGREGATE_ARGS, then the records' JSON (times in logTimes).
 * Reply: 1 if applied, 0 if the batch was applied before.
 */
export const AGGREGATE = `#!lua
${PRELUDE}
${luaBindings(AGGREGATE_ARGS)}
if #logTimes ~= #ARGV - p + 1 then fail('invalid logTimes') end
for i = p, #ARGV do if #ARGV[i] == 0 or #ARGV[i] > 1048576 then fail('invalid record') end end
-- A marker that is not a number (damaged) guards nothing: the batch is applied.
local last = tonumber(redis.call('GET', KEYS[1]))
if last and last >= sequence then return 0 end
redis.call('SET', KEYS[1], fmt(sequence), 'PX', fmt(guardTtl))
if #logTimes > 0 then
  local entries = {}
  for i, t in ipairs(logTimes) do entries[#entries + 1] = fmt(t); entries[#entries + 1] = ARGV[p + i - 1] end
  redis.call('ZADD', KEYS[2], unpack(entries))
  redis.call('ZREMRANGEBYRANK', KEYS[2], '0', fmt(-(logMax + 1)))
  redis.call('PEXPIRE', KEYS[2], fmt(logTtl))
end
for _, b in ipairs(hours) do
  local prefix = fmt(b[1]) .. '|' .. b[2] .. '|'
  redis.call('HINCRBY', KEYS[3], prefix .. 'r', fmt(b[3]))
  redis.call('HINCRBY', KEYS[3], prefix .. 'i', fmt(b[4]))
  redis.call('HINCRBY', KEYS[3], prefix .. 'o', fmt(b[5]))
  redis.call('HINCRBY', KEYS[3], prefix .. 'c', fmt(b[6]))
end
if #hours > 0 then redis.call('PEXPIRE', KEYS[3], fmt(historyTtl)) end
redis.call('HINCRBY', KEYS[4], 'tokens', fmt(totals.t))
redis.call('HINCRBY', KEYS[4], 'requests', fmt(totals.r))
redis.call('HINCRBY', KEYS[4], 'cost', fmt(totals.c))
-- One ZADD per 1,000 users (unpack has a stack limit of about 8,000 values).
for first = 1, #users, 1000 do
  local members = {}
  for i = first, math.min(first + 999, #users) do members[#members + 1] = '0'; members[#members + 1] = users[i] end
  redis.call('ZADD', KEYS[5], 'NX', unpack(members))
end
if #tags > 0 then
  redis.call('SADD', KEYS[6], unpack(tags))
  redis.call('PEXPIRE', KEYS[6], fmt(activeTtl))
end
return 1
`;

/**
 * epoch: the marker that tells whether the store still holds the data a process has seen (a Redis
 * restarted without persistence, a flushed database or a lost node come back empty).
 * KEYS[1] epoch hash {id, created, previous, ack}; ARGV[1] a fresh random id (used only if the
 * marker is missing), ARGV[2] the id this process saw last ('' = none yet).
 * A missing marker is created: as the first epoch (ack '1', previous '') when the caller saw none,
 * else as a reset (previous = the id the caller saw, ack '0' until acknowledged). A marker created
 * as a first epoch by a process that had seen nothing is turned into a reset by the first caller
 * that had seen an older id.
 * Reply: {id, created (ms), previous ('' = none), ack ('1' or '0'), 1 if created by this call else 0}.
 */
export const EPOCH = `#!lua
${PRELUDE}
local fresh = ARGV[1]
local known = ARGV[2]
if not string.match(fresh, '^[%w]+$') or #fresh > 64 then fail('invalid epoch id') end
if known ~= '' and (not string.match(known, '^[%w]+$') or #known > 64) then fail('invalid known epoch id') end
local cur = redis.call('HMGET', KEYS[1], 'id', 'created', 'previous', 'ack')
if cur[1] then
  if known ~= '' and cur[1] ~= known and (cur[3] or '') == '' then
    -- Created as a first epoch by a process that had seen nothing, but this caller saw older data.
    redis.call('HSET', KEYS[1], 'previous', known, 'ack', '0')
    return { cur[1], cur[2] or '0', known, '0', 0 }
  end
  return { cur[1], cur[2] or '0', cur[3] or '', cur[4] or '1', 0 }
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ack = '0'
if known == '' then ack = '1' end
redis.call('HSET', KEYS[1], 'id', fresh, 'created', fmt(now), 'previous', known, 'ack', ack)
return { fresh, fmt(now), known, ack, 1 }
`;

/** epoch-ack: KEYS[1] epoch hash. Marks a detected reset as handled (no-op without a marker). */
export const EPOCH_ACK = `#!lua
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'ack', '1') end
return 1
`;

/** index-user: KEYS[1] users zset, ARGV[1] user id. */
export const INDEX_USER = `#!lua
redis.call('ZADD', KEYS[1], 'NX', 0, ARGV[1])
return 1
`;

/** unindex-user: KEYS[1] users zset, KEYS[2] active set of the month; ARGV[1] user id, ARGV[2] user tag. */
export const UNINDEX_USER = `#!lua
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
`;

/**
 * list-users: KEYS[1] users zset; ARGV[1] exclusive cursor ('' = from the start), ARGV[2] count,
 * ARGV[3] id prefix ('' = all). Ids compare as bytes; '\\255' is above every byte of UTF-8 text.
 */
export const LIST_USERS = `#!lua flags=no-writes
local prefix = ARGV[3]
local from = '[' .. prefix
if ARGV[1] ~= '' and ARGV[1] >= prefix then from = '(' .. ARGV[1] end
local to = prefix == '' and '+' or ('[' .. prefix .. '\\255')
return redis.call('ZRANGEBYLEX', KEYS[1], from, to, 'LIMIT', 0, tonumber(ARGV[2]))
`;

/** stats: KEYS[1] totals, KEYS[2] users zset, KEYS[3] active set of the month. */
export const STATS = `#!lua flags=no-writes
local t = redis.call('HMGET', KEYS[1], 'tokens', 'cost')
return { t[1] or '0', t[2] or '0', redis.call('SCARD', KEYS[3]), redis.call('ZCARD', KEYS[2]) }
`;

/**
 * set-plan: KEYS[1] plans hash (plan id -> JSON {"v": version, "rules": JSON}), KEYS[2] plan use
 * hash (where DELETE_PLAN leaves "<plan>|v", the version a deleted plan had). ARGV[1] plan id,
 * ARGV[2] the rules' JSON. A version is never used twice for one id, even across a delete: other
 * processes keep the rules they read for a version they already hold. Reply: the new version.
 */
export const SET_PLAN = `#!lua
${PRELUDE}
if #ARGV[1] == 0 or #ARGV[1] > 262144 then fail('invalid plan') end
if #ARGV[2] == 0 or #ARGV[2] > 1048576 then fail('invalid rules') end
local function versionOf(text)
  local ok, stored = pcall(cjson.decode, text or '')
  return ok and type(stored) == 'table' and tonumber(stored.v) or 0
end
local last = versionOf(redis.call('HGET', KEYS[1], ARGV[1]))
local deleted = tonumber(redis.call('HGET', KEYS[2], ARGV[1] .. '|v')) or 0
local version = math.max(last, deleted) + 1
if version > MAXN then fail('invalid version') end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({ v = version, rules = ARGV[2] }))
return version
`;

/** get-plans: KEYS[1] plans hash, KEYS[2] plan use hash ("<plan>|u" / "<plan>|a" -> count). Reply: {plans flat, uses flat}. */
export const GET_PLANS = `#!lua flags=no-writes
return { redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]) }
`;

/**
 * delete-plan: KEYS[1] plans hash, KEYS[2] plan use hash; ARGV[1] plan id. Refused (0) while users
 * or accounts are assigned to it; else 1. Leaves "<plan>|v", the version it had (see SET_PLAN).
 */
export const DELETE_PLAN = `#!lua
local users = tonumber(redis.call('HGET', KEYS[2], ARGV[1] .. '|u')) or 0
local accounts = tonumber(redis.call('HGET', KEYS[2], ARGV[1] .. '|a')) or 0
if users > 0 or accounts > 0 then return 0 end
local old = redis.call('HGET', KEYS[1], ARGV[1])
local ok, stored = pcall(cjson.decode, old or '')
local version = ok and type(stored) == 'table' and tonumber(stored.v) or nil
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1] .. '|u', ARGV[1] .. '|a')
if version and version > (tonumber(redis.call('HGET', KEYS[2], ARGV[1] .. '|v')) or 0) then
  redis.call('HSET', KEYS[2], ARGV[1] .. '|v', string.format('%d', version))
end
return 1
`;

/**
 * plan-use: counts a user ('u') or an account ('a') onto a plan (+1) or off it (-1, never below 0).
 * KEYS[1] plan use hash, KEYS[2] plans hash. ARGV[1] plan id, ARGV[2] 'u' or 'a', ARGV[3] '1' or
 * '-1'. Counting onto a plan the plans hash does not hold writes nothing and answers -1: checked in
 * the same script as the count, so a plan is never both deleted (DELETE_PLAN refuses a counted one)
 * and assigned. Reply: the new count, or -1.
 */
export const PLAN_USE = `#!lua
${PRELUDE}
local plan, kind, delta = ARGV[1], ARGV[2], ARGV[3]
if #plan == 0 or #plan > 262144 then fail('invalid plan') end
if kind ~= 'u' and kind ~= 'a' then fail('invalid kind') end
if delta ~= '1' and delta ~= '-1' then fail('invalid delta') end
if delta == '1' and redis.call('HEXISTS', KEYS[2], plan) == 0 then return -1 end
local field = plan .. '|' .. kind
local n = redis.call('HINCRBY', KEYS[1], field, delta)
if n <= 0 then redis.call('HDEL', KEYS[1], field) end
return math.max(n, 0)
`;
