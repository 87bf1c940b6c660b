import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { currentUserId, withTokenLimits, createTokenLimiter, MemoryStore, MissingUserError, TokenLimitExceededError, UserDisabledError, QuotaStoreError, InvalidArgumentError } from '../../src/index.js';
import { createAdminHandler, errorToResponse, tokenLimitsHandler, tokenLimitsListener, toNodeListener } from '../../src/integrations/http/index.js';
import { flakyStore } from '../helpers/flaky-store.js';
import { expectedUsage, startEmulator } from '../../src/testing/index.js';
import { chargeFromContext, closeRedis, listen, makeLimiter, monthly, postWithLateBody, sleep, type StoreKind } from './helpers.js';

afterAll(closeRedis);

/** The app's own sign-in: a session cookie. */
const SESSIONS: Record<string, string> = { s1: 'alice', s2: 'bob', s3: 'carol' };
const sessionUser = (cookie: string | null | undefined): string | undefined => {
  const match = /(?:^|;\s*)sid=([^;]+)/.exec(cookie ?? '');
  return match ? SESSIONS[match[1]!] : undefined;
};

describe('tokenLimitsHandler (Fetch API) served by node:http through toNodeListener', () => {
  describe.each<StoreKind>(['memory', 'redis'])('on %s', (kind) => {
    it('charges each concurrent request to its own user', async () => {
      const limiter = await makeLimiter(kind, { defaultLimits: monthly(1_000_000) });
      const handler = tokenLimitsHandler(
        async (request: Request) => {
          const body = (await request.json()) as { tokens: number; delayMs: number };
          const result = await chargeFromContext(body.tokens, undefined, body.delayMs);
          return Response.json(result);
        },
        { limiter, getUserId: (request) => sessionUser(request.headers.get('cookie')) },
      );
      const app = await listen(toNodeListener(handler));
      try {
        const expected: Record<string, number> = { alice: 0, bob: 0, carol: 0 };
        await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const sid = `s${(i % 3) + 1}`;
            const user = SESSIONS[sid]!;
            const tokens = 50 + i;
            expected[user]! += tokens;
            await sleep(Math.random() * 10);
            const res = await fetch(app.url, {
              method: 'POST',
              headers: { cookie: `sid=${sid}`, 'x-user-id': 'mallory' },
              body: JSON.stringify({ tokens, delayMs: Math.floor(Math.random() * 25), userId: 'mallory' }),
            });
            expect(await res.json()).toEqual({ userId: user });
          }),
        );
        for (const [user, total] of Object.entries(expected)) expect((await limiter.admin.getUsage(user)).used, user).toBe(total);
        expect((await limiter.admin.getUsage('mallory')).used).toBe(0);
      } finally {
        await app.close();
      }
    });
  });

  it('the real OpenAI SDK wrapped once (no user): concurrent JSON and streamed responses charge each request\'s user', async () => {
    const emulator = await startEmulator();
    const limiter = createTokenLimiter({ defaultLimits: monthly(1_000_000) });
    const openai = withTokenLimits(new OpenAI({ apiKey: 'emulated', baseURL: emulator.openaiBaseURL, maxRetries: 0 }));
    const handler = tokenLimitsHandler(
      async (request: Request) => {
        const { message, stream } = (await request.json()) as { message: string; stream: boolean };
        const messages = [{ role: 'user' as const, content: message }];
        if (!stream) return Response.json(await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, max_completion_tokens: 50 }));
        // The SDK stream is created here, in the scope; the framework reads the body later.
        const chunks = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, max_completion_tokens: 50, stream: true, stream_options: { include_usage: true } });
        const encoder = new TextEncoder();
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              for await (const chunk of chunks) controller.enqueue(encoder.encode(chunk.choices[0]?.delta.content ?? ''));
              controller.close();
            },
          }),
        );
      },
      { limiter, getUserId: (request) => sessionUser(request.headers.get('cookie')) },
    );
    const app = await listen(toNodeListener(handler));
    try {
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const sid = `s${(i % 3) + 1}`;
          const res = await fetch(app.url, {
            method: 'POST',
            headers: { cookie: `sid=${sid}`, 'x-emulator-delay-ms': String(i * 3) },
            body: JSON.stringify({ message: `${SESSIONS[sid]}: hello ${'x '.repeat(i)}`, stream: i % 2 === 0 }),
          });
          expect(res.status).toBe(200);
          await res.text();
        }),
      );
      const totals: Record<string, number> = { alice: 0, bob: 0, carol: 0 };
      for (const r of emulator.requests) {
        const user = (r.body as { messages: Array<{ content: string }> }).messages[0]!.content.split(':')[0]!;
        const u = expectedUsage(r);
        totals[user] = (totals[user] ?? 0) + u.inputTokens + u.outputTokens;
      }
      expect(emulator.requests).toHaveLength(12);
      // A stream's commit lands after its response has ended: wait for it (a fixed sleep can be too
      // short on a loaded machine), then compare.
      const used = async () => Promise.all(Object.keys(totals).map(async (user) => (await limiter.admin.getUsage(user)).used));
      for (let deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
        await limiter.flush();
        if ((await used()).every((u, i) => u === Object.values(totals)[i])) break;
      }
      for (const [user, total] of Object.entries(totals)) expect((await limiter.admin.getUsage(user)).used, user).toBe(total);
    } finally {
      await app.close();
      await emulator.close();
    }
  });

  it('maps the library errors to 429/403/503, re-throws others, and passes extra handler arguments', async () => {
    const limiter = createTokenLimiter({ defaultLimits: monthly(100) });
    await limiter.admin.setActive('bob', false);
    const seen: unknown[] = [];
    const handler = tokenLimitsHandler(
      async (request: Request, ctx: { params: { id: string } }) => {
        seen.push(ctx.params.id);
        if (new URL(request.url).pathname === '/other') throw new Error('not ours');
        await chargeFromContext(150);
        return new Response('unreachable');
      },
      { limiter, getUserId: (request) => sessionUser(request.headers.get('cookie')), locale: 'pt-BR' },
    );
    const over = await handler(new Request('http://x/chat', { headers: { cookie: 'sid=s1' } }), { params: { id: 'a' } });
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: string }).error).toMatch(/^Limite de tokens excedido/);
    expect(over.headers.get('ratelimit')).toMatch(/^"monthly";r=100;t=\d+$/);
    const disabled = await handler(new Request('http://x/chat', { headers: { cookie: 'sid=s2' } }), { params: { id: 'b' } });
    expect(disabled.status).toBe(403);
    await expect(handler(new Request('http://x/other', { headers: { cookie: 'sid=s1' } }), { params: { id: 'c' } })).rejects.toThrow('not ours');
    await expect(handler(new Request('http://x/chat'), { params: { id: 'd' } })).rejects.toBeInstanceOf(MissingUserError);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  it("a member refused by their account's rule gets scope account, the account id and the team message (en, pt-BR)", async () => {
    const limiter = createTokenLimiter({ defaultLimits: monthly(1000) });
    await limiter.admin.setAccountLimits('acme', [{ id: 'team', requests: 2, period: 'day' }]);
    await limiter.admin.setAccount('alice', 'acme');
    await limiter.admin.setAccount('bob', 'acme');
    const make = (locale: string) =>
      tokenLimitsHandler(
        async () => {
          await chargeFromContext(10);
          return new Response('ok');
        },
        { limiter, getUserId: (request) => sessionUser(request.headers.get('cookie')), locale },
      );
    const en = make('en');
    const pt = make('pt-BR');
    expect((await en(new Request('http://x/chat', { headers: { cookie: 'sid=s1' } }))).status).toBe(200);
    expect((await pt(new Request('http://x/chat', { headers: { cookie: 'sid=s2' } }))).status).toBe(200);
    const refused = await en(new Request('http://x/chat', { headers: { cookie: 'sid=s1' } }));
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ scope: 'account', accountId: 'acme', ruleId: 'team', metric: 'requests', limit: 2, used: 2, remaining: 0 });
    expect(body.error).toMatch(/^Your team's limit has been reached \(requests\)\. It resets on /);
    const ptBody = (await (await pt(new Request('http://x/chat', { headers: { cookie: 'sid=s2' } }))).json()) as Record<string, unknown>;
    expect(ptBody).toMatchObject({ scope: 'account', accountId: 'acme', ruleId: 'team' });
    expect(ptBody.error).toMatch(/^O limite da sua equipe foi atingido \(requisições\)\. Ele é renovado em /);
    expect((await limiter.admin.getUsage('alice')).used).toBe(10);
  });

  it('requireUser answers 401 without running the handler', async () => {
    let ran = false;
    const handler = tokenLimitsHandler(
      () => {
        ran = true;
        return new Response('ok');
      },
      { getUserId: () => undefined, requireUser: true },
    );
    const res = await handler(new Request('http://x/'));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'Sign-in required', code: 'unauthenticated' });
    expect(ran).toBe(false);
  });

  it("an empty user id is an anonymous request; an invalid id string answers 400 (tokenLimitsHandler, tokenLimitsListener)", async () => {
    const invalid = {
      error: 'Valor inválido para "userId"',
      code: 'invalid_argument',
      field: 'userId',
      detail: expect.stringMatching(/^Invalid userId: must be well-formed Unicode/) as unknown,
    };
    const users: Array<string | undefined> = [];
    const handler = tokenLimitsHandler(
      () => {
        users.push(currentUserId());
        return new Response('ran');
      },
      { getUserId: (request) => request.headers.get('x-user-id') ?? undefined, locale: 'pt-BR' },
    );
    const anonymous = await handler(new Request('http://x/', { headers: { 'x-user-id': '' } }));
    expect([anonymous.status, await anonymous.text(), users]).toEqual([200, 'ran', [undefined]]);
    const lone = tokenLimitsHandler(() => new Response('ran'), { getUserId: () => '\ud800', locale: 'pt-BR' });
    const refused = await lone(new Request('http://x/'));
    expect([refused.status, await refused.json()]).toEqual([400, invalid]);

    const app = await listen(
      tokenLimitsListener(
        (_req, res) => {
          res.end(`ran as ${String(currentUserId())}`);
        },
        { getUserId: (req) => (req.url === '/lone' ? '\ud800' : (req.headers['x-user-id'] as string | undefined)), locale: 'pt-BR' },
      ),
    );
    try {
      const empty = await fetch(`${app.url}/`, { headers: { 'x-user-id': '' } });
      expect([empty.status, await empty.text()]).toEqual([200, 'ran as undefined']);
      const bad = await fetch(`${app.url}/lone`);
      expect([bad.status, await bad.json()]).toEqual([400, invalid]);
    } finally {
      await app.close();
    }
  });

  it("a library error thrown by getUserId itself (the app's lookup hit a failing store) answers 503 as from the handler", async () => {
    const flaky = flakyStore();
    const limiter = createTokenLimiter({ store: flaky.store, storeTimeoutMs: 200 });
    // The app checks that the signed-in user is known before the route runs.
    const getUserId = async (id: string): Promise<string> => (await limiter.admin.getUsage(id)).userId;
    let ran = 0;
    const handler = tokenLimitsHandler(
      () => {
        ran += 1;
        return new Response('ran');
      },
      { limiter, getUserId: (request) => getUserId(request.headers.get('x-user-id') ?? 'alice') },
    );
    const app = await listen(tokenLimitsListener((_req, res) => void res.end('ran'), { limiter, getUserId: () => getUserId('alice') }));
    try {
      flaky.set('fail');
      const unavailable = { error: 'O serviço de cotas de uso está temporariamente indisponível; tente novamente em instantes', code: 'store_unavailable' };
      const fetched = await handler(new Request('http://x/', { headers: { 'accept-language': 'pt-BR' } }));
      expect([fetched.status, await fetched.json()]).toEqual([503, unavailable]);
      const viaNode = await fetch(app.url, { headers: { 'accept-language': 'pt-BR' } });
      expect([viaNode.status, await viaNode.json()]).toEqual([503, unavailable]);
      expect(ran).toBe(0);
      // Any other error is still the framework's.
      const broken = tokenLimitsHandler(() => new Response('ran'), { getUserId: () => { throw new Error('session store down'); } });
      await expect(broken(new Request('http://x/'))).rejects.toThrow('session store down');
    } finally {
      flaky.set('ok');
      await app.close();
    }
  });

  it('toNodeListener streams bodies both ways and answers 500 without details when the handler throws', async () => {
    const errors: unknown[] = [];
    const app = await listen(
      toNodeListener(
        async (request) => {
          if (request.url.endsWith('/throw')) throw new Error('secret sk-live-123 in a message');
          const text = await request.text();
          const stream = new ReadableStream<Uint8Array>({
            async start(controller) {
              for (const part of ['a', 'b', 'c']) {
                controller.enqueue(new TextEncoder().encode(part));
                await sleep(5);
              }
              controller.enqueue(new TextEncoder().encode(text.toUpperCase()));
              controller.close();
            },
          });
          const headers = new Headers({ 'x-kind': 'stream' });
          headers.append('set-cookie', 'a=1');
          headers.append('set-cookie', 'b=2');
          return new Response(stream, { status: 207, headers });
        },
        { logger: { error: (m, meta) => errors.push([m, meta]) } },
      ),
    );
    try {
      const res = await fetch(`${app.url}/x`, { method: 'POST', body: 'hello' });
      expect(res.status).toBe(207);
      expect(res.headers.get('x-kind')).toBe('stream');
      expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
      expect(await res.text()).toBe('abcHELLO');
      const bad = await fetch(`${app.url}/throw`);
      expect(bad.status).toBe(500);
      const text = await bad.text();
      expect(JSON.parse(text)).toEqual({ error: 'Internal server error', code: 'internal_error' });
      expect(text).not.toContain('sk-live');
      expect(errors).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});

/**
 * Sends `requests` one after another on one keep-alive connection, each once the previous one's
 * status line arrived. Resolves with the status codes received and whether the server closed the
 * connection, when all are answered, the connection closes, or `deadlineMs` passes (a wedged
 * connection: `timedOut`).
 */
function onOneConnection(url: string, requests: string[], deadlineMs = 10_000): Promise<{ statuses: string[]; closed: boolean; timedOut: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    let sent = 0;
    let settled = false;
    const statuses = (): string[] => [...data.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]!);
    const finish = (closed: boolean, timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ statuses: statuses(), closed, timedOut });
    };
    const timer = setTimeout(() => finish(false, true), deadlineMs);
    const sendNext = (): void => {
      if (sent < requests.length) socket.write(requests[sent++]!);
    };
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const answered = statuses().length;
      if (answered === requests.length) finish(false, false);
      else if (answered === sent) sendNext();
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(true, false));
    sendNext();
  });
}

