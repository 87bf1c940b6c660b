/**
 * scripts/test-env.mjs, the set-up step `npm test` runs before the suites, driven as a child
 * process the way npm runs it. These tests run inside `npm test` themselves, so each child gets a
 * minimal environment of its own (no inherited REDIS_URL or CHROMIUM_PATH), installing is always
 * forbidden (TOKEN_LIMITS_NO_INSTALL=1, or no apt-get on the PATH), every Redis it may start is
 * its own on a kernel-chosen port, and no test lets it reach vitest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rawCommand } from '../support/raw-command.js';
import { defaultRedisUrl, requireRedis } from '../support/redis-available.js';
import { waitFor, withTimeout } from '../support/wait.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/test-env.mjs', import.meta.url));
/** What the script prints when it gets as far as vitest. */
const REACHED_VITEST = /running the main suite|No test files found|RUN\s+v\d/;
const APT_FIX = 'sudo apt-get update && sudo apt-get install -y redis-server redis-tools chromium fonts-liberation';

const tempDirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tl-test-env-'));
  tempDirs.push(dir);
  return dir;
}

/** Servers the script said it started: killed here if a failing test left one behind. */
const startedServers: { pid: number; dir: string }[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const { pid, dir } of startedServers.splice(0)) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on: the kernel hands it out, we close it. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Alive and not a zombie (a killed child waits for its new parent to reap it). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
}

