/**
 * What RedisStore keeps, measured on a redis-server started for the bench (nothing else on it):
 * users make calls through the public API (one rule each), then every key under the bench's prefix
 * is measured with `MEMORY USAGE` (sampling all elements) and `PTTL`.
 * - per user: the keys in the user's hash tag, bytes and count, for users with 1 and with 10 calls;
 *   per call: the difference divided by the 9 extra calls;
 * - kept past retention: the user's keys with no time to live (all others expire by TTL, with no
 *   job and no next call needed): what an idle user costs forever;
 * - all-users keys (the `{g}` tag: log of all users, history, totals, user index) per call.
 * Run standalone with `npx tsx bench/redis-footprint.ts`.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTokenLimiter, RedisStore } from '../src/index.js';
import { startRedisServer } from '../test/support/index.js';

export interface FootprintResult {
  users: number;
  /** Bytes and keys per user after 1 call, and after 10 calls. */
  oneCall: { bytesPerUser: number; keysPerUser: number };
  tenCalls: { bytesPerUser: number; keysPerUser: number };
  /** (10-call bytes − 1-call bytes) ÷ 9. */
  bytesPerCall: number;
  /** Bytes and keys per user that have no TTL (kept past every retention). */
  keptPastRetention: { bytesPerUser: number; keysPerUser: number };
  /** The same for users with rules of their own (their config is kept). */
  keptPastRetentionWithOwnRules: { bytesPerUser: number; keysPerUser: number };
  /** Longest TTL among the user keys that expire (days). */
  longestTtlDays: number;
  /** Bytes of the all-users keys per call made. */
  globalBytesPerCall: number;
  /** Bytes of the all-users keys without TTL (the user index, totals, epoch) per user. */
  globalKeptPerUser: number;
}

interface Tally {
  bytes: number;
  keys: number;
  persistentBytes: number;
  persistentKeys: number;
  longestTtlMs: number;
}

async function tally(client: Redis, pattern: string): Promise<Tally> {
  const t: Tally = { bytes: 0, keys: 0, persistentBytes: 0, persistentKeys: 0, longestTtlMs: 0 };
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const [bytes, ttl] = await Promise.all([client.memory('USAGE', key, 'SAMPLES', 0), client.pttl(key)]);
      t.bytes += Number(bytes ?? 0);
      t.keys += 1;
      if (ttl === -1) {
        t.persistentBytes += Number(bytes ?? 0);
        t.persistentKeys += 1;
      } else t.longestTtlMs = Math.max(t.longestTtlMs, ttl);
    }
  } while (cursor !== '0');
  return t;
}

export async function benchRedisFootprint(users = 1000): Promise<FootprintResult> {
  const server = await startRedisServer({ persistence: 'none' });
  const client = new Redis(server.url);
  try {
    const measure = async (calls: number, configured = false) => {
      const prefix = `fp${randomBytes(4).toString('hex')}`;
      const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'monthly', tokens: 1e12, period: 'month' }] });
      if (configured) {
        for (let u = 0; u < users; u += 1) await limiter.admin.setLimits(`user-${u}@example.com`, [{ id: 'monthly', tokens: 2e12, period: 'month' }]);
      }
      for (let u = 0; u < users; u += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, users - u) }, async (_, i) => {
            for (let c = 0; c < calls; c += 1) {
              const r = await limiter.reserve(`user-${u + i}@example.com`, { tokens: 500, model: 'gpt-4o-mini', provider: 'openai' });
              await limiter.commit(r, { inputTokens: 320, outputTokens: 180, model: 'gpt-4o-mini', provider: 'openai' });
            }
          }),
        );
      }
      await limiter.close();
      const global = await tally(client, `${prefix}:{g}:*`);
      const user = await tally(client, `${prefix}:{[bh]*`);
      return { user, global };
    };
    const one = await measure(1);
    const ten = await measure(10);
    const configured = await measure(10, true);
    return {
      users,
      oneCall: { bytesPerUser: one.user.bytes / users, keysPerUser: one.user.keys / users },
      tenCalls: { bytesPerUser: ten.user.bytes / users, keysPerUser: ten.user.keys / users },
      bytesPerCall: (ten.user.bytes - one.user.bytes) / (9 * users),
      keptPastRetention: { bytesPerUser: ten.user.persistentBytes / users, keysPerUser: ten.user.persistentKeys / users },
      keptPastRetentionWithOwnRules: { bytesPerUser: configured.user.persistentBytes / users, keysPerUser: configured.user.persistentKeys / users },
      longestTtlDays: ten.user.longestTtlMs / 86_400_000,
      globalBytesPerCall: ten.global.bytes / (10 * users),
      globalKeptPerUser: ten.global.persistentBytes / users,
    };
  } finally {
    client.disconnect();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchRedisFootprint(Number(process.argv[2] ?? 1000)), null, 2));
