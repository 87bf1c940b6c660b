import { describe, expect, it } from 'vitest';
import {
  createTokenLimiter,
  InvalidArgumentError,
  MemoryStore,
  QuotaStoreError,
  RedisStore,
  TokenLimitExceededError,
  type LimitRule,
  type QuotaStore,
  type StoreErrorEvent,
  type TokenLimiterOptions,
} from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';
import { flakyStore } from '../helpers/flaky-store.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

/**
 * Behaviours that crafted input, odd provider answers or store states broke before the engine
 * rebuild (each test failed on 188c00d). They run on both stores.
 */
const client = await redisForThisFile();

const STORES: Array<{ name: string; create: () => QuotaStore }> = [
  { name: 'MemoryStore', create: () => new MemoryStore() },
  { name: 'RedisStore', create: () => new RedisStore({ client, prefix: uniquePrefix('attack') }) },
];

const day = (tokens: number, id = 'daily'): LimitRule => ({ id, tokens, period: 'day' });

for (const { name, create } of STORES) {
  describe(`${name}: the reservation is an honest bound`, () => {
    function setup(options: Omit<TokenLimiterOptions, 'store'>, start: string) {
      const clock = manualClock(start);
      const limiter = createTokenLimiter({ store: create(), clock: clock.now, ...options });
      return { clock, limiter };
    }

    it('a rule that passes validation works on the store: { months: 1200 } anchored in 1970, whose previous window starts before 1970', async () => {
      const { limiter } = setup({ defaultLimits: [{ id: 'century', tokens: 1000, period: { months: 1200, anchor: '1970-01-01' } }] }, '2026-03-10T12:00:00Z');
      const r = await limiter.reserve('old', { tokens: 100 });
      await limiter.commit(r, { inputTokens: 60, outputTokens: 0 });
      expect(await limiter.admin.getUsage('old')).toMatchObject({ used: 60, reserved: 0, periodStart: new Date('1970-01-01T00:00:00Z') });
      await expect(limiter.reserve('old', { tokens: 941 })).rejects.toBeInstanceOf(TokenLimitExceededError);
    });

    it('charges the part of a commit beyond its hold to the window current at commit time (reserved 23:59:30, committed 00:00:10)', async () => {
      const { clock, limiter } = setup({ defaultLimits: [day(200_000)] }, '2026-03-10T23:59:30Z');
      const r = await limiter.reserve('late', { tokens: 1_000 });
      clock.set('2026-03-11T00:00:10Z');
      await limiter.commit(r, { inputTokens: 50_000, outputTokens: 50_000 });
      const usage = await limiter.admin.getUsage('late');
      expect(usage).toMatchObject({ used: 99_000, reserved: 0, periodStart: new Date('2026-03-11T00:00:00Z') });
      await expect(limiter.reserve('late', { tokens: 101_001 })).rejects.toBeInstanceOf(TokenLimitExceededError);
    });

    it('keeps in-flight usage when setLimits changes the period mid-call', async () => {
      const { limiter } = setup({ defaultLimits: [day(10_000, 'main')] }, '2026-03-10T12:30:00Z');
      const r = await limiter.reserve('switch', { tokens: 1_000 });
      await limiter.admin.setLimits('switch', [{ id: 'main', tokens: 10_000, period: 'hour' }]);
      await limiter.commit(r, { inputTokens: 700, outputTokens: 100 });
      expect(await limiter.admin.getUsage('switch')).toMatchObject({ used: 800, reserved: 0, periodStart: new Date('2026-03-10T12:00:00Z') });
    });

    it('keeps serving the stored window when the store clock moves back more than one window', async () => {
      const { clock, limiter } = setup({ defaultLimits: [day(1_000)] }, '2026-03-10T12:00:00Z');
      await limiter.commit(await limiter.reserve('back', { tokens: 100 }), { inputTokens: 300, outputTokens: 0 });
      clock.set('2026-03-06T12:00:00Z');
      const r = await limiter.reserve('back', { tokens: 100 });
      await limiter.commit(r, { inputTokens: 200, outputTokens: 0 });
      expect(await limiter.admin.getUsage('back')).toMatchObject({ used: 500, periodStart: new Date('2026-03-10T00:00:00Z') });
      await expect(limiter.reserve('back', { tokens: 501 })).rejects.toBeInstanceOf(TokenLimitExceededError);
    });

    it('charges from its own hold record: a forged reservation (no windows, or never reserved) still pays in full', async () => {
      const { limiter } = setup({ defaultLimits: [day(100_000)] }, '2026-03-10T12:00:00Z');
      const r = await limiter.reserve('forger', { tokens: 100 });
      await limiter.commit({ ...r, windows: [] }, { inputTokens: 59_000, outputTokens: 0 });
      expect(await limiter.admin.getUsage('forger')).toMatchObject({ used: 59_000, reserved: 0 });
      // Only an id and a user: a reservation object is nothing more to commit.
      const fake = { id: 'forged-0000000001', userId: 'forger' } as never;
      await limiter.commit(fake, { inputTokens: 40_000, outputTokens: 0 });
      expect(await limiter.admin.getUsage('forger')).toMatchObject({ used: 99_000, reserved: 0 });
      await expect(limiter.reserve('forger', { tokens: 1_001 })).rejects.toBeInstanceOf(TokenLimitExceededError);
    });

    it('counts usage whatever the descriptive fields: empty, 300-character, 10 KB and malformed models, a 64 KB user id', async () => {
      const { limiter } = setup({ defaultLimits: [day(1_000_000)] }, '2026-03-10T12:00:00Z');
      const models = ['', 'm'.repeat(300), '模'.repeat(10_000), 'bad\uD800surrogate', 'a|b%c'];
      for (const model of models) {
        const r = await limiter.reserve('odd', { tokens: 10 });
        const record = await limiter.commit(r, { inputTokens: 10, outputTokens: 0, model, endpoint: 'e'.repeat(5000), requestId: '' });
        expect(record.model.length).toBeGreaterThan(0);
        expect(record.model.length).toBeLessThanOrEqual(256);
      }
      const huge = 'u\u0000'.repeat(32_768);
      const r = await limiter.reserve(huge, { tokens: 10 });
      await limiter.commit(r, { inputTokens: 7, outputTokens: 0, model: 'gpt-4o' });
      expect((await limiter.admin.getUsage('odd')).used).toBe(50);
      expect((await limiter.admin.getUsage(huge)).used).toBe(7);
      expect(await limiter.admin.getUsageLog({ userId: huge })).toHaveLength(1);
    });
  });
}

