/**
 * Redis's work per call under light traffic, where calls come one at a time with a pause between
 * them, so that the all-users aggregates go in small batches (see BATCH_DELAY_MS in
 * src/stores/redis/aggregator.ts):
 *   node bench/light-traffic.mjs [calls=2000] [gapMs=2]
 * The library is `dist/` of the checkout named by TOKEN_LIMITS_DIR (default: this one), on a
 * redis-server of its own (pair-workload.mjs). 500 untimed calls, then `calls` reserve+commit pairs
 * started `gapMs` apart (a timer each, so a little more in fact), users drawn from 1,000, one rule;
 * then a flush. Prints one JSON line: the batches of aggregates sent (EVALSHA calls), records per
 * batch, and per call the script time of INFO commandstats (FCALL: reserve and commit; EVALSHA:
 * the aggregates) and the redis-server's CPU.
 */
import { plainPairSetup, serverCpuSeconds } from './pair-workload.mjs';

const [callsText = '2000', gapText = '2'] = process.argv.slice(2);
const calls = Number(callsText);
const gapMs = Number(gapText);
if (!Number.isSafeInteger(calls) || calls < 1 || !(gapMs >= 0)) {
  console.error('usage: node bench/light-traffic.mjs [calls=2000 (a positive integer)] [gapMs=2 (ms, 0 or more)]');
  process.exit(2);
}
const { client, limiter, stop } = await plainPairSetup(1);
try {
  const one = async (i) =>
    limiter.commit(await limiter.reserve(`u${i % 1000}`, { tokens: 10 }), { inputTokens: 5, outputTokens: 5, model: 'gpt-4o-mini', provider: 'openai' });
  for (let i = 0; i < 500; i += 1) await one(i);
  await limiter.flush();
  const serverCpu = () => serverCpuSeconds(client);
  await client.config('RESETSTAT');
  const before = await serverCpu();
  const started = [];
  for (let i = 0; i < calls; i += 1) {
    started.push(one(i));
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  await Promise.all(started);
  await limiter.flush();
  const redisUs = ((await serverCpu()) - before) * 1e6;
  const stats = {};
  for (const m of (await client.info('commandstats')).matchAll(/cmdstat_(fcall|evalsha):calls=(\d+),usec=(\d+)/g)) stats[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  const batches = stats.evalsha?.calls ?? 0;
  const round = (n) => Number(n.toFixed(1));
  process.stdout.write(
    `${JSON.stringify({
      calls,
      gapMs,
      batches,
      recordsPerBatch: round(calls / Math.max(1, batches)),
      scriptUsPerCall: { fcall: round((stats.fcall?.usec ?? 0) / calls), evalsha: round((stats.evalsha?.usec ?? 0) / calls) },
      redisCpuUsPerCall: round(redisUs / calls),
    })}\n`,
  );
} finally {
  await stop();
}
