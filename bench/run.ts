/**
 * npm run bench: every figure is measured in this run against its baseline in this run, and
 * printed as a markdown table; raw numbers go to bench/results.json. See bench/README.md.
 */
import { writeFileSync } from 'node:fs';
import { benchAiSdkLatency } from './ai-sdk-latency.js';
import { benchLedgerLatency } from './ledger-latency.js';
import { cpus, loadavg } from 'node:os';
import { benchBytesPerUser, benchRss } from './memory.js';
import { benchRedisFootprint } from './redis-footprint.js';
import { benchRedisOps } from './redis-ops.js';
import { benchRedisPairs, benchRulesRatio, type PairsResult } from './redis-pairs.js';
import { benchTokenizers } from './tokenizers.js';
import { benchCallerRoundTrips, benchWrapperLatency, STEADY_WARM_CALLS } from './wrapper-latency.js';
import { ensureBuilt } from './processes.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const quick = process.argv.includes('--quick');
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, quick };
const out: string[] = [];
const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${f(Math.min(...xs), 2)}-${f(Math.max(...xs), 2)}`;

/** The timing columns of the wrapped-vs-bare tables: bare p50/p99, wrapped p50/p99, added p50, ratio. */
const timing = (r: { bareP50Ms: number; bareP99Ms: number; wrappedP50Ms: number; wrappedP99Ms: number; addedP50Ms: number; ratioP50: number }) =>
  [r.bareP50Ms, r.bareP99Ms, r.wrappedP50Ms, r.wrappedP99Ms, r.addedP50Ms, r.ratioP50].map((n) => f(n, 2)).join(' | ');

const load = () => loadavg().map((x) => f(x, 1)).join(' / ');
results.loadAverage = { start: loadavg() };
out.push(`Machine: ${cpus().length} CPUs, load average (1 / 5 / 15 min) at the start: ${load()}. Node ${process.version}.`, '');

ensureBuilt();
const latencyCalls = quick ? 40 : 100;
const latencyRepeats = quick ? 6 : 10;
// Both processes are warmed to V8's steady state (see STEADY_WARM_CALLS); a fresh process's first
// calls are timed on their own.
const warmCalls = quick ? 300 : STEADY_WARM_CALLS;
const freshCalls = quick ? 100 : 1000;
const { results: latency, fresh } = await benchWrapperLatency(url, { calls: latencyCalls, repeats: latencyRepeats, warm: warmCalls, freshCalls });
results.wrapperLatency = latency;
results.freshProcess = fresh;
const ms = (xs: number[]) => `${f(median(xs), 2)} (${spread(xs)})`;
const us = (xs: number[]) => `${f(median(xs) * 1000)} (${f(Math.min(...xs) * 1000)} to ${f(Math.max(...xs) * 1000)})`;
out.push(
  '## Wrapped vs bare SDK call (emulator in its own process; bare and wrapped calls each in their own plain-node process)',
  '',
  `Bare calls run in a process that imports only the SDK; wrapped calls in one that imports \`token-limits\` from \`dist/\`; the emulator in a third. After a warm-up of ${f(warmCalls)} untimed calls per case in each process (about where V8 has optimized both sides: most of the fall of a fresh process's CPU per call is over by its 3,000th call; the first calls are in the next table), slices of ${latencyCalls} calls alternate between the two processes (order swapped each repeat), same request, ${latencyRepeats} repeats. p50/p99: median over the repeats of each slice's percentile, spread (min-max) in brackets. **added p50 = wrapped p50 − bare p50** of the same repeat: median (min to max). **added, lowest p50s = lowest wrapped p50 − lowest bare p50** over the repeats (a loaded machine only adds delay, so the lowest slice is the least disturbed). **CPU µs per call** = user + system CPU time of the calling process during the slice ÷ calls (a process waiting for a CPU does not count), median over the repeats; added = wrapped − bare. **wrapped ÷ bare** = median wrapped p50 ÷ median bare p50. Load average when the table was done: ${load()}.`,
  '',
  '| provider | call | store | bare p50 ms | bare p99 ms | wrapped p50 ms | wrapped p99 ms | added p50 µs | added, lowest p50s µs | CPU µs per call bare / wrapped / added | wrapped ÷ bare p50 |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...latency.map(
    (r) =>
      `| ${r.provider} | ${r.mode} | ${r.store} | ${ms(r.bareP50Ms)} | ${f(median(r.bareP99Ms), 2)} | ${ms(r.wrappedP50Ms)} | ${f(median(r.wrappedP99Ms), 2)} | **${us(r.addedP50Ms)}** | ${f((Math.min(...r.wrappedP50Ms) - Math.min(...r.bareP50Ms)) * 1000)} | ${f(median(r.bareCpuUs))} / ${f(median(r.wrappedCpuUs))} / ${f(median(r.addedCpuUs))} | ${f(median(r.wrappedP50Ms) / median(r.bareP50Ms), 2)} |`,
  ),
  '',);
