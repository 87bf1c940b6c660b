import { COMMON } from './common.js';

/**
 * Scripts on the keys shared by all users (one hash tag, `{g}`): the user index, the log and
 * history of everyone, totals. They run after a user's own script, never inside it.
 */

/**
 * record: add a committed call to the aggregates, once per record id (a replay is a no-op).
 * KEYS[1] seen-ids set of the record's minute, KEYS[2] log zset, KEYS[3] history hash of the day,
 * KEYS[4] totals hash, KEYS[5] users zset, KEYS[6] active users set of the month
 * ARGV[1] record id, ARGV[2] timestamp (ms), ARGV[3] record JSON, ARGV[4] user id, ARGV[5] user tag,
 * ARGV[6] model (encoded), ARGV[7] tokens, ARGV[8] requests, ARGV[9] cost (micro-USD),
 * ARGV[10] input tokens, ARGV[11] output tokens, ARGV[12] log max length, ARGV[13] log retention ms,
 * ARGV[14] history retention ms, ARGV[15] active set time to live (ms)
 * Reply: 1 if applied, 0 if already applied.
 */
export const RECORD = `#!lua
${COMMON}
local id = ident(ARGV[1], 'record id', 64)
local ts = int(ARGV[2], 'timestamp')
for i = 7, 15 do int(ARGV[i], 'argument ' .. i) end
local model = ARGV[6]
if type(model) ~= 'string' or #model == 0 or #model > 1024 or string.find(model, '|', 1, true) then fail('invalid model') end
if redis.call('SADD', KEYS[1], id) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], 7200000)
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. str(ts - tonumber(ARGV[13])))
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[12]) + 1))
local prefix = str(ts - ts % 3600000) .. '|' .. model .. '|'
redis.call('HINCRBY', KEYS[3], prefix .. 'r', ARGV[8])
redis.call('HINCRBY', KEYS[3], prefix .. 'i', ARGV[10])
redis.call('HINCRBY', KEYS[3], prefix .. 'o', ARGV[11])
redis.call('HINCRBY', KEYS[3], prefix .. 'c', ARGV[9])
redis.call('PEXPIRE', KEYS[3], str(tonumber(ARGV[14]) + 86400000))
redis.call('HINCRBY', KEYS[4], 'tokens', ARGV[7])
redis.call('HINCRBY', KEYS[4], 'requests', ARGV[8])
redis.call('HINCRBY', KEYS[4], 'cost', ARGV[9])
redis.call('ZADD', KEYS[5], 'NX', 0, ARGV[4])
redis.call('SADD', KEYS[6], ARGV[5])
redis.call('PEXPIRE', KEYS[6], ARGV[15])
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
${COMMON}
local fresh = ident(ARGV[1], 'epoch id', 64)
local known = ARGV[2]
if known ~= '' then ident(known, 'known epoch id', 64) end
local cur = redis.call('HMGET', KEYS[1], 'id', 'created', 'previous', 'ack')
if cur[1] then
  if known ~= '' and cur[1] ~= known and (cur[3] or '') == '' then
    -- Created as a first epoch by a process that had seen nothing, but this caller saw older data.
    redis.call('HSET', KEYS[1], 'previous', known, 'ack', '0')
    return { cur[1], cur[2] or '0', known, '0', 0 }
  end
  return { cur[1], cur[2] or '0', cur[3] or '', cur[4] or '1', 0 }
end
local now = clock('')
local ack = '0'
if known == '' then ack = '1' end
redis.call('HSET', KEYS[1], 'id', fresh, 'created', str(now), 'previous', known, 'ack', ack)
return { fresh, str(now), known, ack, 1 }
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
 * list-users: KEYS[1] users zset; ARGV[1] exclusive cursor ('' = from the start), ARGV[2] count.
 */
export const LIST_USERS = `#!lua flags=no-writes
local from = '-'
if ARGV[1] ~= '' then from = '(' .. ARGV[1] end
return redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, tonumber(ARGV[2]))
`;

/** stats: KEYS[1] totals, KEYS[2] users zset, KEYS[3] active set of the month. */
export const STATS = `#!lua flags=no-writes
local t = redis.call('HMGET', KEYS[1], 'tokens', 'cost')
return { t[1] or '0', t[2] or '0', redis.call('SCARD', KEYS[3]), redis.call('ZCARD', KEYS[2]) }
`;