describe('toNodeListener: a request body the handler did not read to the end', () => {
  const limiter = createTokenLimiter();
  const admin = toNodeListener(
    createAdminHandler({ limiter, basePath: '/admin', authorize: (request) => (request.headers.get('authorization') === 'ok' ? { role: 'admin' } : null) }),
  );
  const put = (path: string, size: number) =>
    `PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n${'x'.repeat(size)}`;
  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ok\r\n\r\n`;
  /** Listens with an idle timeout longer than the deadline, so that a wedged connection is not closed by it. */
  const start = async (listener: Parameters<typeof listen>[0]) => {
    const app = await listen(listener);
    app.server.keepAliveTimeout = 60_000;
    return app;
  };

  it('a refused request with a 300 KB body does not wedge the keep-alive connection (admin API, requireUser)', async () => {
    const refusing = tokenLimitsHandler(async () => new Response('ok'), {
      limiter,
      getUserId: (request) => (request.headers.get('authorization') === 'ok' ? 'alice' : undefined),
      requireUser: true,
    });
    const apps = [await start(admin), await start(toNodeListener(refusing))];
    try {
      expect(await onOneConnection(apps[0]!.url, [put('/admin/users/u/limits', 300_000), get('/admin/users/u/usage')])).toEqual({
        statuses: ['401', '200'],
        closed: false,
        timedOut: false,
      });
      expect(await onOneConnection(apps[1]!.url, [put('/chat', 300_000), get('/chat')])).toEqual({ statuses: ['401', '200'], closed: false, timedOut: false });
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  }, 30_000);

  it('a handler that read part of the body and answered: the rest is discarded, the next request is answered', async () => {
    const app = await start(
      toNodeListener(async (request) => {
        if (request.method === 'GET') return new Response('ok');
        const reader = request.body!.getReader();
        await reader.read();
        return new Response('too much', { status: 400 });
      }),
    );
    try {
      expect(await onOneConnection(app.url, [put('/x', 500_000), get('/x')])).toEqual({ statuses: ['400', '200'], closed: false, timedOut: false });
    } finally {
      await app.close();
    }
  }, 30_000);

  it('a body longer than what is worth discarding closes the connection after the answer instead', async () => {
    const app = await start(admin);
    try {
      const result = await onOneConnection(app.url, [put('/admin/users/u/limits', 4 * 1024 * 1024), get('/admin/users/u/usage')]);
      expect(result).toMatchObject({ closed: true, timedOut: false });
      expect((await fetch(`${app.url}/admin/users/u/usage`, { headers: { authorization: 'ok' } })).status).toBe(200);
    } finally {
      await app.close();
    }
  }, 30_000);
});

describe('toNodeListener and what Fetch cannot carry', () => {
  const send = (url: string, method: string, path: string) =>
    new Promise<{ status: number; allow: string | undefined; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const req = httpRequest({ host: hostname, port, method, path }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('answers 405 with Allow, not 500, for a method a Fetch Request cannot carry (TRACE)', async () => {
    const seen: string[] = [];
    const errors: unknown[] = [];
    const app = await listen(
      toNodeListener(
        (request) => {
          seen.push(request.method);
          return new Response('ok');
        },
        { logger: { error: (m) => errors.push(m) } },
      ),
    );
    try {
      const trace = await send(app.url, 'TRACE', '/x');
      expect(trace.status).toBe(405);
      expect(trace.allow).toBe('GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS');
      expect(JSON.parse(trace.body)).toEqual({ error: 'Method not allowed', code: 'method_not_allowed' });
      expect(seen).toEqual([]); // the handler is never called with a method it did not get
      expect(errors).toEqual([]);
      expect((await send(app.url, 'PROPFIND', '/x')).status).toBe(200); // Fetch carries this one
      expect(seen).toEqual(['PROPFIND']);
    } finally {
      await app.close();
    }
  });

  it('answers 400, not 500, for a Host header that names no valid host', async () => {
    const seen: string[] = [];
    const errors: unknown[] = [];
    const app = await listen(
      toNodeListener(
        (request) => {
          seen.push(new URL(request.url).host);
          return new Response('ok');
        },
        { logger: { error: (m) => errors.push(m) } },
      ),
    );
    const { hostname, port } = new URL(app.url);
    const withHost = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: hostname, port, path: '/x', headers: { host } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      for (const host of [':', 'a:99999', '[::1', 'a:b:c']) {
        const res = await withHost(host);
        expect([host, res.status, JSON.parse(res.body)]).toEqual([
          host,
          400,
          { error: 'Invalid value for "Host"', code: 'invalid_argument', field: 'Host', detail: 'the Host header is not a valid host[:port]' },
        ]);
      }
      expect(seen).toEqual([]);
      expect(errors).toEqual([]); // the client's mistake: nothing logged as a handler failure
      expect(await withHost('example.com:8080')).toEqual({ status: 200, body: 'ok' });
      expect(seen).toEqual(['example.com:8080']);
    } finally {
      await app.close();
    }
  });

  it('keeps a target that starts with // as a path on its own host', async () => {
    const urls: string[] = [];
    const app = await listen(
      toNodeListener((request) => {
        urls.push(request.url);
        return new Response('ok');
      }),
    );
    try {
      await send(app.url, 'GET', '//evil.example/x?y=1');
      expect(urls).toEqual([`${app.url}//evil.example/x?y=1`]);
    } finally {
      await app.close();
    }
  });
});

