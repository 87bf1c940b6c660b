import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TokenLimiter } from '../src/index.js';
import { HOT_PATH_LIBRARY, SCRIPTS } from '../src/stores/redis/registry.js';
import { startRedisServer } from '../test/support/index.js';
import { benchLimits } from './pair-workload.mjs';
import { ensureBuilt } from './processes.js';

/**
 * Reserve+commit pairs per second through the public API on RedisStore, against raw pairs of
 * EVALSHA calls on the same connection, in the same run:
 * - a raw pair is two EVALSHA calls of a trivial script (one INCRBY) carrying one argument as large
 *   as our reserve's arguments as sent, measured during our warm-up (keys left out), so that payload
 *   size is not what separates them;
 * - ours is `reserve()` then `commit()` awaited until applied, users drawn from 1,000, with the
 *   aggregates over all users flushed at the end of each slice (their cost is counted);
 * - after a warm-up of both, 1 s slices alternate (ours, raw) `repeats` times; each repeat gives a
 *   ratio = our pairs/s ÷ raw pairs/s, reported as median and spread;
 * - Redis time per pair = CPU time of the redis-server process (its own, started for the bench, so
 *   that nothing else runs on it) during our slices ÷ pairs: reserve, commit and batched aggregates
 *   together, and the same for the raw pair. CPU time, unlike the server's own timings, does not
 *   count the time the server waited for a CPU on a busy machine;
 * - Redis script time per pair = the `usec` of EVALSHA, EVAL and FCALL in `INFO commandstats` (time spent
 *   executing the scripts, without reading, parsing and answering them) over the same slices ÷ pairs.
 *   This is the figure Redis itself reports per command; on a busy machine it also counts time the
 *   server waited for a CPU in the middle of a command;
 * - client CPU µs per pair = CPU time (user + system) of this Node process during the slice ÷ pairs,
 *   ours and raw: the engine, ioredis and the socket writes. On a machine with few cores the client
 *   and the server each fill one, and the pairs/s is bound by the larger of the two per-pair costs;
 * - ours runs the library as users import it, from `dist/` (built first if older than `src/`), not
 *   the TypeScript sources through tsx, whose transform adds work (a `__name` call per function
 *   created) that the build does not have.
 */
export interface PairsResult {
  concurrency: number;
  rules: number;
  /** Users were members of accounts (10 users each) whose rules were checked too. */
  accountRules: number;
  /** Bytes of our reserve's arguments as sent (keys left out): the raw pair's argument is this size. */
  reserveArgBytes: number;
  /**
   * Per repeat: our pairs/s, raw pairs/s, their ratio, Redis CPU µs and server µs (commandstats)
   * per pair, ours and raw; and the share of our script calls that went by FCALL (functions.ts).
   */
  repeats: Array<{
    ours: number;
    raw: number;
    ratio: number;
    redisUsPerPair: number;
    rawRedisUsPerPair: number;
    serverUsPerPair: number;
    rawServerUsPerPair: number;
    clientUsPerPair: number;
    rawClientUsPerPair: number;
    fcallShare: number;
  }>;
  p50Ms: number;
  p99Ms: number;
}

const TRIVIAL = "return redis.call('INCRBY', KEYS[1], 1)";

