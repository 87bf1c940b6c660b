import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError, RedisStore, TokenLimitExceededError, type LimitRule, type StoreResetEvent, type TokenLimiter } from '../../src/index.js';
import { accountKeys, globalKeys, userKeys, userTag } from '../../src/stores/redis/keys.js';
import { SCRIPTS } from '../../src/stores/redis/registry.js';
import { manualClock } from '../helpers/clock.js';
import { redisForThisFile, REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { decodeStoredWindow } from '../support/index.js';
import { accountStampede, stampede } from './stampede.js';

const client = await redisForThisFile();

describe('RedisStore on a real Redis', () => {
  it('uses the Redis server clock when no clock option is given', async () => {
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: uniquePrefix() }) });
    const [seconds] = await client.time();
    const r = await limiter.reserve('clocked', { tokens: 10 });
    expect(Math.abs(r.createdAt.getTime() - Number(seconds) * 1000)).toBeLessThan(5_000);
    const record = await limiter.commit(r, { inputTokens: 1, outputTokens: 1 });
    expect(record.timestamp.getTime()).toBeGreaterThanOrEqual(r.createdAt.getTime());
  });

  it('recovers from SCRIPT FLUSH (NOSCRIPT falls back to EVAL) without surfacing an error', async () => {
    // A client with only evalsha and eval (the least the store takes): every call goes by EVALSHA.
    const scriptsOnly = { evalsha: client.evalsha.bind(client), eval: client.eval.bind(client) };
    const limiter = createTokenLimiter({ store: new RedisStore({ client: scriptsOnly, prefix: uniquePrefix() }), defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
    await limiter.warmup();
    for (let i = 0; i < 5; i += 1) {
      await client.script('FLUSH');
      const r = await limiter.reserve('flushed', { tokens: 100 });
      await client.script('FLUSH');
      await limiter.commit(r, { inputTokens: 50, outputTokens: 50 });
    }
    expect((await limiter.admin.getUsage('flushed')).used).toBe(500);
    const [loaded] = (await client.script('EXISTS', SCRIPTS.commit.sha)) as number[];
    expect(loaded).toBe(1);
  });

  it('builds keys whose hash tag cannot be chosen or broken by the user id', () => {
    const tags = new Set<string>();
    for (const id of ['', '}', '{a}', '}x', '{}', 'a:b', '\n', '\u0000', '🦄', 'x'.repeat(10_240)]) {
      const tag = userTag(id);
      expect(tag).toMatch(/^[bh][A-Za-z0-9_-]*$/);
      expect(tag.length).toBeLessThanOrEqual(65);
      const keys = userKeys('tl', id);
      for (const key of [keys.config, keys.windows, keys.outcomes('x'), keys.log, keys.historyMonth('202601')]) expect(key.startsWith(`tl:{${tag}}:`)).toBe(true);
      tags.add(tag);
    }
    expect(tags.size).toBe(10);
    expect(() => new RedisStore({ client, prefix: 'a{b}' })).toThrow(/prefix/);
  });

  it('admits exactly 10 of 1000 reservations made concurrently from 8 processes', async () => {
    const prefix = uniquePrefix('stampede');
    const defaultLimits = [{ id: 'main', tokens: 1000, period: 'month' as const }];
    const reports = await stampede(8, { redis: { url: REDIS_URL }, prefix, users: ['hot-user'], count: 125, estimate: 100, actual: 100, defaultLimits });
    expect(reports.reduce((n, r) => n + r.unexpected, 0)).toBe(0);
    expect(reports.reduce((n, r) => n + r.admitted, 0)).toBe(10);
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits });
    expect(await limiter.admin.getUsage('hot-user')).toMatchObject({ used: 1000, reserved: 0 });
    await expect(limiter.reserve('hot-user', { tokens: 1 })).rejects.toBeInstanceOf(TokenLimitExceededError);
  }, 180_000);

  it('admits exactly what fits on both scopes when 8 processes race 1000 reservations for 50 members of one account', async () => {
    await accountStampede({ url: REDIS_URL }, (prefix) => new RedisStore({ client, prefix }));
  }, 180_000);

  describe('epoch marker (lost data)', () => {
    it('is created on first use; a lost marker is recreated as a reset that every store object that saw the old one reports once; acknowledging it', async () => {
      const prefix = uniquePrefix();
      const a = new RedisStore({ client, prefix });
      const b = new RedisStore({ client, prefix });
      const first = (await a.maintenance.checkEpoch())!;
      expect(first).toMatchObject({ previous: null, acknowledged: true, reset: false, lost: null });
      expect(await b.maintenance.checkEpoch()).toMatchObject({ id: first.id, reset: false });
      expect(await a.maintenance.checkEpoch()).toMatchObject({ id: first.id, reset: false });
      await client.del(globalKeys(prefix).epoch); // what a restart without persistence does
      const second = (await a.maintenance.checkEpoch())!;
      expect(second).toMatchObject({ previous: first.id, acknowledged: false, reset: true, lost: first.id });
      expect(second.id).not.toBe(first.id);
      expect(await b.maintenance.checkEpoch()).toMatchObject({ id: second.id, reset: true, lost: first.id, acknowledged: false });
      expect(await b.maintenance.checkEpoch()).toMatchObject({ reset: false });
      const fresh = new RedisStore({ client, prefix });
      expect(await fresh.maintenance.checkEpoch()).toMatchObject({ id: second.id, reset: false, previous: first.id, acknowledged: false });
      await fresh.maintenance.acknowledgeReset();
      expect(await a.maintenance.checkEpoch()).toMatchObject({ id: second.id, acknowledged: true, reset: false });
    });

    it('a marker recreated by a process that had seen nothing becomes a reset for the first process that had', async () => {
      const prefix = uniquePrefix();
      const old = new RedisStore({ client, prefix });
      const first = (await old.maintenance.checkEpoch())!;
      await client.del(globalKeys(prefix).epoch);
      const newcomer = new RedisStore({ client, prefix });
      expect(await newcomer.maintenance.checkEpoch()).toMatchObject({ previous: null, acknowledged: true });
      expect(await old.maintenance.checkEpoch()).toMatchObject({ reset: true, lost: first.id, previous: first.id, acknowledged: false });
    });

    it("onStoreReset 'deny': the reserve that finds a seen user's state gone is refused, store-reset fires, calls resume once acknowledged", async () => {
      const prefix = uniquePrefix();
      const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), onStoreReset: 'deny', defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
      const events: StoreResetEvent[] = [];
      limiter.on('store-reset', (e) => events.push(e));
      await limiter.warmup();
      await limiter.commit(await limiter.reserve('seen', { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
      const k = userKeys(prefix, 'seen');
      await client.del(k.config, k.windows, k.log, globalKeys(prefix).epoch);
      await expect(limiter.reserve('seen', { tokens: 100 })).rejects.toBeInstanceOf(QuotaStoreError);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ policy: 'deny' });
      expect((await limiter.admin.getUsage('seen')).reserved).toBe(0); // the hold it made was released
      await expect(limiter.reserve('other', { tokens: 1 })).rejects.toThrow(/acknowledgeStoreReset/);
      await limiter.admin.acknowledgeStoreReset();
      await expect(limiter.reserve('seen', { tokens: 100 })).resolves.toMatchObject({ unmetered: false });
      expect(events).toHaveLength(1);
    });

    it("onStoreReset 'deny': a process that learned of the loss admits again at its first call after another acknowledged it", async () => {
      const prefix = uniquePrefix();
      const make = () => createTokenLimiter({ store: new RedisStore({ client, prefix }), onStoreReset: 'deny', storeResetCheckMs: 200, defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
      const a = make();
      const b = make();
      await a.commit(await a.reserve('seen-a', { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
      await b.commit(await b.reserve('seen-b', { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
      const ka = userKeys(prefix, 'seen-a');
      const kb = userKeys(prefix, 'seen-b');
      await client.del(ka.config, ka.windows, ka.log, kb.config, kb.windows, kb.log, globalKeys(prefix).epoch);
      await expect(a.reserve('seen-a', { tokens: 10 })).rejects.toThrow(/acknowledgeStoreReset/);
      await expect(b.reserve('seen-b', { tokens: 10 })).rejects.toThrow(/acknowledgeStoreReset/);
      await a.admin.acknowledgeStoreReset();
      // B's last look at the marker is now older than storeResetCheckMs: its next reserve starts a
      // check, and must wait for it rather than refuse on what it knew before.
      await new Promise((resolve) => setTimeout(resolve, 250));
      await expect(b.reserve('seen-b', { tokens: 10 })).resolves.toMatchObject({ unmetered: false });
      await a.close();
      await b.close();
    });

    it("onStoreReset 'continue' (default): no event when nothing was lost, one event when it was, and calls go on", async () => {
      const prefix = uniquePrefix();
      const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), storeResetCheckMs: 10, defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
      const events: StoreResetEvent[] = [];
      limiter.on('store-reset', (e) => events.push(e));
      for (let i = 0; i < 5; i += 1) {
        await limiter.commit(await limiter.reserve('u', { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      expect(events).toEqual([]);
      await client.del(globalKeys(prefix).epoch);
      await new Promise((resolve) => setTimeout(resolve, 15));
      await limiter.reserve('u', { tokens: 10 });
      for (let i = 0; i < 500 && events.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ policy: 'continue' });
      await expect(limiter.reserve('u', { tokens: 10 })).resolves.toBeTruthy();
    });
  });

  it('reads windows and holds in the text form earlier versions stored, so an upgrade keeps every count', async () => {
    const prefix = uniquePrefix('upgrade');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'main', tokens: 100, period: 'month' }] });
    await limiter.commit(await limiter.reserve('old', { tokens: 40 }), { inputTokens: 20, outputTokens: 10 });
    const held = await limiter.reserve('old', { tokens: 10 });
    const k = userKeys(prefix, 'old');
    const w = decodeStoredWindow(await client.hgetBuffer(k.windows, 'w:main'))!;
    expect(w).toMatchObject({ used: 30, held: 10, alerts: 0 });
    // As the store wrote them before windows and holds were binary.
    await client.hset(k.windows, 'w:main', `${w.fingerprint} ${w.start} ${w.end} ${w.used} ${w.held} ${w.alerts}`);
    await client.hset(k.windows, `x:${held.id}`, `${Date.now() + 600_000} main ${w.fingerprint} ${w.start} 10`);
    expect(await limiter.admin.getUsage('old')).toMatchObject({ used: 30, reserved: 10 });
    await limiter.commit(held, { inputTokens: 10, outputTokens: 5 });
    expect(await limiter.admin.getUsage('old')).toMatchObject({ used: 45, reserved: 0 });
    // Written back binary, with the held amount gone with the hold.
    expect(decodeStoredWindow(await client.hgetBuffer(k.windows, 'w:main'))).toMatchObject({ used: 45, held: 0 });
    expect((await client.hgetBuffer(k.windows, 'w:main'))![0]).toBe(1);
    await expect(limiter.reserve('old', { tokens: 56 })).rejects.toBeInstanceOf(TokenLimitExceededError);
    await limiter.release(await limiter.reserve('old', { tokens: 55 }));
  });

  it('a hold whose value cannot be read fails no script, and leaves nothing held once it is settled', async () => {
    const prefix = uniquePrefix('garbled');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'main', tokens: 100, period: 'month' }] });
    const k = userKeys(prefix, 'g');
    const other = await limiter.reserve('g', { tokens: 7 });
    const garbledValues = [Buffer.from([1]), Buffer.from([1, 2, 3]), Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.from([200, 65])]), Buffer.from('not a hold')];
    for (const [i, garbled] of garbledValues.entries()) {
      const r = await limiter.reserve('g', { tokens: 10 });
      await client.hset(k.windows, `x:${r.id}`, garbled);
      expect(await limiter.admin.getUsage('g')).toMatchObject({ used: 8 * i, reserved: 17 });
      // Its amount cannot be read off the hold: the held amounts are counted again from the
      // holds that remain, so the other reservation still holds its 7.
      if (i % 2 === 0) await limiter.commit(r, { inputTokens: 4, outputTokens: 4 });
      else {
        await limiter.release(r);
        await limiter.commit(await limiter.reserve('g', { tokens: 1 }), { inputTokens: 4, outputTokens: 4 });
      }
      expect(await limiter.admin.getUsage('g')).toMatchObject({ used: 8 * (i + 1), reserved: 7 });
      expect(await client.hexists(k.windows, `x:${r.id}`)).toBe(0);
    }
    await limiter.release(other);
    expect(await limiter.admin.getUsage('g')).toMatchObject({ used: 32, reserved: 0 });
  });

  it('a plan whose stored rules change under a version a process already read is applied there too (a plan restored from a backup)', async () => {
    const prefix = uniquePrefix('plan-text');
    const store = new RedisStore({ client, prefix });
    const options = { store, defaultLimits: [{ id: 'main', tokens: 1_000_000, period: 'month' as const }], planRefreshMs: 50 };
    const admin = createTokenLimiter(options);
    const second = createTokenLimiter(options);
    await admin.admin.setPlan('pro', [{ id: 'monthly', tokens: 1000, period: 'month' }]);
    await admin.admin.assignPlan('u', 'pro');
    await second.release(await second.reserve('u', { tokens: 10 })); // the second process read version 1
    const plans = globalKeys(prefix).plans;
    const stored = JSON.parse((await client.hget(plans, 'pro'))!) as { v: number; rules: string };
    await client.hset(plans, 'pro', JSON.stringify({ v: stored.v, rules: stored.rules.replace('1000', '100') }));
    await new Promise((resolve) => setTimeout(resolve, 80));
    await second.check('u', { tokens: 1 }); // reads the plans again beside the call
    await new Promise((resolve) => setTimeout(resolve, 40));
    await expect(second.reserve('u', { tokens: 500 })).rejects.toMatchObject({ ruleId: 'monthly', limit: 100 });
  });
});