describe('tokenLimitsListener (plain node:http listeners)', () => {
  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let text = '';
      req.setEncoding('utf8').on('data', (c: string) => (text += c));
      req.on('end', () => resolve(text));
    });

  it('runs the listener with the user (body read with stream events included) and maps the library errors', async () => {
    const limiter = await makeLimiter('memory', { defaultLimits: monthly(1000) });
    await limiter.admin.setActive('carol', false);
    const appErrors: unknown[] = [];
    const listener = tokenLimitsListener(
      async (req: IncomingMessage, res: ServerResponse) => {
        if (req.url === '/health') {
          res.setHeader('x-app', '1');
          res.end('ok');
          return;
        }
        if (req.url === '/boom') throw new Error('app bug');
        if (req.url === '/late') {
          // Callback style: the call starts from the request's 'end' event.
          let text = '';
          req.setEncoding('utf8').on('data', (c: string) => (text += c));
          req.on('end', () => {
            chargeFromContext((JSON.parse(text) as { tokens: number }).tokens).then(
              (result) => res.end(JSON.stringify(result)),
              (error: Error) => res.end(JSON.stringify({ failed: error.name })),
            );
          });
          return;
        }
        const { tokens } = JSON.parse(await readBody(req)) as { tokens: number };
        const result = await chargeFromContext(tokens);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(result));
      },
      {
        limiter,
        getUserId: (req) => sessionUser(req.headers.cookie),
        onError: (error, _req, res) => {
          appErrors.push(error);
          res.statusCode = 500;
          res.end('app 500');
        },
      },
    );
    const app = await listen(listener);
    try {
      const call = (sid: string, tokens: number, path = '/chat') =>
        fetch(app.url + path, { method: 'POST', headers: { cookie: `sid=${sid}` }, body: JSON.stringify({ tokens, userId: 'mallory' }) });
      const answers = await Promise.all([call('s1', 10), call('s2', 20), call('s1', 30), call('s2', 40)]);
      expect(await Promise.all(answers.map((r) => r.json()))).toEqual([{ userId: 'alice' }, { userId: 'bob' }, { userId: 'alice' }, { userId: 'bob' }]);
      expect((await limiter.admin.getUsage('alice')).used).toBe(40);
      expect((await limiter.admin.getUsage('bob')).used).toBe(60);

      const late = await Promise.all([
        postWithLateBody(`${app.url}/late`, { cookie: 'sid=s1' }, JSON.stringify({ tokens: 5 })),
        postWithLateBody(`${app.url}/late`, { cookie: 'sid=s2' }, JSON.stringify({ tokens: 7 })),
      ]);
      expect(late.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ userId: 'alice' }, { userId: 'bob' }]);
      expect((await limiter.admin.getUsage('alice')).used).toBe(45);
      expect((await limiter.admin.getUsage('bob')).used).toBe(67);

      const over = await call('s1', 2000);
      expect(over.status).toBe(429);
      expect(Object.keys((await over.json()) as object).sort()).toEqual(['accountId', 'code', 'error', 'limit', 'metric', 'remaining', 'resetDate', 'ruleId', 'scope', 'used']);
      expect((await call('s3', 1)).status).toBe(403);

      const health = await fetch(`${app.url}/health`);
      expect(health.status).toBe(200);
      expect(health.headers.get('x-app')).toBe('1');
      expect(await health.text()).toBe('ok');

      const boom = await call('s1', 1, '/boom');
      expect(await boom.text()).toBe('app 500');
      expect(appErrors).toMatchObject([{ message: 'app bug' }]);
    } finally {
      await app.close();
    }
  });

  it('a store that can take no new user answers 503 store_full, in en and pt-BR', async () => {
    // One user at most, and that one not idle (a call in flight): a second user is refused.
    const limiter = createTokenLimiter({ store: new MemoryStore({ maxUsers: 1 }) });
    await limiter.reserve('alice', { tokens: 1 });
    const app = await listen(tokenLimitsListener(() => chargeFromContext(1), { limiter, getUserId: () => 'bob' }));
    try {
      const res = await fetch(app.url);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: 'The usage quota service cannot take more users right now; try again later', code: 'store_full' });
      const pt = await fetch(app.url, { headers: { 'accept-language': 'pt-BR' } });
      expect(pt.status).toBe(503);
      expect(await pt.json()).toEqual({ error: 'O serviço de cotas de uso não pode receber mais usuários agora; tente novamente mais tarde', code: 'store_full' });
    } finally {
      await app.close();
    }
  });

  it('a store failure answers 503', async () => {
    const flaky = flakyStore();
    flaky.set('fail');
    const limiter = createTokenLimiter({ store: flaky.store });
    const app = await listen(tokenLimitsListener(() => chargeFromContext(1), { limiter, getUserId: () => 'alice' }));
    try {
      const res = await fetch(app.url);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: 'The usage quota service is temporarily unavailable; try again shortly', code: 'store_unavailable' });
    } finally {
      await app.close();
    }
  });
});

