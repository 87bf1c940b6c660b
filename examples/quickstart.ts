/**
 * The engine on its own, on the embedded MemoryStore: no Redis, no API key.
 * Run: npx tsx examples/quickstart.ts   (npm run example runs every example)
 */
import { createTokenLimiter, TokenLimitExceededError } from 'token-limits';

const limiter = createTokenLimiter({
  defaultLimits: [
    { id: 'monthly', tokens: 10_000, period: 'month' },
    { id: 'per-minute', requests: 5, period: 'minute' },
  ],
});
limiter.on('alert', (a) => console.log(`alert: ${a.userId} passed ${a.threshold * 100}% of "${a.ruleId}" (${a.used}/${a.limit})`));

// Before a provider call: hold the estimate (input tokens + output reservation).
const reservation = await limiter.reserve('alice', { tokens: 1_500 });
// ... call the provider ...
// After it: commit what the provider reported.
const record = await limiter.commit(reservation, { inputTokens: 1_200, outputTokens: 7_000, model: 'gpt-4o-mini' });
console.log(`charged ${record.totalTokens} tokens to ${record.userId}`);

try {
  await limiter.reserve('alice', { tokens: 2_000 });
} catch (error) {
  if (error instanceof TokenLimitExceededError) {
    console.log(`refused by "${error.ruleId}": ${error.used}/${error.limit} used, resets ${error.resetAt.toISOString()}`);
  }
}

const usage = await limiter.admin.getUsage('alice');
console.log(`alice: ${usage.used}/${usage.limit} used, ${usage.remaining} left, period ${usage.periodStart.toISOString()} -> ${usage.resetAt.toISOString()}`);
console.log('stats:', await limiter.admin.getStats());
await limiter.close();
