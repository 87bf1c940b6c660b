import { request as httpRequest } from 'node:http';
import type { Request as ExpressRequest } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, UserDisabledError, type TokenLimiter } from '../../src/index.js';
import { createAdminRouter } from '../../src/integrations/express/index.js';
import { createAdminHandler, encodeUserIdSegment, toNodeListener, type AdminPrincipal } from '../../src/integrations/http/index.js';
import { createApiClient } from '../../src/react/api.js';
import { flakyStore } from '../helpers/flaky-store.js';
import { expressVersions } from './express-app.js';
import { listen, monthly, type Running } from './helpers.js';

/** The app's own authentication: bearer tokens. */
function principalOf(authorization: string | null | undefined): AdminPrincipal | null {
  if (authorization === 'Bearer admin') return { role: 'admin' };
  if (authorization === 'Bearer admin-alice') return { role: 'admin', userId: 'alice' };
  const user = /^Bearer user-(.+)$/.exec(authorization ?? '')?.[1];
  return user ? { role: 'user', userId: decodeURIComponent(user) } : null;
}

interface Variant {
  name: string;
  /** Whether the app parses JSON itself before the admin API (express.json()). */
  parsesJson: boolean;
  start(limiter: TokenLimiter, extra?: { locale?: string; maxBodyBytes?: number; logger?: object }): Promise<Running>;
}

const variants: Variant[] = [
  {
    name: 'createAdminHandler on node:http (basePath /admin/api)',
    parsesJson: false,
    start: (limiter, extra = {}) =>
      listen(
        toNodeListener(
          createAdminHandler({ limiter, basePath: '/admin/api', authorize: (request) => principalOf(request.headers.get('authorization')), ...extra }),
        ),
      ),
  },
  ...expressVersions.flatMap(({ name, express }) =>
    [false, true].map(
      (parsesJson): Variant => ({
        name: `createAdminRouter on ${name}${parsesJson ? ' after express.json()' : ''}`,
        parsesJson,
        start: (limiter, extra = {}) => {
          const app = express();
          if (parsesJson) app.use(express.json());
          app.use(
            '/admin/api',
            createAdminRouter({ limiter, authorize: (req: ExpressRequest) => principalOf(req.headers.authorization), ...extra }),
          );
          app.get('/other', (_req, res) => {
            res.json({ other: true });
          });
          return listen(app as never);
        },
      }),
    ),
  ),
];

const ADMIN = { authorization: 'Bearer admin' };
const enc = encodeURIComponent;

/**
 * Ids a URL parser would eat or split: dot segments and their percent spellings, the escape itself,
 * reserved characters, lone `%`, unicode, and 1 KB ones.
 */
const HARD_IDS = [
  '.',
  '..',
  '...',
  '%2e',
  '%2E%2E',
  '.%2e',
  '$.',
  '$..',
  '$',
  './x',
  'a/../b',
  '/',
  '?',
  '#',
  'x?y=1#z',
  '%',
  '100%',
  '%zz',
  'ü/ser ✓',
  '用户',
  '😀',
  'x'.repeat(1024),
  'é/'.repeat(512),
];

/**
 * A request sent exactly as written (method and target untouched): Fetch would normalise the path
 * and refuses methods such as TRACE.
 */
