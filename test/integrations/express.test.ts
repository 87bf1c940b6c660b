import { request as httpRequest } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import type { Express, Request } from 'express';
import { QuotaStoreError, RedisStore, createTokenLimiter, type TokenLimiter } from '../../src/index.js';
import { createAdminRouter, tokenLimits, tokenLimitsErrorHandler } from '../../src/integrations/express/index.js';
import { flakyStore } from '../helpers/flaky-store.js';
import { buildApp, expressVersions } from './express-app.js';
import { closeRedis, listen, makeLimiter, monthly, postWithLateBody, sleep, stableHeaders, type StoreKind } from './helpers.js';

afterAll(closeRedis);

const post = (url: string, session: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(session ? { 'x-session': session } : {}), ...headers },
    body: JSON.stringify(body),
  });

describe.each(expressVersions)('$name', ({ express }) => {
  describe.each<StoreKind>(['memory', 'redis'])('concurrent requests on %s', (kind) => {
    it('charges each request to its own user: 20 concurrent requests, alternating users, random delays', async () => {
      const limiter = await makeLimiter(kind, { defaultLimits: monthly(1_000_000) });
      const app = await listen(buildApp(express, { limiter }) as never);
      try {
        const users = [
          ['tok-alice', 'alice'],
          ['tok-bob', 'bob'],
          ['tok-carol', 'carol'],
        ] as const;
        const expected: Record<string, number> = { alice: 0, bob: 0, carol: 0 };
        const calls = Array.from({ length: 20 }, (_, i) => {
          const [session, user] = users[i % users.length]!;
          const tokens = 100 + i * 7;
          expected[user]! += tokens;
          return (async () => {
            await sleep(Math.random() * 15);
            const res = await post(`${app.url}/chat`, session, { tokens, delayMs: Math.floor(Math.random() * 30) });
            expect(res.status).toBe(200);
            expect(await res.json()).toEqual({ userId: user, sessionUser: user });
          })();
        });
        await Promise.all(calls);
        for (const [user, total] of Object.entries(expected)) {
          expect((await limiter.admin.getUsage(user)).used, user).toBe(total);
        }
        const log = await limiter.admin.getUsageLog({ limit: 100 });
        expect(log).toHaveLength(20);
      } finally {
        await app.close();
      }
    });
  });

  it('ignores a user id sent by the client in the body, query or headers', async () => {
    const limiter = await makeLimiter('memory');
    const app = await listen(buildApp(express, { limiter }) as never);
    try {
      const res = await post(`${app.url}/chat?userId=mallory&user=mallory`, 'tok-alice', { tokens: 50, userId: 'mallory', user: 'mallory' }, {
        'x-user-id': 'mallory',
        'x-token-limits-user': 'mallory',
      });
      expect(await res.json()).toEqual({ userId: 'alice', sessionUser: 'alice' });
      expect((await limiter.admin.getUsage('alice')).used).toBe(50);
      expect((await limiter.admin.getUsage('mallory')).used).toBe(0);
      expect((await limiter.admin.listUsers()).users.map((u) => u.userId)).toEqual(['alice']);
    } finally {
      await app.close();
    }
  });

  it.each(['/chat', '/chat-raw'])('keeps the user when the body arrives after the headers (%s: body parser after the middleware, raw stream events)', async (path) => {
    const limiter = await makeLimiter('memory');
    const app = await listen(buildApp(express, { limiter }) as never);
    try {
      const answers = await Promise.all(
        ['tok-alice', 'tok-bob'].map((session, i) =>
          postWithLateBody(
            app.url + path,
            { 'content-type': path === '/chat' ? 'application/json' : 'text/plain', 'x-session': session },
            JSON.stringify({ tokens: 30 + i }),
          ),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect(JSON.parse(answers[0]!.body)).toEqual({ userId: 'alice', sessionUser: 'alice' });
      expect(JSON.parse(answers[1]!.body)).toEqual({ userId: 'bob', sessionUser: 'bob' });
      expect((await limiter.admin.getUsage('alice')).used).toBe(30);
      expect((await limiter.admin.getUsage('bob')).used).toBe(31);
    } finally {
      await app.close();
    }
  });

  it('an anonymous request runs with no user: a wrapped call throws MissingUserError, which reaches the app (500)', async () => {
    const limiter = await makeLimiter('memory');
    const app = await listen(buildApp(express, { limiter }) as never);
    try {
      const res = await post(`${app.url}/chat`, undefined, { tokens: 5, userId: 'alice' });
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ appHandler: true, name: 'MissingUserError' });
      expect((await limiter.admin.getStats()).users).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('requireUser answers 401 for an anonymous request and runs nothing', async () => {
    const limiter = await makeLimiter('memory');
    const app = await listen(buildApp(express, { limiter, middleware: { requireUser: true, locale: 'pt-BR' } }) as never);
    try {
      const res = await post(`${app.url}/chat`, undefined, { tokens: 5 });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'É necessário entrar', code: 'unauthenticated' });
      const ok = await post(`${app.url}/chat`, 'tok-bob', { tokens: 5 });
      expect(ok.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  describe('a response another middleware already sent (a request timeout)', () => {
    /**
     * Runs `start` as a request timeout middleware would leave it: the response is answered (503)
     * while our async step (`authorize`, `getUserId`) is still pending; that step then resolves.
     * Collects the unhandled rejections seen until the late answer has been dealt with.
     */
    const lateAnswer = async (mount: (app: Express, answerFirst: (req: Request) => Promise<void>) => void, path: string) => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      const app = express() as Express;
      let settled!: () => void;
      const lateStepDone = new Promise<void>((resolve) => (settled = resolve));
      // Answers 503 at once, and resolves when that response is finished: the late step runs after it.
      const answerFirst = (req: Request): Promise<void> =>
        new Promise<void>((resolve) => {
          const res = (req as unknown as { res: import('express').Response }).res;
          res.on('finish', () => {
            resolve();
            // The late answer is written from promise callbacks: they have all run by the next turn.
            setImmediate(() => setImmediate(settled));
          });
          res.status(503).json({ error: 'timeout' });
        });
      mount(app, answerFirst);
      const running = await listen(app as never);
      try {
        const res = await fetch(running.url + path);
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({ error: 'timeout' });
        await lateStepDone;
        await new Promise((resolve) => setImmediate(resolve));
        return unhandled;
      } finally {
        process.off('unhandledRejection', onUnhandled);
        await running.close();
      }
    };

    it('createAdminRouter whose authorize answers late writes nothing and rejects nothing', async () => {
      const limiter = await makeLimiter('memory');
      const unhandled = await lateAnswer((app, answerFirst) => {
        app.use('/admin', createAdminRouter({ limiter, authorize: async (req: Request) => (await answerFirst(req), { role: 'user', userId: 'u' }) }));
      }, '/admin/users/u/usage');
      expect(unhandled.map(String)).toEqual([]);
    });

    it('tokenLimits with requireUser whose async getUserId finds no user late writes nothing and rejects nothing', async () => {
      const limiter = await makeLimiter('memory');
      const unhandled = await lateAnswer((app, answerFirst) => {
        app.use(tokenLimits({ limiter, requireUser: true, getUserId: async (req) => (await answerFirst(req), undefined) }));
        app.get('/x', (_req, res) => {
          res.send('route ran');
        });
      }, '/x');
      expect(unhandled.map(String)).toEqual([]);
    });
  });

  it('getUserId may be async; a throwing getUserId goes to the app error handler; a bad id is refused', async () => {
    const limiter = await makeLimiter('memory');
    const make = (getUserId: (req: { headers: Record<string, unknown> }) => unknown) => {
      const app = express();
      app.use(tokenLimits({ limiter, getUserId: getUserId as never }));
      app.get('/', (_req, res) => {
        res.json({ ok: true });
      });
      app.use((err: Error, _req: unknown, res: { status(n: number): { json(b: unknown): void } }, _next: unknown) => {
        res.status(500).json({ appHandler: true, name: err.name, message: err.message });
      });
      return app;
    };
    const asyncApp = await listen(make(async () => (await sleep(5), 'alice')) as never);
    const throwing = await listen(make(() => { throw new Error('auth backend down'); }) as never);
    const bad = await listen(make(() => 42) as never);
    try {
      expect(await (await fetch(asyncApp.url)).json()).toEqual({ ok: true });
      expect(await (await fetch(throwing.url)).json()).toEqual({ appHandler: true, name: 'Error', message: 'auth backend down' });
      expect(await (await fetch(bad.url)).json()).toMatchObject({ appHandler: true, name: 'InvalidArgumentError' });
    } finally {
      await Promise.all([asyncApp.close(), throwing.close(), bad.close()]);
    }
  });

  it("an empty user id is an anonymous request (the README's header example); an invalid id string answers 400", async () => {
    const limiter = await makeLimiter('memory');
    const app = express();
    app.use(express.json());
    // As in README.md: the user is a header. An empty `x-user-id:` header gives ''.
    app.use(tokenLimits({ limiter, getUserId: (req) => (req.body as { user?: string } | undefined)?.user ?? req.get('x-user-id') }));
    app.all('/hello', (_req, res) => {
      res.json({ ok: true });
    });
    app.use((err: Error, _req: Request, res: import('express').Response, _next: unknown) => {
      res.status(500).json({ appHandler: true, name: err.name });
    });
    const running = await listen(app as never);
    try {
      const get = (headers: Record<string, string>) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const { hostname, port } = new URL(running.url);
          const req = httpRequest({ host: hostname, port, path: '/hello', headers }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (c: string) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.end();
        });
      expect(await get({ 'x-user-id': '' })).toEqual({ status: 200, body: '{"ok":true}' });
      expect(await get({})).toEqual({ status: 200, body: '{"ok":true}' });
      // A lone surrogate (JSON allows one) is not a valid user id: the client's mistake.
      const bad = await fetch(`${running.url}/hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"\\ud800"}' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({
        error: 'Invalid value for "userId"',
        code: 'invalid_argument',
        field: 'userId',
        detail: expect.stringMatching(/^Invalid userId: must be well-formed Unicode/) as unknown,
      });
    } finally {
      await running.close();
    }
  });

  it('refuses bad options at start-up', () => {
    expect(() => tokenLimits({} as never)).toThrow(/options.getUserId/);
    expect(() => tokenLimits({ getUserId: () => undefined, locale: 'pt_XX' })).toThrow(/options.locale/);
    expect(() => tokenLimits({ getUserId: () => undefined, limiter: {} as TokenLimiter })).toThrow(/options.limiter/);
    expect(() => tokenLimits({ getUserId: () => undefined, userHeader: 'x' } as never)).toThrow(/options.userHeader/);
    expect(() => tokenLimitsErrorHandler({ locale: 'klingon' })).toThrow(/options.locale/);
  });

  describe('the app as it was before', () => {
    it('other routes answer exactly as without the middleware: status, body, headers', async () => {
      const limiter = await makeLimiter('memory');
      const before = await listen(buildApp(express, { limiter, wired: false }) as never);
      const after = await listen(buildApp(express, { limiter }) as never);
      try {
        const probes: Array<[string, RequestInit | undefined]> = [
          ['/health', undefined],
          ['/health', { headers: { 'x-session': 'tok-alice' } }],
          ['/text', undefined],
          ['/echo', { method: 'POST', headers: { 'content-type': 'application/json', 'x-session': 'tok-bob' }, body: '{"a":[1,2]}' }],
          ['/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad json' }],
          ['/missing', undefined],
          ['/health', { method: 'DELETE' }],
          ['/boom', { headers: { 'x-session': 'tok-alice' } }],
          ['/boom-async', undefined],
        ];
        for (const [path, init] of probes) {
          const a = await fetch(before.url + path, init);
          const b = await fetch(after.url + path, init);
          expect(b.status, path).toBe(a.status);
          expect(stableHeaders(b), path).toEqual(stableHeaders(a));
          expect(await b.text(), path).toBe(await a.text());
        }
      } finally {
        await Promise.all([before.close(), after.close()]);
      }
    });

    it("errors that are not the library's reach the app's own error handler untouched", async () => {
      const limiter = await makeLimiter('memory');
      const app = await listen(buildApp(express, { limiter }) as never);
      try {
        const res = await fetch(`${app.url}/boom`);
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual({ appHandler: true, name: 'Error', message: 'app failure' });
        const res2 = await fetch(`${app.url}/boom-async`);
        expect(await res2.json()).toEqual({ appHandler: true, name: 'Error', message: 'async app failure' });
      } finally {
        await app.close();
      }
    });
  });

  describe('error mapping', () => {
    it('TokenLimitExceededError -> 429 with exactly { error, code, scope, accountId, ruleId, metric, limit, used, remaining, resetDate } and the rate-limit headers', async () => {
      let now = Date.parse('2026-03-31T23:00:00.250Z');
      const limiter = await makeLimiter('memory', { defaultLimits: monthly(1000), clock: () => now });
      const app = await listen(buildApp(express, { limiter }) as never);
      try {
        expect((await post(`${app.url}/chat`, 'tok-alice', { tokens: 700 })).status).toBe(200);
        now = Date.parse('2026-03-31T23:00:00.250Z'); // the store's clock at the refusal
        const res = await post(`${app.url}/chat`, 'tok-alice', { tokens: 400 });
        expect(res.status).toBe(429);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        const body = (await res.json()) as Record<string, unknown>;
        expect(Object.keys(body).sort()).toEqual(['accountId', 'code', 'error', 'limit', 'metric', 'remaining', 'resetDate', 'ruleId', 'scope', 'used']);
        expect(body).toEqual({
          error: 'Token limit exceeded. It resets on Apr 1, 2026, 12:00 AM UTC.',
          code: 'token_limit_exceeded',
          scope: 'user',
          accountId: null,
          ruleId: 'monthly',
          metric: 'tokens',
          limit: 1000,
          used: 700,
          remaining: 300,
          resetDate: '2026-04-01T00:00:00.000Z',
        });
        // Retry-After: the seconds from the refusal to the reset (3599.75 s), rounded up, measured on
        // the store's clock (the app server's own clock is far from 2026-03-31 here).
        expect(res.headers.get('retry-after')).toBe('3600');
        const retryAfter = 3600;
        expect(res.headers.get('ratelimit-policy')).toBe('"monthly";q=1000;w=2678400'); // March: 31 days
        expect(res.headers.get('ratelimit')).toBe(`"monthly";r=300;t=${retryAfter}`);
        expect((await limiter.admin.getUsage('alice')).used).toBe(700); // the refused call charged nothing
      } finally {
        await app.close();
      }
    });

    it.each<StoreKind>(['memory', 'redis'])("a refusal by the account's rule says so: scope, accountId, the rule, the team message in en and pt-BR (%s)", async (kind) => {
      const limiter = await makeLimiter(kind, { defaultLimits: monthly(1000) });
      await limiter.admin.setAccountLimits('acme {team} ✓', [{ id: 'team-monthly', tokens: 500, period: 'month' }]);
      await limiter.admin.setAccount('alice', 'acme {team} ✓');
      await limiter.admin.setAccount('bob', 'acme {team} ✓');
      const en = await listen(buildApp(express, { limiter }) as never);
      const pt = await listen(buildApp(express, { limiter, middleware: { locale: 'pt-BR' } }) as never);
      try {
        expect((await post(`${en.url}/chat`, 'tok-bob', { tokens: 450 })).status).toBe(200);
        // alice has 1000 of her own left; the team has 50.
        const res = await post(`${en.url}/chat`, 'tok-alice', { tokens: 100 });
        expect(res.status).toBe(429);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ code: 'token_limit_exceeded', scope: 'account', accountId: 'acme {team} ✓', ruleId: 'team-monthly', metric: 'tokens', limit: 500, used: 450, remaining: 50 });
        expect(body.error).toMatch(/^Your team's limit has been reached \(tokens\)\. It resets on /);
        expect(res.headers.get('ratelimit')).toMatch(/^"team-monthly";r=50;t=\d+$/);
        const ptBody = (await (await post(`${pt.url}/chat`, 'tok-alice', { tokens: 100 })).json()) as Record<string, unknown>;
        expect(ptBody).toMatchObject({ scope: 'account', accountId: 'acme {team} ✓', ruleId: 'team-monthly' });
        expect(ptBody.error).toMatch(/^O limite da sua equipe foi atingido \(tokens\)\. Ele é renovado em /);
        // Her own rule refuses first when it is the tighter one: scope user, in both locales.
        const own = (await (await post(`${en.url}/chat`, 'tok-alice', { tokens: 1001 })).json()) as Record<string, unknown>;
        expect(own).toMatchObject({ scope: 'user', accountId: null, ruleId: 'monthly', limit: 1000 });
        expect(own.error).toMatch(/^Token limit exceeded\./);
        const ownPt = (await (await post(`${pt.url}/chat`, 'tok-alice', { tokens: 1001 })).json()) as Record<string, unknown>;
        expect(ownPt).toMatchObject({ scope: 'user', accountId: null });
        expect(ownPt.error).toMatch(/^Limite de tokens excedido\./);
        expect((await limiter.admin.getAccountUsage('acme {team} ✓')).windows[0]).toMatchObject({ used: 450, reserved: 0 });
      } finally {
        await en.close();
        await pt.close();
      }
    });

    it('pt-BR bodies; the error handler locale overrides the middleware one', async () => {
      const limiter = await makeLimiter('memory', { defaultLimits: monthly(10) });
      const pt = await listen(buildApp(express, { limiter, middleware: { locale: 'pt-BR' } }) as never);
      const en = await listen(buildApp(express, { limiter, middleware: { locale: 'pt-BR' }, errorHandler: { locale: 'en' } }) as never);
      try {
        expect((await post(`${pt.url}/chat`, 'tok-alice', { tokens: 6 })).status).toBe(200);
        const a = (await (await post(`${pt.url}/chat`, 'tok-alice', { tokens: 5 })).json()) as { error: string };
        expect(a.error).toMatch(/^Limite de tokens excedido\. Ele é renovado em /);
        const b = (await (await post(`${en.url}/chat`, 'tok-alice', { tokens: 5 })).json()) as { error: string };
        expect(b.error).toMatch(/^Token limit exceeded\./);
        await limiter.admin.setActive('bob', false);
        const c = await post(`${pt.url}/chat`, 'tok-bob', { tokens: 1 });
        expect(c.status).toBe(403);
        expect(await c.json()).toEqual({ error: 'Os recursos de IA estão desativados para este usuário', code: 'user_disabled' });
      } finally {
        await Promise.all([pt.close(), en.close()]);
      }
    });

    it('UserDisabledError -> 403 { error, code }', async () => {
      const limiter = await makeLimiter('memory');
      await limiter.admin.setActive('carol', false);
      const app = await listen(buildApp(express, { limiter }) as never);
      try {
        const res = await post(`${app.url}/chat`, 'tok-carol', { tokens: 1 });
        expect(res.status).toBe(403);
        expect(await res.json()).toEqual({ error: 'AI features are disabled for this user', code: 'user_disabled' });
        expect(res.headers.get('retry-after')).toBeNull();
      } finally {
        await app.close();
      }
    });

    it('QuotaStoreError -> 503 { error, code }, without the cause (flaky store and a Redis that is down)', async () => {
      const flaky = flakyStore();
      flaky.set('fail');
      const deadRedis = new (await import('ioredis')).Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
      deadRedis.on('error', () => {});
      const limiters = [
        createTokenLimiter({ store: flaky.store }),
        createTokenLimiter({
          store: new RedisStore({
            client: deadRedis,
          }),
          storeTimeoutMs: 1000,
        }),
      ];
      for (const limiter of limiters) {
        const app = await listen(buildApp(express, { limiter }) as never);
        try {
          const res = await post(`${app.url}/chat`, 'tok-alice', { tokens: 1 });
          expect(res.status).toBe(503);
          const text = await res.text();
          expect(JSON.parse(text)).toEqual({
            error: 'The usage quota service is temporarily unavailable; try again shortly',
            code: 'store_unavailable',
          });
          expect(text).not.toMatch(/ECONNREFUSED|6399|127\.0\.0\.1|stack|at /);
        } finally {
          await app.close();
        }
      }
      deadRedis.disconnect();
      expect(QuotaStoreError).toBeDefined();
    });
  });
});
