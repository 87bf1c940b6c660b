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
