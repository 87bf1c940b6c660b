import { describe, expect, it } from 'vitest';
import { createTokenLimiter, InvalidArgumentError, MemoryStore, RedisStore, StoreFullError, type QuotaStore } from '../../src/index.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

const redis = await redisForThisFile();

describe('options', () => {
  it('has safe defaults: 100,000 tokens per calendar month, deny on store errors', async () => {
    const limiter = createTokenLimiter();
    const usage = await limiter.admin.getUsage('someone');
    expect(usage.limit).toBe(100_000);
    expect(usage.windows[0]!.rule).toEqual({ id: 'monthly', tokens: 100_000, period: 'month' });
    const now = new Date();
    expect(usage.periodStart).toEqual(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)));
  });

  it.each([
    [{ nope: 1 }, 'options.nope'],
    [{ store: {} }, 'options.store'],
    [{ defaultLimits: [] }, 'options.defaultLimits'],
    [{ defaultLimits: [{ id: 'x', tokens: 1, period: 'month', costUsd: 1 }] }, 'options.defaultLimits[0]'],
    [{ outputReservation: -1 }, 'options.outputReservation'],
    [{ leaseMs: 0 }, 'options.leaseMs'],
    [{ leaseMs: 1.5 }, 'options.leaseMs'],
    [{ onStoreError: 'maybe' }, 'options.onStoreError'],
    [{ onStoreReset: 'allow' }, 'options.onStoreReset'],
    [{ storeResetCheckMs: 0 }, 'options.storeResetCheckMs'],
    [{ alertThresholds: [0] }, 'options.alertThresholds[0]'],
    [{ alertThresholds: [NaN] }, 'options.alertThresholds[0]'],
    [{ alertThresholds: 0.8 }, 'options.alertThresholds'],
    [{ clock: 5 }, 'options.clock'],
    [{ storeTimeoutMs: -5 }, 'options.storeTimeoutMs'],
    [{ usageLog: { maxLength: 0 } }, 'options.usageLog.maxLength'],
    [{ usageLog: { keep: 1 } }, 'options.usageLog.keep'],
    [{ history: { userRetentionDays: 0 } }, 'options.history.userRetentionDays'],
    [{ pricing: { models: { 'gpt-x': { input: -1, output: 1 } } } }, 'options.pricing.models.gpt-x.input'],
    [{ pricing: { fallback: { input: 1 } } }, 'options.pricing.fallback.output'],
    [{ idempotencyTtlMs: 1000, leaseMs: 5000 }, 'options.idempotencyTtlMs'],
    ['nope', 'options'],
  ])('refuses %j naming %s', (options, parameter) => {
    let error: unknown;
    try {
      createTokenLimiter(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'invalid_argument', parameter });
  });

  it('a cost rule and a call without a cost estimate: the error names the model and where its price goes', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'dollars', costUsd: 5, period: 'month' }] });
    await expect(limiter.reserve('u', { tokens: 10, model: 'acme-llm-7' })).rejects.toThrow(
      'Invalid estimate.costUsd: required: rule "dollars" limits costUsd (model "acme-llm-7" has no price: give it one in the limiter\'s pricing.models, or a pricing.fallback) (got undefined)',
    );
    await expect(limiter.reserve('u', { tokens: 10 })).rejects.toThrow(/limits costUsd \(pass estimate\.costUsd\)/);
    await limiter.close();
  });

  it('validates store options', () => {
    expect(() => new MemoryStore({ maxUsers: 0 })).toThrow(InvalidArgumentError);
    // A misspelt option is refused, not ignored with the default left in force.
    expect(() => new MemoryStore({ maxUser: 3 } as never)).toThrow(/options\.maxUser: unknown option \(allowed: maxUsers, clock\)/);
    expect(() => new MemoryStore({ clock: 5 } as never)).toThrow(/options\.clock/);
    expect(() => new MemoryStore([] as never)).toThrow(InvalidArgumentError);
    expect(() => new RedisStore({ client: {} as never })).toThrow(/options.client/);
    expect(() => new RedisStore({ client: { evalsha: () => 0, eval: () => 0 } as never, prefix: '' })).toThrow(/options.prefix/);
  });

  it('a full MemoryStore refuses a new user with StoreFullError (store_full) when nobody is idle, not as an outage', async () => {
    const events: string[] = [];
    const limiter = createTokenLimiter({ store: new MemoryStore({ maxUsers: 2 }), onStoreError: 'allow' });
    limiter.on('store-error', (e) => events.push(e.policy));
    await limiter.reserve('a', { tokens: 1 });
    await limiter.reserve('b', { tokens: 1 });
    // Under 'allow' a full store must not let the call through unmetered: it is not an outage.
    const error = await limiter.reserve('c', { tokens: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreFullError);
    expect(error).toMatchObject({ code: 'store_full', status: 503, userId: 'c', capacity: 2 });
    expect(events).toEqual([]);
    await expect(limiter.reserve('a', { tokens: 1 })).resolves.toBeTruthy();
  });

  it('a full MemoryStore makes room by forgetting an idle user (default settings, nothing held or used)', async () => {
    const limiter = createTokenLimiter({ store: new MemoryStore({ maxUsers: 2 }) });
    const idle = await limiter.reserve('idle', { tokens: 1 });
    await limiter.release(idle);
    const busy = await limiter.reserve('busy', { tokens: 5 });
    await limiter.commit(busy, { inputTokens: 5, outputTokens: 0 });
    await expect(limiter.reserve('new', { tokens: 1 })).resolves.toBeTruthy();
    expect((await limiter.admin.getUsage('busy')).used).toBe(5);
  });

  it('a throwing event listener never breaks a call', async () => {
    const errors: unknown[] = [];
    const limiter = createTokenLimiter({ logger: { error: (_m, meta) => errors.push(meta) } });
    limiter.on('usage', () => {
      throw new Error('listener bug');
    });
    const r = await limiter.reserve('z', { tokens: 1 });
    await expect(limiter.commit(r, { inputTokens: 1, outputTokens: 1 })).resolves.toMatchObject({ totalTokens: 2 });
    expect(errors).toHaveLength(1);
  });

  it('on() refuses an event it never emits and a listener that is not a function', async () => {
    const limiter = createTokenLimiter();
    const calls: string[] = [];
    // A typo would otherwise register a listener that is never called.
    for (const name of ['usages', 'Usage', 'commit', '', 'toString', '__proto__']) {
      expect(() => limiter.on(name as 'usage', () => calls.push(name))).toThrow(InvalidArgumentError);
    }
    for (const listener of [undefined, null, 'f', {}]) {
      expect(() => limiter.on('usage', listener as never)).toThrow(expect.objectContaining({ code: 'invalid_argument', parameter: 'listener' }));
    }
    for (const name of ['usage', 'alert', 'rejected', 'store-error', 'store-reset', 'ledger-error', 'ledger-lag'] as const) {
      expect(typeof limiter.on(name, () => calls.push(name))).toBe('function');
    }
    const r = await limiter.reserve('z', { tokens: 1 });
    await limiter.commit(r, { inputTokens: 1, outputTokens: 1 });
    expect(calls).toEqual(['usage']);
  });

  describe.each([
    ['MemoryStore', async () => ({ store: new MemoryStore() as QuotaStore, done: () => {} })],
    [
      'RedisStore',
      async () => ({ store: new RedisStore({ client: redis, prefix: uniquePrefix() }) as QuotaStore, done: () => {} }),
    ],
  ])('the clock option, %s', (_name, open) => {
    const rules = [{ id: 'daily', tokens: 1000, period: 'day' as const }, { id: 'weekly', tokens: 1000, period: { days: 7 } }];

    it('takes a clock with a fraction of a millisecond, as one built on performance.now() has', async () => {
      const { store, done } = await open();
      const at = Date.parse('2026-03-10T23:59:59.999Z') + 0.75;
      const limiter = createTokenLimiter({ store, clock: () => at, defaultLimits: rules });
      const record = await limiter.commit(await limiter.reserve('u', { tokens: 10 }), { inputTokens: 7, outputTokens: 3 });
      expect(record.timestamp).toEqual(new Date('2026-03-10T23:59:59.999Z'));
      const usage = await limiter.admin.getUsage('u');
      expect(usage.windows.map((w) => [w.used, w.resetAt])).toEqual([
        [10, new Date('2026-03-11T00:00:00.000Z')],
        [10, new Date('2026-03-17T00:00:00.000Z')],
      ]);
      await limiter.close();
      done();
    });

    it.each([
      ['NaN', NaN],
      ['a string', '1773187200000'],
      ['before 1970', -5],
      ['past year 9999', 1e20],
    ])('fails each call with InvalidArgumentError for a time that is %s, and holds nothing', async (_what, value) => {
      const { store, done } = await open();
      let time: unknown = Date.parse('2026-03-10T12:00:00.000Z');
      const limiter = createTokenLimiter({ store, clock: () => time as number, defaultLimits: rules });
      await limiter.commit(await limiter.reserve('u', { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
      time = value;
      const error = await limiter.reserve('u', { tokens: 10 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ parameter: 'options.clock' });
      await expect(limiter.admin.getUsage('u')).rejects.toMatchObject({ parameter: 'options.clock' });
      time = Date.parse('2026-03-10T12:00:01.000Z');
      const usage = await limiter.admin.getUsage('u');
      expect(usage.windows.map((w) => [w.used, w.reserved])).toEqual([
        [10, 0],
        [10, 0],
      ]);
      await limiter.close();
      done();
    });
  });
});
