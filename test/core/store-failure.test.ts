import Redis from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, QuotaStoreError, RedisStore, type StoreErrorEvent } from '../../src/index.js';
import { flakyStore, withCommit } from '../helpers/flaky-store.js';

const rules = [{ id: 'm', tokens: 1000, period: 'month' as const }];

async function eventually(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('onStoreError: deny (default)', () => {
  it('fails a call quickly with QuotaStoreError when the store errors', async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules });
    const events: StoreErrorEvent[] = [];
    limiter.on('store-error', (e) => events.push(e));
    flaky.set('fail');
    const error = await limiter.reserve('u', { tokens: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaStoreError);
    expect(error).toMatchObject({ code: 'store_unavailable', status: 503, operation: 'reserve' });
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(events[0]).toMatchObject({ operation: 'reserve', policy: 'deny', userId: 'u' });
  });

  it('never hangs: a store that does not answer fails within storeTimeoutMs', async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules, storeTimeoutMs: 150 });
    flaky.set('hang');
    const started = Date.now();
    await expect(limiter.reserve('u', { tokens: 10 })).rejects.toThrow(/did not answer reserve within 150 ms/);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1500);
    await expect(limiter.admin.getUsage('u')).rejects.toBeInstanceOf(QuotaStoreError);
    expect(await limiter.check('u')).toMatchObject({ allowed: false, reason: 'store_unavailable' });
  });

  it('a reserve that timed out but was applied is released in the background', async () => {
    const inner = new MemoryStore();
    const flaky = flakyStore(inner);
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules, storeTimeoutMs: 100 });
    flaky.set('apply-then-hang');
    await expect(limiter.reserve('amb', { tokens: 900 })).rejects.toBeInstanceOf(QuotaStoreError);
    flaky.set('ok');
    const reader = createTokenLimiter({ store: inner, defaultLimits: rules });
    await eventually(async () => (await reader.admin.getUsage('amb')).reserved === 0);
    await expect(limiter.reserve('amb', { tokens: 1000 })).resolves.toBeTruthy();
  });

  it('fails fast against a Redis that is down (real ioredis client, nothing listening)', async () => {
    const client = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const limiter = createTokenLimiter({ store: new RedisStore({ client }), storeTimeoutMs: 1000 });
    const started = Date.now();
    await expect(limiter.reserve('u', { tokens: 1 })).rejects.toBeInstanceOf(QuotaStoreError);
    expect(Date.now() - started).toBeLessThan(1500);
    client.disconnect();
  });
});