if (fresh) {
  out.push(
    `A fresh process's first ${f(fresh.calls)} calls (${fresh.provider} ${fresh.mode}, ${fresh.store === 'memory' ? 'MemoryStore' : 'RedisStore'}), timed before the warm-up above: each side in its own process that had made no call yet, the bare one first. V8 has not optimized either side's code yet, and ours adds more of it.`,
    '',
    '| calls | bare p50 ms | wrapped p50 ms | added p50 µs | CPU µs per call bare / wrapped / added |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${f(fresh.calls)} | ${f(fresh.bareP50Ms, 2)} | ${f(fresh.wrappedP50Ms, 2)} | ${f((fresh.wrappedP50Ms - fresh.bareP50Ms) * 1000)} | ${f(fresh.bareCpuUs)} / ${f(fresh.wrappedCpuUs)} / ${f(fresh.wrappedCpuUs - fresh.bareCpuUs)} |`,
    '',
  );
}

const trips = await benchCallerRoundTrips(url, { delayMs: 5, calls: quick ? 10 : 30, warm: warmCalls });
results.callerRoundTrips = trips;
out.push(
  '## Caller-visible round trips (RedisStore behind a TCP proxy adding 5 ms each way)',
  '',
  `RTT = median PING through the proxy on the wrapped process's own connection, before each call. **Request leaves** = (time the emulator received the request − call start) ÷ RTT. **Beyond bare** = the same minus the bare call's (emulator arrival − call start). **Result arrives** = (wrapped call duration − duration of the bare call next to it) ÷ RTT: the time the caller waited beyond the emulator's answer and the SDK's own work, in round trips. Both processes first make ${f(warmCalls)} untimed calls per case (the wrapped one on a RedisStore without the proxy: the same code, at V8's steady state), then 10 through the proxy. Bare (plain process, no store) and wrapped calls alternate one by one; each wrapped call is followed by an untimed \`limiter.flush()\`, so no call waits behind the previous one's commit. Median and largest of ${quick ? 10 : 30} pairs. Load average: ${load()}.`,
  '',
  '| provider | call | RTT ms | request leaves, RTT (max) | beyond bare, RTT | result arrives, RTT (max) | bare: request leaves ms | bare call ms |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...trips.map(
    (t) =>
      `| ${t.provider} | ${t.mode} | ${f(t.rttMs, 2)} | **${f(t.leaveRtt.median, 2)}** (${f(t.leaveRtt.max, 2)}) | ${f(t.leaveBeyondBareRtt.median, 2)} | **${f(t.resultRtt.median, 2)}** (${f(t.resultRtt.max, 2)}) | ${f(t.bareLeaveMs, 2)} | ${f(t.bareDurationMs, 2)} |`,
  ),
  '',
);

const aiSdk = await benchAiSdkLatency(url, quick ? 100 : 400);
results.aiSdkLatency = aiSdk;
out.push(
  '## AI SDK generateText through tokenLimitsMiddleware vs the bare model (same process, calls alternated in slices of 10)',
  '',
  '`ai` 6 with `@ai-sdk/openai` (chat) against the emulator; **ratio = wrapped ÷ bare `generateText` p50** (wall time); added = wrapped p50 − bare p50.',
  '',
  '| store | calls each | bare p50 ms | bare p99 ms | wrapped p50 ms | wrapped p99 ms | added p50 ms | wrapped ÷ bare p50 |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...aiSdk.map((r) => `| ${r.store} | ${f(r.calls)} | ${timing(r)} |`),
  '',
);