interface Run {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the script with `args` and exactly `env` (plus HOME), stdin a pipe we control. */
function runScript(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [SCRIPT, ...args], {
    env: { HOME: process.env['HOME'] ?? tmpdir(), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => ({ stdout, stderr }), exit };
}

/** Runs the script to its end (15 s at most: it must stop at once, not after a test run). */
async function runToEnd(args: string[], env: Record<string, string>) {
  const run = runScript(args, env);
  run.child.stdin?.end();
  const { code } = await withTimeout(run.exit, 15_000, 'test-env.mjs to exit');
  return { code, ...run.output() };
}

interface Prepared {
  run: Run;
  env: Record<string, string>;
  /** pid and dir of the redis-server it started, if it started one. */
  started?: { pid: number; dir: string };
}

/** Runs `--print-env` and waits until it holds the prepared environment. */
async function prepare(env: Record<string, string>): Promise<Prepared> {
  const run = runScript(['--print-env', '--suite', 'main'], env);
  const stdout = await waitFor(() => (run.output().stdout.includes('# ready') ? run.output().stdout : undefined), {
    what: 'test-env.mjs --print-env to be ready',
    timeoutMs: 20_000,
    details: () => run.output().stderr,
  });
  const printed = Object.fromEntries(
    stdout
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const startedLine = /^# started .*pid=(\d+) dir=(\S+)$/m.exec(stdout);
  const prepared: Prepared = { run, env: printed };
  if (startedLine !== null) {
    prepared.started = { pid: Number(startedLine[1]), dir: startedLine[2] ?? '' };
    startedServers.push(prepared.started);
  }
  return prepared;
}

function portOf(url: string | undefined): number {
  return Number(new URL(url ?? '').port);
}

/** Waits until the server `prepared` started is gone: process, port and directory. */
async function expectServerGone(prepared: Prepared): Promise<void> {
  const { pid, dir } = prepared.started ?? { pid: 0, dir: '' };
  await waitFor(() => (isAlive(pid) ? undefined : true), { what: `redis-server pid ${pid} to exit`, timeoutMs: 10_000 });
  await expect(rawCommand('127.0.0.1', portOf(prepared.env['REDIS_URL']), ['PING'], 1_000)).rejects.toThrow();
  await waitFor(() => (existsSync(dir) ? undefined : true), { what: `${dir} to be removed`, timeoutMs: 5_000 });
}

describe('test-env.mjs: a prerequisite it cannot install stops the run before any test', () => {
  it('stops with the apt-get command when redis-server and Chromium are missing and installing is forbidden', async () => {
    // A PATH with no redis-server, no browser, and an apt-get that records being called.
    const bin = tempDir();
    const aptCalls = join(bin, 'apt-get-calls');
    writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\necho "$@" >> '${aptCalls}'\nexit 1\n`);
    chmodSync(join(bin, 'apt-get'), 0o755);
    const env = { PATH: bin, REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, TOKEN_LIMITS_NO_INSTALL: '1' };

    // A file filter that matches nothing: were vitest reached, it would say so and not recurse.
    const { code, stdout, stderr } = await runToEnd(['--suite', 'main', 'tl-no-such-test-file'], env);

    expect(code).toBe(1);
    expect(stderr).toContain('redis-server is not on the PATH');
    expect(stderr).toContain('none of chromium, chromium-browser, google-chrome-stable, google-chrome is on the PATH');
    expect(stderr).toContain('not installing them: TOKEN_LIMITS_NO_INSTALL is set');
    expect(stderr).toContain(APT_FIX);
    expect(stderr).toContain('brew install redis');
    expect(stderr).toContain('CHROMIUM_PATH=/path/to/chromium');
    expect(existsSync(aptCalls)).toBe(false);
    expect(`${stdout}${stderr}`).not.toMatch(REACHED_VITEST);
  });

  it('stops with the apt-get command when there is no apt-get to install with', async () => {
    const env = { PATH: tempDir(), REDIS_URL: `redis://127.0.0.1:${await closedPort()}` };

    const { code, stdout, stderr } = await runToEnd(['--suite', 'main', 'tl-no-such-test-file'], env);

    expect(code).toBe(1);
    expect(stderr).toContain('not installing them: apt-get is not on the PATH');
    expect(stderr).toContain(APT_FIX);
    expect(`${stdout}${stderr}`).not.toMatch(REACHED_VITEST);
  });

  it('stops, without installing, when CHROMIUM_PATH names a file that does not exist', async () => {
    const missing = join(tempDir(), 'no-chromium-here');
    const env = {
      PATH: process.env['PATH'] ?? '',
      CHROMIUM_PATH: missing,
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
      TOKEN_LIMITS_NO_INSTALL: '1',
    };

    const { code, stdout, stderr } = await runToEnd(['--suite', 'main', 'tl-no-such-test-file'], env);

    expect(code).toBe(1);
    expect(stderr).toContain(`CHROMIUM_PATH=${missing} is not an executable file`);
    expect(stderr).toContain('fix or unset it first');
    expect(stderr).not.toContain('started redis-server');
    expect(`${stdout}${stderr}`).not.toMatch(REACHED_VITEST);
  });

  it('refuses vitest arguments when it runs both suites, pointing at test:unit', async () => {
    const { code, stderr } = await runToEnd(['tl-no-such-test-file'], { PATH: tempDir() });

    expect(code).toBe(1);
    expect(stderr).toContain('npm run test:unit -- <args>');
    expect(stderr).not.toMatch(REACHED_VITEST);
  });
});

describe('test-env.mjs: the PostgreSQL the ledger tests use', () => {
  const base = () => ({ PATH: process.env['PATH'] ?? '', TOKEN_LIMITS_NO_INSTALL: '1' });

  it('uses the PostgreSQL at DATABASE_URL when it answers', async () => {
    const url = process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
    const prepared = await prepare({ ...base(), REDIS_URL: await requireRedis(defaultRedisUrl()), DATABASE_URL: url });
    expect(prepared.env['DATABASE_URL']).toBe(url);
    prepared.run.child.stdin?.end();
    expect((await prepared.run.exit).code).toBe(0);
  });

  it('stops before any test, saying why, when none answers and it may not start one', async () => {
    const closed = await closedPort();
    const { code, stdout, stderr } = await runToEnd(['--suite', 'main'], {
      ...base(),
      REDIS_URL: await requireRedis(defaultRedisUrl()),
      DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/test`,
    });
    expect(code).toBe(1);
    expect(stderr).toContain(`postgres://postgres@127.0.0.1:${closed}/test did not answer`);
    expect(stderr).toContain('TOKEN_LIMITS_NO_INSTALL is set: not starting or configuring');
    expect(stdout + stderr).not.toMatch(REACHED_VITEST);
  });
});

describe('test-env.mjs: the Redis the tests use', () => {
  const base = () => ({ PATH: process.env['PATH'] ?? '', TOKEN_LIMITS_NO_INSTALL: '1' });

  it('uses the Redis at REDIS_URL when it answers PING, and starts none', async () => {
    const url = await requireRedis(defaultRedisUrl());

    const prepared = await prepare({ ...base(), REDIS_URL: url });

    expect(prepared.env['REDIS_URL']).toBe(url);
    expect(prepared.started).toBeUndefined();
    prepared.run.child.stdin?.end();
    expect((await prepared.run.exit).code).toBe(0);
  });

  it('starts its own redis-server when nothing answers at REDIS_URL, and stops it when done', async () => {
    const closed = await closedPort();

    const prepared = await prepare({ ...base(), REDIS_URL: `redis://127.0.0.1:${closed}` });

    const url = prepared.env['REDIS_URL'];
    expect(portOf(url)).not.toBe(closed);
    expect(prepared.run.output().stderr).toContain(`nothing answered PING at redis://127.0.0.1:${closed}`);
    expect(await rawCommand('127.0.0.1', portOf(url), ['PING'], 2_000)).toBe('+PONG\r\n');
    expect(await rawCommand('127.0.0.1', portOf(url), ['CONFIG', 'GET', 'save'], 2_000)).toBe('*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
    expect(existsSync(prepared.started?.dir ?? '')).toBe(true);
    expect(prepared.env['CHROMIUM_PATH']).toBeTruthy();
    expect(prepared.env['REDIS_SERVER_BIN']).toMatch(/redis-server$/);

    prepared.run.child.stdin?.end();
    expect((await prepared.run.exit).code).toBe(0);
    await expectServerGone(prepared);
  });

  it('stops the redis-server it started when it gets SIGTERM', async () => {
    const prepared = await prepare({ ...base(), REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    expect(prepared.started).toBeDefined();

    prepared.run.child.kill('SIGTERM');

    expect((await prepared.run.exit).code).toBe(143);
    await expectServerGone(prepared);
  });

  it('leaves no redis-server behind when it is killed with SIGKILL', async () => {
    const prepared = await prepare({ ...base(), REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    expect(prepared.started).toBeDefined();

    prepared.run.child.kill('SIGKILL');

    expect((await prepared.run.exit).signal).toBe('SIGKILL');
    await expectServerGone(prepared);
  });
});
