import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenLimiter, RedisStore, type AlertEvent, type UsageRecord } from '../../src/index.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { sleep } from '../support/wait.js';

const client = await redisForThisFile();
afterEach(() => {
  vi.useRealTimers();
});

describe("RedisStore: a member's commit whose own windows need boundaries around the store's time", () => {
  it("charges the account's share once when the commit is sent again for a 'clock' reply", async () => {
    const store = new RedisStore({ client, prefix: uniquePrefix() });
    // The member's daily window ends 400 ms from now (by the Redis clock, which decides periods);
    // the account's window spans a century, so any estimate of the time holds it.
    const anchor = new Date(Date.now() - 86_400_000 + 400);
    const limiter = createTokenLimiter({ store, defaultLimits: [{ id: 'daily', tokens: 1000, period: { days: 1, anchor } }] });
    await limiter.admin.setAccountLimits('acme', [{ id: 'team', tokens: 100, period: { months: 1200 } }]);
    await limiter.admin.setAccount('alice', 'acme');
    const alerts: AlertEvent[] = [];
    const records: UsageRecord[] = [];
    limiter.on('alert', (a) => alerts.push(a));
    limiter.on('usage', (u) => records.push(u));
    const r = await limiter.reserve('alice', { tokens: 70 });
    await sleep(800);
    // This server's clock steps two days ahead (an NTP step, a VM resumed) while the call ran: the
    // boundaries the engine computes around its estimate of the store's time hold no instant the
    // store is at, and the store answers 'clock' for the member's rule.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * 86_400_000);
    await limiter.commit(r, { inputTokens: 60, outputTokens: 0 });
    vi.useRealTimers();
    const team = await limiter.admin.getAccountUsage('acme');
    expect(team.windows[0]).toMatchObject({ used: 60, reserved: 0 });
    // The member's window rolled over during the call: the call fit its hold in the window it was
    // reserved in, so the new one is charged nothing (and holds nothing).
    const own = await limiter.admin.getUsage('alice');
    expect(own.windows[0]).toMatchObject({ used: 0, reserved: 0 });
    expect(records).toHaveLength(1);
    // 60 of 100 crosses no threshold (0.8, 1); counted twice it crossed both.
    expect(alerts).toEqual([]);
  });
});
