/**
 * N1-N3 of reliability.md §4, through a fault-injecting TCP proxy between ioredis and a real Redis:
 * lost replies (the client re-sends: effects must apply once), latency beyond storeTimeoutMs (no
 * promise outlives the timeout; late server-side effects are not applied twice; holds are released),
 * and a partition that heals (queued commits drain exactly once).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore, type TokenLimiter, type TokenLimiterOptions } from '../../src/index.js';
import { sleep, startRedisServer, startTcpProxy, uniquePrefix, withTimeout, type RedisServer, type TcpProxy } from '../support/index.js';
import { countUsageEvents, createTally, drained, drive, sum, timed, untilCallInProvider, type Tally } from './support/driver.js';
import { recordFigures } from './support/figures.js';
import { rawTotals, rawUserState } from './support/state.js';

let server: RedisServer;
let proxy: TcpProxy;
let prefix: string;
const clients: Redis[] = [];
const limiters: TokenLimiter[] = [];

beforeEach(async () => {
  server = await startRedisServer();
  proxy = await startTcpProxy({ targetPort: server.port });
  prefix = uniquePrefix('net').replace(/:$/, '');
});
afterEach(async () => {
  for (const l of limiters.splice(0)) await withTimeout(l.close(), 10_000, 'limiter close').catch(() => {});
  for (const c of clients.splice(0)) c.disconnect();
  await proxy.close();
  await server.stop();
});

/** A limiter whose Redis connection goes through the proxy (one per simulated process). */
function viaProxy(options: Omit<TokenLimiterOptions, 'store'> = {}, redisOptions: RedisOptions = {}) {
  const client = new Redis(proxy.url, redisOptions);
  client.on('error', () => {});
  clients.push(client);
  const limiter = createTokenLimiter({
    store: new RedisStore({ client, prefix }),
    defaultLimits: [{ id: 'main', tokens: 1e12, period: 'month' }],
    storeResetCheckMs: 3_600_000, // keep the connection idle between the test's own commands
    maxPendingOperations: 1_000_000,
    ...options,
  });
  limiters.push(limiter);
  return limiter;
}

/** A direct connection for reading the state (not through the proxy). */
function direct(): Redis {
  return server.client();
}

async function usageCheck(tally: Tally, users: readonly string[]) {
  const raw = await rawTotals(direct(), prefix, users);
  const committed = sum(tally.committedAll.values());
  const mismatched = users.filter((u) => (raw.perUser.get(u)?.used ?? 0) !== (tally.committedAll.get(u) ?? 0));
  const events = [...tally.usage.values()];
  return {
    raw,
    committed,
    mismatched,
    usageLost: Math.max(0, committed - raw.used),
    duplicateTokens: Math.max(0, raw.used - committed),
    duplicateEvents: events.filter((n) => n > 1).length,
    missingEvents: tally.admitted + tally.unmetered - tally.usage.size,
  };
}

