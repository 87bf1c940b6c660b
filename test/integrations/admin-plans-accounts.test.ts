import type { Request as ExpressRequest } from 'express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LimitRule, TokenLimiter } from '../../src/index.js';
import { createAdminRouter } from '../../src/integrations/express/index.js';
import { createAdminHandler, encodeUserIdSegment, toNodeListener, type AdminPrincipal } from '../../src/integrations/http/index.js';
import { createApiClient, TokenLimitsApiError, type ApiClient } from '../../src/react/api.js';
import { ODD_IDS } from '../contract/plans-accounts.js';
import { closeRedis, listen, makeLimiter, monthly, type Running, type StoreKind } from './helpers.js';

afterAll(closeRedis);

const ADMIN = { authorization: 'Bearer admin' };

function principalOf(authorization: string | null | undefined): AdminPrincipal | null {
  if (authorization === 'Bearer admin') return { role: 'admin' };
  const user = /^Bearer user-(.+)$/.exec(authorization ?? '')?.[1];
  return user ? { role: 'user', userId: decodeURIComponent(user) } : null;
}

/** Ids a plan or an account may have: the contract suite's set, plus what URL parsers eat. */
const HARD_IDS = [...ODD_IDS, '.', '%2e', '?', '#', '%', 'x?y=1#z', '__proto__', 'é/'.repeat(512)];

const tokens = (n: number, id = 'monthly', period: LimitRule['period'] = 'month') => ({ id, tokens: n, period });

const servers = [
  {
    name: 'createAdminHandler on node:http',
    start: (limiter: TokenLimiter) =>
      listen(toNodeListener(createAdminHandler({ limiter, basePath: '/admin/api', authorize: (r) => principalOf(r.headers.get('authorization')) }))),
  },
  {
    name: 'createAdminRouter on Express 5',
    start: (limiter: TokenLimiter) => {
      const app = express();
      app.use('/admin/api', createAdminRouter({ limiter, authorize: (req: ExpressRequest) => principalOf(req.headers.authorization) }));
      return listen(app as never);
    },
  },
];