const ledgerLatency = await benchLedgerLatency(url, process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test', quick ? 100 : 300);
results.ledgerLatency = ledgerLatency;
out.push(
  '## Wrapped call with the PostgreSQL ledger on vs off (OpenAI on the local emulator, same run, calls alternated)',
  '',
  '**on/off = p50 with the ledger ÷ p50 without** (the drainer runs in the same process).',
  '',
  '| store | call | ledger off p50 ms | off p99 ms | ledger on p50 ms | on p99 ms | on/off p50 | rows written / calls with the ledger |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...ledgerLatency.map(
    (r) => `| ${r.store} | ${r.mode} | ${f(r.offP50Ms, 2)} | ${f(r.offP99Ms, 2)} | ${f(r.onP50Ms, 2)} | ${f(r.onP99Ms, 2)} | ${f(r.ratioP50, 2)} | ${f(r.rows)} / ${f(r.callsOn)} |`,
  ),
  '',
);

const redis = await benchRedisOps(url);
results.redisOps = redis;
out.push(
  '## Redis operations (RedisStore vs raw EVALSHA pairs, same run)',
  '',
  `Round trips of the engine: reserve **${redis.roundTrips.reserve}** (before the provider call), commit **${redis.roundTrips.commit}** (after it, off the caller's path: the user's commit, then the all-users aggregates, counted for one lone call after a flush; under traffic one aggregate script carries up to 256 records, so about 1 per call).`,
  '',
  '',
);

// Throughput: our reserve+commit pairs against raw pairs of EVALSHA calls (2 round trips each, like
// ours), alternated in 1 s slices on one connection of a redis-server started for the bench.
const pairCases: Array<{ label: string; rules: number; accountRules: number }> = [
  { label: 'lone user, 1 rule', rules: 1, accountRules: 0 },
  { label: 'lone user, 10 rules', rules: 10, accountRules: 0 },
  { label: 'lone user, 2 rules', rules: 2, accountRules: 0 },
  { label: 'account member, 2 own + 2 account rules', rules: 2, accountRules: 2 },
];
const pairs: Array<PairsResult & { label: string }> = [];
for (const c of pairCases) pairs.push({ label: c.label, ...(await benchRedisPairs({ concurrency: 100, rules: c.rules, accountRules: c.accountRules, repeats: quick ? 1 : 3 })) });
results.redisPairs = pairs;
const pairsOf = (label: string) => median(pairs.find((p) => p.label === label)!.repeats.map((r) => r.ours));
out.push(
  'Reserve+commit pairs/s through the public API (awaited until applied; the all-users aggregates flushed at the end of each slice and counted), concurrency 100, users drawn from 1,000. **Ratio = our pairs/s ÷ raw pairs/s**, where a raw pair is 2 EVALSHA calls of a one-`INCRBY` script carrying one argument as large as our reserve\'s arguments as sent (measured during our warm-up; keys left out), in the slice right after ours (median of the repeats, spread in brackets). Redis CPU µs per pair = CPU time of the redis-server process during the slice ÷ pairs (reading, running and answering the commands). Script µs per pair = the time `INFO commandstats` gives for EVALSHA, EVAL and FCALL during the slice ÷ pairs (running the scripts only: what Redis itself reports per command). By FCALL = the share of our script calls in the slices that ran as Redis Functions (the hot path once its library is loaded; EVALSHA otherwise). Client CPU µs per pair = CPU time of the bench\'s Node process during the slice ÷ pairs (the engine, ioredis and the socket writes), ours and raw: on a machine with few cores the client and the server each fill one, so pairs/s is bound by the larger per-pair cost. Ours runs the build in `dist/`, as users import it.',
  '',
  '| case | reserve argument bytes | pairs/s | raw pairs/s | ratio (spread) | Redis CPU µs per pair | per raw pair | script µs per pair | per raw pair | client CPU µs per pair | per raw pair | by FCALL | p50 ms | p99 ms |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...pairs.map((p) => {
    const rs = p.repeats;
    return `| ${p.label} | ${f(p.reserveArgBytes)} | ${f(median(rs.map((r) => r.ours)))} | ${f(median(rs.map((r) => r.raw)))} | ${f(median(rs.map((r) => r.ratio)), 2)} (${spread(rs.map((r) => r.ratio))}) | ${f(median(rs.map((r) => r.redisUsPerPair)))} | ${f(median(rs.map((r) => r.rawRedisUsPerPair)), 1)} | ${f(median(rs.map((r) => r.serverUsPerPair)))} | ${f(median(rs.map((r) => r.rawServerUsPerPair)), 1)} | ${f(median(rs.map((r) => r.clientUsPerPair)))} | ${f(median(rs.map((r) => r.rawClientUsPerPair)), 1)} | ${f(100 * median(rs.map((r) => r.fcallShare)))}% | ${f(p.p50Ms, 2)} | ${f(p.p99Ms, 2)} |`;
  }),
  '',
  `Between rows (each row its own server, seconds apart): 10 rules ÷ 1 rule ${f(pairsOf('lone user, 10 rules') / pairsOf('lone user, 1 rule'), 2)}; account member (2 + 2 rules) ÷ lone user (2 rules): **${f(pairsOf('account member, 2 own + 2 account rules') / pairsOf('lone user, 2 rules'), 2)}**.`,
  '',
);
// 10 rules against 1 the way our pairs are set against raw ones: alternated 1 s slices on one
// server, so that the machine's speed, which changes between the rows above, cancels out.
const rulesRatio = await benchRulesRatio({ concurrency: 100, few: 1, many: 10, repeats: quick ? 1 : 5 });
results.rulesRatio = rulesRatio;
out.push(
  `**10 rules ÷ 1 rule (pairs/s), alternated: ${f(median(rulesRatio.repeats.map((r) => r.ratio)), 2)}** (spread ${spread(rulesRatio.repeats.map((r) => r.ratio))}): two limiters (1 rule and 10 rules per user) on one redis-server and one connection, each warmed up, then 1 s slices alternating 1 rule, 10 rules, ${rulesRatio.repeats.length} times, concurrency 100, users drawn from 1,000; the ratio of each pair of slices, median (pairs/s: 1 rule ${f(median(rulesRatio.repeats.map((r) => r.few)))}, 10 rules ${f(median(rulesRatio.repeats.map((r) => r.many)))}).`,
  '',
);

