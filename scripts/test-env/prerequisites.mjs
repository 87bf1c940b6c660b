// What the test suites need from the machine, one entry per prerequisite. Each says which suites
// need it, how to find it, which packages provide it (installed when missing and allowed), how to
// point the tests at one the user already has, and, for services, how to start one for the run.
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import { findExecutable, isExecutableFile } from './executables.mjs';
import { DEFAULT_DATABASE_URL, pingPostgres, postgresBinDir, redactPostgresUrl, startDebianPostgres } from './postgres.mjs';
import { DEFAULT_REDIS_URL, pingRedis, redactUrl, startRedisServer } from './redis.mjs';

/**
 * @typedef {'main' | 'faults'} Suite
 * @typedef {{ found: true, note: string, env?: Record<string, string> }
 *   | { found: false, why: string, installable?: boolean }} Finding
 *   `installable: false` when installing packages would not help (a variable points elsewhere).
 * @typedef {{ label: string, note: string, env: Record<string, string>, stop: () => Promise<void>,
 *   details?: Record<string, string | number | undefined> }} Started
 *   `label` names the running service in messages; `details` are printed by `--print-env` (the
 *   pid, say), so a caller can watch the service go away.
 * @typedef {object} Prerequisite
 * @property {string} name what the tests need, as the user reads it
 * @property {readonly Suite[]} suites the suites that need it
 * @property {(env: Record<string, string>) => Promise<Finding>} find `env`: what the prerequisites
 *   before it exported
 * @property {{ apt: readonly string[], brew: string }} [packages] what provides it: Debian/Ubuntu
 *   packages, and the arguments of `brew install`
 * @property {string} [alternative] how to use one the user already has
 * @property {(env: Record<string, string>) => Promise<Started>} [start] starts one for this run
 *   when `find` finds none
 */

/** Major and minor version in `redis-server --version` ("Redis server v=7.0.15 sha=..."). */
function redisServerVersion(binary) {
  try {
    const match = /v=(\d+)\.(\d+)\.(\d+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 }));
    return match === null ? undefined : { major: Number(match[1]), text: `${match[1]}.${match[2]}.${match[3]}` };
  } catch {
    return undefined;
  }
}

/** `process.env[variable]` or `command` on the PATH: `{ path }` or `{ why, installable }`. */
function locate(variable, command) {
  const configured = process.env[variable];
  if (configured !== undefined && configured !== '') {
    const path = findExecutable(configured);
    return path === undefined ? { why: `${variable}=${configured} is not an executable file`, installable: false } : { path };
  }
  const path = findExecutable(command);
  return path === undefined ? { why: `${command} is not on the PATH`, installable: true } : { path };
}

/** redis-server and redis-cli: the harness starts servers and Clusters with them (every suite). */
const redisTools = {
  name: 'redis-server and redis-cli (Redis 7 or later)',
  suites: ['main', 'faults', 'node22'],
  packages: { apt: ['redis-server', 'redis-tools'], brew: 'redis' },
  alternative: 'REDIS_SERVER_BIN=/path/to/redis-server REDIS_CLI_BIN=/path/to/redis-cli',
  async find() {
    const server = locate('REDIS_SERVER_BIN', 'redis-server');
    const cli = locate('REDIS_CLI_BIN', 'redis-cli');
    const problems = [server, cli].filter((found) => found.path === undefined);
    if (problems.length > 0) {
      return { found: false, why: problems.map((p) => p.why).join('; '), installable: problems.every((p) => p.installable) };
    }
    const version = redisServerVersion(server.path);
    if (version === undefined) return { found: false, why: `${server.path} --version failed`, installable: false };
    if (version.major < 7) return { found: false, why: `${server.path} is Redis ${version.text}; the tests need 7.0 or later`, installable: false };
    return {
      found: true,
      note: `${server.path} (Redis ${version.text}), ${cli.path}`,
      env: { REDIS_SERVER_BIN: server.path, REDIS_CLI_BIN: cli.path },
    };
  },
};