describe('N1: a lost reply (Redis ran the command, the reply never came, the client re-sent it)', () => {
  it('reserve, commit and release each apply exactly once, and the caller sees the right result (one usage event)', async () => {
    const limiter = viaProxy();
    const events: string[] = [];
    limiter.on('usage', (r) => events.push(r.id));
    await limiter.warmup();
    await limiter.commit(await limiter.reserve('u', { tokens: 1 }), { inputTokens: 1, outputTokens: 0 }); // the user exists, index written
    events.length = 0;
    const before = await rawUserState(direct(), prefix, 'u');
    await sleep(20);

    let dropped = proxy.dropNextReplyAndClose();
    const r = await limiter.reserve('u', { tokens: 300 });
    await dropped;
    const afterReserve = await rawUserState(direct(), prefix, 'u');
    await sleep(20);

    dropped = proxy.dropNextReplyAndClose();
    const record = await limiter.commit(r, { inputTokens: 200, outputTokens: 0 });
    await dropped;
    await sleep(20);
    const afterCommit = await rawUserState(direct(), prefix, 'u');

    const r2 = await limiter.reserve('u', { tokens: 100 });
    await sleep(20);
    dropped = proxy.dropNextReplyAndClose();
    await limiter.release(r2);
    await dropped;
    const afterRelease = await rawUserState(direct(), prefix, 'u');
    const log = await limiter.admin.getUsageLog({ userId: 'u' });
    const stats = await limiter.admin.getStats();

    recordFigures({
      scenario: 'N1',
      name: 'lost reply of reserve, commit, release (single call)',
      criterion: 'each effect applied once; the client result matches the stored effect',
      measured: {
        'replies dropped': proxy.stats.repliesDropped,
        'held after reserve (tokens, expected 300)': afterReserve.held - before.held,
        'used after commit (tokens, expected 200)': afterCommit.used - before.used,
        'held after release (expected 0)': afterRelease.held,
        'usage events (expected 1)': events.length,
      },
    });
    expect(proxy.stats.repliesDropped).toBe(3);
    expect(afterReserve.held - before.held).toBe(300);
    expect(afterReserve.holds).toBe(1);
    expect(record.totalTokens).toBe(200);
    expect(afterCommit).toMatchObject({ used: before.used + 200, held: 0, holds: 0 });
    expect(events).toEqual([r.id]); // the commit's reply was lost, yet the caller's usage event fired, once
    expect(afterRelease).toMatchObject({ used: before.used + 200, held: 0, holds: 0 });
    expect(log.filter((x) => x.id === r.id)).toHaveLength(1);
    expect(stats.totalTokens).toBe(201);
  });

  it('under load (2 connections × 40 calls in flight, a reply dropped every 50 ms): used = Σ committed exactly, no phantom hold, one usage event per call', async () => {
    const tally = createTally();
    const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
    const a = viaProxy({ storeTimeoutMs: 5000 });
    const b = viaProxy({ storeTimeoutMs: 5000 });
    for (const l of [a, b]) countUsageEvents(l, tally);
    await Promise.all([a.warmup(), b.warmup()]);
    const opts = { users, concurrency: 40, r: 100, a: () => 1 + Math.floor(Math.random() * 100), providerMs: 5, boundMs: { reserve: 5500, commit: 5500 } };
    const runs = [drive(a, tally, opts), drive(b, tally, opts)];
    const until = Date.now() + 3000;
    let drops = 0;
    while (Date.now() < until) {
      await withTimeout(proxy.dropNextReplyAndClose(), 2000, 'a reply to drop').then(() => (drops += 1), () => {});
      await sleep(50);
    }
    await Promise.all(runs.map((r) => r.stop()));
    expect(await drained(a)).toBe(0);
    expect(await drained(b)).toBe(0);
    const check = await usageCheck(tally, users);
    recordFigures({
      scenario: 'N1',
      name: 'lost replies under load (2 connections, 80 calls in flight)',
      criterion: 'each effect applied once',
      measured: {
        'replies dropped (each closes a connection with its in-flight commands)': drops,
        calls: tally.calls,
        admitted: tally.admitted,
        'usage lost (tokens)': check.usageLost,
        'duplicate effects (tokens)': check.duplicateTokens,
        'phantom held (tokens)': check.raw.held,
        'duplicate usage events': check.duplicateEvents,
        'missing usage events': check.missingEvents,
        'hung promises': tally.late,
        'store errors surfaced': tally.storeErrors,
      },
    });
    expect(drops).toBeGreaterThan(10);
    expect(tally.otherErrors).toEqual([]);
    expect(tally.storeErrors).toBe(0);
    expect(tally.late).toBe(0);
    expectExactlyOnce(check);
  });
});

describe('N2: Redis replies slower than storeTimeoutMs (200 ms)', () => {
  const STORE_TIMEOUT_MS = 200;
  /** Timers on this shared 2-core machine can fire ~100 ms late under load; a hang would be forever. */
  const EPSILON_MS = 300;

  for (const rtt of [50, 500, 5000]) {
    it(`round trip + ${rtt} ms: every promise settles within the timeout + ε; late effects are not applied twice; timed-out holds are released`, async () => {
      const tally = createTally();
      const users = Array.from({ length: 10 }, (_, i) => `u${i}`);
      const limiter = viaProxy({ storeTimeoutMs: STORE_TIMEOUT_MS }, { commandTimeout: STORE_TIMEOUT_MS });
      countUsageEvents(limiter, tally);
      await limiter.warmup();
      // Calls whose reserve lands before the latency starts, and whose commit runs under it.
      const early = await Promise.all(users.map((u) => limiter.reserve(u, { tokens: 100 })));
      proxy.setLatency({ toServer: rtt / 2, toClient: rtt / 2 });
      const bound = STORE_TIMEOUT_MS + EPSILON_MS;
      const commits = early.map((r, i) =>
        timed(tally, 'commit', bound, () => limiter.commit(r, { inputTokens: 50 + i, outputTokens: 0 })).then(
          () => 'ok',
          (e: Error) => (/queued/.test(e.message) ? 'queued' : e.message),
        ),
      );
      for (const [i, u] of users.entries()) tally.committedAll.set(u, 50 + i);
      tally.admitted += early.length;
      const run = drive(limiter, tally, { users, concurrency: 10, r: 100, a: () => 60, providerMs: 10, boundMs: { reserve: bound, commit: bound } });
      await sleep(1500);
      await run.stop();
      const commitOutcomes = await Promise.all(commits);
      // Let every delayed command reach Redis, then heal and drain the queued writes.
      await sleep(rtt + 200);
      proxy.setLatency(0);
      expect(await drained(limiter)).toBe(0);
      const check = await usageCheck(tally, users);
      recordFigures({
        scenario: 'N2',
        name: `latency: round trip +${rtt} ms, storeTimeoutMs 200`,
        criterion: 'decision within timeout + ε; no promise pending after it; late completion not double-applied; held reservations released',
        measured: {
          calls: tally.calls + early.length,
          'admitted (incl. 10 before the latency)': tally.admitted,
          'timed out (deny)': tally.storeErrors,
          'commits queued': commitOutcomes.filter((o) => o === 'queued').length + tally.commitQueued,
          'max reserve ms': Math.round(tally.maxMs.reserve),
          'max commit ms': Math.round(tally.maxMs.commit),
          'hung promises': tally.late,
          'usage lost (tokens)': check.usageLost,
          'duplicate effects (tokens)': check.duplicateTokens,
          'phantom held (tokens)': check.raw.held,
          'duplicate usage events': check.duplicateEvents,
        },
      });
      expect(tally.otherErrors).toEqual([]);
      expect(commitOutcomes.every((o) => o === 'ok' || o === 'queued')).toBe(true);
      expect(tally.late).toBe(0);
      expect(tally.maxMs.reserve).toBeLessThan(bound);
      expect(tally.maxMs.commit).toBeLessThan(bound);
      if (rtt >= 500) {
        expect(tally.storeErrors).toBeGreaterThan(0);
        expect(commitOutcomes.filter((o) => o === 'queued')).toHaveLength(users.length);
      } else {
        expect(tally.storeErrors).toBe(0);
      }
      expectExactlyOnce(check);
    });
  }
});

