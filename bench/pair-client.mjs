/**
 * Reserve+commit pairs through the public API on RedisStore, in one plain-node process (see
 * call-instructions.mjs `pairs`):
 *   node bench/pair-client.mjs [rules=1] [pairs=2000] [--paced]
 * The library is `dist/` of the checkout named by TOKEN_LIMITS_DIR (default: this one); the
 * redis-server is its own, started natively on a free port (under valgrind, only this process is
 * counted). The workload of pair-workload.mjs: 10 pairs in flight, users drawn from 1,000, the
 * rules of `benchLimits`, each commit awaited until applied, the aggregates flushed at the end. WARM_CALLS
 * (default 3,000) untimed pairs, then `pairs` more. Prints one JSON line: user + system CPU µs of
 * this process per pair. `--paced`: prints `warm` after the untimed pairs and `timed` after the
 * others, and waits for a line on stdin after each.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { benchLimits, pairRunner } from './pair-workload.mjs';

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
  const limiter = lib.createTokenLimiter({ store: new lib.RedisStore({ client, prefix: 'pairs' }), defaultLimits: benchLimits(rules), storeTimeoutMs: 600_000 });
  const run = pairRunner(limiter);
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
