import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { COMMANDS_PER_WRITE } from '../../src/stores/redis/tick-writes.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';

/** Counts the system-call-level writes of a connected client's socket (one per _write or _writev). */
function countWrites(client: Redis): { writes: number; chunks: number } {
  const stream = client.stream as unknown as { _write: (...a: unknown[]) => void; _writev?: (chunks: unknown[], cb: unknown) => void };
  const seen = { writes: 0, chunks: 0 };
  const write = stream._write.bind(stream);
  const writev = stream._writev?.bind(stream);
  stream._write = (...a) => {
    seen.writes += 1;
    seen.chunks += 1;
    write(...a);
  };
  if (writev) {
    stream._writev = (chunks, cb) => {
      seen.writes += 1;
      seen.chunks += chunks.length;
      writev(chunks, cb);
    };
  }
  return seen;
}

const clients: Redis[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

describe('RedisStore: commands of one tick leave in few socket writes', () => {
  const limits = [{ id: 'm', tokens: 1_000_000, period: 'month' as const }];

  it(`sends 50 reserves made in one tick in writes of ${COMMANDS_PER_WRITE}, and each gets its own answer`, async () => {
    const client = await connectRedis();
    clients.push(client);
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: uniquePrefix() }), defaultLimits: limits });
    // Settles the library load and the users' configs, so that the burst below is nothing but reserves.
    for (let i = 0; i < 50; i += 1) await limiter.release(await limiter.reserve(`u${i}`, { tokens: 1 }));
    await limiter.flush();
    const seen = countWrites(client);
    const reservations = await Promise.all(Array.from({ length: 50 }, (_, i) => limiter.reserve(`u${i}`, { tokens: 10 + i })));
    expect(seen.chunks).toBe(50);
    // The first at once, the 49 others by COMMANDS_PER_WRITE.
    expect(seen.writes).toBe(1 + Math.ceil(49 / COMMANDS_PER_WRITE));
    expect(reservations.map((r) => r.userId)).toEqual(Array.from({ length: 50 }, (_, i) => `u${i}`));
    await Promise.all(reservations.map((r, i) => limiter.commit(r, { inputTokens: i, outputTokens: 1 })));
    const usage = await Promise.all(Array.from({ length: 50 }, (_, i) => limiter.admin.getUsage(`u${i}`)));
    expect(usage.map((u) => u.used)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await limiter.close();
  });

  it('writes a lone command at once, without waiting for the end of the tick', async () => {
    const client = await connectRedis();
    clients.push(client);
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: uniquePrefix() }), defaultLimits: limits });
    await limiter.release(await limiter.reserve('lone', { tokens: 1 }));
    const seen = countWrites(client);
    const pending = limiter.reserve('lone', { tokens: 5 });
    // Promise reactions only, so the tick does not end: a write held for its end would not happen here.
    for (let i = 0; i < 1_000 && seen.writes === 0; i += 1) await Promise.resolve();
    expect(seen.writes).toBe(1);
    expect(seen.chunks).toBe(1);
    await limiter.release(await pending);
    await limiter.close();
  });

  it("keeps the application's own commands of the same tick in order around the store's", async () => {
    const client = await connectRedis();
    clients.push(client);
    const prefix = uniquePrefix();
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: limits });
    for (const user of ['app-a', 'app-b']) await limiter.release(await limiter.reserve(user, { tokens: 1 }));
    const key = `${prefix}:app-own`;
    await client.set(key, '0');
    const seen = countWrites(client);
    const stream = client.stream as unknown as { writableCorked: number };
    const reserving = [limiter.reserve('app-a', { tokens: 5 }), limiter.reserve('app-b', { tokens: 7 })];
    // The second reserve's command corks the socket a few promise reactions later (same tick).
    for (let i = 0; i < 1_000 && stream.writableCorked === 0; i += 1) await Promise.resolve();
    expect(stream.writableCorked).toBe(1);
    const [set, got, incr, ...reservations] = await Promise.all([client.set(key, '1'), client.get(key), client.incr(key), ...reserving]);
    expect([set, got, incr]).toEqual(['OK', '1', 2]);
    // The first reserve alone, then the second with the application's three commands.
    expect(seen.writes).toBe(2);
    expect(seen.chunks).toBe(5);
    await Promise.all(reservations.map((r) => limiter.commit(r!, { inputTokens: 2, outputTokens: 3 })));
    expect((await limiter.admin.getUsage('app-a')).used).toBe(5);
    expect((await limiter.admin.getUsage('app-b')).used).toBe(5);
    await client.del(key);
    await limiter.close();
  });

  it('writes at once again after the tick (no command waits for a later one)', async () => {
    const client = await connectRedis();
    clients.push(client);
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: uniquePrefix() }), defaultLimits: limits });
    await limiter.release(await limiter.reserve('later', { tokens: 1 }));
    const stream = client.stream as unknown as { writableCorked: number };
    const pending = limiter.reserve('later', { tokens: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.writableCorked).toBe(0);
    await limiter.release(await pending);
    await limiter.close();
  });
});
