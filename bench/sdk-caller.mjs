/**
 * One side of the wrapper bench, in a process of its own started with `fork()` in plain node:
 * `node bench/sdk-caller.mjs bare` imports only the SDKs (so bare calls pay neither our module load
 * nor the AsyncLocalStorage hooks the library installs), `... wrapped` also imports `token-limits`
 * from the built `dist/` and wraps the same clients. The parent drives it over IPC:
 * - `{ cmd: 'setup', urls, redisUrl, proxyUrl }` → `{ ok: true }`;
 * - `{ cmd: 'slice', provider, mode, store, warm, calls }` → `{ times, cpuUsPerCall }`: `warm`
 *   untimed calls, then `calls` timed ones (ms each, one after the other) and the CPU time (user +
 *   system) this process spent on them per call, then (wrapped) `limiter.flush()`, untimed. CPU
 *   time, unlike wall time, does not count the time the process waited for a CPU on a busy machine
 *   (it does count the commit of a previous call if it runs during the slice);
 * - `{ cmd: 'trips', provider, mode, warm, calls }` → `{ calls, pings }`: `warm` untimed calls, then per call its start and end in ms
 *   since the epoch (sub-ms, comparable with the emulator's arrival times). Wrapped: RedisStore
 *   behind `proxyUrl`, each call followed by an untimed `flush()` (so a call never waits for the
 *   previous one's commit) and preceded by a PING round trip through the same connection;
 * - `{ cmd: 'close' }`.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SDK_CASES } from './sdk-cases.mjs';

const side = process.argv[2];
if (side !== 'bare' && side !== 'wrapped') throw new Error('usage: sdk-caller.mjs bare|wrapped');

let urls;
let redisUrl;
let proxyUrl;
let lib;
let Redis;
const limiters = new Map();
const clients = new Map();
const redisClients = new Map();
const epochNow = () => performance.timeOrigin + performance.now();

async function limiterFor(store) {
  let limiter = limiters.get(store);
  if (limiter) return limiter;
  const defaultLimits = [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' }];
  let quotaStore;
  if (store === 'memory') quotaStore = new lib.MemoryStore();
  else {
    const client = new Redis(store === 'redis' ? redisUrl : proxyUrl);
    redisClients.set(store, client);
    quotaStore = new lib.RedisStore({ client, prefix: `bench${randomBytes(4).toString('hex')}` });
  }
  limiter = lib.createTokenLimiter({ store: quotaStore, defaultLimits, storeTimeoutMs: 30_000 });
  await limiter.warmup();
  limiters.set(store, limiter);
  return limiter;
}

async function clientFor(provider, store) {
  const key = `${provider} ${side === 'bare' ? '' : store}`;
  let client = clients.get(key);
  if (client) return client;
  client = SDK_CASES[provider].make(urls);
  if (side === 'wrapped') client = lib.withTokenLimits(client, 'bench-user', { limiter: await limiterFor(store) });
  clients.set(key, client);
  return client;
}

async function handle(message) {
  if (message.cmd === 'setup') {
    ({ urls, redisUrl, proxyUrl } = message);
    if (side === 'wrapped') {
      lib = await import('token-limits');
      ({ Redis } = await import('ioredis'));
    }
    return { ok: true };
  }
  if (message.cmd === 'slice') {
    const { provider, mode, store, warm, calls } = message;
    const client = await clientFor(provider, store);
    const call = SDK_CASES[provider].calls[mode];
    for (let i = 0; i < warm; i += 1) await call(client, urls);
    const times = new Array(calls);
    const cpu = process.cpuUsage();
    for (let i = 0; i < calls; i += 1) {
      const t = performance.now();
      await call(client, urls);
      times[i] = performance.now() - t;
    }
    const used = process.cpuUsage(cpu);
    if (side === 'wrapped') await limiters.get(store).flush();
    return { times, cpuUsPerCall: calls > 0 ? (used.user + used.system) / calls : 0 };
  }
  if (message.cmd === 'trips') {
    const { provider, mode, calls, warm } = message;
    const client = await clientFor(provider, 'redis-proxy');
    const limiter = limiters.get('redis-proxy');
    const redis = redisClients.get('redis-proxy');
    const call = SDK_CASES[provider].calls[mode];
    for (let i = 0; i < warm; i += 1) {
      await call(client, urls);
      await limiter?.flush();
    }
    const out = [];
    const pings = [];
    for (let i = 0; i < calls; i += 1) {
      if (redis) {
        const p = performance.now();
        await redis.ping();
        pings.push(performance.now() - p);
      }
      const start = epochNow();
      await call(client, urls);
      const end = epochNow();
      out.push({ start, end });
      await limiter?.flush();
    }
    return { calls: out, pings };
  }
  if (message.cmd === 'close') {
    for (const limiter of limiters.values()) await limiter.close();
    for (const client of redisClients.values()) client.disconnect();
    return { ok: true };
  }
  throw new Error(`unknown command ${message.cmd}`);
}

process.on('message', (message) => {
  handle(message).then(
    (reply) => {
      process.send(reply, () => {
        if (message.cmd === 'close') process.exit(0);
      });
    },
    (error) => process.send({ error: String(error?.stack ?? error) }),
  );
});
process.send({ ready: true });
