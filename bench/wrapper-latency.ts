/**
 * What a wrapped SDK call costs the caller, against the bare SDK call, in the same run:
 * - `benchWrapperLatency`: the emulator runs in its own process; bare calls run in one plain-node
 *   process that imports only the SDKs, wrapped calls in another that imports `token-limits` from
 *   `dist/`. After a warm-up of both, slices of calls alternate (bare process, then wrapped, the
 *   order swapped every repeat), same payload, `repeats` times; p50/p99 per slice, median and spread
 *   over the repeats. Added p50 = wrapped p50 − bare p50 of the same repeat. Beside wall time, the
 *   CPU time each calling process spent per call (it does not count waiting for a CPU, so it holds
 *   on a loaded machine where wall-time percentiles of cross-process calls do not).
 *   The warm-up is about long enough to reach V8's steady state ({@link STEADY_WARM_CALLS}): a
 *   process's CPU per call falls by two thirds or more over its first few thousand calls as V8 optimizes the SDK's
 *   code and ours, and a slice taken before that measures how fast each side's code warms up, not
 *   what a call costs a server that has been running. How a fresh process starts is measured on
 *   its own (`FreshProcessResult`).
 * - `benchCallerRoundTrips`: Redis behind a TCP proxy adding `delayMs` each way; per wrapped call
 *   (RedisStore through the proxy): when the emulator received the request, and when the caller had
 *   its result beyond what the bare call next to it took (bare and wrapped calls alternate one by
 *   one), both in round trips of that proxy (a PING through the same connection before each call).
 * Run standalone with `npx tsx bench/wrapper-latency.ts [--quick]`.
 */
import { startDelayProxy } from './delay-proxy.js';
import { ensureBuilt, forkPlain, type Child } from './processes.js';

export type Provider = 'openai' | 'anthropic' | '@google/genai' | '@google/generative-ai';
export type Mode = 'non-stream' | 'stream';
export type StoreKind = 'memory' | 'redis';

export const PROVIDERS: Provider[] = ['openai', 'anthropic', '@google/genai', '@google/generative-ai'];

export interface LatencyResult {
  provider: Provider;
  mode: Mode;
  store: StoreKind;
  /** Calls per slice, slices per side. */
  calls: number;
  repeats: number;
  /** Per repeat (slice): p50 and p99 of each side, ms. */
  bareP50Ms: number[];
  bareP99Ms: number[];
  wrappedP50Ms: number[];
  wrappedP99Ms: number[];
  /** Per repeat: wrapped p50 − bare p50 of that repeat, ms. */
  addedP50Ms: number[];
  /** Per repeat: CPU time (user + system) of the calling process per call, µs, each side. */
  bareCpuUs: number[];
  wrappedCpuUs: number[];
  /** Per repeat: wrapped CPU µs per call − bare CPU µs per call. */
  addedCpuUs: number[];
}

/**
 * Untimed calls per case and side before the timed slices: from a fresh process, most of the fall
 * of the CPU time per OpenAI call (bare and wrapped alike) is over by the 3,000th call (in blocks
 * of 250 or 500, three runs each: the first block takes 3 to 6 times the median of the blocks
 * after it; one wrapped run still fell until about its 4,500th). Every case gets the whole
 * warm-up, though the cases after the first share much of their code with it.
 */
export const STEADY_WARM_CALLS = 3000;

/** A fresh process's first calls, each side in a process that has made no call yet. */
export interface FreshProcessResult {
  provider: Provider;
  mode: Mode;
  store: StoreKind;
  calls: number;
  bareP50Ms: number;
  wrappedP50Ms: number;
  bareCpuUs: number;
  wrappedCpuUs: number;
}

export interface CallerProcesses {
  emulator: Child;
  bare: Child;
  wrapped: Child;
  close(): Promise<void>;
}

/** The emulator's process and one caller process per side, set up for `redisUrl` (and `proxyUrl`). */
export async function startCallerProcesses(redisUrl: string, proxyUrl?: string): Promise<CallerProcesses> {
  ensureBuilt();
  const emulator = await forkPlain('emulator-process.mjs');
  const bare = await forkPlain('sdk-caller.mjs', ['bare']);
  const wrapped = await forkPlain('sdk-caller.mjs', ['wrapped']);
  for (const side of [bare, wrapped]) await side.request({ cmd: 'setup', urls: emulator.hello.urls, redisUrl, proxyUrl });
  return {
    emulator,
    bare,
    wrapped,
    close: async () => {
      await Promise.all([bare.close(), wrapped.close()]);
      await emulator.close();
    },
  };
}

