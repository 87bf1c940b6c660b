/**
 * Memory figures, each measured in fresh processes of this run against a baseline of the same run:
 * - RSS of a process with the library loaded and warmed (both encoders, a limiter with a store,
 *   calls made) vs a bare process started the same way (node + tsx);
 * - MemoryStore bytes per user for 100,000 users (one rule, one call each, after `global.gc()`) vs
 *   the bytes per entry of the smallest useful record (a Map from user id to one counter).
 * Run standalone with `npx tsx bench/memory.ts`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RssResult {
  /** Bare `node --import tsx` process, MB. */
  bareMb: number;
  /** Library imported, limiter created (MemoryStore), nothing warmed, MB. */
  loadedMb: number;
  /** Library warmed (`warmup()`: o200k_base and cl100k_base) and 1,000 calls made, MB. */
  warmedMb: number;
  addedMb: number;
  ratio: number;
}

export interface BytesPerUserResult {
  users: number;
  /** Heap growth per user with the library (MemoryStore + limiter caches), bytes. */
  bytesPerUser: number;
  /** Heap growth per entry of `Map<userId, { used: number }>` for the same ids, bytes. */
  baselineBytesPerUser: number;
  ratio: number;
  /** Of which bounded caches (the limiter's rules cache holds at most userCacheSize users), informative. */
  heapMb: number;
}

const SELF = fileURLToPath(import.meta.url);

function child(mode: string, extraNodeArgs: string[] = []): Record<string, number> {
  const out = execFileSync(process.execPath, [...extraNodeArgs, '--import', 'tsx', SELF, mode], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
}

/** Median of `runs` fresh processes for each RSS figure. */
export function benchRss(runs = 3): RssResult {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const bare: number[] = [];
  const loaded: number[] = [];
  const warmed: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    bare.push(child('rss-bare').rss!);
    loaded.push(child('rss-loaded').rss!);
    warmed.push(child('rss-warmed').rss!);
  }
  const mb = (bytes: number) => Math.round((bytes / 1e6) * 10) / 10;
  const b = median(bare);
  const w = median(warmed);
  return { bareMb: mb(b), loadedMb: mb(median(loaded)), warmedMb: mb(w), addedMb: mb(w - b), ratio: w / b };
}

export function benchBytesPerUser(users = 100_000): BytesPerUserResult {
  const ours = child(`bytes-library:${users}`, ['--expose-gc']);
  const base = child(`bytes-baseline:${users}`, ['--expose-gc']);
  return {
    users,
    bytesPerUser: Math.round(ours.perUser!),
    baselineBytesPerUser: Math.round(base.perUser!),
    ratio: ours.perUser! / base.perUser!,
    heapMb: Math.round((ours.heap! / 1e6) * 10) / 10,
  };
}

// ------------------------------------------------------------------ child processes

const gc = (globalThis as { gc?: () => void }).gc;
function collect(): number {
  for (let i = 0; i < 3; i += 1) gc?.();
  return process.memoryUsage().heapUsed;
}

async function runChild(mode: string): Promise<Record<string, number>> {
  if (mode === 'rss-bare') return { rss: process.memoryUsage().rss };
  const { createTokenLimiter, MemoryStore } = await import('../src/index.js');
  if (mode === 'rss-loaded') {
    createTokenLimiter({ store: new MemoryStore() });
    return { rss: process.memoryUsage().rss };
  }
  if (mode === 'rss-warmed') {
    const limiter = createTokenLimiter({ store: new MemoryStore() });
    await limiter.warmup();
    const { estimateOpenAIRequest } = await import('../src/index.js');
    for (let i = 0; i < 1000; i += 1) {
      estimateOpenAIRequest('chat.completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Question number ${i}: what is the capital of Portugal?` }] });
      const r = await limiter.reserve(`user-${i % 100}`, { tokens: 100 });
      await limiter.commit(r, { inputTokens: 20, outputTokens: 30, model: 'gpt-4o-mini' });
    }
    return { rss: process.memoryUsage().rss };
  }
  const [kind, countText] = mode.split(':') as [string, string];
  const users = Number(countText);
  const ids = Array.from({ length: users }, (_, i) => `user-${String(i).padStart(8, '0')}`);
  if (kind === 'bytes-baseline') {
    const before = collect();
    const map = new Map<string, { used: number }>();
    for (const id of ids) map.set(id, { used: 50 });
    const after = collect();
    return { perUser: (after - before) / users, heap: after - before, size: map.size };
  }
  // The library: one rule, one reserve + commit per user (a window, a log entry, an hour of history).
  const store = new MemoryStore({ maxUsers: users + 1 });
  const limiter = createTokenLimiter({ store, defaultLimits: [{ id: 'monthly', tokens: 100_000, period: 'month' }] });
  await limiter.commit(await limiter.reserve('warm-up', { tokens: 1 }), { inputTokens: 1, outputTokens: 0 });
  const before = collect();
  for (const id of ids) {
    const r = await limiter.reserve(id, { tokens: 100 });
    await limiter.commit(r, { inputTokens: 20, outputTokens: 30, model: 'gpt-4o-mini' });
  }
  const after = collect();
  if (store.size !== users + 1) throw new Error(`expected ${users + 1} users, got ${store.size}`);
  return { perUser: (after - before) / users, heap: after - before };
}

if (process.argv[1] === SELF && process.argv[2] !== undefined) {
  const result = await runChild(process.argv[2]);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else if (process.argv[1] === SELF) {
  console.log(benchRss());
  console.log(benchBytesPerUser());
}
