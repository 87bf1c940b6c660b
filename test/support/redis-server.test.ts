import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { listHarnessServerPids } from './reaper.js';
import { RedisStartError, startRedisServer, type RedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

const started: RedisServer[] = [];
async function start(...args: Parameters<typeof startRedisServer>): Promise<RedisServer> {
  const server = await startRedisServer(...args);
  started.push(server);
  return server;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
  expect(listHarnessServerPids()).toEqual([]);
});

describe('startRedisServer', () => {
  it('starts a server on a free port that answers, in a temp dir, tagged with the harness marker', async () => {
    const server = await start();
    const client = server.client();
    expect(await client.ping()).toBe('PONG');
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.running).toBe(true);
    expect(existsSync(server.dir)).toBe(true);
    expect(listHarnessServerPids()).toContain(server.pid);
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(server.logTail()).toMatch(/Ready to accept connections/);
  });

  it('applies extra arguments after its own', async () => {
    const server = await start({ args: ['--maxmemory', '12mb', '--maxmemory-policy', 'noeviction'] });
    const client = server.client();
    expect(await client.config('GET', 'maxmemory')).toEqual(['maxmemory', String(12 * 1024 * 1024)]);
    expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
  });

  it('loses every key after SIGKILL and restart without persistence', async () => {
    const server = await start();
    const client = server.client();
    await client.set('k', 'v');
    const { pid, port } = server;
    await server.kill();
    expect(server.running).toBe(false);
    expect(isAlive(pid)).toBe(false);
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(pid);
    // The client made before the crash reconnects by itself.
    expect(await client.get('k')).toBeNull();
    expect(await client.dbsize()).toBe(0);
  });

  it('keeps every acknowledged write after SIGKILL and restart with aof-always', async () => {
    const server = await start({ persistence: 'aof-always' });
    const client = server.client();
    for (let i = 0; i < 50; i++) await client.incrby('used', 2);
    await client.set('other', 'x');
    await server.kill('SIGKILL');
    await server.restart();
    expect(await client.get('used')).toBe('100');
    expect(await client.get('other')).toBe('x');
  });

  it('with rdb, keeps what a graceful restart saved and loses later writes after SIGKILL', async () => {
    const server = await start({ persistence: 'rdb' });
    const client = server.client();
    await client.set('before', '1');
    await server.restart(); // graceful: SHUTDOWN saves a snapshot
    expect(await client.get('before')).toBe('1');
    await client.set('after', '2');
    await server.kill();
    await server.restart();
    expect(await client.get('before')).toBe('1');
    expect(await client.get('after')).toBeNull();
  });

  it('stops a server frozen with SIGSTOP, and a frozen server makes commands time out', async () => {
    const server = await start();
    const client = server.client({ commandTimeout: 200 });
    await client.ping();
    await server.kill('SIGSTOP');
    expect(server.running).toBe(true);
    await expect(client.ping()).rejects.toThrow(/Command timed out/);
    const begin = Date.now();
    await server.stop();
    expect(Date.now() - begin).toBeLessThan(3_000);
    expect(isAlive(server.pid)).toBe(false);
  });

  it('stop() closes its clients, ends the process, removes the dir, and is idempotent', async () => {
    const server = await start();
    const client = server.client();
    await client.ping();
    await server.stop();
    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
    expect(client.status).toBe('end');
    await expect(server.restart()).rejects.toThrow(/after stop/);
    await expect(server.kill()).rejects.toThrow(/not running/);
    expect(() => server.client()).toThrow(/after stop/);
  });

  it('fails fast, with the log tail, when redis-server rejects its configuration', async () => {
    const begin = Date.now();
    const error = await startRedisServer({ args: ['--no-such-directive', 'x'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisStartError);
    expect((error as RedisStartError).addressInUse).toBe(false);
    expect((error as Error).message).toMatch(/exited \(code 1/);
    expect((error as Error).message).toMatch(/no-such-directive/);
    expect(Date.now() - begin).toBeLessThan(5_000);
  });

  it('reports addressInUse when a fixed port is taken', async () => {
    const server = await start();
    const error = await startRedisServer({ port: server.port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisStartError);
    expect((error as RedisStartError).addressInUse).toBe(true);
  });

  it('fails with a clear error when the binary does not exist', async () => {
    await expect(startRedisServer({ binary: 'no-such-redis-server-binary' })).rejects.toThrow(/ENOENT/);
  });

  it('kills the servers of a test process that is itself SIGKILLed (watchdog)', async () => {
    const script = fileURLToPath(new URL('./fixtures/start-and-wait.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (output += text));
    const line = await waitFor(() => (output.includes('\n') ? output.split('\n')[0] : undefined), {
      what: 'the child to start a redis-server',
      timeoutMs: 20_000,
    });
    const { pid, dir } = JSON.parse(line as string) as { pid: number; dir: string };
    expect(isAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => (!isAlive(pid) && !existsSync(dir) ? true : undefined), {
      what: `redis-server ${pid} to be reaped after its parent was SIGKILLed`,
      timeoutMs: 5_000,
    });
  });
});
