/**
 * The reserve+commit workload the pair counters share (redis-pairs.ts, redis-instructions.ts,
 * pair-client.mjs, pair-cpu.mjs): plain JavaScript, so that the .mjs counters run in plain node
 * without tsx.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';

/** The limits every pairs bench gives its users: a monthly rule, then hourly, daily and 30-day ones. */
export function benchLimits(rules) {
  return Array.from({ length: rules }, (_, i) =>
    i === 0 ? { id: 'monthly', tokens: 1e15, period: 'month' } : { id: `r${i}`, tokens: 1e15, period: i % 3 === 0 ? 'day' : i % 3 === 1 ? 'hour' : { days: 30 } },
  );
}

/**
 * Runs `count` pairs per call, `inFlight` at a time, users drawn in turn from 1,000 (continuing
 * where the last call stopped): each commit awaited until applied, the aggregates flushed at the end.
 */
export function pairRunner(limiter, inFlight = 10) {
  let n = 0;
  return async (count) => {
    const end = n + count;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (n < end) {
          const user = `u${n++ % 1000}`;
          await limiter.commit(await limiter.reserve(user, { tokens: 10 }), { inputTokens: 5, outputTokens: 5, model: 'gpt-4o-mini', provider: 'openai' });
        }
      }),
    );
    await limiter.flush();
  };
}

/** The redis-server's CPU time so far (user + system), in seconds, from `INFO cpu`. */
export async function serverCpuSeconds(client) {
  const info = await client.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]);
}

/**
 * What the plain-node pair counters run on: a redis-server of their own on a free port (nothing
 * kept on disk), an ioredis client on it, and a limiter from `dist/` of the checkout named by
 * TOKEN_LIMITS_DIR (default: this one) giving its users the rules of `benchLimits`. `stop()` closes
 * the limiter and the client and kills the server; call it in a `finally`.
 */
export async function plainPairSetup(rules) {
  const port = await new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => done(free));
    });
  });
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let client;
  let limiter;
  const stop = async () => {
    await limiter?.close();
    client?.disconnect();
    server.kill('SIGKILL');
  };
  try {
    client = new Redis(port, { retryStrategy: (times) => (times > 100 ? null : 50) });
    // Refused until the server listens: retried above, and a command that fails still says why
    // (without a listener, ioredis prints every refused try as an unhandled error).
    client.on('error', () => {});
    await client.ping();
    const dir = process.env.TOKEN_LIMITS_DIR ?? resolve(fileURLToPath(import.meta.url), '../..');
    const lib = await import(pathToFileURL(resolve(dir, 'dist/index.js')).href);
    limiter = lib.createTokenLimiter({ store: new lib.RedisStore({ client, prefix: 'pairs' }), defaultLimits: benchLimits(rules), storeTimeoutMs: 600_000 });
    return { client, limiter, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
