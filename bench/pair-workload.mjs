/**
 * The reserve+commit workload the pair counters share (redis-pairs.ts, redis-instructions.ts,
 * pair-client.mjs): plain JavaScript, so that pair-client.mjs runs in plain node without tsx.
 */

/** The limits every pairs bench gives its users: a monthly rule, then hourly, daily and 30-day ones. */
export function benchLimits(rules) {
  return Array.from({ length: rules }, (_, i) =>
    i === 0 ? { id: 'monthly', tokens: 1e15, period: 'month' } : { id: `r${i}`, tokens: 1e15, period: i % 3 === 0 ? 'day' : i % 3 === 1 ? 'hour' : { days: 30 } },
  );
}

/**
 * Runs `count` pairs per call, `inFlight` at a time, users drawn in turn from 1,000 (continuing
 * where the last call stopped): each commit awaited until applied, the aggregates flushed at the end.
 */
export function pairRunner(limiter, inFlight = 10) {
  let n = 0;
  return async (count) => {
    const end = n + count;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (n < end) {
          const user = `u${n++ % 1000}`;
          await limiter.commit(await limiter.reserve(user, { tokens: 10 }), { inputTokens: 5, outputTokens: 5, model: 'gpt-4o-mini', provider: 'openai' });
        }
      }),
    );
    await limiter.flush();
  };
}