export async function benchWrapperLatency(
  redisUrl: string,
  options: { calls?: number; repeats?: number; warm?: number; freshCalls?: number; stores?: StoreKind[]; providers?: Provider[]; modes?: Mode[] } = {},
): Promise<{ results: LatencyResult[]; fresh: FreshProcessResult | undefined }> {
  const { calls = 400, repeats = 3, warm = STEADY_WARM_CALLS, freshCalls = 0 } = options;
  const procs = await startCallerProcesses(redisUrl);
  const results: LatencyResult[] = [];
  let fresh: FreshProcessResult | undefined;
  try {
    for (const provider of options.providers ?? PROVIDERS) {
      for (const mode of options.modes ?? (['non-stream', 'stream'] as const)) {
        for (const store of options.stores ?? (['memory', 'redis'] as const)) {
          const slice = async (side: Child, warmCalls: number, n: number) => {
            const reply = await side.request<{ times: number[]; cpuUsPerCall: number }>({ cmd: 'slice', provider, mode, store, warm: warmCalls, calls: n });
            await procs.emulator.request({ cmd: 'arrivals' }); // clears the emulator's records
            return reply;
          };
          let untimed = warm;
          if (results.length === 0 && freshCalls > 0) {
            // The first calls each process makes: timed as the warm-up's first part, one side after
            // the other (neither can be fresh twice).
            const bare = await slice(procs.bare, 0, freshCalls);
            const wrapped = await slice(procs.wrapped, 0, freshCalls);
            fresh = { provider, mode, store, calls: freshCalls, bareP50Ms: pct(bare.times, 0.5), wrappedP50Ms: pct(wrapped.times, 0.5), bareCpuUs: bare.cpuUsPerCall, wrappedCpuUs: wrapped.cpuUsPerCall };
            untimed = Math.max(0, warm - freshCalls);
          }
          await slice(procs.bare, untimed, 0);
          await slice(procs.wrapped, untimed, 0);
          const r: LatencyResult = { provider, mode, store, calls, repeats, bareP50Ms: [], bareP99Ms: [], wrappedP50Ms: [], wrappedP99Ms: [], addedP50Ms: [], bareCpuUs: [], wrappedCpuUs: [], addedCpuUs: [] };
          for (let i = 0; i < repeats; i += 1) {
            // A few untimed calls at the start of each slice: the process was idle during the other's.
            let bareSlice: { times: number[]; cpuUsPerCall: number };
            let wrappedSlice: typeof bareSlice;
            if (i % 2 === 0) {
              bareSlice = await slice(procs.bare, 10, calls);
              wrappedSlice = await slice(procs.wrapped, 10, calls);
            } else {
              wrappedSlice = await slice(procs.wrapped, 10, calls);
              bareSlice = await slice(procs.bare, 10, calls);
            }
            const bare = bareSlice.times;
            const wrapped = wrappedSlice.times;
            r.bareCpuUs.push(bareSlice.cpuUsPerCall);
            r.wrappedCpuUs.push(wrappedSlice.cpuUsPerCall);
            r.addedCpuUs.push(wrappedSlice.cpuUsPerCall - bareSlice.cpuUsPerCall);
            r.bareP50Ms.push(pct(bare, 0.5));
            r.bareP99Ms.push(pct(bare, 0.99));
            r.wrappedP50Ms.push(pct(wrapped, 0.5));
            r.wrappedP99Ms.push(pct(wrapped, 0.99));
            r.addedP50Ms.push(pct(wrapped, 0.5) - pct(bare, 0.5));
          }
          results.push(r);
        }
      }
    }
  } finally {
    await procs.close();
  }
  return { results, fresh };
}

/** Untimed calls of each side through the proxy, after the warm-up, before the timed ones of a round-trip case. */
const WARM_TRIPS = 10;

export interface CallerTripsResult {
  provider: Provider;
  mode: Mode;
  calls: number;
  delayMs: number;
  /** Median PING round trip through the proxy, ms (the unit below). */
  rttMs: number;
  /** Emulator arrival − call start, bare call (no store), median ms. */
  bareLeaveMs: number;
  /** Bare call duration (the emulator's answer and the SDK's own work), median ms. */
  bareDurationMs: number;
  /** Wrapped: (emulator arrival − call start) ÷ RTT, median and largest. */
  leaveRtt: { median: number; max: number };
  /** Wrapped: (emulator arrival − call start − the same for the bare call next to it) ÷ RTT. */
  leaveBeyondBareRtt: { median: number; max: number };
  /** Wrapped: (call duration − duration of the bare call next to it) ÷ RTT, median and largest. */
  resultRtt: { median: number; max: number };
}

