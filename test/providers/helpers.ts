import type { TokenLimiter, UsageRecord } from '../../src/index.js';
import { expectedUsage, type RecordedRequest } from '../../src/testing/index.js';

/** Sum of the usage the emulator reported for the successful requests among `requests` (of the given endpoints). */
export function emulatorTotals(requests: readonly RecordedRequest[], endpoints?: readonly string[]): { input: number; output: number } {
  let input = 0;
  let output = 0;
  for (const r of requests) {
    if (r.reply?.status !== 200) continue;
    if (endpoints && !endpoints.includes(r.endpoint)) continue;
    const u = expectedUsage(r);
    input += u.inputTokens;
    output += u.outputTokens;
  }
  return { input, output };
}

/** Every usage record, newest first. */
export function usageLog(limiter: TokenLimiter): Promise<UsageRecord[]> {
  return limiter.admin.getUsageLog({ limit: 1000 });
}

export const settle = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The usage log once it holds at least `count` records: a stream settles, and its commit lands, in
 * the background after the caller is done with it, so a test polls (with `flush()`) instead of
 * sleeping a fixed time a loaded machine can overrun. Gives up after `timeoutMs` and returns what
 * is there, for the test's own assertion to report.
 */
export async function loggedAtLeast(limiter: TokenLimiter, count: number, timeoutMs = 10_000): Promise<UsageRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await limiter.flush();
    const log = await usageLog(limiter);
    if (log.length >= count || Date.now() > deadline) return log;
    await settle(20);
  }
}

/** Counts JSON.parse calls by the text parsed, while `run` runs. */
export async function parsesDuring(run: () => Promise<unknown>): Promise<Map<string, number>> {
  const original = JSON.parse;
  const counts = new Map<string, number>();
  JSON.parse = function counted(this: unknown, text: string, reviver?: Parameters<typeof JSON.parse>[1]) {
    counts.set(text, (counts.get(text) ?? 0) + 1);
    return original.call(this, text, reviver) as unknown;
  } as typeof JSON.parse;
  try {
    await run();
  } finally {
    JSON.parse = original;
  }
  return counts;
}

/** All the parses `parsesDuring` counted. */
export const totalParses = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);
