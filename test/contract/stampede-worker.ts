// A separate process for the multi-process stampedes: reserves `count` holds concurrently when the
// parent says go (spread over `users` in turn), reports what was admitted, then commits the
// admitted holds with `actual` tokens each.
import { Cluster, Redis } from 'ioredis';
import { createTokenLimiter, RedisStore, TokenLimitExceededError, type LimitRule } from '../../src/index.js';

export interface StampedeConfig {
  redis: { url: string } | { cluster: Array<{ host: string; port: number }> };
  prefix: string;
  users: string[];
  count: number;
  estimate: number;
  actual: number;
  defaultLimits: LimitRule[];
}

export interface StampedeReport {
  admitted: number;
  /** Admitted calls per user. */
  perUser: Record<string, number>;
  /** Refusals that were not TokenLimitExceededError. */
  unexpected: number;
}

const config = JSON.parse(process.argv[2]!) as StampedeConfig;
const client = 'url' in config.redis ? new Redis(config.redis.url) : new Cluster(config.redis.cluster);
const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: config.prefix }), defaultLimits: config.defaultLimits, storeTimeoutMs: 20_000 });
await limiter.warmup();
process.on('disconnect', () => process.exit(1));
process.send!('ready');
process.once('message', async () => {
  const outcomes = await Promise.allSettled(Array.from({ length: config.count }, (_, i) => limiter.reserve(config.users[i % config.users.length]!, { tokens: config.estimate })));
  const admitted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const perUser: Record<string, number> = {};
  for (const r of admitted) perUser[r.userId] = (perUser[r.userId] ?? 0) + 1;
  const unexpected = outcomes.filter((o) => o.status === 'rejected' && !(o.reason instanceof TokenLimitExceededError)).length;
  await Promise.all(admitted.map((r) => limiter.commit(r, { inputTokens: config.actual, outputTokens: 0 })));
  await limiter.flush();
  const report: StampedeReport = { admitted: admitted.length, perUser, unexpected };
  process.send!(report);
  await limiter.close();
  client.disconnect();
  process.exit(0);
});
