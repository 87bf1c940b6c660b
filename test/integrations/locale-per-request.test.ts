/**
 * Each request gets its own language: by default the middleware, the error handler, the Fetch and
 * node:http wrappers and the admin API negotiate `Accept-Language` among the built-in locales
 * (`en`, `pt-BR`, else `en`); `locale` may also be a function of the request.
 */
import { request as httpRequest } from 'node:http';
import express, { type Request as ExpressRequest } from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, currentUserId, MemoryStore, type TokenLimiter } from '../../src/index.js';
import { createAdminRouter, tokenLimits, tokenLimitsErrorHandler } from '../../src/integrations/express/index.js';
import { createAdminHandler, en, errorToResponse, ptBR, toNodeListener, tokenLimitsHandler, tokenLimitsListener } from '../../src/integrations/http/index.js';
import { listen, type Running } from './helpers.js';

const PT_LIMIT = 'Limite de tokens excedido';
const EN_LIMIT = 'Token limit exceeded';
const servers: Running[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

/** A limiter whose only user `over` has used up a 10-token quota. */
async function exhausted(): Promise<TokenLimiter> {
  const limiter = createTokenLimiter({ store: new MemoryStore(), defaultLimits: [{ id: 'monthly', tokens: 10, period: 'month' }] });
  const r = await limiter.reserve('over', { tokens: 10 });
  await limiter.commit(r, { inputTokens: 10, outputTokens: 0, model: 'gpt-4o-mini' });
  return limiter;
}

/** Stands for a wrapped SDK call: it charges the user of the current request's scope. */
async function charge(limiter: TokenLimiter): Promise<void> {
  await limiter.reserve(currentUserId()!, { tokens: 1 });
}

type LocaleOption = string | ((req: ExpressRequest) => string | undefined);

async function expressApp(limiter: TokenLimiter, options: { middleware?: LocaleOption; handler?: LocaleOption; admin?: LocaleOption } = {}): Promise<Running> {
  const app = express();
  const userOf = (req: ExpressRequest) => req.get('x-user') ?? undefined;
  app.use(
    '/chat',
    tokenLimits({ limiter, getUserId: userOf, requireUser: true, ...(options.middleware === undefined ? {} : { locale: options.middleware }) }),
  );
  app.post('/chat', async (_req, res) => {
    await charge(limiter);
    res.json({ ok: true });
  });
  app.use(
    '/admin/api',
    createAdminRouter({
      limiter,
      authorize: (req) => (req.get('x-user') === 'admin' ? { role: 'admin' } : req.get('x-user') ? { role: 'user', userId: req.get('x-user')! } : null),
      ...(options.admin === undefined ? {} : { locale: options.admin }),
    }),
  );
  app.use(tokenLimitsErrorHandler(options.handler === undefined ? {} : { locale: options.handler }));
  const running = await listen(app as never);
  servers.push(running);
  return running;
}

async function send(url: string, headers: Record<string, string>, method = 'POST'): Promise<{ status: number; body: { error: string; code: string } }> {
  const response = await fetch(url, { method, headers });
  return { status: response.status, body: (await response.json()) as { error: string; code: string } };
}

describe('Accept-Language: pt-BR gives pt-BR bodies by default', () => {
  it('Express: the middleware (401), the error handler (429) and the admin router (401, 403, 404)', async () => {
    const app = await expressApp(await exhausted());
    const pt = { 'accept-language': 'pt-BR,pt;q=0.9,en;q=0.8' };

    const anonymous = await send(`${app.url}/chat`, pt);
    expect(anonymous).toEqual({ status: 401, body: { error: ptBR.unauthenticated, code: 'unauthenticated' } });

    const limited = await send(`${app.url}/chat`, { ...pt, 'x-user': 'over' });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toContain(PT_LIMIT);

    expect((await send(`${app.url}/admin/api/stats`, pt, 'GET')).body.error).toBe(ptBR.unauthenticated);
    expect((await send(`${app.url}/admin/api/stats`, { ...pt, 'x-user': 'bob' }, 'GET')).body.code).toBe('forbidden');
    const forbidden = await send(`${app.url}/admin/api/stats`, { ...pt, 'x-user': 'bob' }, 'GET');
    expect(forbidden.body.error).not.toBe((await send(`${app.url}/admin/api/stats`, { 'x-user': 'bob' }, 'GET')).body.error);
    expect((await send(`${app.url}/admin/api/nowhere`, { ...pt, 'x-user': 'admin' }, 'GET')).body.error).toBe(ptBR.notFound);

    // The same app answers English to English speakers, and to requests that say nothing.
    expect((await send(`${app.url}/chat`, { 'x-user': 'over', 'accept-language': 'en-US' })).body.error).toContain(EN_LIMIT);
    expect((await send(`${app.url}/chat`, { 'x-user': 'over' })).body.error).toContain(EN_LIMIT);
    expect((await send(`${app.url}/chat`, { 'x-user': 'over', 'accept-language': 'fr-FR, de;q=0.5' })).body.error).toContain(EN_LIMIT);
    expect((await send(`${app.url}/admin/api/stats`, {}, 'GET')).body.error).toBe(en.unauthenticated);
  });

  it('Fetch handler, node:http listener, admin Fetch handler and errorToResponse', async () => {
    const limiter = await exhausted();
    const pt = { 'accept-language': 'pt-BR', 'x-user': 'over' };
    const chat = tokenLimitsHandler(
      async () => {
        await charge(limiter);
        return Response.json({ ok: true });
      },
      { limiter, getUserId: (request) => request.headers.get('x-user') },
    );
    const fetched = await chat(new Request('http://localhost/chat', { method: 'POST', headers: pt }));
    expect(fetched.status).toBe(429);
    expect(((await fetched.json()) as { error: string }).error).toContain(PT_LIMIT);

    const listener = await listen(
      tokenLimitsListener(
        async (_req, res) => {
          await charge(limiter);
          res.end('ok');
        },
        { limiter, getUserId: (req) => req.headers['x-user'] as string | undefined },
      ),
    );
    servers.push(listener);
    const viaNode = await send(listener.url, pt);
    expect(viaNode.status).toBe(429);
    expect(viaNode.body.error).toContain(PT_LIMIT);

    const admin = await listen(toNodeListener(createAdminHandler({ limiter, authorize: () => null, basePath: '/admin/api' })));
    servers.push(admin);
    expect((await send(`${admin.url}/admin/api/stats`, { 'accept-language': 'pt-BR' }, 'GET')).body.error).toBe(ptBR.unauthenticated);
    expect((await send(`${admin.url}/admin/api/stats`, { 'accept-language': 'en' }, 'GET')).body.error).toBe(en.unauthenticated);

    const error = await limiter.reserve('over', { tokens: 1 }).catch((e: unknown) => e);
    const response = errorToResponse(error, { request: new Request('http://localhost/', { headers: { 'accept-language': 'pt-BR' } }) })!;
    expect(((await response.json()) as { error: string }).error).toContain(PT_LIMIT);
    expect(((await errorToResponse(error)!.json()) as { error: string }).error).toContain(EN_LIMIT);
  });
});

describe("toNodeListener's own answers", () => {
  /** A request with any method (`TRACE` included, which fetch cannot send). */
  const raw = (url: string, method: string, headers: Record<string, string>): Promise<{ status: number; body: { error: string; code: string } }> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(url, { method, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { error: string; code: string } }));
      });
      req.on('error', reject);
      req.end();
    });

  it('a handler that throws (500) and a method Fetch cannot carry (405) answer in the language the request asks for', async () => {
    const app = await listen(toNodeListener(() => { throw new Error('handler bug'); }));
    servers.push(app);
    expect(await raw(app.url, 'GET', { 'accept-language': 'pt-BR,pt;q=0.9' })).toEqual({ status: 500, body: { error: ptBR.internalError, code: 'internal_error' } });
    expect(await raw(app.url, 'TRACE', { 'accept-language': 'pt-BR' })).toEqual({ status: 405, body: { error: ptBR.methodNotAllowed, code: 'method_not_allowed' } });
    expect(await raw(app.url, 'GET', {})).toEqual({ status: 500, body: { error: en.internalError, code: 'internal_error' } });
    expect(await raw(app.url, 'TRACE', { 'accept-language': 'en' })).toEqual({ status: 405, body: { error: en.methodNotAllowed, code: 'method_not_allowed' } });
  });
});