/** A Redis for the suites that share one (main, Node 22): REDIS_URL's, or one started for the run. */
const redisService = {
  name: 'a Redis to test against',
  suites: ['main', 'node22'],
  async find() {
    const url = process.env.REDIS_URL || DEFAULT_REDIS_URL;
    const ping = await pingRedis(url);
    if (ping.ok) return { found: true, note: `using ${redactUrl(url)} (answered PING)`, env: { REDIS_URL: url } };
    return { found: false, why: `nothing answered PING at ${redactUrl(url)} (${ping.why})` };
  },
  async start(env) {
    const server = await startRedisServer(env.REDIS_SERVER_BIN);
    return {
      label: `redis-server on ${server.url}`,
      note: `started redis-server on ${server.url} for this run (pid ${server.pid}, dir ${server.dir})`,
      env: { REDIS_URL: server.url },
      stop: () => server.stop(),
      details: { pid: server.pid, dir: server.dir },
    };
  },
};

/** Browsers playwright-core can drive, most specific first. */
const BROWSER_COMMANDS = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];
const MACOS_BROWSERS = [
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** Chromium (or Chrome) for the browser test of the example app (test/e2e). */
const chromium = {
  name: 'Chromium',
  suites: ['main'],
  packages: { apt: ['chromium', 'fonts-liberation'], brew: '--cask google-chrome' },
  alternative: 'CHROMIUM_PATH=/path/to/chromium (Chrome works too)',
  async find() {
    const configured = process.env.CHROMIUM_PATH;
    if (configured !== undefined && configured !== '') {
      return isExecutableFile(configured)
        ? { found: true, note: configured, env: { CHROMIUM_PATH: configured } }
        : { found: false, why: `CHROMIUM_PATH=${configured} is not an executable file (point it at a browser, or unset it)`, installable: false };
    }
    const candidates = process.platform === 'darwin' ? MACOS_BROWSERS.filter(isExecutableFile) : [];
    const path = candidates[0] ?? BROWSER_COMMANDS.map((command) => findExecutable(command)).find((p) => p !== undefined);
    if (path === undefined) return { found: false, why: `none of ${BROWSER_COMMANDS.join(', ')} is on the PATH`, installable: true };
    return { found: true, note: path, env: { CHROMIUM_PATH: path } };
  },
};

/** initdb and postgres: the ledger's fault test starts a PostgreSQL of its own with them. */
const postgresTools = {
  name: 'PostgreSQL (initdb and postgres)',
  suites: ['main', 'faults'],
  packages: { apt: ['postgresql'], brew: 'postgresql' },
  alternative: 'a PATH holding initdb and postgres',
  async find() {
    const dir = postgresBinDir();
    if (dir === undefined) return { found: false, why: 'initdb and postgres are neither on the PATH nor under /usr/lib/postgresql', installable: true };
    return { found: true, note: dir };
  },
};

/**
 * A PostgreSQL for the ledger tests of the main suite: DATABASE_URL's, else Debian's own cluster on
 * 127.0.0.1:5432, started and prepared (database `test`, trust on loopback) when it does not answer.
 */
const postgresService = {
  name: 'a PostgreSQL to test against',
  suites: ['main'],
  async find() {
    const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
    const ping = await pingPostgres(url);
    if (ping.ok) return { found: true, note: `using ${redactPostgresUrl(url)} (answered)`, env: { DATABASE_URL: url } };
    return { found: false, why: `${redactPostgresUrl(url)} did not answer (${ping.why})` };
  },
  async start() {
    const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
    const cluster = await startDebianPostgres(url, (message) => process.stderr.write(`test-env: ${message}\n`));
    return {
      label: `PostgreSQL ${cluster.version}/${cluster.name} (left running: it is the machine's service)`,
      note: `started the PostgreSQL cluster ${cluster.version}/${cluster.name} on port ${cluster.port}; ${redactPostgresUrl(url)} answers`,
      env: { DATABASE_URL: url },
      stop: async () => {},
      details: { cluster: `${cluster.version}/${cluster.name}`, port: cluster.port },
    };
  },
};

/**
 * Every prerequisite, in the order they are checked: a service comes after the binaries it
 * starts (its `start` reads what they exported).
 * @type {readonly Prerequisite[]}
 */
export const PREREQUISITES = [redisTools, chromium, postgresTools, redisService, postgresService];