export async function benchRedisPairs(options: {
  concurrency: number;
  rules: number;
  /** Put each user in an account (10 users each) with this many rules of its own. */
  accountRules?: number;
  repeats?: number;
  sliceMs?: number;
}): Promise<PairsResult> {
  const { concurrency, rules } = options;
  const accountRules = options.accountRules ?? 0;
  const repeats = options.repeats ?? 3;
  const sliceMs = options.sliceMs ?? 1000;
  const server = await startRedisServer({ persistence: 'none' });
  const client = new Redis(server.url);
  const cpu = () => serverCpuUs(server.pid);
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const defaultLimits = benchLimits(rules);
  const { limiter, pair: ours } = await pairsOn(client, prefix, rules);
  await limiter.warmup();
  if (accountRules > 0) {
    for (let a = 0; a < 100; a += 1) await limiter.admin.setAccountLimits(`team${a}`, defaultLimits.slice(0, accountRules).map((r) => ({ ...r, id: `team-${r.id}` })));
    for (let u = 0; u < 1000; u += 1) await limiter.admin.setAccount(`u${u}`, `team${u % 100}`);
  }
  const sha = (await client.script('LOAD', TRIVIAL)) as string;
  // Our warm-up also measures our reserve's arguments as sent; the raw pair then carries one
  // argument of that size.
  const reserveArgBytes = await measuringReserveArgs(client, () => slice(ours, concurrency, sliceMs, limiter));
  const payload = 'x'.repeat(reserveArgBytes);
  const raw = async () => {
    await client.evalsha(sha, 1, `${prefix}:raw`, payload);
    await client.evalsha(sha, 1, `${prefix}:raw`, payload);
  };
  await slice(raw, concurrency, sliceMs);
  const out: PairsResult['repeats'] = [];
  const latencies: number[] = [];
  for (let i = 0; i < repeats; i += 1) {
    const stats = new Redis(server.url);
    const s0 = await scriptStats(stats);
    const u0 = cpu();
    const c0 = clientCpuUs();
    const a = await slice(ours, concurrency, sliceMs, limiter, latencies);
    const c1 = clientCpuUs();
    const u1 = cpu();
    const s1 = await scriptStats(stats);
    const c2 = clientCpuUs();
    const b = await slice(raw, concurrency, sliceMs);
    const c3 = clientCpuUs();
    const u2 = cpu();
    const s2 = await scriptStats(stats);
    stats.disconnect();
    out.push({
      ours: a.perSecond,
      raw: b.perSecond,
      ratio: a.perSecond / b.perSecond,
      redisUsPerPair: (u1 - u0) / a.count,
      rawRedisUsPerPair: (u2 - u1) / b.count,
      serverUsPerPair: (s1.us - s0.us) / a.count,
      rawServerUsPerPair: (s2.us - s1.us) / b.count,
      clientUsPerPair: (c1 - c0) / a.count,
      rawClientUsPerPair: (c3 - c2) / b.count,
      fcallShare: (s1.fcall - s0.fcall) / Math.max(1, s1.calls - s0.calls),
    });
  }
  latencies.sort((x, y) => x - y);
  await limiter.close();
  client.disconnect();
  await server.stop();
  return { concurrency, rules, accountRules, reserveArgBytes, repeats: out, p50Ms: latencies[Math.floor(latencies.length / 2)] ?? 0, p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

/** What {@link benchRulesRatio} measured. */
export interface RulesRatioResult {
  concurrency: number;
  /** The rules per user of each side: `many` ÷ `few` is the ratio. */
  few: number;
  many: number;
  /** Per repeat: pairs/s with `few` rules, then with `many` in the slice right after, and many ÷ few. */
  repeats: Array<{ few: number; many: number; ratio: number }>;
}

/**
 * Pairs/s with `many` rules per user ÷ pairs/s with `few`, measured the way the raw ratio is: two
 * limiters on one redis-server and one connection (their own key prefixes, the same 1,000 users),
 * warmed up, then 1 s slices alternating (few, many) `repeats` times; each repeat gives a ratio.
 * The rows of {@link benchRedisPairs} run one after the other, each with its own server, seconds
 * apart: on a machine whose speed changes from minute to minute, the quotient of two rows measures
 * the machine as much as the rules.
 */
export async function benchRulesRatio(options: { concurrency: number; few: number; many: number; repeats?: number; sliceMs?: number }): Promise<RulesRatioResult> {
  const { concurrency, few, many } = options;
  const repeats = options.repeats ?? 3;
  const sliceMs = options.sliceMs ?? 1000;
  const server = await startRedisServer({ persistence: 'none' });
  const client = new Redis(server.url);
  const sides = [await pairsOn(client, `bench${randomBytes(4).toString('hex')}`, few), await pairsOn(client, `bench${randomBytes(4).toString('hex')}`, many)];
  try {
    for (const side of sides) {
      await side.limiter.warmup();
      await slice(side.pair, concurrency, sliceMs, side.limiter);
    }
    const out: RulesRatioResult['repeats'] = [];
    for (let i = 0; i < repeats; i += 1) {
      const a = await slice(sides[0]!.pair, concurrency, sliceMs, sides[0]!.limiter);
      const b = await slice(sides[1]!.pair, concurrency, sliceMs, sides[1]!.limiter);
      out.push({ few: a.perSecond, many: b.perSecond, ratio: b.perSecond / a.perSecond });
    }
    return { concurrency, few, many, repeats: out };
  } finally {
    for (const side of sides) await side.limiter.close();
    client.disconnect();
    await server.stop();
  }
}

/**
 * A limiter of the library as users import it, from `dist/` (built first if older than `src/`; the
 * TypeScript sources through tsx add work the build does not have), on RedisStore with `rules` per
 * user, and one reserve+commit pair of it, users drawn in turn from 1,000.
 */
async function pairsOn(client: Redis, prefix: string, rules: number): Promise<{ limiter: TokenLimiter; pair: () => Promise<void> }> {
  ensureBuilt();
  // A path the type checker does not resolve: dist/ does not exist before the first build.
  const built = new URL('../dist/index.js', import.meta.url).href;
  const { createTokenLimiter, RedisStore } = (await import(built)) as typeof import('../src/index.js');
  const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: benchLimits(rules), storeTimeoutMs: 30_000 });
  let n = 0;
  const pair = async () => {
    const r = await limiter.reserve(`u${n++ % 1000}`, { tokens: 10 });
    await limiter.commit(r, { inputTokens: 5, outputTokens: 5, model: 'gpt-4o-mini', provider: 'openai' });
  };
  return { limiter, pair };
}

