/**
 * F2 of reliability.md §4: Redis restarted WITHOUT persistence comes back empty. The library must
 * notice through its epoch marker, emit `store-reset`, and follow `onStoreReset`; it never grants a
 * fresh quota silently. Also F3 for RDB: a kill before the first snapshot loses everything.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError, RedisStore, type StoreResetEvent, type TokenLimiter } from '../../src/index.js';
import { startRedisServer, sleep, uniquePrefix, waitFor, type RedisServer } from '../support/index.js';
import { recordFigures } from './support/figures.js';
import { rawUserState } from './support/state.js';

const CHECK_MS = 200;
const rules = [{ id: 'main', tokens: 10_000, period: 'month' as const }];

let server: RedisServer | undefined;
const limiters: TokenLimiter[] = [];
afterEach(async () => {
  for (const l of limiters.splice(0)) await l.close().catch(() => {});
  await server?.stop();
  server = undefined;
});

/** A limiter as another process would have it: its own connection and store object. */
function process_(prefix: string, onStoreReset: 'continue' | 'deny') {
  const client = server!.client({ maxRetriesPerRequest: 2, commandTimeout: 1000 });
  const limiter = createTokenLimiter({
    store: new RedisStore({ client, prefix }),
    defaultLimits: rules,
    onStoreReset,
    storeResetCheckMs: CHECK_MS,
    storeTimeoutMs: 1000,
  });
  limiters.push(limiter);
  const events: Array<StoreResetEvent & { at: number }> = [];
  limiter.on('store-reset', (e) => events.push({ ...e, at: Date.now() }));
  return { limiter, client, events };
}

async function restartEmpty(): Promise<number> {
  await server!.kill('SIGKILL');
  await server!.restart();
  // The old clients reconnect by themselves.
  await waitFor(async () => ((await server!.client().ping()) === 'PONG' ? true : undefined), { what: 'Redis back', timeoutMs: 5000 });
  return Date.now();
}

