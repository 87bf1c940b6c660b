import express from 'express';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, type TokenLimiter } from '../../src/index.js';
import { createAdminRouter } from '../../src/integrations/express/index.js';
import { createAdminHandler, toNodeListener, type AdminPrincipal } from '../../src/integrations/http/index.js';
import { createPostgresLedger, type PostgresLedger } from '../../src/postgres/index.js';
import { manualClock } from '../helpers/clock.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { listen, type Running } from '../integrations/helpers.js';

/** The admin panel's "download" button: GET /export streams the ledger as CSV. */
let pool: pg.Pool;
let ledger: PostgresLedger;
let limiter: TokenLimiter;
let bare: TokenLimiter;
const schema = uniqueSchema();
const servers: Running[] = [];

const principalOf = (auth: string | null | undefined): AdminPrincipal | null =>
  auth === 'Bearer admin' ? { role: 'admin' } : auth === 'Bearer user' ? { role: 'user', userId: 'alice' } : null;

beforeAll(async () => {
  pool = await connectPostgres();
  ledger = createPostgresLedger({ pool, schema, drain: { pollMs: 20 } });
  await ledger.migrate();
  const clock = manualClock('2026-04-20T10:00:00Z');
  limiter = createTokenLimiter({ store: new MemoryStore(), ledger, clock: clock.now });
  bare = createTokenLimiter({ store: new MemoryStore() });
  for (let i = 0; i < 40; i += 1) {
    const user = i % 4 === 0 ? 'bob' : 'alice';
    const r = await limiter.reserve(user, { tokens: 10 });
    await limiter.commit(r, { inputTokens: 3 + i, outputTokens: 2, model: i % 5 === 0 ? 'gpt-4o' : 'gpt-4o-mini', costUsd: (i + 1) / 1_000_000 });
    clock.advance(86_400_000 / 2);
  }
  await limiter.flushLedger();
  const app = express();
  app.use('/admin', createAdminRouter({ limiter, authorize: (req) => principalOf(req.headers.authorization) }));
  servers.push(await listen(app as never));
  servers.push(await listen(toNodeListener(createAdminHandler({ limiter, basePath: '/admin', authorize: (req) => principalOf(req.headers.get('authorization')) }))));
  servers.push(await listen(toNodeListener(createAdminHandler({ limiter: bare, basePath: '/admin', authorize: (req) => principalOf(req.headers.get('authorization')) }))));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await limiter?.close();
  await bare?.close();
  await dropSchema(pool, schema);
  await pool?.end();
});

