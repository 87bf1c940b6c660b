import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test PostgreSQL (trust auth, database `test`); `npm test` makes sure one answers. */
export const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** A pool on the test database; throws (the test fails, never skips) when PostgreSQL does not answer. */
export async function connectPostgres(url = DATABASE_URL): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5_000 });
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new Error(`PostgreSQL does not answer at ${url} (npm test starts one; or set DATABASE_URL): ${(error as Error).message}`);
  }
  return pool;
}

/** A schema name of our own, so tests never share a table. */
export function uniqueSchema(label = 'tl_test'): string {
  return `${label}_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
