import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import express from 'express';
import { createAdminRouter } from '../../src/integrations/express/index.js';
import { createAdminHandler, tokenLimitsListener, toNodeListener } from '../../src/integrations/http/index.js';
import type { Logger, TokenLimiter } from '../../src/index.js';
import { listen, makeLimiter, monthly } from './helpers.js';

/** Unhandled rejections seen during a test (each one would end a Node process by default). */
let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

/** A GET that gives up after `ms` (a request left unanswered). */
async function get(url: string, ms = 2000): Promise<{ status: number; body: string } | 'no answer'> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
    return { status: res.status, body: await res.text() };
  } catch {
    return 'no answer';
  }
}

describe('tokenLimitsListener: an onError callback that fails', () => {
  it('an onError that throws or rejects: the request is answered 500, the failure logged, nothing unhandled', async () => {
    const limiter = await makeLimiter('memory', { defaultLimits: monthly(1000) });
    const logged: Array<[string, Record<string, unknown> | undefined]> = [];
    const listener = tokenLimitsListener(
      (req: IncomingMessage) => {
        throw new Error(`app bug on ${req.url}`);
      },
      {
        limiter,
        getUserId: () => 'alice',
        logger: { error: (message, meta) => logged.push([message, meta]) },
        onError: (_error, req, res: ServerResponse) => {
          // Express habits on a node:http response: `res.status` is not a function.
          if (req.url === '/sync') (res as unknown as { status(code: number): void }).status(500);
          if (req.url === '/async') return Promise.reject(new Error('onError rejected'));
          return undefined;
        },
      },
    );
    const app = await listen(listener);
    try {
      for (const path of ['/sync', '/async']) {
        const answer = await get(`${app.url}${path}`);
        expect(answer).toEqual({ status: 500, body: JSON.stringify({ error: 'Internal server error', code: 'internal_error' }) });
      }
      expect(logged.map(([message]) => message)).toEqual([
        'token-limits: the onError callback of tokenLimitsListener threw',
        'token-limits: the onError callback of tokenLimitsListener threw',
      ]);
      expect(logged[0]![1]).toMatchObject({ error: expect.stringContaining('status is not a function') as unknown, cause: 'Error: app bug on /sync' });
      expect(logged[1]![1]).toMatchObject({ error: 'Error: onError rejected' });
      expect(unhandled).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('a logger that throws or rejects never costs a request its answer', () => {
  const loggers: Array<[string, Logger]> = [
    ['throws', { error: () => { throw new Error('logger down'); } }],
    ['rejects', { error: (() => Promise.reject(new Error('logger down'))) as unknown as NonNullable<Logger['error']> }],
  ];

  for (const [how, logger] of loggers) {
    it(`toNodeListener and tokenLimitsListener still answer 500 (a logger that ${how})`, async () => {
      const limiter = await makeLimiter('memory', { defaultLimits: monthly(1000) });
      const fetchApp = await listen(toNodeListener(() => { throw new Error('handler bug'); }, { logger }));
      const nodeApp = await listen(tokenLimitsListener(() => { throw new Error('listener bug'); }, { limiter, getUserId: () => 'alice', logger }));
      try {
        const internal = { status: 500, body: JSON.stringify({ error: 'Internal server error', code: 'internal_error' }) };
        expect(await get(fetchApp.url)).toEqual(internal);
        expect(await get(nodeApp.url)).toEqual(internal);
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
      } finally {
        await fetchApp.close();
        await nodeApp.close();
      }
    });

    it(`the admin API answers its own 500 when authorize throws or a route fails unexpectedly (a logger that ${how})`, async () => {
      const limiter = await makeLimiter('memory', { defaultLimits: monthly(1000) });
      const broken = Object.create(limiter, {
        admin: { value: { ...limiter.admin, getStats: () => Promise.reject(new Error('unexpected')) } },
      }) as TokenLimiter;
      const authorize = (path: string): { role: 'admin' } => {
        if (path.endsWith('/users')) throw new Error('session store down');
        return { role: 'admin' };
      };
      const internal = { error: 'Internal server error', code: 'internal_error' };

      // Fetch: the handler resolves to the API's 500 instead of rejecting into the framework.
      const handler = createAdminHandler({ limiter: broken, authorize: (request) => authorize(new URL(request.url).pathname), basePath: '/admin', logger });
      for (const path of ['/admin/users', '/admin/stats']) {
        const res = await handler(new Request(`http://app.test${path}`));
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual(internal);
      }

      // Express: the router answers, the app's error handler never sees the logger's error.
      const appErrors: unknown[] = [];
      const app = express();
      app.use('/admin', createAdminRouter({ limiter: broken, authorize: (req) => authorize(req.path), logger }));
      app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        appErrors.push(err);
        res.status(599).end();
      });
      const server = await listen(app);
      try {
        for (const path of ['/admin/users', '/admin/stats']) {
          expect(await get(`${server.url}${path}`)).toEqual({ status: 500, body: JSON.stringify(internal) });
        }
        expect(appErrors).toEqual([]);
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
      } finally {
        await server.close();
      }
    });
  }
});

describe('tokenLimitsListener: a listener that throws after it answered', () => {
  it('keeps a response the listener had ended (the error is logged); cuts one it had only begun', async () => {
    const limiter = await makeLimiter('memory', { defaultLimits: monthly(1000) });
    const logged: unknown[] = [];
    const body = 'x'.repeat(4 * 1024 * 1024); // more than the socket takes at once
    const app = await listen(
      tokenLimitsListener(
        async (req: IncomingMessage, res: ServerResponse) => {
          if (req.url === '/ended') res.end(body);
          else res.write(body.slice(0, 1000));
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error('the audit log after the answer failed');
        },
        { limiter, getUserId: () => 'alice', logger: { error: (message, meta) => logged.push([message, meta]) } },
      ),
    );
    try {
      const ended = await fetch(`${app.url}/ended`);
      expect(ended.status).toBe(200);
      expect((await ended.text()).length).toBe(body.length);
      const begun = await fetch(`${app.url}/begun`);
      await expect(begun.text()).rejects.toThrow();
      expect(logged).toEqual([
        ['token-limits: a request listener threw', { error: 'Error: the audit log after the answer failed' }],
        ['token-limits: a request listener threw', { error: 'Error: the audit log after the answer failed' }],
      ]);
    } finally {
      await app.close();
    }
  });
});
