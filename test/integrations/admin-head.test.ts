import { connect } from 'node:net';
import type { Request as ExpressRequest } from 'express';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, type TokenLimiter } from '../../src/index.js';
import { createAdminRouter } from '../../src/integrations/express/index.js';
import { createAdminHandler, toNodeListener, type AdminPrincipal } from '../../src/integrations/http/index.js';
import { ROUTES } from '../../src/integrations/http/admin/routes.js';
import { createPostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { expressVersions } from './express-app.js';
import { listen, monthly, type Running } from './helpers.js';
import { closedPort } from '../helpers/ports.js';

/** HEAD on the admin API: what the GET answers (status, headers), without a body, on every surface. */
const principalOf = (auth: string | null | undefined): AdminPrincipal | null =>
  auth === 'Bearer admin' ? { role: 'admin', userId: 'alice' } : auth === 'Bearer user' ? { role: 'user', userId: 'alice' } : null;
const ADMIN = { authorization: 'Bearer admin' };

interface Answer {
  status: number;
  headers: Record<string, string>;
  /** What came after the headers, as sent. */
  body: string;
}

/** Headers that say how this one message is framed or when it was sent, not what it is. */
const FRAMING = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

function comparable(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !FRAMING.has(name)));
}

interface Surface {
  name: string;
  request(method: string, path: string, headers?: Record<string, string>): Promise<Answer>;
}

/** One request on its own connection, read to its close: the bytes on the wire, body included. */
function onTheWire(base: string): Surface['request'] {
  const { hostname, port } = new URL(base);
  return (method, path, headers = {}) =>
    new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('end', () => {
        const raw = Buffer.concat(chunks).toString('latin1');
        const split = raw.indexOf('\r\n\r\n');
        const [statusLine, ...lines] = raw.slice(0, split).split('\r\n');
        const parsed: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        resolve({ status: Number(statusLine!.split(' ')[1]), headers: parsed, body: raw.slice(split + 4) });
      });
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`${method} /admin${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n${extra}\r\n`);
    });
}

const servers: Running[] = [];
const limiters: TokenLimiter[] = [];
const pools: pg.Pool[] = [];

async function surfacesOf(limiter: TokenLimiter): Promise<Surface[]> {
  const out: Surface[] = [];
  const handler = createAdminHandler({ limiter, basePath: '/admin', authorize: (r) => principalOf(r.headers.get('authorization')) });
  const node = await listen(toNodeListener(handler));
  servers.push(node);
  out.push({ name: 'toNodeListener(createAdminHandler)', request: onTheWire(node.url) });
  for (const { name, express } of expressVersions) {
    const app = express();
    app.use('/admin', createAdminRouter({ limiter, authorize: (req: ExpressRequest) => principalOf(req.headers.authorization) }));
    const running = await listen(app as never);
    servers.push(running);
    out.push({ name: `createAdminRouter on ${name}`, request: onTheWire(running.url) });
  }
  out.push({
    name: 'createAdminHandler (fetch)',
    async request(method, path, headers = {}) {
      const response = await handler(new Request(`http://api.test/admin${path}`, { method, headers }));
      // A HEAD response must have no body at all (null), not an empty one.
      const body = response.body === null ? '' : await response.text();
      if (method === 'HEAD' && response.body !== null) return { status: response.status, headers: {}, body: `a body: ${JSON.stringify(body)}` };
      return { status: response.status, headers: Object.fromEntries(response.headers), body };
    },
  });
  return out;
}

/** Every GET route of the API, with its parameters filled in. */
const GET_PATHS = ROUTES.filter((r) => r.method === 'GET').map((r) => r.path.replace(':id', 'alice').replace(':planId', 'pro').replace(':accountId', 'acme'));

let healthy: Surface[];
let ledgerDown: Surface[];
const schema = uniqueSchema();
let pool: pg.Pool;