describe('onStoreError: allow', () => {
  it('lets the call go on unmetered and commits its usage once when the store is back', async () => {
    const inner = new MemoryStore();
    const flaky = flakyStore(inner);
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules, onStoreError: 'allow' });
    const events: StoreErrorEvent[] = [];
    limiter.on('store-error', (e) => events.push(e));
    flaky.set('fail');
    const r = await limiter.reserve('u', { tokens: 100 });
    expect(r.unmetered).toBe(true);
    expect(events.map((e) => e.policy)).toEqual(['allow']);
    await expect(limiter.commit(r, { inputTokens: 70, outputTokens: 30 })).rejects.toThrow(/queued/);
    expect(events.map((e) => e.policy)).toEqual(['allow', 'queued']);
    flaky.set('ok');
    const reader = createTokenLimiter({ store: inner, defaultLimits: rules });
    await eventually(async () => (await reader.admin.getUsage('u')).used === 100);
    // A second commit of the same reservation (e.g. the app retries) adds nothing.
    await limiter.commit(r, { inputTokens: 70, outputTokens: 30 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await reader.admin.getUsage('u')).toMatchObject({ used: 100, reserved: 0 });
    expect(await reader.admin.getUsageLog({ userId: 'u' })).toHaveLength(1);
  });

  it('does not count twice when the failed reserve had in fact been applied', async () => {
    const inner = new MemoryStore();
    const flaky = flakyStore(inner);
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules, onStoreError: 'allow', storeTimeoutMs: 100 });
    flaky.set('apply-then-hang');
    const r = await limiter.reserve('v', { tokens: 400 });
    expect(r.unmetered).toBe(true);
    flaky.set('ok');
    await limiter.commit(r, { inputTokens: 300, outputTokens: 0 });
    const usage = await limiter.admin.getUsage('v');
    expect(usage).toMatchObject({ used: 300, reserved: 0 });
  });

  it('bounds the queue of pending writes and reports what it drops', async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules, onStoreError: 'allow', maxPendingOperations: 2 });
    const dropped: StoreErrorEvent[] = [];
    limiter.on('store-error', (e) => {
      if (e.policy === 'dropped') dropped.push(e);
    });
    flaky.set('fail');
    for (let i = 0; i < 3; i += 1) {
      const r = await limiter.reserve('w', { tokens: 1 });
      await limiter.commit(r, { inputTokens: 1, outputTokens: 0 }).catch(() => {});
    }
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ operation: 'commit', userId: 'w' });
    flaky.set('ok');
    await limiter.close();
  });

  it('reports a commit the store refuses (never retried) as dropped, not silently', async () => {
    const store = withCommit(new MemoryStore(), async () => {
      throw new Error('ERR token-limits: invalid rules');
    });
    const limiter = createTokenLimiter({ store, defaultLimits: rules });
    const dropped: StoreErrorEvent[] = [];
    limiter.on('store-error', (e) => {
      if (e.policy === 'dropped') dropped.push(e);
    });
    const r = await limiter.reserve('x', { tokens: 1 });
    await expect(limiter.commit(r, { inputTokens: 10, outputTokens: 0 })).rejects.toBeInstanceOf(QuotaStoreError);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ operation: 'commit', userId: 'x' });
    expect(limiter.pendingWrites).toBe(0);
    await limiter.close();
  });

  it('drops the oldest queued write that is not being retried, so that what it reports as dropped never lands', async () => {
    const inner = new MemoryStore();
    let failing = true;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let heldRetry = false;
    // Commits of b and c fail; a's fail while `failing`, then its retry waits at the gate: it is
    // being retried when the queue overflows.
    const store = withCommit(inner, async (command, commit) => {
      if (command.userId === 'a' && !failing) {
        heldRetry = true;
        await gate;
      } else if (failing || command.userId !== 'a') {
        throw new Error('ECONNREFUSED 127.0.0.1:6399');
      }
      return commit(command);
    });
    const limiter = createTokenLimiter({ store, defaultLimits: rules, onStoreError: 'allow', maxPendingOperations: 2 });
    const dropped: string[] = [];
    limiter.on('store-error', (e) => {
      if (e.policy === 'dropped') dropped.push(e.userId ?? '');
    });
    for (const user of ['a', 'b']) {
      const r = await limiter.reserve(user, { tokens: 1 });
      await limiter.commit(r, { inputTokens: 10, outputTokens: 0 }).catch(() => {});
    }
    failing = false;
    await eventually(() => heldRetry);
    // A third write fails and joins the queue, one over its bound of 2: b goes, not a (being retried).
    const c = await limiter.reserve('c', { tokens: 1 });
    await limiter.commit(c, { inputTokens: 10, outputTokens: 0 }).catch(() => {});
    expect(dropped).toEqual(['b']);
    release();
    await eventually(async () => (await limiter.admin.getUsage('a')).used === 10);
    expect((await limiter.admin.getUsage('b')).used).toBe(0);
    await limiter.close();
  });

  it('bounds what it lets through unmetered per outage (allowBudget), then fails like deny', async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({
      store: flaky.store,
      defaultLimits: rules,
      onStoreError: 'allow',
      allowBudget: { requests: 3, tokens: 250 },
    });
    const policies: string[] = [];
    limiter.on('store-error', (e) => {
      if (e.operation === 'reserve') policies.push(e.policy);
    });
    flaky.set('fail');
    const let1 = await limiter.reserve('b', { tokens: 100 });
    const let2 = await limiter.reserve('b', { tokens: 100 });
    expect([let1.unmetered, let2.unmetered]).toEqual([true, true]);
    // 100 more tokens would pass 250: refused although a request is left.
    await expect(limiter.reserve('b', { tokens: 100 })).rejects.toThrow(/fail-open budget/);
    await expect(limiter.reserve('b', { tokens: 50 })).resolves.toMatchObject({ unmetered: true });
    await expect(limiter.reserve('b', { tokens: 0 })).rejects.toBeInstanceOf(QuotaStoreError); // 4th request
    expect(policies).toEqual(['allow', 'allow', 'deny', 'allow', 'deny']);
    expect(() => createTokenLimiter({ allowBudget: { tokens: -1 } })).toThrow(/options.allowBudget.tokens/);
    expect(() => createTokenLimiter({ allowBudget: { calls: 1 } as never })).toThrow(/options.allowBudget.calls/);
  });

  it('never refills the fail-open budget with successes during the outage; a new outage after quietMs gets a fresh one', async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules, onStoreError: 'allow', allowBudget: { requests: 5, tokens: 5000, quietMs: 2_000 } });
    // quietMs is far above what an iteration of the loop below can take, even on a loaded machine.
    let through = 0;
    // 200 calls, each failing one followed by another user's success (a healthy node, say).
    for (let i = 0; i < 200; i += 1) {
      flaky.set('fail');
      const r = await limiter.reserve('victim', { tokens: 4000 }).catch(() => undefined);
      if (r?.unmetered) through += 1;
      flaky.set('ok');
      await limiter.reserve(`other-${i}`, { tokens: 1 });
    }
    expect(through).toBe(1); // 5,000 tokens allow one call of 4,000 in the whole outage
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    flaky.set('fail');
    await expect(limiter.reserve('victim', { tokens: 4000 })).resolves.toMatchObject({ unmetered: true });
    expect(() => createTokenLimiter({ allowBudget: { quietMs: 0 } })).toThrow(/options.allowBudget.quietMs/);
  });

  it('check answers allowed with the reason when the store is down', async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({ store: flaky.store, onStoreError: 'allow' });
    flaky.set('fail');
    expect(await limiter.check('x', { tokens: 5 })).toEqual({ allowed: true, reason: 'store_unavailable', windows: [] });
  });

  it('close() flushes queued commits once the store answers', async () => {
    const inner = new MemoryStore();
    const flaky = flakyStore(inner);
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules, onStoreError: 'allow', storeTimeoutMs: 500 });
    const r = await limiter.reserve('y', { tokens: 10 });
    flaky.set('fail');
    await limiter.commit(r, { inputTokens: 5, outputTokens: 5 }).catch(() => {});
    flaky.set('ok');
    await limiter.close();
    const reader = createTokenLimiter({ store: inner, defaultLimits: rules });
    expect((await reader.admin.getUsage('y')).used).toBe(10);
  });

  it('flush() waits for a write whose try fails while it waits, until it has landed', async () => {
    const inner = new MemoryStore();
    const flaky = flakyStore(inner);
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules, storeTimeoutMs: 300 });
    const r = await limiter.reserve('f', { tokens: 10 });
    flaky.set('hang');
    const committed = limiter.commit(r, { inputTokens: 5, outputTokens: 5 }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The try still hangs when flush() starts, and fails (its 300 ms are up) while flush() waits.
    setTimeout(() => flaky.set('ok'), 50);
    await limiter.flush();
    expect(await committed).toBeInstanceOf(QuotaStoreError); // the first try failed: queued, then retried
    expect(limiter.pendingWrites).toBe(0);
    const reader = createTokenLimiter({ store: inner, defaultLimits: rules });
    expect(await reader.admin.getUsage('f')).toMatchObject({ used: 10, reserved: 0 });
  });

  it('close() reports each write it gives up as dropped, never silently', async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({ store: flaky.store, defaultLimits: rules, storeTimeoutMs: 150 });
    const events: StoreErrorEvent[] = [];
    limiter.on('store-error', (e) => events.push(e));
    const queued = await limiter.reserve('q', { tokens: 10 });
    const running = await limiter.reserve('r', { tokens: 10 });
    flaky.set('fail');
    await limiter.commit(queued, { inputTokens: 5, outputTokens: 5 }).catch(() => {});
    flaky.set('hang');
    const late = limiter.commit(running, { inputTokens: 5, outputTokens: 5 }).catch(() => {});
    await limiter.close();
    await late;
    // Tries still running when close() gave up end with the store's timeout after it.
    const dropped = () => events.filter((e) => e.policy === 'dropped').map((e) => `${e.operation} ${e.userId}`).sort();
    await expect.poll(dropped, { timeout: 2_000 }).toEqual(['commit q', 'commit r']);
    expect(limiter.pendingWrites).toBe(0);
  });
});