describe('GET /export (admin API)', () => {
  it.each([
    ['createAdminRouter (express)', 0],
    ['createAdminHandler (node:http)', 1],
  ])("%s: a user's month as CSV, matching ledger.query", async (_name, index) => {
    const from = '2026-05-01T00:00:00.000Z';
    const to = '2026-06-01T00:00:00.000Z';
    const res = await fetch(`${servers[index]!.url}/admin/export?userId=alice&from=${from}&to=${to}`, { headers: { authorization: 'Bearer admin' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="usage-2026-05-01-2026-06-01-alice.csv"');
    const [header, ...lines] = (await res.text()).trim().split('\n').map((l) => l.split(','));
    const col = (name: string) => header!.indexOf(name);
    const [total] = await ledger.query({ userId: 'alice', from, to });
    expect(total!.requests).toBeGreaterThan(5);
    expect(lines).toHaveLength(total!.requests);
    expect(lines.reduce((s, l) => s + Number(l[col('total_tokens')]), 0)).toBe(total!.totalTokens);
    expect(lines.reduce((s, l) => s + Number(l[col('cost_micros')]), 0)).toBe(total!.costMicros);
    expect(new Set(lines.map((l) => l[col('user_id')]))).toEqual(new Set(['alice']));
  });

  it("names an account's export after the account: two accounts' months do not share a file name", async () => {
    const base = servers[1]!.url;
    const admin = { headers: { authorization: 'Bearer admin' } };
    const names: Array<string | null> = [];
    for (const query of ['accountId=team-a', 'accountId=team%2Fb', 'accountId=team-a&userId=alice', 'format=jsonl&accountId=team-a']) {
      const res = await fetch(`${base}/admin/export?from=2026-05-01&to=2026-06-01&${query}`, admin);
      expect(res.status, query).toBe(200);
      await res.text();
      names.push(res.headers.get('content-disposition'));
    }
    expect(names).toEqual([
      'attachment; filename="usage-2026-05-01-2026-06-01-account-team-a.csv"',
      'attachment; filename="usage-2026-05-01-2026-06-01-account-team_b.csv"',
      'attachment; filename="usage-2026-05-01-2026-06-01-account-team-a-alice.csv"',
      'attachment; filename="usage-2026-05-01-2026-06-01-account-team-a.jsonl"',
    ]);
  });

  it('`to` sent alone: the UTC month it ends in, not a 400 naming a `from` the client never sent', async () => {
    const base = servers[1]!.url;
    const admin = { headers: { authorization: 'Bearer admin' } };
    const res = await fetch(`${base}/admin/export?format=jsonl&to=2026-05-01`, admin);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="usage-2026-04-01-2026-05-01.jsonl"');
    const ids = (await res.text()).trim().split('\n').map((l) => (JSON.parse(l) as { created_at: string }).created_at);
    const [april] = await ledger.query({ from: '2026-04', to: '2026-05' });
    expect(ids).toHaveLength(april!.requests);
    expect(ids.every((t) => t.startsWith('2026-04'))).toBe(true);
    const mid = await fetch(`${base}/admin/export?to=2026-05-20T12:00:00Z`, admin);
    expect(mid.headers.get('content-disposition')).toBe('attachment; filename="usage-2026-05-01-2026-05-20.csv"');
    await mid.text();
  });

  it('JSON lines, and refusals: bad query 400, a signed-in user 403, no ledger 501', async () => {
    const base = servers[1]!.url;
    const admin = { headers: { authorization: 'Bearer admin' } };
    const jsonl = await fetch(`${base}/admin/export?format=jsonl&from=2026-04-01&to=2026-07-01`, admin);
    expect(jsonl.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect((await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l) as { id: string })).toHaveLength(40);
    expect((await fetch(`${base}/admin/export?format=xml`, admin)).status).toBe(400);
    expect((await fetch(`${base}/admin/export?from=2026-05-02&to=2026-05-01`, admin)).status).toBe(400);
    expect((await fetch(`${base}/admin/export`, { headers: { authorization: 'Bearer user' } })).status).toBe(403);
    // The server lacks the feature; the request was not wrong (a 400 had clients hunt for a bad parameter).
    const none = await fetch(`${servers[2]!.url}/admin/export`, admin);
    expect(none.status).toBe(501);
    expect(await none.json()).toEqual({ error: 'Usage export is not available on this server: it has no usage ledger', code: 'ledger_not_configured' });
    const ptBR = await fetch(`${servers[2]!.url}/admin/export?format=jsonl`, { headers: { ...admin.headers, 'accept-language': 'pt-BR' } });
    expect(ptBR.status).toBe(501);
    expect(await ptBR.json()).toMatchObject({ code: 'ledger_not_configured', error: expect.stringContaining('não está disponível') });
    const head = await fetch(`${servers[2]!.url}/admin/export`, { ...admin, method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([501, '']);
    // A bad query is still the client's mistake, ledger or not.
    expect((await fetch(`${servers[2]!.url}/admin/export?format=xml`, admin)).status).toBe(400);
    // Through Express too.
    const app = express();
    app.use('/admin', createAdminRouter({ limiter: bare, authorize: (req) => principalOf(req.headers.authorization) }));
    const viaExpress = await listen(app as never);
    servers.push(viaExpress);
    const express501 = await fetch(`${viaExpress.url}/admin/export`, admin);
    expect([express501.status, ((await express501.json()) as { code: string }).code]).toEqual([501, 'ledger_not_configured']);
  });
});