describe('locale as a function of the request', () => {
  it("the user's own language wins over the header; answering nothing negotiates", async () => {
    const language = (req: ExpressRequest) => (req.get('x-user') === 'over' ? 'pt-BR' : undefined);
    const app = await expressApp(await exhausted(), { middleware: language, admin: (req) => req.get('x-lang') ?? undefined });
    expect((await send(`${app.url}/chat`, { 'x-user': 'over', 'accept-language': 'en' })).body.error).toContain(PT_LIMIT);
    expect((await send(`${app.url}/admin/api/stats`, { 'x-lang': 'pt', 'accept-language': 'en' }, 'GET')).body.error).toBe(ptBR.unauthenticated);
    expect((await send(`${app.url}/admin/api/stats`, { 'accept-language': 'pt-BR' }, 'GET')).body.error).toBe(ptBR.unauthenticated);
    // An unknown tag from the function is English at run time (no throw in the error path).
    expect((await send(`${app.url}/admin/api/stats`, { 'x-lang': 'xx-YY', 'accept-language': 'pt-BR' }, 'GET')).body.error).toBe(en.unauthenticated);
  });

  it('the error handler may pick its own language per request', async () => {
    const app = await expressApp(await exhausted(), { handler: () => 'pt-BR' });
    expect((await send(`${app.url}/chat`, { 'x-user': 'over', 'accept-language': 'en' })).body.error).toContain(PT_LIMIT);
  });

  it('a function that throws falls back to negotiation; a bad option still throws at start-up', async () => {
    const limiter = await exhausted();
    const chat = tokenLimitsHandler(
      async () => {
        await charge(limiter);
        return Response.json({});
      },
      {
        limiter,
        getUserId: () => 'over',
        locale: () => {
          throw new Error('no session');
        },
      },
    );
    const response = await chat(new Request('http://localhost/', { headers: { 'accept-language': 'pt-BR' } }));
    expect(((await response.json()) as { error: string }).error).toContain(PT_LIMIT);
    expect(() => tokenLimits({ getUserId: () => undefined, locale: 'pt_XX' })).toThrow(/options\.locale/);
    expect(() => createAdminHandler({ limiter, authorize: () => null, locale: 42 as never })).toThrow(/options\.locale/);
  });
});