/**
 * Caller-visible round trips to a RedisStore `delayMs` away each way (a node:net proxy in this
 * process in front of `redisUrl`), for wrapped calls in the wrapped process. Each call is followed by
 * an untimed `flush()`, so it never waits behind the previous call's commit.
 */
export async function benchCallerRoundTrips(
  redisUrl: string,
  options: { delayMs?: number; calls?: number; warm?: number; cases?: Array<{ provider: Provider; mode: Mode }> } = {},
): Promise<CallerTripsResult[]> {
  const { delayMs = 5, calls = 30, warm = STEADY_WARM_CALLS } = options;
  const cases = options.cases ?? [
    { provider: 'openai', mode: 'non-stream' },
    { provider: 'openai', mode: 'stream' },
    { provider: 'anthropic', mode: 'non-stream' },
    { provider: 'anthropic', mode: 'stream' },
  ];
  const target = new URL(redisUrl);
  const proxy = await startDelayProxy({ host: target.hostname, port: Number(target.port || 6379) }, delayMs);
  const procs = await startCallerProcesses(redisUrl, proxy.url);
  const out: CallerTripsResult[] = [];
  try {
    for (const { provider, mode } of cases) {
      type Trip = { leave: number; duration: number; ping: number | undefined };
      const run = async (side: Child, n: number, warm: number): Promise<Trip[]> => {
        const trips = await side.request<{ calls: Array<{ start: number; end: number }>; pings: number[] }>({ cmd: 'trips', provider, mode, calls: n, warm });
        const { arrivals } = await procs.emulator.request<{ arrivals: number[] }>({ cmd: 'arrivals' });
        // The untimed warm-up calls came first; one request per call (the SDKs do not retry here).
        if (arrivals.length !== n + warm) throw new Error(`expected ${n + warm} requests at the emulator, got ${arrivals.length}`);
        const timed = arrivals.slice(warm);
        return trips.calls.map((c, i) => ({ leave: timed[i]! - c.start, duration: c.end - c.start, ping: trips.pings[i] }));
      };
      // To V8's steady state first (see STEADY_WARM_CALLS), on a RedisStore without the proxy (the
      // same code, without 10 ms per call), then a few calls through the proxy.
      await procs.bare.request({ cmd: 'slice', provider, mode, store: 'redis', warm, calls: 0 });
      await procs.wrapped.request({ cmd: 'slice', provider, mode, store: 'redis', warm, calls: 0 });
      await procs.emulator.request({ cmd: 'arrivals' });
      await run(procs.bare, 0, WARM_TRIPS);
      await run(procs.wrapped, 0, WARM_TRIPS);
      // One bare call, one wrapped call, alternately (order swapped every pair): each wrapped call is
      // compared with the bare call next to it, so the machine's load hits both alike.
      const bare: Trip[] = [];
      const wrapped: Trip[] = [];
      for (let i = 0; i < calls; i += 1) {
        if (i % 2 === 0) {
          bare.push(...(await run(procs.bare, 1, 0)));
          wrapped.push(...(await run(procs.wrapped, 1, 0)));
        } else {
          wrapped.push(...(await run(procs.wrapped, 1, 0)));
          bare.push(...(await run(procs.bare, 1, 0)));
        }
      }
      const rttMs = pct(wrapped.map((w) => w.ping!), 0.5);
      const bareDurationMs = pct(bare.map((b) => b.duration), 0.5);
      const leave = wrapped.map((w) => w.leave / rttMs);
      const result = wrapped.map((w, i) => (w.duration - bare[i]!.duration) / rttMs);
      const leaveBeyondBare = wrapped.map((w, i) => (w.leave - bare[i]!.leave) / rttMs);
      out.push({
        provider,
        mode,
        calls,
        delayMs,
        rttMs,
        bareLeaveMs: pct(bare.map((b) => b.leave), 0.5),
        bareDurationMs,
        leaveRtt: { median: pct(leave, 0.5), max: Math.max(...leave) },
        leaveBeyondBareRtt: { median: pct(leaveBeyondBare, 0.5), max: Math.max(...leaveBeyondBare) },
        resultRtt: { median: pct(result, 0.5), max: Math.max(...result) },
      });
    }
  } finally {
    await procs.close();
    await proxy.close();
  }
  return out;
}

export function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const warm = quick ? 300 : STEADY_WARM_CALLS;
  console.log(JSON.stringify(await benchWrapperLatency(url, { calls: quick ? 40 : 100, repeats: quick ? 6 : 10, warm, freshCalls: quick ? 100 : 1000 }), null, 1));
  console.log(JSON.stringify(await benchCallerRoundTrips(url, { calls: quick ? 10 : 30, warm }), null, 1));
}
