import { describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { globalKeys, monthKey, outcomeBucket, userKeys } from '../../src/stores/redis/keys.js';
import { manualClock } from '../helpers/clock.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

/**
 * What RedisStore keeps, and for how long: every per-user key but the config expires by itself
 * (no user's next call is needed to prune it), idempotency records last the lease plus a margin,
 * and an idle user past retention keeps only its config.
 */
const client = await redisForThisFile();

describe('RedisStore retention', () => {
  it('expires every per-user key but the config by TTL, and keeps outcomes for the lease plus a margin, not a day', async () => {
    const prefix = uniquePrefix('ret');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'm', tokens: 10_000, period: 'day' }] });
    const kept = await limiter.reserve('kept', { tokens: 10 });
    await limiter.commit(kept, { inputTokens: 5, outputTokens: 5, model: 'gpt-4o' });
    const released = await limiter.reserve('kept', { tokens: 10 });
    await limiter.release(released);
    await limiter.reserve('kept', { tokens: 10 }); // a live hold
    await limiter.flush();
    const k = userKeys(prefix, 'kept');
    const [seconds] = await client.time();
    const now = Number(seconds) * 1000;
    const outcomes = k.outcomes(outcomeBucket(kept.id));
    for (const key of [k.windows, outcomes, k.log, k.historyMonth(monthKey(now))]) {
      expect(await client.pttl(key), key).toBeGreaterThan(0);
    }
    expect(await client.exists(k.config)).toBe(0); // default rules, no anchor: nothing to keep
    // Outcomes answer replays for the lease plus 10 minutes (and an hour of slack), not a day.
    const leaseMs = 600_000;
    expect(await client.pttl(outcomes)).toBeLessThanOrEqual(leaseMs + 600_000 + 3_600_000);
    expect(await client.pttl(outcomes)).toBeGreaterThan(leaseMs);
    expect(await client.hkeys(outcomes)).toEqual(expect.arrayContaining([kept.id, released.id]));
    // The shared keys expire too, but the user index and totals (one entry per user, three numbers).
    const g = globalKeys(prefix);
    const guards = await client.keys(g.applied('*'));
    expect(guards).toHaveLength(1);
    for (const key of [g.log, ...guards, g.historyMonth(monthKey(now))]) expect(await client.pttl(key), key).toBeGreaterThan(0);
    // The aggregates' replay guard: one key per store instance, kept a day after its last batch.
    expect(await client.pttl(guards[0]!)).toBeLessThanOrEqual(86_400_000);
  });

  it('an idle user past retention keeps only its config, under 1 KB, even with its own rules and a rolling period', async () => {
    const prefix = uniquePrefix('ret');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }) });
    await limiter.admin.setLimits('idle', [
      { id: 'monthly', tokens: 1_000_000, period: { days: 30 } },
      { id: 'daily', tokens: 100_000, period: 'day', timeZone: 'America/Sao_Paulo' },
      { id: 'rpm', requests: 60, period: 'minute' },
    ]);
    await limiter.commit(await limiter.reserve('idle', { tokens: 100 }), { inputTokens: 50, outputTokens: 50, model: 'gpt-4o-mini' });
    await limiter.flush();
    const k = userKeys(prefix, 'idle');
    const keys = await client.keys(`${prefix}:{${k.tag}}:*`);
    const withoutTtl = [];
    for (const key of keys) if ((await client.pttl(key)) === -1) withoutTtl.push(key);
    expect(withoutTtl).toEqual([k.config]);
    // What expiry leaves: the config alone.
    await client.del(...keys.filter((key) => key !== k.config));
    const bytes = Number(await client.memory('USAGE', k.config));
    expect(bytes).toBeLessThanOrEqual(1024);
    const fresh = createTokenLimiter({ store: new RedisStore({ client, prefix }) });
    expect((await fresh.admin.getLimits('idle')).map((r) => r.id)).toEqual(['monthly', 'daily', 'rpm']);
    expect(await fresh.admin.getUsage('idle')).toMatchObject({ used: 0, reserved: 0 });
  });

  it('sets each key\'s expiry once per recorded horizon, and again for a key the horizon does not name', async () => {
    const prefix = uniquePrefix('ret');
    const clock = manualClock(Date.UTC(2031, 0, 15, 12, 0));
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), clock: clock.now, defaultLimits: [{ id: 'm', tokens: 10_000, period: 'day' }] });
    const call = async () => {
      const r = await limiter.reserve('h', { tokens: 10 });
      await limiter.commit(r, { inputTokens: 5, outputTokens: 5, model: 'gpt-4o' });
      await limiter.flush();
      return k.outcomes(outcomeBucket(r.id));
    };
    const k = userKeys(prefix, 'h');
    const first = await call();
    expect(await client.pttl(first)).toBeGreaterThan(0);
    // Within the horizon, a call does not set the log's expiry again.
    await client.persist(k.log);
    clock.advance(60_000);
    await call();
    expect(await client.pttl(k.log)).toBe(-1);
    // Ten minutes on, outcomes go to another key, well within the horizon recorded for the first
    // one: the horizon names its key, so the new key gets its own expiry.
    clock.advance(600_000);
    const next = await call();
    expect(next).not.toBe(first);
    expect(await client.pttl(next)).toBeGreaterThan(0);
  });

  it('reads horizons an earlier build wrote one per field as none: sets each expiry again, once, and drops those fields', async () => {
    const prefix = uniquePrefix('ret');
    const clock = manualClock(Date.UTC(2031, 0, 15, 12, 0));
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), clock: clock.now, defaultLimits: [{ id: 'm', tokens: 10_000, period: 'day' }] });
    const k = userKeys(prefix, 'old');
    const call = async () => {
      await limiter.commit(await limiter.reserve('old', { tokens: 10 }), { inputTokens: 5, outputTokens: 5, model: 'gpt-4o' });
      await limiter.flush();
    };
    await call();
    // The earlier form: byte 1, the horizon as a double, the key's name; one field per key. These
    // name horizons far ahead, so a build that still read them would set no expiry below.
    const far = Date.UTC(2099, 0, 1);
    const oldHorizon = (name: string) => Buffer.concat([Buffer.from([1]), Buffer.from(new Float64Array([far]).buffer), Buffer.from(name)]);
    await client.hset(k.windows, 'k', oldHorizon(''), 'kd', oldHorizon('x'), 'kl', oldHorizon(''), 'kh', oldHorizon('203101'));
    await client.persist(k.log);
    await client.persist(k.windows);
    clock.advance(60_000);
    await call();
    expect(await client.pttl(k.log)).toBeGreaterThan(0);
    expect(await client.pttl(k.windows)).toBeGreaterThan(0);
    expect(await client.hexists(k.windows, 'kd')).toBe(0);
    expect(await client.hexists(k.windows, 'kl')).toBe(0);
    expect(await client.hexists(k.windows, 'kh')).toBe(0);
    expect((await client.hgetBuffer(k.windows, 'k'))?.[0]).toBe(2);
    // From then on, the horizons written in the new form are read: no expiry set again.
    await client.persist(k.log);
    clock.advance(60_000);
    await call();
    expect(await client.pttl(k.log)).toBe(-1);
  });

  it('a damaged horizons value counts as none: the expiries are set again, and the calls go on', async () => {
    const prefix = uniquePrefix('ret');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'm', tokens: 10_000, period: 'day' }] });
    const k = userKeys(prefix, 'damaged');
    await limiter.commit(await limiter.reserve('damaged', { tokens: 10 }), { inputTokens: 5, outputTokens: 5 });
    await limiter.flush();
    for (const value of [Buffer.from([2, 1, 2, 3]), Buffer.from([2]), Buffer.from('2 garbage')]) {
      await client.hset(k.windows, 'k', value);
      await client.persist(k.log);
      await limiter.commit(await limiter.reserve('damaged', { tokens: 10 }), { inputTokens: 5, outputTokens: 5 });
      await limiter.flush();
      expect(await client.pttl(k.log)).toBeGreaterThan(0);
    }
    expect((await limiter.admin.getUsage('damaged')).used).toBe(40);
  });
});
