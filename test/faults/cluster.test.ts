/**
 * S1 and C1-C2 of reliability.md §4 on a Redis Cluster of 3 masters and 3 replicas started by the
 * test: a stampede admits exactly what fits; a failover of the hot user's master (coordinated
 * `CLUSTER FAILOVER`, and a SIGKILLed master) during load; a migration of the hot user's slot during
 * load (MOVED/ASK/TRYAGAIN retried, never CROSSSLOT).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { userKeys } from '../../src/stores/redis/keys.js';
import { sleep, startRedisCluster, uniquePrefix, waitFor, type RedisCluster } from '../support/index.js';
import { recordFigures } from './support/figures.js';
import type { HotUser, LoadConfig } from './support/load-worker.js';
import { usersInSameSlot, userSlot } from './support/slots.js';
import { rawTotals } from './support/state.js';
import { startLoad, totals } from './support/workers.js';

const STORE_TIMEOUT_MS = 2000;
/** Timer lateness on this loaded 2-core machine (3 load processes, 6 Redis nodes, vitest). */
const EPSILON_MS = 700;
const COLD = 120;
/** Load shape of every run here: processes, call loops per process, tokens held by the hot user. */
const PROCESSES = 3;
const LOOPS_PER_PROCESS = 40;
const HOT_R = 100;

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

function loadConfig(prefix: string, hot: HotUser[], over: Partial<LoadConfig> = {}): LoadConfig {
  return {
    redis: { cluster: [...cluster.startupNodes] },
    prefix,
    onStoreError: 'deny',
    storeTimeoutMs: STORE_TIMEOUT_MS,
    leaseMs: 60_000,
    concurrency: LOOPS_PER_PROCESS,
    hot,
    coldUsers: COLD,
    coldR: 50,
    providerMs: 20,
    boundMs: { reserve: STORE_TIMEOUT_MS + EPSILON_MS, commit: STORE_TIMEOUT_MS + EPSILON_MS },
    defaultLimit: 1e12,
    ...over,
  };
}

/** Error replies of a kind counted by a node since it started (INFO errorstats). */
async function errorCount(port: number, kind: string): Promise<number> {
  const info = await cluster.server(port).client().info('errorstats').catch(() => '');
  return Number(new RegExp(`errorstat_${kind}:count=(\\d+)`).exec(info)?.[1] ?? 0);
}

interface FaultRun {
  prefix: string;
  hotLimit: number;
  users: string[];
  t: ReturnType<typeof totals>;
  raw: Awaited<ReturnType<typeof rawTotals>>;
  committed: number;
}

/** Runs load from 3 processes around `fault`, then reads every user's counters. */
async function underLoad(label: string, hotLimit: number, slotMates: number, fault: (hotPort: number) => Promise<void>): Promise<FaultRun> {
  const prefix = uniquePrefix(label).replace(/:$/, '');
  const client = cluster.client();
  const setup = createTokenLimiter({ store: new RedisStore({ client, prefix }) });
  await setup.admin.setLimits('hot', [{ id: 'main', tokens: hotLimit, period: 'month' }]);
  const mates = usersInSameSlot('hot', slotMates);
  const hot: HotUser[] = [{ id: 'hot', r: HOT_R, share: 0.15 }, ...mates.map((id) => ({ id, r: 50, share: 0.15 / Math.max(1, slotMates) }))];
  const load = await startLoad(PROCESSES, loadConfig(prefix, hot));
  try {
    load.start();
    await sleep(1000);
    const hotPort = (await cluster.masterForSlot(userSlot('hot'))).port;
    await fault(hotPort);
    await sleep(1500);
    const t = totals(await load.stop());
    const users = ['hot', ...mates, ...Array.from({ length: COLD }, (_, i) => `cold-${i}`)];
    const raw = await rawTotals(client, prefix, users);
    const committed = Object.values(t.users).reduce((n, u) => n + u.committedAll, 0);
    return { prefix, hotLimit, users, t, raw, committed };
  } finally {
    load.kill();
    client.disconnect();
  }
}

function common(run: FaultRun) {
  const { t, raw, committed } = run;
  return {
    calls: t.calls,
    admitted: t.admitted,
    'hot admitted (≤ limit/r)': `${t.users.hot?.admitted ?? 0} ≤ ${run.hotLimit / HOT_R}`,
    'reserves failed (deny)': t.storeErrors,
    'commits queued then retried': t.commitQueued,
    'store errors seen': t.storeErrorSamples.join(' / ') || 'none',
    'overspend (tokens)': Math.max(0, raw.perUser.get('hot')!.used - run.hotLimit),
    'phantom held after settle (tokens)': raw.held,
    'usage lost (tokens)': Math.max(0, committed - raw.used),
    'duplicate effects (tokens)': Math.max(0, raw.used - committed),
    'duplicate usage events': t.duplicateUsageEvents,
    'hung promises': t.late + t.neverSettled,
    'max reserve ms': Math.round(t.maxReserveMs),
    'max commit ms': Math.round(t.maxCommitMs),
  };
}

