/**
 * What the Redis commands of a reserve+commit pair cost without any of our scripts' logic:
 *   node bench/command-floor.mjs <port> A|B|C|R [pairs=20000]
 * against a redis-server of its own on <port> (it writes keys `{p:N}...`; flush it between runs).
 * Two EVALSHA scripts make the commands our reserve and commit make, on keys and values of the same
 * sizes (a ~330-byte record), users drawn from 1,000, concurrency 100, 5,000 untimed pairs first.
 * A: the commands as the store makes them (config, window, outcome, log and history keys);
 * B: config and outcomes in the window hash; C: B without the per-user log and history;
 * R: the raw pair (`return 1`). Prints one JSON line: script µs per pair (INFO commandstats),
 * redis-server CPU µs per pair, pairs/s. Alternate the variants (and `bench/pair-cpu.mjs`, our own
 * pairs) in one loop and compare within it: the machine's speed moves from minute to minute.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
const port = Number(process.argv[2] ?? 6399);
const variant = process.argv[3] ?? 'A';
const pairs = Number(process.argv[4] ?? 20000);
const r = new Redis({ port });
const rec = JSON.stringify({ id: 'x'.repeat(20), userId: 'user-000', provider: 'openai', model: 'gpt-4o-mini', endpoint: 'chat.completions', inputTokens: 1200, cachedInputTokens: 0, outputTokens: 300, reasoningTokens: 0, totalTokens: 1500, costUsd: 0.00036, estimated: false, requestId: 'req_' + 'y'.repeat(24), latencyMs: 812, status: 'ok' });
// A: config hash, window hash, outcome hash per bucket, log zset, history hash (as today).
const A_RESERVE = `
local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000
local cfg = redis.call('HMGET', KEYS[1], 'v', 'x', 'a', 'acct', 'moved', 'in')
local st = redis.call('HMGET', KEYS[2], 'x:' .. ARGV[1], 'm', 'k', 'w:r1')
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'x:' .. ARGV[1], ARGV[2], 'w:r1', ARGV[3])
return 1`;
const A_COMMIT = `
local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000
local cfg = redis.call('HMGET', KEYS[1], 'v', 'acct', 'moved', 'in')
local done = redis.call('HGET', KEYS[3], ARGV[1])
local st = redis.call('HMGET', KEYS[2], 'x:' .. ARGV[1], 'm', 'k', 'w:r1')
redis.call('HSET', KEYS[2], 'w:r1', ARGV[3])
redis.call('HDEL', KEYS[2], 'x:' .. ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], 'c ' .. now .. ' a1 ')
if redis.call('TTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], 600000) end
redis.call('ZADD', KEYS[4], now, ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[4], '0', '-1001')
local p = (now - now % 3600000) .. '|gpt-4o-mini|'
redis.call('HINCRBY', KEYS[5], p .. 'r', 1)
redis.call('HINCRBY', KEYS[5], p .. 'i', 1200)
redis.call('HINCRBY', KEYS[5], p .. 'o', 300)
redis.call('HINCRBY', KEYS[5], p .. 'c', 360)
return 1`;
// B: config and outcomes in the window hash (the hold field becomes the outcome).
const B_RESERVE = `
local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000
local st = redis.call('HMGET', KEYS[1], 'v', 'x', 'a', 'acct', 'moved', 'in', 'x:' .. ARGV[1], 'm', 'k', 'w:r1')
if st[7] then return 0 end
redis.call('HSET', KEYS[1], 'x:' .. ARGV[1], ARGV[2], 'w:r1', ARGV[3])
return 1`;
const B_COMMIT = `
local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000
local st = redis.call('HMGET', KEYS[1], 'v', 'acct', 'moved', 'in', 'x:' .. ARGV[1], 'm', 'k', 'w:r1')
redis.call('HSET', KEYS[1], 'w:r1', ARGV[3], 'x:' .. ARGV[1], 'c ' .. now .. ' a1 ')
redis.call('ZADD', KEYS[4], now, ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[4], '0', '-1001')
local p = (now - now % 3600000) .. '|gpt-4o-mini|'
redis.call('HINCRBY', KEYS[5], p .. 'r', 1)
redis.call('HINCRBY', KEYS[5], p .. 'i', 1200)
redis.call('HINCRBY', KEYS[5], p .. 'o', 300)
redis.call('HINCRBY', KEYS[5], p .. 'c', 360)
return 1`;
// C: B without the per-call log and history (as if batched elsewhere).
const C_COMMIT = `
local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000
local st = redis.call('HMGET', KEYS[1], 'v', 'acct', 'moved', 'in', 'x:' .. ARGV[1], 'm', 'k', 'w:r1')
redis.call('HSET', KEYS[1], 'w:r1', ARGV[3], 'x:' .. ARGV[1], 'c ' .. now .. ' a1 ')
return 1`;
const RAW = `return 1`;
const [res, com] = variant === 'R' ? [RAW, RAW + ' '] : variant === 'A' ? [A_RESERVE, A_COMMIT] : variant === 'B' ? [B_RESERVE, B_COMMIT] : [B_RESERVE, C_COMMIT];
const rs = await r.script('LOAD', res), cs = await r.script('LOAD', com);
const win = Buffer.alloc(60, 7), hold = Buffer.alloc(50, 9);
let seq = 0;
async function one() {
  const u = Math.floor(Math.random() * 1000); const id = `id${seq++}`; const tag = `{p:${u}}`;
  const keys = [`${tag}c`, `${tag}w`, `${tag}d:${Math.floor(seq / 5000)}`, `${tag}l`, `${tag}h:202612`];
  const k = variant === 'A' ? keys : [`${tag}w`, `${tag}w`, `${tag}w`, keys[3], keys[4]];
  await r.evalsha(rs, 5, ...k, id, hold, win, rec);
  await r.evalsha(cs, 5, ...k, id, hold, win, rec);
}
async function run(n) { let left = n; await Promise.all(Array.from({ length: 100 }, async () => { while (left-- > 0) await one(); })); }
await run(5000);
await r.config('RESETSTAT');
const cpu0 = Number((await r.info('cpu')).match(/used_cpu_user:([\d.]+)/)[1]) + Number((await r.info('cpu')).match(/used_cpu_sys:([\d.]+)/)[1]);
const t0 = performance.now(); await run(pairs); const sec = (performance.now() - t0) / 1000;
const cpu1 = Number((await r.info('cpu')).match(/used_cpu_user:([\d.]+)/)[1]) + Number((await r.info('cpu')).match(/used_cpu_sys:([\d.]+)/)[1]);
const ev = (await r.info('commandstats')).match(/cmdstat_evalsha:calls=(\d+),usec=(\d+)/);
console.log(JSON.stringify({ variant, scriptUsPerPair: +(Number(ev[2]) / pairs).toFixed(1), redisCpuUsPerPair: +((cpu1 - cpu0) * 1e6 / pairs).toFixed(1), pairsPerSec: Math.round(pairs / sec) }));
await r.quit();