beforeAll(async () => {
  pool = await connectPostgres();
  const ledger = createPostgresLedger({ pool, schema, drain: { pollMs: 20 } });
  await ledger.migrate();
  const limiter = createTokenLimiter({ store: new MemoryStore(), ledger, defaultLimits: monthly(1000) });
  limiters.push(limiter);
  await limiter.admin.setPlan('pro', monthly(5000));
  await limiter.admin.setAccount('alice', 'acme');
  const r = await limiter.reserve('alice', { tokens: 10 });
  await limiter.commit(r, { inputTokens: 5, outputTokens: 2, model: 'gpt-4o-mini' });
  await limiter.flushLedger();
  healthy = await surfacesOf(limiter);

  const nowhere = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/test`, connectionTimeoutMillis: 2_000 });
  pools.push(nowhere);
  const broken = createTokenLimiter({ store: new MemoryStore(), ledger: createPostgresLedger({ pool: nowhere }) });
  limiters.push(broken);
  ledgerDown = await surfacesOf(broken);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const l of limiters) await l.close();
  await dropSchema(pool, schema);
  await pool.end();
  for (const p of pools) await p.end().catch(() => {});
});

describe('HEAD on the admin API', () => {
  it('every GET route: the same status and headers as GET, and no body', async () => {
    expect(GET_PATHS.length).toBeGreaterThan(15);
    for (const surface of healthy) {
      for (const path of GET_PATHS) {
        const get = await surface.request('GET', path, ADMIN);
        const head = await surface.request('HEAD', path, ADMIN);
        const where = `${surface.name} ${path}`;
        expect(get.status, where).toBe(200);
        expect(get.body.length, where).toBeGreaterThan(0);
        expect(head.status, where).toBe(get.status);
        expect(head.body, where).toBe('');
        expect(comparable(head.headers), where).toEqual(comparable(get.headers));
      }
    }
  });

  it('errors too: 401, 403, 400 and a ledger that is down (503) answer as for GET, without a body', async () => {
    const cases: Array<[Surface[], string, Record<string, string>, number]> = [
      [healthy, '/stats', {}, 401],
      [healthy, '/stats', { authorization: 'Bearer user' }, 403],
      [healthy, '/log?limit=0', ADMIN, 400],
      [healthy, '/plans/nope', ADMIN, 404],
      [ledgerDown, '/export', ADMIN, 503],
      [ledgerDown, '/export?format=jsonl', ADMIN, 503],
    ];
    for (const [surfaces, path, headers, status] of cases) {
      for (const surface of surfaces) {
        const where = `${surface.name} ${path}`;
        const get = await surface.request('GET', path, headers);
        const head = await surface.request('HEAD', path, headers);
        expect([get.status, head.status], where).toEqual([status, status]);
        expect(head.body, where).toBe('');
        expect(comparable(head.headers), where).toEqual(comparable(get.headers));
      }
    }
  });

  it('405 lists HEAD wherever GET is allowed; HEAD on a route without GET is a 405 itself', async () => {
    for (const surface of healthy) {
      const patch = await surface.request('PATCH', '/users/alice/limits', ADMIN);
      expect([patch.status, patch.headers.allow], surface.name).toEqual([405, 'GET, HEAD, PUT, DELETE']);
      expect(JSON.parse(patch.body), surface.name).toEqual({ error: 'Method not allowed', code: 'method_not_allowed' });
      const post = await surface.request('POST', '/stats', ADMIN);
      expect([post.status, post.headers.allow], surface.name).toEqual([405, 'GET, HEAD']);
      const head = await surface.request('HEAD', '/users/alice/reset', ADMIN);
      expect([head.status, head.headers.allow, head.body], surface.name).toEqual([405, 'POST', '']);
      const deleteOnly = await surface.request('HEAD', '/users/alice', ADMIN);
      expect([deleteOnly.status, deleteOnly.headers.allow], surface.name).toEqual([405, 'DELETE']);
      expect((await surface.request('HEAD', '/nope', ADMIN)).status, surface.name).toBe(404);
    }
  });
});