const tokenizers = await benchTokenizers(quick);
results.tokenizers = tokenizers;
out.push(
  '## Tokenizers',
  '',
  '| tokenizer | encoding | cold load ms | RSS added MB | load time vs js-tiktoken | RSS vs js-tiktoken |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
  ...tokenizers.coldStart.map((r) => {
    const base = tokenizers.coldStart.find((b) => b.tokenizer === 'js-tiktoken' && b.encoding === r.encoding);
    const ratio = (a: number, b: number | undefined) => (b ? `${f(a / b, 2)}x` : '');
    return `| ${r.tokenizer} | ${r.encoding} | ${f(r.loadMs)} | ${f(r.rssAddedMb)} | ${ratio(r.loadMs, base?.loadMs)} | ${ratio(r.rssAddedMb, base?.rssAddedMb)} |`;
  }),
  '',
  '| tokenizer | encoding | input | MB/s | tokens/s | vs js-tiktoken |',
  '| --- | --- | --- | ---: | ---: | ---: |',
  ...tokenizers.throughput.map((r) => {
    const base = tokenizers.throughput.find((b) => b.tokenizer === 'js-tiktoken' && b.encoding === r.encoding && b.input === r.input);
    return `| ${r.tokenizer} | ${r.encoding} | ${r.input} | ${f(r.mbPerSecond, 2)} | ${f(r.tokensPerSecond)} | ${base ? f(r.mbPerSecond / base.mbPerSecond, 1) + 'x' : ''} |`;
  }),
  '',
  'Event-loop block: `monitorEventLoopDelay` at 1 ms resolution, its max during one estimate, median of 3 runs per case. Estimates yield every 3 ms, so their wall time is not blocking time.',
  '',
  '| prompt | estimator | worst event-loop block ms (median of 3) | same probe over a trivial sliced loop ms | block ÷ baseline | estimate wall ms | JSON.stringify of the request ms | input tokens | exact |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ...tokenizers.eventLoop.map(
    (r) =>
      `| ${r.input} | ${r.provider} | ${f(r.maxBlockMs, 1)} | ${f(r.baselineBlockMs, 1)} | ${f(r.maxBlockMs / Math.max(r.baselineBlockMs, 1), 2)} | ${f(r.estimateMs, 1)} | ${f(r.serializeMs, 2)} | ${f(r.inputTokens)} | ${r.exact} |`,
  ),
  '',
  `Worst event-loop block over all cases: **${f(Math.max(...tokenizers.eventLoop.map((r) => r.maxBlockMs)), 1)} ms**.`,
  '',
  'Input bound: estimate ÷ reference. Adversarial worst is the smallest ratio over the corpus (must be >= 1.0); natural over-estimate is the largest ratio - 1 per language.',
  '',
  '| reference | adversarial worst (estimate ÷ reference) | worst case | cases | natural over-estimate en / pt-BR / code / zh-CN / ja |',
  '| --- | ---: | --- | ---: | --- |',
  ...tokenizers.accuracy.map(
    (r) =>
      `| ${r.reference} | ${f(r.adversarialWorst, 3)} | ${r.adversarialWorstCase} | ${r.adversarialCases} | ${['en', 'pt-BR', 'code', 'zh-CN', 'ja'].map((l) => `${f(100 * (r.naturalWorstOver[l] ?? 0), 1)}%`).join(' / ')} |`,
  ),
  '',
);

