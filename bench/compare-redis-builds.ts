/**
 * Reserve+commit pairs of two checkouts of the library, alternated in one run, for work on the
 * store's scripts (the machine is too noisy to compare runs minutes apart):
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   npx tsx bench/compare-redis-builds.ts /tmp/before [rules=1] [slices=6]
 * or, for this checkout by EVALSHA only (a client without `fcall`) against it as it runs (by
 * FCALL once its Functions library is loaded: see src/stores/redis/functions.ts):
 *   npx tsx bench/compare-redis-builds.ts --evalsha [rules=1] [slices=6]
 * Each checkout gets its own redis-server and limiter (RedisStore, concurrency 100, users drawn
 * from 1,000, like `redis-pairs.ts`); after a warm-up, 1 s slices alternate between them, the
 * order swapped every round. Prints, per checkout, the median pairs/s and Redis script time per
 * pair (`INFO commandstats` of EVALSHA, EVAL and FCALL), with their ranges.
 */
import { Redis } from 'ioredis';
import { resolve } from 'node:path';
import { startRedisServer } from '../test/support/index.js';
import { benchLimits } from './pair-workload.mjs';
import { scriptStats } from './redis-pairs.js';

type Library = typeof import('../src/index.js');
const [before, rulesArg, slicesArg] = process.argv.slice(2);
if (!before) throw new Error('usage: npx tsx bench/compare-redis-builds.ts <other checkout>|--evalsha [rules] [slices]');
const evalshaOnly = before === '--evalsha';
const rules = Number(rulesArg ?? 1);
const slices = Number(slicesArg ?? 6);
const builds: Record<string, Library> = {
  before: evalshaOnly ? await import('../src/index.js') : ((await import(resolve(before, 'src/index.ts'))) as Library),
  this: await import('../src/index.js'),
};
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
interface Setup {
  server: Awaited<ReturnType<typeof startRedisServer>>;
  client: Redis;
  stats: Redis;
  limiter: ReturnType<Library['createTokenLimiter']>;
  n: number;
  pairs: number[];
  srv: number[];
}
const setups: Record<string, Setup> = {};
for (const [name, lib] of Object.entries(builds)) {
  const server = await startRedisServer({ persistence: 'none' });
  const client = new Redis(server.url), stats = new Redis(server.url);
  const defaultLimits = benchLimits(rules);
  const scriptsOnly = { evalsha: client.evalsha.bind(client), eval: client.eval.bind(client) };
  const store = new lib.RedisStore({ client: evalshaOnly && name === 'before' ? scriptsOnly : client, prefix: 'ab' });
  const limiter = lib.createTokenLimiter({ store, defaultLimits, storeTimeoutMs: 30000 });
  await limiter.warmup();
  setups[name] = { server, client, stats, limiter, n: 0, pairs: [] as number[], srv: [] as number[] };
}
async function slice(s: Setup, ms: number) {
  const end = performance.now() + ms; let count = 0; const t0 = performance.now();
  const u0 = (await scriptStats(s.stats)).us;
  await Promise.all(Array.from({ length: 100 }, async () => { while (performance.now() < end) { const r = await s.limiter.reserve(`u${s.n++ % 1000}`, { tokens: 10 }); await s.limiter.commit(r, { inputTokens: 5, outputTokens: 5, model: 'gpt-4o-mini', provider: 'openai' }); count++; } }));
  await s.limiter.flush();
  const u1 = (await scriptStats(s.stats)).us;
  return { perSec: count / ((performance.now() - t0) / 1000), srv: (u1 - u0) / count };
}
for (const s of Object.values(setups)) await slice(s, 1000); // warm-up
for (let i = 0; i < slices; i++) {
  const order = i % 2 === 0 ? ['before', 'this'] : ['this', 'before'];
  for (const name of order) {
    const s = setups[name]!;
    const r = await slice(s, 1000);
    s.pairs.push(r.perSec);
    s.srv.push(r.srv);
  }
}
const out: Record<string, unknown> = { rules };
for (const [name, s] of Object.entries(setups)) {
  out[name] = {
    pairsPerSecond: Math.round(med(s.pairs)),
    pairsRange: [Math.round(Math.min(...s.pairs)), Math.round(Math.max(...s.pairs))],
    scriptUsPerPair: +med(s.srv).toFixed(1),
    scriptUsRange: [+Math.min(...s.srv).toFixed(1), +Math.max(...s.srv).toFixed(1)],
  };
  await s.limiter.close();
  s.client.disconnect();
  s.stats.disconnect();
  await s.server.stop();
}
console.log(JSON.stringify(out));
