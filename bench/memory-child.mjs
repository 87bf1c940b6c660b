/**
 * One memory figure, measured in a fresh plain-node process (no tsx loader) from the built `dist/`,
 * as an application runs the package: `node bench/memory-child.mjs <mode>` prints one JSON line.
 * Modes: `rss-bare` (imports nothing), `rss-encoder` (gpt-tokenizer's o200k encoder alone, a count
 * made), `rss-loaded` (library imported, a limiter on a MemoryStore),
 * `rss-warmed` (`limiter.warmup()`, then 1,000 estimates and reserve+commit pairs of an OpenAI
 * o200k model), `bytes-library:<users>` and `bytes-baseline:<users>` (heap growth per user, with
 * `--expose-gc`). See memory.ts.
 */
import { memoryUsage } from 'node:process';

const gc = globalThis.gc;
function collect() {
  for (let i = 0; i < 3; i += 1) gc?.();
  return memoryUsage().heapUsed;
}

async function run(mode) {
  if (mode === 'rss-bare') return { rss: memoryUsage().rss };
  if (mode === 'rss-encoder') {
    // The o200k encoder of gpt-tokenizer alone, without the library: what the encoder itself costs.
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    return { rss: memoryUsage().rss, tokens: countTokens('What is the capital of Portugal?') };
  }
  const lib = await import('token-limits');
  if (mode === 'rss-loaded') {
    lib.createTokenLimiter({ store: new lib.MemoryStore() });
    return { rss: memoryUsage().rss };
  }
  if (mode === 'rss-warmed') {
    const limiter = lib.createTokenLimiter({ store: new lib.MemoryStore() });
    await limiter.warmup();
    // Which encoders warmup() loaded (the shared default tokenizer's state).
    const probe = lib.gptTokenizer();
    const afterWarmup = ['o200k_base', 'cl100k_base'].filter((e) => probe.isLoaded(e));
    for (let i = 0; i < 1000; i += 1) {
      lib.estimateOpenAIRequest('chat.completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Question number ${i}: what is the capital of Portugal?` }] });
      const r = await limiter.reserve(`user-${i % 100}`, { tokens: 100 });
      await limiter.commit(r, { inputTokens: 20, outputTokens: 30, model: 'gpt-4o-mini' });
    }
    await limiter.flush();
    const afterCalls = ['o200k_base', 'cl100k_base'].filter((e) => probe.isLoaded(e));
    return { rss: memoryUsage().rss, heapUsed: memoryUsage().heapUsed, encodersAfterWarmup: afterWarmup.join('+'), encodersAfterCalls: afterCalls.join('+') };
  }
  const [kind, countText] = mode.split(':');
  const users = Number(countText);
  const ids = Array.from({ length: users }, (_, i) => `user-${String(i).padStart(8, '0')}`);
  if (kind === 'bytes-baseline') {
    const before = collect();
    const map = new Map();
    for (const id of ids) map.set(id, { used: 50 });
    const after = collect();
    return { perUser: (after - before) / users, heap: after - before, size: map.size };
  }
  // The library: one rule, one reserve + commit per user (a window, a log entry, an hour of history).
  const store = new lib.MemoryStore({ maxUsers: users + 1 });
  const limiter = lib.createTokenLimiter({ store, defaultLimits: [{ id: 'monthly', tokens: 100_000, period: 'month' }] });
  await limiter.commit(await limiter.reserve('warm-up', { tokens: 1 }), { inputTokens: 1, outputTokens: 0 });
  await limiter.flush();
  const before = collect();
  for (const id of ids) {
    const r = await limiter.reserve(id, { tokens: 100 });
    await limiter.commit(r, { inputTokens: 20, outputTokens: 30, model: 'gpt-4o-mini' });
  }
  await limiter.flush();
  const after = collect();
  if (store.size !== users + 1) throw new Error(`expected ${users + 1} users, got ${store.size}`);
  return { perUser: (after - before) / users, heap: after - before };
}

process.stdout.write(`${JSON.stringify(await run(process.argv[2]))}\n`);