describe('N3: partition (blackhole), then heal', () => {
  const STORE_TIMEOUT_MS = 500;
  const EPSILON_MS = 300;

  for (const variant of ['deny', 'allow', 'deny + connections reset'] as const) {
    it(`${variant}: no hang during a 4 s partition; after healing, queued commits drain exactly once; no phantom hold`, async () => {
      const tally = createTally();
      const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
      const policy = variant === 'allow' ? 'allow' : 'deny';
      const make = () => viaProxy({ storeTimeoutMs: STORE_TIMEOUT_MS, onStoreError: policy }, { commandTimeout: STORE_TIMEOUT_MS, maxRetriesPerRequest: 2 });
      const a = make();
      const b = make();
      for (const l of [a, b]) countUsageEvents(l, tally);
      await Promise.all([a.warmup(), b.warmup()]);
      const commitBound = (policy === 'allow' ? 2 : 1) * STORE_TIMEOUT_MS + EPSILON_MS;
      const opts = { users, concurrency: 20, r: 100, a: () => 1 + Math.floor(Math.random() * 100), providerMs: 10, boundMs: { reserve: STORE_TIMEOUT_MS + EPSILON_MS, commit: commitBound } };
      const runs = [drive(a, tally, opts), drive(b, tally, opts)];
      await sleep(700);
      await untilCallInProvider(tally);
      proxy.blackhole(true); // synchronously after: that call's commit meets the partition
      await sleep(variant === 'deny + connections reset' ? 2000 : 4000);
      if (variant === 'deny + connections reset') {
        proxy.resetAll(); // the partition outlasts TCP: connections die with the bytes they held
        await sleep(2000);
      }
      proxy.blackhole(false);
      await sleep(1000);
      await Promise.all(runs.map((r) => r.stop()));
      expect(await drained(a)).toBe(0);
      expect(await drained(b)).toBe(0);
      const check = await usageCheck(tally, users);
      recordFigures({
        scenario: 'N3',
        name: `partition 4 s then heal, ${variant}`,
        criterion: 'no hang; the configured mode applies; after healing, queued commits drain exactly once',
        measured: {
          calls: tally.calls,
          admitted: tally.admitted,
          unmetered: tally.unmetered,
          'reserves failed (deny)': tally.storeErrors,
          'commits queued': tally.commitQueued,
          'hung promises': tally.late,
          'max reserve ms': Math.round(tally.maxMs.reserve),
          'max commit ms': Math.round(tally.maxMs.commit),
          'usage lost (tokens)': check.usageLost,
          'duplicate effects (tokens)': check.duplicateTokens,
          'phantom held (tokens)': check.raw.held,
          'duplicate usage events': check.duplicateEvents,
        },
      });
      expect(tally.otherErrors).toEqual([]);
      expect(tally.late).toBe(0);
      expect(tally.commitQueued).toBeGreaterThan(0);
      if (policy === 'deny') {
        expect(tally.unmetered).toBe(0);
        expect(tally.storeErrors).toBeGreaterThan(0);
      } else {
        expect(tally.unmetered).toBeGreaterThan(0);
        expect(tally.storeErrors).toBe(0);
      }
      expectExactlyOnce(check);
    });
  }
});

/** Every committed call counted once, nothing held, one usage event per call. */
function expectExactlyOnce(check: Awaited<ReturnType<typeof usageCheck>>): void {
  expect(check.mismatched).toEqual([]);
  expect(check.raw.used).toBe(check.committed);
  expect(check.raw.held).toBe(0);
  expect(check.raw.holds).toBe(0);
  expect(check.duplicateEvents).toBe(0);
  expect(check.missingEvents).toBe(0);
}
