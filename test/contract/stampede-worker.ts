// A separate process for the multi-process stampede: reserves `count` holds concurrently when the
// parent says go, reports what was admitted, then commits the admitted holds.
import Redis from 'ioredis';
import { createTokenLimiter, RedisStore, TokenLimitExceededError } from '../../src/index.js';

const [url, prefix, userId, countText, estimateText, actualText] = process.argv.slice(2);
const client = new Redis(url!);
const limiter = createTokenLimiter({
  store: new RedisStore({ client, prefix: prefix! }),
  defaultLimits: [{ id: 'main', tokens: 1000, period: 'month' }],
  storeTimeoutMs: 20_000,
});
await limiter.warmup();
process.send!('ready');
process.once('message', async () => {
  const outcomes = await Promise.allSettled(Array.from({ length: Number(countText) }, () => limiter.reserve(userId!, { tokens: Number(estimateText) })));
  const admitted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const unexpected = outcomes.filter((o) => o.status === 'rejected' && !(o.reason instanceof TokenLimitExceededError)).length;
  await Promise.all(admitted.map((r) => limiter.commit(r, { inputTokens: Number(actualText), outputTokens: 0 })));
  process.send!({ admitted: admitted.length, unexpected });
  await limiter.close();
  client.disconnect();
  process.exit(0);
});
