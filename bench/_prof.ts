import { Redis } from 'ioredis';
import { createTokenLimiter, RedisStore } from '../src/index.js';
const client = new Redis(process.env.URL!);
const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: 'prof' }), defaultLimits: [{ id: 'monthly', tokens: 1e15, period: 'month' }], storeTimeoutMs: 30000 });
await limiter.warmup();
let n = 0;
const end = Date.now() + 8000;
await Promise.all(Array.from({ length: 100 }, async () => {
  while (Date.now() < end) {
    const r = await limiter.reserve(`u${n++ % 1000}`, { tokens: 10 });
    await limiter.commit(r, { inputTokens: 5, outputTokens: 5, model: 'gpt-4o-mini', provider: 'openai' });
  }
}));
await limiter.flush();
console.log('pairs', n);
client.disconnect();
