import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listHarnessServerPids } from './reaper.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { uniquePrefix } from './redis-available.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { waitFor } from './wait.js';

let server: RedisServer;
let direct: Redis;
const proxies: TcpProxy[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  direct = server.client();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

afterAll(async () => {
  await server.stop();
  expect(listHarnessServerPids()).toEqual([]);
});

async function proxyToRedis(): Promise<TcpProxy> {
  const proxy = await startTcpProxy({ targetPort: server.port });
  proxies.push(proxy);
  return proxy;
}

/** An ioredis client through the proxy; `options` default to ioredis's own defaults. */
function clientVia(proxy: TcpProxy, options: RedisOptions = {}): Redis {
  const client = new Redis({ host: proxy.host, port: proxy.port, ...options });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

async function roundTripMs(client: Redis): Promise<number> {
  const begin = performance.now();
  await client.ping();
  return performance.now() - begin;
}

describe('startTcpProxy', () => {
  it('forwards commands and replies and counts bytes and connections', async () => {
    const proxy = await proxyToRedis();
    const client = clientVia(proxy);
    const key = `${uniquePrefix()}k`;
    await client.set(key, 'value');
    expect(await direct.get(key)).toBe('value');
    expect(await client.get(key)).toBe('value');
    const stats = proxy.stats;
    expect(stats.connectionsAccepted).toBe(1);
    expect(stats.connectionsActive).toBe(1);
    expect(stats.bytesToServer).toBeGreaterThan(0);
    expect(stats.bytesToClient).toBeGreaterThan(0);
    expect(proxy.url).toBe(`redis://127.0.0.1:${proxy.port}`);
  });

  it('adds observable latency, in both directions or one', async () => {
    const proxy = await proxyToRedis();
    const client = clientVia(proxy);
    await client.ping();
    expect(await roundTripMs(client)).toBeLessThan(50);

    proxy.setLatency(100);
    expect(await roundTripMs(client)).toBeGreaterThanOrEqual(195);

    proxy.setLatency({ toServer: 0, toClient: 150 });
    const oneWay = await roundTripMs(client);
    expect(oneWay).toBeGreaterThanOrEqual(145);
    expect(oneWay).toBeLessThan(290);

    proxy.setLatency(0);
    expect(await roundTripMs(client)).toBeLessThan(50);
    expect(() => proxy.setLatency(-1)).toThrow(RangeError);
  });

  it('keeps replies in order when the latency drops while bytes are in flight', async () => {
    const proxy = await proxyToRedis();
    const client = clientVia(proxy);
    const key = `${uniquePrefix()}n`;
    proxy.setLatency(200);
    const slow = client.incr(key);
    await new Promise((resolve) => setTimeout(resolve, 20));
    proxy.setLatency(0);
    const fast = client.incr(key);
    expect(await Promise.all([slow, fast])).toEqual([1, 2]);
  });

  it('dropNextReplyAndClose: a default ioredis client re-sends INCRBY, which Redis applies twice (reliability.md §3.1)', async () => {
    // This is the trap the quota engine must defend against with idempotency ids inside Lua:
    // the client sees ONE successful reply, Redis executed the command TWICE.
    const proxy = await proxyToRedis();
    const client = clientVia(proxy); // ioredis defaults: autoResendUnfulfilledCommands, maxRetriesPerRequest 20
    const key = `${uniquePrefix()}used`;
    expect(await client.incrby(key, 1)).toBe(1);

    const dropped = proxy.dropNextReplyAndClose();
    const reply = await client.incrby(key, 100);
    expect(await dropped).toEqual({ connectionId: 1, bytes: Buffer.byteLength(':101\r\n') });

    expect(reply).toBe(201); // the reply to the re-sent command
    expect(await direct.get(key)).toBe('201'); // 1 + 100 + 100: executed twice
    expect(proxy.stats.repliesDropped).toBe(1);
    expect(proxy.stats.connectionsAccepted).toBe(2); // ioredis reconnected
  });

  it('dropNextReplyAndClose finishes the reply in progress and drops the next one whole', async () => {
    // A fake server that sends a reply in two halves lets the test arm the drop mid-reply.
    const serverSockets: Socket[] = [];
    const fake = createServer((socket) => serverSockets.push(socket));
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const proxy = await startTcpProxy({ targetPort: (fake.address() as AddressInfo).port });
      proxies.push(proxy);
      const socket = connect(proxy.port, '127.0.0.1');
      let received = '';
      let closed = false;
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => (closed = true));
      const upstream = await waitFor(() => serverSockets[0], { what: 'the proxied connection', timeoutMs: 2_000 });

      upstream.write('*2\r\n$3\r\nabc\r\n');
      await waitFor(() => (received.length === 13 ? true : undefined), { what: 'the first half', timeoutMs: 2_000 });
      const dropped = proxy.dropNextReplyAndClose();
      upstream.write('$2\r\nde\r\n:42\r\n+OK\r\n');

      expect(await dropped).toEqual({ connectionId: 1, bytes: 5 });
      await waitFor(() => (closed ? true : undefined), { what: 'the client socket to close', timeoutMs: 2_000 });
      expect(received).toBe('*2\r\n$3\r\nabc\r\n$2\r\nde\r\n'); // ':42' dropped, '+OK' never sent
    } finally {
      for (const socket of serverSockets) socket.destroy();
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it('blackhole: a command times out with commandTimeout, and is applied once the partition heals', async () => {
    const proxy = await proxyToRedis();
    const client = clientVia(proxy, { commandTimeout: 300 });
    const key = `${uniquePrefix()}used`;
    await client.ping();

    proxy.blackhole(true);
    const begin = performance.now();
    await expect(client.incrby(key, 5)).rejects.toThrow(/Command timed out/);
    expect(performance.now() - begin).toBeGreaterThanOrEqual(290);
    expect(await direct.get(key)).toBeNull(); // Redis has not seen it yet
    expect(proxy.stats.connectionsActive).toBe(1); // the socket is kept

    proxy.blackhole(false);
    expect(await client.ping()).toBe('PONG');
    // The "failed" command was applied after all: a timeout is an unknown outcome, not a failure.
    expect(await direct.get(key)).toBe('5');
  });

  it('refuse: new connections are reset, live ones keep working', async () => {
    const proxy = await proxyToRedis();
    const live = clientVia(proxy);
    await live.ping();

    proxy.refuse(true);
    const fresh = clientVia(proxy, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    await expect(fresh.connect().then(() => fresh.ping())).rejects.toThrow();
    expect(proxy.stats.connectionsRefused).toBeGreaterThanOrEqual(1);
    expect(await live.ping()).toBe('PONG');

    proxy.refuse(false);
    const later = clientVia(proxy);
    expect(await later.ping()).toBe('PONG');
  });

  it('resetAll: live connections are reset and ioredis reconnects', async () => {
    const proxy = await proxyToRedis();
    const client = clientVia(proxy);
    await client.ping();
    let reconnects = 0;
    client.on('reconnecting', () => (reconnects += 1));

    proxy.resetAll();
    await waitFor(() => (reconnects > 0 ? true : undefined), { what: 'ioredis to reconnect', timeoutMs: 2_000 });
    expect(await client.ping()).toBe('PONG');
    expect(proxy.stats.connectionsAccepted).toBe(2);
  });

  it('close() rejects an armed drop, stops listening, and is idempotent', async () => {
    const proxy = await proxyToRedis();
    const armed = proxy.dropNextReplyAndClose();
    await proxy.close();
    await proxy.close();
    await expect(armed).rejects.toThrow(/closed/);
    const socket = connect(proxy.port, '127.0.0.1');
    const error = await new Promise<Error>((resolve) => socket.once('error', resolve));
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});