describe('S1 on Redis Cluster (3 masters, 3 replicas)', () => {
  it('1000 concurrent reserves from 4 processes, L = 1000, r = 100: exactly 10 admitted, used = 1000', async () => {
    const prefix = uniquePrefix('cs1').replace(/:$/, '');
    const load = await startLoad(4, loadConfig(prefix, [], { defaultLimit: 1000 }));
    try {
      const reports = await load.stampede('stampede', 250, 100, 100);
      const admitted = reports.reduce((n, r) => n + r.admitted, 0);
      const errors = reports.flatMap((r) => r.otherErrors);
      const client = cluster.client();
      const raw = await rawTotals(client, prefix, ['stampede']);
      client.disconnect();
      recordFigures({
        scenario: 'S1',
        name: 'Redis Cluster (3+3): 1000 concurrent reserves from 4 processes, L=1000, r=100',
        criterion: 'exactly 10 admitted, 990 rejected; used = 1000',
        measured: { admitted, rejected: reports.reduce((n, r) => n + r.rejected, 0), used: raw.used, 'phantom held': raw.held, errors: errors.length },
      });
      expect(errors).toEqual([]);
      expect(admitted).toBe(10);
      expect(raw.perUser.get('stampede')).toEqual({ used: 1000, held: 0, holds: 0 });
    } finally {
      load.kill();
    }
  });
});

describe('C1: failover of the hot user’s master during load', () => {
  it('CLUSTER FAILOVER (coordinated): operations continue, NOSCRIPT handled on the new primary, no acknowledged write lost, no overspend', async () => {
    let promotedPort = 0;
    let noscriptBefore = 0;
    let failoverMs = 0;
    const run = await underLoad('cfo', 40_000, 0, async (hotPort) => {
      const replica = cluster.replicasOf(hotPort)[0]!;
      noscriptBefore = await errorCount(replica.port, 'NOSCRIPT');
      const started = Date.now();
      promotedPort = (await cluster.failover(hotPort)).port;
      failoverMs = Date.now() - started;
    });
    const noscript = (await errorCount(promotedPort, 'NOSCRIPT')) - noscriptBefore;
    const { t, raw, committed } = run;
    recordFigures({
      scenario: 'C1',
      name: `CLUSTER FAILOVER of the hot master under load (${PROCESSES} processes × ${LOOPS_PER_PROCESS} loops)`,
      criterion: 'ops continue after the failover window; NOSCRIPT handled on the new primary; loss bounded by replication lag (0 when coordinated)',
      measured: { ...common(run), 'failover took (ms)': failoverMs, 'NOSCRIPT replies on the new primary (each retried with EVAL)': noscript },
    });
    expect(t.otherErrors).toEqual([]);
    expect(t.late + t.neverSettled).toBe(0);
    expect(noscript).toBeGreaterThan(0); // the new primary had no scripts: the fallback ran, invisibly
    expect(raw.used).toBe(committed);
    expect(raw.held).toBe(0);
    expect(raw.perUser.get('hot')!.used).toBeLessThanOrEqual(run.hotLimit);
    expect(t.duplicateUsageEvents).toBe(0);
    expect(t.pendingAtEnd).toBe(0);
    // Calls went on after the failover: the promoted node served the hot user's slot.
    const client = cluster.client();
    expect(await client.hexists(userKeys(run.prefix, 'hot').windows, 'w:main')).toBe(1);
    client.disconnect();
  });

  it('SIGKILL of the hot master: calls fail (deny) only during Redis’s own failover window, then go on; writes lost ≤ what the replica had not received', async () => {
    let lagBytes = -1;
    let windowMs = 0;
    let killedPort = 0;
    const run = await underLoad('ckill', 40_000, 0, async (hotPort) => {
      killedPort = hotPort;
      const replica = cluster.replicasOf(hotPort)[0]!;
      const [m, r] = await Promise.all([cluster.server(hotPort).client().info('replication'), cluster.server(replica.port).client().info('replication')]);
      lagBytes = Number(/master_repl_offset:(\d+)/.exec(m)?.[1]) - Number(/slave_repl_offset:(\d+)/.exec(r)?.[1]);
      const started = Date.now();
      await cluster.killNode(hotPort);
      await cluster.waitUntilHealthy(20_000);
      windowMs = Date.now() - started;
    });
    const { t, raw, committed } = run;
    const lost = Math.max(0, committed - raw.used);
    recordFigures({
      scenario: 'C1',
      name: 'SIGKILL of the hot master under load; Redis fails over by itself (node timeout 2 s)',
      criterion: 'ops continue after the failover window; loss bounded by the replication lag',
      measured: { ...common(run), 'failover window (ms)': windowMs, 'replication lag sampled just before the kill (bytes)': lagBytes, 'commits lost (tokens)': lost, 'held until their lease ends (tokens)': raw.held },
    });
    expect(t.otherErrors).toEqual([]);
    expect(t.late + t.neverSettled).toBe(0);
    expect(t.storeErrors).toBeGreaterThan(0); // the failover window did refuse calls (deny)
    expect(t.pendingAtEnd).toBe(0);
    expect(raw.used).toBeLessThanOrEqual(committed); // never a duplicate
    // Asynchronous replication: only writes the replica had not received when the master died can
    // be lost -- commits (usage lost) and holds (a lost hold frees room another call then reserves,
    // while the call that held it still commits: overspend). Only calls in flight at the kill can
    // have such writes, so processes × loops × r bounds both. The replication lag
    // sampled just before the kill is reported beside it; it is a sample, not a bound a test can
    // rely on (more writes follow it before the kill).
    const inFlightBound = PROCESSES * LOOPS_PER_PROCESS * HOT_R; // r of every other user is smaller
    expect(lost).toBeLessThanOrEqual(inFlightBound);
    // Holds can also stay behind, until their lease ends: a commit lost with the old master leaves
    // its hold on the new one, and so does the release of a reserve the caller gave up on (refused
    // by the timeout) when that release reached only the old master. Both are calls in flight at
    // the kill, so the same bound holds (one run: 450 tokens held, 287 lost, bound 12,000).
    expect(raw.held).toBeLessThanOrEqual(inFlightBound);
    const overspend = Math.max(0, raw.perUser.get('hot')!.used - run.hotLimit);
    expect(overspend).toBeLessThanOrEqual(inFlightBound);
    expect(overspend % HOT_R).toBe(0); // whole lost holds (a = r here), never a partial or duplicated charge
    await cluster.restartNode(killedPort); // rejoins as a replica
  });
});

