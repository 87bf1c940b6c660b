/**
 * Reserve+commit pairs through the public API on RedisStore, in one plain-node process (see
 * call-instructions.mjs `pairs`):
 *   node bench/pair-client.mjs [rules=1] [pairs=2000] [--paced]
 * The library is `dist/` of the checkout named by TOKEN_LIMITS_DIR (default: this one); the
 * redis-server is its own, started natively on a free port (under valgrind, only this process is
 * counted). Like redis-pairs.ts: 10 pairs in flight, users drawn from 1,000, the rules of
 * `benchLimits`, each commit awaited until applied, the aggregates flushed at the end. WARM_CALLS
 * (default 3,000) untimed pairs, then `pairs` more. Prints one JSON line: user + system CPU µs of
 * this process per pair. `--paced`: prints `warm` after the untimed pairs and `timed` after the
 * others, and waits for a line on stdin after each.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';

const [rulesText = '1', pairsText = '2000'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rules = Number(rulesText);
const stdinLines = process.argv.includes('--paced') ? (await import('node:readline')).createInterface({ input: process.stdin })[Symbol.asyncIterator]() : undefined;
const pace = async (word) => {
  if (!stdinLines) return;
  process.stdout.write(`${word}\n`);
  await stdinLines.next();
};

const port = await new Promise((done) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => done(free));
  });
});
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
try {
  const client = new Redis(port, { retryStrategy: (times) => (times > 100 ? null : 50) });
  await client.ping();
  const dir = process.env.TOKEN_LIMITS_DIR ?? resolve(fileURLToPath(import.meta.url), '../..');
  const lib = await import(pathToFileURL(resolve(dir, 'dist/index.js')).href);
  // The limits of benchLimits (redis-pairs.ts): a monthly rule, then hourly, daily and 30-day ones.
  const limits = Array.from({ length: rules }, (_, i) =>
    i === 0 ? { id: 'monthly', tokens: 1e15, period: 'month' } : { id: `r${i}`, tokens: 1e15, period: i % 3 === 0 ? 'day' : i % 3 === 1 ? 'hour' : { days: 30 } },
  );
  const limiter = lib.createTokenLimiter({ store: new lib.RedisStore({ client, prefix: 'pairs' }), defaultLimits: limits, storeTimeoutMs: 600_000 });
  let n = 0;
  const run = async (count) => {
    const end = n + count;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (n < end) {
          const user = `u${n++ % 1000}`;
          await limiter.commit(await limiter.reserve(user, { tokens: 10 }), { inputTokens: 5, outputTokens: 5, model: 'gpt-4o-mini', provider: 'openai' });
        }
      }),
    );
    await limiter.flush();
  };
  await run(Number(process.env.WARM_CALLS ?? 3000));
  await pace('warm');
  const cpu = process.cpuUsage();
  await run(Number(pairsText));
  const used = process.cpuUsage(cpu);
  await pace('timed');
  process.stdout.write(`${JSON.stringify({ cpuUsPerPair: Math.round((used.user + used.system) / Number(pairsText)) })}\n`);
  await limiter.close();
  client.disconnect();
} finally {
  server.kill('SIGKILL');
}