describe('never lose usage, never let a call through unmetered', () => {
  it('a commit that cannot be written is queued and reported (store-error), never dropped silently', async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: [day(1000)] });
    const events: StoreErrorEvent[] = [];
    limiter.on('store-error', (e) => events.push(e));
    const r = await limiter.reserve('q', { tokens: 100 });
    flaky.set('fail');
    await expect(limiter.commit(r, { inputTokens: 80, outputTokens: 0 })).rejects.toBeInstanceOf(QuotaStoreError);
    expect(events).toMatchObject([{ operation: 'commit', policy: 'queued', userId: 'q' }]);
    expect(limiter.pendingWrites).toBe(1);
    flaky.set('ok');
    await limiter.flush();
    expect(limiter.pendingWrites).toBe(0);
    expect(await limiter.admin.getUsage('q')).toMatchObject({ used: 80, reserved: 0 });
  });

  it('retries each queued write on its own: one poisoned commit never holds back 100 good ones (they land within 2 s of the store coming back)', async () => {
    const inner = new MemoryStore();
    const flaky = flakyStore(inner);
    let poisoned = '';
    // A store whose commit of one reservation keeps failing, as if its slot stayed unreachable.
    const store: QuotaStore = {
      ...flaky.store,
      hotPath: {
        ...flaky.store.hotPath,
        commit: (c) => (c.reservationId === poisoned ? Promise.reject(new Error('ETIMEDOUT')) : flaky.store.hotPath.commit(c)),
      },
    };
    const limiter = createTokenLimiter({ store, defaultLimits: [day(1_000_000)] });
    const dropped: StoreErrorEvent[] = [];
    limiter.on('store-error', (e) => e.policy === 'dropped' && dropped.push(e));
    const bad = await limiter.reserve('poison', { tokens: 10 });
    poisoned = bad.id;
    const good = await Promise.all(Array.from({ length: 100 }, (_, i) => limiter.reserve(`good-${i % 10}`, { tokens: 10 })));
    flaky.set('fail');
    await limiter.commit(bad, { inputTokens: 5, outputTokens: 0 }).catch(() => {});
    await Promise.all(good.map((r) => limiter.commit(r, { inputTokens: 3, outputTokens: 0 }).catch(() => {})));
    expect(limiter.pendingWrites).toBe(101);
    // Long enough for every write to back off to its longest delay.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    flaky.set('ok');
    const back = Date.now();
    while (limiter.pendingWrites > 1 && Date.now() - back < 5_000) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(Date.now() - back).toBeLessThan(2_000);
    expect(limiter.pendingWrites).toBe(1);
    let used = 0;
    for (let i = 0; i < 10; i += 1) used += (await createTokenLimiter({ store: inner, defaultLimits: [day(1_000_000)] }).admin.getUsage(`good-${i}`)).used;
    expect(used).toBe(300);
    // A write the store refuses for good is dropped with an event, not retried forever.
    const refusing = createTokenLimiter({
      store: { ...inner, hotPath: { ...inner.hotPath, commit: () => Promise.reject(new Error('ERR token-limits: invalid record')) } },
      defaultLimits: [day(1_000_000)],
    });
    const events: StoreErrorEvent[] = [];
    refusing.on('store-error', (e) => events.push(e));
    await expect(refusing.commit(await refusing.reserve('x', { tokens: 1 }), { inputTokens: 1, outputTokens: 0 })).rejects.toBeInstanceOf(QuotaStoreError);
    expect(refusing.pendingWrites).toBe(0);
    await limiter.close();
  });
});

describe('bounded reads', () => {
  it('refuses a history read beyond 31 days of hours or 366 days of days with a typed error', async () => {
    const limiter = createTokenLimiter();
    const from = Date.parse('2026-01-01T00:00:00Z');
    await expect(limiter.admin.getUsageHistory({ from, to: from + 31 * 86_400_000, granularity: 'hour' })).resolves.toEqual([]);
    await expect(limiter.admin.getUsageHistory({ from, to: from + 32 * 86_400_000, granularity: 'hour' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(limiter.admin.getUsageHistory({ from, to: from + 366 * 86_400_000, granularity: 'day' })).resolves.toEqual([]);
    await expect(limiter.admin.getUsageHistory({ from, to: from + 10_000 * 86_400_000, granularity: 'day' })).rejects.toMatchObject({ parameter: 'options.to' });
  });
});