function rawRequest(url: string, method: string, target: string, headers: Record<string, string> = ADMIN): Promise<{ status: number; headers: Record<string, unknown>; json: any }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path: target, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(variants)('$name', (variant) => {
  let limiter: TokenLimiter;
  let app: Running;
  let base: string;
  const call = async (method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...ADMIN, ...options.headers };
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined && method !== 'GET') {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    const json = res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as Record<string, any>) : undefined;
    return { status: res.status, headers: res.headers, text, json };
  };

  beforeAll(async () => {
    limiter = createTokenLimiter({ defaultLimits: monthly(1000) });
    app = await variant.start(limiter);
    base = `${app.url}/admin/api`;
  });
  afterAll(() => app.close());

  const spend = async (user: string, tokens: number, model = 'gpt-4o-mini') => {
    const r = await limiter.reserve(user, { tokens });
    await limiter.commit(r, { inputTokens: tokens, outputTokens: 0, model });
  };

  describe('who may call', () => {
    it('401 without credentials, 403 for a signed-in user on admin routes', async () => {
      const anon = await call('GET', '/stats', { headers: { authorization: '' } });
      expect(anon.status).toBe(401);
      expect(anon.json).toEqual({ error: 'Sign-in required', code: 'unauthenticated' });
      const user = await call('GET', '/stats', { headers: { authorization: 'Bearer user-alice' } });
      expect(user.status).toBe(403);
      expect(user.json).toEqual({ error: 'You are not allowed to do this', code: 'forbidden' });
      for (const [method, path] of [
        ['GET', '/users'],
        ['GET', '/users/bob/usage'],
        ['PUT', '/users/alice/limits'],
        ['POST', '/users/alice/reset'],
        ['POST', '/users/alice/enable'],
        ['DELETE', '/users/bob'],
        ['GET', '/log'],
        ['GET', '/history'],
      ] as const) {
        const res = await call(method, path, { headers: { authorization: 'Bearer user-alice' }, body: { rules: null } });
        expect(res.status, `${method} ${path}`).toBe(403);
      }
      expect((await limiter.admin.getUsage('alice')).isActive).toBe(true);
    });

    it('a signed-in user reads their own usage, log and history (and nobody else’s)', async () => {
      await spend('me-user', 120);
      await spend('someone-else', 50);
      const headers = { authorization: 'Bearer user-me-user' };
      const usage = await call('GET', '/me/usage', { headers });
      expect(usage.status).toBe(200);
      expect(usage.json).toMatchObject({ userId: 'me-user', used: 120, limit: 1000, remaining: 880, isActive: true, metric: 'tokens' });
      const log = await call('GET', '/me/log', { headers });
      expect(log.json!.records.map((r: { userId: string }) => r.userId)).toEqual(['me-user']);
      const spoof = await call('GET', '/me/log?userId=someone-else', { headers });
      expect(spoof.status).toBe(400);
      expect(spoof.json!.field).toBe('userId');
      const history = await call('GET', '/me/history?granularity=hour', { headers });
      expect(history.status).toBe(200);
      expect(history.json!.points.reduce((n: number, p: { totalTokens: number }) => n + p.totalTokens, 0)).toBe(120);
      // An admin with no user id of their own has no "me".
      expect((await call('GET', '/me/usage')).status).toBe(403);
      expect((await call('GET', '/me/usage', { headers: { authorization: 'Bearer admin-alice' } })).json).toMatchObject({ userId: 'alice' });
    });

    it('refuses to start without authorize or limiter', () => {
      expect(() => createAdminHandler({ limiter } as never)).toThrow(/options\.authorize/);
      expect(() => createAdminRouter({ limiter } as never)).toThrow(/options\.authorize/);
      expect(() => createAdminHandler({ authorize: () => null } as never)).toThrow(/options\.limiter/);
      expect(() => createAdminHandler({ limiter, authorize: () => null, basePath: 'admin/' })).toThrow(/options\.basePath/);
      expect(() => createAdminHandler({ limiter, authorize: () => null, locale: 'de' })).toThrow(/options\.locale/);
    });
  });

  describe('routes', () => {
    it('404 for unknown routes, 405 with Allow for wrong methods', async () => {
      const missing = await call('GET', '/nope');
      expect(missing.status).toBe(404);
      expect(missing.json).toEqual({ error: 'Not found', code: 'not_found' });
      expect((await call('GET', '/users/a/usage/extra')).status).toBe(404);
      expect((await call('GET', '/users//usage')).status).toBe(404);
      const wrong = await call('PATCH', '/users/a/limits');
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('GET, HEAD, PUT, DELETE');
      expect(wrong.json).toEqual({ error: 'Method not allowed', code: 'method_not_allowed' });
      expect((await call('POST', '/stats')).headers.get('allow')).toBe('GET, HEAD');
      expect((await call('GET', '/stats/')).status).toBe(200);
    });

    it('GET /users pages through every user', async () => {
      const ids = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
      for (const id of ids) await spend(id, 1);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await call('GET', `/users?limit=2${cursor === null ? '' : `&cursor=${enc(cursor)}`}`);
        expect(res.status).toBe(200);
        expect(res.json!.users.length).toBeLessThanOrEqual(2);
        seen.push(...res.json!.users.map((u: { userId: string }) => u.userId));
        cursor = res.json!.nextCursor as string | null;
        pages += 1;
      } while (cursor !== null && pages < 100);
      const all = [];
      let page = await limiter.admin.listUsers({ limit: 1000 });
      all.push(...page.users.map((u) => u.userId));
      while (page.cursor) {
        page = await limiter.admin.listUsers({ cursor: page.cursor, limit: 1000 });
        all.push(...page.users.map((u) => u.userId));
      }
      expect(seen).toEqual(all);
      for (const id of ids) expect(seen).toContain(id);
    });

    it('GET /users/:id/usage matches limiter.admin.getUsage, dates as ISO strings', async () => {
      await spend('usage-user', 321);
      const res = await call('GET', '/users/usage-user/usage');
      const direct = await limiter.admin.getUsage('usage-user');
      expect(res.json).toEqual({
        userId: 'usage-user',
        isActive: true,
        metric: 'tokens',
        limit: 1000,
        used: 321,
        reserved: 0,
        remaining: 679,
        periodStart: direct.periodStart.toISOString(),
        resetAt: direct.resetAt.toISOString(),
        windows: [
          {
            ruleId: 'monthly',
            metric: 'tokens',
            rule: { id: 'monthly', tokens: 1000, period: 'month' },
            limit: 1000,
            used: 321,
            reserved: 0,
            remaining: 679,
            periodStart: direct.periodStart.toISOString(),
            resetAt: direct.resetAt.toISOString(),
          },
        ],
        plan: null,
        account: null,
      });
    });

    it('PUT /users/:id/limits sets limits; GET reads those set directly; DELETE goes back to the defaults', async () => {
      const rules = [
        { id: 'daily', tokens: 500, period: 'day', timeZone: 'America/Sao_Paulo' },
        { id: 'budget', costUsd: 2.5, period: { months: 1, anchor: '2026-01-31' } },
      ];
      const put = await call('PUT', '/users/limits-user/limits', { body: { rules } });
      expect(put.status).toBe(200);
      expect(put.json).toEqual({ userId: 'limits-user', rules });
      expect(await limiter.admin.getLimits('limits-user')).toEqual(rules);

      await limiter.admin.setLimits('limits-user-2', [{ id: 'rpm', requests: 10, period: 'minute' }]);
      expect((await call('GET', '/users/limits-user-2/limits')).json).toEqual({ userId: 'limits-user-2', rules: [{ id: 'rpm', requests: 10, period: 'minute' }] });

      const del = await call('DELETE', '/users/limits-user/limits');
      expect(del.json).toEqual({ userId: 'limits-user', rules: [{ id: 'monthly', tokens: 1000, period: 'month' }] });
      expect(await limiter.admin.getLimits('limits-user')).toEqual([{ id: 'monthly', tokens: 1000, period: 'month' }]);
      const nul = await call('PUT', '/users/limits-user-2/limits', { body: { rules: null } });
      expect(nul.json!.rules).toEqual([{ id: 'monthly', tokens: 1000, period: 'month' }]);
    });

    it('POST /users/:id/reset zeroes usage (all rules, or one)', async () => {
      await limiter.admin.setLimits('reset-user', [
        { id: 'a', tokens: 1000, period: 'month' },
        { id: 'b', tokens: 1000, period: 'day' },
      ]);
      await spend('reset-user', 100);
      const one = await call('POST', '/users/reset-user/reset', { body: { ruleId: 'b' } });
      expect(one.status).toBe(200);
      expect(one.json!.windows.map((w: { used: number }) => w.used)).toEqual([100, 0]);
      expect((await limiter.admin.getUsage('reset-user')).windows.map((w) => w.used)).toEqual([100, 0]);
      const all = await call('POST', '/users/reset-user/reset');
      expect(all.json!.used).toBe(0);
      expect((await limiter.admin.getUsage('reset-user')).used).toBe(0);
      const bad = await call('POST', '/users/reset-user/reset', { body: { ruleId: 'zzz' } });
      expect(bad.status).toBe(400);
      expect(bad.json!.field).toBe('ruleId');
    });

    it('POST /users/:id/disable and /enable', async () => {
      const off = await call('POST', '/users/toggle-user/disable');
      expect(off.json).toMatchObject({ userId: 'toggle-user', isActive: false });
      expect((await limiter.admin.getUsage('toggle-user')).isActive).toBe(false);
      await expect(limiter.reserve('toggle-user', { tokens: 1 })).rejects.toBeInstanceOf(UserDisabledError);
      const on = await call('POST', '/users/toggle-user/enable');
      expect(on.json).toMatchObject({ isActive: true });
      await expect(limiter.reserve('toggle-user', { tokens: 1 })).resolves.toBeTruthy();
    });

    it('DELETE /users/:id deletes the user', async () => {
      await spend('doomed', 10);
      const res = await call('DELETE', '/users/doomed');
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect((await limiter.admin.getUsage('doomed')).used).toBe(0);
      expect(await limiter.admin.getUsageLog({ userId: 'doomed' })).toEqual([]);
    });

    it('GET /log filters by user, dates and limit', async () => {
      await spend('log-user', 1);
      await spend('log-user', 2);
      await spend('log-user', 3);
      const res = await call('GET', '/log?userId=log-user&limit=2');
      const direct = await limiter.admin.getUsageLog({ userId: 'log-user', limit: 2 });
      expect(res.json!.records).toEqual(direct.map((r) => ({ ...r, timestamp: r.timestamp.toISOString() })));
      expect(res.json!.records.map((r: { totalTokens: number }) => r.totalTokens)).toEqual([3, 2]);
      const future = await call('GET', `/log?since=${enc(new Date(Date.now() + 60_000).toISOString())}`);
      expect(future.json!.records).toEqual([]);
    });

    it('GET /history per hour and day; GET /stats', async () => {
      await spend('hist-user', 40, 'gpt-4o');
      const day = await call('GET', '/history?userId=hist-user');
      expect(day.json!.granularity).toBe('day');
      expect(day.json!.points).toMatchObject([{ model: 'gpt-4o', requests: 1, totalTokens: 40 }]);
      expect(day.json!.points[0].time).toMatch(/T00:00:00\.000Z$/);
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const hour = await call('GET', `/history?userId=hist-user&granularity=hour&from=${enc(from)}`);
      const direct = await limiter.admin.getUsageHistory({ userId: 'hist-user', from, to: hour.json!.to as string, granularity: 'hour' });
      expect(hour.json!.points).toEqual(direct.map((p) => ({ ...p, time: p.time.toISOString() })));
      const stats = await call('GET', '/stats');
      expect(stats.json).toEqual(await limiter.admin.getStats());
    });

    it('user ids with any characters, URL-encoded in the path', async () => {
      for (const id of ['a/b:c', 'ü/ser ✓', '%41', '{tag}', 'x?y=1#z', '__proto__', 'constructor', ' ']) {
        await spend(id, 7);
        const res = await call('GET', `/users/${enc(id)}/usage`);
        expect(res.status, id).toBe(200);
        expect(res.json, id).toMatchObject({ userId: id, used: 7 });
        const put = await call('PUT', `/users/${enc(id)}/limits`, { body: { rules: [{ id: '__proto__', tokens: 99, period: 'day' }] } });
        expect(put.json, id).toEqual({ userId: id, rules: [{ id: '__proto__', tokens: 99, period: 'day' }] });
        expect(await limiter.admin.getLimits(id)).toEqual([{ id: '__proto__', tokens: 99, period: 'day' }]);
      }
      expect(({} as Record<string, unknown>).tokens).toBeUndefined();
      const bad = await call('GET', '/users/%E0%A4%A/usage');
      expect(bad.status).toBe(400);
      expect(bad.json!.field).toBe('userId');
    });

    it('every user id, dot segments included, is reachable through the encoding the React client uses', async () => {
      const client = createApiClient({ baseUrl: base, fetcher: (url, init) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...ADMIN } }) });
      const rules = [{ id: 'daily', tokens: 77, period: 'day' as const }];
      await spend('bystander', 3);
      for (const id of HARD_IDS) {
        await spend(id, 7);
        const usage = await call('GET', `/users/${encodeUserIdSegment(id)}/usage`);
        expect(usage.status, id).toBe(200);
        expect(usage.json, id).toMatchObject({ userId: id, used: 7 });
        expect(await client.setLimits(id, rules), id).toEqual({ userId: id, rules });
        expect(await limiter.admin.getLimits(id), id).toEqual(rules);
        expect((await client.setActive(id, false)).isActive, id).toBe(false);
        expect((await limiter.admin.getUsage(id)).isActive, id).toBe(false);
        expect((await client.setActive(id, true)).isActive, id).toBe(true);
        expect((await client.reset(id)).used, id).toBe(0);
        const cleared = await call('DELETE', `/users/${encodeUserIdSegment(id)}/limits`);
        expect(cleared.json, id).toEqual({ userId: id, rules: [{ id: 'monthly', tokens: 1000, period: 'month' }] });
        expect((await call('DELETE', `/users/${encodeUserIdSegment(id)}`)).status, id).toBe(204);
      }
      // Nobody else was touched on the way.
      expect(await limiter.admin.getUsage('bystander')).toMatchObject({ used: 3, isActive: true });
      expect(await limiter.admin.getLimits('bystander')).toEqual([{ id: 'monthly', tokens: 1000, period: 'month' }]);
    });

    it('dot segments sent as written are user ids, decoded once, never steps up the path', async () => {
      const prefix = new URL(base).pathname;
      for (const [segment, id] of [
        ['..', '..'],
        ['.', '.'],
        ['%2e%2e', '..'],
        ['%2E', '.'],
        ['.%2E', '..'],
        ['$..', '..'],
        ['%24..', '$..'],
        ['%252e', '%2e'],
      ] as const) {
        await spend(id, 5);
        const res = await rawRequest(base, 'GET', `${prefix}/users/${segment}/usage`);
        expect(res.status, segment).toBe(200);
        expect(res.json, segment).toMatchObject({ userId: id });
      }
      // What a normalising parser would have turned into another route stays unknown.
      for (const target of [`${prefix}/users/x/../../stats`, `${prefix}/users/./stats`, `${prefix}/../other`, `${prefix}/./stats`]) {
        expect((await rawRequest(base, 'GET', target)).status, target).toBe(404);
      }
      const anonymous = await rawRequest(base, 'GET', `${prefix}/users/../usage`, {});
      expect(anonymous.status).toBe(401);
    });

    it('methods it does not serve answer 405 with Allow, TRACE and unusual ones included', async () => {
      const prefix = new URL(base).pathname;
      for (const method of ['TRACE', 'PROPFIND', 'PURGE', 'OPTIONS', 'PATCH', 'LINK', 'SEARCH']) {
        const res = await rawRequest(base, method, `${prefix}/users/a/limits`);
        expect(res.status, method).toBe(405);
        expect(res.headers.allow, method).toBe('GET, HEAD, PUT, DELETE');
        expect(res.json, method).toEqual({ error: 'Method not allowed', code: 'method_not_allowed' });
      }
      const trace = await rawRequest(base, 'TRACE', `${prefix}/stats`);
      expect([trace.status, trace.headers.allow]).toEqual([405, 'GET, HEAD']);
      expect((await rawRequest(base, 'TRACE', `${prefix}/nope`)).status).toBe(404);
    });
  });

  describe('bad input', () => {
    it('400 names the failing field (body and query)', async () => {
      const cases: Array<[string, string, { body?: unknown; raw?: string }, string]> = [
        ['PUT', '/users/v/limits', { body: { rules: [{ id: 'm', tokens: -1, period: 'month' }] } }, 'rules[0].tokens'],
        ['PUT', '/users/v/limits', { body: { rules: [{ id: 'm', tokens: 5, period: 'fortnight' }] } }, 'rules[0].period'],
        ['PUT', '/users/v/limits', { body: { rules: [{ id: 'm', tokens: 5, period: 'day', timezone: 'UTC' }] } }, 'rules[0].timezone'],
        ['PUT', '/users/v/limits', { body: { rules: 'lots' } }, 'rules'],
        ['PUT', '/users/v/limits', { body: {} }, 'rules'],
        ['PUT', '/users/v/limits', { body: { rules: null, extra: 1 } }, 'extra'],
        ['PUT', '/users/v/limits', { body: [1, 2] }, 'body'],
        ['PUT', '/users/v/limits', {}, 'body'],
        ['POST', '/users/v/reset', { body: { ruleId: 5 } }, 'ruleId'],
        ['GET', '/users?limit=0', {}, 'limit'],
        ['GET', '/users?limit=abc', {}, 'limit'],
        ['GET', '/users?page=2', {}, 'page'],
        ['GET', '/log?limit=10001', {}, 'limit'],
        ['GET', '/log?since=yesterday', {}, 'since'],
        ['GET', '/log?limit=1&limit=2', {}, 'limit'],
        ['GET', '/history?granularity=week', {}, 'granularity'],
        // Only `from` was sent: the range error names it, not the `to` the client never sent.
        ['GET', '/history?granularity=hour&from=2000-01-01', {}, 'from'],
        ['GET', '/history?from=2999-01-01', {}, 'from'],
        ['GET', '/history?from=2026-05-02&to=2026-05-01', {}, 'to'],
        // Dates are full and valid, or refused: no rolling over, no reduced precision, no local time.
        ['GET', '/history?from=2026-02-30&to=2026-03-05', {}, 'from'],
        ['GET', '/log?since=2026-02-31', {}, 'since'],
        ['GET', '/log?since=2026-13-01', {}, 'since'],
        ['GET', '/history?from=2026&to=2026-01-20', {}, 'from'],
        ['GET', '/history?from=2026-05&to=2026-05-20', {}, 'from'],
        ['GET', '/log?since=2026-05-01T10:00:00', {}, 'since'],
        ['GET', '/log?until=2026-05-01T24:00:00Z', {}, 'until'],
        ['GET', '/log?until=2026-05-01T10:00:00+25:00', {}, 'until'],
        ['GET', '/log?until=-5.5', {}, 'until'],
        // The dates swapped (the detail too names the query's parameters: see below).
        ['GET', '/log?since=2026-05-02&until=2026-05-01', {}, 'since'],
        ['GET', '/stats?x=1', {}, 'x'],
        ['POST', '/users/v/disable?force=1', {}, 'force'],
        ['DELETE', '/users/v?hard=1', {}, 'hard'],
      ];
      for (const [method, path, options, field] of cases) {
        const res = await call(method, path, options);
        expect(res.status, `${method} ${path} ${JSON.stringify(options)}`).toBe(400);
        expect(res.json, `${method} ${path}`).toMatchObject({ code: 'invalid_argument', field });
        expect(res.json!.error).toBe(`Invalid value for "${field}"`);
        expect(typeof res.json!.detail).toBe('string');
      }
      const swapped = await call('GET', '/log?since=2026-05-02&until=2026-05-01');
      expect(swapped.json!.detail).toMatch(/^Invalid since: must not be after until/);
      // Nothing was written by a refused request.
      expect(await limiter.admin.getLimits('v')).toEqual([{ id: 'monthly', tokens: 1000, period: 'month' }]);
      expect((await limiter.admin.getUsage('v')).isActive).toBe(true);
    });

    it('query dates: a full date, a date-time with its zone, or milliseconds', async () => {
      const fromOf = async (from: string) => {
        const res = await call('GET', `/history?from=${enc(from)}&to=2026-05-20T00:00:00Z`);
        expect(res.status, from).toBe(200);
        return res.json!.from as string;
      };
      expect(await fromOf('2026-05-01')).toBe('2026-05-01T00:00:00.000Z');
      expect(await fromOf('2026-05-01T10:00:00Z')).toBe('2026-05-01T10:00:00.000Z');
      expect(await fromOf('2026-05-01T10:00:00.5-03:00')).toBe('2026-05-01T13:00:00.500Z');
      expect(await fromOf('2026-05-01T10:00+02:00')).toBe('2026-05-01T08:00:00.000Z');
      expect(await fromOf(String(Date.parse('2026-05-03T04:05:06.007Z')))).toBe('2026-05-03T04:05:06.007Z');
      expect((await call('GET', '/log?since=2024-02-29')).status).toBe(200); // a leap day that exists
      expect((await call('GET', '/log?since=0')).status).toBe(200);
    });

    it('invalid JSON -> 400, a non-JSON content type -> 415, an oversized body -> 413', async () => {
      const broken = await call('PUT', '/users/v/limits', { raw: '{"rules": [', headers: { 'content-type': 'application/json' } });
      expect(broken.status).toBe(400);
      // With express.json() in front, the app's own parser answers broken JSON (its 400, its format).
      if (!variant.parsesJson) expect(broken.json).toEqual({ error: 'The request body is not valid JSON', code: 'invalid_json' });
      const form = await call('PUT', '/users/v/limits', { raw: 'rules=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(form.status).toBe(415);
      expect(form.json).toEqual({ error: 'Expected a JSON body (Content-Type: application/json)', code: 'unsupported_media_type' });
      if (!variant.parsesJson) {
        const big = await call('PUT', '/users/v/limits', { raw: JSON.stringify({ rules: null, pad: 'x'.repeat(70_000) }), headers: { 'content-type': 'application/json' } });
        expect(big.status).toBe(413);
        expect(big.json).toMatchObject({ code: 'payload_too_large', maxBytes: 65_536 });
      }
    });

    it('maxBodyBytes holds whoever parsed the body: declared length, chunked, compact JSON', async () => {
      const small = await variant.start(limiter, { maxBodyBytes: 1024 });
      const send = (body: string, chunked: boolean) =>
        new Promise<{ status: number; json: any }>((resolve, reject) => {
          const { hostname, port } = new URL(small.url);
          const headers: Record<string, string | number> = { ...ADMIN, 'content-type': 'application/json' };
          if (!chunked) headers['content-length'] = Buffer.byteLength(body);
          const req = httpRequest({ host: hostname, port, method: 'PUT', path: '/admin/api/users/mb/limits', headers }, (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
          });
          req.on('error', reject);
          // Chunked: no content-length, the body in two writes.
          req.write(body.slice(0, 10));
          req.end(body.slice(10));
        });
      try {
        const padded = `${' '.repeat(50_000)}{"rules":null}`; // 50 KB on the wire, 14 bytes as JSON
        const long = JSON.stringify({ rules: [{ id: 'x'.repeat(2000), tokens: 5, period: 'day' }] });
        for (const [body, chunked] of [[padded, false], [long, true], [long, false]] as const) {
          const res = await send(body, chunked);
          expect([body.length, chunked, res.status, res.json]).toMatchObject([body.length, chunked, 413, { code: 'payload_too_large', maxBytes: 1024 }]);
        }
        expect((await send('{"rules":null}', true)).status).toBe(200);
        expect(await limiter.admin.getLimits('mb')).toEqual([{ id: 'monthly', tokens: 1000, period: 'month' }]);
      } finally {
        await small.close();
      }
    });

    it('prototype pollution: __proto__ and constructor.prototype keys are refused, nothing is polluted', async () => {
      const attempts = [
        '{"rules": null, "__proto__": {"polluted": "yes"}}',
        '{"rules": [{"id": "m", "tokens": 5, "period": "day", "__proto__": {"polluted": "yes"}}]}',
        '{"rules": [{"id": "m", "tokens": 5, "period": {"days": 2, "__proto__": {"polluted": "yes"}}}]}',
        '{"rules": null, "constructor": {"prototype": {"polluted": "yes"}}}',
      ];
      const fields = ['__proto__', 'rules[0].__proto__', 'rules[0].period.__proto__', 'constructor'];
      for (const [i, raw] of attempts.entries()) {
        const res = await call('PUT', '/users/pp/limits', { raw, headers: { 'content-type': 'application/json' } });
        expect(res.status, raw).toBe(400);
        expect(res.json!.field, raw).toBe(fields[i]);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      expect(await limiter.admin.getLimits('pp')).toEqual([{ id: 'monthly', tokens: 1000, period: 'month' }]);
    });
  });

  it('other routes of the app are untouched', async () => {
    if (variant.name.startsWith('createAdminHandler')) {
      expect((await fetch(`${app.url}/other`, { headers: ADMIN })).status).toBe(404);
      return;
    }
    const res = await fetch(`${app.url}/other`);
    expect(await res.json()).toEqual({ other: true });
  });
});

describe('createAdminHandler called with Fetch requests', () => {
  it('a Request whose body the app already read: a 500 whose log says what happened and what to do', async () => {
    const limiter = createTokenLimiter({ defaultLimits: monthly(1000) });
    const logged: string[] = [];
    const handler = createAdminHandler({ limiter, authorize: () => ({ role: 'admin' }), logger: { error: (message, meta) => void logged.push(`${message}: ${String(meta?.error)}`) } });
    const request = new Request('http://x/users/u/limits', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"rules":[{"id":"d","tokens":5,"period":"day"}]}' });
    expect((await handler(request.clone())).status).toBe(200); // an unread clone works
    await request.json(); // what a validating or logging middleware does before the handler
    const res = await handler(request);
    expect([res.status, await res.json()]).toEqual([500, { error: 'Internal server error', code: 'internal_error' }]);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^token-limits admin API: unexpected error: BodyAlreadyReadError: the request body was read before the admin handler .*request\.clone\(\)/);
  });

  it('a basePath with non-ASCII characters or a space serves its routes, however the client encodes it', async () => {
    const limiter = createTokenLimiter({ defaultLimits: monthly(1000) });
    for (const basePath of ['/админ', '/admin api/v1', '/100%']) {
      const handler = createAdminHandler({ limiter, basePath, authorize: () => ({ role: 'admin' }) });
      // A Fetch Request percent-encodes the path (upper-case hex).
      const fetched = await handler(new Request(`http://x${basePath.replace('%', '%25')}/users/u%20v/usage`));
      expect([basePath, fetched.status, ((await fetched.json()) as { userId: string }).userId]).toEqual([basePath, 200, 'u v']);
      // Through node:http, with the path as a client sent it: lower-case hex too.
      const app = await listen(toNodeListener(handler));
      try {
        const lower = encodeURI(basePath).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
        const res = await rawRequest(app.url, 'GET', `${lower}/users/u/usage`);
        expect([basePath, res.status]).toEqual([basePath, 200]);
        expect((await rawRequest(app.url, 'GET', `${lower}x/users/u/usage`)).status).toBe(404);
        expect((await rawRequest(app.url, 'GET', '/users/u/usage')).status).toBe(404);
      } finally {
        await app.close();
      }
    }
  });

  it('reaches every user id, `.` and `..` through their `$.` and `$..` spellings', async () => {
    const limiter = createTokenLimiter({ defaultLimits: monthly(1000) });
    const handler = createAdminHandler({ limiter, authorize: () => ({ role: 'admin' }) });
    for (const id of HARD_IDS) {
      const r = await limiter.reserve(id, { tokens: 9 });
      await limiter.commit(r, { inputTokens: 9, outputTokens: 0 });
      const res = await handler(new Request(`http://x/users/${encodeUserIdSegment(id)}/usage`));
      expect(res.status, id).toBe(200);
      expect(await res.json(), id).toMatchObject({ userId: id, used: 9 });
      const off = await handler(new Request(`http://x/users/${encodeUserIdSegment(id)}/disable`, { method: 'POST' }));
      expect(off.status, id).toBe(200);
      expect((await limiter.admin.getUsage(id)).isActive, id).toBe(false);
    }
    expect(encodeUserIdSegment('.')).toBe('$.');
    expect(encodeUserIdSegment('..')).toBe('$..');
    expect(encodeUserIdSegment('$.')).toBe('%24.');
    // A Fetch Request has already removed the dot segment: that is another path, and it is unknown.
    expect((await handler(new Request('http://x/users/../usage'))).status).toBe(404);
  });
});