const rss = benchRss(quick ? 1 : 3);
const perUser = benchBytesPerUser(quick ? 20_000 : 100_000);
results.memory = { rss, perUser };
out.push(
  '## Memory (fresh plain-node processes from dist/, same run)',
  '',
  `Baseline: a plain \`node\` process (no tsx loader) that imports nothing. RSS ratio = the process's RSS ÷ the baseline's; ${quick ? 'one process each' : 'median of 3 processes each'}. Encoders loaded by \`limiter.warmup()\`: ${rss.encodersAfterWarmup}; after the 1,000 calls: ${rss.encodersAfterCalls}.`,
  '',
  '| figure | library | baseline | baseline is | ratio |',
  '| --- | ---: | ---: | --- | ---: |',
  `| RSS, gpt-tokenizer's o200k encoder alone, no library (MB) | ${f(rss.encoderOnlyMb, 1)} | ${f(rss.bareMb, 1)} | a bare plain node process | ${f(rss.encoderOnlyMb / rss.bareMb, 2)} (+${f(rss.encoderOnlyMb - rss.bareMb, 1)} MB) |`,
  `| RSS, library loaded, a limiter created (MB) | ${f(rss.loadedMb, 1)} | ${f(rss.bareMb, 1)} | same | ${f(rss.loadedMb / rss.bareMb, 2)} (+${f(rss.loadedMb - rss.bareMb, 1)} MB) |`,
  `| RSS, \`warmup()\` (one encoder) and 1,000 estimates + reserve/commit pairs (MB) | **${f(rss.warmedMb, 1)}** | ${f(rss.bareMb, 1)} | same | ${f(rss.ratio, 2)} (+${f(rss.addedMb, 1)} MB) |`,
  `| MemoryStore bytes per user (${f(perUser.users)} users, 1 rule, 1 call each) | ${f(perUser.bytesPerUser)} | ${f(perUser.baselineBytesPerUser)} | a Map entry from the user id to one counter | ${f(perUser.ratio, 1)} |`,
  '',
);

const footprint = await benchRedisFootprint(quick ? 200 : 1000);
results.redisFootprint = footprint;
out.push(
  `## What RedisStore keeps (MEMORY USAGE of every key, ${f(footprint.users)} users, one rule, own redis-server)`,
  '',
  '| figure | bytes | keys |',
  '| --- | ---: | ---: |',
  `| per user after 1 call | ${f(footprint.oneCall.bytesPerUser)} | ${f(footprint.oneCall.keysPerUser, 1)} |`,
  `| per user after 10 calls | ${f(footprint.tenCalls.bytesPerUser)} | ${f(footprint.tenCalls.keysPerUser, 1)} |`,
  `| per call (the 9 extra calls) | ${f(footprint.bytesPerCall)} | |`,
  `| per user, kept past retention (no TTL), default rules | ${f(footprint.keptPastRetention.bytesPerUser)} | ${f(footprint.keptPastRetention.keysPerUser, 1)} |`,
  `| per user, kept past retention, own rules (their config) | ${f(footprint.keptPastRetentionWithOwnRules.bytesPerUser)} | ${f(footprint.keptPastRetentionWithOwnRules.keysPerUser, 1)} |`,
  `| all-users keys (log, history, totals) per call | ${f(footprint.globalBytesPerCall)} | |`,
  `| all-users user index per user (kept) | ${f(footprint.globalKeptPerUser)} | |`,
  '',
  `Every user key but the config of users with own rules expires by TTL; the longest lives ${f(footprint.longestTtlDays)} days (hourly history: ${'`history.userRetentionDays`'} plus the rest of its month).`,
  '',
);

results.loadAverage = { ...(results.loadAverage as object), end: loadavg() };
out.push(`Load average (1 / 5 / 15 min) at the end: ${load()}.`, '');
console.log(out.join('\n'));
writeFileSync(new URL('./results.json', import.meta.url), JSON.stringify(results, null, 2));
