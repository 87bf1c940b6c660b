import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, RedisStore, type LimitRule, type Reservation, type TokenLimiter } from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

/**
 * Validation and both stores agree on the whole accepted domain: random valid rules (every period
 * kind, anchors from 1970 on, time zones, the largest periods) and random clocks and operations
 * give identical decisions and identical usage on MemoryStore and RedisStore.
 */
const client = await redisForThisFile();

const ZONES = ['UTC', 'America/Sao_Paulo', 'America/New_York', 'Asia/Kolkata', 'Pacific/Chatham', 'America/Santiago'];
const DAY = 86_400_000;

const period: fc.Arbitrary<LimitRule['period']> = fc.oneof(
  fc.constantFrom('minute', 'hour', 'day', 'week', 'month', 'year'),
  fc.record({ days: fc.oneof(fc.integer({ min: 1, max: 45 }), fc.constant(3660)) }),
  fc.record({ months: fc.oneof(fc.integer({ min: 1, max: 13 }), fc.constant(1200)) }),
  fc.record({
    days: fc.integer({ min: 1, max: 3660 }),
    anchor: fc.integer({ min: DAY, max: Date.parse('2100-01-01') }).map((t) => new Date(t).toISOString()),
  }),
  fc.record({
    months: fc.integer({ min: 1, max: 1200 }),
    anchor: fc.integer({ min: DAY, max: Date.parse('2100-01-01') }).map((t) => new Date(t).toISOString().slice(0, 10)),
  }),
);

const rule = (id: string): fc.Arbitrary<LimitRule> =>
  fc
    .record({ period, zone: fc.constantFrom(...ZONES), limit: fc.integer({ min: 1, max: 400 }), metric: fc.constantFrom('tokens', 'requests') })
    .map(({ period: p, zone, limit, metric }) => ({ id, period: p, timeZone: zone, [metric]: metric === 'requests' ? Math.max(1, Math.floor(limit / 50)) : limit }) as unknown as LimitRule);

type Op =
  | { kind: 'reserve'; tokens: number }
  | { kind: 'commit'; index: number; tokens: number }
  | { kind: 'release'; index: number }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('reserve' as const), tokens: fc.integer({ min: 0, max: 150 }) }),
  fc.record({ kind: fc.constant('commit' as const), index: fc.nat(), tokens: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ kind: fc.constant('release' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 1, max: 120_000 }), fc.integer({ min: 1, max: 40 * DAY })) }),
);

async function play(limiter: TokenLimiter, ops: Op[], advance: (ms: number) => void): Promise<unknown[]> {
  const trace: unknown[] = [];
  const open: Reservation[] = [];
  for (const o of ops) {
    if (o.kind === 'advance') {
      advance(o.ms);
      continue;
    }
    if (o.kind === 'reserve') {
      try {
        open.push(await limiter.reserve('u', { tokens: o.tokens }));
        trace.push('admitted');
      } catch (error) {
        trace.push(`refused:${(error as { code?: string; ruleId?: string }).code}:${(error as { ruleId?: string }).ruleId}`);
      }
      continue;
    }
    const r = open.splice(o.index % Math.max(1, open.length), 1)[0];
    if (!r) continue;
    if (o.kind === 'commit') await limiter.commit(r, { inputTokens: o.tokens, outputTokens: 0 });
    else await limiter.release(r);
  }
  const usage = await limiter.admin.getUsage('u');
  trace.push(usage.windows.map((w) => [w.used, w.reserved, w.periodStart.getTime(), w.resetAt.getTime()]));
  return trace;
}

describe('validation and both stores agree on the whole accepted domain', () => {
  it('random valid rules and clocks give identical decisions and usage on MemoryStore and RedisStore', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 3 }).chain((n) => fc.tuple(...n.map((_, i) => rule(`r${i}`)))),
        fc.integer({ min: Date.parse('1971-01-01'), max: Date.parse('2099-01-01') }),
        fc.array(op, { minLength: 1, maxLength: 25 }),
        async (rules, start, ops) => {
          const traces = [];
          for (const store of [new MemoryStore(), new RedisStore({ client, prefix: uniquePrefix('agree') })]) {
            const clock = manualClock(start);
            const limiter = createTokenLimiter({ store, clock: clock.now, defaultLimits: rules, leaseMs: 3_600_000 });
            traces.push(await play(limiter, ops, clock.advance));
            await limiter.close();
          }
          expect(traces[1]).toEqual(traces[0]);
        },
      ),
      { numRuns: 60, seed: 20261205 },
    );
  }, 120_000);
});
