import { describe, expect, it } from 'vitest';
import {
  createTokenLimiter,
  InvalidArgumentError,
  TokenLimitExceededError,
  UserDisabledError,
  type AlertEvent,
  type LimitRule,
  type QuotaStore,
  type TokenLimiterOptions,
  type TokenLimiter,
  type UsageRecord,
} from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';
import { userScope } from '../helpers/specs.js';
import { waitFor } from '../support/wait.js';

/**
 * One contract suite for every QuotaStore (the unstorage `testDriver` pattern): the same tests run
 * against MemoryStore and against RedisStore on a real Redis.
 */
export interface StoreFactory {
  name: string;
  /** A fresh, isolated store. */
  create(): Promise<QuotaStore> | QuotaStore;
}

const T0 = Date.parse('2026-03-10T12:00:00.000Z');

export function describeStoreContract(factory: StoreFactory): void {
  async function setup(options: Omit<TokenLimiterOptions, 'store'> = {}, start: number | string = T0) {
    const store = await factory.create();
    const clock = manualClock(start);
    const limiter = createTokenLimiter({ store, clock: clock.now, ...options });
    return { store, clock, limiter };
  }
  const tokens = (n: number, period: LimitRule['period'] = 'month', id = 'main'): LimitRule => ({ id, tokens: n, period });

  describe(`${factory.name}: reserve, commit, release`, () => {
    it('holds the estimate, then replaces it with the actual usage', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const r = await limiter.reserve('alice', { tokens: 300 });
      expect(r.windows).toHaveLength(1);
      expect(r.windows[0]).toMatchObject({ ruleId: 'main', metric: 'tokens', amount: 300 });
      let usage = await limiter.admin.getUsage('alice');
      expect(usage).toMatchObject({ used: 0, reserved: 300, remaining: 700, limit: 1000, isActive: true });
      const record = await limiter.commit(r, { inputTokens: 120, outputTokens: 80, model: 'gpt-4o', provider: 'openai' });
      expect(record).toMatchObject({ id: r.id, userId: 'alice', totalTokens: 200, inputTokens: 120, outputTokens: 80, status: 'ok' });
      usage = await limiter.admin.getUsage('alice');
      expect(usage).toMatchObject({ used: 200, reserved: 0, remaining: 800 });
    });

    it('charges actual usage larger than the hold, and the next admission sees it', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const r = await limiter.reserve('alice', { tokens: 100 });
      await limiter.commit(r, { inputTokens: 500, outputTokens: 400 });
      expect((await limiter.admin.getUsage('alice')).used).toBe(900);
      await expect(limiter.reserve('alice', { tokens: 101 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      await expect(limiter.reserve('alice', { tokens: 100 })).resolves.toBeTruthy();
    });

    it('starts a fresh window when a rule keeps its id but changes its period, and charges the new one', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      await limiter.commit(await limiter.reserve('p', { tokens: 900 }), { inputTokens: 900, outputTokens: 0 });
      await expect(limiter.reserve('p', { tokens: 200 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      // Same id, another period: another window, whose count starts at 0.
      await limiter.admin.setLimits('p', [tokens(1000, 'day')]);
      const r = await limiter.reserve('p', { tokens: 600 });
      await limiter.commit(r, { inputTokens: 600, outputTokens: 0 });
      expect(await limiter.admin.getUsage('p')).toMatchObject({ used: 600, reserved: 0 });
      await expect(limiter.reserve('p', { tokens: 401 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      // And back: the monthly window was replaced by the daily one, so it starts again too.
      await limiter.admin.setLimits('p', [tokens(1000)]);
      expect(await limiter.admin.getUsage('p')).toMatchObject({ used: 0 });
      await expect(limiter.reserve('p', { tokens: 1000 })).resolves.toBeTruthy();
    });

    it('admits a request that fits exactly and refuses one more token', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const a = await limiter.reserve('u', { tokens: 600 });
      await limiter.commit(a, { inputTokens: 600, outputTokens: 0 });
      await expect(limiter.reserve('u', { tokens: 401 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      await expect(limiter.reserve('u', { tokens: 400 })).resolves.toBeTruthy();
    });

    it('names the refusing rule with limit, used, reserved, requested and resetAt', async () => {
      const { limiter } = await setup({
        defaultLimits: [tokens(10_000, 'month', 'monthly'), { id: 'daily', tokens: 500, period: 'day' }],
      });
      const held = await limiter.reserve('bob', { tokens: 200 });
      const done = await limiter.reserve('bob', { tokens: 100 });
      await limiter.commit(done, { inputTokens: 50, outputTokens: 50 });
      const error = await limiter.reserve('bob', { tokens: 250 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenLimitExceededError);
      expect(error).toMatchObject({
        code: 'token_limit_exceeded',
        status: 429,
        userId: 'bob',
        ruleId: 'daily',
        metric: 'tokens',
        limit: 500,
        used: 100,
        reserved: 200,
        requested: 250,
        resetAt: new Date('2026-03-11T00:00:00.000Z'),
      });
      expect((error as TokenLimitExceededError).remaining).toBe(200);
      await limiter.release(held);
    });

    it('is all-or-nothing over the rules: a refusal holds nothing on the rules that admitted', async () => {
      const { limiter } = await setup({
        defaultLimits: [tokens(10_000, 'month', 'monthly'), { id: 'per-minute', requests: 2, period: 'minute' }],
      });
      await limiter.reserve('c', { tokens: 10 });
      await limiter.reserve('c', { tokens: 10 });
      await expect(limiter.reserve('c', { tokens: 10 })).rejects.toMatchObject({ ruleId: 'per-minute' });
      const usage = await limiter.admin.getUsage('c');
      expect(usage.windows[0]!.reserved).toBe(20);
      expect(usage.windows[1]!.reserved).toBe(2);
    });

    it('release drops the hold and charges nothing', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const holds = await Promise.all(Array.from({ length: 5 }, () => limiter.reserve('d', { tokens: 200 })));
      await expect(limiter.reserve('d', { tokens: 1 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      await Promise.all(holds.map((h) => limiter.release(h)));
      expect(await limiter.admin.getUsage('d')).toMatchObject({ used: 0, reserved: 0, remaining: 1000 });
    });

    it('counts one request per reservation in request rules', async () => {
      const { limiter } = await setup({ defaultLimits: [{ id: 'rpd', requests: 3, period: 'day' }] });
      for (let i = 0; i < 3; i += 1) {
        const r = await limiter.reserve('e', { tokens: 1_000_000 });
        await limiter.commit(r, { inputTokens: 10, outputTokens: 10 });
      }
      await expect(limiter.reserve('e', { tokens: 0 })).rejects.toMatchObject({ ruleId: 'rpd', limit: 3, used: 3 });
    });

    it('limits cost in micro-dollars and requires a cost estimate under a cost rule', async () => {
      const { limiter } = await setup({ defaultLimits: [{ id: 'budget', costUsd: 0.5, period: 'month' }] });
      await expect(limiter.reserve('f', { tokens: 10 })).rejects.toMatchObject({ code: 'invalid_argument', parameter: 'estimate.costUsd' });
      const r = await limiter.reserve('f', { tokens: 10, costUsd: 0.3 });
      const record = await limiter.commit(r, { inputTokens: 5, outputTokens: 5, costUsd: 0.1234567 });
      expect(record.costUsd).toBe(0.123457);
      const usage = await limiter.admin.getUsage('f');
      expect(usage).toMatchObject({ used: 0.123457, reserved: 0, limit: 0.5 });
      await expect(limiter.reserve('f', { tokens: 1, costUsd: 0.376544 })).rejects.toMatchObject({ ruleId: 'budget', metric: 'costUsd' });
      await expect(limiter.reserve('f', { tokens: 1, costUsd: 0.376543 })).resolves.toBeTruthy();
    });
  });

  describe(`${factory.name}: disabled users`, () => {
    it('refuses a disabled user with UserDisabledError until enabled again', async () => {
      const { limiter } = await setup();
      const rejected: unknown[] = [];
      limiter.on('rejected', (e) => rejected.push(e.error));
      await limiter.admin.setActive('g', false);
      const error = await limiter.reserve('g', { tokens: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserDisabledError);
      expect(error).toMatchObject({ code: 'user_disabled', status: 403, userId: 'g' });
      expect(rejected).toEqual([error]);
      expect((await limiter.admin.getUsage('g')).isActive).toBe(false);
      expect(await limiter.check('g')).toMatchObject({ allowed: false, reason: 'user_disabled' });
      await limiter.admin.setActive('g', true);
      await expect(limiter.reserve('g', { tokens: 1 })).resolves.toBeTruthy();
    });
  });

  describe(`${factory.name}: refused calls are kept for the user's latest calls`, () => {
    const refusalsOf = (limiter: TokenLimiter, userId: string, count: number) =>
      waitFor(async () => {
        const found = await limiter.admin.getRefusals(userId);
        return found.length >= count ? found : undefined;
      }, { timeoutMs: 5000, what: `${count} refusals of ${userId}` });

    it('keeps the rule, scope, metric, request and model of a refusal, and never logs it as usage', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(100, 'month', 'monthly')] });
      await limiter.commit(await limiter.reserve('r1', { tokens: 50 }), { inputTokens: 50, outputTokens: 0 });
      await expect(limiter.reserve('r1', { tokens: 80, model: 'gpt-4o', provider: 'openai' })).rejects.toBeInstanceOf(TokenLimitExceededError);
      const [refusal] = await refusalsOf(limiter, 'r1', 1);
      expect(refusal).toMatchObject({ userId: 'r1', reason: 'limit', ruleId: 'monthly', scope: 'user', accountId: null, metric: 'tokens', requested: 80, model: 'gpt-4o', provider: 'openai' });
      expect(refusal!.timestamp).toBeInstanceOf(Date);
      expect(await limiter.admin.getUsageLog({ userId: 'r1' })).toHaveLength(1);
      expect(await limiter.admin.getUsage('r1')).toMatchObject({ used: 50, reserved: 0 });
    });

    it('keeps a disabled user\'s refusals, the newest 20 first, and forgets them with the user', async () => {
      const { limiter } = await setup();
      await limiter.admin.setActive('r2', false);
      for (let i = 0; i < 25; i += 1) await expect(limiter.reserve('r2', { tokens: 1, model: `m${i}` })).rejects.toBeInstanceOf(UserDisabledError);
      const kept = await waitFor(async () => {
        const found = await limiter.admin.getRefusals('r2');
        return found.length === 20 && found[0]!.model === 'm24' ? found : undefined;
      }, { timeoutMs: 5000, what: 'the newest 20 refusals of r2' });
      expect(kept.map((r) => r.model)).toEqual(Array.from({ length: 20 }, (_, i) => `m${24 - i}`));
      expect(kept[0]).toMatchObject({ reason: 'disabled', ruleId: null, requested: 0 });
      expect(await limiter.admin.getRefusals('r2', { limit: 3 })).toHaveLength(3);
      await limiter.admin.deleteUser('r2');
      expect(await limiter.admin.getRefusals('r2')).toEqual([]);
      await expect(limiter.admin.getRefusals('r2', { limit: 21 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe(`${factory.name}: leases`, () => {
    it('stops counting an expired hold with no background job, and commits it late if it comes', async () => {
      const { limiter, clock } = await setup({ defaultLimits: [tokens(1000)], leaseMs: 60_000 });
      const r = await limiter.reserve('h', { tokens: 900 });
      await expect(limiter.reserve('h', { tokens: 200 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      clock.advance(59_999);
      expect((await limiter.admin.getUsage('h')).reserved).toBe(900);
      clock.advance(1);
      expect(await limiter.admin.getUsage('h')).toMatchObject({ reserved: 0, used: 0 });
      const other = await limiter.reserve('h', { tokens: 1000 });
      await limiter.release(other);
      // The crashed-looking call does finish: its usage still counts (late commit).
      await limiter.commit(r, { inputTokens: 100, outputTokens: 50 });
      expect(await limiter.admin.getUsage('h')).toMatchObject({ used: 150, reserved: 0 });
    });

    it('renew keeps a live hold counting, the account share too; never revives an ended one', async () => {
      const { limiter, clock } = await setup({ defaultLimits: [tokens(1000)], leaseMs: 60_000 });
      await limiter.admin.setAccountLimits('crew', [tokens(5000, 'month', 'crew-main')]);
      await limiter.admin.setAccount('m', 'crew');
      const long = await limiter.reserve('m', { tokens: 900 });
      clock.advance(30_000);
      await expect(limiter.renew(long)).resolves.toBe(true);
      // Past the first lease's end, the renewed hold still counts, for the user and the account.
      clock.advance(59_999);
      expect((await limiter.admin.getUsage('m')).reserved).toBe(900);
      expect((await limiter.admin.getAccountUsage('crew')).windows[0]).toMatchObject({ reserved: 900 });
      await expect(limiter.reserve('m', { tokens: 200 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      // A renewal never shortens: renewing early again keeps the later expiry.
      await expect(limiter.renew(long)).resolves.toBe(true);
      clock.advance(59_999);
      expect((await limiter.admin.getUsage('m')).reserved).toBe(900);
      await limiter.commit(long, { inputTokens: 100, outputTokens: 50 });
      expect(await limiter.admin.getUsage('m')).toMatchObject({ used: 150, reserved: 0 });
      expect((await limiter.admin.getAccountUsage('crew')).windows[0]).toMatchObject({ used: 150, reserved: 0 });
      await expect(limiter.renew(long)).resolves.toBe(false);
      expect(await limiter.admin.getUsage('m')).toMatchObject({ used: 150, reserved: 0 });
      // Released: nothing to renew.
      const dropped = await limiter.reserve('m', { tokens: 10 });
      await limiter.release(dropped);
      await expect(limiter.renew(dropped)).resolves.toBe(false);
      // A hold whose lease ended stays ended, stored or purged.
      const lost = await limiter.reserve('m', { tokens: 800 });
      clock.advance(60_000);
      await expect(limiter.renew(lost)).resolves.toBe(false);
      expect(await limiter.admin.getUsage('m')).toMatchObject({ used: 150, reserved: 0 });
      const live = await limiter.reserve('m', { tokens: 850 });
      await expect(limiter.renew({ id: 'x', userId: 'm' } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
      // A closed limiter keeps no hold alive: the hold ends with its lease.
      await limiter.close();
      await expect(limiter.renew(live)).resolves.toBe(false);
    });

    it('leaves no phantom usage after mixed releases, commits and expiries', async () => {
      const { limiter, clock } = await setup({ defaultLimits: [tokens(100_000)], leaseMs: 1000 });
      let expected = 0;
      for (let i = 0; i < 30; i += 1) {
        const r = await limiter.reserve('p', { tokens: 1000 + i });
        if (i % 3 === 0) await limiter.release(r);
        else if (i % 3 === 1) {
          await limiter.commit(r, { inputTokens: i, outputTokens: i });
          expected += 2 * i;
        } // else: abandoned, expires
      }
      clock.advance(1000);
      expect(await limiter.admin.getUsage('p')).toMatchObject({ used: expected, reserved: 0, remaining: 100_000 - expected });
    });
  });

  describe(`${factory.name}: idempotency`, () => {
    it('replays of commit and release change nothing and answer like the first', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const usageEvents: UsageRecord[] = [];
      limiter.on('usage', (u) => usageEvents.push(u));
      const r = await limiter.reserve('i', { tokens: 100 });
      const results = await Promise.all(Array.from({ length: 5 }, () => limiter.commit(r, { inputTokens: 40, outputTokens: 2 })));
      expect(new Set(results.map((x) => x.timestamp.getTime())).size).toBe(1);
      const again = await limiter.commit(r, { inputTokens: 40, outputTokens: 2 });
      expect(again.timestamp).toEqual(results[0]!.timestamp);
      expect(usageEvents).toHaveLength(1);
      await limiter.release(r); // release after commit: a no-op
      expect(await limiter.admin.getUsage('i')).toMatchObject({ used: 42, reserved: 0 });
      expect(await limiter.admin.getUsageLog({ userId: 'i' })).toHaveLength(1);

      const s = await limiter.reserve('i', { tokens: 100 });
      await Promise.all([limiter.release(s), limiter.release(s), limiter.release(s)]);
      await expect(limiter.commit(s, { inputTokens: 1, outputTokens: 1 })).rejects.toMatchObject({ parameter: 'reservation' });
      expect(await limiter.admin.getUsage('i')).toMatchObject({ used: 42, reserved: 0 });
    });

    it('a replayed reserve (same id, as ioredis re-sends after a reconnect) holds once', async () => {
      const { store, limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const command = { userId: 'j', ...userScope([tokens(1000)], T0), amounts: { tokens: 400, requests: 1, cost: 0 }, leaseMs: 60_000, initAnchor: false, now: T0 };
      const reserve = { ...command, reservationId: '0b8f6a0c-4f43-4c52-9a9a-000000000001' };
      const replies = await Promise.all([store.hotPath.reserve(reserve), store.hotPath.reserve(reserve), store.hotPath.reserve(reserve)]);
      expect(replies.map((x) => x.type)).toEqual(['ok', 'ok', 'ok']);
      expect(replies.filter((x) => x.type === 'ok' && x.replayed)).toHaveLength(2);
      expect((await limiter.admin.getUsage('j')).reserved).toBe(400);
      // A reserve replayed after its release holds nothing.
      await store.hotPath.release({ userId: 'j', reservationId: reserve.reservationId, home: null, now: T0 });
      expect((await store.hotPath.reserve(reserve)).type).toBe('closed');
      expect((await limiter.admin.getUsage('j')).reserved).toBe(0);
    });

    it('answers a replay of the same commit attempt (a lost reply) with its alerts; another attempt is a plain duplicate', async () => {
      const { store, limiter, clock } = await setup({ defaultLimits: [tokens(100)], alertThresholds: [0.5] });
      const r = await limiter.reserve('rep', { tokens: 60 });
      const command = {
        userId: 'rep',
        reservationId: r.id,
        attemptId: 'attempt-1',
        ...userScope([tokens(100)], clock.now()),
        matches: [true],
        actual: { tokens: 60, requests: 1, cost: 0 },
        costUnknown: false,
        thresholds: [500],
        record: '{"id":"x"}',
        history: { model: 'gpt-4o', inputTokens: 60, outputTokens: 0 },
        now: clock.now(),
      };
      const first = await store.hotPath.commit(command);
      expect(first).toMatchObject({ type: 'applied', alerts: [{ ruleId: 'main', threshold: 0, used: 60, limit: 100 }] });
      const replay = await store.hotPath.commit(command);
      expect(replay).toEqual({ type: 'duplicate', now: clock.now(), timestamp: (first as { timestamp: number }).timestamp, ownAttempt: true, alerts: (first as { alerts: unknown[] }).alerts });
      expect(await store.hotPath.commit({ ...command, attemptId: 'attempt-2' })).toMatchObject({ type: 'duplicate', ownAttempt: false, alerts: [] });
      expect(await limiter.admin.getUsage('rep')).toMatchObject({ used: 60, reserved: 0 });
    });

    it('a commit whose window state is gone (user deleted while the call was in flight) still charges its usage', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const alerts: AlertEvent[] = [];
      limiter.on('alert', (a) => alerts.push(a));
      const r = await limiter.reserve('gone', { tokens: 900 });
      await limiter.admin.deleteUser('gone');
      await limiter.commit(r, { inputTokens: 850, outputTokens: 0 });
      expect(await limiter.admin.getUsage('gone')).toMatchObject({ used: 850, reserved: 0 });
      // The commit charges the rules current at commit time, whose limits it knows.
      expect(alerts.map((a) => a.threshold)).toEqual([0.8]);
      await expect(limiter.reserve('gone', { tokens: 151 })).rejects.toBeInstanceOf(TokenLimitExceededError);
    });
  });

  describe(`${factory.name}: concurrency`, () => {
    it('admits exactly 10 of 1000 concurrent reservations against a limit that fits 10', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const outcomes = await Promise.allSettled(Array.from({ length: 1000 }, () => limiter.reserve('stampede', { tokens: 100 })));
      const admitted = outcomes.filter((o) => o.status === 'fulfilled');
      const refused = outcomes.filter((o) => o.status === 'rejected');
      expect(admitted).toHaveLength(10);
      expect(refused.every((o) => o.reason instanceof TokenLimitExceededError)).toBe(true);
      await Promise.all(admitted.map((o) => limiter.commit(o.value, { inputTokens: 60, outputTokens: 40 })));
      expect(await limiter.admin.getUsage('stampede')).toMatchObject({ used: 1000, reserved: 0, remaining: 0 });
    });

    it('fires a threshold at exactly its share of the limit, not a token before or after', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000, 'day')], alertThresholds: [0.5, 0.8] });
      const alerts: AlertEvent[] = [];
      limiter.on('alert', (a) => alerts.push(a));
      const charge = async (n: number) => limiter.commit(await limiter.reserve('edge', { tokens: n }), { inputTokens: n, outputTokens: 0 });
      await charge(499);
      await limiter.flush();
      expect(alerts).toEqual([]);
      await charge(1);
      await limiter.flush();
      expect(alerts.map((a) => [a.threshold, a.used])).toEqual([[0.5, 500]]);
      await charge(299);
      await limiter.flush();
      expect(alerts).toHaveLength(1);
      await charge(1);
      await limiter.flush();
      expect(alerts.map((a) => [a.threshold, a.used])).toEqual([
        [0.5, 500],
        [0.8, 800],
      ]);
    });

    it('fires each alert threshold exactly once per rule and period under concurrent commits', async () => {
      const { limiter, clock } = await setup({ defaultLimits: [tokens(1000, 'day')], alertThresholds: [0.5, 0.8, 1] });
      const alerts: AlertEvent[] = [];
      limiter.on('alert', (a) => alerts.push(a));
      const holds = await Promise.all(Array.from({ length: 10 }, () => limiter.reserve('k', { tokens: 100 })));
      await Promise.all(holds.map((h) => limiter.commit(h, { inputTokens: 50, outputTokens: 50 })));
      expect(alerts.map((a) => a.threshold).sort()).toEqual([0.5, 0.8, 1]);
      expect(alerts[0]).toMatchObject({ userId: 'k', ruleId: 'main', metric: 'tokens', limit: 1000 });
      const atFull = alerts.find((a) => a.threshold === 1)!;
      expect(atFull.used).toBe(1000);
      expect(atFull.resetAt).toEqual(new Date('2026-03-11T00:00:00.000Z'));
      // The next period fires again.
      clock.set('2026-03-11T00:00:00.000Z');
      const r = await limiter.reserve('k', { tokens: 600 });
      await limiter.commit(r, { inputTokens: 600, outputTokens: 0 });
      expect(alerts.map((a) => a.threshold)).toHaveLength(4);
      expect(alerts[3]).toMatchObject({ threshold: 0.5, periodStart: new Date('2026-03-11T00:00:00.000Z') });
    });
  });

  describe(`${factory.name}: periods roll over at the exact boundary`, () => {
    const cases: Array<{ name: string; period: LimitRule['period']; timeZone?: string; before: string; boundary: string }> = [
      { name: 'minute', period: 'minute', before: '2026-03-10T12:00:30.000Z', boundary: '2026-03-10T12:01:00.000Z' },
      { name: 'hour', period: 'hour', before: '2026-03-10T12:30:00.000Z', boundary: '2026-03-10T13:00:00.000Z' },
      { name: 'day', period: 'day', before: '2026-03-10T23:00:00.000Z', boundary: '2026-03-11T00:00:00.000Z' },
      { name: 'week (Monday)', period: 'week', before: '2026-03-15T20:00:00.000Z', boundary: '2026-03-16T00:00:00.000Z' },
      { name: 'month', period: 'month', before: '2026-03-20T00:00:00.000Z', boundary: '2026-04-01T00:00:00.000Z' },
      { name: 'year', period: 'year', before: '2026-12-31T23:59:00.000Z', boundary: '2027-01-01T00:00:00.000Z' },
      { name: 'month into Feb 29', period: 'month', before: '2028-02-28T23:00:00.000Z', boundary: '2028-03-01T00:00:00.000Z' },
      { name: 'Feb 29 day', period: 'day', before: '2028-02-29T12:00:00.000Z', boundary: '2028-03-01T00:00:00.000Z' },
      {
        name: 'day across a DST change (America/New_York, 23-hour day)',
        period: 'day',
        timeZone: 'America/New_York',
        before: '2026-03-08T20:00:00.000-04:00',
        boundary: '2026-03-09T00:00:00.000-04:00',
      },
      {
        name: 'day at a DST change at midnight (America/Santiago starts at 01:00)',
        period: 'day',
        timeZone: 'America/Santiago',
        before: '2026-09-05T22:00:00.000-04:00',
        boundary: '2026-09-06T01:00:00.000-03:00',
      },
      { name: 'month in Sao Paulo', period: 'month', timeZone: 'America/Sao_Paulo', before: '2026-03-31T23:00:00.000-03:00', boundary: '2026-04-01T00:00:00.000-03:00' },
      { name: 'hour in Kolkata (+05:30)', period: 'hour', timeZone: 'Asia/Kolkata', before: '2026-03-10T12:10:00.000Z', boundary: '2026-03-10T12:30:00.000Z' },
      // Clocks that jump to a quarter to the hour (Pacific/Chatham, 02:45 to 03:45 on 2026-09-27):
      // hour 2 ends at the jump, and hour 3 begins there.
      { name: 'hour up to a jump to a quarter to (Pacific/Chatham)', period: 'hour', timeZone: 'Pacific/Chatham', before: '2026-09-26T13:30:00.000Z', boundary: '2026-09-26T14:00:00.000Z' },
      { name: 'hour after a jump to a quarter to (Pacific/Chatham)', period: 'hour', timeZone: 'Pacific/Chatham', before: '2026-09-26T14:09:39.000Z', boundary: '2026-09-26T14:15:00.000Z' },
      // Clocks set back by half an hour (Australia/Lord_Howe, 02:00 to 01:30 on 2026-04-05).
      { name: 'hour up to a half-hour setback (Australia/Lord_Howe)', period: 'hour', timeZone: 'Australia/Lord_Howe', before: '2026-04-04T14:40:00.000Z', boundary: '2026-04-04T15:00:00.000Z' },
      { name: 'half hour after a half-hour setback (Australia/Lord_Howe)', period: 'hour', timeZone: 'Australia/Lord_Howe', before: '2026-04-04T15:10:00.000Z', boundary: '2026-04-04T15:30:00.000Z' },
      { name: '30-day rolling from an anchor', period: { days: 30, anchor: '2026-01-15' }, before: '2026-03-16T10:00:00.000Z', boundary: '2026-03-16T00:00:00.000Z' },
      { name: 'monthly anniversary from Jan 31 (clamped to Feb 28)', period: { months: 1, anchor: '2026-01-31' }, before: '2026-02-27T10:00:00.000Z', boundary: '2026-02-28T00:00:00.000Z' },
      { name: 'monthly anniversary back on the 31st', period: { months: 1, anchor: '2026-01-31' }, before: '2026-03-30T10:00:00.000Z', boundary: '2026-03-31T00:00:00.000Z' },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const boundary = Date.parse(c.boundary);
        const before = Math.min(Date.parse(c.before), boundary - 1);
        const rule = { id: 'r', tokens: 100, period: c.period, ...(c.timeZone ? { timeZone: c.timeZone } : {}) } as LimitRule;
        const { limiter, clock } = await setup({ defaultLimits: [rule] }, before);
        const r = await limiter.reserve('roll', { tokens: 100 });
        await limiter.commit(r, { inputTokens: 100, outputTokens: 0 });
        expect(r.windows[0]!.resetAt.getTime()).toBe(boundary);
        clock.set(boundary - 1);
        await expect(limiter.reserve('roll', { tokens: 1 })).rejects.toMatchObject({ resetAt: new Date(boundary) });
        clock.set(boundary);
        const next = await limiter.reserve('roll', { tokens: 100 });
        expect(next.windows[0]!.periodStart.getTime()).toBe(boundary);
        const usage = await limiter.admin.getUsage('roll');
        expect(usage).toMatchObject({ used: 0, reserved: 100, periodStart: new Date(boundary) });
      });
    }

    it('a 30-day rolling period counts from the user period start date when the rule has no anchor', async () => {
      const { limiter, clock } = await setup({ defaultLimits: [{ id: 'r30', tokens: 100, period: { days: 30 } }] }, '2026-03-10T15:37:00.000Z');
      const r = await limiter.reserve('newcomer', { tokens: 10 });
      expect(r.windows[0]!.periodStart).toEqual(new Date('2026-03-10T00:00:00.000Z'));
      expect(r.windows[0]!.resetAt).toEqual(new Date('2026-04-09T00:00:00.000Z'));
      await limiter.commit(r, { inputTokens: 100, outputTokens: 0 });
      clock.set('2026-04-09T00:00:00.000Z');
      expect(await limiter.admin.getUsage('newcomer')).toMatchObject({ used: 0, periodStart: new Date('2026-04-09T00:00:00.000Z'), resetAt: new Date('2026-05-09T00:00:00.000Z') });
    });

    it('a commit after the boundary lands in the period the call was reserved in', async () => {
      const { limiter, clock } = await setup({ defaultLimits: [tokens(1000, 'day')] }, '2026-03-10T23:59:59.990Z');
      const r = await limiter.reserve('straddle', { tokens: 900 });
      clock.set('2026-03-11T00:00:00.500Z');
      // The old period's hold does not reduce the new period's capacity.
      const fresh = await limiter.reserve('straddle', { tokens: 1000 });
      await limiter.release(fresh);
      await limiter.commit(r, { inputTokens: 500, outputTokens: 0 });
      expect(await limiter.admin.getUsage('straddle')).toMatchObject({ used: 0, reserved: 0 });
      const [record] = await limiter.admin.getUsageLog({ userId: 'straddle' });
      expect(record!.totalTokens).toBe(500);
    });

    it('never rolls backwards when two limiters disagree on the time', async () => {
      const store = await factory.create();
      const ahead = manualClock('2026-04-01T00:02:00.000Z');
      const behind = manualClock('2026-03-31T23:58:00.000Z');
      const rules = [tokens(1000, 'month')];
      const fast = createTokenLimiter({ store, clock: ahead.now, defaultLimits: rules });
      const slow = createTokenLimiter({ store, clock: behind.now, defaultLimits: rules });
      const old = await slow.reserve('skew', { tokens: 100 });
      await slow.commit(old, { inputTokens: 700, outputTokens: 0 }); // March usage
      const a = await fast.reserve('skew', { tokens: 100 }); // rolls into April
      await fast.commit(a, { inputTokens: 100, outputTokens: 0 });
      const b = await slow.reserve('skew', { tokens: 850 }); // still March by its clock: must see April
      expect(b.windows[0]!.periodStart).toEqual(new Date('2026-04-01T00:00:00.000Z'));
      await slow.commit(b, { inputTokens: 850, outputTokens: 0 });
      const usage = await fast.admin.getUsage('skew');
      expect(usage).toMatchObject({ used: 950, periodStart: new Date('2026-04-01T00:00:00.000Z') });
      await expect(slow.reserve('skew', { tokens: 51 })).rejects.toMatchObject({ used: 950 });
    });
  });

  describe(`${factory.name}: user ids`, () => {
    it('keeps adversarial ids safe and distinct', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const ids = ['}', '{a}', '}x', '{}', 'a:b', 'a', 'b', '\n', '\u0000', 'a\u0000b', '🦄', 'x'.repeat(10_240), 'x'.repeat(10_241), 'bYQ', 'hAAAA', 'g', '__proto__', 'constructor'];
      for (const [i, id] of ids.entries()) {
        const r = await limiter.reserve(id, { tokens: 10 });
        await limiter.commit(r, { inputTokens: i + 1, outputTokens: 0 });
      }
      for (const [i, id] of ids.entries()) {
        expect((await limiter.admin.getUsage(id)).used).toBe(i + 1);
      }
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await limiter.admin.listUsers(cursor === undefined ? { limit: 7 } : { limit: 7, cursor });
        listed.push(...page.users.map((u) => u.userId));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(new Set(listed)).toEqual(new Set(ids));
      expect(listed).toHaveLength(ids.length);
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('refuses invalid ids with InvalidArgumentError and writes nothing', async () => {
      const { limiter } = await setup();
      for (const bad of ['', 42, null, undefined, {}, { id: '' }, '\uD800', 'x'.repeat(65_537)]) {
        await expect(limiter.reserve(bad as string, { tokens: 1 })).rejects.toMatchObject({ code: 'invalid_argument' });
      }
      expect((await limiter.admin.listUsers()).users).toHaveLength(0);
      await expect(limiter.reserve({ id: 'obj' }, { tokens: 1 })).resolves.toMatchObject({ userId: 'obj' });
    });
  });

  describe(`${factory.name}: invalid input`, () => {
    it('refuses malformed estimates and usage, naming the parameter, and changes nothing', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const bad: Array<[unknown, string]> = [
        [{ tokens: -1 }, 'estimate.tokens'],
        [{ tokens: 1.5 }, 'estimate.tokens'],
        [{ tokens: NaN }, 'estimate.tokens'],
        [{ tokens: Infinity }, 'estimate.tokens'],
        [{ tokens: 2 ** 53 }, 'estimate.tokens'],
        [{ tokens: '100' }, 'estimate.tokens'],
        [{ tokens: 1, costUsd: -0.1 }, 'estimate.costUsd'],
        [{ tokens: 1, extra: 1 }, 'estimate.extra'],
        [null, 'estimate'],
      ];
      // Bad arguments reject the promise, never throw before it is returned (a caller's .catch
      // would not see that): check threw so.
      const promised = (run: () => Promise<unknown>): Promise<unknown> => {
        try {
          return run();
        } catch (error) {
          return Promise.resolve({ threw: error });
        }
      };
      for (const [estimate, parameter] of bad) {
        for (const run of [() => limiter.reserve('m', estimate as never), () => limiter.check('m', estimate as never)]) {
          const error = await promised(run).then(
            (value) => value,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(InvalidArgumentError);
          expect(error).toMatchObject({ parameter });
        }
      }
      for (const run of [() => limiter.check('', { tokens: 1 }), () => limiter.reserve('', { tokens: 1 })]) {
        await expect(promised(run)).rejects.toMatchObject({ parameter: 'user' });
      }
      const r = await limiter.reserve('m', { tokens: 100 });
      const badUsage: Array<[unknown, string]> = [
        [{ inputTokens: -1, outputTokens: 0 }, 'usage.inputTokens'],
        [{ inputTokens: NaN, outputTokens: 0 }, 'usage.inputTokens'],
        [{ inputTokens: 1, outputTokens: Number('1e309') }, 'usage.outputTokens'],
        [{ inputTokens: '12', outputTokens: 0 }, 'usage.inputTokens'],
        [{ inputTokens: 1.5, outputTokens: 0 }, 'usage.inputTokens'],
        [{ inputTokens: 2 ** 53, outputTokens: 0 }, 'usage.inputTokens'],
        [{ inputTokens: null, outputTokens: 0 }, 'usage.inputTokens'],
        [{ outputTokens: 0 }, 'usage.inputTokens'],
        [{ inputTokens: 1, outputTokens: 1, cachedInputTokens: 2 }, 'usage.cachedInputTokens'],
        [{ inputTokens: 1, outputTokens: 1, provider: 'nope' }, 'usage.provider'],
      ];
      for (const [usage, parameter] of badUsage) {
        const error = await limiter.commit(r, usage as never).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error).toMatchObject({ parameter });
      }
      expect(await limiter.admin.getUsage('m')).toMatchObject({ used: 0, reserved: 100 });
      await expect(limiter.commit({ id: 'x' } as never, { inputTokens: 1, outputTokens: 1 })).rejects.toMatchObject({ parameter: 'reservation' });
    });

    it('refuses bad rules naming the field, and keeps the old rules', async () => {
      const { limiter } = await setup();
      await limiter.admin.setLimits('n', [tokens(500)]);
      const bad: Array<[unknown, string]> = [
        [[], 'rules'],
        [[{ id: 'a', period: 'month' }], 'rules[0]'],
        [[{ id: 'a', tokens: 1, requests: 1, period: 'month' }], 'rules[0]'],
        [[{ id: 'a', tokens: -5, period: 'month' }], 'rules[0].tokens'],
        [[{ id: 'a', tokens: 5, period: 'fortnight' }], 'rules[0].period'],
        [[{ id: 'a', tokens: 5, period: { days: 0 } }], 'rules[0].period.days'],
        [[{ id: 'a', tokens: 5, period: { months: 1, anchor: 'not a date' } }], 'rules[0].period.anchor'],
        [[{ id: 'a', tokens: 5, period: 'day', timeZone: 'Mars/Olympus' }], 'rules[0].timeZone'],
        [[{ id: 'a', tokens: 5, period: 'day', timezone: 'UTC' }], 'rules[0].timezone'],
        [[{ id: 'a b', tokens: 5, period: 'day' }], 'rules[0].id'],
        [[tokens(5), tokens(6)], 'rules[1].id'],
      ];
      for (const [rules, parameter] of bad) {
        const error = await limiter.admin.setLimits('n', rules as never).catch((e: unknown) => e);
        expect(error, JSON.stringify(rules)).toBeInstanceOf(InvalidArgumentError);
        expect(error).toMatchObject({ parameter });
      }
      expect(await limiter.admin.getLimits('n')).toEqual([tokens(500)]);
    });
  });

  describe(`${factory.name}: admin`, () => {
    it('sets, reads and clears limits; usage of a kept rule survives a limit change', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      expect(await limiter.admin.getLimits('o')).toEqual([tokens(1000)]);
      const r = await limiter.reserve('o', { tokens: 100 });
      await limiter.commit(r, { inputTokens: 300, outputTokens: 0 });
      await limiter.admin.setLimits('o', [tokens(2000), { id: 'daily', requests: 5, period: 'day', timeZone: 'America/Sao_Paulo' }]);
      expect(await limiter.admin.getLimits('o')).toEqual([tokens(2000), { id: 'daily', requests: 5, period: 'day', timeZone: 'America/Sao_Paulo' }]);
      const usage = await limiter.admin.getUsage('o');
      expect(usage).toMatchObject({ limit: 2000, used: 300, remaining: 1700 });
      expect(usage.windows[1]).toMatchObject({ limit: 5, used: 0, periodStart: new Date('2026-03-10T03:00:00.000Z') });
      await limiter.admin.setLimits('o', null);
      expect(await limiter.admin.getLimits('o')).toEqual([tokens(1000)]);
      expect((await limiter.admin.getUsage('o')).used).toBe(300);
    });

    it('keeps the largest rules the engine accepts, for a user, an account and a plan', async () => {
      const { limiter } = await setup();
      // 16 rules of 32 model filters of 256 characters that JSON escapes to 6 bytes each: about
      // 790 KB of rules, each of which a change must store whole.
      const filler = '\u0001'.repeat(250);
      const rules = Array.from({ length: 16 }, (_, r): LimitRule => ({
        id: `r${r}`,
        tokens: 1000 + r,
        period: 'month',
        models: Array.from({ length: 32 }, (_, m) => `${String(r).padStart(2, '0')}-${String(m).padStart(2, '0')}${filler}`),
      }));
      expect(JSON.stringify(rules).length).toBeGreaterThan(750_000);
      await limiter.admin.setLimits('big', rules);
      expect(await limiter.admin.getLimits('big')).toEqual(rules);
      await limiter.admin.setAccountLimits('big-account', rules);
      await limiter.admin.setPlan('big-plan', rules);
      await limiter.admin.setAccount('member', 'big-account');
      await limiter.admin.assignPlan('member', 'big-plan');
      expect(await limiter.admin.getLimits('member')).toEqual(rules);
      const model = `07-31${filler}`;
      for (const user of ['big', 'member']) {
        await limiter.commit(await limiter.reserve(user, { tokens: 10, model }), { inputTokens: 40, outputTokens: 0, model });
        const usage = await limiter.admin.getUsage(user);
        expect(usage.windows.map((w) => w.used)).toEqual(rules.map((_, r) => (r === 7 ? 40 : 0)));
      }
      expect((await limiter.admin.getAccountUsage('big-account')).windows[7]).toMatchObject({ limit: 1007, used: 40 });
    });

    it('resets one rule or all in the current period', async () => {
      const { limiter } = await setup();
      await limiter.admin.setLimits('q', [tokens(1000), { id: 'rpd', requests: 10, period: 'day' }]);
      const r = await limiter.reserve('q', { tokens: 10 });
      await limiter.commit(r, { inputTokens: 400, outputTokens: 0 });
      await limiter.admin.resetUsage('q', 'rpd');
      let usage = await limiter.admin.getUsage('q');
      expect(usage.windows.map((w) => w.used)).toEqual([400, 0]);
      await limiter.admin.resetUsage('q');
      usage = await limiter.admin.getUsage('q');
      expect(usage.windows.map((w) => w.used)).toEqual([0, 0]);
      await expect(limiter.admin.resetUsage('q', 'nope')).rejects.toMatchObject({ parameter: 'ruleId' });
    });

    it('keeps a bounded usage log, newest first, per user and for everyone', async () => {
      const { limiter, clock } = await setup({ usageLog: { maxLength: 5, userMaxLength: 3, retentionDays: 1 } });
      for (let i = 0; i < 8; i += 1) {
        const r = await limiter.reserve(i % 2 === 0 ? 'even' : 'odd', { tokens: 10 });
        await limiter.commit(r, { inputTokens: i, outputTokens: 1, model: `m${i}`, requestId: `req_${i}` });
        clock.advance(1000);
      }
      const all = await limiter.admin.getUsageLog();
      expect(all.map((r) => r.model)).toEqual(['m7', 'm6', 'm5', 'm4', 'm3']);
      const even = await limiter.admin.getUsageLog({ userId: 'even' });
      expect(even.map((r) => r.model)).toEqual(['m6', 'm4', 'm2']);
      expect(even[0]).toMatchObject({ userId: 'even', inputTokens: 6, outputTokens: 1, requestId: 'req_6', estimated: false });
      const windowed = await limiter.admin.getUsageLog({ since: T0 + 4000, until: T0 + 6000 });
      expect(windowed.map((r) => r.model)).toEqual(['m6', 'm5', 'm4']);
      expect(await limiter.admin.getUsageLog({ limit: 2 })).toHaveLength(2);
      clock.advance(2 * 86_400_000);
      const r = await limiter.reserve('even', { tokens: 10 });
      await limiter.commit(r, { inputTokens: 1, outputTokens: 1, model: 'late' });
      expect((await limiter.admin.getUsageLog()).map((x) => x.model)).toEqual(['late']);
    });

    it('aggregates history per hour and day, per user and for everyone, per model', async () => {
      const { limiter, clock } = await setup({}, '2026-03-10T10:15:00.000Z');
      const call = async (user: string, model: string, input: number, output: number) => {
        const r = await limiter.reserve(user, { tokens: 10 });
        await limiter.commit(r, { inputTokens: input, outputTokens: output, model, costUsd: 0.01 });
      };
      await call('u1', 'gpt-4o', 10, 5);
      await call('u2', 'gpt-4o', 20, 5);
      await call('u1', 'claude|x', 1, 1);
      clock.set('2026-03-10T11:05:00.000Z');
      await call('u1', 'gpt-4o', 100, 50);
      clock.set('2026-03-11T09:00:00.000Z');
      await call('u1', 'gpt-4o', 1000, 500);
      const hours = await limiter.admin.getUsageHistory({ userId: 'u1', from: '2026-03-10T00:00:00Z', to: '2026-03-11T00:00:00Z', granularity: 'hour' });
      expect(hours.map((p) => [p.time.toISOString(), p.model, p.totalTokens, p.requests])).toEqual([
        ['2026-03-10T10:00:00.000Z', 'claude|x', 2, 1],
        ['2026-03-10T10:00:00.000Z', 'gpt-4o', 15, 1],
        ['2026-03-10T11:00:00.000Z', 'gpt-4o', 150, 1],
      ]);
      const days = await limiter.admin.getUsageHistory({ from: '2026-03-09T00:00:00Z', to: '2026-03-12T00:00:00Z', granularity: 'day' });
      expect(days.map((p) => [p.time.toISOString(), p.model, p.inputTokens, p.outputTokens, p.requests, p.costUsd])).toEqual([
        ['2026-03-10T00:00:00.000Z', 'claude|x', 1, 1, 1, 0.01],
        ['2026-03-10T00:00:00.000Z', 'gpt-4o', 130, 60, 3, 0.03],
        ['2026-03-11T00:00:00.000Z', 'gpt-4o', 1000, 500, 1, 0.01],
      ]);
      await expect(limiter.admin.getUsageHistory({ from: 10, to: 5, granularity: 'day' })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(limiter.admin.getUsageHistory({ from: 0, to: 5, granularity: 'week' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
      // Text names the same instant on every server: a date is a UTC day, a date-time carries its
      // offset. One without (read in the server's zone before) or in no ISO form is refused.
      const sameDay = { userId: 'u1', granularity: 'hour' as const };
      expect(await limiter.admin.getUsageHistory({ ...sameDay, from: '2026-03-10', to: '2026-03-10T13:00+02:00' })).toEqual(hours.slice(0, 2));
      for (const [from, to, parameter] of [
        ['2026-03-10T00:00', '2026-03-11T00:00:00Z', 'options.from'],
        ['2026-03-10T00:00:00Z', '2026-03-11T00:00:00', 'options.to'],
        ['Mar 10 2026', '2026-03-11', 'options.from'],
        ['2026-02-30', '2026-03-11', 'options.from'],
      ] as const) {
        await expect(limiter.admin.getUsageHistory({ ...sameDay, from, to })).rejects.toMatchObject({ name: 'InvalidArgumentError', parameter });
      }
      await expect(limiter.admin.getUsageLog({ userId: 'u1', since: '2026-03-10T10:00' })).rejects.toMatchObject({ name: 'InvalidArgumentError', parameter: 'options.since' });
      expect(await limiter.admin.getUsageLog({ userId: 'u1', since: '2026-03-11T10:00+01:00' })).toHaveLength(1);
    });

    it('reports stats and deletes users', async () => {
      const { limiter } = await setup();
      for (const [user, n] of [['s1', 100], ['s2', 50], ['s1', 7]] as const) {
        const r = await limiter.reserve(user, { tokens: 10 });
        await limiter.commit(r, { inputTokens: n, outputTokens: 0, costUsd: 0.25 });
      }
      await limiter.admin.setLimits('s3', [tokens(5)]);
      expect(await limiter.admin.getStats()).toEqual({ totalTokens: 157, totalCostUsd: 0.75, activeUsers: 2, users: 3 });
      await limiter.admin.deleteUser('s1');
      expect(await limiter.admin.getUsage('s1')).toMatchObject({ used: 0, reserved: 0 });
      expect(await limiter.admin.getUsageLog({ userId: 's1' })).toEqual([]);
      expect(await limiter.admin.getStats()).toEqual({ totalTokens: 157, totalCostUsd: 0.75, activeUsers: 1, users: 2 });
    });

    it('lists users with paging', async () => {
      const { limiter } = await setup();
      const ids = Array.from({ length: 25 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
      for (const id of ids) await limiter.admin.setLimits(id, [tokens(100)]);
      const first = await limiter.admin.listUsers({ limit: 10 });
      expect(first.users.map((u) => u.userId)).toEqual(ids.slice(0, 10));
      expect(first.users[0]).toMatchObject({ limit: 100, used: 0, isActive: true });
      const second = await limiter.admin.listUsers({ limit: 10, cursor: first.cursor! });
      expect(second.users.map((u) => u.userId)).toEqual(ids.slice(10, 20));
      const third = await limiter.admin.listUsers({ limit: 10, cursor: second.cursor! });
      expect(third.users.map((u) => u.userId)).toEqual(ids.slice(20));
      expect(third.cursor).toBeUndefined();
      await expect(limiter.admin.listUsers({ limit: 0 })).rejects.toMatchObject({ parameter: 'options.limit' });
    });
  });
}
