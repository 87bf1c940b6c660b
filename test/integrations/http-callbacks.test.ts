import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenLimitsListener } from '../../src/integrations/http/index.js';
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
