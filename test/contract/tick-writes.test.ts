import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore, type TokenLimiter } from '../../src/index.js';
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

const opened: Array<{ client: Redis; limiter: TokenLimiter }> = [];
afterEach(async () => {
  for (const { client, limiter } of opened.splice(0)) {
    await limiter.close();
    client.disconnect();
  }
});

/** A limiter on a RedisStore of its own connection, its users already known to it (so that a call after this is nothing but its reserve). */
async function storeOnItsOwnClient(users: string[], prefix = uniquePrefix()): Promise<{ client: Redis; limiter: TokenLimiter }> {
  const client = await connectRedis();
  const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
  opened.push({ client, limiter });
  // Settles the library load and the users' configs.
  for (const user of users) await limiter.release(await limiter.reserve(user, { tokens: 1 }));
  await limiter.flush();
  return { client, limiter };
}

describe('RedisStore: commands of one tick leave in few socket writes', () => {
  it(`sends 50 reserves made in one tick in writes of ${COMMANDS_PER_WRITE}, and each gets its own answer`, async () => {
    const { client, limiter } = await storeOnItsOwnClient(Array.from({ length: 50 }, (_, i) => `u${i}`));
    const seen = countWrites(client);
    const reservations = await Promise.all(Array.from({ length: 50 }, (_, i) => limiter.reserve(`u${i}`, { tokens: 10 + i })));
    expect(seen.chunks).toBe(50);
    // The first at once, the 49 others by COMMANDS_PER_WRITE.
    expect(seen.writes).toBe(1 + Math.ceil(49 / COMMANDS_PER_WRITE));
    expect(reservations.map((r) => r.userId)).toEqual(Array.from({ length: 50 }, (_, i) => `u${i}`));
    await Promise.all(reservations.map((r, i) => limiter.commit(r, { inputTokens: i, outputTokens: 1 })));
    const usage = await Promise.all(Array.from({ length: 50 }, (_, i) => limiter.admin.getUsage(`u${i}`)));
    expect(usage.map((u) => u.used)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('writes a lone command at once, without waiting for the end of the tick', async () => {
    const { client, limiter } = await storeOnItsOwnClient(['lone']);
    const seen = countWrites(client);
    const pending = limiter.reserve('lone', { tokens: 5 });
    // Promise reactions only, so the tick does not end: a write held for its end would not happen here.
    for (let i = 0; i < 1_000 && seen.writes === 0; i += 1) await Promise.resolve();
    expect(seen.writes).toBe(1);
    expect(seen.chunks).toBe(1);
    await limiter.release(await pending);
  });

  it("keeps the application's own commands of the same tick in order around the store's", async () => {
    const prefix = uniquePrefix();
    const { client, limiter } = await storeOnItsOwnClient(['app-a', 'app-b'], prefix);
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
  });

  it('uncorks at the end of the tick: a burst is never held past it', async () => {
    const { client, limiter } = await storeOnItsOwnClient(['later-a', 'later-b']);
    const stream = client.stream as unknown as { writableCorked: number };
    // Two in one tick: the second corks the socket.
    const pending = [limiter.reserve('later-a', { tokens: 1 }), limiter.reserve('later-b', { tokens: 1 })];
    for (let i = 0; i < 1_000 && stream.writableCorked === 0; i += 1) await Promise.resolve();
    expect(stream.writableCorked).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.writableCorked).toBe(0);
    // Held past the tick, the second reserve would never reach Redis and this would time out.
    for (const r of await Promise.all(pending)) await limiter.release(r);
  });
});
