import { PRELUDE } from './prelude.js';

/**
 * Scripts of the ledger feed: the streams the commit script appends records to (one per Cluster
 * slot, `<prefix>:{<slot tag>}:lq`, consumer group `g`) and their index. Each touches one key.
 * Drainers read a stream in its group, write the records to the ledger, then acknowledge and delete
 * them: a record leaves its stream only once the ledger has it.
 */

/**
 * ledger-read: up to `count` records for `consumer`: first the ones another consumer read and left
 * unacknowledged for `idle` ms (XAUTOCLAIM), then new ones (XREADGROUP). Creates the group on first
 * use (from the stream's start, so nothing appended before is missed).
 * KEYS[1] a ledger stream. ARGV[1] consumer, ARGV[2] count (1-5000), ARGV[3] idle ms.
 * Reply: entries as XRANGE gives them ({id, {field, value, ...}}).
 * allow-oom (with ledger-ack): a backlog that filled Redis to its maxmemory must still drain (the
 * drain is what frees it); without the flag Redis refused both scripts from then on, for good.
 */
export const LEDGER_READ = `#!lua flags=allow-oom
${PRELUDE}
local consumer, count, idle = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if not consumer or #consumer == 0 or #consumer > 64 or not string.match(consumer, '^[%w_.-]+$') then fail('invalid consumer') end
if not count or count ~= count or count < 1 or count > 5000 or count % 1 ~= 0 then fail('invalid count') end
if not idle or idle ~= idle or idle < 0 or idle > MAXN or idle % 1 ~= 0 then fail('invalid idle') end
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local claimed = redis.pcall('XAUTOCLAIM', KEYS[1], 'g', consumer, fmt(idle), '0-0', 'COUNT', fmt(count))
if type(claimed) == 'table' and claimed.err then
  if not string.find(claimed.err, 'NOGROUP', 1, true) then return claimed end
  redis.call('XGROUP', 'CREATE', KEYS[1], 'g', '0')
  claimed = { '0-0', {} }
end
local out = {}
for _, e in ipairs(claimed[2]) do if e and e[2] then out[#out + 1] = e end end
if #out < count then
  local fresh = redis.call('XREADGROUP', 'GROUP', 'g', consumer, 'COUNT', fmt(count - #out), 'STREAMS', KEYS[1], '>')
  if fresh then for _, e in ipairs(fresh[1][2]) do out[#out + 1] = e end end
end
return out
`;

/**
 * ledger-ack: the ledger has these records: acknowledge and delete them.
 * KEYS[1] a ledger stream. ARGV: entry ids (1-5000).
 * Reply: the number deleted.
 */
export const LEDGER_ACK = `#!lua flags=allow-oom
${PRELUDE}
if #ARGV == 0 or #ARGV > 5000 then fail('invalid ids') end
for _, id in ipairs(ARGV) do if #id > 41 or not string.match(id, '^%d+%-%d+$') then fail('invalid id') end end
redis.pcall('XACK', KEYS[1], 'g', unpack(ARGV))
return redis.call('XDEL', KEYS[1], unpack(ARGV))
`;

/**
 * ledger-dead-letter: entries of a stream that do not parse as records (tampering, or a bug): each
 * is copied to the stream's dead-letter stream, then acknowledged and deleted, in one step, so that
 * it is neither read again for ever nor lost. A dead-letter entry holds `stream`, `id` (where the
 * entry was), `reason`, then the entry's own fields as they were (over 2,000 of them: one field
 * `fields`, their JSON array). An id no longer in the stream (another drainer moved it) is only
 * acknowledged.
 * KEYS[1] a ledger stream, KEYS[2] its dead-letter stream (same slot). ARGV: id, reason, id,
 * reason... (1-5000 entries). Reply: the number copied.
 * allow-oom: it frees what it adds, and a full Redis is when a drain must go on.
 */
export const LEDGER_DEAD_LETTER = `#!lua flags=allow-oom
${PRELUDE}
if #ARGV == 0 or #ARGV > 10000 or #ARGV % 2 ~= 0 then fail('invalid entries') end
for i = 1, #ARGV, 2 do
  if #ARGV[i] > 41 or not string.match(ARGV[i], '^%d+%-%d+$') then fail('invalid id') end
  if #ARGV[i + 1] > 1000 then fail('invalid reason') end
end
local copied = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if found[1] then
    local own = found[1][2]
    local fields = { 'stream', KEYS[1], 'id', id, 'reason', ARGV[i + 1] }
    if #own > 2000 then
      fields[#fields + 1] = 'fields'
      fields[#fields + 1] = cjson.encode(own)
    else
      for _, v in ipairs(own) do fields[#fields + 1] = v end
    end
    redis.call('XADD', KEYS[2], '*', unpack(fields))
    copied = copied + 1
  end
  redis.pcall('XACK', KEYS[1], 'g', id)
  redis.call('XDEL', KEYS[1], id)
end
return copied
`;

/**
 * ledger-lag: records waiting in a stream, and the id of the oldest.
 * KEYS[1] a ledger stream. Reply: {count, oldest id or ''}.
 */
export const LEDGER_LAG = `#!lua flags=no-writes
local n = redis.call('XLEN', KEYS[1])
if n == 0 then return { 0, '' } end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
return { n, first[1] and first[1][1] or '' }
`;

/**
 * ledger-index: adds ledger streams to the index (before the first record is appended to them).
 * KEYS[1] the index set. ARGV: stream keys (1-100). Reply: the number added.
 */
export const LEDGER_INDEX = `#!lua
${PRELUDE}
if #ARGV == 0 or #ARGV > 100 then fail('invalid streams') end
for _, key in ipairs(ARGV) do if #key > 200 then fail('invalid stream') end end
return redis.call('SADD', KEYS[1], unpack(ARGV))
`;

/** ledger-streams: the indexed streams. KEYS[1] the index set. Reply: stream keys. */
export const LEDGER_STREAMS = `#!lua flags=no-writes
return redis.call('SMEMBERS', KEYS[1])
`;

/**
 * ledger-prune: forgets consumers of the group that hold nothing and were idle longer than `idle` ms
 * (drainers that ended: each process reads under a name of its own).
 * KEYS[1] a ledger stream. ARGV[1] idle ms. Reply: the number removed.
 */
export const LEDGER_PRUNE = `#!lua
${PRELUDE}
local idle = tonumber(ARGV[1])
if not idle or idle ~= idle or idle < 0 or idle > MAXN or idle % 1 ~= 0 then fail('invalid idle') end
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], 'g')
if type(consumers) ~= 'table' or consumers.err then return 0 end
local removed = 0
for _, c in ipairs(consumers) do
  local f = {}
  for i = 1, #c - 1, 2 do f[c[i]] = c[i + 1] end
  if f.name and tonumber(f.pending) == 0 and tonumber(f.idle) and tonumber(f.idle) > idle then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], 'g', f.name)
    removed = removed + 1
  end
end
return removed
`;