/**
 * What a server spent running scripts (EVALSHA, EVAL and FCALL in `INFO commandstats`): `us`, their
 * time in µs; `calls`, how many ran; `fcall`, how many of those by FCALL. Every call of the library
 * and of the raw pair is one of them; the commands a script calls are counted inside its time and
 * again under their own names, so those are left out.
 */
export async function scriptStats(client: Redis): Promise<{ us: number; calls: number; fcall: number }> {
  const info = (await client.info('commandstats')) as string;
  const out = { us: 0, calls: 0, fcall: 0 };
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval|fcall):calls=(\d+),usec=(\d+)/gm)) {
    out.calls += Number(m[2]);
    out.us += Number(m[3]);
    if (m[1] === 'fcall') out.fcall += Number(m[2]);
  }
  return out;
}

/**
 * Runs `work` while noting the largest byte size of the reserve's arguments (keys left out) sent
 * on `client`, by EVALSHA or by FCALL of the library (functions.ts).
 */
async function measuringReserveArgs(client: Redis, work: () => Promise<unknown>): Promise<number> {
  let largest = 0;
  const note = (numKeys: number, args: Array<string | Buffer>) => {
    largest = Math.max(largest, args.slice(numKeys).reduce((n, a) => n + Buffer.byteLength(a), 0));
  };
  type Call = (name: string, numKeys: number, ...args: Array<string | Buffer>) => Promise<unknown>;
  const tapped = client as unknown as { evalsha: Call; fcall: Call };
  const evalsha = client.evalsha.bind(client) as Call;
  const fcall = client.fcall.bind(client) as Call;
  const reserveFunction = HOT_PATH_LIBRARY.functions.get(SCRIPTS.reserve);
  tapped.evalsha = (sha, numKeys, ...args) => {
    if (sha === SCRIPTS.reserve.sha) note(numKeys, args);
    return evalsha(sha, numKeys, ...args);
  };
  tapped.fcall = (name, numKeys, ...args) => {
    if (name === reserveFunction) note(numKeys, args);
    return fcall(name, numKeys, ...args);
  };
  try {
    await work();
  } finally {
    Reflect.deleteProperty(client, 'evalsha');
    Reflect.deleteProperty(client, 'fcall');
  }
  if (largest === 0) throw new Error('the warm-up sent no reserve');
  return largest;
}

/** User + system CPU time of this process, in µs. */
function clientCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** User + system CPU time of a process, in µs (from /proc; clock ticks of 10 ms). */
function serverCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function slice(op: () => Promise<void>, concurrency: number, ms: number, limiter?: TokenLimiter, latencies?: number[]) {
  const end = performance.now() + ms;
  const started = performance.now();
  let count = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op();
        latencies?.push(performance.now() - t);
        count += 1;
      }
    }),
  );
  if (limiter) await limiter.flush();
  return { count, perSecond: count / ((performance.now() - started) / 1000) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const rules of [1, 10]) console.log(JSON.stringify(await benchRedisPairs({ concurrency: 100, rules })));
  console.log(JSON.stringify(await benchRedisPairs({ concurrency: 100, rules: 2 })));
  console.log(JSON.stringify(await benchRedisPairs({ concurrency: 100, rules: 2, accountRules: 2 })));
  console.log(JSON.stringify(await benchRulesRatio({ concurrency: 100, few: 1, many: 10 })));
}