describe('failures', () => {
  it('503 when the store fails, 500 with no details for anything unexpected (logged)', async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({ store: flaky.store, storeTimeoutMs: 200 });
    const logged: unknown[] = [];
    const handler = createAdminHandler({
      limiter,
      authorize: (request) => (request.headers.get('x-crash') ? (JSON.parse('{') as AdminPrincipal) : { role: 'admin' }),
      logger: { error: (message, meta) => logged.push([message, meta]) },
    });
    flaky.set('fail');
    const down = await handler(new Request('http://x/stats'));
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: 'The usage quota service is temporarily unavailable; try again shortly', code: 'store_unavailable' });
    flaky.set('ok');
    const crash = await handler(new Request('http://x/stats', { headers: { 'x-crash': '1' } }));
    expect(crash.status).toBe(500);
    const text = await crash.text();
    expect(JSON.parse(text)).toEqual({ error: 'Internal server error', code: 'internal_error' });
    expect(text).not.toMatch(/SyntaxError|at |JSON/);
    expect(logged).toHaveLength(1);

    const broken = Object.create(limiter, {
      admin: { value: { ...limiter.admin, getStats: () => Promise.reject(new Error('boom at /srv/secret/path.ts:12')) } },
    }) as TokenLimiter;
    const h2 = createAdminHandler({ limiter: broken, authorize: () => ({ role: 'admin' }), logger: { error: (m, meta) => logged.push([m, meta]) } });
    const res = await h2(new Request('http://x/stats'));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('secret');
    const bad = createAdminHandler({ limiter, authorize: () => ({ role: 'root' }) as never });
    expect((await bad(new Request('http://x/stats'))).status).toBe(500);
  });

  it('pt-BR messages', async () => {
    const limiter = createTokenLimiter();
    const handler = createAdminHandler({ limiter, locale: 'pt-BR', authorize: (r) => principalOf(r.headers.get('authorization')) });
    expect(await (await handler(new Request('http://x/stats'))).json()).toEqual({ error: 'É necessário entrar', code: 'unauthenticated' });
    expect(await (await handler(new Request('http://x/nada', { headers: ADMIN }))).json()).toEqual({ error: 'Não encontrado', code: 'not_found' });
    const bad = await handler(new Request('http://x/users?limit=0', { headers: ADMIN }));
    expect(await bad.json()).toMatchObject({ error: 'Valor inválido para "limit"', field: 'limit' });
  });
});
