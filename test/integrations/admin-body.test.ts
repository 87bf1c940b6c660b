import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdminRouter } from '../../src/integrations/express/index.js';
import { createAdminHandler, toNodeListener } from '../../src/integrations/http/index.js';
import type { LimitRule } from '../../src/index.js';
import { closeRedis, listen, makeLimiter, type Running } from './helpers.js';

afterAll(closeRedis);

const RULE: LimitRule = { id: 'daily', tokens: 500, period: 'day' };

describe('admin API: a JSON body with a key given twice', () => {
  it('is refused with 400 naming the key, and nothing is written (Fetch handler on node:http, Express router reading the body)', async () => {
    const limiter = await makeLimiter('redis');
    await limiter.admin.setLimits('bob', [RULE]);
    const authorize = (): { role: 'admin' } => ({ role: 'admin' });
    const servers: Running[] = [await listen(toNodeListener(createAdminHandler({ limiter, authorize, basePath: '/admin' })))];
    const app = express();
    app.use('/admin', createAdminRouter({ limiter, authorize }));
    servers.push(await listen(app));
    try {
      for (const server of servers) {
        const put = (body: string) =>
          fetch(`${server.url}/admin/users/bob/limits`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
        const cases: Array<[string, string]> = [
          // The last one would win: the user's rules would silently go back to the defaults.
          [`{"rules":[${JSON.stringify(RULE)}],"rules":null}`, 'rules'],
          ['{"rules":[{"id":"daily","tokens":5,"period":"day","tokens":5000000}]}', 'rules[0].tokens'],
          ['{"rules":[{"id":"a","tokens":5,"period":"day"},{"id":"b","requests":1,"period":{"days":1,"days":30}}]}', 'rules[1].period.days'],
          ['{"rules":null,"\\u0072ules":[]}', 'rules'],
        ];
        for (const [body, field] of cases) {
          const res = await put(body);
          expect(res.status).toBe(400);
          expect(await res.json()).toMatchObject({ code: 'invalid_argument', field, detail: expect.stringContaining('given more than once') as unknown });
        }
        expect(await limiter.admin.getLimits('bob')).toEqual([RULE]);

        // Keys that only look alike, and the same key in two objects, are fine.
        const ok = await put('{"rules":[{"id":"tokens","tokens":5,"period":"day"},{"id":"c","tokens":6,"period":"day"}]}');
        expect(ok.status).toBe(200);
        await limiter.admin.setLimits('bob', [RULE]);
      }
    } finally {
      for (const s of servers) await s.close();
    }
  });
});
