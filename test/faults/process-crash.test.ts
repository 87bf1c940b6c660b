/**
 * P1 of reliability.md §4: a Node process SIGKILLed between reserve and commit. Its holds must stop
 * counting once their lease ends, with no background job: the next operation on the user purges
 * them (and reads ignore expired holds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore, TokenLimitExceededError } from '../../src/index.js';
import { startRedisServer, sleep, uniquePrefix, type RedisServer } from '../support/index.js';
import { recordFigures } from './support/figures.js';
import { rawUserState } from './support/state.js';
import { startLoad } from './support/workers.js';

const LEASE_MS = 2000;

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

async function evalCalls(): Promise<number> {
  const info = await server.client().info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/cmdstat_(?:evalsha|eval|evalsha_ro|eval_ro):calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

describe('P1: a process killed (SIGKILL) between reserve and commit', () => {
  it('its holds block the quota until their lease ends, then count for nothing; no job ran in between', async () => {
    const prefix = uniquePrefix('p1').replace(/:$/, '');
    const load = await startLoad(2, {
      redis: { url: server.url },
      prefix,
      onStoreError: 'deny',
      storeTimeoutMs: 5000,
      leaseMs: LEASE_MS,
      concurrency: 1,
      hot: [],
      coldUsers: 1,
      coldR: 1,
      providerMs: 0,
      boundMs: { reserve: 5000, commit: 5000 },
      defaultLimit: 1000,
    });
    let expiries: number[];
    try {
      expiries = await load.hold('crashy', 4, 100); // 2 processes × 4 holds × 100 = 800 of 1000
    } finally {
      load.kill(); // SIGKILL: no release, no commit, no close
    }
    const killedAt = Date.now();
    const limiter = createTokenLimiter({ store: new RedisStore({ client: server.client(), prefix }), defaultLimits: [{ id: 'main', tokens: 1000, period: 'month' }] });
    const heldAtKill = await rawUserState(server.client(), prefix, 'crashy');
    expect(heldAtKill).toMatchObject({ used: 0, held: 800, holds: 8 });
    await expect(limiter.reserve('crashy', { tokens: 300 })).rejects.toBeInstanceOf(TokenLimitExceededError);

    // Nothing runs on the server until the lease has ended...
    const callsBefore = await evalCalls();
    const lastExpiry = Math.max(...expiries);
    await sleep(Math.max(0, lastExpiry - Date.now()) + 100);
    const callsDuring = (await evalCalls()) - callsBefore;
    const stale = await rawUserState(server.client(), prefix, 'crashy');
    // ...and the next call finds the whole quota back.
    const reads = await limiter.admin.getUsage('crashy'); // reads ignore expired holds
    const full = await limiter.reserve('crashy', { tokens: 1000 });
    const returnedAfterMs = Date.now() - killedAt;
    const after = await rawUserState(server.client(), prefix, 'crashy');
    recordFigures({
      scenario: 'P1',
      name: `2 processes SIGKILLed holding 8 reservations (800 of 1000 tokens), lease ${LEASE_MS} ms`,
      criterion: 'capacity returns within the lease (TTL); no background job',
      measured: {
        'held right after the kill (tokens)': heldAtKill.held,
        'store calls between the kill and the lease end': callsDuring,
        'held counter before any call after the lease (tokens)': stale.held,
        'reserved shown by getUsage after the lease': reads.reserved,
        'full quota admitted after (ms from the kill)': returnedAfterMs,
        'phantom held after the next call (tokens, excluding the new hold)': after.held - 1000,
      },
    });
    expect(callsDuring).toBe(0);
    expect(stale.held).toBe(800); // not purged by anything in the background
    expect(reads.reserved).toBe(0);
    expect(full.unmetered).toBe(false);
    expect(after).toMatchObject({ held: 1000, holds: 1 });
    expect(returnedAfterMs).toBeLessThan(LEASE_MS + 2000);
  });
});
