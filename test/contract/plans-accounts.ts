import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  createTokenLimiter,
  type AlertEvent,
  InvalidArgumentError,
  PlanInUseError,
  QuotaStoreError,
  TokenLimitExceededError,
  type LimitRule,
  type Reservation,
  type TokenLimiter,
  type TokenLimiterOptions,
} from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';
import type { StoreFactory } from './contract.js';

const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const tokens = (n: number, id = 'main', period: LimitRule['period'] = 'month'): LimitRule => ({ id, tokens: n, period });

/** Ids a plan or an account may have: the same adversarial set user ids are tested with. */
export const ODD_IDS = ['{a}', '}x', '{hot}1', 'a:b', '$.', '..', 'a/b?c#d', ' lead', '🦄 équipe', '\n', 'x'.repeat(1024)];

/** Plans, accounts and per-model rules: the same contract for every store. */
export function describePlansAndAccounts(factory: StoreFactory): void {
  async function setup(options: Omit<TokenLimiterOptions, 'store'> = {}) {
    const store = await factory.create();
    const clock = manualClock(T0);
    const limiter = createTokenLimiter({ store, clock: clock.now, ...options });
    /** Another process on the same store (its own caches and plan copy). */
    const other = (more: Omit<TokenLimiterOptions, 'store'> = {}) => createTokenLimiter({ store, clock: clock.now, ...options, ...more });
    return { store, clock, limiter, other };
  }
  const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as TokenLimitExceededError);
  const spend = async (limiter: TokenLimiter, userId: string, n: number) => limiter.commit(await limiter.reserve(userId, { tokens: n }), { inputTokens: n, outputTokens: 0 });

  describe(`${factory.name}: plans`, () => {
    it("applies a user's own rules over their plan, the plan over the default plan, the default plan over defaultLimits", async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)], defaultPlan: 'free' });
      // No plan called 'free' yet: the default rules apply.
      expect(await limiter.admin.getLimits('u')).toEqual([tokens(1000)]);
      await limiter.admin.setPlan('free', [tokens(500)]);
      expect(await limiter.admin.getLimits('u')).toEqual([tokens(500)]);
      expect(await refusal(limiter.reserve('u', { tokens: 501 }))).toBeInstanceOf(TokenLimitExceededError);

      await limiter.admin.setPlan('pro', [tokens(5000)]);
      await limiter.admin.assignPlan('u', 'pro');
      expect(await limiter.admin.getUsage('u')).toMatchObject({ plan: 'pro', limit: 5000 });
      await spend(limiter, 'u', 2000);

      await limiter.admin.setLimits('u', [tokens(2100)]);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ plan: null, limit: 2100, used: 2000 });
      expect(await refusal(limiter.reserve('u', { tokens: 101 }))).toMatchObject({ ruleId: 'main', limit: 2100, scope: 'user' });

      await limiter.admin.setLimits('u', null);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ plan: 'pro', limit: 5000, used: 2000 });
      await limiter.admin.assignPlan('u', null);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ plan: 'free', limit: 500, used: 2000, remaining: 0 });
      expect(await refusal(limiter.reserve('u', { tokens: 1 }))).toBeInstanceOf(TokenLimitExceededError);
    });

    it('refuses a plan that does not exist, and deleting a plan in use, changing nothing', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      await expect(limiter.admin.assignPlan('u', 'nope')).rejects.toMatchObject({ code: 'invalid_argument', parameter: 'planId' });
      expect(await limiter.admin.getUsage('u')).toMatchObject({ plan: null, limit: 1000 });
      await limiter.admin.setPlan('pro', [tokens(5000)]);
      await limiter.admin.assignPlan('u', 'pro');
      await limiter.admin.setPlan('team', [tokens(9000)]);
      await limiter.admin.assignAccountPlan('acme', 'team');
      const inUse = await limiter.admin.deletePlan('pro').catch((e: unknown) => e);
      expect(inUse).toBeInstanceOf(PlanInUseError);
      expect(inUse).toMatchObject({ code: 'plan_in_use', status: 409, planId: 'pro' });
      await expect(limiter.admin.deletePlan('team')).rejects.toBeInstanceOf(PlanInUseError);
      expect((await limiter.admin.listPlans()).map((p) => [p.planId, p.users, p.accounts])).toEqual([
        ['pro', 1, 0],
        ['team', 0, 1],
      ]);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ plan: 'pro', limit: 5000 });
      await limiter.admin.assignPlan('u', null);
      await limiter.admin.assignAccountPlan('acme', null);
      await limiter.admin.deletePlan('pro');
      await limiter.admin.deletePlan('team');
      expect(await limiter.admin.getPlan('pro')).toBeNull();
      expect(await limiter.admin.listPlans()).toEqual([]);
      await expect(limiter.admin.setPlan('bad', [{ id: 'x', tokens: -1, period: 'day' } as LimitRule])).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await limiter.admin.getPlan('bad')).toBeNull();
    });

    it('assigning the plan a user or account already has keeps it counted once: deletePlan stays refused', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1_000_000)] });
      await limiter.admin.setPlan('pro', [tokens(500)]);
      await limiter.admin.setPlan('team', [tokens(900, 'shared')]);
      for (let i = 0; i < 3; i++) {
        await limiter.admin.assignPlan('u', 'pro'); // an admin UI saving twice
        await limiter.admin.assignAccountPlan('acme', 'team');
      }
      const uses = async () => (await limiter.admin.listPlans()).map((p) => [p.planId, p.users, p.accounts]);
      expect(await uses()).toEqual([
        ['pro', 1, 0],
        ['team', 0, 1],
      ]);
      await expect(limiter.admin.deletePlan('pro')).rejects.toBeInstanceOf(PlanInUseError);
      await expect(limiter.admin.deletePlan('team')).rejects.toBeInstanceOf(PlanInUseError);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ plan: 'pro', limit: 500 });
      expect(await refusal(limiter.reserve('u', { tokens: 501 }))).toMatchObject({ ruleId: 'main', limit: 500 });
      await limiter.admin.assignPlan('u', null);
      await limiter.admin.assignAccountPlan('acme', null);
      expect(await uses()).toEqual([
        ['pro', 0, 0],
        ['team', 0, 0],
      ]);
      await limiter.admin.deletePlan('pro');
      await limiter.admin.deletePlan('team');
    });

    it('deleting a user (on their own or a member) frees their plan; deleting them again changes nothing', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1_000_000)] });
      await limiter.admin.setPlan('pro', [tokens(500)]);
      await limiter.admin.assignPlan('solo', 'pro');
      await limiter.admin.assignPlan('member', 'pro');
      await limiter.admin.setAccount('member', 'acme');
      await limiter.admin.assignPlan('stays', 'pro');
      const users = async () => (await limiter.admin.listPlans()).map((p) => [p.planId, p.users]);
      expect(await users()).toEqual([['pro', 3]]);
      await limiter.admin.deleteUser('solo');
      await limiter.admin.deleteUser('member');
      await limiter.admin.deleteUser('solo');
      await limiter.admin.deleteUser('member');
      expect(await users()).toEqual([['pro', 1]]);
      await expect(limiter.admin.deletePlan('pro')).rejects.toMatchObject({ code: 'plan_in_use', users: 1 });
      await limiter.admin.deleteUser('stays');
      await limiter.admin.deletePlan('pro');
      expect(await limiter.admin.listPlans()).toEqual([]);
    });

    it('the store refuses assigning a plan it does not hold, writing nothing', async () => {
      const { store, limiter } = await setup({ defaultLimits: [tokens(1000)] });
      await limiter.admin.setPlan('pro', [tokens(500)]);
      await limiter.admin.deletePlan('pro');
      // What a process whose copy still held the plan would send: refused by the store itself.
      await expect(store.admin.updateUser('u', { plan: 'pro' })).rejects.toMatchObject({ code: 'invalid_argument', parameter: 'planId' });
      await expect(store.admin.updateAccount('acme', { plan: 'pro' })).rejects.toMatchObject({ code: 'invalid_argument', parameter: 'planId' });
      expect(await store.admin.getConfig('u')).toMatchObject({ plan: null, exists: false });
      expect(await store.admin.getAccountConfig('acme')).toMatchObject({ plan: null, exists: false });
      expect(await limiter.admin.listPlans()).toEqual([]);
    });

    it('deletePlan racing assignPlan of that plan: never both succeed', async () => {
      const turns = async (n: number) => {
        for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      };
      const both: string[] = [];
      for (let trial = 0; trial < 200; trial++) {
        const { limiter, other } = await setup({ defaultLimits: [tokens(1000)] });
        const second = other();
        await limiter.admin.setPlan('pro', [tokens(500)]);
        await second.admin.listPlans();
        const delay = trial % 10;
        const [deleted, assigned] = await Promise.allSettled([turns(delay).then(() => limiter.admin.deletePlan('pro')), second.admin.assignPlan('u', 'pro')]);
        if (assigned.status === 'rejected') expect(assigned.reason).toMatchObject({ code: 'invalid_argument', parameter: 'planId' });
        if (deleted.status === 'rejected') expect(deleted.reason).toBeInstanceOf(PlanInUseError);
        const usage = await limiter.admin.getUsage('u');
        if (deleted.status === 'fulfilled' && assigned.status === 'fulfilled') both.push(`delay ${delay}: plan ${usage.plan}, limit ${usage.limit}`);
        // Either way the user's plan and the plan's count agree.
        const listed = (await limiter.admin.listPlans()).map((p) => [p.planId, p.users]);
        expect(listed).toEqual(assigned.status === 'fulfilled' && deleted.status === 'rejected' ? [['pro', 1]] : []);
        expect(usage.plan).toBe(assigned.status === 'fulfilled' && deleted.status === 'rejected' ? 'pro' : null);
      }
      expect(both).toEqual([]);
    });

    it('a plan edit reaches its users at once in this process and within planRefreshMs in another, keeping the usage of unchanged rules', async () => {
      const { limiter, other } = await setup({ defaultLimits: [tokens(1_000_000)], planRefreshMs: 50 });
      const second = other();
      await limiter.admin.setPlan('team', [tokens(1000, 'monthly'), tokens(300, 'daily', 'day')]);
      await limiter.admin.assignPlan('u', 'team');
      await spend(second, 'u', 200);
      const v1 = (await limiter.admin.getPlan('team'))!.version;

      // Same id and period for 'monthly' (its usage stays), 'daily' dropped, 'burst' new.
      const edited = await limiter.admin.setPlan('team', [tokens(400, 'monthly'), tokens(250, 'burst', 'hour')]);
      expect(edited.version).toBeGreaterThan(v1);
      expect((await limiter.admin.getUsage('u')).windows.map((w) => [w.rule.id, w.limit, w.used])).toEqual([
        ['monthly', 400, 200],
        ['burst', 250, 0],
      ]);
      expect(await refusal(limiter.reserve('u', { tokens: 201 }))).toMatchObject({ ruleId: 'monthly', limit: 400 });
      await sleep(80);
      expect(await refusal(second.reserve('u', { tokens: 201 }))).toMatchObject({ ruleId: 'monthly', limit: 400 });
      await spend(second, 'u', 200);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 400, remaining: 0 });
    });

    it('a plan deleted and created again under its id gets a new version, and every process applies its new rules', async () => {
      const { limiter, other } = await setup({ defaultLimits: [tokens(1_000_000)], planRefreshMs: 50 });
      const second = other();
      const first = await limiter.admin.setPlan('pro', [tokens(1000, 'monthly')]);
      await limiter.admin.assignPlan('u', 'pro');
      await spend(second, 'u', 10); // the second process holds the plan's first version
      await limiter.admin.assignPlan('u', null);
      await limiter.admin.deletePlan('pro');
      const again = await limiter.admin.setPlan('pro', [tokens(100, 'monthly')]);
      expect(again.version).toBeGreaterThan(first.version);
      expect((await limiter.admin.getPlan('pro'))?.version).toBe(again.version);
      await limiter.admin.assignPlan('u', 'pro');
      expect(await refusal(limiter.reserve('u', { tokens: 500 }))).toMatchObject({ ruleId: 'monthly', limit: 100 });
      await sleep(80);
      await second.check('u', { tokens: 1 }); // reads the plans again beside the call
      await sleep(40);
      expect(await refusal(second.reserve('u', { tokens: 500 }))).toMatchObject({ ruleId: 'monthly', limit: 100 });
      expect(await second.admin.getUsage('u')).toMatchObject({ plan: 'pro', limit: 100, used: 10 });
      // Deleted again, with a version above any it had.
      await limiter.admin.assignPlan('u', null);
      await limiter.admin.deletePlan('pro');
      expect((await limiter.admin.setPlan('pro', [tokens(50, 'monthly')])).version).toBeGreaterThan(again.version);
    });
  });

  describe(`${factory.name}: accounts`, () => {
    it("checks a member's calls against their own rules and the account's; each refusal names its scope", async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(600)] });
      await limiter.admin.setAccountLimits('acme', [tokens(1000, 'team')]);
      await limiter.admin.setAccount('a1', 'acme');
      await limiter.admin.setAccount('a2', 'acme');
      await spend(limiter, 'a1', 500);
      await spend(limiter, 'a2', 400);
      // a2 has 200 left of their own, the account 100.
      const byAccount = await refusal(limiter.reserve('a2', { tokens: 150 }));
      expect(byAccount).toBeInstanceOf(TokenLimitExceededError);
      expect(byAccount).toMatchObject({ scope: 'account', accountId: 'acme', ruleId: 'team', limit: 1000, used: 900, requested: 150 });
      const decision = await limiter.check('a2', { tokens: 150 });
      expect(decision).toMatchObject({ allowed: false, reason: 'limit_exceeded', scope: 'account', accountId: 'acme', ruleId: 'team', requested: 150 });
      // The account's windows come with the answer: they are the ones that bind here.
      expect(decision.account).toMatchObject({ accountId: 'acme', plan: null });
      expect(decision.account!.windows.map((w) => [w.rule.id, w.used, w.remaining])).toEqual([['team', 900, 100]]);
      expect(await limiter.check('a2', { tokens: 100 })).toMatchObject({ allowed: true, account: { accountId: 'acme' } });
      expect(await limiter.check('outsider-to-be', { tokens: 1 })).not.toHaveProperty('account');
      // a1 has 100 left of their own: the user's rule refuses first.
      expect(await refusal(limiter.reserve('a1', { tokens: 101 }))).toMatchObject({ scope: 'user', ruleId: 'main', accountId: undefined });
      // Not a member: only their own rules.
      await spend(limiter, 'outsider', 600);
      await spend(limiter, 'a1', 100);
      expect(await refusal(limiter.reserve('a2', { tokens: 1 }))).toMatchObject({ scope: 'account' });

      const account = await limiter.admin.getAccountUsage('acme');
      expect(account).toMatchObject({ accountId: 'acme', plan: null, members: 2 });
      expect(account.windows.map((w) => [w.rule.id, w.used, w.reserved, w.remaining])).toEqual([['team', 1000, 0, 0]]);
      const member = await limiter.admin.getUsage('a1');
      expect(member).toMatchObject({ used: 600, account: { accountId: 'acme' } });
      expect(member.account!.windows[0]).toMatchObject({ used: 1000 });
      expect((await limiter.admin.listAccountMembers('acme')).members.map((m) => [m.userId, m.used])).toEqual([
        ['a1', 600],
        ['a2', 400],
      ]);
      expect((await limiter.admin.listAccounts()).accounts.map((a) => [a.accountId, a.members])).toEqual([['acme', 2]]);
      expect((await limiter.admin.getUsage('outsider')).account).toBeNull();
    });

    it("takes an account's rules from its plan unless it has its own; an account without rules binds nothing", async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(10_000)] });
      await limiter.admin.setPlan('team', [tokens(300, 'shared')]);
      await limiter.admin.setAccount('m', 'acme');
      await spend(limiter, 'm', 500); // no account rules yet
      expect((await limiter.admin.getAccountUsage('acme')).windows).toEqual([]);
      await limiter.admin.assignAccountPlan('acme', 'team');
      expect(await limiter.admin.getAccountUsage('acme')).toMatchObject({ plan: 'team', windows: [{ limit: 300, used: 0 }] });
      await spend(limiter, 'm', 300);
      expect(await refusal(limiter.reserve('m', { tokens: 1 }))).toMatchObject({ scope: 'account', ruleId: 'shared' });
      // Its own rules win; the plan they replace is still assigned (and named again once they go).
      await limiter.admin.setAccountLimits('acme', [tokens(1000, 'shared')]);
      expect(await limiter.admin.getAccountUsage('acme')).toMatchObject({ plan: null, windows: [{ limit: 1000, used: 300 }] });
      await spend(limiter, 'm', 700);
      await limiter.admin.setAccountLimits('acme', null);
      expect(await limiter.admin.getAccountUsage('acme')).toMatchObject({ plan: 'team', windows: [{ limit: 300, used: 1000 }] });
    });

    it('admits exactly what fits on both scopes when 1,000 reservations from 50 members race', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(200)] });
      await limiter.admin.setAccountLimits('acme', [tokens(3000, 'team')]);
      const members = Array.from({ length: 50 }, (_, i) => `m${i}`);
      for (const m of members) await limiter.admin.setAccount(m, 'acme');
      const outcomes = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => limiter.reserve(members[i % 50]!, { tokens: 100 })));
      const admitted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
      expect(refused.every((e) => e instanceof TokenLimitExceededError)).toBe(true);
      // The account fits 30; no member more than 2 (their own 200).
      expect(admitted).toHaveLength(30);
      const perMember = new Map<string, number>();
      for (const r of admitted) perMember.set(r.userId, (perMember.get(r.userId) ?? 0) + 1);
      expect(Math.max(...perMember.values())).toBeLessThanOrEqual(2);
      expect((await limiter.admin.getAccountUsage('acme')).windows[0]).toMatchObject({ reserved: 3000, used: 0 });
      await Promise.all(admitted.map((r) => limiter.commit(r, { inputTokens: 100, outputTokens: 0 })));
      expect((await limiter.admin.getAccountUsage('acme')).windows[0]).toMatchObject({ reserved: 0, used: 3000 });
      const sum = (await limiter.admin.listAccountMembers('acme', { limit: 50 })).members.reduce((n, m) => n + m.used, 0);
      expect(sum).toBe(3000);
    });

    it('moving a member keeps their own usage; a call in flight is charged once, to the account it was reserved in', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(10_000)] });
      await limiter.admin.setAccountLimits('acme', [tokens(5000, 'team')]);
      await limiter.admin.setAccountLimits('globex', [tokens(5000, 'team')]);
      await limiter.admin.setAccount('u', 'acme');
      await spend(limiter, 'u', 100);
      const inFlight = await limiter.reserve('u', { tokens: 500 });
      expect(inFlight.account).toBe('acme');
      await limiter.admin.setAccount('u', 'globex');
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 100, account: { accountId: 'globex' } });
      expect((await limiter.admin.getAccountUsage('acme')).members).toBe(0);
      const next = await limiter.reserve('u', { tokens: 50 });
      expect(next.account).toBe('globex');
      await limiter.commit(inFlight, { inputTokens: 300, outputTokens: 20 });
      await limiter.commit(inFlight, { inputTokens: 300, outputTokens: 20 }); // a replay changes nothing
      await limiter.admin.setAccount('u', null);
      await limiter.commit(next, { inputTokens: 40, outputTokens: 0 });
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 460, reserved: 0, account: null });
      expect((await limiter.admin.getAccountUsage('acme')).windows[0]).toMatchObject({ used: 420, reserved: 0 });
      expect((await limiter.admin.getAccountUsage('globex')).windows[0]).toMatchObject({ used: 40, reserved: 0 });
      expect(await limiter.admin.getUsageLog({ userId: 'u' })).toHaveLength(3);
    });

    it('a call in flight released after its user moved holds nothing anywhere', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      await limiter.admin.setAccountLimits('acme', [tokens(1000, 'team')]);
      await limiter.admin.setAccountLimits('globex', [tokens(1000, 'team')]);
      await limiter.admin.setAccount('u', 'acme');
      const inFlight = await limiter.reserve('u', { tokens: 600 });
      await limiter.admin.setAccount('u', 'globex');
      await limiter.release(inFlight);
      await limiter.release(inFlight); // a replay changes nothing
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 0, reserved: 0 });
      for (const a of ['acme', 'globex']) expect((await limiter.admin.getAccountUsage(a)).windows[0], a).toMatchObject({ used: 0, reserved: 0 });
      // The whole limit is there again, for the user and for the account they left.
      await limiter.commit(await limiter.reserve('u', { tokens: 1000 }), { inputTokens: 1000, outputTokens: 0 });
      await limiter.admin.setAccount('v', 'acme');
      await expect(limiter.reserve('v', { tokens: 1000 })).resolves.toMatchObject({ account: 'acme' });
    });

    it.each([
      ['own', 'acme'],
      ['acme', 'globex'],
      ['acme', null],
    ] as const)('a call in flight released by a process that did not see its user move (%s -> %s) holds nothing anywhere', async (from, to) => {
      const { limiter, other } = await setup();
      const admin = other();
      for (const a of ['acme', 'globex']) await limiter.admin.setAccountLimits(a, [tokens(1000, 'team')]);
      await limiter.admin.setLimits('u', [tokens(1000, 'own')]);
      if (from !== 'own') await limiter.admin.setAccount('u', from);
      const inFlight = await limiter.reserve('u', { tokens: 600 });
      await admin.admin.setAccount('u', to); // this limiter does not learn of the move
      // Renewed where the hold went (it stays held there while the call runs).
      expect(await limiter.renew(inFlight)).toBe(true);
      await limiter.release(inFlight);
      expect(await admin.admin.getUsage('u')).toMatchObject({ used: 0, reserved: 0 });
      for (const a of ['acme', 'globex']) expect((await admin.admin.getAccountUsage(a)).windows[0], a).toMatchObject({ reserved: 0 });
      // The whole limit is there again at once, not when the hold's lease ends.
      await admin.commit(await admin.reserve('u', { tokens: 1000 }), { inputTokens: 1000, outputTokens: 0 });
      await limiter.release(inFlight); // a replay changes nothing
      expect(await admin.admin.getUsage('u')).toMatchObject({ used: 1000, reserved: 0 });
    });

    it.each([
      ['own', 'acme'],
      ['acme', 'globex'],
      ['acme', null],
    ] as const)("a call in flight still counts on the user's own rules after they move (%s -> %s): no second call past the limit", async (from, to) => {
      const { limiter } = await setup();
      for (const a of ['acme', 'globex']) await limiter.admin.setAccountLimits(a, [tokens(1_000_000, 'team')]);
      await limiter.admin.setLimits('u', [tokens(1000, 'own')]);
      if (from !== 'own') await limiter.admin.setAccount('u', from);
      const inFlight = await limiter.reserve('u', { tokens: 800 });
      await limiter.admin.setAccount('u', to);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 0, reserved: 800 });
      expect(await refusal(limiter.reserve('u', { tokens: 800 }))).toMatchObject({ scope: 'user', ruleId: 'own' });
      await limiter.commit(inFlight, { inputTokens: 700, outputTokens: 100 });
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 800, reserved: 0 });
      // Released or renewed after the move: the hold follows the user there too.
      const second = await limiter.reserve('u', { tokens: 150 });
      await limiter.admin.setAccount('u', from === 'own' ? null : from);
      expect(await limiter.renew(second)).toBe(true);
      await limiter.release(second);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 800, reserved: 0 });
      await limiter.commit(await limiter.reserve('u', { tokens: 200 }), { inputTokens: 200, outputTokens: 0 });
    });

    it.each([false, true])('a commit queued mid-forward lands once after its user moves back to where the call was reserved (last reply lost: %s)', async (loseLastReply) => {
      const store = await factory.create();
      // Forwarding the user's share to their new home fails until the user is back where the call
      // was reserved: the account's share is charged there at once, the user's share is queued.
      // With loseLastReply, the forwarded share is then charged there but its reply is lost once.
      let failForwards = true;
      let failed = 0;
      const hotPath = new Proxy(store.hotPath, {
        get(real, key) {
          const value = Reflect.get(real, key, real) as unknown;
          if (typeof value !== 'function') return value;
          if (key !== 'commit') return (value as (...a: unknown[]) => unknown).bind(real);
          return (command: { forwarded?: boolean }) => {
            if (command.forwarded === true && failForwards) {
              failed += 1;
              return Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6399'));
            }
            if (command.forwarded === true && loseLastReply) {
              return (value as (c: unknown) => Promise<{ type: string }>).call(real, command).then((reply) => {
                if (reply.type !== 'applied') return reply;
                loseLastReply = false;
                throw new Error('ECONNRESET');
              });
            }
            return (value as (c: unknown) => Promise<unknown>).call(real, command);
          };
        },
      });
      const limiter = createTokenLimiter({
        store: { kind: store.kind, hotPath, admin: store.admin, maintenance: store.maintenance },
        clock: manualClock(T0).now,
        defaultLimits: [tokens(10_000)],
        alertThresholds: [0.05],
      });
      const alerts: AlertEvent[] = [];
      limiter.on('alert', (alert) => alerts.push(alert));
      await limiter.admin.setAccountLimits('acme', [tokens(5000, 'team')]);
      await limiter.admin.setAccountLimits('globex', [tokens(5000, 'team')]);
      await limiter.admin.setAccount('u', 'acme');
      const inFlight = await limiter.reserve('u', { tokens: 500 });
      await limiter.admin.setAccount('u', 'globex');
      await limiter.commit(inFlight, { inputTokens: 300, outputTokens: 20 }).catch((e: unknown) => {
        if (!(e instanceof QuotaStoreError) || !/queued/.test(e.message)) throw e;
      });
      await limiter.admin.setAccount('u', 'acme');
      failForwards = false;
      // A retry that fails while flush() waits is queued again with its backoff: flush until it lands.
      for (let i = 0; i < 5 && limiter.pendingWrites > 0; i++) await limiter.flush().catch(() => {});
      await limiter.flush();
      // Only a store that keeps each home apart forwards (RedisStore); the others charge at once.
      expect(failed > 0).toBe(store.kind === 'redis');
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 320, reserved: 0 });
      expect((await limiter.admin.getAccountUsage('acme')).windows[0]).toMatchObject({ used: 320, reserved: 0 });
      expect((await limiter.admin.getAccountUsage('globex')).windows[0]).toMatchObject({ used: 0, reserved: 0 });
      expect(await limiter.admin.getUsageLog({ userId: 'u' })).toHaveLength(1);
      // 320 crosses 5% of the account's 5,000 (in the first try, at acme), not of the user's 10,000:
      // that alert is given once, when the commit completes.
      expect(alerts.map((a) => [a.scope, a.accountId, a.ruleId, a.threshold, a.used])).toEqual([['account', 'acme', 'team', 0.05, 320]]);
      await limiter.close();
    });

    it('moving members between accounts while they call loses and duplicates nothing', async () => {
      const { limiter, other } = await setup({ defaultLimits: [tokens(100_000_000)], usageLog: { userMaxLength: 10_000 } });
      const second = other();
      for (const a of ['A', 'B']) await limiter.admin.setAccountLimits(a, [tokens(100_000_000, 'team')]);
      const users = ['u0', 'u1', 'u2', 'u3'];
      const committed: Array<{ r: Reservation; n: number }> = [];
      let stop = false;
      let gaveUp = 0;
      const caller = async (l: TokenLimiter, userId: string, seed: number) => {
        for (let i = 0; !stop || i < 5; i++) {
          // A call may give up on a user moved many times a second (QuotaStoreError, nothing held).
          const r = await l.reserve(userId, { tokens: 50 }).catch((e: unknown) => {
            if (!(e instanceof QuotaStoreError)) throw e;
            gaveUp += 1;
            return null;
          });
          // Let the mover's timers run (MemoryStore answers without ever leaving the microtask queue).
          await new Promise((resolve) => setImmediate(resolve));
          if (!r) continue;
          const n = 1 + ((seed * 31 + i * 17) % 97);
          // A commit that meets the user mid-move too many times in a row is queued and retried
          // (its promise rejects saying so); flush() below waits for it to land.
          await l.commit(r, { inputTokens: n, outputTokens: 0 }).catch((e: unknown) => {
            if (!(e instanceof QuotaStoreError) || !/queued/.test(e.message)) throw e;
          });
          committed.push({ r, n });
        }
      };
      const homes = ['A', 'B', null] as const;
      const landed = (home: string | null) => committed.some((c) => c.r.account === home);
      const mover = async () => {
        for (let i = 0; i < 24; i++) {
          await limiter.admin.setAccount(users[i % users.length]!, homes[i % 3]!);
          await sleep(i % 4);
        }
        // On a busy machine the moves above can outrun the calls, so that no call lands in some
        // home: send a user there and give a call up to 5 s to land, so that the test always
        // covers all three homes (the last assertion).
        for (const home of homes) {
          if (landed(home)) continue;
          await limiter.admin.setAccount('u0', home);
          for (const until = Date.now() + 5000; !landed(home) && Date.now() < until; ) await sleep(5);
        }
        stop = true;
      };
      await Promise.all([mover(), ...users.map((u, i) => caller(i % 2 ? second : limiter, u, i))]);
      // A queued commit is retried with a backoff of up to 2 s, and one flush waits storeTimeoutMs:
      // on a busy machine give the queue a few flushes to drain (it must, or the sums below fail).
      for (const l of [limiter, second]) {
        for (let i = 0; i < 5 && l.pendingWrites > 0; i++) await l.flush().catch(() => {});
        await l.flush();
      }
      for (const u of users) {
        const mine = committed.filter((c) => c.r.userId === u);
        expect(await limiter.admin.getUsage(u), u).toMatchObject({ used: mine.reduce((s, c) => s + c.n, 0), reserved: 0 });
        // Calls go on until every home has seen one, so a user may make more than a thousand: the
        // store keeps the last userMaxLength (10,000) of their records, the most a read returns.
        expect(await limiter.admin.getUsageLog({ userId: u, limit: 10_000 }), u).toHaveLength(Math.min(10_000, mine.length));
      }
      for (const a of ['A', 'B']) {
        const charged = committed.filter((c) => c.r.account === a).reduce((s, c) => s + c.n, 0);
        expect((await limiter.admin.getAccountUsage(a)).windows[0], a).toMatchObject({ used: charged, reserved: 0 });
      }
      expect(gaveUp).toBeLessThan(committed.length / 10);
      expect(homes.filter((home) => !landed(home)), 'homes no committed call was reserved in').toEqual([]);
    });

    it('deleting a member removes them from the account; setAccount is idempotent', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      await limiter.admin.setAccount('a', 'acme');
      await limiter.admin.setAccount('a', 'acme');
      await limiter.admin.setAccount('b', 'acme');
      await spend(limiter, 'a', 10);
      expect((await limiter.admin.getAccountUsage('acme')).members).toBe(2);
      await limiter.admin.deleteUser('a');
      expect((await limiter.admin.listAccountMembers('acme')).members.map((m) => m.userId)).toEqual(['b']);
      expect(await limiter.admin.getUsage('a')).toMatchObject({ used: 0, account: null });
      await limiter.admin.setAccount('b', null);
      await limiter.admin.setAccount('b', null);
      expect((await limiter.admin.getAccountUsage('acme')).members).toBe(0);
    });

    it('pages members and accounts in id order', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      const ids = Array.from({ length: 7 }, (_, i) => `user-${i}`);
      for (const id of ids) await limiter.admin.setAccount(id, 'acme');
      for (const a of ['x3', 'x1', 'x2']) await limiter.admin.setAccountLimits(a, [tokens(5)]);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await limiter.admin.listAccountMembers('acme', { limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.members.map((m) => m.userId));
        cursor = page.cursor;
      } while (cursor);
      expect(seen).toEqual(ids);
      const first = await limiter.admin.listAccounts({ limit: 2 });
      const rest = await limiter.admin.listAccounts({ limit: 2, cursor: first.cursor! });
      expect([...first.accounts, ...rest.accounts].map((a) => a.accountId)).toEqual(['acme', 'x1', 'x2', 'x3']);
      expect(rest.cursor).toBeUndefined();
    });
  });

  describe(`${factory.name}: a rule removed and added again while calls hold on it`, () => {
    const daily = tokens(500, 'daily', 'day');
    const full = [tokens(1_000_000, 'monthly'), daily];
    const cases: Array<{ name: string; scope: 'user' | 'account'; remove: (l: TokenLimiter) => Promise<void>; add: (l: TokenLimiter) => Promise<void> }> = [
      { name: 'setLimits', scope: 'user', remove: (l) => l.admin.setLimits('u', [tokens(1_000_000, 'monthly')]), add: (l) => l.admin.setLimits('u', full) },
      { name: 'setLimits(userId, null)', scope: 'user', remove: (l) => l.admin.setLimits('u', null), add: (l) => l.admin.setLimits('u', full) },
      { name: 'setAccountLimits', scope: 'account', remove: (l) => l.admin.setAccountLimits('acme', [tokens(1_000_000, 'monthly')]), add: (l) => l.admin.setAccountLimits('acme', full) },
    ];
    for (const c of cases) {
      for (const settle of ['commit', 'release'] as const) {
        it(`${c.name}, the first call ${settle === 'commit' ? 'committed' : 'released'}: the calls held meanwhile still count, and the limit holds`, async () => {
          const { limiter } = await setup({ defaultLimits: [tokens(1_000_000, 'monthly')] });
          if (c.scope === 'account') await limiter.admin.setAccount('u', 'acme');
          await c.add(limiter);
          const read = async () => {
            const usage = c.scope === 'user' ? await limiter.admin.getUsage('u') : await limiter.admin.getAccountUsage('acme');
            return usage.windows.find((w) => w.rule.id === 'daily')!;
          };
          const a = await limiter.reserve('u', { tokens: 300 });
          await c.remove(limiter);
          await c.add(limiter);
          // The call in flight still holds its 300 on the rule, which is in force again.
          expect(await read()).toMatchObject({ used: 0, reserved: 300 });
          expect(await refusal(limiter.reserve('u', { tokens: 201 }))).toMatchObject({ ruleId: 'daily', scope: c.scope });
          const b = await limiter.reserve('u', { tokens: 150 });
          if (settle === 'commit') await limiter.commit(a, { inputTokens: 100, outputTokens: 0 });
          else await limiter.release(a);
          const used = settle === 'commit' ? 100 : 0;
          expect(await read()).toMatchObject({ used, reserved: 150 });
          expect(await refusal(limiter.reserve('u', { tokens: 500 - used - 150 + 1 }))).toMatchObject({ ruleId: 'daily', scope: c.scope });
          const last = await limiter.reserve('u', { tokens: 500 - used - 150 });
          await limiter.commit(b, { inputTokens: 150, outputTokens: 0 });
          await limiter.commit(last, { inputTokens: 500 - used - 150, outputTokens: 0 });
          expect(await read()).toMatchObject({ used: 500, reserved: 0, limit: 500 });
        });
      }
    }

    it('a removed rule keeps no usage, and nothing once no call holds on it', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1_000_000, 'monthly')] });
      await limiter.admin.setLimits('u', full);
      await spend(limiter, 'u', 200);
      const a = await limiter.reserve('u', { tokens: 100 });
      await limiter.admin.setLimits('u', [tokens(1_000_000, 'monthly')]);
      await limiter.release(a);
      await limiter.admin.setLimits('u', full);
      const daily = (await limiter.admin.getUsage('u')).windows.find((w) => w.rule.id === 'daily');
      expect(daily).toMatchObject({ used: 0, reserved: 0 });
      expect((await limiter.admin.getUsage('u')).windows.find((w) => w.rule.id === 'monthly')).toMatchObject({ used: 200, reserved: 0 });
    });
  });

  describe(`${factory.name}: per-model and per-provider rules`, () => {
    it('counts only the calls that match a rule; a call is checked against every rule it matches', async () => {
      const premium: LimitRule = { id: 'premium', tokens: 100, period: 'month', models: ['gpt-4o*', 'claude-*-opus*'] };
      const { limiter } = await setup({ defaultLimits: [tokens(1000, 'overall'), premium] });
      const call = async (model: string, n: number, provider: 'openai' | 'anthropic' = 'openai') =>
        limiter.commit(await limiter.reserve('u', { tokens: n, model, provider }), { inputTokens: n, outputTokens: 0, model, provider });
      await call('gpt-3.5-turbo', 300);
      await call('GPT-4o-mini', 60);
      await call('claude-3-opus-20240229', 40, 'anthropic');
      let usage = await limiter.admin.getUsage('u');
      expect(usage.windows.map((w) => [w.rule.id, w.used])).toEqual([
        ['overall', 400],
        ['premium', 100],
      ]);
      expect(await refusal(limiter.reserve('u', { tokens: 1, model: 'gpt-4o' }))).toMatchObject({ ruleId: 'premium' });
      expect(await limiter.check('u', { tokens: 1, model: 'claude-3-opus-latest' })).toMatchObject({ allowed: false, ruleId: 'premium' });
      // Other models still have the overall budget; a call naming no model matches no filtered rule.
      await call('claude-3-5-sonnet', 500, 'anthropic');
      await limiter.commit(await limiter.reserve('u', { tokens: 50 }), { inputTokens: 50, outputTokens: 0 });
      usage = await limiter.admin.getUsage('u');
      expect(usage.windows.map((w) => w.used)).toEqual([950, 100]);
      expect(await refusal(limiter.reserve('u', { tokens: 51, model: 'gpt-3.5-turbo' }))).toMatchObject({ ruleId: 'overall' });
    });

    it('filters by provider, in an account too', async () => {
      const anthropicOnly: LimitRule = { id: 'anthropic', tokens: 100, period: 'day', providers: ['anthropic'] };
      const { limiter } = await setup({ defaultLimits: [tokens(10_000)] });
      await limiter.admin.setAccountLimits('acme', [anthropicOnly]);
      await limiter.admin.setAccount('u', 'acme');
      const call = async (provider: 'openai' | 'anthropic', n: number) =>
        limiter.commit(await limiter.reserve('u', { tokens: n, provider, model: 'm' }), { inputTokens: n, outputTokens: 0, provider, model: 'm' });
      await call('openai', 500);
      await call('anthropic', 100);
      expect((await limiter.admin.getAccountUsage('acme')).windows[0]).toMatchObject({ used: 100 });
      expect(await refusal(limiter.reserve('u', { tokens: 1, provider: 'anthropic', model: 'm' }))).toMatchObject({ scope: 'account', ruleId: 'anthropic' });
      await call('openai', 500);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 1100 });
    });

    it('a call whose hold has no share in a filtered rule is charged there only if it matches', async () => {
      const premium: LimitRule = { id: 'premium', tokens: 100, period: 'month', models: ['gpt-4o*'] };
      const { limiter } = await setup({ defaultLimits: [tokens(1000, 'overall')] });
      const cheap = await limiter.reserve('u', { tokens: 10, model: 'gpt-3.5-turbo' });
      const dear = await limiter.reserve('u', { tokens: 10, model: 'gpt-4o' });
      // The rule appears while both calls are in flight: neither hold covers it.
      await limiter.admin.setLimits('u', [tokens(1000, 'overall'), premium]);
      await limiter.commit(cheap, { inputTokens: 10, outputTokens: 0, model: 'gpt-3.5-turbo' });
      await limiter.commit(dear, { inputTokens: 10, outputTokens: 0, model: 'gpt-4o' });
      expect((await limiter.admin.getUsage('u')).windows.map((w) => w.used)).toEqual([20, 10]);
    });

    it('refuses a malformed model filter with a typed error', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      for (const models of [[], [''], 'gpt-4o', [42], ['x'.repeat(2000)]]) {
        await expect(limiter.admin.setLimits('u', [{ ...tokens(5), models } as LimitRule])).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      await expect(limiter.admin.setLimits('u', [{ ...tokens(5), providers: ['acme'] } as unknown as LimitRule])).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await limiter.admin.getLimits('u')).toEqual([tokens(1000)]);
    });
  });

  describe(`${factory.name}: adversarial plan and account ids`, () => {
    it('round-trips odd plan and account ids exactly, and refuses invalid ones changing nothing', async () => {
      const { limiter } = await setup({ defaultLimits: [tokens(1000)] });
      for (const [i, id] of ODD_IDS.entries()) {
        await limiter.admin.setPlan(id, [tokens(100 + i)]);
        await limiter.admin.setAccountLimits(id, [tokens(200 + i, 'team')]);
        const user = `user-${i}`;
        await limiter.admin.assignPlan(user, id);
        await limiter.admin.setAccount(user, id);
        await spend(limiter, user, 50);
        expect(await limiter.admin.getUsage(user)).toMatchObject({ plan: id, limit: 100 + i, used: 50, account: { accountId: id } });
        expect(await limiter.admin.getAccountUsage(id)).toMatchObject({ accountId: id, members: 1, windows: [{ limit: 200 + i, used: 50 }] });
        expect((await limiter.admin.listAccountMembers(id)).members.map((m) => m.userId)).toEqual([user]);
        expect((await limiter.admin.getPlan(id))!.planId).toBe(id);
      }
      expect((await limiter.admin.listPlans()).map((p) => p.planId).sort()).toEqual([...ODD_IDS].sort());
      expect((await limiter.admin.listAccounts({ limit: 100 })).accounts.map((a) => a.accountId).sort()).toEqual([...ODD_IDS].sort());
      // Accounts whose ids share a brace-delimited part stay apart.
      expect((await limiter.admin.getAccountUsage('{a}x')).members).toBe(0);
      for (const bad of ['', 'x'.repeat(70_000), '\uD800', 42, { id: '' }]) {
        await expect(limiter.admin.setPlan(bad as string, [tokens(1)])).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(limiter.admin.setAccount('user-0', bad as string)).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(limiter.admin.setAccountLimits(bad as string, [tokens(1)])).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(limiter.admin.assignPlan('user-0', bad as string)).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      expect(await limiter.admin.getUsage('user-0')).toMatchObject({ account: { accountId: ODD_IDS[0] } });
      expect(await limiter.admin.listPlans()).toHaveLength(ODD_IDS.length);
    });
  });
}