describe('C2: migration of the hot user’s slot during load', () => {
  it('MOVED/ASK/TRYAGAIN retried, never CROSSSLOT; exact usage, no overspend, no phantom hold', async () => {
    let moved = { keysMoved: 0, batches: 0 };
    let migrationMs = 0;
    let crossslot = 0;
    const run = await underLoad('cmig', 40_000, 12, async (hotPort) => {
      const slot = userSlot('hot');
      expect(await cluster.keySlot(userKeys('x', 'hot').windows)).toBe(slot);
      const target = cluster.masters().find((m) => m.port !== hotPort)!;
      const started = Date.now();
      moved = await cluster.migrateSlot(slot, target.port, { batchSize: 2, pauseBetweenBatchesMs: 15 });
      migrationMs = Date.now() - started;
      expect((await cluster.masterForSlot(slot)).port).toBe(target.port);
    });
    for (const m of cluster.masters()) crossslot += await errorCount(m.port, 'CROSSSLOT');
    const tryagain = (await Promise.all(cluster.masters().map((m) => errorCount(m.port, 'TRYAGAIN')))).reduce((a, b) => a + b, 0);
    const { t, raw, committed } = run;
    recordFigures({
      scenario: 'C2',
      name: 'migrateSlot of the hot user’s slot (hot + 12 users in it) under load, batches of 2 keys',
      criterion: 'MOVED/ASK/TRYAGAIN retried; no CROSSSLOT; invariants hold',
      measured: { ...common(run), 'keys moved': moved.keysMoved, 'migration took (ms)': migrationMs, 'TRYAGAIN replies (retried by ioredis)': tryagain, 'CROSSSLOT replies': crossslot },
    });
    expect(crossslot).toBe(0);
    expect(moved.keysMoved).toBeGreaterThan(20);
    // While keys of one user are split between the two nodes every script on them gets TRYAGAIN;
    // the store retries such replies (the script did not run) for up to storeTimeoutMs, so a
    // migration shorter than that refuses no call. (Longer ones refuse calls in the slot, by policy.)
    if (migrationMs < STORE_TIMEOUT_MS - 500) expect(t.storeErrors).toBe(0);
    expect(t.otherErrors).toEqual([]);
    expect(t.late + t.neverSettled).toBe(0);
    expect(t.pendingAtEnd).toBe(0);
    expect(raw.used).toBe(committed);
    expect(raw.held).toBe(0);
    expect(raw.perUser.get('hot')!.used).toBeLessThanOrEqual(run.hotLimit);
    expect(t.duplicateUsageEvents).toBe(0);
    await waitFor(async () => ((await cluster.refresh()).length > 0 ? true : undefined), { what: 'topology', timeoutMs: 5000 });
  });
});