describe('errorToResponse', () => {
  const exceeded = (fields: Partial<ConstructorParameters<typeof TokenLimitExceededError>[0]> = {}) =>
    new TokenLimitExceededError({
      userId: 'u',
      ruleId: 'daily',
      metric: 'tokens',
      limit: 5000,
      used: 4990,
      reserved: 5,
      requested: 100,
      resetAt: new Date('2026-05-02T00:00:00Z'),
      periodStart: new Date('2026-05-01T00:00:00Z'),
      rejectedAt: new Date('2026-05-01T23:59:58.001Z'),
      ...fields,
    });

  it('429 with exact body and headers', async () => {
    const res = errorToResponse(exceeded())!;
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('ratelimit-policy')).toBe('"daily";q=5000;w=86400');
    expect(res.headers.get('ratelimit')).toBe('"daily";r=5;t=2');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      error: 'Token limit exceeded. It resets on May 2, 2026, 12:00 AM UTC.',
      code: 'token_limit_exceeded',
      scope: 'user',
      accountId: null,
      ruleId: 'daily',
      metric: 'tokens',
      limit: 5000,
      used: 4990,
      remaining: 5,
      resetDate: '2026-05-02T00:00:00.000Z',
    });
  });

  it("an account's refusal names the scope, the account and the rule; the message says the team's limit, in en and pt-BR", async () => {
    const account = exceeded({ scope: 'account', accountId: 'acme', ruleId: 'team-daily' });
    const res = errorToResponse(account)!;
    expect(res.status).toBe(429);
    expect(res.headers.get('ratelimit')).toBe('"team-daily";r=5;t=2');
    expect(await res.json()).toEqual({
      error: "Your team's limit has been reached (tokens). It resets on May 2, 2026, 12:00 AM UTC.",
      code: 'token_limit_exceeded',
      scope: 'account',
      accountId: 'acme',
      ruleId: 'team-daily',
      metric: 'tokens',
      limit: 5000,
      used: 4990,
      remaining: 5,
      resetDate: '2026-05-02T00:00:00.000Z',
    });
    const pt = (await errorToResponse(account, { locale: 'pt-BR' })!.json()) as { error: string; scope: string };
    expect(pt).toMatchObject({ error: 'O limite da sua equipe foi atingido (tokens). Ele é renovado em 2 de mai. de 2026, 00:00 UTC.', scope: 'account' });
    const cost = (await errorToResponse(exceeded({ scope: 'account', accountId: 'acme', metric: 'costUsd', limit: 2 }), { locale: 'pt-BR' })!.json()) as { error: string };
    expect(cost.error).toMatch(/^O limite da sua equipe foi atingido \(gastos\)\./);
    const req = (await errorToResponse(exceeded({ scope: 'account', accountId: 'acme', metric: 'requests' }))!.json()) as { error: string };
    expect(req.error).toMatch(/^Your team's limit has been reached \(requests\)\./);
    // The user's own rule: scope user, no account, the user's message in both locales.
    const user = (await errorToResponse(exceeded({ scope: 'user' }), { locale: 'pt-BR' })!.json()) as Record<string, unknown>;
    expect(user).toMatchObject({ scope: 'user', accountId: null, ruleId: 'daily' });
    expect(user.error).toMatch(/^Limite de tokens excedido\./);
    // An error from an older copy of the package (no scope field) is the user's.
    const older = Object.assign(exceeded(), { scope: undefined, accountId: undefined });
    expect(await errorToResponse(older)!.json()).toMatchObject({ scope: 'user', accountId: null });
  });

  it('request and cost rules; a reset already past gives 0; no window without periodStart', async () => {
    const req = errorToResponse(exceeded({ metric: 'requests', ruleId: 'rpm', limit: 60, used: 60, reserved: 0, periodStart: undefined as never }))!;
    expect(req.headers.get('ratelimit-policy')).toBe('"rpm";q=60');
    expect(((await req.json()) as { error: string }).error).toMatch(/^Request limit exceeded/);
    const cost = errorToResponse(exceeded({ metric: 'costUsd', ruleId: 'budget', limit: 2.5, used: 2.4, reserved: 0.05 }), { locale: 'pt-BR' })!;
    expect(cost.headers.get('ratelimit-policy')).toBe('"budget";q=2500000;w=86400');
    expect(cost.headers.get('ratelimit')).toBe('"budget";r=50000;t=2');
    const body = (await cost.json()) as { error: string; remaining: number };
    expect(body.error).toMatch(/^Limite de gastos excedido/);
    expect(body.remaining).toBeCloseTo(0.05, 10);
    const past = errorToResponse(exceeded({ rejectedAt: new Date('2026-05-03T00:00:00Z') }))!;
    expect(past.headers.get('retry-after')).toBe('0');
  });

  it('a cost refusal gives remaining in whole micro-dollars, as the admin API does (0.05, not 0.04999999999999999)', async () => {
    const limiter = createTokenLimiter({ store: new MemoryStore(), defaultLimits: [{ id: 'budget', costUsd: 0.3, period: 'day' }] });
    await limiter.commit(await limiter.reserve('u', { tokens: 1, costUsd: 0.25 }), { inputTokens: 1, outputTokens: 0, costUsd: 0.25 });
    const refusal = await limiter.reserve('u', { tokens: 1, costUsd: 0.1 }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(TokenLimitExceededError);
    const res = errorToResponse(refusal)!;
    expect(await res.json()).toMatchObject({ metric: 'costUsd', limit: 0.3, used: 0.25, remaining: 0.05 });
    expect(res.headers.get('ratelimit')).toMatch(/^"budget";r=50000;t=\d+$/);
    expect((await limiter.admin.getUsage('u')).remaining).toBe(0.05);
  });

  it('a request larger than the whole limit: no Retry-After, and the message says waiting will not help, in en and pt-BR', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', tokens: 5_000, period: 'day' }] });
    const refusal = await limiter.reserve('u', { tokens: 6_000 }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(TokenLimitExceededError);
    expect((refusal as Error).message).toMatch(/the request alone is larger than the limit, so it is refused after the reset at .* too$/);
    const res = errorToResponse(refusal)!;
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.headers.get('ratelimit')).toMatch(/^"daily";r=5000;t=\d+$/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'token_limit_exceeded', ruleId: 'daily', limit: 5_000, used: 0, remaining: 5_000 });
    expect(body.error).toMatch(/^Token limit exceeded\. This request alone needs more than the whole limit, so it would be refused after the reset on .+ too: make it smaller \(a lower maximum output\) or raise the limit\.$/);
    const pt = (await errorToResponse(refusal, { locale: 'pt-BR' })!.json()) as { error: string };
    expect(pt.error).toMatch(/^Limite de tokens excedido\. Só esta requisição precisa de mais que o limite inteiro/);
    // Exactly the limit fits an empty window: the usual message and Retry-After.
    const full = errorToResponse(exceeded({ requested: 5_000 }))!;
    expect(full.headers.get('retry-after')).toBe('2');
    expect(((await full.json()) as { error: string }).error).toBe('Token limit exceeded. It resets on May 2, 2026, 12:00 AM UTC.');
    await limiter.close();
  });

  it('403, 503, and undefined for everything else', async () => {
    expect(errorToResponse(new UserDisabledError('u'))!.status).toBe(403);
    const store = errorToResponse(new QuotaStoreError('reserve', 'redis at 10.0.0.5:6379 refused AUTH hunter2', { cause: new Error('x') }))!;
    expect(store.status).toBe(503);
    expect(await store.text()).not.toMatch(/10\.0\.0\.5|hunter2/);
    expect(errorToResponse(new MissingUserError())).toBeUndefined();
    expect(errorToResponse(new InvalidArgumentError('x', 1, 'bad'))).toBeUndefined();
    expect(errorToResponse(new Error('other'))).toBeUndefined();
    expect(errorToResponse('a string')).toBeUndefined();
    expect(errorToResponse(Object.assign(new Error('fake'), { name: 'TokenLimitExceededError', code: 'token_limit_exceeded' }))).toBeUndefined();
    expect(() => errorToResponse(new Error('x'), { locale: 'xx' })).toThrow(/options.locale/);
  });

  it('maps errors from another copy of the package (matched by name and code)', () => {
    const foreign = Object.assign(new Error('copy'), { name: 'UserDisabledError', code: 'user_disabled', userId: 'u' });
    expect(errorToResponse(foreign)!.status).toBe(403);
  });
});
