/**
 * S1 and F4 of reliability.md §4: a stampede of concurrent reserves from several processes admits
 * exactly what fits, while `SCRIPT FLUSH` empties the script cache every 100 ms (NOSCRIPT must be
 * handled with no error surfaced, and no double execution).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { startRedisServer, sleep, uniquePrefix, type RedisServer } from '../support/index.js';
import { recordFigures } from './support/figures.js';
import type { LoadConfig } from './support/load-worker.js';
import { rawTotals, rawUserState } from './support/state.js';
import { startLoad, totals, type LoadRun } from './support/workers.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

/**
 * SCRIPT FLUSH and FUNCTION FLUSH every `everyMs` on a direct connection until stopped (the hot
 * path runs by FCALL once its library is loaded, by EVALSHA otherwise); returns how many ran.
 */
function flushLoop(everyMs: number) {
  const client = server.client();
  let running = true;
  let flushes = 0;
  const done = (async () => {
    while (running) {
      await client.script('FLUSH');
      await client.call('FUNCTION', 'FLUSH');
      flushes += 1;
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return flushes;
    },
  };
}

function config(prefix: string, over: Partial<LoadConfig> = {}): LoadConfig {
  return {
    redis: { url: server.url },
    prefix,
    onStoreError: 'deny',
    storeTimeoutMs: 10_000,
    leaseMs: 60_000,
    concurrency: 60,
    hot: [],
    coldUsers: 100,
    coldR: 50,
    providerMs: 10,
    boundMs: { reserve: 10_000, commit: 10_000 },
    defaultLimit: 1000,
    ...over,
  };
}

describe('S1 + F4: stampede from 4 processes with SCRIPT and FUNCTION FLUSH every 100 ms', () => {
  let load: LoadRun;
  let prefix: string;
  beforeAll(async () => {
    prefix = uniquePrefix('s1').replace(/:$/, '');
    load = await startLoad(4, config(prefix));
  });
  afterAll(() => load?.kill());

  it('L = 1000, r = 100, 1000 concurrent reserves: exactly 10 admitted, 990 refused, used = 1000, zero errors (×3 users)', async () => {
    const flusher = flushLoop(100);
    const rounds = [];
    for (const user of ['s1-a', 's1-b', 's1-c']) {
      const reports = await load.stampede(user, 250, 100, 100);
      const state = await rawUserState(server.client(), prefix, user);
      rounds.push({ user, reports, state });
      await sleep(120); // let a flush land between rounds
    }
    const flushes = await flusher.stop();
    const admitted = rounds.map((r) => r.reports.reduce((n, x) => n + x.admitted, 0));
    const rejected = rounds.map((r) => r.reports.reduce((n, x) => n + x.rejected, 0));
    const errors = rounds.flatMap((r) => r.reports.flatMap((x) => x.otherErrors));
    recordFigures({
      scenario: 'S1',
      name: '1000 concurrent reserves from 4 processes, L=1000, r=100, SCRIPT and FUNCTION FLUSH every 100 ms (3 rounds)',
      criterion: 'exactly 10 admitted, 990 rejected; used = 1000 after commits; zero surfaced errors',
      measured: {
        'admitted per round (expected 10)': admitted.join(', '),
        'rejected per round (expected 990)': rejected.join(', '),
        'used per round (expected 1000)': rounds.map((r) => r.state.used).join(', '),
        'overspend (tokens)': Math.max(...rounds.map((r) => Math.max(0, r.state.used - 1000))),
        'phantom held (tokens)': rounds.reduce((n, r) => n + r.state.held, 0),
        'SCRIPT FLUSH during the rounds': flushes,
        'errors surfaced': errors.length,
      },
    });
    expect(errors).toEqual([]);
    expect(admitted).toEqual([10, 10, 10]);
    expect(rejected).toEqual([990, 990, 990]);
    for (const r of rounds) expect(r.state).toEqual({ used: 1000, held: 0, holds: 0 });
    expect(flushes).toBeGreaterThan(2);
  });

  it('random a ≤ r: used = Σa exactly, and every round admits exactly floor((L - used) / r) — no refusal while used + held + r ≤ L', async () => {
    const flusher = flushLoop(100);
    const user = 's1-random';
    const seen: Array<{ a: number; admitted: number; expected: number; used: number }> = [];
    let used = 0;
    for (const a of [37, 81, 5, 100, 64, 1]) {
      const expected = Math.floor((1000 - used) / 100);
      // All reserves of a round are decided before any commit: a commit with a < r frees r - a,
      // which would (rightly) admit reserves of the same round still in flight.
      const reports = await load.stampede(user, 250, 100, null);
      const commits = await load.commitHeld(a);
      expect([...reports, ...commits].flatMap((x) => x.otherErrors)).toEqual([]);
      const admitted = reports.reduce((n, x) => n + x.admitted, 0);
      used += admitted * a;
      const state = await rawUserState(server.client(), prefix, user);
      seen.push({ a, admitted, expected, used: state.used });
      expect(admitted).toBe(expected);
      expect(state).toEqual({ used, held: 0, holds: 0 });
    }
    const flushes = await flusher.stop();
    recordFigures({
      scenario: 'S1',
      name: 'stampede rounds with random a ≤ r on one user (L=1000, r=100), SCRIPT and FUNCTION FLUSH every 100 ms',
      criterion: 'used = Σa exactly; no reject while used + held + r ≤ L',
      measured: { 'rounds (a: admitted/expected)': seen.map((x) => `${x.a}: ${x.admitted}/${x.expected}`).join(', '), 'used = Σa': `${seen.at(-1)!.used} = ${used}`, flushes },
    });
  });
});

describe('F4: sustained load from 3 processes with SCRIPT and FUNCTION FLUSH every 100 ms', () => {
  it('zero surfaced errors, used = Σ committed exactly, the hot user admitted exactly L/r, no phantom hold', async () => {
    const prefix = uniquePrefix('f4').replace(/:$/, '');
    const admin = server.client();
    const setup = createTokenLimiter({ store: new RedisStore({ client: admin, prefix }) });
    await setup.admin.setLimits('hot', [{ id: 'main', tokens: 20_000, period: 'month' }]);
    const load = await startLoad(3, config(prefix, { hot: [{ id: 'hot', r: 100, share: 0.2 }], defaultLimit: 1e12 }));
    try {
      load.start();
      const flusher = flushLoop(100);
      await sleep(3000);
      const flushes = await flusher.stop();
      const t = totals(await load.stop());
      const users = ['hot', ...Array.from({ length: 100 }, (_, i) => `cold-${i}`)];
      const raw = await rawTotals(admin, prefix, users);
      const committed = Object.values(t.users).reduce((n, u) => n + u.committedAll, 0);
      const info = await admin.info('stats');
      recordFigures({
        scenario: 'F4',
        name: 'SCRIPT and FUNCTION FLUSH every 100 ms under load (3 processes × 60 loops, 3 s)',
        criterion: 'zero errors surfaced; invariants hold',
        measured: {
          calls: t.calls,
          admitted: t.admitted,
          'hot admitted / expected': `${t.users.hot?.admitted ?? 0} / 200`,
          flushes,
          'errors surfaced': t.storeErrors + t.otherErrors.length + t.commitQueued,
          'usage lost (tokens)': Math.max(0, committed - raw.used),
          'duplicate effects (tokens)': Math.max(0, raw.used - committed),
          'phantom held (tokens)': raw.held,
          'hung promises': t.late + t.neverSettled,
          'error replies (NOSCRIPT, no function: each call run again)': Number(/total_error_replies:(\d+)/.exec(info)?.[1] ?? 0),
        },
      });
      expect(flushes).toBeGreaterThan(20);
      expect(t.otherErrors).toEqual([]);
      expect(t.storeErrors).toBe(0);
      expect(t.commitQueued).toBe(0);
      expect(raw.used).toBe(committed);
      expect(raw.held).toBe(0);
      expect(t.users.hot?.admitted).toBe(200);
      expect(raw.perUser.get('hot')!.used).toBe(20_000);
      expect(t.duplicateUsageEvents).toBe(0);
    } finally {
      load.kill();
    }
  });
});
