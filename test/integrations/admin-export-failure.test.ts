import express from 'express';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, type TokenLimiter } from '../../src/index.js';
import { createAdminRouter } from '../../src/integrations/express/index.js';
import { createAdminHandler, toNodeListener, type AdminPrincipal } from '../../src/integrations/http/index.js';
import { createPostgresLedger, type PgPoolLike, type PostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, DATABASE_URL, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { listen, type Running } from './helpers.js';
import { closedPort } from '../helpers/ports.js';

/**
 * GET /export when the ledger cannot be read: before the first row the client must get the API's
 * JSON error (503), not a 200 whose body is cut; after rows were sent, a cut connection.
 */
const admin = (auth: string | null | undefined): AdminPrincipal | null => (auth === 'Bearer admin' ? { role: 'admin' } : null);
const headers = { authorization: 'Bearer admin' };
const RANGE = 'from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z';

interface Surface {
  name: string;
  get(path: string, init?: RequestInit): Promise<Response>;
}

const servers: Running[] = [];
const limiters: TokenLimiter[] = [];
const pools: pg.Pool[] = [];

/** The three ways the admin API is served: Express router, Fetch handler on node:http, Fetch handler called directly. */
async function surfaces(limiter: TokenLimiter): Promise<Surface[]> {
  const app = express();
  app.use('/admin', createAdminRouter({ limiter, authorize: (req) => admin(req.headers.authorization) }));
  const viaExpress = await listen(app as never);
  const handler = createAdminHandler({ limiter, basePath: '/admin', authorize: (req) => admin(req.headers.get('authorization')) });
  const viaNode = await listen(toNodeListener(handler));
  servers.push(viaExpress, viaNode);
  return [
    { name: 'createAdminRouter (express)', get: (path, init) => fetch(`${viaExpress.url}/admin${path}`, init) },
    { name: 'toNodeListener(createAdminHandler)', get: (path, init) => fetch(`${viaNode.url}/admin${path}`, init) },
    { name: 'createAdminHandler (fetch)', get: (path, init) => handler(new Request(`http://api.test/admin${path}`, init)) },
  ];
}

function limiterOn(pool: PgPoolLike, schema?: string): { limiter: TokenLimiter; ledger: PostgresLedger } {
  const ledger = createPostgresLedger({ pool, ...(schema === undefined ? {} : { schema }) });
  const limiter = createTokenLimiter({ store: new MemoryStore(), ledger });
  limiters.push(limiter);
  return { limiter, ledger };
}

let unreachable: Surface[];
let ended: Surface[];

beforeAll(async () => {
  const nowhere = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/test`, connectionTimeoutMillis: 2_000, max: 2 });
  pools.push(nowhere);
  unreachable = await surfaces(limiterOn(nowhere).limiter);
  const closed = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  await closed.end();
  ended = await surfaces(limiterOn(closed).limiter);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const l of limiters) await l.close();
  for (const p of pools) await p.end().catch(() => {});
});

async function expectStoreUnavailable(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(response.headers.get('content-disposition')).toBeNull();
  const body = (await response.json()) as { code: string; error: string };
  expect(body.code).toBe('store_unavailable');
  // Nothing of the driver's error (host, port) reaches the client.
  expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|pool/i);
}

describe('GET /export when the ledger cannot be read before the first row', () => {
  it('PostgreSQL refusing connections: 503 store_unavailable as JSON, CSV and JSON lines, on every surface', async () => {
    for (const surface of unreachable) {
      for (const format of ['csv', 'jsonl']) {
        const response = await surface.get(`/export?format=${format}&${RANGE}`, { headers });
        await expectStoreUnavailable(response).catch((error: Error) => {
          throw new Error(`${surface.name}, ${format}: ${error.message}`);
        });
      }
    }
  });

  it('a closed pool: 503 store_unavailable as JSON, on every surface', async () => {
    for (const surface of ended) {
      await expectStoreUnavailable(await surface.get(`/export?${RANGE}`, { headers })).catch((error: Error) => {
        throw new Error(`${surface.name}: ${error.message}`);
      });
    }
  });
});

describe('GET /export when the ledger fails after the first rows were sent', () => {
  const schema = uniqueSchema();
  let pool: pg.Pool;
  let cut: Surface[];
  let whole: Surface[];

  beforeAll(async () => {
    pool = await connectPostgres();
    pools.push(pool);
    const { ledger } = limiterOn(pool, schema);
    await ledger.migrate();
    // More than one page of the export (1,000 rows), so that it reads the ledger twice.
    await pool.query(
      `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
         reasoning_tokens, total_tokens, cost_micros, estimated, status, latency_ms, created_at)
       SELECT 'r' || i, 'alice', 'openai', 'gpt-4o-mini', 'chat', 3, 0, 0, 2, 0, 5, 1, false, 'ok', 10, timestamptz '2026-04-10T00:00:00Z' + i * interval '1 second'
         FROM generate_series(1, 1500) AS i`,
    );
    // The first read of each export answers from the real database; the next ones meet a pool
    // that was ended, as a database going away between two pages.
    const gone = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    await gone.end();
    let reads = 0;
    const failing: PgPoolLike = { query: (text, values) => (text.startsWith('SELECT') && ++reads % 2 === 0 ? gone : pool).query(text, values) };
    cut = await surfaces(limiterOn(failing, schema).limiter);
    whole = await surfaces(limiterOn(pool, schema).limiter);
  });
  afterAll(async () => {
    await dropSchema(pool, schema);
  });

  it('the response is cut (the client sees an error, not a whole file), and the server goes on serving', async () => {
    for (const [i, surface] of cut.entries()) {
      const response = await surface.get(`/export?${RANGE}`, { headers });
      expect(response.status, surface.name).toBe(200);
      await expect(response.text(), surface.name).rejects.toThrow();
      // The same API still answers: nothing hangs, nothing crashed.
      const full = await whole[i]!.get(`/export?${RANGE}`, { headers });
      expect(full.status, surface.name).toBe(200);
      expect((await full.text()).trim().split('\n'), surface.name).toHaveLength(1501);
    }
  });
});
