/**
 * Both sides' CPU per reserve+commit pair at the pairs bench's concurrency, in plain node, for
 * comparing two builds of the client path by alternated runs (each run its own process and its own
 * redis-server, so neither inherits the other's warm caches):
 *   node bench/pair-cpu.mjs [rules=1] [pairs=20000]
 * The library is `dist/` of the checkout named by TOKEN_LIMITS_DIR (default: this one). Users
 * drawn from 1,000, 100 pairs in flight (as `npm run bench`'s pairs table), each commit awaited
 * until applied, 5,000 untimed pairs first. Prints one JSON line: this process's user and system CPU
 * µs per pair, the redis-server's (INFO cpu), pairs/s, and per command the calls and server µs per
 * pair (INFO commandstats; a script's time includes the commands it runs).
 */
import { performance } from 'node:perf_hooks';
import { pairRunner, plainPairSetup, serverCpuSeconds } from './pair-workload.mjs';

const [rulesText = '1', pairsText = '20000'] = process.argv.slice(2);
const pairs = Number(pairsText);
const { client, limiter, stop } = await plainPairSetup(Number(rulesText));
try {
  const serverCpu = () => serverCpuSeconds(client);
  const run = pairRunner(limiter, 100);
  await run(5000);
  await client.config('RESETSTAT');
  const redisBefore = await serverCpu();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run(pairs);
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const redisUs = ((await serverCpu()) - redisBefore) * 1e6;
  const commands = {};
  for (const m of (await client.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)) {
    if (m[1] !== 'info' && m[1] !== 'config') commands[m[1]] = { callsPerPair: Number((Number(m[2]) / pairs).toFixed(3)), usPerPair: Number((Number(m[3]) / pairs).toFixed(2)) };
  }
  const round = (n) => Number(n.toFixed(1));
  process.stdout.write(
    `${JSON.stringify({ rules: Number(rulesText), pairs, clientUserUs: round(used.user / pairs), clientSystemUs: round(used.system / pairs), redisUs: round(redisUs / pairs), pairsPerSecond: Math.round(pairs / seconds), commands })}\n`,
  );
} finally {
  await stop();
}
