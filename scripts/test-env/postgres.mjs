// The PostgreSQL the ledger tests talk to: check that one answers at DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test, trust auth), or start Debian's own cluster (the
// `postgresql` package) and prepare it: the database `test`, and trust for loopback connections.
// A cluster started here is the machine's service: it is left running after the run.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { findExecutable } from './executables.mjs';
import { NO_INSTALL_VARIABLE } from './install.mjs';

/** Where the tests look when DATABASE_URL is not set (test/helpers/postgres.ts). */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The directory holding initdb and postgres: the PATH, else Debian's /usr/lib/postgresql/<newest>/bin. */
export function postgresBinDir() {
  const initdb = findExecutable('initdb');
  if (initdb !== undefined && findExecutable('postgres') !== undefined) return initdb.replace(/\/initdb$/, '');
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? undefined : join(base, versions[0], 'bin');
}

/** `{ ok: true }` if a query runs at `url` within `timeoutMs`, else `{ ok: false, why, code }`. */
export async function pingPostgres(url, timeoutMs = 2_000) {
  let pg;
  try {
    pg = (await import('pg')).default;
  } catch {
    return { ok: false, why: 'the pg package is not installed (run npm install first)' };
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (error) {
    return { ok: false, why: error.code === undefined ? error.message : `${error.code}: ${error.message}`, code: error.code };
  } finally {
    await client.end().catch(() => {});
  }
}

/** `url` without its password, for messages. */
export function redactPostgresUrl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function asPostgres(command, args) {
  const runuser = findExecutable('runuser');
  return runuser === undefined
    ? execFileSync('su', ['postgres', '-c', [command, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')], { encoding: 'utf8', timeout: 30_000 })
    : execFileSync(runuser, ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8', timeout: 30_000 });
}

/**
 * Starts Debian's PostgreSQL cluster on the URL's port (creating one when the package has none)
 * and prepares it for the tests: trust for 127.0.0.1 and ::1, and the URL's database. Needs root
 * and pg_ctlcluster (Debian's postgresql-common). Resolves with a description; throws if it
 * cannot, saying why.
 */
export async function startDebianPostgres(url, log) {
  const target = new URL(url);
  const port = target.port === '' ? 5432 : Number(target.port);
  const database = decodeURIComponent(target.pathname.slice(1)) || 'postgres';
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) throw new Error(`DATABASE_URL points at ${target.hostname}: start that server yourself`);
  const noInstall = process.env[NO_INSTALL_VARIABLE];
  if (noInstall !== undefined && noInstall !== '' && noInstall !== '0') {
    throw new Error(`${NO_INSTALL_VARIABLE} is set: not starting or configuring this machine's PostgreSQL (start it, or set DATABASE_URL)`);
  }
  if (process.getuid?.() !== 0) throw new Error('starting PostgreSQL needs root (or start it yourself and set DATABASE_URL)');
  if (findExecutable('pg_lsclusters') === undefined || findExecutable('pg_ctlcluster') === undefined) {
    throw new Error("pg_ctlcluster is not on the PATH (Debian's postgresql package provides it)");
  }
  const clusters = () =>
    execFileSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f.length >= 4)
      .map(([version, name, clusterPort, status]) => ({ version, name, port: Number(clusterPort), status }));
  let cluster = clusters().find((c) => c.port === port);
  if (cluster === undefined) {
    const bin = postgresBinDir();
    const version = bin?.match(/postgresql\/([^/]+)\/bin$/)?.[1];
    if (version === undefined) throw new Error('no PostgreSQL server version is installed under /usr/lib/postgresql');
    log(`creating the PostgreSQL cluster ${version}/main on port ${port}`);
    execFileSync('pg_createcluster', [version, 'main', '--port', String(port)], { stdio: 'ignore', timeout: 120_000 });
    cluster = clusters().find((c) => c.port === port);
    if (cluster === undefined) throw new Error(`pg_createcluster did not create a cluster on port ${port}`);
  }
  const { version, name } = cluster;
  // Trust loopback connections (the tests connect without a password).
  const hba = asPostgres('psql', ['-p', String(port), '-Atc', 'SHOW hba_file']).trim();
  const rules = readFileSync(hba, 'utf8');
  const trust = '# token-limits tests: trust loopback\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n';
  if (cluster.status !== 'online') {
    log(`starting the PostgreSQL cluster ${version}/${name} (pg_ctlcluster ${version} ${name} start)`);
    execFileSync('pg_ctlcluster', [version, name, 'start'], { stdio: 'ignore', timeout: 60_000 });
  }
  if (!rules.includes('# token-limits tests: trust loopback')) {
    writeFileSync(hba, trust + rules);
    execFileSync('pg_ctlcluster', [version, name, 'reload'], { stdio: 'ignore', timeout: 60_000 });
  }
  const exists = asPostgres('psql', ['-p', String(port), '-Atc', `SELECT 1 FROM pg_database WHERE datname = '${database.replaceAll("'", "''")}'`]).trim();
  if (exists !== '1') asPostgres('createdb', ['-p', String(port), database]);
  for (let i = 0; i < 50; i += 1) {
    if ((await pingPostgres(url)).ok) return { version, name, port };
    await sleep(200);
  }
  throw new Error(`PostgreSQL ${version}/${name} started but ${redactPostgresUrl(url)} does not answer`);
}