describe('RedisStore: admin writes racing a move between accounts (two processes, two connections)', () => {
  const client2 = new Redis(REDIS_URL);
  afterAll(() => client2.disconnect());
  const tokens = (n: number, id: string): LimitRule => ({ id, tokens: n, period: 'month' });
  /** Two limiters on one store prefix, each with its own connection. */
  const pair = (): [TokenLimiter, TokenLimiter] => {
    const prefix = uniquePrefix('move-race');
    const clock = manualClock(Date.parse('2026-03-10T12:00:00.000Z'));
    const options = { clock: clock.now, defaultLimits: [tokens(1_000_000, 'main')], planRefreshMs: 50 };
    return [createTokenLimiter({ store: new RedisStore({ client, prefix }), ...options }), createTokenLimiter({ store: new RedisStore({ client: client2, prefix }), ...options })];
  };
  /** Waits n turns of the event loop: a local Redis answers within one or two. */
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const TRIALS = 200;
  const race = async (trial: (l1: TokenLimiter, l2: TokenLimiter, delay: number, n: number) => Promise<string | null>) => {
    const failures: string[] = [];
    for (let n = 0; n < TRIALS; n++) {
      const [l1, l2] = pair();
      const failure = await trial(l1, l2, n % 10, n);
      if (failure !== null) failures.push(`delay ${n % 10}: ${failure}`);
    }
    expect(failures).toEqual([]);
  };
  const rulesOf = async (l: TokenLimiter, u: string) => (await l.admin.getLimits(u)).map((r) => `${r.id}:${(r as { tokens: number }).tokens}`).join();
  const membersOf = async (l: TokenLimiter, accountId: string) => (await l.admin.listAccountMembers(accountId, { limit: 100 })).members.map((m) => m.userId);

  it('two setAccount of one user to two accounts at once: the user ends in exactly one, with their rules and usage', async () => {
    await race(async (l1, l2, delay, n) => {
      const u = `m${n}`;
      await l1.admin.setLimits(u, [tokens(5000, 'own')]);
      await l1.commit(await l1.reserve(u, { tokens: 70 }), { inputTokens: 70, outputTokens: 0 });
      await l1.flush();
      if (n % 3 === 1) await l1.admin.setAccount(u, 'C'); // a third of the trials leave an account
      await Promise.all([l1.admin.setAccount(u, 'A'), turns(delay).then(() => l2.admin.setAccount(u, 'B'))]);
      const usage = await l1.admin.getUsage(u);
      const home = usage.account?.accountId ?? null;
      const state = { home, inA: (await membersOf(l1, 'A')).includes(u), inB: (await membersOf(l1, 'B')).includes(u), inC: (await membersOf(l1, 'C')).includes(u), rules: await rulesOf(l1, u), used: usage.used };
      const ok = (home === 'A' || home === 'B') && state.inA === (home === 'A') && state.inB === (home === 'B') && !state.inC && state.rules === 'own:5000' && state.used === 70;
      if (!ok) return JSON.stringify(state);
      // Charged once, where the user lives.
      await l2.commit(await l2.reserve(u, { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
      await l2.flush();
      const after = await l1.admin.getUsage(u);
      return after.used === 80 && (await l1.admin.getAccountUsage(home!)).members === 1 ? null : JSON.stringify({ ...state, after: after.used });
    });
  });

  it('setLimits racing a setAccount of the same user: the rules set are the rules in force', async () => {
    await race(async (l1, l2, delay, n) => {
      const u = `s${n}`;
      await l1.admin.setLimits(u, [tokens(5000, 'old')]);
      await Promise.all([l1.admin.setAccount(u, 'A'), turns(delay).then(() => l2.admin.setLimits(u, [tokens(777, 'new')]))]);
      const state = { rules: await rulesOf(l1, u), other: await rulesOf(l2, u), home: (await l1.admin.getUsage(u)).account?.accountId };
      return state.rules === 'new:777' && state.other === 'new:777' && state.home === 'A' ? null : JSON.stringify(state);
    });
  });

  it('assignPlan racing a setAccount of the same user: the plan is in force and counted once', async () => {
    await race(async (l1, l2, delay, n) => {
      const u = `p${n}`;
      await l1.admin.setPlan('pro', [tokens(4321, 'pro-monthly')]);
      await l1.admin.setLimits(u, null);
      await Promise.all([l1.admin.setAccount(u, 'A'), turns(delay).then(() => l2.admin.assignPlan(u, 'pro'))]);
      const usage = await l1.admin.getUsage(u);
      const plans = (await l1.admin.listPlans()).map((p) => `${p.planId}:${p.users}`).join();
      return usage.plan === 'pro' && usage.limit === 4321 && plans === 'pro:1' ? null : JSON.stringify({ plan: usage.plan, limit: usage.limit, plans });
    });
  });

  it('deleteUser racing a setAccount of the same user: nothing of the user survives, wherever the move got to', async () => {
    await race(async (l1, l2, delay, n) => {
      const u = `d${n}`;
      await l1.admin.setLimits(u, [tokens(5000, 'own')]);
      await l1.commit(await l1.reserve(u, { tokens: 70 }), { inputTokens: 70, outputTokens: 0 });
      await l1.flush();
      if (n % 2 === 1) await l1.admin.setAccount(u, 'C'); // half the trials move between accounts
      await Promise.all([l1.admin.setAccount(u, 'A'), turns(delay).then(() => l2.admin.deleteUser(u))]);
      const usage = await l1.admin.getUsage(u);
      const home = usage.account?.accountId ?? null;
      const state = { home, inA: (await membersOf(l1, 'A')).includes(u), inC: (await membersOf(l1, 'C')).includes(u), rules: await rulesOf(l1, u), used: usage.used };
      // Deleted after the move (gone), or before it (a fresh member of A, default rules, nothing used).
      const gone = home === null && !state.inA && state.rules === 'main:1000000';
      const fresh = home === 'A' && state.inA && state.rules === 'main:1000000';
      return (gone || fresh) && !state.inC && state.used === 0 ? null : JSON.stringify(state);
    });
  });

  it('resetUsage racing a setAccount of the same user: the reset is not lost', async () => {
    await race(async (l1, l2, delay, n) => {
      const u = `r${n}`;
      await l1.admin.setLimits(u, [tokens(5000, 'own')]);
      await l1.commit(await l1.reserve(u, { tokens: 70 }), { inputTokens: 70, outputTokens: 0 });
      await l1.flush();
      await Promise.all([l1.admin.setAccount(u, 'A'), turns(delay).then(() => l2.admin.resetUsage(u))]);
      const usage = await l1.admin.getUsage(u);
      return usage.used === 0 && usage.account?.accountId === 'A' ? null : JSON.stringify({ used: usage.used, home: usage.account?.accountId });
    });
  });

  it('a move that stopped after its first step is finished by setAccount to another account, keeping the rules and usage', async () => {
    const prefix = uniquePrefix('move-crash');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [tokens(1_000_000, 'main')] });
    await limiter.admin.setLimits('u', [tokens(5000, 'own')]);
    await limiter.commit(await limiter.reserve('u', { tokens: 70 }), { inputTokens: 70, outputTokens: 0 });
    await limiter.flush();
    // What a process that died after move-out (to X) leaves behind.
    const k = userKeys(prefix, 'u');
    await client.eval(SCRIPTS.moveOut.source, 3, k.config, k.windows, k.snapshot, 'X', 'u', '86400000');
    await limiter.admin.setAccount('u', 'B');
    const usage = await limiter.admin.getUsage('u');
    expect({ home: usage.account?.accountId, rules: await rulesOf(limiter, 'u'), used: usage.used, inB: await membersOf(limiter, 'B'), inX: await membersOf(limiter, 'X') }).toEqual({
      home: 'B',
      rules: 'own:5000',
      used: 70,
      inB: ['u'],
      inX: [],
    });
  });

  it('a release sent while its user is between the steps of a move waits for them to arrive, then drops the hold there', async () => {
    const prefix = uniquePrefix('move-release');
    const options = { defaultLimits: [tokens(1000, 'main')] };
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), ...options });
    const admin = createTokenLimiter({ store: new RedisStore({ client: client2, prefix }), ...options });
    await limiter.admin.setAccountLimits('X', [tokens(1000, 'team')]);
    await limiter.admin.setAccount('u', 'A');
    const inFlight = await limiter.reserve('u', { tokens: 600 });
    // The first step of a move from A to X (what setAccount's first script does); the user has
    // not arrived at X, and this limiter knows nothing of it.
    const a = userKeys(prefix, 'u', 'A');
    await client.eval(SCRIPTS.moveOut.source, 4, a.config, a.windows, a.snapshot, accountKeys(prefix, 'A').members, 'X', 'u', '86400000');
    const released = limiter.release(inFlight);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await admin.admin.setAccount('u', 'X'); // finishes the move, carrying the hold
    await released;
    expect(await admin.admin.getUsage('u')).toMatchObject({ reserved: 0, account: { accountId: 'X' } });
    expect((await admin.admin.getAccountUsage('X')).windows[0]).toMatchObject({ reserved: 0 });
    await expect(admin.reserve('u', { tokens: 1000 })).resolves.toMatchObject({ account: 'X' });
    await Promise.all([limiter.close(), admin.close()]);
  });

  it('a move between accounts that stopped before the pointer followed: the next move starts where the user lives', async () => {
    const prefix = uniquePrefix('move-crash');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [tokens(1_000_000, 'main')] });
    await limiter.admin.setLimits('u', [tokens(5000, 'own')]);
    await limiter.admin.setAccount('u', 'A');
    // What a process that died after move-in (from A to X), before setting the pointer, leaves.
    const a = userKeys(prefix, 'u', 'A');
    const x = userKeys(prefix, 'u', 'X');
    const snapshot = (await client.eval(SCRIPTS.moveOut.source, 4, a.config, a.windows, a.snapshot, accountKeys(prefix, 'A').members, 'X', 'u', '86400000')) as string[];
    await client.eval(SCRIPTS.moveIn.source, 4, x.config, x.windows, x.snapshot, accountKeys(prefix, 'X').members, 'u', '86400000', ...snapshot);
    await limiter.commit(await limiter.reserve('u', { tokens: 70 }), { inputTokens: 70, outputTokens: 0 }); // charged at X
    await limiter.flush();
    await limiter.admin.setAccount('u', null);
    const usage = await limiter.admin.getUsage('u');
    expect({ home: usage.account, rules: await rulesOf(limiter, 'u'), used: usage.used, inA: await membersOf(limiter, 'A'), inX: await membersOf(limiter, 'X') }).toEqual({
      home: null,
      rules: 'own:5000',
      used: 70,
      inA: [],
      inX: [],
    });
  });

  it('setAccount waits for the move lock a dead process left until it expires', async () => {
    const prefix = uniquePrefix('move-lock');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [tokens(1_000_000, 'main')] });
    await client.set(`${prefix}:{${userTag('u')}}:ml`, 'dead', 'PX', 300);
    const started = Date.now();
    await limiter.admin.setAccount('u', 'A');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await limiter.admin.getUsage('u')).account?.accountId).toBe('A');
    expect(await client.exists(`${prefix}:{${userTag('u')}}:ml`)).toBe(0);
  });
});
