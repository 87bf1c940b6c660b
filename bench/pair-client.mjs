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
import { pairRunner, plainPairSetup } from './pair-workload.mjs';

const [rulesText = '1', pairsText = '2000'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rules = Number(rulesText);
const stdinLines = process.argv.includes('--paced') ? (await import('node:readline')).createInterface({ input: process.stdin })[Symbol.asyncIterator]() : undefined;
const pace = async (word) => {
  if (!stdinLines) return;
  process.stdout.write(`${word}\n`);
  await stdinLines.next();
};

const { limiter, stop } = await plainPairSetup(rules);
try {
  const run = pairRunner(limiter);
  await run(Number(process.env.WARM_CALLS ?? 3000));
  await pace('warm');
  const cpu = process.cpuUsage();
  await run(Number(pairsText));
  const used = process.cpuUsage(cpu);
  await pace('timed');
  process.stdout.write(`${JSON.stringify({ cpuUsPerPair: Math.round((used.user + used.system) / Number(pairsText)) })}\n`);
} finally {
  await stop();
}