describe('F2: Redis restarted without persistence (epoch marker)', () => {
  it("onStoreReset 'continue' (default): every process emits store-reset once, at its next reserve (a user it had seen) or within storeResetCheckMs; in-flight commits still charge", async () => {
    server = await startRedisServer({ persistence: 'none' });
    const prefix = uniquePrefix('f2').replace(/:$/, '');
    const a = process_(prefix, 'continue');
    const b = process_(prefix, 'continue');
    await a.limiter.warmup();
    await b.limiter.warmup();
    for (const u of ['u1', 'u2', 'u3']) await a.limiter.commit(await a.limiter.reserve(u, { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
    await b.limiter.commit(await b.limiter.reserve('u4', { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
    const epochBefore = (await a.client.hget(`${prefix}:{g}:epoch`, 'id'))!;
    const inFlight = await a.limiter.reserve('u1', { tokens: 500 }); // reserved before the loss, committed after

    const restartedAt = await restartEmpty();
    // A: a user it had seen now has no state: checked at once, beside the reserve.
    const first = await a.limiter.reserve('u1', { tokens: 100 });
    expect(first.unmetered).toBe(false);
    await waitFor(() => (a.events.length > 0 ? true : undefined), { what: "A's store-reset event", timeoutMs: 2000 });
    // B: only unseen users, so it notices through the periodic check.
    for (let i = 0; b.events.length === 0 && i < 50; i += 1) {
      await b.limiter.reserve(`fresh-${i}`, { tokens: 1 });
      await sleep(50);
    }
    await a.limiter.commit(inFlight, { inputTokens: 450, outputTokens: 0 });
    await a.limiter.commit(first, { inputTokens: 100, outputTokens: 0 });
    // More calls in both: no second event.
    for (let i = 0; i < 5; i += 1) await a.limiter.commit(await a.limiter.reserve('u2', { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
    await sleep(CHECK_MS * 2);
    await b.limiter.reserve('u4', { tokens: 1 });

    const epochAfter = (await a.client.hget(`${prefix}:{g}:epoch`, 'id'))!;
    const aDelay = a.events[0]!.at - restartedAt;
    const bDelay = b.events[0]!.at - restartedAt;
    recordFigures({
      scenario: 'F2',
      name: "restart without persistence, onStoreReset 'continue'",
      criterion: 'the reset is detected (epoch marker), an event is emitted, the configured mode applies; never a silent fresh quota',
      measured: {
        'store-reset events (A, B)': `${a.events.length}, ${b.events.length}`,
        'A detected after (ms)': aDelay,
        'B detected after (ms, check every 200 ms)': bDelay,
        'usage of the in-flight call charged after the loss': (await rawUserState(a.client, prefix, 'u1')).used - 100,
        'usage erased by the reset (tokens committed before it)': 400, // u1, u2, u3 (A) and u4 (B): 100 each
      },
    });
    expect(a.events).toHaveLength(1);
    expect(b.events).toHaveLength(1);
    for (const e of [a.events[0]!, b.events[0]!]) expect(e).toMatchObject({ previousEpoch: epochBefore, epoch: epochAfter, policy: 'continue' });
    expect(epochAfter).not.toBe(epochBefore);
    expect(bDelay).toBeLessThan(CHECK_MS + 2000);
    // The in-flight call's usage landed in the recreated window (not dropped), plus the call after.
    expect((await rawUserState(a.client, prefix, 'u1')).used).toBe(550);
    expect(await a.limiter.admin.getUsage('u1')).toMatchObject({ used: 550, reserved: 0 });
  });

  it("onStoreReset 'deny': a reserve that finds a seen user's state gone is refused (and its hold dropped); every process refuses until admin.acknowledgeStoreReset(), then admits again", async () => {
    server = await startRedisServer({ persistence: 'none' });
    const prefix = uniquePrefix('f2d').replace(/:$/, '');
    const a = process_(prefix, 'deny');
    const b = process_(prefix, 'deny');
    await a.limiter.warmup();
    await b.limiter.warmup();
    await a.limiter.commit(await a.limiter.reserve('u1', { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
    await restartEmpty();

    // A: the first reserve after the loss, for a user it had seen, is refused before admitting.
    const error = await a.limiter.reserve('u1', { tokens: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaStoreError);
    expect((error as Error).message).toMatch(/lost its data.*acknowledgeStoreReset/);
    expect(a.events).toHaveLength(1);
    expect((await rawUserState(a.client, prefix, 'u1')).held).toBe(0); // the hold it made was released
    // B: admits unseen users only until its next check (at most storeResetCheckMs), then refuses.
    let admittedBeforeDetection = 0;
    let refusedAt = 0;
    const started = Date.now();
    while (Date.now() - started < 3000) {
      try {
        await b.limiter.reserve(`fresh-${admittedBeforeDetection}`, { tokens: 1 });
        admittedBeforeDetection += 1;
      } catch (e) {
        expect(e).toBeInstanceOf(QuotaStoreError);
        refusedAt = Date.now() - started;
        break;
      }
      await sleep(20);
    }
    expect(refusedAt).toBeGreaterThan(0);
    expect(b.events).toHaveLength(1);
    // A process started after the loss refuses too (the marker says: unacknowledged reset).
    const c = process_(prefix, 'deny');
    await expect(c.limiter.reserve('u9', { tokens: 1 })).rejects.toBeInstanceOf(QuotaStoreError);
    expect(c.events).toHaveLength(0); // it saw no data before: nothing lost from its point of view

    await a.limiter.admin.acknowledgeStoreReset();
    await expect(a.limiter.reserve('u1', { tokens: 100 })).resolves.toMatchObject({ unmetered: false });
    await sleep(150);
    await expect(b.limiter.reserve('u1', { tokens: 100 })).resolves.toBeTruthy();
    await expect(c.limiter.reserve('u9', { tokens: 1 })).resolves.toBeTruthy();
    recordFigures({
      scenario: 'F2',
      name: "restart without persistence, onStoreReset 'deny'",
      criterion: 'the reset is detected, an event is emitted, the configured mode applies (fail-closed until acknowledged)',
      measured: {
        'admissions on lost state by a process at a seen user': 0,
        'admissions on lost state by a process before its periodic check': admittedBeforeDetection,
        'refused after (ms, check every 200 ms)': refusedAt,
        'events (A, B, C started later)': `${a.events.length}, ${b.events.length}, ${c.events.length}`,
      },
    });
    expect(refusedAt).toBeLessThan(CHECK_MS + 1000);
  });

  it('no false alarm: a restart WITH persistence (AOF always) keeps the marker, no store-reset', async () => {
    server = await startRedisServer({ persistence: 'aof-always' });
    const prefix = uniquePrefix('f2p').replace(/:$/, '');
    const a = process_(prefix, 'deny');
    await a.limiter.warmup();
    await a.limiter.commit(await a.limiter.reserve('u1', { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
    await restartEmpty();
    await sleep(CHECK_MS + 50);
    for (let i = 0; i < 5; i += 1) await a.limiter.commit(await a.limiter.reserve('u1', { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
    await sleep(CHECK_MS + 50);
    await a.limiter.reserve('u1', { tokens: 1 });
    expect(a.events).toEqual([]);
    expect((await a.limiter.admin.getUsage('u1')).used).toBe(600);
  });
});

describe('F3: RDB persistence, Redis killed before its first snapshot', () => {
  it('loses everything since the last snapshot (here: all of it), and the library says so (store-reset)', async () => {
    server = await startRedisServer({ persistence: 'rdb' });
    const prefix = uniquePrefix('f3rdb').replace(/:$/, '');
    const a = process_(prefix, 'continue');
    await a.limiter.warmup();
    let committed = 0;
    for (let i = 0; i < 20; i += 1) {
      await a.limiter.commit(await a.limiter.reserve(`u${i % 4}`, { tokens: 100 }), { inputTokens: 50, outputTokens: 0 });
      committed += 50;
    }
    await restartEmpty();
    await a.limiter.reserve('u0', { tokens: 1 });
    await waitFor(() => (a.events.length > 0 ? true : undefined), { what: 'store-reset', timeoutMs: 2000 });
    let left = 0;
    for (let i = 0; i < 4; i += 1) left += (await rawUserState(a.client, prefix, `u${i}`)).used;
    recordFigures({
      scenario: 'F3',
      name: 'SIGKILL with RDB only, before the first snapshot',
      criterion: 'measured loss = everything since the last snapshot; the loss is detected and reported',
      measured: { 'committed (tokens)': committed, 'left after restart (tokens)': left, 'store-reset events': a.events.length },
    });
    expect(left).toBe(0);
    expect(a.events).toHaveLength(1);
  });
});