describe.each<StoreKind>(['memory', 'redis'])('plans and accounts over the admin HTTP API (%s)', (kind) => {
  describe.each(servers)('$name', (server) => {
    let limiter: TokenLimiter;
    let app: Running;
    let base: string;
    let client: ApiClient;
    const call = async (method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}) => {
      const headers: Record<string, string> = { ...ADMIN, ...options.headers };
      let body: string | undefined;
      if (options.raw !== undefined) body = options.raw;
      else if (options.body !== undefined) body = JSON.stringify(options.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      return { status: res.status, text, json: text === '' ? undefined : (JSON.parse(text) as Record<string, any>) };
    };
    const spend = async (user: string, n: number) => limiter.commit(await limiter.reserve(user, { tokens: n }), { inputTokens: n, outputTokens: 0 });

    beforeAll(async () => {
      limiter = await makeLimiter(kind, { defaultLimits: monthly(1000) });
      app = await server.start(limiter);
      base = `${app.url}/admin/api`;
      client = createApiClient({ baseUrl: base, fetcher: (url, init) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...ADMIN } }) });
    });
    afterAll(async () => {
      await app.close();
      await limiter.close();
    });

    it('plans: set, list, read, assign to a user, refuse deleting one in use (409), delete', async () => {
      const pro = [tokens(5000), { id: 'premium', tokens: 500, period: 'month', models: ['gpt-4o*', 'claude-*-opus*'] }];
      const put = await call('PUT', '/plans/pro', { body: { rules: pro } });
      expect(put.status).toBe(200);
      expect(put.json).toEqual({ planId: 'pro', version: expect.any(Number), rules: pro });
      expect(await limiter.admin.getPlan('pro')).toMatchObject({ planId: 'pro', rules: pro });
      expect((await call('GET', '/plans/pro')).json).toEqual(put.json);
      const missing = await call('GET', '/plans/nope');
      expect(missing.status).toBe(404);
      expect(missing.json).toEqual({ error: 'No plan has this id', code: 'plan_not_found', planId: 'nope' });

      const assigned = await call('PUT', '/users/p-user/plan', { body: { planId: 'pro' } });
      expect(assigned.status).toBe(200);
      expect(assigned.json).toMatchObject({ userId: 'p-user', plan: 'pro', limit: 5000, account: null });
      expect(assigned.json!.windows.map((w: { ruleId: string }) => w.ruleId)).toEqual(['monthly', 'premium']);
      expect((await call('GET', '/plans')).json!.plans.find((p: { planId: string }) => p.planId === 'pro')).toMatchObject({ users: 1, accounts: 0 });

      const inUse = await call('DELETE', '/plans/pro');
      expect(inUse.status).toBe(409);
      expect(inUse.json).toEqual({
        error: 'The plan is in use (users: 1; teams: 0): assign them another plan first',
        code: 'plan_in_use',
        planId: 'pro',
        users: 1,
        accounts: 0,
      });
      expect(await limiter.admin.getPlan('pro')).not.toBeNull();

      // A new version keeps the usage of rules whose id and period stay.
      await spend('p-user', 300);
      const edited = await call('PUT', '/plans/pro', { body: { rules: [tokens(6000)] } });
      expect(edited.json!.version).toBeGreaterThan(put.json!.version as number);
      expect((await call('GET', '/users/p-user/usage')).json).toMatchObject({ plan: 'pro', limit: 6000, used: 300 });

      expect((await call('PUT', '/users/p-user/plan', { body: { planId: null } })).json).toMatchObject({ plan: null, limit: 1000, used: 300 });
      const gone = await call('DELETE', '/plans/pro');
      expect([gone.status, gone.text]).toEqual([204, '']);
      expect(await limiter.admin.getPlan('pro')).toBeNull();
      expect((await call('GET', '/plans/pro')).status).toBe(404);
    });

    it('accounts: limits, a plan, members paged with a cursor, the list of accounts, usage', async () => {
      await limiter.admin.setPlan('team', [tokens(9000, 'team-monthly')]);
      const set = await call('PUT', '/accounts/acme/limits', { body: { rules: [tokens(2000, 'team-monthly'), { id: 'team-daily', requests: 50, period: 'day' }] } });
      expect(set.status).toBe(200);
      expect(set.json).toEqual({ accountId: 'acme', plan: null, rules: [tokens(2000, 'team-monthly'), { id: 'team-daily', requests: 50, period: 'day' }] });
      const members = ['m1', 'm2', 'm3', 'm4', 'm5'];
      for (const m of members) {
        const res = await call('PUT', `/users/${m}/account`, { body: { accountId: 'acme' } });
        expect(res.status).toBe(200);
        expect(res.json!.account).toMatchObject({ accountId: 'acme', plan: null });
      }
      for (const [i, m] of members.entries()) await spend(m, 100 * (i + 1));

      const usage = await call('GET', '/accounts/acme/usage');
      expect(usage.json).toMatchObject({ accountId: 'acme', plan: null, members: 5 });
      expect(usage.json!.windows.map((w: { ruleId: string; used: number }) => [w.ruleId, w.used])).toEqual([
        ['team-monthly', 1500],
        ['team-daily', 5],
      ]);
      const direct = await limiter.admin.getAccountUsage('acme');
      expect(usage.json!.windows[0].resetAt).toBe(direct.windows[0]!.resetAt.toISOString());

      const seen: Array<[string, number]> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await call('GET', `/accounts/acme/members?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        expect(res.status).toBe(200);
        expect(res.json!.accountId).toBe('acme');
        expect(res.json!.members.length).toBeLessThanOrEqual(2);
        for (const m of res.json!.members) {
          expect(m.account.accountId).toBe('acme');
          seen.push([m.userId, m.used]);
        }
        cursor = res.json!.nextCursor as string | null;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(seen).toEqual(members.map((m, i) => [m, 100 * (i + 1)]));
      expect(pages).toBe(3);

      // The member's own usage carries the account's windows: they bind too.
      const me = await call('GET', '/me/usage', { headers: { authorization: 'Bearer user-m5' } });
      expect(me.json).toMatchObject({ userId: 'm5', used: 500, limit: 1000, account: { accountId: 'acme', plan: null } });
      expect(me.json!.account.windows[0]).toMatchObject({ ruleId: 'team-monthly', limit: 2000, used: 1500, remaining: 500 });

      // The account's plan applies once its own rules are removed.
      const withPlan = await call('PUT', '/accounts/acme/plan', { body: { planId: 'team' } });
      expect(withPlan.json).toMatchObject({ accountId: 'acme', plan: null, members: 5 });
      const cleared = await call('DELETE', '/accounts/acme/limits');
      expect(cleared.json).toEqual({ accountId: 'acme', plan: 'team', rules: [tokens(9000, 'team-monthly')] });
      expect((await call('GET', '/accounts/acme/limits')).json).toEqual(cleared.json);
      expect((await call('GET', '/accounts/acme/usage')).json!.windows[0]).toMatchObject({ limit: 9000, used: 1500 });
      expect((await call('PUT', '/accounts/acme/plan', { body: { planId: null } })).json).toMatchObject({ plan: null, windows: [] });
      expect((await call('PUT', '/accounts/acme/limits', { body: { rules: null } })).json).toEqual({ accountId: 'acme', plan: null, rules: [] });

      await call('PUT', '/accounts/beta/limits', { body: { rules: [tokens(10)] } });
      const listed: string[] = [];
      let next: string | null = null;
      do {
        const res = await call('GET', `/accounts?limit=1${next === null ? '' : `&cursor=${encodeURIComponent(next)}`}`);
        listed.push(...res.json!.accounts.map((a: { accountId: string; members: number }) => `${a.accountId}:${a.members}`));
        next = res.json!.nextCursor as string | null;
      } while (next !== null && listed.length < 10);
      expect(listed).toEqual(expect.arrayContaining(['acme:5', 'beta:0']));

      // Leaving: the user is on their own again, the account counts one member less.
      expect((await call('PUT', '/users/m5/account', { body: { accountId: null } })).json).toMatchObject({ account: null, used: 500 });
      expect((await call('GET', '/accounts/acme/usage')).json!.members).toBe(4);
    });

    it('only admins: a signed-in user gets 403 on every plan and account route, and nothing changes', async () => {
      await limiter.admin.setPlan('guarded', [tokens(10)]);
      const headers = { authorization: 'Bearer user-mallory' };
      for (const [method, path, body] of [
        ['GET', '/plans', undefined],
        ['GET', '/plans/guarded', undefined],
        ['PUT', '/plans/guarded', { rules: [tokens(1)] }],
        ['DELETE', '/plans/guarded', undefined],
        ['PUT', '/users/mallory/plan', { planId: 'guarded' }],
        ['PUT', '/users/mallory/account', { accountId: 'acme' }],
        ['GET', '/accounts', undefined],
        ['GET', '/accounts/acme/usage', undefined],
        ['GET', '/accounts/acme/limits', undefined],
        ['PUT', '/accounts/acme/limits', { rules: null }],
        ['DELETE', '/accounts/acme/limits', undefined],
        ['PUT', '/accounts/acme/plan', { planId: 'guarded' }],
        ['GET', '/accounts/acme/members', undefined],
      ] as const) {
        const res = await call(method, path, { headers, ...(body === undefined ? {} : { body }) });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect((await call(method, path, { headers: { authorization: '' }, ...(body === undefined ? {} : { body }) })).status, `${method} ${path}`).toBe(401);
      }
      expect(await limiter.admin.getPlan('guarded')).toMatchObject({ rules: [tokens(10)] });
      expect(await limiter.admin.getUsage('mallory')).toMatchObject({ plan: null, account: null });
    });

    it('bad input: 400 naming the field, 405 with Allow, and nothing written', async () => {
      await limiter.admin.setPlan('ok-plan', [tokens(10)]);
      const cases: Array<[string, string, { body?: unknown; raw?: string }, string]> = [
        ['PUT', '/plans/x', { body: { rules: [{ id: 'm', tokens: -1, period: 'month' }] } }, 'rules[0].tokens'],
        ['PUT', '/plans/x', { body: { rules: [{ id: 'm', tokens: 5, period: 'month', models: 'gpt-4o' }] } }, 'rules[0].models'],
        ['PUT', '/plans/x', { body: { rules: null } }, 'rules'],
        ['PUT', '/plans/x', { body: {} }, 'rules'],
        ['PUT', '/plans/x', {}, 'body'],
        ['PUT', '/plans/x', { body: { rules: [tokens(1)], extra: 1 } }, 'extra'],
        ['PUT', '/users/v/plan', { body: {} }, 'planId'],
        ['PUT', '/users/v/plan', { body: { planId: 5 } }, 'planId'],
        ['PUT', '/users/v/plan', { body: { planId: 'no-such-plan' } }, 'planId'],
        ['PUT', '/users/v/account', { body: { accountId: 7 } }, 'accountId'],
        ['PUT', '/users/v/account', { body: { accountId: '' } }, 'accountId'],
        ['PUT', '/users/v/account', { body: { account: 'acme' } }, 'account'],
        ['PUT', '/accounts/acct-v/limits', { body: { rules: 'lots' } }, 'rules'],
        ['PUT', '/accounts/acct-v/limits', { body: { rules: [{ id: 'a', tokens: 1, period: 'day' }, { id: 'a', tokens: 2, period: 'day' }] } }, 'rules[1].id'],
        ['PUT', '/accounts/acct-v/plan', { body: { planId: 'no-such-plan' } }, 'planId'],
        ['GET', '/accounts?limit=0', {}, 'limit'],
        ['GET', '/accounts?page=2', {}, 'page'],
        ['GET', '/accounts/acct-v/members?limit=1001', {}, 'limit'],
        ['GET', '/accounts/acct-v/usage?x=1', {}, 'x'],
        ['GET', '/plans?x=1', {}, 'x'],
        ['GET', '/plans/%E0%A4%A', {}, 'planId'],
        ['GET', '/accounts/%E0%A4%A/usage', {}, 'accountId'],
      ];
      for (const [method, path, options, field] of cases) {
        const res = await call(method, path, options);
        expect(res.status, `${method} ${path} ${JSON.stringify(options)}`).toBe(400);
        expect(res.json, `${method} ${path} ${JSON.stringify(options)}`).toMatchObject({ code: 'invalid_argument', field, error: `Invalid value for "${field}"` });
      }
      const bad = await call('PUT', '/plans/x', { raw: 'rules=1', headers: { 'content-type': 'text/plain' } });
      expect(bad.status).toBe(415);
      const wrong = await call('POST', '/plans/x');
      expect(wrong.status).toBe(405);
      expect((await fetch(`${base}/accounts/acme/limits`, { method: 'PATCH', headers: ADMIN })).headers.get('allow')).toBe('GET, HEAD, PUT, DELETE');
      expect(await limiter.admin.getPlan('x')).toBeNull();
      expect(await limiter.admin.getUsage('v')).toMatchObject({ plan: null, account: null });
      expect(await limiter.admin.getAccountUsage('acct-v')).toMatchObject({ plan: null, windows: [], members: 0 });
    });

    it('adversarial plan and account ids (braces, unicode, dots, 1 KB) behave like user ids, through the React client', async () => {
      await limiter.admin.setPlan('bystander-plan', [tokens(77)]);
      await limiter.admin.setAccountLimits('bystander-account', [tokens(88, 'team')]);
      await limiter.admin.setAccount('bystander', 'bystander-account');
      for (const id of HARD_IDS) {
        const rules = [tokens(321, 'r')];
        expect(await client.setPlan(id, rules), id).toMatchObject({ planId: id, rules });
        expect(await client.plan(id), id).toMatchObject({ planId: id, rules });
        expect((await call('GET', `/plans/${encodeUserIdSegment(id)}`)).json, id).toMatchObject({ planId: id });
        expect((await client.assignPlan(id, id)).plan, id).toBe(id);
        expect(await limiter.admin.getUsage(id), id).toMatchObject({ plan: id, limit: 321 });

        expect(await client.setAccountLimits(id, [tokens(600, 'team')]), id).toEqual({ accountId: id, plan: null, rules: [tokens(600, 'team')] });
        const joined = await client.setAccount(id, id);
        expect(joined.account, id).toMatchObject({ accountId: id });
        await spend(id, 20);
        expect(await client.accountUsage(id), id).toMatchObject({ accountId: id, members: 1, windows: [{ ruleId: 'team', used: 20 }] });
        expect((await client.accountMembers(id, { limit: 5 })).members.map((m) => [m.userId, m.used]), id).toEqual([[id, 20]]);
        expect(await client.accountLimits(id), id).toMatchObject({ accountId: id, rules: [tokens(600, 'team')] });
        expect((await client.assignAccountPlan(id, id)).accountId, id).toBe(id);

        const inUse = await client.deletePlan(id).catch((e: unknown) => e);
        expect(inUse, id).toBeInstanceOf(TokenLimitsApiError);
        expect(inUse, id).toMatchObject({ status: 409, code: 'plan_in_use' });
        await client.assignAccountPlan(id, null);
        await client.assignPlan(id, null);
        await client.setAccount(id, null);
        expect(await client.deletePlan(id), id).toBeUndefined();
        expect(await limiter.admin.getPlan(id), id).toBeNull();
      }
      // Nobody else was touched on the way.
      expect(await limiter.admin.getPlan('bystander-plan')).toMatchObject({ rules: [tokens(77)] });
      expect(await limiter.admin.getAccountUsage('bystander-account')).toMatchObject({ members: 1, windows: [{ limit: 88, used: 0 }] });
      expect((await limiter.admin.getUsage('bystander')).account).toMatchObject({ accountId: 'bystander-account' });
    });
  });
});

describe('plan errors in pt-BR', () => {
  it('404 and 409 bodies in the handler locale', async () => {
    const limiter = await makeLimiter('memory', { defaultLimits: monthly(1000) });
    const handler = createAdminHandler({ limiter, locale: 'pt-BR', authorize: () => ({ role: 'admin' }) });
    expect(await (await handler(new Request('http://x/plans/nada'))).json()).toEqual({ error: 'Nenhum plano tem este id', code: 'plan_not_found', planId: 'nada' });
    await limiter.admin.setPlan('pro', [tokens(10)]);
    await limiter.admin.assignAccountPlan('acme', 'pro');
    const res = await handler(new Request('http://x/plans/pro', { method: 'DELETE' }));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: 'O plano está em uso (usuários: 0; equipes: 1): atribua outro plano a eles antes', accounts: 1 });
  });
});