describe('reset times name their time zone', () => {
  it("the 429 body shows the reset in the refusing rule's zone and says which", async () => {
    const limiter = createTokenLimiter({
      store: new MemoryStore(),
      clock: () => Date.parse('2027-01-03T15:00:00Z'),
      defaultLimits: [{ id: 'daily', tokens: 10, period: 'day', timeZone: 'America/Sao_Paulo' }],
    });
    await limiter.commit(await limiter.reserve('u', { tokens: 6 }), { inputTokens: 6, outputTokens: 0 });
    const error = (await limiter.reserve('u', { tokens: 5 }).catch((e: unknown) => e)) as { timeZone?: string; resetAt: Date };
    expect(error.timeZone).toBe('America/Sao_Paulo');
    expect(error.resetAt.toISOString()).toBe('2027-01-04T03:00:00.000Z'); // midnight in São Paulo
    const en = (await errorToResponse(error, { locale: 'en' })!.json()) as { error: string };
    expect(en.error).toBe('Token limit exceeded. It resets on Jan 4, 2027, 12:00 AM GMT-3.');
    const pt = (await errorToResponse(error, { locale: 'pt-BR' })!.json()) as { error: string };
    expect(pt.error).toBe('Limite de tokens excedido. Ele é renovado em 4 de jan. de 2027, 00:00 BRT.');

    const utc = createTokenLimiter({ store: new MemoryStore(), defaultLimits: [{ id: 'm', tokens: 1, period: 'month' }] });
    await utc.commit(await utc.reserve('u', { tokens: 1 }), { inputTokens: 1, outputTokens: 0 });
    const plain = (await utc.reserve('u', { tokens: 1 }).catch((e: unknown) => e)) as { timeZone?: string };
    expect(plain.timeZone).toBe('UTC');
    expect(((await errorToResponse(plain)!.json()) as { error: string }).error).toMatch(/12:00 AM UTC\.$/);
  });
});
